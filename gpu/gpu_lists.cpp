#include "gpu_lists.hpp"

#include <algorithm>

namespace cexec::gpu {

namespace {

// The NVIDIA driver's user-space half (compute, management, video, graphics and their loaders'
// vendor libraries), checked against the file list of the 570/580 driver installers and
// nvidia-container-toolkit's list; older names (libnvidia-fatbinaryloader, libnvidia-compiler,
// libnvidia-ifr) stay for older drivers. Each is injected only when the host has it.
constexpr std::string_view nvidia_libraries[] = {
    // compute and management
    "libcuda", "libcudadebugger", "libnvidia-ml", "libnvidia-cfg", "libnvidia-ptxjitcompiler",
    "libnvidia-nvvm", "libnvidia-gpucomp", "libnvidia-opencl", "libnvidia-allocator",
    "libnvidia-pkcs11", "libnvidia-pkcs11-openssl3", "libnvidia-fatbinaryloader", "libnvidia-compiler",
    "libnvidia-sandboxutils",
    // video
    "libnvcuvid", "libnvidia-encode", "libnvidia-opticalflow", "libvdpau_nvidia",
    // graphics, ray tracing, and the GLVND/EGL/Vulkan vendor libraries
    "libnvidia-eglcore", "libnvidia-glcore", "libnvidia-tls", "libnvidia-glsi", "libnvidia-glvkspirv",
    "libnvidia-rtcore", "libnvoptix", "libnvidia-fbc", "libnvidia-ifr", "libnvidia-ngx",
    "libGLX_nvidia", "libEGL_nvidia", "libGLESv2_nvidia", "libGLESv1_CM_nvidia",
    "libnvidia-egl-wayland", "libnvidia-egl-gbm", "libnvidia-egl-xcb", "libnvidia-egl-xlib",
    "libnvidia-vksc-core",
};
constexpr std::string_view nvidia_binaries[] = {
    "nvidia-smi", "nvidia-debugdump", "nvidia-persistenced", "nvidia-cuda-mps-control", "nvidia-cuda-mps-server",
};
constexpr std::string_view nvidia_devices[] = {
    "/dev/nvidiactl", "/dev/nvidia[0-9]*", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools", "/dev/nvidia-modeset",
    "/dev/nvidia-caps/*", "/dev/nvidia-caps-imex-channels/*",
};
// Loader manifests that name the vendor library (by soname, which the injected directory on
// LD_LIBRARY_PATH then provides); bound at the same path inside.
constexpr std::string_view nvidia_icd[] = {
    "/usr/share/glvnd/egl_vendor.d/10_nvidia.json",
    "/etc/vulkan/icd.d/nvidia_icd.json",
    "/usr/share/vulkan/icd.d/nvidia_icd.json",
    "/etc/vulkan/implicit_layer.d/nvidia_layers.json",
    "/usr/share/vulkan/implicit_layer.d/nvidia_layers.json",
    "/etc/OpenCL/vendors/nvidia.icd",
    "/usr/share/egl/egl_external_platform.d/10_nvidia_wayland.json",
    "/usr/share/egl/egl_external_platform.d/15_nvidia_gbm.json",
    "/usr/share/egl/egl_external_platform.d/20_nvidia_xcb.json",
    "/usr/share/egl/egl_external_platform.d/20_nvidia_xlib.json",
};
// nvidia-persistenced's socket (NVML talks to it) and the default MPS pipe directory.
constexpr std::string_view nvidia_sockets[] = {"/run/nvidia-persistenced/socket", "/tmp/nvidia-mps"};

// ROCm's user space mostly lives in the image; these are the pieces that must match the host's
// kernel driver (thunk, DRM) and the management library, as Apptainer's rocmliblist.conf lists.
constexpr std::string_view amd_libraries[] = {
    "libhsakmt", "libhsa-runtime64", "libamdhip64", "libamd_comgr", "librocm_smi64", "libdrm_amdgpu",
    "libdrm", "librocprofiler-register",
};
constexpr std::string_view amd_binaries[] = {"rocm-smi", "rocminfo"};
constexpr std::string_view amd_devices[] = {"/dev/kfd", "/dev/dri/renderD*"};
constexpr std::string_view amd_icd[] = {"/etc/OpenCL/vendors/amdocl64.icd"};

constexpr std::string_view unversioned_aliases[] = {"libcuda", "libnvidia-ml"};

template <size_t N>
std::vector<std::string> to_vector(const std::string_view (&table)[N]) {
  return std::vector<std::string>(std::begin(table), std::end(table));
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// Why `entry` cannot be in `section` ("" when it can).
std::string entry_problem(std::string_view section, std::string_view entry) {
  if (entry.find_first_of(" \t") != std::string_view::npos) {
    return "contains a space";
  }
  if (section == "libraries" || section == "binaries") {
    if (entry.find('/') != std::string_view::npos) {
      return "a " + std::string(section == "libraries" ? "library" : "binary") + " is a name, not a path";
    }
    if (section == "libraries" && entry.find(".so") != std::string_view::npos) {
      return "a library is a base name without .so (libnvidia-foo finds libnvidia-foo.so.N)";
    }
    return "";
  }
  if (!entry.starts_with('/') || entry.find("/..") != std::string_view::npos) {
    return "not an absolute path without ..";
  }
  if (section == "devices" && !entry.starts_with("/dev/")) {
    return "a device must be under /dev/";
  }
  return "";
}

void add_unique(std::vector<std::string>& list, std::string_view entry) {
  if (std::find(list.begin(), list.end(), entry) == list.end()) {
    list.emplace_back(entry);
  }
}

}  // namespace

std::string_view vendor_name(Vendor v) { return v == Vendor::nvidia ? "nvidia" : "amd"; }

std::string_view vendor_config_path(Vendor v) {
  return v == Vendor::nvidia ? "/etc/cexec/gpu-nvidia.conf" : "/etc/cexec/gpu-rocm.conf";
}

DriverFileList builtin_file_list(Vendor v) {
  if (v == Vendor::nvidia) {
    return {to_vector(nvidia_libraries), to_vector(nvidia_binaries), to_vector(nvidia_devices), to_vector(nvidia_icd),
            to_vector(nvidia_sockets)};
  }
  return {to_vector(amd_libraries), to_vector(amd_binaries), to_vector(amd_devices), to_vector(amd_icd), {}};
}

Result<DriverFileList> extend_file_list(DriverFileList list, std::string_view text, std::string_view origin) {
  std::string section;
  size_t line_no = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line = text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    start = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    if (size_t hash = line.find('#'); hash != std::string_view::npos) {
      line = line.substr(0, hash);
    }
    line = trim(line);
    if (line.empty()) {
      continue;
    }
    auto fail = [&](const std::string& why) {
      return Failure{ErrorKind::config, std::string(origin) + ":" + std::to_string(line_no) + ": " + why};
    };
    if (line.front() == '[') {
      if (line.back() != ']') {
        return fail("unterminated section header `" + std::string(line) + "`");
      }
      section = std::string(trim(line.substr(1, line.size() - 2)));
      if (section != "libraries" && section != "binaries" && section != "devices" && section != "icd" &&
          section != "sockets") {
        return fail("unknown section `" + section + "` (expected libraries, binaries, devices, icd or sockets)");
      }
      continue;
    }
    if (section.empty()) {
      return fail('`' + std::string(line) + "` before any [section]");
    }
    if (auto why = entry_problem(section, line); !why.empty()) {
      return fail('`' + std::string(line) + "`: " + why);
    }
    auto& target = section == "libraries" ? list.libraries
                   : section == "binaries" ? list.binaries
                   : section == "devices"  ? list.devices
                   : section == "icd"      ? list.icd
                                           : list.sockets;
    add_unique(target, line);
  }
  return list;
}

bool wants_unversioned_alias(std::string_view base) {
  return std::find(std::begin(unversioned_aliases), std::end(unversioned_aliases), base) != std::end(unversioned_aliases);
}

}  // namespace cexec::gpu
