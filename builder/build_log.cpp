#include "build_log.hpp"

#include "base/environment.hpp"
#include "base/sys/syscalls.hpp"
#include "sandbox.hpp"
#include "tool_output.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <system_error>
#include <thread>
#include <unistd.h>

namespace cexec::build {

namespace {

constexpr size_t logs_kept = 20;

std::string base_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// mkdir -p, each new folder private to the user (logs may hold proxy settings or tokens).
void make_dirs(const std::string& path) {
  for (size_t at = 1; at != std::string::npos;) {
    at = path.find('/', at + 1);
    std::string part = path.substr(0, at);
    if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) {
      sys::throw_errno("mkdir", part);
    }
  }
}

// Keeps the newest `logs_kept` - 1 logs of the folder, before a new one is added.
void prune(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    return;
  }
  std::vector<std::pair<long long, std::string>> logs;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    struct stat st {};
    if (name.ends_with(".log") && ::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
      logs.emplace_back(static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec, name);
    }
  }
  std::sort(logs.begin(), logs.end(), [](const auto& a, const auto& b) { return a > b; });
  for (size_t i = logs_kept - 1; i < logs.size(); ++i) {  // room for the new one
    ::unlinkat(::dirfd(d), logs[i].second.c_str(), 0);
  }
  ::closedir(d);
}

size_t terminal_width() {
  struct winsize w {};
  return ::ioctl(2, TIOCGWINSZ, &w) == 0 && w.ws_col > 20 ? w.ws_col : 80;
}

}  // namespace

BuildLog::BuildLog(const std::string& output, const std::vector<std::string>& host_env, Verbosity verbosity)
    : _output(output), _host_env(host_env), _verbosity(verbosity) {}

void BuildLog::open() {
  _opened = true;
  std::string dir(try_environ_value(_host_env, "XDG_CACHE_HOME").value_or(""));
  if (dir.empty() || !dir.starts_with('/')) {
    std::string home(try_environ_value(_host_env, "HOME").value_or(""));
    dir = home.starts_with('/') ? home + "/.cache" : "";
  }
  if (dir.empty()) {
    _unavailable = "neither XDG_CACHE_HOME nor HOME is set";
  } else {
    dir += "/cexec/build-logs";
    char stamp[32];
    std::time_t now = std::time(nullptr);
    struct tm tm {};
    std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", ::localtime_r(&now, &tm));
    std::string path = dir + "/" + base_of(_output) + "." + stamp + "." + std::to_string(::getpid()) + ".log";
    try {
      make_dirs(dir);
      prune(dir);
      _file = sys::open_path(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
      _path = path;
      return;
    } catch (const std::exception& e) {
      _unavailable = e.what();
    }
  }
  _file = sys::memory_file("cexec-build-log");
}

int BuildLog::run(const BuildSandbox& box, Stage stage, const std::string& what, const std::function<void()>& body) {
  bool verbose = _verbosity == Verbosity::verbose || _verbosity == Verbosity::debug;
  bool quiet = _verbosity == Verbosity::quiet;
  std::string head = std::string("cexec build: [") + stage_name(stage) + "] " + what;
  if (verbose) {
    std::fprintf(stderr, "%s\n", head.c_str());
    std::fflush(stderr);
    return box.run(body);
  }
  if (!_opened) {
    open();
  }
  bool tty = !quiet && ::isatty(2) == 1;
  if (!quiet && !tty) {
    std::fprintf(stderr, "%s\n", head.c_str());
    std::fflush(stderr);
  }
  std::string marker = "=== [" + std::string(stage_name(stage)) + "] " + what + "\n";
  try {
    sys::write_all(_file.get(), marker);
  } catch (const std::exception&) {
    // A full disk loses the log, not the build.
  }

  ToolOutput counts;
  size_t width = terminal_width();
  auto draw = [&](bool last) {
    std::string line = head + ": " + counts.summary();
    if (line.size() >= width) {
      line.resize(width - 1);
    }
    std::fprintf(stderr, "\r%s\033[K%s", line.c_str(), last ? "\n" : "");
    std::fflush(stderr);
  };
  if (tty) {
    draw(false);
  }
  auto [read_end, write_end] = sys::make_pipe();
  std::atomic<bool> done{false};
  // The reader: every byte into the log, lines counted, the terminal line redrawn 5 times a second.
  // Once the phase's process has ended it drains what is there and stops, even if a daemon the
  // phase started still holds the pipe open.
  std::thread reader([&, fd = read_end.get()] {
    char buf[65536];
    auto drawn = std::chrono::steady_clock::now();
    for (;;) {
      struct pollfd p {fd, POLLIN, 0};
      int rc = ::poll(&p, 1, done ? 0 : 200);
      if (rc < 0 && errno == EINTR) {
        continue;
      }
      if (rc <= 0) {
        if (done || rc < 0) {
          break;
        }
      } else {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
          continue;
        }
        if (n <= 0) {
          break;
        }
        std::string_view bytes(buf, static_cast<size_t>(n));
        try {
          sys::write_all(_file.get(), bytes);
        } catch (const std::exception&) {
        }
        counts.feed(bytes);
      }
      if (tty && std::chrono::steady_clock::now() - drawn > std::chrono::milliseconds(200)) {
        draw(false);
        drawn = std::chrono::steady_clock::now();
      }
    }
  });
  int status = 0;
  try {
    status = box.run([&, fd = write_end.get()] {
      sys::redirect_fd(fd, 1);
      sys::redirect_fd(fd, 2);
      body();
    });
  } catch (...) {
    write_end.reset();
    done = true;
    reader.join();
    if (tty) {
      draw(true);
    }
    throw;
  }
  write_end.reset();
  done = true;
  reader.join();
  counts.finish();
  if (tty) {
    draw(true);
  }
  if (status != 0) {
    std::string tail = counts.tail();
    std::string where = _path.empty() ? "no log file (" + _unavailable + ")" : "full log: " + _path;
    std::fprintf(stderr, "cexec build: [%s] the last lines of its output:\n", stage_name(stage));
    for (const auto& l : split_nonempty(tail, '\n')) {
      std::fprintf(stderr, "  | %s\n", l.c_str());
    }
    std::fprintf(stderr, "cexec build: %s\n", where.c_str());
    std::fflush(stderr);
  }
  return status;
}

}  // namespace cexec::build
