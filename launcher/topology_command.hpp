// `cexec plan` and the per-rank placement step of a launch (the glue between the launcher's
// facts — environment, launch context, affinity — and topology/).
#pragma once

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

// Loads the topology for a launch (the plan's file, else the host) and serializes it: done once per
// node instance, by its creator.
std::string load_serialized_topology(const LaunchPlan& plan);

// Per rank: parses the node instance's topology text, plans this rank, binds CPUs and memory, and
// returns the environment changes. Notices go to the log (-v) or, for warnings, to stderr.
std::vector<topology::EnvSetting> place_this_rank(const LaunchPlan& plan, const std::string& topology_text,
                                                  const LaunchContext& context, const Log& log);

}  // namespace cexec
