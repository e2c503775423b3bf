// -B/--bind and CEXEC_BIND: SRC[:DST[:ro|rw]], comma lists. An accepted bind has a source, and a
// destination that is empty (same as the source) or absolute.
#include "bind_spec.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto specs = cexec::parse_bind_specs(cexec::fuzz::as_text(data, size));
  if (specs) {
    for (const auto& b : specs.value()) {
      cexec::fuzz::require(!b.source.empty(), "an accepted bind has a source");
      cexec::fuzz::require(b.destination.empty() || b.destination.starts_with('/'), "an accepted destination is absolute");
    }
  }
  return 0;
}
