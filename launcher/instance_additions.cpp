#include "instance_additions.hpp"

#include "gpu_discovery.hpp"
#include "topology_command.hpp"

namespace cexec {

// Each module appends what it adds; the order here is the order of LD_LIBRARY_PATH precedence
// decisions and of the notices.
InstanceAdditions plan_instance_additions(const LaunchPlan& plan, int image_root, Log& log) {
  InstanceAdditions additions;
  // GPU first: its LD_LIBRARY_PATH prepend runs before the MPI bridge's, so the MPI directory
  // ends up in front (the host MPI's libraries win over anything else injected).
  additions.append(gpu::plan_gpu_instance_additions(plan, image_root, log));
  additions.append(plan_topology_additions(plan, log));
  return additions;
}

}  // namespace cexec
