// Resolving a container path under an image root, one component at a time with O_NOFOLLOW, so
// that symlinks are followed as if the root were "/" and a ".." that would climb above the root is
// reported instead of followed. Used to check bind destinations and to plan their scaffolding.
#pragma once

#include "base/sys/fd.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace cexec {

enum class WalkStatus { found, missing, escapes, not_directory, too_many_links };

struct WalkResult {
  WalkStatus status = WalkStatus::found;
  sys::Fd fd;                         // found: an O_PATH fd of the destination
  std::vector<std::string> existing;  // the deepest existing directory, symlinks resolved
  std::vector<std::string> missing;   // the components below it that do not exist
};

WalkResult walk_in_root(int rootfd, std::string_view path);

std::string join_components(const std::vector<std::string>& parts);

// For a walk that ended `missing`: creates the missing directories (mode 0755) below the deepest
// existing one, all but the last `leave` of them, and returns an O_PATH fd of the deepest
// directory now present. Paths stay relative to `rootfd`, so nothing is created outside it.
sys::Fd create_missing_directories(int rootfd, const WalkResult& w, size_t leave);

}  // namespace cexec
