// `cexec mpi check IMAGE [--json]`: the MPI bridge's preflight, the same discovery and verdicts a
// launch under --mpi=host makes, printed instead of applied.
#pragma once

#include "options.hpp"

namespace cexec {

// Prints the report; returns 0 when compatible, exit_code_for(ErrorKind::mpi_incompatible) otherwise.
int run_mpi_check(const MpiCheckOptions& options, char** environ);

}  // namespace cexec
