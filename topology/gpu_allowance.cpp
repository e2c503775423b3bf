// Reading the launcher's environment: the binding modes' names, the allowed GPUs (visible-devices
// and SLURM variables) and what the launcher says about its own CPU binding.
#include "plan_steps.hpp"

#include "base/environment.hpp"

#include <algorithm>
#include <charconv>

namespace cexec::topology {

namespace detail {

std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    std::string_view part = s.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    while (!part.empty() && part.front() == ' ') {
      part.remove_prefix(1);
    }
    while (!part.empty() && part.back() == ' ') {
      part.remove_suffix(1);
    }
    if (!part.empty()) {
      out.emplace_back(part);
    }
    if (comma == std::string_view::npos) {
      break;
    }
    start = comma + 1;
  }
  return out;
}

bool to_int(std::string_view s, int& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size() && out >= 0;
}

}  // namespace detail

using detail::split_list;
using detail::to_int;

Result<CpuBind> parse_cpu_bind(std::string_view s) {
  if (s == "auto") return CpuBind::automatic;
  if (s == "none") return CpuBind::none;
  if (s == "cores") return CpuBind::cores;
  if (s == "numa") return CpuBind::numa;
  if (s == "package") return CpuBind::package;
  return Failure{ErrorKind::usage, "--cpu-bind `" + std::string(s) + "`: expected auto, none, cores, numa or package"};
}

Result<GpuBind> parse_gpu_bind(std::string_view s) {
  if (s == "auto") return GpuBind::automatic;
  if (s == "closest") return GpuBind::closest;
  if (s == "none") return GpuBind::none;
  return Failure{ErrorKind::usage, "--gpu-bind `" + std::string(s) + "`: expected auto, closest or none"};
}

std::string_view to_string(CpuBind b) {
  constexpr std::string_view names[] = {"auto", "none", "cores", "numa", "package"};
  return names[static_cast<int>(b)];
}

std::string_view to_string(GpuBind b) {
  constexpr std::string_view names[] = {"auto", "closest", "none"};
  return names[static_cast<int>(b)];
}

std::string_view visible_devices_variable(GpuVendor v) {
  switch (v) {
    case GpuVendor::nvidia:
      return "CUDA_VISIBLE_DEVICES";
    case GpuVendor::amd:
      return "ROCR_VISIBLE_DEVICES";
    case GpuVendor::intel:
      return "ZE_AFFINITY_MASK";
    case GpuVendor::other:
      return "";
  }
  return "";
}

namespace {

// The machine's GPUs of the first vendor present (NVIDIA, AMD, Intel), in host index order.
std::vector<int> vendor_gpus(const Machine& m, GpuVendor& vendor) {
  vendor = GpuVendor::other;
  for (GpuVendor v : {GpuVendor::nvidia, GpuVendor::amd, GpuVendor::intel}) {
    if (std::any_of(m.gpus.begin(), m.gpus.end(), [v](const Gpu& g) { return g.vendor == v; })) {
      vendor = v;
      break;
    }
  }
  std::vector<int> out;
  for (size_t i = 0; i < m.gpus.size(); ++i) {
    if (m.gpus[i].vendor == vendor) {
      out.push_back(static_cast<int>(i));
    }
  }
  std::sort(out.begin(), out.end(), [&](int x, int y) { return m.gpus[x].index < m.gpus[y].index; });
  return out;
}

// The visible-devices variable that is set (AMD: ROCR_, then HIP_), into a.variable; false if none.
bool find_visible_variable(GpuVendor vendor, const std::vector<std::string>& environ, GpuAllowance& a,
                           std::string_view& value) {
  std::vector<std::string_view> candidates;
  if (vendor == GpuVendor::amd) {
    candidates = {"ROCR_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES"};
  } else if (!visible_devices_variable(vendor).empty()) {
    candidates = {visible_devices_variable(vendor)};
  }
  a.variable = std::string(visible_devices_variable(vendor));
  for (auto c : candidates) {
    if (environ_entry(environ, c).has_value()) {
      a.variable = std::string(c);
      value = environ_entry(environ, c).value_or("");
      return true;
    }
  }
  return false;
}

// SLURM's host GPU list (SLURM_STEP_GPUS, else SLURM_JOB_GPUS); `ok` when present and all indexes.
struct SlurmGpus {
  std::string_view name;
  std::string_view value;
  std::vector<int> hosts;
  bool ok = false;
};
SlurmGpus read_slurm_gpus(const std::vector<std::string>& environ) {
  SlurmGpus s;
  s.name = environ_entry(environ, "SLURM_STEP_GPUS").has_value() ? "SLURM_STEP_GPUS" : "SLURM_JOB_GPUS";
  s.value = environ_entry(environ, s.name).value_or("");
  s.ok = !s.value.empty();
  for (const auto& t : split_list(s.value)) {
    int v = 0;
    s.ok = s.ok && to_int(t, v);
    s.hosts.push_back(v);
  }
  return s;
}

}  // namespace

GpuAllowance read_gpu_allowance(const Machine& m, const std::vector<std::string>& environ) {
  GpuAllowance a;
  if (m.gpus.empty()) {
    a.source = "no GPUs on this machine";
    return a;
  }
  GpuVendor vendor = GpuVendor::other;
  const std::vector<int> candidates = vendor_gpus(m, vendor);
  std::string_view var_value;
  bool var_set = find_visible_variable(vendor, environ, a, var_value);
  SlurmGpus slurm = read_slurm_gpus(environ);
  auto add = [&](int host, const std::string& token) {
    auto it = std::find_if(candidates.begin(), candidates.end(), [&](int g) { return m.gpus[g].index == host; });
    if (it == candidates.end()) {
      a.notices.push_back("GPU " + std::to_string(host) + " (from " + a.source + ") is not in the topology; ignored");
      return;
    }
    a.gpus.push_back({*it, token});
  };
  if (var_set) {
    a.source = a.variable + "=" + std::string(var_value);
    auto tokens = split_list(var_value);
    bool relative = slurm.ok && slurm.hosts.size() == tokens.size();
    for (size_t i = 0; i < tokens.size(); ++i) {
      int host = 0;
      if (relative) {
        host = slurm.hosts[i];
      } else if (!to_int(tokens[i], host)) {
        a.notices.push_back(a.variable + " entry `" + tokens[i] + "` is not a GPU index (UUIDs and MIG names are not mapped); ignored");
        continue;
      }
      add(host, tokens[i]);
    }
    if (relative) {
      a.source += " (host GPUs " + std::string(slurm.name) + "=" + std::string(slurm.value) + ")";
    }
  } else if (slurm.ok) {
    a.source = std::string(slurm.name) + "=" + std::string(slurm.value);
    for (int host : slurm.hosts) {
      add(host, std::to_string(host));
    }
  } else {
    a.source = "all GPUs";
    for (int g : candidates) {
      a.gpus.push_back({g, std::to_string(m.gpus[g].index)});
    }
  }
  return a;
}

}  // namespace cexec::topology
