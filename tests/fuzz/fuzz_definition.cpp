// Definition files for `cexec build` (Apptainer's format): header and sections.
#include "builder/definition.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)cexec::build::parse_definition(cexec::fuzz::as_text(data, size), "fuzz.def");
  return 0;
}
