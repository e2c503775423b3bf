// What the user asked for, as parsed from the command line; nothing validated or defaulted yet.
// CLI11 fills this in cli.cpp and appears nowhere else.
#pragma once

#include "base/log.hpp"
#include "builder/build_options.hpp"

#include <optional>
#include <string>
#include <vector>

namespace cexec {

enum class Verb { exec, run, shell };

struct LaunchOptions {
  Verb verb = Verb::exec;
  std::string image;
  std::vector<std::string> command;  // exec: COMMAND ARGS...; run: ARGS...; shell: empty
  std::vector<std::string> binds;    // raw -B values, each maybe a comma-separated list
  std::vector<std::string> env;      // raw --env KEY=VAL values
  std::vector<std::string> env_files;
  std::string pwd;
  bool writable_tmpfs = false;
  bool writable = false;
  bool cleanenv = false;
  bool no_home = false;
  bool contain = false;
  bool no_share = false;     // a private container instead of the node instance
  std::string instance;      // --instance NAME: explicit job identity for the node instance
  std::string mpi;           // --mpi auto|host|image|off (empty: auto)
  std::string gpu;           // --gpu=auto|nvidia|rocm|none (--nv, --rocm); empty: auto
  Verbosity verbosity = Verbosity::normal;
  // Placement (topology/placement.hpp); validated in resolve().
  std::string topology;               // --topology FILE (else CEXEC_TOPOLOGY, else the host)
  std::string cpu_bind = "auto";      // --cpu-bind auto|none|cores|numa|package
  std::string gpu_bind = "auto";      // --gpu-bind auto|closest|none
  int gpus_per_rank = 1;              // --gpus-per-rank K
  bool no_framework_env = false;  // no RANK, WORLD_SIZE, MASTER_ADDR... defaults (docs/framework-env.md)
};

// `cexec plan [--topology FILE] [--ranks N] [--json]`: print the placement without launching.
struct PlanOptions {
  std::string topology;          // else CEXEC_TOPOLOGY, else the host
  std::optional<int> ranks;      // unset: the launch context's local size, else 1
  bool json = false;
  std::string cpus;              // an allowed CPU list to plan against (default: own mask on the host, all for a file)
  std::string cpu_bind = "auto";
  std::string gpu_bind = "auto";
  int gpus_per_rank = 1;
  bool no_io = false;            // skip I/O discovery (no GPUs or NICs)
  bool machine = false;          // print the loaded topology in cexec's text form instead (tests, joiners)
};

// `cexec check --gpu [IMAGE]`.
struct CheckOptions {
  bool gpu = false;    // the GPU driver stack; otherwise the host's readiness
  bool json = false;   // the readiness report as JSON
  std::string image;  // optional with --gpu: also read the image's CUDA runtime version
};

// `cexec cache list|clean`: the registry blob cache (registry/cache.hpp).
struct CacheOptions {
  bool clean = false;  // else list
};

// `cexec mpi check [--json] [--mpi POLICY] IMAGE`: the MPI bridge's preflight.
struct MpiCheckOptions {
  std::string image;
  bool json = false;
  std::string mpi = "host";  // the policy judged; `host` reports what a forced injection would do
};

}  // namespace cexec
