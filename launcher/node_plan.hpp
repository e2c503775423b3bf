// The node's plan: what a node instance adds to the image on top of the LaunchPlan's own mounts —
// the host's MPI and GPU driver files (mpi_bridge/ and gpu/), the topology shared with joiners
// (topology/), and the environment every rank of the instance gets. One value, computed once per
// node in three named steps (docs/architecture.md, "One node"):
//   read_node_host_facts   the host: GPU driver files and versions, the host MPI and its ELF
//                          closure, the topology. Before any namespace is entered (in the keeper,
//                          or in the rank before a private container).
//   read_node_image_facts  the image: its libraries and CUDA runtime, through the mounted image's
//                          descriptor in the builder (the only place the image is visible).
//   plan_node              pure: the facts and the LaunchPlan in, the NodePlan out.
// container.cpp then only executes it; -v prints describe(NodePlan) once per node.
#pragma once

#include "base/environment.hpp"
#include "base/payload_env.hpp"
#include "base/log.hpp"
#include "plan.hpp"

#include "bridge_plan.hpp"
#include "gpu_discovery.hpp"
#include "machine.hpp"

#include <concepts>
#include <optional>

#include <string>
#include <vector>

namespace cexec {

// cexec's own directory inside the container; everything a node instance adds lives below it.
inline constexpr const char* instance_host_dir = "/.cexec/host";
inline constexpr const char* instance_environment_file = "/.cexec/host/environment";
inline constexpr const char* instance_notices_file = "/.cexec/host/notices";


struct NodePlan {
  std::vector<MountOp> mounts;        // host files and trees bound into the container (read-only)
  std::vector<GeneratedFile> files;   // written by cexec, bound read-only under instance_host_dir
  std::vector<EnvOp> env;             // applied to every rank (EnvInputs::injected)
  std::vector<std::string> notices;   // "warn: ..." (rank 0 prints them) or "info: ..." (-v prints them)

  bool empty() const { return mounts.empty() && files.empty() && env.empty() && notices.empty(); }
  // Appends a module's plan (gpu::GpuPlan, mpi_bridge::BridgePlan, another NodePlan): any value with
  // these four members, in this order of precedence.
  template <typename Part>
  void append(Part part) {
    for (auto& m : part.mounts) {
      mounts.push_back(std::move(m));
    }
    if constexpr (requires { { part.files } -> std::same_as<std::vector<GeneratedFile>&>; }) {  // not BridgePlan's file list
      for (auto& f : part.files) {
        files.push_back(std::move(f));
      }
    }
    for (auto& e : part.env) {
      env.push_back(std::move(e));
    }
    for (auto& n : part.notices) {
      notices.push_back(std::move(n));
    }
  }
};

// What the node plan depends on in the host, read once (reads only; forks ompi_info and a libcuda
// probe). Throws Error for --gpu=nvidia/rocm without that driver and an unloadable --topology file.
struct NodeHostFacts {
  std::optional<gpu::GpuPlanInputs> gpu;     // nullopt with --gpu=none
  mpi_bridge::Policy mpi_policy = mpi_bridge::Policy::automatic;
  bool mpi_wanted = false;                   // under a launcher, or --mpi=host/image
  std::optional<mpi_bridge::HostMpi> mpi_host;
  double mpi_ms = 0;                         // discovery time, reported once per node
  std::string mpi_note;                      // where the host MPI facts came from (the node cache or discovery)
  std::optional<topology::Machine> machine;  // nullopt: placement disabled, for `machine_problem`
  std::string machine_problem;
};
NodeHostFacts read_node_host_facts(const LaunchPlan& plan, Log& log);

// What the node plan depends on in the image (mounted, detached, at `image_root`, an O_PATH
// directory fd). Reads only.
struct NodeImageFacts {
  mpi_bridge::ImageFacts mpi;
  double mpi_ms = 0;
  std::optional<gpu::ImageCuda> cuda;
};
NodeImageFacts read_node_image_facts(const NodeHostFacts& host, int image_root);

// The node's whole plan, in precedence order: GPU first (its LD_LIBRARY_PATH prepend runs before
// the MPI bridge's, so the host MPI's directory ends up in front), then MPI, then the topology.
// Pure. Throws Error(mpi_incompatible) when --mpi=host cannot inject.
NodePlan plan_node(const LaunchPlan& plan, const NodeHostFacts& host, const NodeImageFacts& image);

// One line for -v: how many binds, files, environment operations and notices.
std::string describe(const NodePlan& node);

// The GPU module's request for this launch.
gpu::GpuRequest gpu_request(const LaunchPlan& plan);

// The mounts and generated-file binds of `additions`, in application order, after the plan's own;
// the published environment and notices become generated files too. Pure.
Result<std::vector<MountOp>> additions_mounts(const NodePlan& additions);
// The generated files to write for `additions` (including the environment and notices files), as
// {name in the staging files directory, content}; names match additions_mounts' sources. Pure.
Result<std::vector<GeneratedFile>> additions_files(const NodePlan& additions);

}  // namespace cexec
