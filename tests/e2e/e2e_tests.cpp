// End-to-end tests of the cexec binary against the real kernel. The same program runs as root and
// as an unprivileged user (see CMakeLists.txt); every case checks real outcomes inside the
// container, and after every case nothing of cexec may remain (processes, host mounts, temp files).
#define BOOST_TEST_MODULE cexec_e2e
#include <boost/test/unit_test.hpp>

#include "exit_codes.hpp"

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

namespace fs = std::filesystem;
using cexec::ErrorKind;
using cexec::exit_code_for;

namespace {

using Env = std::map<std::string, std::string>;

struct Outcome {
  int status = -1;  // shell-style: exit code, or 128+N for death by signal N
  std::string out;
  std::string err;
};

std::ostream& operator<<(std::ostream& os, const Outcome& o) {
  return os << "status=" << o.status << " stdout=[" << o.out << "] stderr=[" << o.err << "]";
}

std::string stage() {
  const char* s = std::getenv("CEXEC_E2E_STAGE");
  BOOST_REQUIRE_MESSAGE(s != nullptr, "CEXEC_E2E_STAGE must name the staged test directory");
  return s;
}
std::string cexec_bin() { return stage() + "/bin/cexec"; }
std::string image(const std::string& name) { return stage() + "/images/" + name; }
std::string sqfs() { return image("image.sqfs"); }
std::string dir_image() { return image("rootfs"); }
std::string config(const std::string& name) { return stage() + "/configs/" + name; }
bool is_root() { return ::geteuid() == 0; }

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

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Env base_env(const std::string& home) {
  // Launches from this one test process share node instances (one job: the same parent pid);
  // no linger keeps each case's instances from outliving it.
  return Env{{"PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"}, {"HOME", home}, {"LANG", "C"}, {"CEXEC_LINGER", "0"}};
}

// Runs argv (argv[0] searched in PATH) with exactly `env`, feeding `input`, and collects everything.
// `on_started` (if set) gets the child's pid and its stdout so far, polled until it returns true.
Outcome run(const std::vector<std::string>& argv, const Env& env, const std::string& cwd = "/",
            const std::string& input = "",
            const std::function<bool(pid_t, const std::string&)>& on_started = nullptr) {
  int in_pipe[2], out_pipe[2], err_pipe[2];
  BOOST_REQUIRE(::pipe2(in_pipe, O_CLOEXEC) == 0 && ::pipe2(out_pipe, O_CLOEXEC) == 0 &&
                ::pipe2(err_pipe, O_CLOEXEC) == 0);
  pid_t pid = ::fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(in_pipe[0], 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    if (::chdir(cwd.c_str()) != 0) {
      ::_exit(125);
    }
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
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
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
Outcome run_cexec(const std::vector<std::string>& args, const Env& env, const std::string& cwd = "/",
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

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) {
    s.pop_back();
  }
  return s;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Processes of this uid that belong to cexec: its FUSE server or the binary under test.
std::vector<std::string> cexec_processes() {
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
    if (comm == "cexec-sqfs" || comm == "cexec-instance" || (!ec && exe == exe_target)) {
      found.push_back(name + " " + comm);
    }
  }
  return found;
}

std::set<std::string> owned_temp_entries() {
  std::set<std::string> out;
  for (const char* dir : {"/tmp", "/var/tmp", "/dev/shm"}) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      struct stat st {};
      // gcc's own temporaries (ccXXXXXX.*) appear when the suite runs beside a build.
      bool compiler_temp = e.path().filename().string().starts_with("cc") && e.path().filename().string().size() > 9 &&
                           e.path().filename().string()[8] == '.';
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
    // process; give it a moment, then nothing may remain.
    std::vector<std::string> left;
    for (int i = 0; i < 60; ++i) {
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

std::vector<std::string> both_images() { return {sqfs(), dir_image()}; }

}  // namespace

BOOST_FIXTURE_TEST_SUITE(e2e, Case)

// --- basics -------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(exec_keeps_the_callers_ids) {
  for (const auto& img : both_images()) {
    auto o = run_cexec({"exec", img, "probe", "ids"}, env);
    BOOST_TEST_INFO(img << ": " << o);
    BOOST_CHECK_EQUAL(o.status, 0);
    std::string expected = "uid=" + std::to_string(::getuid()) + " euid=" + std::to_string(::getuid()) +
                           " gid=" + std::to_string(::getgid()) + " egid=" + std::to_string(::getgid());
    BOOST_CHECK_EQUAL(trim(o.out), expected);
  }
}

BOOST_AUTO_TEST_CASE(verbless_form_equals_exec) {
  auto a = run_cexec({sqfs(), "cat", "/etc/image-marker"}, env);
  auto b = run_cexec({"exec", sqfs(), "cat", "/etc/image-marker"}, env);
  BOOST_CHECK_EQUAL(a.status, 0);
  BOOST_CHECK_EQUAL(a.out, "in the image\n");
  BOOST_CHECK_EQUAL(a.out, b.out);
}

BOOST_AUTO_TEST_CASE(options_after_the_command_belong_to_it) {
  auto o = run_cexec({"exec", sqfs(), "sh", "-c", "echo $0 $1", "-B", "--env"}, env);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_CHECK_EQUAL(o.out, "-B --env\n");
}

BOOST_AUTO_TEST_CASE(run_executes_the_runscript_with_arguments) {
  for (const auto& img : both_images()) {
    auto o = run_cexec({"run", img, "a", "b c"}, env);
    BOOST_TEST_INFO(o);
    BOOST_CHECK_EQUAL(o.status, 0);
    BOOST_CHECK_EQUAL(o.out, "runscript:a b c\n");
  }
  auto none = run_cexec({"run", image("plain.sqfs")}, env);
  BOOST_CHECK_EQUAL(none.status, exit_code_for(ErrorKind::command_not_found));
  BOOST_CHECK(contains(none.err, "no runscript"));
}

BOOST_AUTO_TEST_CASE(image_without_metadata_runs) {
  auto o = run_cexec({image("plain.sqfs"), "cat", "/etc/image-marker"}, env);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_CHECK_EQUAL(o.out, "in the image\n");
}

BOOST_AUTO_TEST_CASE(shell_reads_commands) {
  auto o = run_cexec({"shell", sqfs()}, env, "/", "echo inside-$CEXEC_CONTAINER\nexit 3\n");
  BOOST_CHECK_EQUAL(o.status, 3);
  BOOST_CHECK_EQUAL(o.out, "inside-1\n");
}

BOOST_AUTO_TEST_CASE(help_and_version) {
  for (const char* verb : {"exec", "run", "shell"}) {
    auto o = run_cexec({verb, "--help"}, env);
    BOOST_CHECK_EQUAL(o.status, 0);
    BOOST_CHECK(contains(o.out, "Examples:"));
    BOOST_CHECK(contains(o.out, "--bind"));
  }
  auto v = run_cexec({"--version"}, env);
  BOOST_CHECK_EQUAL(v.status, 0);
  BOOST_CHECK(v.out.starts_with("cexec "));
  auto h = run_cexec({"--help"}, env);
  BOOST_CHECK(contains(h.out, "Exit status"));
}

// --- namespaces and security --------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(only_user_and_mount_namespaces_are_new) {
  auto host = run({stage() + "/bin/probe", "ns"}, env);
  BOOST_REQUIRE_EQUAL(host.status, 0);
  for (const auto& img : both_images()) {
    auto inside = run_cexec({img, "probe", "ns"}, env);
    BOOST_REQUIRE_EQUAL(inside.status, 0);
    std::map<std::string, std::string> h, c;
    std::istringstream hs(host.out), cs(inside.out);
    std::string k, v;
    while (hs >> k >> v) {
      h[k] = v;
    }
    while (cs >> k >> v) {
      c[k] = v;
    }
    BOOST_CHECK_NE(h["user"], c["user"]);
    BOOST_CHECK_NE(h["mnt"], c["mnt"]);
    for (const char* same : {"pid", "net", "ipc", "uts"}) {
      BOOST_CHECK_EQUAL(h[same], c[same]);
    }
  }
}

BOOST_AUTO_TEST_CASE(no_capabilities_and_no_new_privs) {
  for (const auto& img : both_images()) {
    auto o = run_cexec({img, "probe", "status"}, env);
    BOOST_REQUIRE_EQUAL(o.status, 0);
    for (const char* cap : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}) {
      BOOST_CHECK_MESSAGE(contains(o.out, std::string(cap) + ":\t0000000000000000"), cap << " in " << o.out);
    }
    BOOST_CHECK(contains(o.out, "NoNewPrivs:\t1"));
  }
}

BOOST_AUTO_TEST_CASE(setuid_binary_in_image_gives_no_privilege) {
  for (const auto& img : both_images()) {
    auto o = run_cexec({img, "probe-suid", "ids"}, env);
    BOOST_REQUIRE_EQUAL(o.status, 0);
    BOOST_CHECK(contains(o.out, "euid=" + std::to_string(::getuid()) + " "));
  }
}

BOOST_AUTO_TEST_CASE(root_is_read_only) {
  for (const auto& img : both_images()) {
    auto o = run_cexec({img, "probe", "write", "/newfile"}, env);
    BOOST_CHECK_EQUAL(o.status, 1);
    BOOST_CHECK_EQUAL(trim(o.out), "Read-only file system");
  }
}

BOOST_AUTO_TEST_CASE(image_is_mounted_nosuid_nodev) {
  auto o = run_cexec({sqfs(), "grep", "-E", "^[0-9]+ [0-9]+ [0-9]+:[0-9]+ [^ ]+ / ", "/proc/self/mountinfo"}, env);
  BOOST_REQUIRE_EQUAL(o.status, 0);
  BOOST_CHECK(contains(o.out, "nosuid"));
  BOOST_CHECK(contains(o.out, "nodev"));
  BOOST_CHECK(contains(o.out, " ro,"));
}

BOOST_AUTO_TEST_CASE(old_root_is_gone) {
  // The host's root must not be reachable: the host has /usr/bin/setpriv, the image has no /usr.
  BOOST_REQUIRE(fs::exists("/usr/bin/setpriv"));
  auto o = run_cexec({sqfs(), "ls", "/usr/bin/setpriv"}, env);
  BOOST_CHECK_NE(o.status, 0);
  BOOST_CHECK(contains(o.err, "No such file"));
}

BOOST_AUTO_TEST_CASE(refuses_to_run_setuid) {
  auto o = run({stage() + "/bin/cexec-suid", sqfs(), "true"}, env);
  BOOST_CHECK_EQUAL(o.status, exit_code_for(ErrorKind::policy));
  BOOST_CHECK(contains(o.err, "setuid"));
}

BOOST_AUTO_TEST_CASE(squashfs_is_served_by_a_multithreaded_server) {
  // While a payload runs, the server (the node instance's keeper, or the private container's own
  // server with --no-share) has more than one thread and sits outside the container.
  for (bool shared : {true, false}) {
  std::string threads;
  std::vector<std::string> argv{cexec_bin(), sqfs(), "sh", "-c", "cat /etc/image-marker; echo up; sleep 1"};
  if (!shared) {
    argv.insert(argv.begin() + 1, "--no-share");
  }
  auto o = run(argv, env, "/", "",
               [&](pid_t, const std::string& out) {
                 if (!contains(out, "up")) {
                   return false;
                 }
                 for (const auto& p : cexec_processes()) {
                   if (contains(p, shared ? "cexec-instance" : "cexec-sqfs")) {
                     std::string status = read_text("/proc/" + p.substr(0, p.find(' ')) + "/status");
                     auto pos = status.find("Threads:");
                     threads = trim(status.substr(pos + 8, status.find('\n', pos) - pos - 8));
                   }
                 }
                 return true;
               });
  BOOST_TEST_INFO("shared=" << shared);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_REQUIRE(!threads.empty());
  BOOST_CHECK_GT(std::stoi(threads), 1);
  }
}

// --- binds --------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(bind_onto_missing_destination_in_read_only_image) {
  write_text(work / "file", "host data\n");
  for (const auto& img : both_images()) {
    auto o = run_cexec({"-B", work.path() + ":/new/place", img, "cat", "/new/place/file"}, env);
    BOOST_TEST_INFO(o);
    BOOST_CHECK_EQUAL(o.status, 0);
    BOOST_CHECK_EQUAL(o.out, "host data\n");
    // The root stays read-only even though mount points were created for the bind.
    auto w = run_cexec({"-B", work.path() + ":/new/place", img, "probe", "write", "/new/x"}, env);
    BOOST_CHECK_EQUAL(trim(w.out), "Read-only file system");
  }
}

BOOST_AUTO_TEST_CASE(bind_read_only_and_read_write) {
  auto rw = run_cexec({"-B", work.path() + ":/data", sqfs(), "probe", "write", "/data/rw-file"}, env);
  BOOST_CHECK_EQUAL(rw.status, 0);
  BOOST_CHECK(fs::exists(work / "rw-file"));
  auto ro = run_cexec({"-B", work.path() + ":/data:ro", sqfs(), "probe", "write", "/data/ro-file"}, env);
  BOOST_CHECK_EQUAL(ro.status, 1);
  BOOST_CHECK_EQUAL(trim(ro.out), "Read-only file system");
  BOOST_CHECK(!fs::exists(work / "ro-file"));
}

BOOST_AUTO_TEST_CASE(bind_lists_env_and_relative_sources) {
  fs::create_directories(work / "a");
  fs::create_directories(work / "b");
  fs::create_directories(work / "c");
  write_text(work / "a/f", "A");
  write_text(work / "b/f", "B");
  write_text(work / "c/f", "C");
  Env e = env;
  e["CEXEC_BIND"] = work / "c" + ":/mnt/c";
  auto o = run_cexec({"-B", "a:/mnt/a,b:/mnt/b:ro", sqfs(), "cat", "/mnt/a/f", "/mnt/b/f", "/mnt/c/f"}, e, work.path());
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_CHECK_EQUAL(o.out, "ABC");
  // Destination defaults to the (absolute) source.
  auto same = run_cexec({"-B", work / "a", sqfs(), "cat", work / "a/f"}, env);
  BOOST_CHECK_EQUAL(same.out, "A");
}

BOOST_AUTO_TEST_CASE(bind_through_symlinks_stays_in_the_image) {
  write_text(work / "f", "bound\n");
  // /escape -> ../../../.. climbs above the root: refused.
  auto esc = run_cexec({"-B", work.path() + ":/escape/x", sqfs(), "true"}, env);
  BOOST_CHECK_EQUAL(esc.status, exit_code_for(ErrorKind::bind_destination));
  BOOST_CHECK(contains(esc.err, "escapes the image root"));
  // /etc-link -> /etc resolves inside the image, never to the host's /etc.
  auto abs = run_cexec({"-B", work.path() + ":/etc-link/cexec-bound", sqfs(), "cat", "/etc/cexec-bound/f"}, env);
  BOOST_TEST_INFO(abs);
  BOOST_CHECK_EQUAL(abs.status, 0);
  BOOST_CHECK_EQUAL(abs.out, "bound\n");
  BOOST_CHECK(!fs::exists("/etc/cexec-bound"));
}

BOOST_AUTO_TEST_CASE(bad_bind_specs) {
  struct Bad {
    std::string spec;
    ErrorKind kind;
    std::string words;
  };
  std::vector<Bad> cases = {
      {work.path() + ":relative/dst", ErrorKind::usage, "not an absolute path"},
      {work.path() + ":/a/../../etc", ErrorKind::usage, "`..`"},
      {work.path() + ":/a:xx", ErrorKind::usage, "unknown option"},
      {"a:b:c:d", ErrorKind::usage, "too many"},
      {":/dst", ErrorKind::usage, "empty source"},
      {work / "missing" + ":/dst", ErrorKind::input_missing, "bind source"},
      {work.path() + ":/", ErrorKind::bind_destination, "image root"},
  };
  for (const auto& c : cases) {
    auto o = run_cexec({"-B", c.spec, sqfs(), "true"}, env);
    BOOST_TEST_INFO(c.spec << ": " << o);
    BOOST_CHECK_EQUAL(o.status, exit_code_for(c.kind));
    BOOST_CHECK(contains(o.err, c.words));
    BOOST_CHECK_EQUAL(std::count(o.err.begin(), o.err.end(), '\n'), 1);
  }
}

BOOST_AUTO_TEST_CASE(default_mounts) {
  write_text(home / "in-home", "home file\n");
  std::string script =
      "cat $HOME/in-home; cat /etc/hosts; ls /dev/null /proc/self /sys/kernel >/dev/null && echo sys-ok;"
      "grep -q ':" + std::to_string(::getuid()) + ":' /etc/passwd && echo user-in-passwd;"
      "grep -q '^root:' /etc/passwd && echo image-root-kept;"
      "grep -q ':" + std::to_string(::getgid()) + ":' /etc/group && echo group-ok";
  for (const auto& img : both_images()) {
    auto o = run_cexec({img, "sh", "-c", script}, env, work.path());
    BOOST_TEST_INFO(img << ": " << o);
    BOOST_CHECK_EQUAL(o.status, 0);
    BOOST_CHECK(contains(o.out, "home file\n" + read_text("/etc/hosts")));
    BOOST_CHECK(contains(o.out, "sys-ok"));
    BOOST_CHECK(contains(o.out, "user-in-passwd"));
    BOOST_CHECK(contains(o.out, "image-root-kept"));
    BOOST_CHECK(contains(o.out, "group-ok"));
  }
}

BOOST_AUTO_TEST_CASE(cwd_is_kept_and_pwd_overrides) {
  auto o = run_cexec({sqfs(), "probe", "cwd"}, env, work.path());
  BOOST_CHECK_EQUAL(trim(o.out), work.path());
  auto p = run_cexec({"--pwd", "/etc", sqfs(), "probe", "cwd"}, env, work.path());
  BOOST_CHECK_EQUAL(trim(p.out), "/etc");
  auto bad = run_cexec({"--pwd", "/does/not/exist", sqfs(), "true"}, env);
  BOOST_CHECK_EQUAL(bad.status, exit_code_for(ErrorKind::usage));
  BOOST_CHECK(contains(bad.err, "--pwd"));
  auto rel = run_cexec({"--pwd", "etc", sqfs(), "true"}, env);
  BOOST_CHECK_EQUAL(rel.status, exit_code_for(ErrorKind::usage));
}

BOOST_AUTO_TEST_CASE(shared_tmp_by_default_private_with_contain) {
  write_text(work / "marker", "x");
  auto shared = run_cexec({sqfs(), "cat", work / "marker"}, env);
  BOOST_CHECK_EQUAL(shared.out, "x");
  auto contained = run_cexec({"--contain", sqfs(), "sh", "-c", "ls /tmp | wc -l; ls $HOME"}, env, work.path());
  BOOST_TEST_INFO(contained);
  BOOST_CHECK_EQUAL(trim(contained.out).substr(0, 1), "0");
  BOOST_CHECK(contains(contained.err, "No such file"));
  // The test's home lies under /tmp (shared anyway), so look for the home bind itself.
  auto withhome = run_cexec({sqfs(), "cat", "/proc/self/mountinfo"}, env);
  BOOST_CHECK(contains(withhome.out, " " + home.path() + " "));
  auto nohome = run_cexec({"--no-home", sqfs(), "cat", "/proc/self/mountinfo"}, env);
  BOOST_CHECK_EQUAL(nohome.status, 0);
  BOOST_CHECK(!contains(nohome.out, " " + home.path() + " "));
}

// --- writable modes -----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(writable_tmpfs_is_writable_and_discarded) {
  for (const auto& img : both_images()) {
    auto o = run_cexec({"--writable-tmpfs", img, "sh", "-c", "echo new > /etc/new-file && cat /etc/new-file"}, env);
    BOOST_TEST_INFO(o);
    BOOST_CHECK_EQUAL(o.status, 0);
    BOOST_CHECK_EQUAL(o.out, "new\n");
    auto again = run_cexec({img, "cat", "/etc/new-file"}, env);
    BOOST_CHECK_NE(again.status, 0);
  }
  BOOST_CHECK(!fs::exists(dir_image() + "/etc/new-file"));
}

BOOST_AUTO_TEST_CASE(writable_directory_image) {
  // A sandbox the caller owns.
  std::string sandbox = work / "sandbox";
  auto cp = run({"cp", "-a", dir_image(), sandbox}, env);
  BOOST_REQUIRE_EQUAL(cp.status, 0);
  auto o = run_cexec({"--writable", sandbox, "sh", "-c", "echo kept > /kept"}, env);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_CHECK_EQUAL(read_text(sandbox + "/kept"), "kept\n");
  auto sq = run_cexec({"--writable", sqfs(), "true"}, env);
  BOOST_CHECK_EQUAL(sq.status, exit_code_for(ErrorKind::usage));
  BOOST_CHECK(contains(sq.err, "directory image"));
}

// --- environment --------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(environment_precedence) {
  write_text(work / "envfile", "# comment\nFROM_FILE=file\nLAYERED=file\nexport QUOTED=\"a b\"\n");
  Env e = env;
  e["HOST_VAR"] = "host";
  e["LD_PRELOAD"] = "/host/lib.so";
  e["LAYERED"] = "host";
  e["CEXEC_ENV_LAYERED"] = "prefix";
  e["CEXEC_ENV_FROM_PREFIX"] = "prefix";
  auto o = run_cexec({"--env-file", work / "envfile", "--env", "FROM_CLI=cli", sqfs(), "env"}, e);
  BOOST_REQUIRE_EQUAL(o.status, 0);
  BOOST_CHECK(contains(o.out, "HOST_VAR=host\n"));
  BOOST_CHECK(!contains(o.out, "LD_PRELOAD"));
  BOOST_CHECK(contains(o.out, "IMAGE_VAR=from-image\n"));
  BOOST_CHECK(contains(o.out, "FROM_PREFIX=prefix\n"));
  BOOST_CHECK(contains(o.out, "FROM_FILE=file\n"));
  BOOST_CHECK(contains(o.out, "LAYERED=file\n"));
  BOOST_CHECK(contains(o.out, "QUOTED=a b\n"));
  BOOST_CHECK(contains(o.out, "FROM_CLI=cli\n"));
  BOOST_CHECK(contains(o.out, "CEXEC_CONTAINER=1\n"));
  BOOST_CHECK(contains(o.out, "CEXEC_IMAGE=" + sqfs() + "\n"));
  BOOST_CHECK(contains(o.out, "PATH=/opt/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"));
  BOOST_CHECK(!contains(o.out, "CEXEC_ENV_"));
  auto cli = run_cexec({"--env-file", work / "envfile", "--env", "LAYERED=cli", sqfs(), "env"}, e);
  BOOST_CHECK(contains(cli.out, "LAYERED=cli\n"));
  auto clean = run_cexec({"--cleanenv", sqfs(), "env"}, e);
  BOOST_CHECK(!contains(clean.out, "HOST_VAR"));
  BOOST_CHECK(contains(clean.out, "HOME=" + home.path() + "\n"));
  BOOST_CHECK(contains(clean.out, "IMAGE_VAR=from-image\n"));
  auto badfile = run_cexec({"--env-file", work / "nofile", sqfs(), "true"}, e);
  BOOST_CHECK_EQUAL(badfile.status, exit_code_for(ErrorKind::input_missing));
  write_text(work / "badenv", "ok=1\nnot a line\n");
  auto badline = run_cexec({"--env-file", work / "badenv", sqfs(), "true"}, e);
  BOOST_CHECK_EQUAL(badline.status, exit_code_for(ErrorKind::usage));
  BOOST_CHECK(contains(badline.err, "badenv:2"));
  auto badcli = run_cexec({"--env", "NOEQUALS", sqfs(), "true"}, e);
  BOOST_CHECK_EQUAL(badcli.status, exit_code_for(ErrorKind::usage));
}

// --- exit statuses and signals ------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(exit_status_and_signal_death) {
  auto o = run_cexec({sqfs(), "probe", "exit", "42"}, env);
  BOOST_CHECK_EQUAL(o.status, 42);
  auto k = run_cexec({sqfs(), "sh", "-c", "kill -9 $$"}, env);
  BOOST_CHECK_EQUAL(k.status, 128 + 9);
}

BOOST_AUTO_TEST_CASE(signals_reach_the_command) {
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2}) {
    bool sent = false;
    auto o = run({cexec_bin(), sqfs(), "probe", "signals"}, env, "/", "", [&](pid_t pid, const std::string& out) {
      if (contains(out, "ready")) {
        ::kill(pid, sig);
        sent = true;
      }
      return sent;
    });
    BOOST_TEST_INFO("signal " << sig << ": " << o);
    BOOST_CHECK(sent);
    BOOST_CHECK_EQUAL(o.status, 100 + sig);
    BOOST_CHECK(contains(o.out, "got " + std::to_string(sig)));
  }
}

// --- bad input ----------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(bad_images) {
  struct Bad {
    std::string image;
    ErrorKind kind;
    std::string words;
  };
  std::vector<Bad> cases = {
      {image("missing.sqfs"), ErrorKind::input_missing, "No such file"},
      {image("notimage.txt"), ErrorKind::image_invalid, "not a SquashFS"},
      {image("truncated.sqfs"), ErrorKind::image_invalid, "truncated"},
      {image("corrupt.sqfs"), ErrorKind::image_invalid, "corrupt"},
      {"/dev/null", ErrorKind::image_invalid, "not a SquashFS"},
  };
  for (const auto& c : cases) {
    auto o = run_cexec({c.image, "true"}, env);
    BOOST_TEST_INFO(c.image << ": " << o);
    BOOST_CHECK_EQUAL(o.status, exit_code_for(c.kind));
    BOOST_CHECK(contains(o.err, c.words));
    BOOST_CHECK(contains(o.err, "image `"));
    BOOST_CHECK_EQUAL(std::count(o.err.begin(), o.err.end(), '\n'), 1);
  }
}

BOOST_AUTO_TEST_CASE(unreadable_image) {
  // Root reads any file, so the root run checks this case as nobody.
  std::vector<std::string> argv{cexec_bin(), image("unreadable.sqfs"), "true"};
  if (is_root()) {
    argv.insert(argv.begin(), {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"});
  }
  auto o = run(argv, env);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, exit_code_for(ErrorKind::input_missing));
  BOOST_CHECK(contains(o.err, "Permission denied"));
}

BOOST_AUTO_TEST_CASE(bad_commands_and_options) {
  auto nf = run_cexec({sqfs(), "no-such-command"}, env);
  BOOST_CHECK_EQUAL(nf.status, exit_code_for(ErrorKind::command_not_found));
  BOOST_CHECK(contains(nf.err, "`no-such-command` not found"));
  auto ne = run_cexec({sqfs(), "/bin/not-executable"}, env);
  BOOST_CHECK_EQUAL(ne.status, exit_code_for(ErrorKind::command_not_found));
  BOOST_CHECK(contains(ne.err, "not executable"));
  auto unknown = run_cexec({"exec", "--frobnicate", sqfs(), "true"}, env);
  BOOST_CHECK_EQUAL(unknown.status, exit_code_for(ErrorKind::usage));
  BOOST_CHECK(contains(unknown.err, "unknown option `--frobnicate`"));
  auto noimage = run_cexec({"exec"}, env);
  BOOST_CHECK_EQUAL(noimage.status, exit_code_for(ErrorKind::usage));
  BOOST_CHECK(contains(noimage.err, "missing IMAGE"));
  auto nothing = run_cexec({}, env);
  BOOST_CHECK_EQUAL(nothing.status, exit_code_for(ErrorKind::usage));
  auto nocmd = run_cexec({"exec", sqfs()}, env);
  BOOST_CHECK_EQUAL(nocmd.status, exit_code_for(ErrorKind::usage));
}

BOOST_AUTO_TEST_CASE(user_namespaces_disabled) {
  // A user namespace of the test's own whose limit is 0: cexec's unshare fails as on a host
  // where an admin disabled user namespaces.
  auto o = run({"unshare", "--user", "--map-root-user", "sh", "-c",
                "echo 0 > /proc/sys/user/max_user_namespaces && exec \"$0\" \"$@\"", cexec_bin(), sqfs(), "true"},
               env);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, exit_code_for(ErrorKind::host_unsupported));
  BOOST_CHECK(contains(o.err, "user.max_user_namespaces"));
}

BOOST_AUTO_TEST_CASE(dev_fuse_unusable) {
  // /dev hidden by an empty tmpfs in a namespace of the test's own: no /dev/fuse to open.
  auto o = run({"unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
                "mount -t tmpfs none /dev && exec \"$0\" \"$@\"", cexec_bin(), sqfs(), "true"},
               env);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, exit_code_for(ErrorKind::host_unsupported));
  BOOST_CHECK(contains(o.err, "/dev/fuse"));
}

// --- admin configuration ------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(admin_config) {
  Env e = env;
  e["CEXEC_CONFIG"] = config("site.conf");
  auto bound = run_cexec({sqfs(), "cat", "/cfg/hostname"}, e);
  BOOST_TEST_INFO(bound);
  BOOST_CHECK_EQUAL(bound.status, 0);
  BOOST_CHECK_EQUAL(bound.out, read_text("/etc/hostname"));
  auto denied = run_cexec({"-B", work.path() + ":/opt/x", sqfs(), "true"}, e);
  BOOST_CHECK_EQUAL(denied.status, exit_code_for(ErrorKind::policy));
  BOOST_CHECK(contains(denied.err, "/opt"));
  auto too_many = run_cexec({"-B", "/tmp:/b1,/tmp:/b2,/tmp:/b3,/tmp:/b4", sqfs(), "true"}, e);
  BOOST_CHECK_EQUAL(too_many.status, exit_code_for(ErrorKind::policy));

  e["CEXEC_CONFIG"] = config("no-writable.conf");
  auto wt = run_cexec({"--writable-tmpfs", sqfs(), "true"}, e);
  BOOST_CHECK_EQUAL(wt.status, exit_code_for(ErrorKind::policy));
  BOOST_CHECK(contains(wt.err, "--writable-tmpfs"));

  struct Bad {
    std::string file;
    std::string words;
  };
  for (const auto& c : std::vector<Bad>{{config("malformed.conf"), "malformed.conf:2"},
                                        {config("group-writable.conf"), "group- or world-writable"},
                                        {config("not-root.conf"), "not owned by root"},
                                        {config("missing.conf"), "No such file"}}) {
    e["CEXEC_CONFIG"] = c.file;
    auto o = run_cexec({sqfs(), "true"}, e);
    BOOST_TEST_INFO(c.file << ": " << o);
    BOOST_CHECK_EQUAL(o.status, exit_code_for(ErrorKind::config));
    BOOST_CHECK(contains(o.err, c.words));
  }
  // A config the caller owns is refused even when the caller is not root.
  write_text(work / "mine.conf", "max-binds = 1\n");
  e["CEXEC_CONFIG"] = work / "mine.conf";
  auto mine = run_cexec({sqfs(), "true"}, e);
  if (is_root()) {
    BOOST_CHECK_EQUAL(mine.status, 0);  // root owns it: that is the rule
  } else {
    BOOST_CHECK_EQUAL(mine.status, exit_code_for(ErrorKind::config));
  }
}

BOOST_AUTO_TEST_CASE(verbose_logs_plan_and_steps) {
  auto o = run_cexec({"-v", sqfs(), "true"}, env);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_CHECK(contains(o.err, "plan: image " + sqfs()));
  if (std::getenv("CEXEC_E2E_PRIVATE") == nullptr) {
    BOOST_CHECK(contains(o.err, "node instance @cexec." + std::to_string(::getuid()) + "."));
    BOOST_CHECK(contains(o.err, "step instance-join:"));
  }
  auto p = run_cexec({"-v", "--no-share", sqfs(), "true"}, env);
  BOOST_CHECK(contains(p.err, "step user-namespace:"));
  BOOST_CHECK(contains(p.err, "step pivot-root:"));
  auto d = run_cexec({"--debug", "--env", "DBG=1", sqfs(), "true"}, env);
  BOOST_CHECK(contains(d.err, "debug: env DBG=1"));
  BOOST_CHECK(contains(d.err, "debug: argv: [true]"));
  auto q = run_cexec({"-q", sqfs(), "true"}, env);
  BOOST_CHECK_EQUAL(q.err, "");
}

BOOST_AUTO_TEST_SUITE_END()
