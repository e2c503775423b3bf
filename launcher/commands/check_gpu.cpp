#include "commands/commands.hpp"

#include "container.hpp"
#include "node_plan.hpp"
#include "gpu_discovery.hpp"
#include "host_facts.hpp"

#include <cstdio>

namespace cexec {

int run_gpu_check(const CheckOptions& options, const Environ& environ) {
  // The plan of a launch of IMAGE (or of "/" without one), so the check sees the same mounts,
  // host root and --gpu default a launch would.
  LaunchOptions launch;
  launch.image = options.image.empty() ? "/" : options.image;
  launch.command = {"true"};
  HostFacts facts = gather_host_facts(launch, environ);
  LaunchPlan plan = value_or_throw(resolve(launch, facts));
  std::string report;
  if (options.image.empty()) {
    gpu::GpuPlanInputs in = gpu::gather_gpu_inputs(gpu_request(plan), true);
    report = gpu::describe_gpu_check(in, gpu::plan_gpu_additions(in));
  } else {
    report = run_with_image_root(plan, [&](int image_root) {
      gpu::GpuPlanInputs in = gpu::gather_gpu_inputs(gpu_request(plan), true);
      in.image_cuda = gpu::read_image_cuda(image_root);
      return gpu::describe_gpu_check(in, gpu::plan_gpu_additions(in));
    });
  }
  std::fputs(report.c_str(), stdout);
  return 0;
}

}  // namespace cexec
