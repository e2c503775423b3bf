// The plan's outputs: each rank's environment, the `cexec -v` line, `cexec plan` text and JSON
// (nlohmann-json), and plan_rank (one rank planning itself).
#include "plan_steps.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace cexec::topology {

using detail::join;
using detail::plural;

std::vector<EnvSetting> rank_environment(const Machine& m, const Placement& p, const PlanRequest& req, int rank) {
  std::vector<EnvSetting> out;
  if (rank < 0 || rank >= static_cast<int>(p.ranks.size())) {
    return out;
  }
  const RankPlacement& rp = p.ranks[rank];
  auto add = [&](std::string name, std::string value, bool replace = false) {
    if (!req.user_set.contains(name)) {
      out.push_back({std::move(name), std::move(value), replace});
    }
  };
  if (rp.cpu_bound) {
    add("OMP_NUM_THREADS", std::to_string(rp.shared ? 1 : std::max(1, rp.cores)));
    add("OMP_PLACES", "cores");
    add("OMP_PROC_BIND", "close");
  }
  if (!rp.gpus.empty()) {
    std::vector<std::string> ordinals;
    if (p.gpu_bind == GpuBind::closest && !p.gpu_variable.empty()) {
      add(p.gpu_variable, join(rp.gpu_tokens), true);
      for (size_t i = 0; i < rp.gpus.size(); ++i) {
        ordinals.push_back(std::to_string(i));
      }
    } else {
      for (int o : rp.gpu_ordinals) {
        ordinals.push_back(std::to_string(o));
      }
    }
    add("CEXEC_GPU_DEVICE", join(ordinals));
  }
  if (rp.nic >= 0) {
    const Nic& nic = m.nics[rp.nic];
    add("CEXEC_NIC", nic_name(nic));
    if ((nic.kind == NicKind::infiniband || nic.kind == NicKind::roce) && !nic.rdma.empty()) {
      // UCX names an RDMA device with its port; NCCL's leading "=" asks for an exact name, so that
      // mlx5_1 does not also select mlx5_10 and mlx5_11.
      add("UCX_NET_DEVICES", nic.rdma + ":1");
      add("NCCL_IB_HCA", "=" + nic.rdma + ":1");
    } else if (nic.kind == NicKind::ethernet && !nic.netdev.empty()) {
      add("UCX_NET_DEVICES", nic.netdev);
      add("NCCL_SOCKET_IFNAME", "=" + nic.netdev);
    }
  }
  return out;
}

namespace {

std::string pad(std::string s, size_t w) {
  if (s.size() < w) {
    s.append(w - s.size(), ' ');
  }
  return s;
}

std::string index_list(const Machine& m, const std::vector<int>& idx, bool numa) {
  std::vector<std::string> parts;
  for (int i : idx) {
    parts.push_back(std::to_string(numa ? m.numas[i].os_index : m.packages[i].os_index));
  }
  return parts.empty() ? "-" : join(parts);
}

}  // namespace

std::string describe_rank(const Machine& m, const RankPlacement& r) {
  std::string gpus;
  for (int g : r.gpus) {
    gpus += (gpus.empty() ? "" : ",") + gpu_name(m.gpus[g]);
  }
  return "rank " + std::to_string(r.rank) + ": cpus " + (r.cpu_bound ? format_cpu_list(r.cpus) : "unchanged") + " numa " +
         index_list(m, r.numas, true) + " mem " + (r.memory_numa >= 0 ? std::to_string(m.numas[r.memory_numa].os_index) : "-") +
         " gpu " + (gpus.empty() ? "-" : gpus) + " nic " + (r.nic >= 0 ? nic_name(m.nics[r.nic]) : "-");
}

std::string format_text(const Machine& m, const Placement& p, const PlanRequest& req) {
  std::string out = "topology: " + m.origin + ": " + summary(m) + "\n";
  out += "request: " + plural(req.ranks, "rank") + ", cpu-bind=" + std::string(to_string(p.cpu_bind)) +
         ", gpu-bind=" + std::string(to_string(p.gpu_bind)) + ", gpus-per-rank=" + std::to_string(p.gpus_per_rank) +
         ", allowed cpus " + (req.allowed_cpus.empty() ? "all" : format_cpu_list(req.allowed_cpus)) + ", GPUs from " +
         p.gpu_source + "\n";
  out += "binding: " + p.cpu_bind_reason + "\n";
  for (const auto& n : p.notes) {
    out += "note: " + n + "\n";
  }
  out += pad("rank", 6) + pad("package", 9) + pad("numa", 6) + pad("mem", 5) + pad("cores", 7) + pad("cpus", 22) +
         pad("gpu", 14) + "nic\n";
  for (const auto& r : p.ranks) {
    std::string gpus;
    for (size_t i = 0; i < r.gpus.size(); ++i) {
      gpus += (i ? "," : "") + r.gpu_tokens[i];
    }
    std::string cores = std::to_string(r.cores) + (r.shared ? "s" : "");
    out += pad(std::to_string(r.rank), 6) + pad(index_list(m, r.packages, false), 9) + pad(index_list(m, r.numas, true), 6) +
           pad(r.memory_numa >= 0 ? std::to_string(m.numas[r.memory_numa].os_index) : "-", 5) + pad(cores, 7) +
           pad(r.cpu_bound ? format_cpu_list(r.cpus) : "(unchanged)", 22) + pad(gpus.empty() ? "-" : gpus, 14) +
           (r.nic >= 0 ? nic_name(m.nics[r.nic]) : "-") + "\n";
  }
  for (const auto& r : p.ranks) {
    out += "rank " + std::to_string(r.rank) + ":\n";
    for (const auto& why : r.reasons) {
      out += "  " + why + "\n";
    }
    std::string env;
    for (const auto& e : rank_environment(m, p, req, r.rank)) {
      env += (env.empty() ? "" : " ") + e.name + (e.replace ? "=" : "?=") + e.value;
    }
    out += "  env: " + (env.empty() ? "-" : env) + "\n";
  }
  return out;
}

std::string format_json(const Machine& m, const Placement& p, const PlanRequest& req) {
  using json = nlohmann::ordered_json;
  auto os_indexes = [&](const std::vector<int>& idx, bool numa) {
    json out = json::array();
    for (int i : idx) {
      out.push_back(numa ? m.numas[i].os_index : m.packages[i].os_index);
    }
    return out;
  };
  json ranks = json::array();
  for (const auto& r : p.ranks) {
    json gpus = json::array();
    for (size_t g = 0; g < r.gpus.size(); ++g) {
      const Gpu& gpu = m.gpus[r.gpus[g]];
      gpus.push_back({{"token", r.gpu_tokens[g]}, {"name", gpu_name(gpu)}, {"pci", gpu.pci}});
    }
    json env = json::object();
    for (const auto& e : rank_environment(m, p, req, r.rank)) {
      env[e.name] = e.value;
    }
    ranks.push_back({{"rank", r.rank},
                     {"cpus", r.cpu_bound ? format_cpu_list(r.cpus) : ""},
                     {"cpu_bound", r.cpu_bound},
                     {"cores", r.cores},
                     {"shared", r.shared},
                     {"numa", os_indexes(r.numas, true)},
                     {"package", os_indexes(r.packages, false)},
                     {"memory_numa", r.memory_numa >= 0 ? json(m.numas[r.memory_numa].os_index) : json(nullptr)},
                     {"gpus", gpus},
                     {"nic", r.nic >= 0 ? json(nic_name(m.nics[r.nic])) : json(nullptr)},
                     {"reasons", r.reasons},
                     {"env", env}});
  }
  json out = {{"topology", m.origin},
              {"summary", summary(m)},
              {"ranks", req.ranks},
              {"cpu_bind", to_string(p.cpu_bind)},
              {"cpu_bind_reason", p.cpu_bind_reason},
              {"gpu_bind", to_string(p.gpu_bind)},
              {"gpus_per_rank", p.gpus_per_rank},
              {"gpu_source", p.gpu_source},
              {"notes", p.notes},
              {"placement", ranks}};
  // A file name that is not UTF-8 (the topology's origin) is written with U+FFFD, not refused.
  return out.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<RankDecision> plan_rank(const Machine& m, const RankRequest& in) {
  RankDecision d;
  if (in.local_size < 1 || in.local_rank < 0 || in.local_rank >= in.local_size) {
    return Failure{ErrorKind::usage, "local rank " + std::to_string(in.local_rank) + " of " + std::to_string(in.local_size) +
                                         ": not a valid node-local rank"};
  }
  d.request.ranks = in.local_size;
  d.request.allowed_cpus = in.machine_is_host ? in.affinity : CpuList{};
  d.request.gpus = read_gpu_allowance(m, in.environ);
  d.request.cpu_bind = in.cpu_bind;
  d.request.gpu_bind = in.gpu_bind;
  d.request.gpus_per_rank = in.gpus_per_rank;
  d.request.user_set = in.user_set;
  d.request.launcher = read_launcher_binding(in.environ);
  auto planned = plan(m, d.request);
  if (!planned) {
    return planned.failure();
  }
  d.placement = std::move(planned).value();
  d.row = d.placement.ranks[in.local_rank];
  d.env = rank_environment(m, d.placement, d.request, in.local_rank);
  for (const auto& n : d.placement.notes) {
    d.notices.push_back("info: placement: " + n);
  }
  if (d.row.cpu_bound) {
    d.apply_affinity = contains_all(in.affinity, d.row.cpus);
    if (!d.apply_affinity) {
      d.notices.push_back("info: placement: rank " + std::to_string(in.local_rank) + "'s planned CPUs " +
                          format_cpu_list(d.row.cpus) + " are not all in its affinity mask " + format_cpu_list(in.affinity) +
                          " (topology `" + m.origin + "` is not this host's): CPU and memory binding skipped, environment exported");
    }
  }
  return d;
}

}  // namespace cexec::topology
