// /etc/cexec/mpi.conf (pure parser): the admin's description of the site MPI, used instead of
// discovery when present. One "key = value" per line, '#' comments:
//   library = PATH        an MPI library (libmpi.so.12 / libmpi.so.40 family); repeatable
//   dependency = PATH     another library to inject with its closure (libfabric, a PMIx...); repeatable
//   plugin-dir = DIR      a plugin directory, bound at the same path; its .so files' closures are injected
//   bind = SRC[:DST]      a file, directory or device bound read-only (/dev/infiniband, /etc/libibverbs.d)
//   env = NAME=VALUE      set for every rank (after the image's environment); repeatable
//   version = X.Y.Z       the implementation version, for verdicts and reports
#pragma once

#include "base/error.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cexec::mpi_bridge {

struct MpiConf {
  std::vector<std::string> libraries;
  std::vector<std::string> dependencies;
  std::vector<std::string> plugin_dirs;
  std::vector<std::pair<std::string, std::string>> binds;  // {source, destination}
  std::vector<std::pair<std::string, std::string>> env;
  std::string version;
};

inline constexpr const char* default_mpi_conf = "/etc/cexec/mpi.conf";

// Failures are ErrorKind::config, "ORIGIN:LINE: reason".
Result<MpiConf> parse_mpi_conf(std::string_view text, std::string_view origin);

}  // namespace cexec::mpi_bridge
