#include "instance_additions.hpp"

#include "gpu_discovery.hpp"
#include "topology_command.hpp"
#include "discovery.hpp"
#include "launch_context.hpp"
#include "rendezvous.hpp"

#include <chrono>
#include <cstdio>

namespace cexec {

namespace {

// The MPI bridge (mpi_bridge/): by default only under a launcher (a plain `cexec exec` from a
// shell stays fast and unchanged); --mpi=host forces discovery and injection, --mpi=image and
// --mpi=off inject nothing.
InstanceAdditions mpi_additions(const LaunchPlan& plan, int image_root, Log& log) {
  InstanceAdditions out;
  auto policy = mpi_bridge::parse_policy(plan.mpi_policy).value_or(mpi_bridge::Policy::automatic);
  std::string launcher = read_launch_context(plan.env.host, 0).launcher;
  if (policy == mpi_bridge::Policy::off || (policy == mpi_bridge::Policy::automatic && launcher == "none")) {
    return out;
  }
  auto start = std::chrono::steady_clock::now();
  std::string cache_dir = private_cexec_dir(plan.env.host).value_or("");
  auto bridge = log.step("mpi-bridge", [&] { return mpi_bridge::run_bridge(plan.env.host, launcher, policy, image_root, cache_dir); });
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (!bridge.plan.refusal.empty()) {
    throw Error(ErrorKind::mpi_incompatible, bridge.plan.refusal + " (see `cexec mpi check " + plan.image + "`)");
  }
  out.mounts = bridge.plan.mounts;
  out.env = bridge.plan.env;
  out.notices = bridge.plan.notices;
  // The builder logs quietly; -v on the ranks shows this instead (paid once per node).
  char took[96];
  std::snprintf(took, sizeof took, "info: mpi: discovery and verdicts took %.1f ms (once per node)", ms);
  out.notices.emplace_back(took);
  out.notices.push_back("info: mpi: " + bridge.discovery_note);
  return out;
}

}  // namespace

// Each module appends what it adds; the order here is the order of LD_LIBRARY_PATH precedence
// decisions and of the notices.
InstanceAdditions plan_instance_additions(const LaunchPlan& plan, int image_root, Log& log) {
  InstanceAdditions additions;
  // GPU first: its LD_LIBRARY_PATH prepend runs before the MPI bridge's, so the MPI directory
  // ends up in front (the host MPI's libraries win over anything else injected).
  additions.append(gpu::plan_gpu_instance_additions(plan, image_root, log));
  additions.append(mpi_additions(plan, image_root, log));
  additions.append(plan_topology_additions(plan, log));
  return additions;
}

}  // namespace cexec
