#include "base/exit_codes.hpp"

#include <array>
#include <sys/wait.h>

namespace cexec {
namespace {

// Codes follow sysexits(3) where a meaning matches and stay below 126 so they never look like
// "command not executable" (126), "not found" (127) or a signal death (128+N).
constexpr std::array<ExitCodeEntry, 13> table{{
    {ErrorKind::usage, 64, "bad command line (unknown option, missing image, malformed bind or env), definition file syntax"},
    {ErrorKind::image_invalid, 65, "image is not an image, a truncated or corrupt SquashFS, or an archive member was refused"},
    {ErrorKind::input_missing, 66, "image, bind source or env file missing or unreadable"},
    {ErrorKind::command_not_found, 67, "command not found or not executable in the image"},
    {ErrorKind::bind_destination, 68, "bind destination relative, escaping the image, or not creatable"},
    {ErrorKind::host_unsupported, 69, "host lacks a kernel feature (user namespaces, /dev/fuse) or a build tool"},
    {ErrorKind::internal, 70, "internal error in cexec"},
    {ErrorKind::setup_failed, 71, "a system call failed while setting up the container, or the bootstrap failed"},
    {ErrorKind::cannot_create, 73, "build output exists (no --force) or cannot be written (disk full)"},
    {ErrorKind::registry, 76, "registry pull: network down, registry unreachable or failing, or unauthorized (credentials missing or refused)"},
    {ErrorKind::policy, 77, "refused by the admin configuration or because cexec is setuid/setgid"},
    {ErrorKind::config, 78, "admin configuration malformed or not safely owned"},
    {ErrorKind::mpi_incompatible, 79, "--mpi=host: the host's MPI cannot be injected into the image; `cexec mpi check`: incompatible"},
}};

}  // namespace

int exit_code_for(ErrorKind kind) {
  for (const auto& e : table) {
    if (e.kind == kind) {
      return e.code;
    }
  }
  return 70;
}

std::span<const ExitCodeEntry> exit_code_table() {
  return table;
}

int shell_status_from_wait(int wait_status) {
  if (WIFSIGNALED(wait_status)) {
    return 128 + WTERMSIG(wait_status);
  }
  return WEXITSTATUS(wait_status);
}

}  // namespace cexec
