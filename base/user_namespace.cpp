#include "base/user_namespace.hpp"

#include "base/error.hpp"
#include "base/sys/syscalls.hpp"

#include <string>

#include <cerrno>

namespace cexec {

void unshare_user_namespace(int flags) {
  try {
    sys::unshare(flags);
  } catch (const SysError& e) {
    if (e.err() == EPERM || e.err() == ENOSPC || e.err() == EINVAL || e.err() == EUSERS) {
      throw Error(ErrorKind::host_unsupported,
                  std::string("user namespaces are unavailable (") + e.code().message() +
                      "): an admin must set the sysctl user.max_user_namespaces above 0 (and "
                      "kernel.unprivileged_userns_clone=1 on Debian kernels, "
                      "kernel.apparmor_restrict_unprivileged_userns=0 on Ubuntu)");
    }
    throw Error(ErrorKind::setup_failed, std::string("while creating the user namespace: ") + e.what());
  }
}

void write_own_id_maps(uid_t inside_uid, uid_t outside_uid, gid_t inside_gid, gid_t outside_gid) {
  // An unprivileged process may write its own one-line maps only after denying setgroups
  // (user_namespaces(7), "Writing deny to /proc/pid/setgroups").
  sys::write_file("/proc/self/setgroups", "deny");
  sys::write_file("/proc/self/uid_map", id_map_line(inside_uid, outside_uid));
  sys::write_file("/proc/self/gid_map", id_map_line(inside_gid, outside_gid));
}

}  // namespace cexec
