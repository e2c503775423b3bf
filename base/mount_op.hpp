// A mount the container gets, as a value: what plans (the launch plan, the MPI bridge's, the GPU
// plan) produce and launcher/container.cpp executes.
#pragma once

#include <string>
#include <string_view>

namespace cexec {

enum class MountKind {
  bind,       // clone of a host tree (recursive), attached at destination
  tmpfs,      // a fresh private tmpfs
  generated,  // a file cexec writes (passwd, group), bound read-only
};

enum class MountOrigin { system, user };

// A file cexec writes for the container (bound read-only below /.cexec/host): its path relative to
// that directory and its content.
struct GeneratedFile {
  std::string path;
  std::string content;
  bool operator==(const GeneratedFile&) const = default;
};

// True when `path` equals `prefix` or lies below it ("/home/a" is under "/home", "/homer" is not).
inline bool is_path_under(std::string_view path, std::string_view prefix) {
  if (prefix == "/") {
    return path.starts_with('/');
  }
  return path.starts_with(prefix) && (path.size() == prefix.size() || path[prefix.size()] == '/');
}

struct MountOp {
  MountKind kind = MountKind::bind;
  std::string source;       // host path (bind) or generated file name (generated)
  std::string destination;  // absolute container path
  bool read_only = false;
  bool restrict = true;     // add nosuid,nodev (not for /dev, /proc, /sys)
  bool optional = false;    // silently skipped when the source does not exist
  MountOrigin origin = MountOrigin::system;
  bool operator==(const MountOp&) const = default;
};

}  // namespace cexec
