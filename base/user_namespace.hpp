// Entering a user namespace as an unprivileged process: the two steps every module that builds a
// container (the launcher, the image builder's sandbox, the host check) shares.
#pragma once

#include <string>
#include <sys/types.h>

namespace cexec {

// unshare(2) with CLONE_NEWUSER among `flags`; an unavailable user namespace becomes
// Error(host_unsupported) naming the sysctl an admin must change.
void unshare_user_namespace(int flags);

// The one-line uid and gid maps an unprivileged process may write for itself (setgroups denied).
void write_own_id_maps(uid_t inside_uid, uid_t outside_uid, gid_t inside_gid, gid_t outside_gid);

// One line of /proc/PID/uid_map or gid_map (user_namespaces(7)). Pure.
inline std::string id_map_line(unsigned inside, unsigned outside, unsigned count = 1) {
  return std::to_string(inside) + " " + std::to_string(outside) + " " + std::to_string(count) + "\n";
}

}  // namespace cexec
