// The kernel-facing half of the GPU module: reads the host's driver files, device nodes and
// versions (under a host root that only test builds can move, docs/gpu.md) and the image's CUDA
// runtime version, once per node instance. Reads only; changes nothing.
#pragma once

#include "gpu_plan.hpp"

#include <optional>
#include <string>
#include <vector>

namespace cexec::gpu {

// The admin's /etc/cexec/gpu-nvidia.conf and gpu-rocm.conf under `root` that exist, as (path,
// text); one not safely owned (root, not group- or world-writable) is an Error(config). Read with
// the other host facts, outside any user namespace.
std::vector<std::pair<std::string, std::string>> read_list_configs(const std::string& root);

// Built-in lists plus the admin's additions among `configs`; a malformed file is an Error(config).
DriverFileList load_file_list(Vendor v, const std::string& root,
                              const std::vector<std::pair<std::string, std::string>>& configs);

VendorFacts discover_vendor(Vendor v, const std::string& root, const std::vector<std::string>& environ,
                            const std::vector<std::pair<std::string, std::string>>& configs);

// The image's CUDA runtime, read relative to its root (an O_PATH directory fd); nullopt when the
// image has none.
std::optional<ImageCuda> read_image_cuda(int image_root);

// Everything the planner needs for `plan`'s --gpu mode. `all_vendors` (cexec check) reports
// vendors the mode would skip. Throws Error(host_unsupported) when --gpu=nvidia or --gpu=rocm
// names a driver the host lacks.
struct GpuRequest {
  Mode mode = Mode::automatic;
  std::string host_root = "/";  // only test builds move it (CEXEC_TEST_GPU_ROOT)
  std::vector<std::pair<std::string, std::string>> list_configs;  // read_list_configs()
  std::vector<std::string> environ;       // the launch's captured environment
  std::vector<MountOp> existing_mounts;   // the launch plan's own mounts
};
// The host side: the vendors' driver files, devices and versions. The image side (its CUDA
// runtime) is read_image_cuda, once the image is mounted.
GpuPlanInputs gather_gpu_inputs(const GpuRequest& request, bool all_vendors = false);
// Whether the image's CUDA runtime matters: an NVIDIA driver is present.
bool wants_image_cuda(const GpuPlanInputs& in);


}  // namespace cexec::gpu
