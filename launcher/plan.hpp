// LaunchPlan: everything the container needs, computed by the pure `resolve()` from the parsed
// options and the host facts captured once at start-up. The mechanism (container.cpp) only executes
// it; `-v` prints it.
#pragma once

#include "config.hpp"
#include "base/environment.hpp"
#include "base/mount_op.hpp"
#include "gpu_plan.hpp"
#include "base/payload_env.hpp"
#include "base/error.hpp"
#include "base/image.hpp"
#include "image_identity.hpp"
#include "options.hpp"
#include "placement.hpp"
#include "user_db.hpp"

#include <string>
#include <vector>

namespace cexec {

// Facts about the host and the caller, read once by host_facts.cpp.
struct HostFacts {
  std::vector<std::string> environ;
  UserEntry user;                 // from the host's user database (or a synthesized entry)
  std::vector<GroupEntry> groups; // primary group first
  std::string cwd;
  Config config;
  std::vector<std::pair<std::string, EnvList>> env_files;  // parsed --env-file contents, in order
  std::string image_path;         // absolute
  ImageKind image_kind = ImageKind::directory;
  ImageIdentity image_identity;   // device, inode, size, mtime: part of the node-instance key
  std::string hostname;
  std::vector<std::pair<std::string, std::string>> gpu_list_configs;  // /etc/cexec/gpu-*.conf: path, text
};

// Which host GPU driver stack the node instance injects (gpu/, docs/gpu.md).
using GpuMode = gpu::Mode;

struct LaunchPlan {
  Verb verb = Verb::exec;
  std::string image;
  ImageKind image_kind = ImageKind::directory;
  bool writable = false;        // directory image mounted read-write
  bool writable_tmpfs = false;  // overlay with a tmpfs upper layer, left writable
  std::vector<MountOp> mounts;  // in application order
  UserEntry user;
  std::vector<GroupEntry> groups;
  std::string pwd;              // --pwd, or empty
  std::string host_cwd;         // the directory to keep when it exists inside
  std::vector<std::string> command;
  EnvInputs env;                // image part filled once the image is mounted
  Config config;                // the admin policy, re-checked against resolved destinations
  bool share = true;            // enter the job's node instance (false: --no-share)
  double linger_seconds = 3.0;  // how long the node instance outlives its last member
  Verbosity verbosity = Verbosity::normal;
  GpuMode gpu = GpuMode::automatic;
  std::string gpu_host_root = "/";  // where GPU discovery reads the host; only test builds change it
  std::vector<std::pair<std::string, std::string>> gpu_list_configs;  // the admin's GPU file lists
  // Placement (topology/placement.hpp): applied per rank after joining the node instance.
  std::string topology_file;  // absolute path of --topology / CEXEC_TOPOLOGY; empty: the host
  topology::CpuBind cpu_bind = topology::CpuBind::automatic;
  topology::GpuBind gpu_bind = topology::GpuBind::automatic;
  int gpus_per_rank = 1;
  std::string mpi_policy = "auto";  // MPI bridge: auto (inject under a launcher when compatible), host, image, off
  bool framework_env = true;    // export RANK, WORLD_SIZE, MASTER_ADDR... as defaults (false: --no-framework-env)
};

Result<LaunchPlan> resolve(const LaunchOptions& options, const HostFacts& facts);

// Where GPU discovery reads the host: "/", or in a build with CEXEC_TEST_HOOKS the value of
// CEXEC_TEST_GPU_ROOT (resolve() refuses a relative one).
std::string gpu_host_root(const std::vector<std::string>& environ);

// Human-readable rendering for -v.
std::string describe(const LaunchPlan& plan);

}  // namespace cexec
