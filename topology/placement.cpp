// The placement planner; the policy is summarised in placement.hpp and documented in README.md.
#include "placement.hpp"

#include <algorithm>
#include <charconv>
#include <climits>
#include <map>
#include <numeric>

namespace cexec::topology {

namespace {

std::string_view lookup(const std::vector<std::string>& environ, std::string_view name) {
  for (const auto& e : environ) {
    if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=') {
      return std::string_view(e).substr(name.size() + 1);
    }
  }
  return {};
}

bool is_set(const std::vector<std::string>& environ, std::string_view name) {
  for (const auto& e : environ) {
    if (e.size() >= name.size() + 1 && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=') {
      return true;
    }
  }
  return false;
}

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

std::string join(const std::vector<std::string>& v, const char* sep = ",") {
  std::string out;
  for (const auto& s : v) {
    out += (out.empty() ? "" : sep) + s;
  }
  return out;
}

// Largest-remainder apportionment of `total` over `weights` (ties to the lower index).
std::vector<int> apportion(int total, const std::vector<long>& weights) {
  std::vector<int> out(weights.size(), 0);
  long sum = std::accumulate(weights.begin(), weights.end(), 0L);
  if (sum <= 0 || total <= 0) {
    return out;
  }
  std::vector<std::pair<long, size_t>> rem;
  int given = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    long whole = total * weights[i] / sum;
    out[i] = static_cast<int>(whole);
    given += out[i];
    rem.emplace_back(total * weights[i] - whole * sum, i);
  }
  std::stable_sort(rem.begin(), rem.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t k = 0; given < total && k < rem.size(); ++k) {
    if (weights[rem[k].second] > 0) {
      ++out[rem[k].second];
      ++given;
    }
  }
  return out;
}

bool has(const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); }

int nic_tier(NicKind k) {
  switch (k) {
    case NicKind::infiniband:
    case NicKind::slingshot:
    case NicKind::efa:
      return 0;
    case NicKind::roce:
      return 1;
    case NicKind::ethernet:
      return 2;
  }
  return 3;
}

// Everything the planner derives from the machine and the allowed mask.
struct Usable {
  std::vector<CpuList> core_pus;          // per machine core: its allowed PUs
  std::vector<std::vector<int>> numa_cores;  // per NUMA node: its cores with allowed PUs, machine order
  std::vector<int> cap;                   // usable cores per NUMA node
};

Usable usable_cores(const Machine& m, const CpuList& allowed) {
  Usable u;
  u.numa_cores.resize(m.numas.size());
  for (size_t c = 0; c < m.cores.size(); ++c) {
    CpuList pus = allowed.empty() ? m.cores[c].pus : intersect(m.cores[c].pus, allowed);
    if (!pus.empty()) {
      u.numa_cores[m.cores[c].numa].push_back(static_cast<int>(c));
    }
    u.core_pus.push_back(std::move(pus));
  }
  for (const auto& cores : u.numa_cores) {
    u.cap.push_back(static_cast<int>(cores.size()));
  }
  return u;
}

int numa_package(const Machine& m, int numa) { return numa < 0 ? -1 : m.numas[numa].package; }

// A GPU's NUMA node when its locality is exactly one, else -1; its package likewise.
int gpu_numa(const Gpu& g) { return g.numas.size() == 1 ? g.numas[0] : -1; }
int gpu_package(const Machine& m, const Gpu& g) {
  if (g.packages.size() == 1) {
    return g.packages[0];
  }
  return numa_package(m, gpu_numa(g));
}

// The order in which GPUs receive extra load: GPUs next to allowed cores first (their NUMA node, then
// their package), then round-robin over packages and, inside each, over NUMA nodes, so that a few
// ranks land on different sockets. With K GPUs per rank the unit is a block of K GPUs of one NUMA
// node, so that one rank's GPUs stay together.
std::vector<size_t> spread_order(const Machine& m, const std::vector<AllowedGpu>& allowed, const Usable& u, int k) {
  using Block = std::vector<size_t>;
  std::map<int, std::map<int, std::vector<size_t>>> groups;  // package -> numa -> positions
  std::map<int, size_t> package_first;
  std::map<std::pair<int, int>, size_t> numa_first;
  for (size_t p = 0; p < allowed.size(); ++p) {
    const Gpu& g = m.gpus[allowed[p].gpu];
    int pk = gpu_package(m, g);
    int nu = gpu_numa(g);
    groups[pk][nu].push_back(p);
    package_first.try_emplace(pk, p);
    numa_first.try_emplace({pk, nu}, p);
  }
  auto round_robin = [](const std::vector<std::vector<Block>>& lists) {
    std::vector<Block> out;
    for (size_t round = 0;; ++round) {
      bool any = false;
      for (const auto& l : lists) {
        if (round < l.size()) {
          out.push_back(l[round]);
          any = true;
        }
      }
      if (!any) {
        return out;
      }
    }
  };
  std::vector<std::pair<size_t, int>> packages;
  for (const auto& [pk, first] : package_first) {
    packages.emplace_back(first, pk);
  }
  std::sort(packages.begin(), packages.end());
  std::vector<std::vector<Block>> per_package;
  for (const auto& [first, pk] : packages) {
    std::vector<std::pair<size_t, int>> numas;
    for (const auto& [nu, list] : groups[pk]) {
      numas.emplace_back(numa_first[{pk, nu}], nu);
    }
    std::sort(numas.begin(), numas.end());
    std::vector<std::vector<Block>> per_numa;
    for (const auto& [f, nu] : numas) {
      const auto& list = groups[pk][nu];
      std::vector<Block> blocks;
      for (size_t i = 0; i < list.size(); i += static_cast<size_t>(std::max(k, 1))) {
        blocks.emplace_back(list.begin() + static_cast<long>(i),
                            list.begin() + static_cast<long>(std::min(list.size(), i + static_cast<size_t>(std::max(k, 1)))));
      }
      per_numa.push_back(std::move(blocks));
    }
    per_package.push_back(round_robin(per_numa));
  }
  std::vector<size_t> order;
  for (const auto& block : round_robin(per_package)) {
    order.insert(order.end(), block.begin(), block.end());
  }
  auto level = [&](size_t p) {
    const Gpu& g = m.gpus[allowed[p].gpu];
    int nu = gpu_numa(g);
    if (nu >= 0 && u.cap[nu] > 0) {
      return 0;
    }
    int pk = gpu_package(m, g);
    for (size_t n = 0; n < m.numas.size(); ++n) {
      if (pk >= 0 && m.numas[n].package == pk && u.cap[n] > 0) {
        return 1;
      }
    }
    return 2;
  };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return level(a) < level(b); });
  return order;
}

std::string numa_label(const Machine& m, int n) { return "NUMA " + std::to_string(m.numas[n].os_index); }
std::string package_label(const Machine& m, int p) { return "package " + std::to_string(m.packages[p].os_index); }

std::string plural(int n, const char* what) { return std::to_string(n) + " " + what + (n == 1 ? "" : "s"); }

}  // namespace

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

GpuAllowance read_gpu_allowance(const Machine& m, const std::vector<std::string>& environ) {
  GpuAllowance a;
  if (m.gpus.empty()) {
    a.source = "no GPUs on this machine";
    return a;
  }
  GpuVendor vendor = GpuVendor::other;
  for (GpuVendor v : {GpuVendor::nvidia, GpuVendor::amd, GpuVendor::intel}) {
    if (std::any_of(m.gpus.begin(), m.gpus.end(), [v](const Gpu& g) { return g.vendor == v; })) {
      vendor = v;
      break;
    }
  }
  std::vector<int> vendor_gpus;
  for (size_t i = 0; i < m.gpus.size(); ++i) {
    if (m.gpus[i].vendor == vendor) {
      vendor_gpus.push_back(static_cast<int>(i));
    }
  }
  std::sort(vendor_gpus.begin(), vendor_gpus.end(), [&](int x, int y) { return m.gpus[x].index < m.gpus[y].index; });
  auto by_host_index = [&](int host) -> int {
    for (int g : vendor_gpus) {
      if (m.gpus[g].index == host) {
        return g;
      }
    }
    return -1;
  };

  std::vector<std::string_view> candidates;
  if (vendor == GpuVendor::amd) {
    candidates = {"ROCR_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES"};
  } else if (!visible_devices_variable(vendor).empty()) {
    candidates = {visible_devices_variable(vendor)};
  }
  a.variable = std::string(visible_devices_variable(vendor));
  std::string_view var_value;
  bool var_set = false;
  for (auto c : candidates) {
    if (is_set(environ, c)) {
      a.variable = std::string(c);
      var_value = lookup(environ, c);
      var_set = true;
      break;
    }
  }
  std::string_view slurm_name = is_set(environ, "SLURM_STEP_GPUS") ? "SLURM_STEP_GPUS" : "SLURM_JOB_GPUS";
  std::string_view slurm = lookup(environ, slurm_name);
  std::vector<int> slurm_hosts;
  bool slurm_ok = !slurm.empty();
  for (const auto& t : split_list(slurm)) {
    int v = 0;
    slurm_ok = slurm_ok && to_int(t, v);
    slurm_hosts.push_back(v);
  }

  auto add = [&](int host, const std::string& token) {
    int g = by_host_index(host);
    if (g < 0) {
      a.notices.push_back("GPU " + std::to_string(host) + " (from " + a.source + ") is not in the topology; ignored");
      return;
    }
    a.gpus.push_back({g, token});
  };
  if (var_set) {
    a.source = a.variable + "=" + std::string(var_value);
    auto tokens = split_list(var_value);
    bool relative = slurm_ok && slurm_hosts.size() == tokens.size();
    for (size_t i = 0; i < tokens.size(); ++i) {
      int host = 0;
      if (relative) {
        host = slurm_hosts[i];
      } else if (!to_int(tokens[i], host)) {
        a.notices.push_back(a.variable + " entry `" + tokens[i] + "` is not a GPU index (UUIDs and MIG names are not mapped); ignored");
        continue;
      }
      add(host, tokens[i]);
    }
    if (relative) {
      a.source += " (host GPUs " + std::string(slurm_name) + "=" + std::string(slurm) + ")";
    }
  } else if (slurm_ok) {
    a.source = std::string(slurm_name) + "=" + std::string(slurm);
    for (int host : slurm_hosts) {
      add(host, std::to_string(host));
    }
  } else {
    a.source = "all GPUs";
    for (int g : vendor_gpus) {
      a.gpus.push_back({g, std::to_string(m.gpus[g].index)});
    }
  }
  return a;
}

Result<Placement> plan(const Machine& m, const PlanRequest& req) {
  const int n_ranks = req.ranks;
  if (n_ranks < 1) {
    return Failure{ErrorKind::usage, "--ranks " + std::to_string(n_ranks) + ": expected at least 1"};
  }
  if (req.gpus_per_rank < 0) {
    return Failure{ErrorKind::usage, "--gpus-per-rank " + std::to_string(req.gpus_per_rank) + ": expected 0 or more"};
  }
  Usable u = usable_cores(m, req.allowed_cpus);
  int total_cores = std::accumulate(u.cap.begin(), u.cap.end(), 0);
  if (total_cores == 0) {
    return Failure{ErrorKind::usage, "the allowed CPU set " + format_cpu_list(req.allowed_cpus) + " holds no CPU of topology `" +
                                         m.origin + "`"};
  }
  Placement p;
  // auto binds only when every rank can have cores of its own: ranks pinned to shared cores wait
  // for each other (busy-polling MPI ranks above all) where the kernel would balance them, which is
  // why Open MPI, too, stops binding when oversubscribed.
  bool ranks_fit = n_ranks > 1 && n_ranks <= total_cores;
  p.cpu_bind = req.cpu_bind == CpuBind::automatic ? (ranks_fit ? CpuBind::cores : CpuBind::none) : req.cpu_bind;
  p.gpu_bind = req.gpu_bind == GpuBind::automatic ? (n_ranks > 1 ? GpuBind::closest : GpuBind::none) : req.gpu_bind;
  p.gpu_source = req.gpus.source;
  p.gpu_variable = req.gpus.variable;
  p.notes = req.gpus.notices;
  const auto& allowed = req.gpus.gpus;
  int k = req.gpus_per_rank;
  if (k > 0 && allowed.empty()) {
    k = 0;
  }
  if (k > static_cast<int>(allowed.size())) {
    return Failure{ErrorKind::usage, "--gpus-per-rank " + std::to_string(k) + ": only " + std::to_string(allowed.size()) +
                                         " GPUs are allowed (" + req.gpus.source + ")"};
  }
  p.gpus_per_rank = k;
  p.ranks.resize(n_ranks);
  for (int r = 0; r < n_ranks; ++r) {
    p.ranks[r].rank = r;
  }

  // 1. GPU slots: balanced loads, extras spread, rank r takes slot r in host GPU order.
  std::vector<std::vector<size_t>> rank_slots(n_ranks);
  std::vector<int> gpu_load(allowed.size(), 0);
  if (k > 0) {
    long total = static_cast<long>(n_ranks) * k;
    auto order = spread_order(m, allowed, u, k);
    for (size_t i = 0; i < allowed.size(); ++i) {
      gpu_load[order[i]] = static_cast<int>(total / static_cast<long>(allowed.size())) +
                           (static_cast<long>(i) < total % static_cast<long>(allowed.size()) ? 1 : 0);
    }
    std::vector<size_t> slots;
    if (k == 1) {  // neighbouring ranks share a GPU
      for (size_t g = 0; g < allowed.size(); ++g) {
        slots.insert(slots.end(), gpu_load[g], g);
      }
    } else {  // round by round, so that one rank's K GPUs are distinct
      int max_load = *std::max_element(gpu_load.begin(), gpu_load.end());
      for (int round = 0; round < max_load; ++round) {
        for (size_t g = 0; g < allowed.size(); ++g) {
          if (gpu_load[g] > round) {
            slots.push_back(g);
          }
        }
      }
    }
    for (int r = 0; r < n_ranks; ++r) {
      rank_slots[r].assign(slots.begin() + static_cast<long>(r) * k, slots.begin() + static_cast<long>(r + 1) * k);
      std::sort(rank_slots[r].begin(), rank_slots[r].end());
    }
  }

  // 2. Homes: the GPU's NUMA node (or package) when it has usable cores.
  std::vector<int> home(n_ranks, -1);
  std::vector<int> home_package(n_ranks, -1);
  std::vector<int> count(m.numas.size(), 0);
  std::vector<std::string> home_why(n_ranks);
  auto package_has_cores = [&](int pk) {
    for (size_t n = 0; n < m.numas.size(); ++n) {
      if (m.numas[n].package == pk && u.cap[n] > 0) {
        return true;
      }
    }
    return false;
  };
  for (int r = 0; r < n_ranks && k > 0; ++r) {
    const Gpu& g = m.gpus[allowed[rank_slots[r].front()].gpu];
    int nu = gpu_numa(g);
    int pk = gpu_package(m, g);
    if (nu >= 0 && u.cap[nu] > 0) {
      home[r] = nu;
      ++count[nu];
      home_why[r] = "next to its GPU";
    } else if (pk >= 0 && package_has_cores(pk)) {
      home_package[r] = pk;
      home_why[r] = nu >= 0 ? "its GPU's NUMA node has no allowed core; same package" : "in its GPU's package";
    } else {
      home_why[r] = "its GPU has no allowed core nearby";
    }
  }
  // Overflow: more GPU ranks in a NUMA node than cores there move to the nearest node with spare cores.
  auto spare = [&](int n) { return u.cap[n] - count[n]; };
  auto nearest_spare = [&](int from_numa, int pk) {
    int best = -1;
    for (int pass = 0; pass < 2 && best < 0; ++pass) {
      for (size_t n = 0; n < m.numas.size(); ++n) {
        bool same_package = pk >= 0 && m.numas[n].package == pk;
        if (static_cast<int>(n) != from_numa && spare(static_cast<int>(n)) > 0 && (pass == 1 || same_package) &&
            (best < 0 || spare(static_cast<int>(n)) > spare(best))) {
          best = static_cast<int>(n);
        }
      }
    }
    return best;
  };
  for (size_t n = 0; n < m.numas.size(); ++n) {
    for (int r = n_ranks - 1; r >= 0 && count[n] > u.cap[n]; --r) {
      if (home[r] != static_cast<int>(n)) {
        continue;
      }
      int to = nearest_spare(static_cast<int>(n), m.numas[n].package);
      if (to < 0) {
        break;
      }
      --count[n];
      ++count[to];
      home[r] = to;
      home_why[r] = "its GPU's " + numa_label(m, static_cast<int>(n)) + " has more ranks than cores; nearest with spare cores";
    }
  }
  for (int r = 0; r < n_ranks; ++r) {
    if (home[r] >= 0 || home_package[r] < 0) {
      continue;
    }
    int best = -1;
    for (size_t n = 0; n < m.numas.size(); ++n) {
      if (m.numas[n].package == home_package[r] && u.cap[n] > 0 &&
          (best < 0 || spare(static_cast<int>(n)) > spare(best))) {
        best = static_cast<int>(n);
      }
    }
    if (spare(best) <= 0) {
      int other = nearest_spare(best, home_package[r]);
      best = other >= 0 ? other : best;
    }
    home[r] = best;
    ++count[best];
  }
  // Ranks without a home: spread over packages, then NUMA nodes, in proportion to spare cores
  // (to all cores when there are more ranks than spare cores: then cores are shared).
  std::vector<int> free_ranks;
  for (int r = 0; r < n_ranks; ++r) {
    if (home[r] < 0) {
      free_ranks.push_back(r);
    }
  }
  if (!free_ranks.empty()) {
    long total_spare = 0;
    for (size_t n = 0; n < m.numas.size(); ++n) {
      total_spare += std::max(0, spare(static_cast<int>(n)));
    }
    bool oversubscribed = static_cast<long>(free_ranks.size()) > total_spare;
    auto weight = [&](size_t n) -> long { return oversubscribed ? u.cap[n] : std::max(0, spare(static_cast<int>(n))); };
    // Packages in machine order; NUMA nodes without a package form their own group.
    std::vector<std::vector<int>> groups;
    std::map<int, size_t> group_of_package;
    for (size_t n = 0; n < m.numas.size(); ++n) {
      int pk = m.numas[n].package;
      if (pk < 0) {
        groups.push_back({static_cast<int>(n)});
        continue;
      }
      auto [it, inserted] = group_of_package.try_emplace(pk, groups.size());
      if (inserted) {
        groups.emplace_back();
      }
      groups[it->second].push_back(static_cast<int>(n));
    }
    std::vector<long> group_weights;
    for (const auto& grp : groups) {
      long w = 0;
      for (int n : grp) {
        w += weight(n);
      }
      group_weights.push_back(w);
    }
    auto per_group = apportion(static_cast<int>(free_ranks.size()), group_weights);
    size_t next = 0;
    for (size_t gi = 0; gi < groups.size(); ++gi) {
      std::vector<long> w;
      for (int n : groups[gi]) {
        w.push_back(weight(n));
      }
      auto per_numa = apportion(per_group[gi], w);
      for (size_t j = 0; j < groups[gi].size(); ++j) {
        for (int i = 0; i < per_numa[j]; ++i) {
          int r = free_ranks[next++];
          home[r] = groups[gi][j];
          ++count[home[r]];
          if (home_why[r].empty()) {
            home_why[r] = "spread over packages and NUMA nodes";
          }
        }
      }
    }
  }

  // 3. Cores: equal contiguous blocks inside each NUMA node; ranks ordered by their GPU's locality.
  for (size_t n = 0; n < m.numas.size(); ++n) {
    std::vector<int> members;
    for (int r = 0; r < n_ranks; ++r) {
      if (home[r] == static_cast<int>(n)) {
        members.push_back(r);
      }
    }
    if (members.empty()) {
      continue;
    }
    auto locality_key = [&](int r) {
      if (k == 0) {
        return INT_MAX;
      }
      // Only a GPU local to this node orders its ranks (its L3 on Frontier-class nodes); the
      // others keep rank order, ahead of them.
      const Gpu& g = m.gpus[allowed[rank_slots[r].front()].gpu];
      return g.locality.empty() || gpu_numa(g) != static_cast<int>(n) ? -1 : g.locality.front();
    };
    std::stable_sort(members.begin(), members.end(), [&](int a, int b) { return locality_key(a) < locality_key(b); });
    const auto& cores = u.numa_cores[n];
    int c = static_cast<int>(cores.size());
    int nr = static_cast<int>(members.size());
    for (int i = 0; i < nr; ++i) {
      RankPlacement& rp = p.ranks[members[i]];
      std::vector<int> mine;
      if (nr <= c) {
        int q = c / nr;
        for (int j = i * q; j < (i + 1) * q; ++j) {
          mine.push_back(cores[j]);
        }
      } else {
        mine.push_back(cores[static_cast<long>(i) * c / nr]);
        rp.shared = true;
      }
      CpuList cpus;
      for (int core : mine) {
        cpus.insert(cpus.end(), u.core_pus[core].begin(), u.core_pus[core].end());
      }
      std::sort(cpus.begin(), cpus.end());
      rp.cpus = cpus;
      rp.cores = static_cast<int>(mine.size());
      std::string where = numa_label(m, static_cast<int>(n));
      if (m.numas[n].package >= 0) {
        where += " (" + package_label(m, m.numas[n].package) + ")";
      }
      std::string how = rp.shared ? plural(nr, "rank") + " share its " + plural(c, "allowed core") + " evenly"
                                  : plural(rp.cores, "core") + " of its " + std::to_string(c) + " allowed, " +
                                        plural(nr, "rank") + " there";
      if (!rp.shared && c - nr * (c / nr) > 0) {
        how += ", " + std::to_string(c - nr * (c / nr)) + " left idle for equal blocks";
      }
      if (p.cpu_bind == CpuBind::cores) {
        rp.reasons.push_back("cpu: " + where + ", " + home_why[members[i]] + "; " + how);
      }
    }
  }
  if (n_ranks > total_cores) {
    p.notes.push_back(plural(n_ranks, "rank") + " on " + plural(total_cores, "allowed core") +
                      (p.cpu_bind == CpuBind::none ? ": not bound (cpu-bind=auto binds only ranks that fit)"
                                                   : ": cores are shared evenly"));
  }

  // 4. Apply the binding mode to the CPU sets; memory follows the NUMA node.
  CpuList all_allowed;
  for (const auto& pus : u.core_pus) {
    all_allowed.insert(all_allowed.end(), pus.begin(), pus.end());
  }
  std::sort(all_allowed.begin(), all_allowed.end());
  for (int r = 0; r < n_ranks; ++r) {
    RankPlacement& rp = p.ranks[r];
    int nu = home[r];
    rp.cpu_bound = p.cpu_bind != CpuBind::none;
    if (p.cpu_bind != CpuBind::cores) {
      rp.shared = false;
    }
    auto numa_pus = [&](int n) {
      CpuList out;
      for (int core : u.numa_cores[n]) {
        out.insert(out.end(), u.core_pus[core].begin(), u.core_pus[core].end());
      }
      std::sort(out.begin(), out.end());
      return out;
    };
    if (p.cpu_bind == CpuBind::numa) {
      rp.cpus = numa_pus(nu);
      rp.cores = u.cap[nu];
      rp.reasons.push_back("cpu-bind=numa: all allowed CPUs of " + numa_label(m, nu));
    } else if (p.cpu_bind == CpuBind::package) {
      int pk = m.numas[nu].package;
      rp.cpus.clear();
      rp.cores = 0;
      for (size_t n = 0; n < m.numas.size(); ++n) {
        if (static_cast<int>(n) == nu || (pk >= 0 && m.numas[n].package == pk)) {
          auto pus = numa_pus(static_cast<int>(n));
          rp.cpus.insert(rp.cpus.end(), pus.begin(), pus.end());
          rp.cores += u.cap[n];
        }
      }
      std::sort(rp.cpus.begin(), rp.cpus.end());
      rp.reasons.push_back("cpu-bind=package: all allowed CPUs of " + (pk >= 0 ? package_label(m, pk) : numa_label(m, nu)));
    } else if (p.cpu_bind == CpuBind::none) {
      rp.cpus = all_allowed;
      rp.cores = total_cores;
      rp.reasons.push_back("cpu-bind=none: the launcher's mask is kept");
    }
    for (size_t c = 0; c < m.cores.size(); ++c) {
      if (!intersect(u.core_pus[c], rp.cpus).empty()) {
        if (!has(rp.numas, m.cores[c].numa)) {
          rp.numas.push_back(m.cores[c].numa);
        }
        if (!has(rp.packages, m.cores[c].package)) {
          rp.packages.push_back(m.cores[c].package);
        }
      }
    }
    std::sort(rp.numas.begin(), rp.numas.end());
    std::sort(rp.packages.begin(), rp.packages.end());
    rp.memory_numa = rp.cpu_bound && rp.numas.size() == 1 ? rp.numas[0] : -1;
  }

  // 5. GPUs: record and explain.
  for (int r = 0; r < n_ranks; ++r) {
    RankPlacement& rp = p.ranks[r];
    if (k == 0) {
      rp.reasons.push_back(allowed.empty() ? "gpu: none (" + req.gpus.source + ")" : "gpu: none (--gpus-per-rank 0)");
      continue;
    }
    std::vector<std::string> parts;
    for (size_t s : rank_slots[r]) {
      int gi = allowed[s].gpu;
      const Gpu& g = m.gpus[gi];
      rp.gpus.push_back(gi);
      rp.gpu_tokens.push_back(allowed[s].token);
      rp.gpu_ordinals.push_back(static_cast<int>(s));
      int nu = gpu_numa(g);
      std::string where;
      if (nu >= 0 && nu == home[r]) {
        where = "local to its " + numa_label(m, nu);
      } else if (nu >= 0) {
        where = "on " + numa_label(m, nu) + ", not its NUMA node";
      } else if (!g.packages.empty() && has(rp.packages, g.packages.front())) {
        where = "local to its package";
      } else {
        where = "no locality in the topology";
      }
      std::string label = g.names.empty() ? g.pci : gpu_name(g) + " " + g.pci;
      parts.push_back(label + " " + where + ", " + plural(gpu_load[s], "rank") + " on it");
    }
    rp.reasons.push_back("gpu: " + join(parts, "; "));
  }

  // 6. NICs: the preferred kind, nearest first, balanced (loads differ by at most one).
  int best_tier = 3;
  for (const auto& nic : m.nics) {
    best_tier = std::min(best_tier, nic_tier(nic.kind));
  }
  std::vector<int> candidates;
  for (size_t i = 0; i < m.nics.size(); ++i) {
    if (nic_tier(m.nics[i].kind) == best_tier) {
      candidates.push_back(static_cast<int>(i));
    }
  }
  if (!candidates.empty()) {
    int d = static_cast<int>(candidates.size());
    int floor_load = n_ranks / d;
    int extras = n_ranks % d;
    std::vector<int> load(m.nics.size(), 0);
    auto distance = [&](int nic, int r) {
      const Nic& x = m.nics[nic];
      if (has(x.numas, home[r])) {
        return 0;
      }
      if (has(x.packages, numa_package(m, home[r]))) {
        return 1;
      }
      return 2;
    };
    auto pick = [&](int r, auto allowed_load) {
      int best = -1;
      for (int c : candidates) {
        if (!allowed_load(load[c])) {
          continue;
        }
        if (best < 0 || std::make_pair(distance(c, r), load[c]) < std::make_pair(distance(best, r), load[best])) {
          best = c;
        }
      }
      return best;
    };
    std::vector<int> chosen(n_ranks, -1);
    for (int r = 0; r < n_ranks && floor_load > 0; ++r) {
      chosen[r] = pick(r, [&](int l) { return l < floor_load; });
      if (chosen[r] >= 0) {
        ++load[chosen[r]];
      }
    }
    for (int r = 0; r < n_ranks; ++r) {
      if (chosen[r] < 0) {
        chosen[r] = pick(r, [&](int l) { return l == floor_load && extras > 0; });
        if (chosen[r] < 0) {  // cannot happen: phase 1 leaves every NIC at floor_load
          return Failure{ErrorKind::internal, "NIC assignment found no NIC for rank " + std::to_string(r)};
        }
        --extras;
        ++load[chosen[r]];
      }
    }
    static constexpr const char* where[] = {"local to its NUMA node", "in its package", "the nearest with a free slot"};
    for (int r = 0; r < n_ranks; ++r) {
      p.ranks[r].nic = chosen[r];
      const Nic& x = m.nics[chosen[r]];
      p.ranks[r].reasons.push_back("nic: " + nic_name(x) + " (" + std::string(to_string(x.kind)) + ") " +
                                   where[distance(chosen[r], r)] + ", " + plural(load[chosen[r]], "rank") + " on it");
    }
  } else {
    for (auto& rp : p.ranks) {
      rp.reasons.push_back("nic: none in the topology");
    }
  }
  return p;
}

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

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string json_ints(const std::vector<int>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    out += (i ? "," : "") + std::to_string(v[i]);
  }
  return out + "]";
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
  std::string out = "{\"topology\":" + json_string(m.origin) + ",\"summary\":" + json_string(summary(m)) +
                    ",\"ranks\":" + std::to_string(req.ranks) + ",\"cpu_bind\":" + json_string(to_string(p.cpu_bind)) +
                    ",\"gpu_bind\":" + json_string(to_string(p.gpu_bind)) + ",\"gpus_per_rank\":" +
                    std::to_string(p.gpus_per_rank) + ",\"gpu_source\":" + json_string(p.gpu_source) + ",\"notes\":[";
  for (size_t i = 0; i < p.notes.size(); ++i) {
    out += (i ? "," : "") + json_string(p.notes[i]);
  }
  out += "],\"placement\":[";
  for (size_t i = 0; i < p.ranks.size(); ++i) {
    const auto& r = p.ranks[i];
    std::vector<int> numa_os;
    std::vector<int> package_os;
    for (int n : r.numas) {
      numa_os.push_back(m.numas[n].os_index);
    }
    for (int k : r.packages) {
      package_os.push_back(m.packages[k].os_index);
    }
    out += std::string(i ? "," : "") + "{\"rank\":" + std::to_string(r.rank) + ",\"cpus\":" +
           json_string(r.cpu_bound ? format_cpu_list(r.cpus) : "") + ",\"cpu_bound\":" + (r.cpu_bound ? "true" : "false") +
           ",\"cores\":" + std::to_string(r.cores) + ",\"shared\":" + (r.shared ? "true" : "false") + ",\"numa\":" +
           json_ints(numa_os) + ",\"package\":" + json_ints(package_os) + ",\"memory_numa\":" +
           (r.memory_numa >= 0 ? std::to_string(m.numas[r.memory_numa].os_index) : "null") + ",\"gpus\":[";
    for (size_t g = 0; g < r.gpus.size(); ++g) {
      const Gpu& gpu = m.gpus[r.gpus[g]];
      out += std::string(g ? "," : "") + "{\"token\":" + json_string(r.gpu_tokens[g]) + ",\"name\":" +
             json_string(gpu_name(gpu)) + ",\"pci\":" + json_string(gpu.pci) + "}";
    }
    out += "],\"nic\":" + (r.nic >= 0 ? json_string(nic_name(m.nics[r.nic])) : std::string("null")) + ",\"reasons\":[";
    for (size_t k = 0; k < r.reasons.size(); ++k) {
      out += (k ? "," : "") + json_string(r.reasons[k]);
    }
    out += "],\"env\":{";
    auto env = rank_environment(m, p, req, r.rank);
    for (size_t k = 0; k < env.size(); ++k) {
      out += (k ? "," : "") + json_string(env[k].name) + ":" + json_string(env[k].value);
    }
    out += "}}";
  }
  return out + "]}\n";
}

}  // namespace cexec::topology

namespace cexec::topology {

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
