// The placement planner (pure): which CPUs, NUMA memory node, GPU(s) and NIC each node-local rank
// gets, with the reason for each choice, and the environment that tells the payload about it.
//
// Deterministic: planning all N local ranks at once and taking row `local_rank` is what every rank
// does for itself, and what `cexec plan --ranks N` prints. Policy (docs/placement.md "Policy"):
//   0. Binding (decide_cpu_bind): cpu-bind=auto binds only when every rank can have cores of its
//      own; a single rank, or more ranks than allowed cores, keep the launcher's mask, with a reason.
//   1. GPUs drive placement when the rank has any: GPU loads are balanced (no GPU has two ranks while
//      another has none), extra load is spread over packages then NUMA nodes, and rank r gets the r-th
//      slot in host GPU order, so local rank r uses GPU r when ranks == GPUs.
//   2. A rank with a GPU lives in its GPU's NUMA node (its package when the GPU is package-local);
//      ranks without GPUs are spread over packages, then NUMA nodes, in proportion to usable cores.
//   3. Inside a NUMA node, ranks get equal contiguous blocks of whole cores (all their hardware
//      threads that the allowed mask holds); more ranks than cores share cores evenly.
//   4. NICs: the most preferred kind present (InfiniBand/Slingshot/EFA, then RoCE, then Ethernet);
//      locality first (the GPU's, else the rank's NUMA node, then package), loads balanced only
//      among equally near NICs: never a NIC on another package while its own package has one.
// The steps live in plan_*.cpp (plan_steps.hpp); text and JSON output in plan_output.cpp.
#pragma once

#include "base/error.hpp"
#include "machine.hpp"

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace cexec::topology {

enum class CpuBind { automatic, none, cores, numa, package };
enum class GpuBind { automatic, closest, none };

Result<CpuBind> parse_cpu_bind(std::string_view s);
Result<GpuBind> parse_gpu_bind(std::string_view s);
std::string_view to_string(CpuBind b);
std::string_view to_string(GpuBind b);

// The variable that selects visible devices for a vendor's runtime: CUDA_VISIBLE_DEVICES (NVIDIA),
// ROCR_VISIBLE_DEVICES (AMD), ZE_AFFINITY_MASK (Intel); "" for others. The GPU module uses this.
std::string_view visible_devices_variable(GpuVendor v);

// The GPUs the launcher allowed this job, in the order its variable lists them.
struct AllowedGpu {
  int gpu = 0;         // index into Machine::gpus
  std::string token;   // what this GPU is called in the visible-devices variable ("2", or "0" under a cgroup)
};
struct GpuAllowance {
  std::vector<AllowedGpu> gpus;
  std::string variable;  // the visible-devices variable to narrow ("CUDA_VISIBLE_DEVICES", ...); "" when none applies
  std::string source;    // where the list came from, for the reasons ("all GPUs", "CUDA_VISIBLE_DEVICES=2,3", ...)
  std::vector<std::string> notices;  // entries that could not be mapped, and why
};

// Reads CUDA_VISIBLE_DEVICES / ROCR_VISIBLE_DEVICES / HIP_VISIBLE_DEVICES and SLURM_STEP_GPUS /
// SLURM_JOB_GPUS from `environ` ("NAME=VALUE" strings) against the machine's GPUs. Under SLURM with
// a device cgroup the visible list is relative ("0,1") while SLURM_STEP_GPUS names the host GPUs
// ("2,3"): host identity comes from SLURM, the tokens from the visible list.
GpuAllowance read_gpu_allowance(const Machine& m, const std::vector<std::string>& environ);

// What the launcher's environment says about its own CPU binding (for the reasons; see decide_cpu_bind).
enum class LauncherBinding { unknown, unbound, bound };
struct LauncherBindingInfo {
  LauncherBinding kind = LauncherBinding::unknown;
  std::string evidence;  // the variable that says so: "OMPI_MCA_hwloc_base_binding_policy=none"
};
// Open MPI 4 (OMPI_MCA_hwloc_base_binding_policy, OMPI_MCA_orte_bound_at_launch) and SLURM
// (SLURM_CPU_BIND_TYPE, else SLURM_CPU_BIND).
LauncherBindingInfo read_launcher_binding(const std::vector<std::string>& environ);

struct PlanRequest {
  int ranks = 1;                  // node-local ranks
  CpuList allowed_cpus;           // the launcher's affinity mask; empty: every PU of the machine
  GpuAllowance gpus;              // empty list: no GPU for anyone
  CpuBind cpu_bind = CpuBind::automatic;
  GpuBind gpu_bind = GpuBind::automatic;
  int gpus_per_rank = 1;          // 0: CPU-only placement
  std::set<std::string> user_set; // variables the user set explicitly (--env, --env-file, CEXEC_ENV_*): never touched
  LauncherBindingInfo launcher;   // only for the reasons
};

// The binding rule of cpu-bind=auto, with its reason (printed with `cexec -v` and by `cexec plan`):
// an explicit mode is taken as it is; auto leaves a single rank unbound (a lone process keeps its
// mask), leaves ranks unbound when they outnumber the allowed cores (pinned to shared cores,
// busy-polling ranks wait for each other where the kernel would balance them: never slower than
// the launcher's own oversubscribed default, which binds nothing either), and otherwise gives every
// rank cores of its own (never shared).
struct BindDecision {
  CpuBind mode = CpuBind::none;
  std::string reason;
};
BindDecision decide_cpu_bind(CpuBind requested, int ranks, int allowed_cores, const LauncherBindingInfo& launcher);

struct RankPlacement {
  int rank = 0;
  CpuList cpus;                   // the affinity to apply (never outside the allowed mask)
  bool cpu_bound = false;         // false: the launcher's mask is kept as it is (cpu-bind none)
  int cores = 0;                  // cores in `cpus` (shared or not)
  bool shared = false;            // more ranks than cores in its NUMA node: cores are shared
  std::vector<int> numas;         // NUMA nodes its CPUs touch (indexes into Machine::numas)
  std::vector<int> packages;
  int memory_numa = -1;           // the NUMA node its memory policy prefers; -1: none
  std::vector<int> gpus;          // indexes into Machine::gpus
  std::vector<std::string> gpu_tokens;  // the same GPUs as the visible-devices variable names them
  std::vector<int> gpu_ordinals;  // their positions in the allowed list (what a framework's set_device takes)
  int nic = -1;                   // index into Machine::nics
  std::vector<std::string> reasons;  // "cpu: ...", "gpu: ...", "nic: ..."
};

struct Placement {
  CpuBind cpu_bind = CpuBind::cores;  // the resolved modes
  GpuBind gpu_bind = GpuBind::closest;
  int gpus_per_rank = 0;
  std::string gpu_source;
  std::string gpu_variable;
  std::vector<RankPlacement> ranks;
  std::vector<std::string> notes;     // whole-plan remarks (oversubscription, unmapped GPUs)
  std::string cpu_bind_reason;        // why this binding mode (decide_cpu_bind)
};

// Impossible requests (no usable CPU, --gpus-per-rank above the allowed GPUs, ranks < 1) are failures.
Result<Placement> plan(const Machine& m, const PlanRequest& request);

// An environment change for the payload: `replace` overrides the value (only the visible-devices
// narrowing does); otherwise the variable is set only when it is unset at that point.
struct EnvSetting {
  std::string name;
  std::string value;
  bool replace = false;
  bool operator==(const EnvSetting&) const = default;
};
std::vector<EnvSetting> rank_environment(const Machine& m, const Placement& p, const PlanRequest& request, int rank);

// `cexec plan` output: a table, each rank's reasons, and its environment.
std::string format_text(const Machine& m, const Placement& p, const PlanRequest& request);
std::string format_json(const Machine& m, const Placement& p, const PlanRequest& request);
// One line for `cexec exec -v`: "placement: rank 1: cpus 16-31 ... gpu cuda2 ... nic mlx5_2".
std::string describe_rank(const Machine& m, const RankPlacement& r);

}  // namespace cexec::topology

namespace cexec::topology {

// What one rank knows about itself when it places itself (pure inputs; read by the caller).
struct RankRequest {
  int local_rank = 0;
  int local_size = 1;
  bool machine_is_host = true;      // false: a --topology file, whose PUs may not exist here
  CpuList affinity;                 // sched_getaffinity at start
  std::vector<std::string> environ; // the host environment (visible-devices and SLURM GPU variables)
  CpuBind cpu_bind = CpuBind::automatic;
  GpuBind gpu_bind = GpuBind::automatic;
  int gpus_per_rank = 1;
  std::set<std::string> user_set;
};

struct RankDecision {
  PlanRequest request;
  Placement placement;              // all local ranks, as `cexec plan` prints them
  RankPlacement row;                // this rank's
  bool apply_affinity = false;      // the CPUs are bound and lie inside the current mask
  std::vector<EnvSetting> env;
  std::vector<std::string> notices; // "info: ..." lines
};

// Plans every local rank and keeps row `local_rank`. A host topology plans against the rank's own
// mask (never widened); a topology file plans against all its PUs, and the affinity is applied only
// when the planned CPUs lie inside the current mask (else a notice says it was skipped).
Result<RankDecision> plan_rank(const Machine& m, const RankRequest& request);

}  // namespace cexec::topology
