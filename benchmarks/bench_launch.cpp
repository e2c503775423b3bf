// bench_launch: per-launch wall time of a few commands, measured side by side.
//
// Owns the launch benchmark: it runs the given commands interleaved (round-robin, so drift on a
// shared machine hits every command alike), each with fork + execve + waitpid and its stdio on
// /dev/null, times them with steady_clock, and prints median, p10 and p90 with the ratio and the
// overhead against the first (baseline) command. With --breakdown it reruns cexec commands with
// `-v` and prints the median of every setup step cexec logs, plus the time spent outside them.
// Exits non-zero as soon as any command fails, so a broken launcher never yields a number.
// `{run}` in a command becomes a number unique to each run, so that every run of it can name a
// fresh cexec node instance (`--instance x-{run}`); --env gives one command its own variables.
//
// Only the standard library and POSIX: this program must build wherever cexec does.
#include "bench_util.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/wait.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace {

using namespace bench;

constexpr const char* usage_text =
    "Usage: bench_launch [OPTIONS] NAME=COMMAND...\n"
    "\n"
    "Runs every COMMAND (split on blanks, no quoting; the program is looked up in PATH once)\n"
    "round-robin, RUNS times each after WARMUP rounds, and prints median, p10, p90, ratio and\n"
    "overhead against the first command. `{run}` in a command's arguments is replaced by a number\n"
    "unique to each run of this process (warm-up and breakdown runs included).\n"
    "\n"
    "Options:\n"
    "  --runs N              measured runs of each command (default 200)\n"
    "  --warmup N            discarded rounds before measuring (default 5)\n"
    "  --versus A,B          also print A against B, from per-round paired differences (repeatable)\n"
    "  --breakdown NAME      rerun command NAME with -v after its program name and print the\n"
    "                        median of each `step` cexec logs (repeatable; columns side by side)\n"
    "  --breakdown-runs N    runs of each --breakdown command (default 100)\n"
    "  --env NAME:VAR=VALUE  set VAR for command NAME only (repeatable)\n"
    "  -h, --help            this text\n";

struct Command {
  std::string name;
  std::vector<std::string> argv;  // argv[0] is an absolute path once resolved
  std::vector<std::string> env;   // VAR=VALUE set for this command only
};

struct Options {
  int runs = 200;
  int warmup = 5;
  int breakdown_runs = 100;
  std::vector<Command> commands;
  std::vector<std::string> breakdown;
  std::vector<std::pair<std::string, std::string>> versus;
};

Command parse_command(std::string_view spec, const char* path_env) {
  size_t eq = spec.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    throw UsageError("expected NAME=COMMAND, not `" + std::string(spec) + "`");
  }
  Command c{std::string(spec.substr(0, eq)), split_blanks(spec.substr(eq + 1)), {}};
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
  std::vector<std::pair<std::string, std::string>> env;  // command name, VAR=VALUE
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
    } else if (a == "--env") {
      std::string_view v = value();
      size_t colon = v.find(':');
      if (colon == std::string_view::npos || v.find('=', colon) == std::string_view::npos) {
        throw UsageError("--env wants NAME:VAR=VALUE, not `" + std::string(v) + "`");
      }
      env.emplace_back(std::string(v.substr(0, colon)), std::string(v.substr(colon + 1)));
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
  for (const auto& entry : env) {  // no structured binding: Clang 14 cannot capture one
    const std::string& name = entry.first;
    const std::string& setting = entry.second;
    auto it = std::find_if(o.commands.begin(), o.commands.end(), [&](const Command& c) { return c.name == name; });
    if (it == o.commands.end()) {
      throw UsageError("--env `" + name + ":" + setting + "` names no command");
    }
    it->env.push_back(setting);
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

// Numbers runs across the whole process, so `{run}` never repeats between phases.
int next_run_number() {
  static int counter = 0;
  return counter++;
}

// What one run execs: the argument vector with `{run}` filled in, and the command's environment.
CStrings run_argv(const std::vector<std::string>& argv) {
  if (!has_placeholder(argv, "{run}")) {
    return CStrings(argv);
  }
  return CStrings(expand(argv, "{run}", std::to_string(next_run_number())));
}

// Starts the command with stdin and stdout on /dev/null and stderr on `stderr_fd`.
pid_t spawn(const CStrings& args, const CStrings& envp, int devnull, int stderr_fd) {
  pid_t pid = ::fork();
  if (pid < 0) {
    throw_errno("fork");
  }
  if (pid == 0) {
    if (::dup2(devnull, 0) < 0 || ::dup2(devnull, 1) < 0 || ::dup2(stderr_fd, 2) < 0) {
      ::_exit(126);
    }
    ::execve(args.first(), args.get(), envp.get());
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

// One launch with all output discarded: wall time from before fork to after waitpid.
double time_one_run(const Command& c, const CStrings& envp, int devnull) {
  CStrings args = run_argv(c.argv);
  Clock::time_point t0 = Clock::now();
  pid_t pid = spawn(args, envp, devnull, devnull);
  int status = wait_for(pid);
  Clock::time_point t1 = Clock::now();
  check_success(c, c.argv, status);
  return ms_between(t0, t1);
}

// samples[command][run], measured round-robin after `warmup` discarded rounds.
// One environment per command: the benchmark's own plus the command's --env settings.
std::vector<CStrings> command_environments(const std::vector<const Command*>& commands, char** envp) {
  std::vector<CStrings> envs;
  for (const Command* c : commands) {
    envs.emplace_back(environment_with(envp, c->env));
  }
  return envs;
}

std::vector<std::vector<double>> measure_interleaved(const Options& o, char** envp, int devnull) {
  std::vector<const Command*> commands;
  for (const auto& c : o.commands) {
    commands.push_back(&c);
  }
  std::vector<CStrings> envs = command_environments(commands, envp);
  std::vector<std::vector<double>> samples(o.commands.size());
  for (int round = 0; round < o.warmup + o.runs; ++round) {
    for (size_t i = 0; i < o.commands.size(); ++i) {
      double ms = time_one_run(o.commands[i], envs[i], devnull);
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

// What one verbose run logged, and when its `exec` line reached us.
struct VerboseRun {
  std::vector<StepTime> steps;
  double exec_after_ms = 0;  // cexec's own clock: first step start to just before execve
  double exec_line_ms = 0;   // our clock: fork to the arrival of the `exec` line
  double wall_ms = 0;        // our clock: fork to waitpid
};

std::vector<std::string> verbose_argv(const Command& c) {
  std::vector<std::string> argv = c.argv;
  argv.insert(argv.begin() + 1, "-v");
  return argv;
}

// Runs the verbose command with stderr on a pipe, reading lines as they come so the `exec` line
// is stamped on arrival: cexec writes stderr unbuffered and flushes right before execve.
VerboseRun run_verbose(const Command& c, const std::vector<std::string>& argv, const CStrings& envp, int devnull) {
  CStrings args = run_argv(argv);
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
    throw std::runtime_error("command `" + c.name + "` failed (" + describe_status(status) + "): " +
                             join(expand(argv, "{run}", "N")) + "\n" + all);
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
      merge_step_order(order, run.steps);
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
  // A step some runs skip (instance-create, once a node instance exists) has its median over the
  // runs that logged it; say how many.
  for (size_t i = 0; i < runs.size(); ++i) {
    for (const auto& name : order) {
      size_t with = static_cast<size_t>(std::count_if(runs[i].begin(), runs[i].end(), [&](const VerboseRun& r) {
        return std::any_of(r.steps.begin(), r.steps.end(), [&](const StepTime& s) { return s.name == name; });
      }));
      if (with > 0 && with < runs[i].size()) {
        std::printf("(%s: step %s logged in %zu of %zu runs; its median is over those)\n", o.breakdown[i].c_str(),
                    name.c_str(), with, runs[i].size());
      }
    }
  }
  std::printf("(%d runs each with -v, round-robin after %d warm-up rounds, stderr read through a pipe;\n"
              " \"before first step\" and \"after exec\" are timed by bench_launch from fork and to waitpid)\n",
              o.breakdown_runs, o.warmup);
}

std::vector<std::vector<VerboseRun>> measure_breakdown(const Options& o, char** envp, int devnull) {
  std::vector<const Command*> commands;
  std::vector<std::vector<std::string>> argvs;
  for (const auto& name : o.breakdown) {
    commands.push_back(find_command(o.commands, name));
    argvs.push_back(verbose_argv(*commands.back()));
  }
  std::vector<CStrings> envs = command_environments(commands, envp);
  std::vector<std::vector<VerboseRun>> runs(commands.size());
  for (int round = 0; round < o.warmup + o.breakdown_runs; ++round) {
    for (size_t i = 0; i < commands.size(); ++i) {
      VerboseRun run = run_verbose(*commands[i], argvs[i], envs[i], devnull);
      if (round >= o.warmup) {
        runs[i].push_back(std::move(run));
      }
    }
  }
  return runs;
}

void print_commands(const Options& o) {
  for (const auto& c : o.commands) {
    std::string env;
    for (const auto& setting : c.env) {
      env += setting + " ";
    }
    std::printf("  %s = %s%s\n", c.name.c_str(), env.c_str(), join(c.argv).c_str());
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
