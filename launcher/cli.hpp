// Command line → LaunchOptions (CLI11 lives only here).
#pragma once

#include "options.hpp"

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace cexec {

// What the command line asks for: text to print and an exit status (help, version, a usage
// error), a launch (exec, run, shell), or one of the other verbs' options.
struct CliText {
  int exit_code = 0;
  std::string text;
  bool to_stderr = false;
};
using CliOutcome = std::variant<CliText, LaunchOptions, BuildOptions, InspectOptions, CheckOptions, PlanOptions, MpiCheckOptions,
                                CacheOptions>;

// `cexec IMAGE COMMAND...` (no verb) is the same as `cexec exec IMAGE COMMAND...`.
CliOutcome parse_command_line(const std::vector<std::string>& args);

// The same without the fast path of cli_fast.hpp: every form through CLI11 (the tests compare).
CliOutcome parse_with_cli11(const std::vector<std::string>& args);

}  // namespace cexec
