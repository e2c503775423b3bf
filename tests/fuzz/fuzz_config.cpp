// The admin configuration (/etc/cexec/cexec.conf): KEY = VALUE lines.
#include "config.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto text = cexec::fuzz::as_text(data, size);
  (void)cexec::parse_config(text, "fuzz.conf");
  (void)cexec::parse_seconds(text);
  return 0;
}
