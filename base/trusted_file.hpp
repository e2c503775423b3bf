// Which admin files cexec trusts (cexec.conf, the GPU file lists, mpi.conf). Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace cexec {

// The ownership rule: a config file must be a regular file owned by root and writable by nobody
// else, so no ordinary user can plant one. Returns the reason it is refused, or "".
// `unmapped_owner` is the uid files of unmapped owners show when cexec itself runs in a user
// namespace that does not map root (under `unshare -r`, in a rootless container): root's files
// show that uid there (the kernel's overflowuid), and it is accepted in root's place. nullopt in
// the initial user namespace (sys::try_unmapped_owner_uid).
std::string config_ownership_problem(std::string_view path, uid_t owner, mode_t mode,
                                     std::optional<uid_t> unmapped_owner = std::nullopt);

}  // namespace cexec
