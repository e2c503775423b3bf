// bench_launch: per-launch wall time of a few commands, measured side by side.
//
// Owns the launch benchmark: it runs the given commands interleaved (round-robin, so drift on a
// shared machine hits every command alike), each with fork + execve + waitpid and its stdio on
// /dev/null, times them with steady_clock, and prints median, p10 and p90 with the ratio and the
// overhead against the first (baseline) command. With --breakdown it reruns cexec commands with
// `-v` and prints the median of every setup step cexec logs, plus the time spent outside them.
// Exits non-zero as soon as any command fails, so a broken launcher never yields a number.
//
// Only the standard library and POSIX: this program must build wherever cexec does.
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <map>
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

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* usage_text =
    "Usage: bench_launch [OPTIONS] NAME=COMMAND...\n"
    "\n"
    "Runs every COMMAND (split on blanks, no quoting; the program is looked up in PATH once)\n"
    "round-robin, RUNS times each after WARMUP rounds, and prints median, p10, p90, ratio and\n"
    "overhead against the first command.\n"
    "\n"
    "Options:\n"
    "  --runs N              measured runs of each command (default 200)\n"
    "  --warmup N            discarded rounds before measuring (default 5)\n"
    "  --versus A,B          also print A against B, from per-round paired differences (repeatable)\n"
    "  --breakdown NAME      rerun command NAME with -v after its program name and print the\n"
    "                        median of each `step` cexec logs (repeatable; columns side by side)\n"
    "  --breakdown-runs N    runs of each --breakdown command (default 100)\n"
    "  -h, --help            this text\n";

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct HelpRequested {};

struct Command {
  std::string name;
  std::vector<std::string> argv;  // argv[0] is an absolute path once resolved
};

struct Options {
  int runs = 200;
  int warmup = 5;
  int breakdown_runs = 100;
  std::vector<Command> commands;
  std::vector<std::string> breakdown;
  std::vector<std::pair<std::string, std::string>> versus;
};

[[noreturn]] void throw_errno(const std::string& what) {
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
  void reset(int fd = -1) {
    if (_fd >= 0) {
      ::close(_fd);
    }
    _fd = fd;
  }

 private:
  int _fd = -1;
};

std::vector<std::string> split_blanks(std::string_view text) {
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

int parse_count(std::string_view option, std::string_view value, int minimum) {
  int n = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || end != value.data() + value.size() || n < minimum) {
    throw UsageError(std::string(option) + " wants an integer >= " + std::to_string(minimum) + ", not `" +
                     std::string(value) + "`");
  }
  return n;
}

bool is_executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// Looks the program up once, before timing, so no run pays for a PATH search.
std::string resolve_program(const std::string& program, const char* path_env) {
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

Command parse_command(std::string_view spec, const char* path_env) {
  size_t eq = spec.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    throw UsageError("expected NAME=COMMAND, not `" + std::string(spec) + "`");
  }
  Command c{std::string(spec.substr(0, eq)), split_blanks(spec.substr(eq + 1))};
  if (c.argv.empty()) {
    throw UsageError("command `" + c.name + "` is empty");
  }
  c.argv[0] = resolve_program(c.argv[0], path_env);
  return c;
}

const Command* find_command(const std::vector<Command>& commands, const std::string& name) {
  auto it = std::find_if(commands.begin(), commands.end(), [&](const Command& c) { return c.name == name; });
  return it == commands.end() ? nullptr : &*it;
}

Options parse_options(const std::vector<std::string_view>& args, const char* path_env) {
  Options o;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    auto value = [&]() -> std::string_view {
      if (i + 1 >= args.size()) {
        throw UsageError(std::string(a) + " wants a value");
      }
      return args[++i];
    };
    if (a == "-h" || a == "--help") {
      throw HelpRequested{};
    } else if (a == "--runs") {
      o.runs = parse_count(a, value(), 1);
    } else if (a == "--warmup") {
      o.warmup = parse_count(a, value(), 0);
    } else if (a == "--breakdown-runs") {
      o.breakdown_runs = parse_count(a, value(), 1);
    } else if (a == "--breakdown") {
      o.breakdown.emplace_back(value());
    } else if (a == "--versus") {
      std::string_view v = value();
      size_t comma = v.find(',');
      if (comma == std::string_view::npos) {
        throw UsageError("--versus wants A,B, not `" + std::string(v) + "`");
      }
      o.versus.emplace_back(std::string(v.substr(0, comma)), std::string(v.substr(comma + 1)));
    } else if (a.starts_with("-")) {
      throw UsageError("unknown option `" + std::string(a) + "`");
    } else {
      o.commands.push_back(parse_command(a, path_env));
    }
  }
  if (o.commands.empty()) {
    throw UsageError("no commands given");
  }
  for (size_t i = 0; i < o.commands.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (o.commands[i].name == o.commands[j].name) {
        throw UsageError("command name `" + o.commands[i].name + "` given twice");
      }
    }
  }
  for (const auto& name : o.breakdown) {
    if (!find_command(o.commands, name)) {
      throw UsageError("--breakdown `" + name + "` names no command");
    }
  }
  for (const auto& [a, b] : o.versus) {
    if (!find_command(o.commands, a) || !find_command(o.commands, b)) {
      throw UsageError("--versus `" + a + "," + b + "` names an unknown command");
    }
  }
  return o;
}

// execve's argument vector, built before fork so the child only calls async-signal-safe functions.
class ExecArgs {
 public:
  explicit ExecArgs(const std::vector<std::string>& argv) : _strings(argv) {
    for (auto& s : _strings) {
      _pointers.push_back(s.data());
    }
    _pointers.push_back(nullptr);
  }
  const char* path() const { return _pointers[0]; }
  char* const* argv() const { return const_cast<char* const*>(_pointers.data()); }

 private:
  std::vector<std::string> _strings;
  std::vector<char*> _pointers;
};

std::string describe_status(int status) {
  if (WIFEXITED(status)) {
    return "exit status " + std::to_string(WEXITSTATUS(status));
  }
  if (WIFSIGNALED(status)) {
    return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")";
  }
  return "wait status " + std::to_string(status);
}

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    out += (out.empty() ? "" : " ") + w;
  }
  return out;
}

// Starts the command with stdin and stdout on /dev/null and stderr on `stderr_fd`.
pid_t spawn(const ExecArgs& args, char** envp, int devnull, int stderr_fd) {
  pid_t pid = ::fork();
  if (pid < 0) {
    throw_errno("fork");
  }
  if (pid == 0) {
    if (::dup2(devnull, 0) < 0 || ::dup2(devnull, 1) < 0 || ::dup2(stderr_fd, 2) < 0) {
      ::_exit(126);
    }
    ::execve(args.path(), args.argv(), envp);
    ::_exit(127);
  }
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      throw_errno("waitpid");
    }
  }
  return status;
}

void check_success(const Command& c, const std::vector<std::string>& argv, int status) {
  if (status != 0) {
    throw std::runtime_error("command `" + c.name + "` failed (" + describe_status(status) + "): " + join(argv));
  }
}

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// One launch with all output discarded: wall time from before fork to after waitpid.
double time_one_run(const Command& c, const ExecArgs& args, char** envp, int devnull) {
  Clock::time_point t0 = Clock::now();
  pid_t pid = spawn(args, envp, devnull, devnull);
  int status = wait_for(pid);
  Clock::time_point t1 = Clock::now();
  check_success(c, c.argv, status);
  return ms_between(t0, t1);
}

struct Summary {
  double median = 0;
  double p10 = 0;
  double p90 = 0;
};

// Linear interpolation between closest ranks.
double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) {
    return 0;
  }
  double pos = q * static_cast<double>(sorted.size() - 1);
  size_t lo = static_cast<size_t>(pos);
  size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

Summary summarize(std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  return Summary{percentile(samples, 0.5), percentile(samples, 0.1), percentile(samples, 0.9)};
}

double median(std::vector<double> samples) { return summarize(std::move(samples)).median; }

// samples[command][run], measured round-robin after `warmup` discarded rounds.
std::vector<std::vector<double>> measure_interleaved(const Options& o, char** envp, int devnull) {
  std::vector<ExecArgs> args;
  for (const auto& c : o.commands) {
    args.emplace_back(c.argv);
  }
  std::vector<std::vector<double>> samples(o.commands.size());
  for (int round = 0; round < o.warmup + o.runs; ++round) {
    for (size_t i = 0; i < o.commands.size(); ++i) {
      double ms = time_one_run(o.commands[i], args[i], envp, devnull);
      if (round >= o.warmup) {
        samples[i].push_back(ms);
      }
    }
  }
  return samples;
}

void print_table(const Options& o, const std::vector<std::vector<double>>& samples) {
  size_t width = 8;
  for (const auto& c : o.commands) {
    width = std::max(width, c.name.size());
  }
  int w = static_cast<int>(width);
  std::printf("%-*s  %10s  %10s  %10s  %8s  %13s\n", w, "command", "median ms", "p10 ms", "p90 ms", "ratio",
              "overhead ms");
  Summary base = summarize(samples[0]);
  for (size_t i = 0; i < o.commands.size(); ++i) {
    Summary s = summarize(samples[i]);
    std::printf("%-*s  %10.3f  %10.3f  %10.3f  %7.2fx  %+13.3f\n", w, o.commands[i].name.c_str(), s.median, s.p10,
                s.p90, s.median / base.median, s.median - base.median);
  }
  std::printf("(%d runs each, round-robin after %d warm-up rounds; ratio and overhead against `%s`)\n", o.runs,
              o.warmup, o.commands[0].name.c_str());
}

size_t index_of(const std::vector<Command>& commands, const std::string& name) {
  return static_cast<size_t>(find_command(commands, name) - commands.data());
}

// Paired per round, so a slow moment of the machine cancels out of the difference.
void print_versus(const Options& o, const std::vector<std::vector<double>>& samples) {
  for (const auto& [a, b] : o.versus) {
    const auto& sa = samples[index_of(o.commands, a)];
    const auto& sb = samples[index_of(o.commands, b)];
    std::vector<double> diffs;
    size_t a_faster = 0;
    for (size_t r = 0; r < sa.size(); ++r) {
      diffs.push_back(sa[r] - sb[r]);
      a_faster += sa[r] < sb[r] ? 1 : 0;
    }
    Summary d = summarize(diffs);
    std::printf("%s vs %s: median ratio %.2fx; paired difference median %+.3f ms (p10 %+.3f, p90 %+.3f); "
                "%s faster in %zu of %zu rounds\n",
                a.c_str(), b.c_str(), median(sa) / median(sb), d.median, d.p10, d.p90, a.c_str(), a_faster,
                sa.size());
  }
}

// ---- breakdown of `cexec -v` ----

struct StepTime {
  std::string name;
  double ms = 0;
};

// What one verbose run logged, and when its `exec` line reached us.
struct VerboseRun {
  std::vector<StepTime> steps;
  double exec_after_ms = 0;  // cexec's own clock: first step start to just before execve
  double exec_line_ms = 0;   // our clock: fork to the arrival of the `exec` line
  double wall_ms = 0;        // our clock: fork to waitpid
};

std::optional<double> parse_ms(std::string_view text) {
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || std::string_view(end, text.data() + text.size() - end) != " ms") {
    return std::nullopt;
  }
  return v;
}

// "cexec[PID]: step NAME: X.XXX ms" -> {NAME, X}.
std::optional<StepTime> try_parse_step(std::string_view line) {
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
std::optional<double> try_parse_exec(std::string_view line) {
  size_t tag = line.find("]: exec ");
  size_t after = line.rfind(" after ");
  if (!line.starts_with("cexec[") || tag == std::string_view::npos || after == std::string_view::npos) {
    return std::nullopt;
  }
  return parse_ms(line.substr(after + 7));
}

std::vector<std::string> verbose_argv(const Command& c) {
  std::vector<std::string> argv = c.argv;
  argv.insert(argv.begin() + 1, "-v");
  return argv;
}

// Runs the verbose command with stderr on a pipe, reading lines as they come so the `exec` line
// is stamped on arrival: cexec writes stderr unbuffered and flushes right before execve.
VerboseRun run_verbose(const Command& c, const std::vector<std::string>& argv, const ExecArgs& args, char** envp,
                       int devnull) {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) {
    throw_errno("pipe2");
  }
  Fd read_end(ends[0]);
  Fd write_end(ends[1]);
  Clock::time_point t0 = Clock::now();
  pid_t pid = spawn(args, envp, devnull, write_end.get());
  write_end.reset();

  VerboseRun run;
  bool saw_exec = false;
  std::string pending;
  std::string all;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(read_end.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    Clock::time_point now = Clock::now();
    pending.append(buf, static_cast<size_t>(n));
    all.append(buf, static_cast<size_t>(n));
    size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      std::string_view line(pending.data(), nl);
      if (auto step = try_parse_step(line)) {
        run.steps.push_back(*step);
      } else if (auto after = try_parse_exec(line); after && !saw_exec) {
        saw_exec = true;
        run.exec_after_ms = *after;
        run.exec_line_ms = ms_between(t0, now);
      }
      pending.erase(0, nl + 1);
    }
  }
  int status = wait_for(pid);
  run.wall_ms = ms_between(t0, Clock::now());
  if (status != 0) {
    throw std::runtime_error("command `" + c.name + "` failed (" + describe_status(status) + "): " + join(argv) +
                             "\n" + all);
  }
  if (!saw_exec) {
    throw std::runtime_error("command `" + c.name + "` logged no `exec ... after X ms` line with -v: " + join(argv));
  }
  return run;
}

// Step names in the order cexec runs them; a step seen only in some commands (start-squashfs-server,
// clone-image) is placed after the step it followed there.
std::vector<std::string> merged_step_order(const std::vector<std::vector<VerboseRun>>& runs) {
  std::vector<std::string> order;
  for (const auto& per_command : runs) {
    for (const auto& run : per_command) {
      auto insert_at = order.begin();
      for (const auto& step : run.steps) {
        auto found = std::find(order.begin(), order.end(), step.name);
        if (found == order.end()) {
          insert_at = order.insert(insert_at, step.name) + 1;
        } else {
          insert_at = found + 1;
        }
      }
    }
  }
  return order;
}

// Median of one step over the runs that had it; nullopt where no run had it.
std::optional<double> step_median(const std::vector<VerboseRun>& runs, const std::string& name) {
  std::vector<double> values;
  for (const auto& run : runs) {
    for (const auto& step : run.steps) {
      if (step.name == name) {
        values.push_back(step.ms);
      }
    }
  }
  return values.empty() ? std::nullopt : std::optional<double>(median(values));
}

template <typename F>
double derived_median(const std::vector<VerboseRun>& runs, F&& f) {
  std::vector<double> values;
  for (const auto& run : runs) {
    values.push_back(f(run));
  }
  return median(values);
}

double sum_of_steps(const VerboseRun& run) {
  double sum = 0;
  for (const auto& step : run.steps) {
    sum += step.ms;
  }
  return sum;
}

void print_breakdown_row(int w, const std::string& label, const std::vector<std::optional<double>>& cells) {
  std::printf("%-*s", w, label.c_str());
  for (const auto& cell : cells) {
    if (cell) {
      std::printf("  %12.3f", *cell);
    } else {
      std::printf("  %12s", "-");
    }
  }
  std::printf("\n");
}

void print_breakdown(const Options& o, const std::vector<std::vector<VerboseRun>>& runs) {
  std::vector<std::string> order = merged_step_order(runs);
  struct Derived {
    const char* label;
    double (*f)(const VerboseRun&);
  };
  const Derived derived[] = {
      {"= sum of steps", [](const VerboseRun& r) { return sum_of_steps(r); }},
      {"+ between steps (plan, log)", [](const VerboseRun& r) { return r.exec_after_ms - sum_of_steps(r); }},
      {"= first step to exec", [](const VerboseRun& r) { return r.exec_after_ms; }},
      {"before first step (start, CLI)", [](const VerboseRun& r) { return r.exec_line_ms - r.exec_after_ms; }},
      {"after exec (payload, exit)", [](const VerboseRun& r) { return r.wall_ms - r.exec_line_ms; }},
      {"= wall (with -v)", [](const VerboseRun& r) { return r.wall_ms; }},
  };
  int w = 30;
  for (const auto& name : order) {
    w = std::max(w, static_cast<int>(name.size()) + 5);
  }
  std::printf("%-*s", w, "median ms per step");
  for (const auto& name : o.breakdown) {
    std::printf("  %12s", name.c_str());
  }
  std::printf("\n");
  for (const auto& name : order) {
    std::vector<std::optional<double>> cells;
    for (const auto& per_command : runs) {
      cells.push_back(step_median(per_command, name));
    }
    print_breakdown_row(w, "step " + name, cells);
  }
  for (const auto& d : derived) {
    std::vector<std::optional<double>> cells;
    for (const auto& per_command : runs) {
      cells.push_back(derived_median(per_command, d.f));
    }
    print_breakdown_row(w, d.label, cells);
  }
  std::printf("(%d runs each with -v, round-robin after %d warm-up rounds, stderr read through a pipe;\n"
              " \"before first step\" and \"after exec\" are timed by bench_launch from fork and to waitpid)\n",
              o.breakdown_runs, o.warmup);
}

std::vector<std::vector<VerboseRun>> measure_breakdown(const Options& o, char** envp, int devnull) {
  std::vector<const Command*> commands;
  std::vector<std::vector<std::string>> argvs;
  std::vector<ExecArgs> args;
  for (const auto& name : o.breakdown) {
    commands.push_back(find_command(o.commands, name));
    argvs.push_back(verbose_argv(*commands.back()));
    args.emplace_back(argvs.back());
  }
  std::vector<std::vector<VerboseRun>> runs(commands.size());
  for (int round = 0; round < o.warmup + o.breakdown_runs; ++round) {
    for (size_t i = 0; i < commands.size(); ++i) {
      VerboseRun run = run_verbose(*commands[i], argvs[i], args[i], envp, devnull);
      if (round >= o.warmup) {
        runs[i].push_back(std::move(run));
      }
    }
  }
  return runs;
}

void print_commands(const Options& o) {
  for (const auto& c : o.commands) {
    std::printf("  %s = %s\n", c.name.c_str(), join(c.argv).c_str());
  }
  std::printf("\n");
}

int run_benchmark(const Options& o, char** envp) {
  Fd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (devnull.get() < 0) {
    throw_errno("open /dev/null");
  }
  print_commands(o);
  std::fflush(stdout);
  auto samples = measure_interleaved(o, envp, devnull.get());
  print_table(o, samples);
  print_versus(o, samples);
  if (!o.breakdown.empty()) {
    std::printf("\n");
    std::fflush(stdout);
    print_breakdown(o, measure_breakdown(o, envp, devnull.get()));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv, char** envp) {
  try {
    Options options =
        parse_options(std::vector<std::string_view>(argv + 1, argv + argc), std::getenv("PATH"));
    return run_benchmark(options, envp);
  } catch (const HelpRequested&) {
    std::fputs(usage_text, stdout);
    return 0;
  } catch (const UsageError& e) {
    std::fprintf(stderr, "bench_launch: %s\n\n%s", e.what(), usage_text);
    return 64;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "bench_launch: %s\n", e.what());
    return 1;
  }
}
