// The topology text form every rank parses (/.cexec/host/topology) and CPU lists; an accepted
// machine serializes back to itself, and planning any rank count on it never crashes.
#include "fuzz_input.hpp"
#include "machine.hpp"
#include "placement.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto text = cexec::fuzz::as_text(data, size);
  (void)cexec::topology::parse_cpu_list(text);
  auto m = cexec::topology::parse_machine(text, "topology");
  if (!m) {
    return 0;
  }
  auto again = cexec::topology::parse_machine(cexec::topology::serialize(m.value()), "topology (serialized)");
  cexec::fuzz::require(again.has_value() && again.value() == m.value(), "parse(serialize(m)) == m");
  cexec::topology::PlanRequest req;
  req.ranks = 1 + static_cast<int>(size % 8);
  (void)cexec::topology::plan(m.value(), req);
  return 0;
}
