// The planner's named steps (internal to topology/; the API is placement.hpp). plan() in plan.cpp
// runs them in order on one PlanState:
//   usable_cores    -> which cores of each NUMA node the allowed mask holds      (plan.cpp)
//   decide_cpu_bind -> whether to bind at all, and why (placement.hpp)            (binding.cpp)
//   choose_gpus     -> balanced GPU slots, rank r takes slot r                    (plan_gpus.cpp)
//   choose_homes    -> each rank's NUMA node (its GPU's, else spread)             (plan_homes.cpp)
//   choose_cores    -> equal contiguous core blocks inside each NUMA node         (plan_cores.cpp)
//   apply_bind_mode -> numa/package/none widen or keep the CPU set; memory node   (plan_cores.cpp)
//   explain_gpus    -> the GPU reason lines                                       (plan_gpus.cpp)
//   choose_nics     -> locality first, loads balanced among equally near NICs     (plan_nics.cpp)
#pragma once

#include "placement.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cexec::topology::detail {

// Everything the planner derives from the machine and the allowed mask.
struct Usable {
  std::vector<CpuList> core_pus;             // per machine core: its allowed PUs
  std::vector<std::vector<int>> numa_cores;  // per NUMA node: its cores with allowed PUs, machine order
  std::vector<int> cap;                      // usable cores per NUMA node
  int total_cores = 0;
};

struct PlanState {
  PlanState(const Machine& machine, const PlanRequest& request, Usable usable)
      : m(machine), req(request), u(std::move(usable)) {}
  const Machine& m;
  const PlanRequest& req;
  Usable u;
  int k = 0;                                   // GPUs per rank after clamping
  std::vector<std::vector<size_t>> rank_slots; // per rank: positions in req.gpus.gpus
  std::vector<int> gpu_load;                   // per allowed position: ranks on it
  std::vector<int> home;                       // per rank: NUMA node index
  std::vector<int> home_package;               // per rank: package to pick a node in (-1: none)
  std::vector<int> count;                      // per NUMA node: ranks living there
  std::vector<std::string> home_why;
  Placement p;

  int ranks() const { return req.ranks; }
  const std::vector<AllowedGpu>& allowed() const { return req.gpus.gpus; }
  const Gpu& first_gpu(int r) const { return m.gpus[allowed()[rank_slots[r].front()].gpu]; }
};

Usable usable_cores(const Machine& m, const CpuList& allowed);
void choose_gpus(PlanState& s);
void choose_homes(PlanState& s);
void choose_cores(PlanState& s);
void apply_bind_mode(PlanState& s);
void explain_gpus(PlanState& s);
void choose_nics(PlanState& s);

std::vector<std::string> split_list(std::string_view s);  // comma-separated, blanks trimmed, empties dropped
bool to_int(std::string_view s, int& out);                 // a whole non-negative decimal

bool has(const std::vector<int>& v, int x);
std::string join(const std::vector<std::string>& v, const char* sep = ",");
std::string plural(int n, const char* what);
std::string numa_label(const Machine& m, int n);
std::string package_label(const Machine& m, int p);
int numa_package(const Machine& m, int numa);
// A GPU's NUMA node when its locality is exactly one, else -1; its package likewise.
int gpu_numa(const Gpu& g);
int gpu_package(const Machine& m, const Gpu& g);
// Largest-remainder apportionment of `total` over `weights` (ties to the lower index).
std::vector<int> apportion(int total, const std::vector<long>& weights);

}  // namespace cexec::topology::detail
