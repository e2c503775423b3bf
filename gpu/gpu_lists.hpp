// The GPU driver files cexec looks for on the host, per vendor: built-in constexpr tables (style
// rule 20) that an admin extends with /etc/cexec/gpu-nvidia.conf or /etc/cexec/gpu-rocm.conf, so a
// new driver's new library needs a config line, not a new cexec. Pure.
#pragma once

#include "base/error.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace cexec::gpu {

enum class Vendor { nvidia, amd };

std::string_view vendor_name(Vendor v);               // "nvidia", "amd"
std::string_view vendor_config_path(Vendor v);        // "/etc/cexec/gpu-nvidia.conf", ...

// What to look for. Libraries are base names ("libcuda"), found as BASE.so.N through the host's
// ld.so.cache; binaries are program names, found in the host's system bin directories; devices and
// icd entries are absolute host paths whose last component may be a glob ("/dev/nvidia[0-9]*");
// sockets are host paths bound where they are when present (files, sockets or directories).
struct DriverFileList {
  std::vector<std::string> libraries;
  std::vector<std::string> binaries;
  std::vector<std::string> devices;
  std::vector<std::string> icd;
  std::vector<std::string> sockets;
  bool operator==(const DriverFileList&) const = default;
};

DriverFileList builtin_file_list(Vendor v);

// The admin's additions, one entry per line under a section header:
//   [libraries]  libnvidia-foo        (a base name: no '/', no ".so")
//   [binaries]   nvidia-bar           (a program name: no '/')
//   [devices]    /dev/nvidia-foo*     (absolute, under /dev/)
//   [icd]        /etc/vulkan/icd.d/nvidia_icd.json   (absolute)
//   [sockets]    /run/nvidia-foo/socket              (absolute)
// '#' starts a comment; blank lines are ignored. Entries already listed are not repeated.
Result<DriverFileList> extend_file_list(DriverFileList base, std::string_view text, std::string_view origin);

// Base names of libraries also bound under their unversioned name (BASE.so), because programs
// dlopen that name (Triton and PyTorch's JIT open "libcuda.so").
bool wants_unversioned_alias(std::string_view base);

}  // namespace cexec::gpu
