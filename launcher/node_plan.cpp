#include "node_plan.hpp"

#include "discovery.hpp"
#include "discovery_cache.hpp"
#include "launch_context.hpp"
#include "loader.hpp"
#include "rendezvous.hpp"

#include <chrono>

namespace cexec {

namespace {

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

// The MPI bridge (mpi_bridge/): by default only under a launcher (a plain `cexec exec` from a
// shell stays fast and unchanged); --mpi=host forces discovery and injection, --mpi=image injects
// nothing but the launcher's variables, --mpi=off nothing at all.
NodeHostFacts read_node_host_facts(const LaunchPlan& plan, Log& log) {
  NodeHostFacts h;
  if (plan.gpu != GpuMode::none) {
    h.gpu = log.step("gpu-discovery", [&] { return gpu::gather_gpu_inputs(gpu_request(plan)); });
  }
  h.mpi_policy = mpi_bridge::parse_policy(plan.mpi_policy).value_or(mpi_bridge::Policy::automatic);
  std::string launcher = read_launch_context(plan.env.host, 0).launcher;
  h.mpi_wanted = h.mpi_policy != mpi_bridge::Policy::off &&
                 !(h.mpi_policy == mpi_bridge::Policy::automatic && launcher == "none");
  if (h.mpi_wanted && h.mpi_policy != mpi_bridge::Policy::image) {
    auto start = std::chrono::steady_clock::now();
    // Cached per user and node between jobs, keyed on every file the answer depended on
    // (mpi_bridge/discovery_cache.hpp); no private directory means no cache.
    std::string cache_dir = private_cexec_dir(plan.env.host).value_or("");
    auto discovered = log.step("mpi-discovery", [&] {
      return mpi_bridge::discover_host_mpi_cached(plan.env.host, launcher, cache_dir);
    });
    h.mpi_host = std::move(discovered.host);
    h.mpi_note = std::move(discovered.note);
    h.mpi_ms = ms_since(start);
  }
  auto machine = log.step("topology-load", [&] { return topology::load_machine({plan.topology_file, true}); });
  if (machine) {
    h.machine = std::move(machine).value();
  } else if (!plan.topology_file.empty()) {
    throw Error(machine.failure());
  } else {
    h.machine_problem = machine.failure().message;
  }
  return h;
}

NodeImageFacts read_node_image_facts(const NodeHostFacts& host, int image_root) {
  NodeImageFacts out;
  if (host.mpi_wanted && host.mpi_policy != mpi_bridge::Policy::image) {
    auto start = std::chrono::steady_clock::now();
    out.mpi = mpi_bridge::read_image_facts(image_root, mpi_bridge::wanted_sonames(host.mpi_host));
    out.mpi_ms = ms_since(start);
  }
  if (host.gpu && gpu::wants_image_cuda(*host.gpu)) {
    out.cuda = gpu::read_image_cuda(image_root);
  }
  return out;
}

}  // namespace cexec
