// The per-rank fast path of the command line: `cexec IMAGE COMMAND [ARGS...]` with no option at
// all, the form every rank of `mpirun -np N cexec IMAGE ./app` runs. Building the CLI11 app (every
// verb, option, help text and footer) costs more than the rest of argument handling together; this
// form needs none of it. Anything else (a verb, an option, a lone IMAGE, a command that starts with
// `-`) returns nullopt and goes through CLI11 as before, so the two paths cannot disagree on what
// they both accept (tests/unit/test_cli_fast.cpp compares them).
#pragma once

#include "options.hpp"

#include <optional>
#include <string>
#include <vector>

namespace cexec {

std::optional<LaunchOptions> try_plain_exec(const std::vector<std::string>& args);

// The verbs of cli.cpp, the one list: a first word that names one is never an IMAGE.
bool is_verb(const std::string& s);

}  // namespace cexec
