// `cexec check` (no image): is this host ready for cexec? One line per item, each with what an
// admin must change. The facts are read and probed once (host_check.cpp: a child process tries
// the kernel features for real); judging them is pure (host_check_pure.cpp), so every verdict and
// its advice is unit-tested with made-up facts.
#pragma once

#include "base/environment.hpp"
#include "options.hpp"

#include <optional>
#include <string>
#include <vector>

namespace cexec {

// What `cexec check` found; probes hold "" when the feature worked, else the error.
struct HostCheckFacts {
  std::string kernel;                               // uname -r
  unsigned uid = 0;
  std::optional<long> max_user_namespaces;          // /proc/sys/user/max_user_namespaces
  std::optional<long> unprivileged_userns_clone;    // Debian's kernel.unprivileged_userns_clone, when present
  std::optional<long> apparmor_restrict_userns;     // Ubuntu's kernel.apparmor_restrict_unprivileged_userns
  std::optional<std::string> userns_probe;          // unshare(CLONE_NEWUSER|CLONE_NEWNS) and the id maps
  std::optional<std::string> overlay_probe;         // overlayfs mounted inside that user namespace
  std::optional<std::string> fuse_probe;            // a FUSE file system mounted inside it
  bool dev_fuse_exists = false;
  bool dev_fuse_is_fuse = false;                    // a character device 10:229
  unsigned dev_fuse_mode = 0;                       // permission bits
  bool dev_fuse_accessible = false;                 // read+write for this user
  std::string fusermount;                           // fusermount3 on PATH, or ""
  std::string config_origin;                        // the admin config read, or "" when it failed
  std::string config_error;
  std::string mpi;                                  // "Open MPI v4.1.4 (discovered from /usr/bin/ompi_info), 43 libraries" or ""
  std::string mpi_problem;                          // why discovery failed, or closure problems
  std::string slurm;                                // "slurm 22.05.8 (/usr/bin/srun)" or ""
  std::string slurm_problem;                        // srun found but not working
  std::string spank;                                // the plugstack file naming cexec_spank.so, or ""
  std::string topology;                             // the topology summary, or ""
  std::string topology_problem;
};

enum class CheckLevel { ok, info, warn, fail };

struct CheckLine {
  CheckLevel level = CheckLevel::ok;
  std::string item;     // "user namespaces"
  std::string finding;  // what was found
  std::string advice;   // what an admin must change ("" when nothing)
};

// Pure: the verdict for every item, in a fixed order.
std::vector<CheckLine> judge_host(const HostCheckFacts& facts);
// "ok    user namespaces: ...", advice on the same line after " -> "; JSON with --json. Pure.
std::string render_check_text(const std::vector<CheckLine>& lines);
std::string render_check_json(const std::vector<CheckLine>& lines);
// Exit status: 0 when nothing failed, else host_unsupported (69).
int check_exit_code(const std::vector<CheckLine>& lines);

// Reads and probes the host (impure).
HostCheckFacts gather_host_check_facts(const Environ& environ);


}  // namespace cexec
