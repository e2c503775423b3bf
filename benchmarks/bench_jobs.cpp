// bench_jobs: wall time of whole jobs (an mpirun and all its ranks), measured side by side.
//
// Owns the job-level runs of the node-instance benchmarks. `{N}` in a command becomes each rank
// count of --ranks in turn. Rounds go repetition by repetition, rank count by rank count, and
// within one rank count through every command, starting one command further each repetition, so
// that load from other users of the machine falls on all commands alike. A run is fork + execve
// in a process group of its own, stdout and stderr read through pipes, timed from before fork to
// the command's exit; a run that outlives --timeout gets SIGTERM (its process group), then SIGKILL,
// and counts as timed out.
//
// Failures are data here, not fatal: a peer launcher that fails on some ranks is part of the
// result. From each run's output it keeps the lines holding a --fail-pattern (counted), the value
// after each --metric KEY, and cexec's `-v` lines (steps, instances created and joined, time to
// exec). The exit status is 1 when a command not named by --may-fail failed in any run.
//
// Only the standard library and POSIX (plus the pidfd_open system call): it must build wherever
// cexec does.
#include "bench_util.hpp"

#include <cerrno>
#include <charconv>
#include <dirent.h>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <map>
#include <optional>
#include <poll.h>
#include <set>
#include <string>
#include <string_view>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

using namespace bench;

constexpr const char* usage_text =
    "Usage: bench_jobs [OPTIONS] NAME=COMMAND...\n"
    "\n"
    "Runs every COMMAND (split on blanks, no quoting; the program is looked up in PATH once) with\n"
    "`{N}` replaced by each rank count, interleaved, and prints per rank count the median, p10 and\n"
    "p90 wall time, the ratio to the first command (of medians, and the median of per-round\n"
    "ratios), failed runs (non-zero exit, time-out, or a failure line) and failure lines per run;\n"
    "then metrics and cexec -v statistics if any.\n"
    "\n"
    "Options:\n"
    "  --reps N              measured repetitions of every command at every rank count (default 10)\n"
    "  --warmup N            discarded repetitions before measuring (default 1)\n"
    "  --ranks LIST          comma-separated rank counts for {N} (default: none; {N} not allowed)\n"
    "  --timeout S           seconds before a run is terminated and counted as timed out (default 300)\n"
    "  --fail-pattern TEXT   output lines containing TEXT are failure lines (repeatable)\n"
    "  --metric KEY          record the number after `KEY ` in the output (repeatable)\n"
    "  --may-fail NAME       failed runs of command NAME do not make the exit status 1 (repeatable)\n"
    "  -h, --help            this text\n";

struct Command {
  std::string name;
  std::vector<std::string> argv;  // argv[0] is an absolute path once resolved
};

struct Options {
  int reps = 10;
  int warmup = 1;
  std::vector<int> ranks;  // empty: one rank count, no {N}
  double timeout_s = 300;
  std::vector<std::string> fail_patterns;
  std::vector<std::string> metrics;
  std::set<std::string> may_fail;
  std::vector<Command> commands;
};

// What one cexec process logged with -v.
struct CexecLog {
  std::vector<StepTime> steps;
  std::optional<double> exec_after_ms;
  bool created = false;
  bool joined = false;
};

struct RunResult {
  std::string hung_tree;
  double ms = 0;
  double cpu_ms = 0;  // user + system time of the command and the descendants it reaped
  int status = 0;
  bool timed_out = false;
  int fail_lines = 0;
  std::string first_fail_line;
  std::map<std::string, double> metrics;
  std::map<std::string, CexecLog> cexec;  // by the PID in "cexec[PID]:"

  // mpirun with orte_abort_on_non_zero_status=0 exits 0 even when ranks failed: their error lines tell.
  bool failed() const { return timed_out || status != 0 || fail_lines > 0; }
};

std::vector<int> parse_ranks(std::string_view text) {
  std::vector<int> ranks;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string_view item = text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    ranks.push_back(parse_count("--ranks", item, 1));
    if (comma == std::string_view::npos) {
      break;
    }
    start = comma + 1;
  }
  return ranks;
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
    } else if (a == "--reps") {
      o.reps = parse_count(a, value(), 1);
    } else if (a == "--warmup") {
      o.warmup = parse_count(a, value(), 0);
    } else if (a == "--ranks") {
      o.ranks = parse_ranks(value());
    } else if (a == "--timeout") {
      o.timeout_s = parse_count(a, value(), 1);
    } else if (a == "--fail-pattern") {
      o.fail_patterns.emplace_back(value());
    } else if (a == "--metric") {
      o.metrics.emplace_back(value());
    } else if (a == "--may-fail") {
      o.may_fail.emplace(value());
    } else if (a.starts_with("-")) {
      throw UsageError("unknown option `" + std::string(a) + "`");
    } else {
      size_t eq = a.find('=');
      if (eq == std::string_view::npos || eq == 0) {
        throw UsageError("expected NAME=COMMAND, not `" + std::string(a) + "`");
      }
      Command c{std::string(a.substr(0, eq)), split_blanks(a.substr(eq + 1))};
      if (c.argv.empty()) {
        throw UsageError("command `" + c.name + "` is empty");
      }
      c.argv[0] = resolve_program(c.argv[0], path_env);
      o.commands.push_back(std::move(c));
    }
  }
  if (o.commands.empty()) {
    throw UsageError("no commands given");
  }
  std::set<std::string> names;
  for (const auto& c : o.commands) {
    if (!names.insert(c.name).second) {
      throw UsageError("command name `" + c.name + "` given twice");
    }
    if (o.ranks.empty() && has_placeholder(c.argv, "{N}")) {
      throw UsageError("command `" + c.name + "` uses {N} but no --ranks were given");
    }
  }
  for (const auto& name : o.may_fail) {
    if (!names.contains(name)) {
      throw UsageError("--may-fail `" + name + "` names no command");
    }
  }
  return o;
}

// ---- one run ----

Fd open_pidfd(pid_t pid) {
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) {
    throw_errno("pidfd_open");
  }
  return Fd(fd);
}

// Appends what is readable now; false once the pipe reports end of file (or an error).
bool read_available(int fd, std::string& into) {
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      into.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
}

struct Captured {
  double ms = 0;
  double cpu_ms = 0;
  std::string hung_tree;  // the process tree when the time-out struck
  int status = 0;
  bool timed_out = false;
  std::string out;
  std::string err;
};

struct ProcEntry {
  pid_t pid = 0;
  pid_t ppid = 0;
  char state = '?';
  std::string comm;
};

// pid, state, comm and ppid from /proc/PID/stat ("PID (COMM) STATE PPID ...", COMM may hold blanks).
std::optional<ProcEntry> try_read_stat(pid_t pid) {
  std::FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
  if (!f) {
    return std::nullopt;
  }
  char buf[512];
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  std::string_view text(buf, n);
  size_t open = text.find('(');
  size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close + 4 >= text.size()) {
    return std::nullopt;
  }
  ProcEntry e;
  e.pid = pid;
  e.comm = std::string(text.substr(open + 1, close - open - 1));
  e.state = text[close + 2];
  std::string_view rest = text.substr(close + 4);
  std::from_chars(rest.data(), rest.data() + rest.size(), e.ppid);
  return e;
}

std::string read_small_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (!f) {
    return "?";
  }
  char buf[128];
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  std::string s(buf, n);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\0')) {
    s.pop_back();
  }
  return s.empty() ? "-" : s;
}

// The process `root` and its descendants with state and kernel wait channel, one per line: what a
// hung run was doing when its time ran out.
std::string describe_tree(pid_t root) {
  std::vector<ProcEntry> all;
  if (auto* dir = ::opendir("/proc")) {
    while (auto* d = ::readdir(dir)) {
      pid_t pid = 0;
      std::string_view name(d->d_name);
      auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
      if (ec == std::errc() && end == name.data() + name.size()) {
        if (auto e = try_read_stat(pid)) {
          all.push_back(*e);
        }
      }
    }
    ::closedir(dir);
  }
  std::string out;
  std::vector<std::pair<pid_t, int>> stack{{root, 0}};
  while (!stack.empty()) {
    pid_t pid = stack.back().first;  // no structured binding: Clang 14 cannot capture one
    int depth = stack.back().second;
    stack.pop_back();
    auto it = std::find_if(all.begin(), all.end(), [&](const ProcEntry& e) { return e.pid == pid; });
    if (it == all.end()) {
      continue;
    }
    out += std::string(static_cast<size_t>(2 * depth), ' ') + std::to_string(pid) + " " + it->comm + " " +
           it->state + " wchan " + read_small_file("/proc/" + std::to_string(pid) + "/wchan") + "\n";
    for (const auto& e : all) {
      if (e.ppid == pid) {
        stack.emplace_back(e.pid, depth + 1);
      }
    }
  }
  return out;
}

// Runs argv in a process group of its own with stdin on /dev/null and stdout and stderr on pipes.
// The clock stops when the command itself exits: a daemon it left behind holding the pipes (a
// lingering cexec keeper) does not extend the run.
Captured run_captured(const CStrings& args, char** envp, int devnull, double timeout_s) {
  int out_ends[2];
  int err_ends[2];
  if (::pipe2(out_ends, O_CLOEXEC) != 0 || ::pipe2(err_ends, O_CLOEXEC) != 0) {
    throw_errno("pipe2");
  }
  Fd out_read(out_ends[0]), out_write(out_ends[1]), err_read(err_ends[0]), err_write(err_ends[1]);
  Clock::time_point t0 = Clock::now();
  pid_t pid = ::fork();
  if (pid < 0) {
    throw_errno("fork");
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    if (::dup2(devnull, 0) < 0 || ::dup2(out_write.get(), 1) < 0 || ::dup2(err_write.get(), 2) < 0) {
      ::_exit(126);
    }
    ::execve(args.first(), args.get(), envp);
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here, so that a timeout's kill(-pid) cannot miss (it fails harmlessly after exec)
  out_write.reset();
  err_write.reset();
  ::fcntl(out_read.get(), F_SETFL, O_NONBLOCK);
  ::fcntl(err_read.get(), F_SETFL, O_NONBLOCK);
  Fd pidfd = open_pidfd(pid);

  Captured c;
  auto deadline = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
  int signals_sent = 0;
  for (bool exited = false; !exited;) {
    struct pollfd fds[3] = {{pidfd.get(), POLLIN, 0}, {out_read.get(), POLLIN, 0}, {err_read.get(), POLLIN, 0}};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    int n = ::poll(fds, 3, static_cast<int>(std::max<long long>(left, 0)));
    if (n < 0 && errno != EINTR) {
      throw_errno("poll");
    }
    if (n == 0) {
      // Out of time: SIGTERM lets mpirun take its ranks down; SIGKILL five seconds later if not.
      if (!c.timed_out) {
        c.hung_tree = describe_tree(pid);
      }
      c.timed_out = true;
      ::kill(-pid, signals_sent == 0 ? SIGTERM : SIGKILL);
      ++signals_sent;
      deadline = Clock::now() + std::chrono::seconds(5);
      continue;
    }
    if (fds[0].revents & POLLIN) {
      c.ms = ms_between(t0, Clock::now());
      exited = true;
    }
    if (out_read.is_open() && fds[1].revents && !read_available(out_read.get(), c.out)) {
      out_read.reset();
    }
    if (err_read.is_open() && fds[2].revents && !read_available(err_read.get(), c.err)) {
      err_read.reset();
    }
  }
  if (out_read.is_open()) {
    read_available(out_read.get(), c.out);
  }
  if (err_read.is_open()) {
    read_available(err_read.get(), c.err);
  }
  struct rusage usage {};
  while (::wait4(pid, &c.status, 0, &usage) < 0) {
    if (errno != EINTR) {
      throw_errno("wait4");
    }
  }
  auto ms_of = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) * 1e3 + static_cast<double>(tv.tv_usec) / 1e3; };
  c.cpu_ms = ms_of(usage.ru_utime) + ms_of(usage.ru_stime);
  return c;
}

std::optional<double> try_parse_metric(std::string_view line, const std::string& key) {
  size_t at = line.find(key + " ");
  if (at == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view rest = line.substr(at + key.size() + 1);
  double v = 0;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), v);
  if (ec != std::errc()) {
    return std::nullopt;
  }
  return v;
}

// "cexec[PID]: ..." -> PID as text.
std::optional<std::string> try_cexec_pid(std::string_view line) {
  if (!line.starts_with("cexec[")) {
    return std::nullopt;
  }
  size_t close = line.find("]: ");
  if (close == std::string_view::npos) {
    return std::nullopt;
  }
  return std::string(line.substr(6, close - 6));
}

void parse_output(const Options& o, std::string_view text, RunResult& r) {
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line = text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    start = nl == std::string_view::npos ? text.size() : nl + 1;
    for (const auto& pattern : o.fail_patterns) {
      if (line.find(pattern) != std::string_view::npos) {
        if (r.fail_lines++ == 0) {
          r.first_fail_line = line;
        }
        break;
      }
    }
    for (const auto& key : o.metrics) {
      if (auto v = try_parse_metric(line, key)) {
        r.metrics[key] = *v;
      }
    }
    if (auto pid = try_cexec_pid(line)) {
      CexecLog& log = r.cexec[*pid];
      if (auto step = try_parse_step(line)) {
        log.steps.push_back(*step);
      } else if (auto after = try_parse_exec(line)) {
        log.exec_after_ms = after;
      } else if (line.find("]: created node instance") != std::string_view::npos) {
        log.created = true;
      } else if (line.find("]: joined node instance") != std::string_view::npos) {
        log.joined = true;
      }
    }
  }
}

RunResult run_once(const Options& o, const Command& c, int ranks, char** envp, int devnull) {
  CStrings args(expand(c.argv, "{N}", std::to_string(ranks)));
  Captured captured = run_captured(args, envp, devnull, o.timeout_s);
  RunResult r;
  r.ms = captured.ms;
  r.cpu_ms = captured.cpu_ms;
  r.hung_tree = captured.hung_tree;
  r.status = captured.status;
  r.timed_out = captured.timed_out;
  parse_output(o, captured.out, r);
  parse_output(o, captured.err, r);
  return r;
}

// ---- report ----

using Results = std::vector<std::vector<std::vector<RunResult>>>;  // [rank count][command][rep]

std::string ranks_label(const Options& o, size_t k) {
  return o.ranks.empty() ? std::string() : "N = " + std::to_string(o.ranks[k]);
}

void print_times(const Options& o, const std::vector<std::vector<RunResult>>& runs) {
  int w = 8;
  for (const auto& c : o.commands) {
    w = std::max(w, static_cast<int>(c.name.size()));
  }
  std::printf("%-*s  %10s  %10s  %10s  %7s  %7s  %10s  %7s  %8s  %11s\n", w, "command", "median ms", "p10 ms",
              "p90 ms", "ratio", "paired", "cpu ms", "ratio", "failed", "fail lines");
  std::vector<double> base, base_cpu;
  for (const auto& r : runs[0]) {
    base.push_back(r.ms);
    base_cpu.push_back(r.cpu_ms);
  }
  double base_median = median(base);
  double base_cpu_median = median(base_cpu);
  for (size_t i = 0; i < o.commands.size(); ++i) {
    std::vector<double> ms, paired, lines, cpu;
    int failed = 0;
    for (size_t rep = 0; rep < runs[i].size(); ++rep) {
      const RunResult& r = runs[i][rep];
      ms.push_back(r.ms);
      cpu.push_back(r.cpu_ms);
      paired.push_back(r.ms / runs[0][rep].ms);
      lines.push_back(r.fail_lines);
      failed += r.failed() ? 1 : 0;
    }
    Summary s = summarize(ms);
    Summary l = summarize(lines);
    std::string failed_text = std::to_string(failed) + "/" + std::to_string(runs[i].size());
    char lines_text[32];
    std::snprintf(lines_text, sizeof lines_text, "%g (max %g)", l.median, l.max);
    double cpu_median = median(cpu);
    std::printf("%-*s  %10.1f  %10.1f  %10.1f  %6.2fx  %6.2fx  %10.1f  %6.2fx  %8s  %11s\n", w,
                o.commands[i].name.c_str(), s.median, s.p10, s.p90, s.median / base_median, median(paired), cpu_median,
                cpu_median / base_cpu_median, failed_text.c_str(), lines_text);
  }
}

// The first failure of each command, so that a number never hides why runs failed.
void print_failures(const Options& o, const std::vector<std::vector<RunResult>>& runs) {
  for (size_t i = 0; i < o.commands.size(); ++i) {
    int timed_out = 0, nonzero = 0, with_lines = 0;
    std::string example_status, example_line, example_tree;
    for (const auto& r : runs[i]) {
      timed_out += r.timed_out ? 1 : 0;
      nonzero += !r.timed_out && r.status != 0 ? 1 : 0;
      with_lines += r.fail_lines > 0 ? 1 : 0;
      if ((r.timed_out || r.status != 0) && example_status.empty()) {
        example_status = r.timed_out ? "timed out" : describe_status(r.status);
      }
      if (r.timed_out && example_tree.empty()) {
        example_tree = r.hung_tree;
      }
      if (r.fail_lines > 0 && example_line.empty()) {
        example_line = r.first_fail_line;
      }
    }
    if (timed_out || nonzero || with_lines) {
      std::printf("  %s: %d timed out, %d non-zero exit, %d with failure lines%s%s%s%s\n", o.commands[i].name.c_str(),
                  timed_out, nonzero, with_lines,
                  example_status.empty() ? "" : " (first: ", example_status.c_str(), example_status.empty() ? "" : ")",
                  example_line.empty() ? "" : ("; a failure line: " + example_line).c_str());
      if (!example_tree.empty()) {
        std::printf("    processes when its first time-out struck (pid, name, state, kernel wait channel):\n");
        size_t start = 0;
        while (start < example_tree.size()) {
          size_t nl = example_tree.find('\n', start);
          std::printf("      %s\n", example_tree.substr(start, nl - start).c_str());
          start = nl + 1;
        }
      }
    }
  }
}

std::optional<double> try_metric(const RunResult& r, const std::string& key) {
  auto it = r.metrics.find(key);
  return it == r.metrics.end() ? std::nullopt : std::optional<double>(it->second);
}

// Per metric: median, min and max over the runs that printed it; ratio and difference of medians
// to the first command; and the paired ratio, the median over repetitions of value / first
// command's value in the same repetition (robust against slow moments of a shared machine).
void print_metrics(const Options& o, const std::vector<std::vector<RunResult>>& runs) {
  for (const auto& key : o.metrics) {
    std::printf("%-20s  %-20s  %10s  %10s  %10s  %5s  %7s  %10s  %7s\n", "command", key.c_str(), "median", "min", "max",
                "runs", "ratio", "difference", "paired");
    std::optional<double> base;
    for (size_t i = 0; i < o.commands.size(); ++i) {
      std::vector<double> values, paired;
      for (size_t rep = 0; rep < runs[i].size(); ++rep) {
        auto value = try_metric(runs[i][rep], key);
        if (!value) {
          continue;
        }
        values.push_back(*value);
        if (auto base_value = try_metric(runs[0][rep], key); base_value && *base_value != 0) {
          paired.push_back(*value / *base_value);
        }
      }
      if (values.empty()) {
        std::printf("%-20s  %-20s  %10s  %10s  %10s  %2d/%-2zu\n", o.commands[i].name.c_str(), "", "-", "-", "-", 0,
                    runs[i].size());
        continue;
      }
      Summary s = summarize(values);
      double min = *std::min_element(values.begin(), values.end());
      if (i == 0) {
        base = s.median;
      }
      std::printf("%-20s  %-20s  %10.3f  %10.3f  %10.3f  %2zu/%-2zu  %6.3fx  %+10.3f  %6.3fx\n",
                  o.commands[i].name.c_str(), "", s.median, min, s.max, values.size(), runs[i].size(),
                  base ? s.median / *base : 0.0, base ? s.median - *base : 0.0, paired.empty() ? 0.0 : median(paired));
    }
  }
}

// Per command that logged with -v: every step over all ranks of all runs, how many instances each
// run created, and each rank's time from its first step to exec.
void print_cexec_logs(const Options& o, const std::vector<std::vector<RunResult>>& runs) {
  for (size_t i = 0; i < o.commands.size(); ++i) {
    std::vector<std::string> order;
    std::map<std::string, std::vector<double>> per_step;
    std::vector<double> created_per_run, exec_after;
    size_t processes = 0, joined = 0;
    for (const auto& r : runs[i]) {
      int created = 0;
      for (const auto& [pid, log] : r.cexec) {
        merge_step_order(order, log.steps);
        for (const auto& step : log.steps) {
          per_step[step.name].push_back(step.ms);
        }
        if (log.exec_after_ms) {
          exec_after.push_back(*log.exec_after_ms);
        }
        created += log.created ? 1 : 0;
        joined += log.joined ? 1 : 0;
        ++processes;
      }
      created_per_run.push_back(created);
    }
    if (order.empty()) {
      continue;
    }
    Summary created = summarize(created_per_run);
    std::printf("%s: %zu cexec processes in %zu runs; node instances created per run: median %g, max %g; "
                "%zu processes joined one they did not create\n",
                o.commands[i].name.c_str(), processes, runs[i].size(), created.median, created.max, joined);
    std::printf("  %-28s  %7s  %10s  %10s  %10s\n", "ms per process", "count", "median", "p90", "max");
    for (const auto& name : order) {
      Summary s = summarize(per_step[name]);
      std::printf("  %-28s  %7zu  %10.3f  %10.3f  %10.3f\n", ("step " + name).c_str(), per_step[name].size(), s.median,
                  s.p90, s.max);
    }
    Summary e = summarize(exec_after);
    std::printf("  %-28s  %7zu  %10.3f  %10.3f  %10.3f\n", "= first step to exec", exec_after.size(), e.median, e.p90,
                e.max);
  }
}

// One matrix, rank counts down and commands across; `cell` gives a value and a ratio to the first
// command from the runs of one cell and the first command's runs at the same rank count.
template <typename Cell>
void print_summary(const Options& o, const Results& results, const char* title, Cell&& cell) {
  std::printf("\nsummary: %s against `%s`\n%-6s", title, o.commands[0].name.c_str(), "ranks");
  for (const auto& c : o.commands) {
    std::printf("  %20s", c.name.c_str());
  }
  std::printf("\n");
  for (size_t k = 0; k < results.size(); ++k) {
    std::printf("%-6d", o.ranks[k]);
    for (size_t i = 0; i < o.commands.size(); ++i) {
      auto [value, ratio] = cell(results[k][i], results[k][0]);
      bool failed = std::any_of(results[k][i].begin(), results[k][i].end(), [](const RunResult& r) { return r.failed(); });
      char text[64];
      std::snprintf(text, sizeof text, "%.1f (%.2fx)%s", value, ratio, failed ? "!" : "");
      std::printf("  %20s", text);
    }
    std::printf("\n");
  }
}

void print_report(const Options& o, const Results& results) {
  for (size_t k = 0; k < results.size(); ++k) {
    if (!o.ranks.empty()) {
      std::printf("\n-- %s\n", ranks_label(o, k).c_str());
    }
    print_times(o, results[k]);
    print_failures(o, results[k]);
    if (!o.metrics.empty()) {
      print_metrics(o, results[k]);
    }
    print_cexec_logs(o, results[k]);
  }
  std::printf("(%d repetitions each after %d warm-up, interleaved; ratio (and metric difference): of medians to `%s`;\n"
              " paired: median of per-round ratios; cpu ms: median user+system time of the command and the\n"
              " processes it reaped (mpirun and its ranks, not cexec's detached keeper and FUSE server);\n"
              " failed: runs that exited non-zero, timed out or printed a failure line;\n"
              " fail lines: output lines per run matching a failure pattern)\n",
              o.reps, o.warmup, o.commands[0].name.c_str());
  if (o.ranks.size() > 1) {
    print_summary(o, results, "median ms (paired ratio)", [](const std::vector<RunResult>& runs,
                                                            const std::vector<RunResult>& base) {
      std::vector<double> ms, paired;
      for (size_t rep = 0; rep < runs.size(); ++rep) {
        ms.push_back(runs[rep].ms);
        paired.push_back(runs[rep].ms / base[rep].ms);
      }
      return std::make_pair(median(ms), median(paired));
    });
    print_summary(o, results, "median cpu ms (ratio of medians)", [](const std::vector<RunResult>& runs,
                                                                    const std::vector<RunResult>& base) {
      std::vector<double> cpu, base_cpu;
      for (size_t rep = 0; rep < runs.size(); ++rep) {
        cpu.push_back(runs[rep].cpu_ms);
        base_cpu.push_back(base[rep].cpu_ms);
      }
      return std::make_pair(median(cpu), median(cpu) / median(base_cpu));
    });
    std::printf("(! marks a cell with failed runs)\n");
  }
}

void print_commands(const Options& o) {
  for (const auto& c : o.commands) {
    std::printf("  %s = %s\n", c.name.c_str(), join(c.argv).c_str());
  }
}

int run_benchmark(const Options& o, char** envp) {
  Fd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (devnull.get() < 0) {
    throw_errno("open /dev/null");
  }
  print_commands(o);
  std::fflush(stdout);
  std::vector<int> ranks = o.ranks.empty() ? std::vector<int>{1} : o.ranks;
  size_t n = o.commands.size();
  Results results(ranks.size(), std::vector<std::vector<RunResult>>(n));
  for (int rep = 0; rep < o.warmup + o.reps; ++rep) {
    for (size_t k = 0; k < ranks.size(); ++k) {
      for (size_t j = 0; j < n; ++j) {
        size_t i = (j + static_cast<size_t>(rep)) % n;
        RunResult r = run_once(o, o.commands[i], ranks[k], envp, devnull.get());
        if (rep >= o.warmup) {
          results[k][i].push_back(std::move(r));
        }
      }
    }
    std::fprintf(stderr, "bench_jobs: repetition %d of %d done%s\n", rep + 1, o.warmup + o.reps,
                 rep < o.warmup ? " (warm-up)" : "");
  }
  print_report(o, results);
  for (size_t k = 0; k < ranks.size(); ++k) {
    for (size_t i = 0; i < n; ++i) {
      for (const auto& r : results[k][i]) {
        if (r.failed() && !o.may_fail.contains(o.commands[i].name)) {
          return 1;
        }
      }
    }
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
    std::fprintf(stderr, "bench_jobs: %s\n\n%s", e.what(), usage_text);
    return 64;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "bench_jobs: %s\n", e.what());
    return 1;
  }
}
