// What a node instance adds to the image on top of the LaunchPlan's own mounts: the host's MPI and
// GPU driver files (injected by mpi_bridge/ and gpu/), the topology shared with joiners (topology/),
// and the environment every rank of the instance gets. Planned once per instance, by its builder,
// where the image is mounted but not yet entered, so reading the host and the image is cheap to
// do once and never repeated per rank.
#pragma once

#include "environment.hpp"
#include "log.hpp"
#include "plan.hpp"

#include <string>
#include <vector>

namespace cexec {

// cexec's own directory inside the container; everything a node instance adds lives below it.
inline constexpr const char* instance_host_dir = "/.cexec/host";
inline constexpr const char* instance_environment_file = "/.cexec/host/environment";
inline constexpr const char* instance_notices_file = "/.cexec/host/notices";

struct GeneratedFile {
  std::string path;     // relative to instance_host_dir
  std::string content;
  bool operator==(const GeneratedFile&) const = default;
};

struct InstanceAdditions {
  std::vector<MountOp> mounts;        // host files and trees bound into the container (read-only)
  std::vector<GeneratedFile> files;   // written by cexec, bound read-only under instance_host_dir
  std::vector<EnvOp> env;             // applied to every rank (EnvInputs::injected)
  std::vector<std::string> notices;   // "warn: ..." (rank 0 prints them) or "info: ..." (-v prints them)

  bool empty() const { return mounts.empty() && files.empty() && env.empty() && notices.empty(); }
  void append(InstanceAdditions other);
};

// The mounts and generated-file binds of `additions`, in application order, after the plan's own;
// the published environment and notices become generated files too. Pure.
Result<std::vector<MountOp>> additions_mounts(const InstanceAdditions& additions);
// The generated files to write for `additions` (including the environment and notices files), as
// {name in the staging files directory, content}; names match additions_mounts' sources. Pure.
Result<std::vector<GeneratedFile>> additions_files(const InstanceAdditions& additions);

// Runs every module's planner against the host and the image (mounted, detached, at
// `image_root`, an O_PATH directory fd). Reads files; changes nothing. Throws Error on a refusal
// (for example --mpi=host with an incompatible image).
InstanceAdditions plan_instance_additions(const LaunchPlan& plan, int image_root, Log& log);

}  // namespace cexec
