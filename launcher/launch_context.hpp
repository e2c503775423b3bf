// The launch context: which job, rank and node-local rank a cexec process is, read from the
// variables that MPI launchers and SLURM export (pure). The table below is the documented order
// of precedence (docs/launch-context.md); later issues (placement, GPU selection) reuse it.
#pragma once

#include "error.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace cexec {

struct LaunchContext {
  std::string job_id;      // identifies the job (and step) on this node; never empty
  std::string job_source;  // which variable(s) it came from, for -v and docs
  std::optional<int> rank;
  std::optional<int> size;
  std::optional<int> local_rank;
  std::optional<int> local_size;
  std::optional<int> node_id;
  std::string launcher;    // "openmpi", "hydra", "slurm", "pmix", "pmi" or "none", for -v
};

// Job identity, first match wins:
//   --instance NAME                              (explicit)
//   SLURM_JOB_ID + SLURM_STEP_ID                 (srun, sbatch steps)
//   PMIX_NAMESPACE                               (any PMIx launcher: Open MPI 4/5, srun --mpi=pmix)
//   OMPI_MCA_ess_base_jobid (+ orte_hnp_uri)     (Open MPI's mpirun)
//   PMI_PORT                                     (MPICH Hydra with a port-based PMI)
//   parent pid                                   (MPICH Hydra's proxy is the shared parent; plain shells)
// Ranks, first match wins per field (the innermost launcher first, SLURM last):
//   OMPI_COMM_WORLD_{RANK,SIZE,LOCAL_RANK,LOCAL_SIZE}; PMIX_RANK, PMIX_SIZE, PMIX_LOCAL_RANK,
//   PMIX_LOCAL_SIZE; PMI_RANK, PMI_SIZE, MPI_LOCALRANKID, MPI_LOCALNRANKS (Hydra), PMI_LOCAL_RANK,
//   PMI_LOCAL_SIZE; SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, and SLURM_NODEID with
//   SLURM_STEP_TASKS_PER_NODE or SLURM_TASKS_PER_NODE ("2(x3),1"). Empty values count as unset.
LaunchContext read_launch_context(const std::vector<std::string>& environ, pid_t parent_pid,
                                  std::string_view explicit_instance = {});

// SLURM's compressed per-node task counts: "2(x3),1" -> {2, 2, 2, 1}.
Result<std::vector<int>> parse_tasks_per_node(std::string_view text);

// The variables cexec passes into the container whatever --cleanenv says: the launchers' and the
// interconnects' own (PMIx, PMI, Open MPI, SLURM, UCX, libfabric).
inline constexpr std::string_view launcher_env_prefixes[] = {"PMIX_", "PMI_", "OMPI_", "SLURM_", "UCX_", "FI_",
                                                             "MPI_LOCALRANKID", "MPI_LOCALNRANKS"};
bool is_launcher_variable(std::string_view name);

}  // namespace cexec
