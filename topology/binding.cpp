// The binding rule of cpu-bind=auto (decide_cpu_bind) and what the launcher says about its own
// binding (read_launcher_binding); both pure.
#include "plan_steps.hpp"

#include "base/environment.hpp"

namespace cexec::topology {

using detail::plural;

namespace {

std::string evidence(std::string_view name, std::string_view value) { return std::string(name) + "=" + std::string(value); }

// SLURM_CPU_BIND_TYPE is "none", "cores", "threads", "mask_cpu:", "map_ldom:"...; SLURM_CPU_BIND
// adds verbosity: "quiet,none", "verbose,cores".
LauncherBindingInfo from_slurm(const std::vector<std::string>& environ) {
  for (std::string_view name : {"SLURM_CPU_BIND_TYPE", "SLURM_CPU_BIND"}) {
    std::string_view v = environ_entry(environ, name).value_or("");
    if (v.empty()) {
      continue;
    }
    bool none = false;
    bool bound = false;
    for (const auto& word : detail::split_list(v)) {
      if (word == "none" || word == "no") {
        none = true;
      } else if (word != "quiet" && word != "verbose" && word != "q" && word != "v") {
        bound = true;
      }
    }
    if (none || bound) {
      return {none ? LauncherBinding::unbound : LauncherBinding::bound, evidence(name, v)};
    }
  }
  return {};
}

}  // namespace

LauncherBindingInfo read_launcher_binding(const std::vector<std::string>& environ) {
  // Open MPI 4's mpirun exports its binding policy when one was given (--bind-to none: "none") and
  // OMPI_MCA_orte_bound_at_launch=1 when it bound the process (by default: to a core for 2 ranks or
  // fewer, to a package above; nothing when oversubscribed).
  std::string_view policy = environ_entry(environ, "OMPI_MCA_hwloc_base_binding_policy").value_or("");
  if (policy == "none") {
    return {LauncherBinding::unbound, evidence("OMPI_MCA_hwloc_base_binding_policy", policy)};
  }
  std::string_view bound = environ_entry(environ, "OMPI_MCA_orte_bound_at_launch").value_or("");
  if (bound == "1") {
    return {LauncherBinding::bound, evidence("OMPI_MCA_orte_bound_at_launch", bound)};
  }
  return from_slurm(environ);
}

BindDecision decide_cpu_bind(CpuBind requested, int ranks, int allowed_cores, const LauncherBindingInfo& launcher) {
  if (requested != CpuBind::automatic) {
    return {requested, "cpu-bind=" + std::string(to_string(requested)) + " was asked for"};
  }
  std::string said;
  if (launcher.kind == LauncherBinding::unbound) {
    said = "the launcher left ranks unbound (" + launcher.evidence + ")";
  } else if (launcher.kind == LauncherBinding::bound) {
    said = "the launcher bound this rank (" + launcher.evidence + ")";
  }
  std::string where = plural(ranks, "rank") + " on " + plural(allowed_cores, "allowed core");
  if (ranks == 1) {
    return {CpuBind::none, "auto: a single rank keeps the launcher's mask (" + plural(allowed_cores, "core") +
                               ")" + (said.empty() ? "" : "; " + said)};
  }
  if (ranks > allowed_cores && launcher.kind == LauncherBinding::bound) {
    // Each rank plans inside its own mask: the launcher's binding (one core each, say) is the placement.
    return {CpuBind::none, "auto: " + said + " to " + plural(allowed_cores, "core") + ", fewer than the node's " +
                               plural(ranks, "rank") + ": its binding is kept"};
  }
  if (ranks > allowed_cores) {
    // Pinned to shared cores, ranks that busy-poll (MPI progress, NCCL/gloo waits) wait for each
    // other's time slices; unbound, the kernel moves them to whichever core is free. Open MPI binds
    // nothing when oversubscribed for the same reason, so unbound is also the launcher's default.
    // Measured (benchmarks/RESULTS.md "Training"): blocking-wait payloads such as gloo training run
    // faster pinned; busy-polling MPI ranks ran 30x slower or hung. cexec cannot tell which it
    // starts, so it takes the launcher's own default and names the alternative.
    return {CpuBind::none, "auto: " + where + (said.empty() ? "" : ", " + said) +
                               ": not bound (the launcher's default too): busy-polling ranks pinned to shared cores "
                               "wait for each other; --cpu-bind=cores pins them evenly"};
  }
  return {CpuBind::cores, "auto: " + where + (said.empty() ? "" : ", " + said) + ": every rank gets cores of its own"};
}

}  // namespace cexec::topology
