// Unpacking tar archives (plain or gzip, bzip2, xz or zstd compressed) with libarchive's reader;
// cexec creates every file itself so that each member's place is resolved inside the root the way
// the container will see it (symlinks followed as if the root were "/"), and a member whose path
// climbs out through a symlink is refused by name instead of being written outside.
#pragma once

#include <string>

namespace cexec::build {

struct UnpackOptions {
  bool whiteouts = false;      // an image layer: apply .wh. files and opaque markers, extract neither
  bool restore_owner = false;  // chown members to their recorded ids (root, or a fakeroot namespace)
};

// Unpacks `archive` into the existing directory `root`. Throws Error(image_invalid) naming the
// member for names with "..", absolute names and paths through escaping symlinks.
void unpack_archive(const std::string& archive, const std::string& root, const UnpackOptions& options);

}  // namespace cexec::build
