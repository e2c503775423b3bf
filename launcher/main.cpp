// cexec's entry point: capture the environment once, parse the command line, run the verb, and
// turn any error into one line on stderr and its exit code (README.md, "Exit codes").
#include "base/error.hpp"
#include "base/exit_codes.hpp"
#include "cli.hpp"
#include "commands/commands.hpp"
#include "host_facts.hpp"

#include <cstdio>
#include <exception>
#include <variant>

namespace cexec {
namespace {

// Help, version or a usage error: the text, then its status.
int print(const CliText& t) {
  std::fputs(t.text.c_str(), t.to_stderr ? stderr : stdout);
  return t.exit_code;
}

// One entry point per verb (launcher/commands/).
struct Dispatch {
  const Environ& env;
  int operator()(const CliText& t) const { return print(t); }
  int operator()(const LaunchOptions& o) const { return run_container(o, env); }
  int operator()(const BuildOptions& o) const { return run_build(o, env); }
  int operator()(const InspectOptions& o) const { return run_inspect(o); }
  int operator()(const CheckOptions& o) const { return run_check(o, env); }
  int operator()(const PlanOptions& o) const { return run_plan(o, env); }
  int operator()(const MpiCheckOptions& o) const { return run_mpi_check(o, env); }
  int operator()(const CacheOptions& o) const { return run_cache(o, env); }
};

int run(int argc, char** argv, char** envp) {
  refuse_privileged_install();
  Environ env = capture_environ(envp);
  return std::visit(Dispatch{env}, parse_command_line(std::vector<std::string>(argv + 1, argv + argc)));
}

}  // namespace
}  // namespace cexec

int main(int argc, char** argv, char** envp) {
  using namespace cexec;
  try {
    return run(argc, argv, envp);
  } catch (const Error& e) {
    std::fprintf(stderr, "cexec: %s\n", e.what());
    return exit_code_for(e.kind());
  } catch (const SysError& e) {
    std::fprintf(stderr, "cexec: %s\n", e.what());
    return exit_code_for(ErrorKind::setup_failed);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cexec: internal error: %s\n", e.what());
    return exit_code_for(ErrorKind::internal);
  }
}
