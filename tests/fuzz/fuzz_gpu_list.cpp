// The admin's GPU driver file lists (/etc/cexec/gpu-nvidia.conf, gpu-rocm.conf) and GPU versions.
#include "fuzz_input.hpp"
#include "gpu_lists.hpp"
#include "gpu_version.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto text = cexec::fuzz::as_text(data, size);
  using cexec::gpu::Vendor;
  (void)cexec::gpu::extend_file_list(cexec::gpu::builtin_file_list(size % 2 ? Vendor::nvidia : Vendor::amd), text, "gpu.conf");
  (void)cexec::gpu::parse_version(text);
  return 0;
}
