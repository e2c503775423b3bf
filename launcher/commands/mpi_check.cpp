#include "commands/commands.hpp"

#include "container.hpp"
#include "discovery.hpp"
#include "base/exit_codes.hpp"
#include "host_facts.hpp"
#include "launch_context.hpp"
#include "plan.hpp"

#include <cstdio>
#include <unistd.h>

namespace cexec {

int run_mpi_check(const MpiCheckOptions& options, const Environ& environ) {
  auto policy = mpi_bridge::parse_policy(options.mpi);
  if (!policy || *policy == mpi_bridge::Policy::off || *policy == mpi_bridge::Policy::image) {
    throw Error(ErrorKind::usage, "mpi check --mpi `" + options.mpi + "`: expected host or auto");
  }
  LaunchOptions launch;
  launch.image = options.image;
  launch.command = {"true"};
  launch.verbosity = Verbosity::quiet;
  HostFacts facts = gather_host_facts(launch, environ);
  LaunchPlan plan = value_or_throw(resolve(launch, facts));
  std::string launcher = read_launch_context(facts.environ, ::getppid()).launcher;
  // The image is read in a child that mounts it privately; the report comes back as text, its
  // first character saying compatible ('1') or not ('0').
  std::string reply = run_with_image_root(plan, [&](int image_root) {
    auto bridge = mpi_bridge::run_bridge(facts.environ, launcher, *policy, image_root);
    std::string report = options.json ? mpi_bridge::render_json(bridge.host, bridge.image, bridge.plan)
                                      : mpi_bridge::render_text(bridge.host, bridge.image, bridge.plan);
    return std::string(bridge.plan.compatible ? "1" : "0") + report;
  });
  std::fputs(reply.c_str() + 1, stdout);
  return reply[0] == '1' ? 0 : exit_code_for(ErrorKind::mpi_incompatible);
}

}  // namespace cexec
