// The placement steps of a launch (the glue between the launcher's
// facts — environment, launch context, affinity — and topology/).
#pragma once

#include "node_plan.hpp"
#include "launch_context.hpp"
#include "base/log.hpp"
#include "machine.hpp"
#include "options.hpp"
#include "plan.hpp"

#include <string>
#include <vector>

namespace cexec {


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
