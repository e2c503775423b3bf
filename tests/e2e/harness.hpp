// The e2e harness shared by the test programs: running the real binary with an exact environment,
// the staged images, and the per-case check that nothing of cexec is left behind.
#pragma once

#include <boost/test/unit_test.hpp>

#include "base/exit_codes.hpp"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <poll.h>
#include <set>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>


#include <functional>

namespace e2e {

namespace fs = std::filesystem;
using cexec::ErrorKind;
using cexec::exit_code_for;


using Env = std::map<std::string, std::string>;

// How long one command may run before the harness kills it (a real debootstrap build takes minutes).
inline std::chrono::seconds command_timeout{60};

struct Outcome {
  int status = -1;  // shell-style: exit code, or 128+N for death by signal N
  std::string out;
  std::string err;
};

inline std::ostream& operator<<(std::ostream& os, const Outcome& o) {
  return os << "status=" << o.status << " stdout=[" << o.out << "] stderr=[" << o.err << "]";
}

inline std::string stage() {
  const char* s = std::getenv("CEXEC_E2E_STAGE");
  BOOST_REQUIRE_MESSAGE(s != nullptr, "CEXEC_E2E_STAGE must name the staged test directory");
  return s;
}
// The binary under test: the staged copy of the build's, or CEXEC_E2E_CEXEC (an installed cexec,
// such as the Debian package's /usr/bin/cexec; make_images.sh stages the setuid copy from it too).
inline std::string cexec_bin() {
  const char* installed = std::getenv("CEXEC_E2E_CEXEC");
  return installed != nullptr && *installed != '\0' ? std::string(installed) : stage() + "/bin/cexec";
}
inline std::string image(const std::string& name) { return stage() + "/images/" + name; }
inline std::string sqfs() { return image("image.sqfs"); }
inline std::string dir_image() { return image("rootfs"); }
inline std::string config(const std::string& name) { return stage() + "/configs/" + name; }
inline bool is_root() { return ::geteuid() == 0; }

// A temporary directory owned by the test user, removed by its destructor.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/e2e-" + std::to_string(::getuid()) + "-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    BOOST_REQUIRE(::mkdtemp(buf.data()) != nullptr);
    _path = buf.data();
    ::chmod(_path.c_str(), 0755);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(_path, ec);
  }
  const std::string& path() const { return _path; }
  std::string operator/(const std::string& name) const { return _path + "/" + name; }

 private:
  std::string _path;
};

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Whether this test (and cexec, built the same way) runs under AddressSanitizer: some outcomes
// belong to the sanitizer runtime there (its quarantine's memory, its own descriptors).
#if defined(__SANITIZE_ADDRESS__)
#define CEXEC_E2E_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CEXEC_E2E_SANITIZED 1
#endif
#endif
#ifndef CEXEC_E2E_SANITIZED
#define CEXEC_E2E_SANITIZED 0
#endif
constexpr bool built_with_sanitizers = CEXEC_E2E_SANITIZED == 1;

inline Env base_env(const std::string& home) {
  // Launches from this one test process share node instances (one job: the same parent pid);
  // no linger keeps each case's instances from outliving it.
  // XDG_RUNTIME_DIR in the home keeps the user's rendezvous secret (rendezvous.hpp) in the case's
  // own directory rather than in /dev/shm/cexec-UID, which lasts until reboot.
  return Env{{"PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"}, {"HOME", home}, {"LANG", "C"}, {"CEXEC_LINGER", "0"},
             {"XDG_RUNTIME_DIR", home}};
}

// Runs argv (argv[0] searched in PATH) with exactly `env`, feeding `input`, and collects everything.
// `on_started` (if set) gets the child's pid and its stdout so far, polled until it returns true.
inline Outcome run(const std::vector<std::string>& argv, const Env& env, const std::string& cwd = "/",
            const std::string& input = "",
            const std::function<bool(pid_t, const std::string&)>& on_started = nullptr) {
  int in_pipe[2], out_pipe[2], err_pipe[2];
  BOOST_REQUIRE(::pipe2(in_pipe, O_CLOEXEC) == 0 && ::pipe2(out_pipe, O_CLOEXEC) == 0 &&
                ::pipe2(err_pipe, O_CLOEXEC) == 0);
  // Everything the child needs is built before fork: a test with a thread of its own (a racing
  // swapper) may hold the allocator's lock at fork time, and the child must not allocate then
  // (fork(2): only async-signal-safe calls until exec; seen to hang under ASan).
  std::vector<std::string> envs;
  for (const auto& [k, v] : env) {
    envs.push_back(k + "=" + v);
  }
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) {
    cargv.push_back(const_cast<char*>(a.c_str()));
  }
  cargv.push_back(nullptr);
  for (const auto& e : envs) {
    cenv.push_back(const_cast<char*>(e.c_str()));
  }
  cenv.push_back(nullptr);
  pid_t pid = ::fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(in_pipe[0], 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    if (::chdir(cwd.c_str()) != 0) {
      ::_exit(125);
    }
    ::signal(SIGPIPE, SIG_DFL);
    ::execvpe(cargv[0], cargv.data(), cenv.data());
    ::_exit(124);
  }
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (!input.empty()) {
    ssize_t n = ::write(in_pipe[1], input.data(), input.size());
    (void)n;
  }
  ::close(in_pipe[1]);
  Outcome o;
  bool started_done = on_started == nullptr;
  struct pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  auto deadline = std::chrono::steady_clock::now() + command_timeout;
  int open_fds = 2;
  while (open_fds > 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      BOOST_ERROR("command timed out: " << argv[0]);
      break;
    }
    int r = ::poll(fds, 2, 100);
    if (r < 0 && errno != EINTR) {
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP))) {
        char buf[4096];
        ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
        if (n <= 0) {
          ::close(fds[i].fd);
          fds[i].fd = -1;
          --open_fds;
        } else {
          (i == 0 ? o.out : o.err).append(buf, static_cast<size_t>(n));
        }
      }
    }
    if (!started_done) {
      started_done = on_started(pid, o.out);
    }
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  o.status = cexec::shell_status_from_wait(status);
  return o;
}

// `cexec ARGS...` with the test's environment.
inline Outcome run_cexec(const std::vector<std::string>& args, const Env& env, const std::string& cwd = "/",
              const std::string& input = "") {
  std::vector<std::string> argv{cexec_bin()};
  argv.insert(argv.end(), args.begin(), args.end());
  // The suite runs twice: with the node instance (the default) and with private containers.
  const char* private_mode = std::getenv("CEXEC_E2E_PRIVATE");
  if (private_mode != nullptr && std::string(private_mode) == "1" && !args.empty() && !args[0].starts_with("--help") &&
      args[0] != "--version") {
    bool verb = args[0] == "exec" || args[0] == "run" || args[0] == "shell";
    argv.insert(argv.begin() + (verb ? 2 : 1), "--no-share");
  }
  return run(argv, env, cwd, input);
}

inline std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) {
    s.pop_back();
  }
  return s;
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Processes of this uid running the binary under test: cexec itself, its FUSE server and node
// instance keepers (forked, never exec'd, so they share its exe). Matching on the staged binary's
// path keeps a second build's tests running beside this one from counting as leftovers.
inline std::vector<std::string> cexec_processes() {
  std::vector<std::string> found;
  std::string exe_target = cexec_bin();
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    struct stat st {};
    if (::stat(entry.path().c_str(), &st) != 0 || st.st_uid != ::getuid()) {
      continue;
    }
    // A zombie has exited already; it only waits for its parent (init, for the detached FUSE
    // server) to collect it, which some sandboxes' init does only every few seconds.
    std::string stat = read_text(entry.path() / "stat");
    auto close_paren = stat.rfind(')');
    if (close_paren != std::string::npos && close_paren + 2 < stat.size() && stat[close_paren + 2] == 'Z') {
      continue;
    }
    std::string comm = trim(read_text(entry.path() / "comm"));
    std::error_code ec;
    std::string exe = fs::read_symlink(entry.path() / "exe", ec).string();
    if (!ec && (exe == exe_target || exe == exe_target + " (deleted)")) {
      found.push_back(name + " " + comm);
    }
  }
  return found;
}

// The socket name a `-v` launch reports ("... node instance @NAME after ..."), or "" without one.
inline std::string try_instance_name(const std::string& err) {
  auto at = err.find("node instance @");
  if (at == std::string::npos) {
    return "";
  }
  at += 15;
  return err.substr(at, err.find(' ', at) - at);
}

// The same, where the launch must have reported one.
inline std::string instance_name(const std::string& err) {
  std::string name = try_instance_name(err);
  BOOST_REQUIRE(!name.empty());
  return name;
}

// pid of this user's cexec process named `comm` (the keeper: "cexec-instance"), or 0.
inline pid_t find_process(const std::string& comm) {
  for (const auto& p : cexec_processes()) {
    if (p.substr(p.find(' ') + 1) == comm) {
      return static_cast<pid_t>(std::stoi(p.substr(0, p.find(' '))));
    }
  }
  return 0;
}

// Waits up to `seconds` for nothing of cexec to remain (keepers linger a few seconds by default).
inline void expect_nothing_left(int seconds) {
  std::vector<std::string> left;
  for (int i = 0; i < seconds * 20; ++i) {
    left = cexec_processes();
    if (left.empty()) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (const auto& p : left) {
    BOOST_ERROR("still running after " << seconds << " s: " << p);
  }
}

inline std::set<std::string> owned_temp_entries() {
  std::set<std::string> out;
  for (const char* dir : {"/tmp", "/var/tmp", "/dev/shm"}) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      struct stat st {};
      // gcc's own temporaries (ccXXXXXX.*) appear when the suite runs beside a build.
      std::string name = e.path().filename().string();
      bool compiler_temp = name.starts_with("cc") && name.size() > 9 && name[8] == '.';
      // Open MPI's own session files belong to the MPI job, not to cexec (a rank killed by a
      // fault test leaves its shared-memory segment behind, as it would without containers).
      bool mpi_temp = name.starts_with("vader_segment.") || name.starts_with("ompi.");
      compiler_temp = compiler_temp || mpi_temp;
      if (!compiler_temp && ::lstat(e.path().c_str(), &st) == 0 && st.st_uid == ::getuid()) {
        out.insert(e.path());
      }
    }
  }
  return out;
}

// Per-test fixture: a home directory for the caller, and the "nothing left behind" check.
struct Case {
  TempDir home;
  TempDir work;
  Env env = base_env(home.path());
  std::set<std::string> temp_before;
  std::string mounts_before;

  Case() {
    temp_before = owned_temp_entries();
    mounts_before = read_text("/proc/self/mountinfo");
  }

  void teardown() {
    // The FUSE server exits when the kernel aborts its connection, right after the last container
    // process, and a node instance after its linger (3 s by default; the base environment sets 0);
    // give them that long, then nothing may remain.
    std::vector<std::string> left;
    for (int i = 0; i < 200; ++i) {
      left = cexec_processes();
      if (left.empty()) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    for (const auto& p : left) {
      BOOST_ERROR("leftover cexec process: " << p);
    }
    BOOST_CHECK_EQUAL(read_text("/proc/self/mountinfo"), mounts_before);
    auto temp_after = owned_temp_entries();
    for (const auto& e : temp_after) {
      if (!temp_before.count(e) && e != home.path() && e != work.path()) {
        BOOST_ERROR("leftover temp entry: " << e);
      }
    }
  }
};

}  // namespace e2e
