// Command line → LaunchOptions (CLI11 lives only here).
#pragma once

#include "options.hpp"

#include <optional>
#include <string>
#include <vector>

namespace cexec {

struct CliOutcome {
  std::optional<LaunchOptions> options;  // set when a launch was asked for
  std::optional<BuildOptions> build;     // `cexec build`
  std::optional<InspectOptions> inspect; // `cexec inspect`, `cexec run-help`
  std::optional<CheckOptions> check;     // `cexec check`
  std::optional<PlanOptions> plan;       // `cexec plan`
  std::optional<MpiCheckOptions> mpi_check;  // `cexec mpi check`
  std::optional<CacheOptions> cache;     // `cexec cache list|clean`
  int exit_code = 0;                     // otherwise: exit with this after printing `text`
  std::string text;
  bool to_stderr = false;
};

// `cexec IMAGE COMMAND...` (no verb) is the same as `cexec exec IMAGE COMMAND...`.
CliOutcome parse_command_line(const std::vector<std::string>& args);

}  // namespace cexec
