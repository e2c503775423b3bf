#include "commands/commands.hpp"

#include "apply.hpp"
#include "launch_context.hpp"
#include "loader.hpp"
#include "placement.hpp"

#include <cstdio>
#include <unistd.h>

namespace cexec {

int run_plan(const PlanOptions& o, const Environ& environ) {
  using namespace topology;
  std::string file = !o.topology.empty() ? o.topology : environ_value(environ, "CEXEC_TOPOLOGY");
  Machine m = value_or_throw(load_machine({file, !o.no_io}));
  if (o.machine) {
    std::fputs(serialize(m).c_str(), stdout);
    return 0;
  }
  PlanRequest req;
  if (o.ranks) {
    req.ranks = *o.ranks;
  } else {
    LaunchContext ctx = read_launch_context(environ, ::getppid());
    req.ranks = ctx.local_size.value_or(1);
  }
  if (req.ranks < 1 || req.ranks > 100000) {
    throw Error(ErrorKind::usage, "--ranks " + std::to_string(req.ranks) + ": expected 1 to 100000");
  }
  if (!o.cpus.empty()) {
    auto cpus = parse_cpu_list(o.cpus);
    if (!cpus || cpus.value().empty()) {
      throw Error(ErrorKind::usage, "--cpus: " + (cpus ? std::string("empty CPU list") : cpus.failure().message));
    }
    req.allowed_cpus = cpus.value();
  } else if (file.empty()) {
    req.allowed_cpus = current_affinity();
  }
  req.gpus = read_gpu_allowance(m, environ);
  req.launcher = read_launcher_binding(environ);
  req.cpu_bind = value_or_throw(parse_cpu_bind(o.cpu_bind));
  req.gpu_bind = value_or_throw(parse_gpu_bind(o.gpu_bind));
  if (o.gpus_per_rank < 0 || o.gpus_per_rank > 1024) {
    throw Error(ErrorKind::usage, "--gpus-per-rank " + std::to_string(o.gpus_per_rank) + ": expected 0 to 1024");
  }
  req.gpus_per_rank = o.gpus_per_rank;
  Placement p = value_or_throw(plan(m, req));
  std::string text = o.json ? format_json(m, p, req) : format_text(m, p, req);
  std::fputs(text.c_str(), stdout);
  return 0;
}

}  // namespace cexec
