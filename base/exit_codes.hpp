// cexec's own exit statuses: one per ErrorKind, kept apart from the statuses commands usually use
// (0-2, 126, 127, 128+N), so a job script can tell "cexec could not start" from "the program failed".
#pragma once

#include "base/error.hpp"

#include <span>

namespace cexec {

struct ExitCodeEntry {
  ErrorKind kind;
  int code;
  const char* meaning;
};

int exit_code_for(ErrorKind kind);
std::span<const ExitCodeEntry> exit_code_table();

// The status a shell reports for a wait(2) status: the exit code, or 128+N for death by signal N.
int shell_status_from_wait(int wait_status);

}  // namespace cexec
