// The MPI bridge's decision (pure): from the facts about the host's MPI (its libraries, their
// closure, plugins) and about the image (its libraries and the symbol versions they define) and
// the --mpi policy, which files to inject where, which variables to set, what to tell the user,
// and whether to refuse. `cexec mpi check` renders the same plan.
#pragma once

#include "base/environment.hpp"
#include "base/mount_op.hpp"
#include "abi.hpp"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace cexec::mpi_bridge {

// Where injected libraries go inside the container; put first on LD_LIBRARY_PATH.
inline constexpr const char* injected_lib_dir = "/.cexec/host/mpi/lib";

enum class Policy { automatic, host, image, off };
std::optional<Policy> parse_policy(std::string_view text);
std::string_view policy_name(Policy p);

// One host ELF object the bridge would inject (or, for plugins, make visible).
struct HostLibrary {
  std::string path;    // the real file on the host
  std::string soname;  // its DT_SONAME, or its file name
  std::vector<VersionNeed> needs;
};

struct HostMpi {
  std::string origin;                     // "/etc/cexec/mpi.conf", or how discovery found it
  MpiLibrary mpi;                         // the MPI library itself
  std::vector<HostLibrary> libraries;     // MPI libraries and the closure of everything below, once per soname
  std::vector<HostLibrary> plugins;       // files in plugin directories (checked, bound with their directory)
  std::vector<std::string> plugin_dirs;   // bound read-only at the same path
  std::vector<std::pair<std::string, std::string>> binds;  // data, config, devices: {host, container}
  std::vector<EnvOp> env;                 // from mpi.conf
  std::vector<std::string> problems;      // closure entries that could not be resolved on the host
};

struct ImageFacts {
  std::map<std::string, std::string> libraries;                  // soname -> path inside the image
  std::map<std::string, std::set<std::string>> version_defs;     // soname -> versions it defines (read for needed libs)
  std::optional<MpiLibrary> mpi;
  std::string glibc;     // "2.36", from libc.so.6's version definitions
  std::string libstdcxx; // "3.4.30", from libstdc++.so.6's, or ""
};

// Libraries that always come from the image (glibc and its loader: replacing them would replace
// the image's C library under every program) and those taken from the image when it has them
// (the C++ and GCC runtimes are backward compatible; their versions are checked).
bool is_glibc_soname(std::string_view soname);
bool is_runtime_soname(std::string_view soname);

// The sonames of `host.libraries` that would be injected into this image.
std::set<std::string> injected_sonames(const HostMpi& host, const ImageFacts& image);

struct BridgePlan {
  Policy policy = Policy::automatic;
  bool inject = false;       // the host's MPI goes in
  bool compatible = false;   // every verdict passed
  std::vector<Verdict> verdicts;
  std::vector<std::pair<std::string, std::string>> files;  // {host path, container path} of every bind
  std::vector<MountOp> mounts;
  std::vector<EnvOp> env;
  std::vector<std::string> notices;  // "warn: ..." and "info: ..."
  std::string refusal;               // set with --mpi=host when it cannot inject
};

// `host` is empty when no host MPI was found; `host_environ` is the launch's captured environment
// (for the PMIx variable mapping).
BridgePlan plan_bridge(const std::optional<HostMpi>& host, const ImageFacts& image, Policy policy,
                       const std::vector<std::string>& host_environ);

// `cexec mpi check` output.
// The verdicts as -v shows them: one line per refused file (its missing needs listed, files
// refused for the same needs grouped with a count), other verdicts as they are, and one counted
// line for all the files whose needs are met. Pure.
std::vector<std::string> group_verdicts(const std::vector<Verdict>& verdicts);

std::string render_text(const std::optional<HostMpi>& host, const ImageFacts& image, const BridgePlan& plan);
std::string render_json(const std::optional<HostMpi>& host, const ImageFacts& image, const BridgePlan& plan);

}  // namespace cexec::mpi_bridge
