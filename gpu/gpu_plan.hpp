// What the GPU module injects into a node instance, planned from facts read once on the host
// (gpu_discovery.hpp) and the image's CUDA runtime version. Pure: the plan is data, printed by
// `cexec check --gpu` and applied by the node instance's builder.
#pragma once

#include "gpu_lists.hpp"
#include "gpu_version.hpp"
#include "base/environment.hpp"
#include "base/mount_op.hpp"

#include <optional>
#include <string>
#include <vector>

namespace cexec::gpu {

// cexec's directories for the injected driver files inside the container.
inline constexpr const char* container_lib_dir = "/.cexec/host/gpu/lib";
inline constexpr const char* container_bin_dir = "/.cexec/host/gpu/bin";
// A generated manifest of what was injected (relative to instance_host_dir).
inline constexpr const char* manifest_file = "gpu/manifest";

// Which host GPU driver stack a launch asks for (--gpu, docs/gpu.md).
enum class Mode { automatic, nvidia, rocm, none };

// What the GPU module adds to a container: binds of the host's driver files, its manifest (a
// generated file), the environment and the notices. The launcher appends it to the node's plan.
struct GpuPlan {
  std::vector<MountOp> mounts;
  std::vector<GeneratedFile> files;  // relative to /.cexec/host
  std::vector<EnvOp> env;
  std::vector<std::string> notices;  // "warn: ..." or "info: ..."
  bool empty() const { return mounts.empty() && files.empty() && env.empty() && notices.empty(); }
};

struct HostFile {
  std::string name;       // library: the name the loader asks for ("libcuda.so.1"); binary: its name;
                          // icd, device, socket: the path as seen from the host's "/"
  std::string host_path;  // the file to bind, host root prefix included, symlinks resolved
  std::string detail;     // library: its release ("535.104.05"); device: "char 195:0"
  bool operator==(const HostFile&) const = default;
};

struct VendorFacts {
  Vendor vendor = Vendor::nvidia;
  bool present = false;              // the kernel driver is loaded (or its device nodes exist)
  std::string presence_evidence;     // what showed it ("/proc/driver/nvidia/version", "/dev/kfd")
  std::optional<Version> driver;     // the kernel driver's release
  std::optional<Version> driver_cuda;  // the newest CUDA the driver supports
  std::string driver_cuda_source;    // "cuDriverGetVersion", "driver table"
  std::vector<HostFile> libraries;
  std::vector<HostFile> binaries;
  std::vector<HostFile> icd;
  std::vector<HostFile> devices;
  std::vector<HostFile> sockets;
  std::vector<std::string> libraries_missing;  // listed base names the host does not have
  std::string library_source;        // "ld.so.cache" or "library directories"
};

struct ImageCuda {
  Version version;
  std::string source;  // the image file it came from
};

struct GpuPlanInputs {
  std::vector<VendorFacts> vendors;         // only the vendors the mode asked for
  std::optional<ImageCuda> image_cuda;
  bool container_dev_is_host_dev = true;    // the plan binds the host's /dev at /dev
  std::string host_root = "/";              // "/" except under the test hook
  std::vector<MountOp> existing_mounts;     // the plan's own mounts (sockets already covered are skipped)
};

// The mounts, manifest, environment and notices for the node instance.
GpuPlan plan_gpu_additions(const GpuPlanInputs& in);

// The text of `cexec check --gpu`: what was found, with versions, what would be injected and where.
std::string describe_gpu_check(const GpuPlanInputs& in, const GpuPlan& additions);

}  // namespace cexec::gpu
