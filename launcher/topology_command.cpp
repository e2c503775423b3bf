#include "topology_command.hpp"

#include "apply.hpp"
#include "error.hpp"
#include "loader.hpp"
#include "placement.hpp"

#include <cstdio>
#include <unistd.h>

namespace cexec {

namespace {

std::string env_value(const std::vector<std::string>& environ, std::string_view name) {
  for (const auto& e : environ) {
    if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=') {
      return e.substr(name.size() + 1);
    }
  }
  return "";
}

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

int run_plan_command(const PlanOptions& o, const std::vector<std::string>& environ) {
  using namespace topology;
  std::string file = !o.topology.empty() ? o.topology : env_value(environ, "CEXEC_TOPOLOGY");
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

InstanceAdditions plan_topology_additions(const LaunchPlan& plan, Log& log) {
  InstanceAdditions out;
  auto machine = log.step("topology-load", [&] { return topology::load_machine({plan.topology_file, true}); });
  if (!machine) {
    if (!plan.topology_file.empty()) {
      throw Error(machine.failure());
    }
    out.notices.push_back("warn: placement disabled: " + machine.failure().message);
    return out;
  }
  out.files.push_back({topology_file_name, topology::serialize(machine.value())});
  out.notices.push_back("info: topology " + machine.value().origin + ": " + topology::summary(machine.value()));
  return out;
}

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
