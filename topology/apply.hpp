// The per-rank apply step (kernel part): CPU affinity and NUMA memory policy for a planned rank.
// Environment changes are returned by the planner and applied by the launcher's env assembly.
#pragma once

#include "machine.hpp"
#include "placement.hpp"

namespace cexec::topology {

// The calling thread's affinity mask (sched_getaffinity).
CpuList current_affinity();

// Binds the process to `cpus` (sched_setaffinity; throws SysError). Never called with CPUs outside
// the current mask (plan_rank checks), so the launcher's mask is never widened.
void apply_affinity(const CpuList& cpus);

// Sets the memory policy to MPOL_PREFERRED for NUMA node `os_index` with libnuma: pages come from
// that node while it has free memory, then from others. Not MPOL_BIND: a strict bind turns a full
// node (page cache, pinned GPU buffers, an unbalanced rank) into swapping or the OOM killer, where
// preferred only costs remote accesses. Returns false (and changes nothing) without NUMA support.
bool apply_memory_preference(int os_index);

}  // namespace cexec::topology
