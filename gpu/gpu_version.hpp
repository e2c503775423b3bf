// Driver and CUDA versions: parsing the places they are written, and the one compatibility rule
// cexec checks (an image's CUDA runtime newer than what the host driver supports). Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cexec::gpu {

struct Version {
  std::vector<int> parts;  // "535.104.05" -> {535, 104, 5}
  std::string text;        // as written
  auto operator<=>(const Version& o) const { return parts <=> o.parts; }
  bool operator==(const Version& o) const { return parts == o.parts; }
};

// Dot-separated decimal numbers ("12.2", "535.104.05"); nullopt for anything else.
std::optional<Version> parse_version(std::string_view text);
// The first two components ("12.2.140" -> "12.2"): CUDA compatibility is decided on major.minor.
Version major_minor(const Version& v);

// cuDriverGetVersion's integer (12020) as "12.2".
std::optional<Version> cuda_from_driver_api(int value);
// /proc/driver/nvidia/version: "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  ...".
std::optional<Version> driver_from_proc_version(std::string_view text);
// The version in a library's file name: "libcuda.so.535.104.05" -> 535.104.05 (nullopt for
// "libcuda.so" or "libcuda.so.1", which name an interface, not a release).
std::optional<Version> version_from_library_name(std::string_view name, int min_parts = 2);
// The newest CUDA a driver release supports, from NVIDIA's table of minimum driver versions per
// toolkit (CUDA release notes, table 3); for a driver newer than the table knows, the newest entry.
// Used when the driver's own libcuda cannot be asked.
std::optional<Version> cuda_supported_by_driver(const Version& driver);

// An image's CUDA runtime version, from /usr/local/cuda/version.json ({"cuda": {"version": "12.2.2"}}),
// version.txt ("CUDA Version 10.2.89") or a libcudart.so.X.Y.Z file name.
std::optional<Version> cuda_from_version_json(std::string_view text);
std::optional<Version> cuda_from_version_txt(std::string_view text);
std::optional<Version> cuda_from_cudart_name(std::string_view name);

// "" when an image built for `runtime` can run on a driver supporting `driver_cuda`; otherwise the
// reason, for a warning (CUDA's minor-version compatibility lets some programs run anyway).
std::string cuda_compatibility_problem(const Version& runtime, const Version& driver_cuda);

}  // namespace cexec::gpu
