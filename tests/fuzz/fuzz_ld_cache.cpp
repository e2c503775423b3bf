// /etc/ld.so.cache as read from an image (untrusted bytes): old, compat and new formats.
#include "fuzz_input.hpp"
#include "base/ld_cache.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)cexec::parse_ld_cache(cexec::fuzz::as_text(data, size), "image:/etc/ld.so.cache");
  return 0;
}
