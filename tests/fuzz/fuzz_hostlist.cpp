// SLURM hostlists (SLURM_STEP_NODELIST), SLURM task counts (SLURM_TASKS_PER_NODE) and Open MPI's
// node regex (OMPI_MCA_orte_node_regex): launcher variables, expanded with a bound.
#include "framework_env.hpp"
#include "fuzz_input.hpp"
#include "launch_context.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto text = cexec::fuzz::as_text(data, size);
  constexpr size_t limit = 4096;
  auto hosts = cexec::expand_hostlist(text, limit);
  if (hosts) {
    cexec::fuzz::require(hosts.value().size() <= limit, "expand_hostlist respects its limit");
  }
  auto nodes = cexec::expand_ompi_node_regex(text, limit);
  if (nodes) {
    cexec::fuzz::require(nodes.value().size() <= limit, "expand_ompi_node_regex respects its limit");
  }
  (void)cexec::first_host(text);
  (void)cexec::parse_tasks_per_node(text);
  return 0;
}
