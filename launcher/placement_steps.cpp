#include "placement_steps.hpp"

#include "apply.hpp"
#include "base/error.hpp"
#include "loader.hpp"
#include "placement.hpp"

#include <cstdio>
#include <unistd.h>

namespace cexec {

namespace {

// Names the user set explicitly: --env, --env-file and CEXEC_ENV_NAME. Placement never touches them.
std::set<std::string> user_set_names(const LaunchPlan& plan) {
  std::set<std::string> out;
  for (const auto& kv : plan.env.cli) {
    out.insert(kv.substr(0, kv.find('=')));
  }
  for (const auto& [path, list] : plan.env.env_files) {
    for (const auto& [k, v] : list) {
      out.insert(k);
    }
  }
  for (const auto& e : plan.env.host) {
    if (e.starts_with("CEXEC_ENV_")) {
      out.insert(e.substr(10, e.find('=') - 10));
    }
  }
  return out;
}

}  // namespace

RankPlacementOutcome place_this_rank(const LaunchPlan& plan, const std::string& topology_text, const LaunchContext& context) {
  RankPlacementOutcome out;
  using namespace topology;
  Machine m = value_or_throw(parse_machine(topology_text, "/.cexec/host/topology"));
  RankRequest in;
  in.local_rank = context.local_rank.value_or(0);
  in.local_size = context.local_size.value_or(1);
  if (in.local_rank >= in.local_size) {  // an inconsistent launcher table: plan this rank alone
    in.local_rank = 0;
    in.local_size = 1;
  }
  in.machine_is_host = plan.topology_file.empty();
  in.affinity = current_affinity();
  in.environ = plan.env.host;
  in.cpu_bind = plan.cpu_bind;
  in.gpu_bind = plan.gpu_bind;
  in.gpus_per_rank = plan.gpus_per_rank;
  in.user_set = user_set_names(plan);
  RankDecision d = value_or_throw(plan_rank(m, in));
  out.lines = d.notices;
  if (d.apply_affinity) {
    apply_affinity(d.row.cpus);
    if (d.row.memory_numa >= 0 && !apply_memory_preference(m.numas[d.row.memory_numa].os_index)) {
      out.lines.push_back("placement: no NUMA support here; memory policy unchanged");
    }
  }
  out.lines.push_back("placement: " + describe_rank(m, d.row) +
                      (d.row.cpu_bound && !d.apply_affinity ? " (affinity not applied)" : ""));
  for (const auto& why : d.row.reasons) {
    out.lines.push_back("placement:   " + why);
  }
  for (const auto& e : d.env) {
    out.env.push_back({e.replace ? EnvOpKind::set : EnvOpKind::set_default, e.name, e.value});
  }
  return out;
}

}  // namespace cexec
