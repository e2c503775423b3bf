// The launch context: which job, rank and node-local rank a cexec process is, read from the
// variables that MPI launchers and SLURM export (pure). The table below is the documented order
// of precedence (docs/launch-context.md); later issues (placement, GPU selection) reuse it.
#pragma once

#include "base/payload_env.hpp"
#include "base/error.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace cexec {

// Two identities, because they answer different questions. `node_share` says which processes on
// this node belong together (the node-instance key): it may differ between nodes, since what a rank
// sees of its launcher does (under `mpirun` in a batch script, the ranks on mpirun's node are its
// children and see no SLURM step, the others run under an `orted` that srun started as step 0).
// `job` names the whole job and is the same on every node (what values all ranks must agree on,
// such as MASTER_PORT, are derived from); it is unset when the launcher exports nothing that every
// node sees (MPICH's Hydra outside SLURM).
struct LaunchContext {
  std::string node_share;         // this node's share of the job; never empty
  std::string node_share_source;  // which variable(s) it came from, for -v and docs
  std::optional<std::string> job;  // the whole job, equal on every node
  std::string job_source;          // which variable(s) it came from ("" when unset)
  std::optional<int> rank;
  std::optional<int> size;
  std::optional<int> local_rank;
  std::optional<int> local_size;
  std::optional<int> node_id;
  std::string launcher;    // "openmpi", "hydra", "slurm", "pmix", "pmi" or "none", for -v

  // Every rank of the job runs on this node (so 127.0.0.1 reaches rank 0, and node_share is shared by all).
  bool is_single_node() const { return size && local_size && *size == *local_size; }
};

// The launcher's identities, each "kind:value" (docs/launch-context.md):
//   slurm:JOB.STEP     SLURM_JOB_ID + SLURM_STEP_ID   (srun, and every step of sbatch/salloc jobs)
//   pmix:NAMESPACE     PMIX_NAMESPACE                 (any PMIx launcher: Open MPI, srun --mpi=pmix)
//   ompi:JOBID:URI     OMPI_MCA_ess_base_jobid (+ orte_hnp_uri)   (Open MPI's mpirun)
//   pmi:PORT           PMI_PORT                       (MPICH Hydra with a port-based PMI)
// node_share: --instance NAME as `instance:NAME`, else every identity present joined by `|`, else
// the parent pid (`ppid:PID`: Hydra's proxy on a node, or a plain shell).
// job: --instance NAME, else the identity of the innermost launcher that is equal on every node:
//   openmpi  ompi:JOBID:URI (mpirun's, whichever daemon started the rank), else pmix:
//   slurm    slurm:JOB.STEP
//   hydra    slurm:JOB.STEP of the step that runs Hydra's proxies (Hydra's SLURM bootstrap)
//   pmix     pmix:NAMESPACE
//   else     unset
// Ranks, first match wins per field (the innermost launcher first, SLURM last):
//   OMPI_COMM_WORLD_{RANK,SIZE,LOCAL_RANK,LOCAL_SIZE}; PMIX_RANK, PMIX_SIZE, PMIX_LOCAL_RANK,
//   PMIX_LOCAL_SIZE; PMI_RANK, PMI_SIZE, MPI_LOCALRANKID, MPI_LOCALNRANKS (Hydra), PMI_LOCAL_RANK,
//   PMI_LOCAL_SIZE; SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, and SLURM_NODEID with
//   SLURM_STEP_TASKS_PER_NODE or SLURM_TASKS_PER_NODE ("2(x3),1"). Empty values count as unset.
LaunchContext read_launch_context(const std::vector<std::string>& environ, pid_t parent_pid,
                                  std::string_view explicit_instance = {});

// SLURM's compressed per-node task counts: "2(x3),1" -> {2, 2, 2, 1}.
Result<std::vector<int>> parse_tasks_per_node(std::string_view text);

}  // namespace cexec
