// The `cexec build` entry: reads the facts the build plan needs once (the SPEC's kind, who is
// building, /etc/subuid), plans, prints the plan with -v and runs it.
#pragma once

#include "../options.hpp"

namespace cexec::build {

// Returns cexec's exit status (see builder.hpp).
int run_build_command(const BuildOptions& options, char** environ);

}  // namespace cexec::build
