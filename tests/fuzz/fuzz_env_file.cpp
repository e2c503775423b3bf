// --env-file text and the node instance's published environment (env ops); what format_env_ops
// writes, parse_env_ops reads back unchanged.
#include "base/environment.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto text = cexec::fuzz::as_text(data, size);
  (void)cexec::parse_env_text(text, "fuzz.env");
  auto ops = cexec::parse_env_ops(text, "fuzz.ops");
  if (ops) {
    auto written = cexec::format_env_ops(ops.value());
    if (written) {
      auto again = cexec::parse_env_ops(written.value(), "fuzz.ops (written)");
      cexec::fuzz::require(again.has_value() && again.value() == ops.value(), "format_env_ops output parses back to the same ops");
    }
  }
  return 0;
}
