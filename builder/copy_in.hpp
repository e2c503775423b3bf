// %files: copying host files into the new root the way `cp -fLr` would, except that every
// destination is resolved inside the root (openat2 RESOLVE_IN_ROOT): a symlink in the image is
// followed as if the root were "/", so no image can make a build write outside it, not even one
// run as real root.
#pragma once

#include <string>
#include <vector>

namespace cexec::build {

// Copies each of `sources` (host paths; symlinks followed) to `destination` (a path inside the
// root at `rootfd`): into it when it is an existing directory, else onto it (one source only).
// Missing parent directories of `destination` are created. Throws Error(input_missing) for an
// unreadable source and Error(bind_destination) for an unusable destination.
void copy_into_root(int rootfd, const std::vector<std::string>& sources, const std::string& destination);

}  // namespace cexec::build
