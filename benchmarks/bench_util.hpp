// bench_util.hpp: what the benchmark programs share. A move-only Fd, errno errors, command lines
// split on blanks with the program looked up in PATH once (before any timing), `{run}`-style
// placeholders, order statistics, exit-status text, and the parsers of cexec's `-v` lines.
//
// Only the standard library and POSIX: the benchmarks must build wherever cexec does.
#pragma once

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <sys/wait.h>
#include <system_error>
#include <unistd.h>
#include <utility>
#include <vector>

namespace bench {

using Clock = std::chrono::steady_clock;

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct HelpRequested {};

[[noreturn]] inline void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// A file descriptor closed on destruction; move-only.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : _fd(fd) {}
  Fd(Fd&& other) noexcept : _fd(std::exchange(other._fd, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    reset(std::exchange(other._fd, -1));
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const { return _fd; }
  bool is_open() const { return _fd >= 0; }
  void reset(int fd = -1) {
    if (_fd >= 0) {
      ::close(_fd);
    }
    _fd = fd;
  }

 private:
  int _fd = -1;
};

inline std::vector<std::string> split_blanks(std::string_view text) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) {
      ++i;
    }
    size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t') {
      ++i;
    }
    if (i > start) {
      words.emplace_back(text.substr(start, i - start));
    }
  }
  return words;
}

inline std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    out += (out.empty() ? "" : " ") + w;
  }
  return out;
}

inline int parse_count(std::string_view option, std::string_view value, int minimum) {
  int n = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || end != value.data() + value.size() || n < minimum) {
    throw UsageError(std::string(option) + " wants an integer >= " + std::to_string(minimum) + ", not `" +
                     std::string(value) + "`");
  }
  return n;
}

inline bool is_executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// Looks the program up once, before timing, so no run pays for a PATH search.
inline std::string resolve_program(const std::string& program, const char* path_env) {
  if (program.find('/') != std::string::npos) {
    if (!is_executable_file(program)) {
      throw UsageError("`" + program + "` is not an executable file");
    }
    return program;
  }
  std::string_view path = path_env ? path_env : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= path.size()) {
    size_t colon = path.find(':', start);
    std::string dir(path.substr(start, colon == std::string_view::npos ? std::string_view::npos : colon - start));
    std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (is_executable_file(candidate)) {
      return candidate;
    }
    if (colon == std::string_view::npos) {
      break;
    }
    start = colon + 1;
  }
  throw UsageError("`" + program + "` not found in PATH");
}

inline std::string replace_all(std::string text, std::string_view from, std::string_view to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

inline bool has_placeholder(const std::vector<std::string>& argv, std::string_view placeholder) {
  return std::any_of(argv.begin(), argv.end(),
                     [&](const std::string& a) { return a.find(placeholder) != std::string::npos; });
}

// argv with every `placeholder` in its arguments (not the resolved program) replaced by `value`.
inline std::vector<std::string> expand(std::vector<std::string> argv, std::string_view placeholder,
                                       std::string_view value) {
  for (size_t i = 1; i < argv.size(); ++i) {
    argv[i] = replace_all(std::move(argv[i]), placeholder, value);
  }
  return argv;
}

// execve's argument or environment vector, built before fork so the child only calls
// async-signal-safe functions.
class CStrings {
 public:
  explicit CStrings(std::vector<std::string> strings) : _strings(std::move(strings)) {
    for (auto& s : _strings) {
      _pointers.push_back(s.data());
    }
    _pointers.push_back(nullptr);
  }
  CStrings(const CStrings&) = delete;
  CStrings& operator=(const CStrings&) = delete;
  CStrings(CStrings&&) = default;
  CStrings& operator=(CStrings&&) = default;

  const char* first() const { return _pointers[0]; }
  char* const* get() const { return const_cast<char* const*>(_pointers.data()); }

 private:
  std::vector<std::string> _strings;
  std::vector<char*> _pointers;
};

// `envp` with each NAME=VALUE of `overrides` replacing NAME's entry, or added.
inline std::vector<std::string> environment_with(char** envp, const std::vector<std::string>& overrides) {
  std::vector<std::string> env;
  for (char** e = envp; *e; ++e) {
    std::string_view entry(*e);
    std::string_view name = entry.substr(0, entry.find('='));
    bool replaced = std::any_of(overrides.begin(), overrides.end(), [&](const std::string& o) {
      return std::string_view(o).substr(0, o.find('=')) == name;
    });
    if (!replaced) {
      env.emplace_back(entry);
    }
  }
  env.insert(env.end(), overrides.begin(), overrides.end());
  return env;
}

inline std::string describe_status(int status) {
  if (WIFEXITED(status)) {
    return "exit status " + std::to_string(WEXITSTATUS(status));
  }
  if (WIFSIGNALED(status)) {
    return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")";
  }
  return "wait status " + std::to_string(status);
}

inline double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

struct Summary {
  double median = 0;
  double p10 = 0;
  double p90 = 0;
  double max = 0;
};

// Linear interpolation between closest ranks.
inline double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) {
    return 0;
  }
  double pos = q * static_cast<double>(sorted.size() - 1);
  size_t lo = static_cast<size_t>(pos);
  size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

inline Summary summarize(std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  return Summary{percentile(samples, 0.5), percentile(samples, 0.1), percentile(samples, 0.9),
                 samples.empty() ? 0 : samples.back()};
}

inline double median(std::vector<double> samples) { return summarize(std::move(samples)).median; }

// ---- cexec's -v lines ----

struct StepTime {
  std::string name;
  double ms = 0;
};

inline std::optional<double> parse_ms(std::string_view text) {
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || std::string_view(end, text.data() + text.size() - end) != " ms") {
    return std::nullopt;
  }
  return v;
}

// "cexec[PID]: step NAME: X.XXX ms" -> {NAME, X}.
inline std::optional<StepTime> try_parse_step(std::string_view line) {
  size_t tag = line.find("]: step ");
  if (!line.starts_with("cexec[") || tag == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view rest = line.substr(tag + 8);
  size_t colon = rest.rfind(": ");
  if (colon == std::string_view::npos) {
    return std::nullopt;
  }
  auto ms = parse_ms(rest.substr(colon + 2));
  if (!ms) {
    return std::nullopt;
  }
  return StepTime{std::string(rest.substr(0, colon)), *ms};
}

// "cexec[PID]: exec PATH after X ms" -> X.
inline std::optional<double> try_parse_exec(std::string_view line) {
  size_t tag = line.find("]: exec ");
  size_t after = line.rfind(" after ");
  if (!line.starts_with("cexec[") || tag == std::string_view::npos || after == std::string_view::npos) {
    return std::nullopt;
  }
  return parse_ms(line.substr(after + 7));
}

// Step names in the order cexec runs them, merged over runs in which some steps appear only
// sometimes (instance-create, start-squashfs-server): a new name goes after the step it followed.
inline void merge_step_order(std::vector<std::string>& order, const std::vector<StepTime>& steps) {
  auto insert_at = order.begin();
  for (const auto& step : steps) {
    auto found = std::find(order.begin(), order.end(), step.name);
    if (found == order.end()) {
      insert_at = order.insert(insert_at, step.name) + 1;
    } else {
      insert_at = found + 1;
    }
  }
}

}  // namespace bench
