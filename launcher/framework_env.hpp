// The framework environment (pure): the variables that torch.distributed's env:// rendezvous and
// similar frameworks read (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT),
// derived from the launch context so that `mpirun cexec img python3 train.py` and
// `srun cexec img python3 train.py` need no wrapper script. Every value is a default: a variable
// the user set (host environment, image, --env) is never replaced. docs/framework-env.md.
#pragma once

#include "base/environment.hpp"
#include "base/payload_env.hpp"
#include "base/error.hpp"
#include "launch_context.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cexec {

// MASTER_PORT lies in [master_port_base, master_port_base + master_port_span): unprivileged, below
// the Linux ephemeral range (32768-60999), away from the well-known services.
inline constexpr int master_port_base = 20000;
inline constexpr int master_port_span = 10000;

struct FrameworkEnv {
  std::vector<EnvOp> ops;   // set_default operations for EnvInputs::rank, in order
  std::string addr_source;  // where MASTER_ADDR came from, for -v ("" when not derivable)
  std::string port_source;  // which identity MASTER_PORT was derived from ("" when not derivable)
};

// One line for -v: "framework env: RANK=1 WORLD_SIZE=4 ... (MASTER_ADDR from single node)".
std::string describe(const FrameworkEnv& framework);

// The variables for one rank. Nothing when the launch context knows no rank (a plain `cexec img cmd`).
// MASTER_ADDR is the host where rank 0 runs (where_rank0_runs); MASTER_PORT is
// master_port_for(context.job), the same on every node; on one node without a job identity, the
// node share stands in (all ranks share it). Neither is set when it is not derivable.
FrameworkEnv plan_framework_env(const LaunchContext& context, const std::vector<std::string>& environ);

struct Rank0Host {
  std::string host;    // a name or an address, the same string for every rank of the job
  std::string source;  // where it came from, for -v
};

// The host where rank 0 runs, as every rank of the job computes it, first match wins:
//   all ranks on this node (local size == size)     127.0.0.1
//   Open MPI's mpirun                                mpirun's node when it runs ranks (the first
//       address of OMPI_MCA_orte_hnp_uri), else the first daemon's node of OMPI_MCA_orte_node_regex:
//       mpirun maps rank 0 onto the first node that runs ranks, and its own node comes first. Ranks
//       started by mpirun itself have no regex (then mpirun runs ranks); a daemon's ranks tell from
//       OMPI_MCA_ess_base_num_procs (daemons, mpirun included) > OMPI_MCA_orte_num_nodes (nodes
//       with ranks) that mpirun's node runs none (mpirun on a login node, `salloc mpirun`).
//   srun's tasks                                     the first host of SLURM_STEP_NODELIST
//   Hydra (SLURM bootstrap), other PMI launchers     the first host of SLURM_JOB_NODELIST (Hydra
//       maps rank 0 onto the first host of the allocation), else of SLURM_STEP_NODELIST
std::optional<Rank0Host> where_rank0_runs(const LaunchContext& context, const std::vector<std::string>& environ);

// Open MPI 4's daemon node list (OMPI_MCA_orte_node_regex), "head,node[1:1-2]@0(3)": names
// separated by commas, a bracket group "[WIDTH:RANGES]" expanding to numbers zero-padded to WIDTH,
// and everything from '@' on (the daemons' vpids) ignored. Daemon 0 (mpirun) comes first.
Result<std::vector<std::string>> expand_ompi_node_regex(std::string_view text, std::size_t limit = 1u << 20);

// SLURM's hostlist syntax: comma-separated entries, each a name with bracket groups of numbers,
// ranges and comma lists ("node[01-04,07],gpu5", "rack[1-2]-n[1-2]"). A range keeps the zero
// padding of its lower bound ("[08-10]" gives 08 09 10). Several groups in one entry expand as
// SLURM does, the leftmost group varying slowest. At most `limit` names (a guard against "[0-999999999]").
Result<std::vector<std::string>> expand_hostlist(std::string_view text, std::size_t limit = 1u << 20);

// The first name of a hostlist without expanding the rest (what MASTER_ADDR needs).
Result<std::string> first_host(std::string_view text);

// The host of an Open MPI 4 URI, "JOBID.VPID;tcp://ADDR[,ADDR...]:PORT;tcp6://[ADDR]:PORT":
// the first tcp address, else the first tcp6 one (without brackets).
std::optional<std::string> host_of_ompi_uri(std::string_view uri);

// A port every rank of the job agrees on: FNV-1a of the job identity, folded into the range above.
int master_port_for(std::string_view job_id);

}  // namespace cexec
