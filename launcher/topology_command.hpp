// `cexec plan` and the per-rank placement step of a launch (the glue between the launcher's
// facts — environment, launch context, affinity — and topology/).
#pragma once

#include "instance_additions.hpp"
#include "launch_context.hpp"
#include "log.hpp"
#include "machine.hpp"
#include "options.hpp"
#include "plan.hpp"

#include <string>
#include <vector>

namespace cexec {

// Prints the plan for `cexec plan`; returns the exit status.
int run_plan_command(const PlanOptions& options, const std::vector<std::string>& environ);

// The node instance's part (plan_instance_additions, once per node): loads the topology (the plan's
// file, else the host, with I/O devices) and publishes it serialized as /.cexec/host/topology.
// A --topology file that cannot be loaded is an error; a host discovery failure only a warning.
InstanceAdditions plan_topology_additions(const LaunchPlan& plan, Log& log);

// The published topology, relative to /.cexec/host.
inline constexpr const char* topology_file_name = "topology";

struct RankPlacementOutcome {
  std::vector<EnvOp> env;          // EnvInputs::rank
  std::vector<std::string> lines;  // the applied placement and its reasons, for -v (logged after the timed step)
};

// Per rank: parses the node instance's topology text, plans this rank, binds CPUs and memory, and
// returns the environment operations.
RankPlacementOutcome place_this_rank(const LaunchPlan& plan, const std::string& topology_text, const LaunchContext& context);

}  // namespace cexec
