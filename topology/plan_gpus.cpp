// Step "choose GPUs": balanced GPU loads, extra load spread over packages and NUMA nodes, rank r
// takes the r-th slot in host GPU order; and the GPU reason lines.
#include "plan_steps.hpp"

#include <algorithm>
#include <map>

namespace cexec::topology::detail {

namespace {

using Block = std::vector<size_t>;

// Interleaves lists: the first of each, then the second of each, ...
std::vector<Block> round_robin(const std::vector<std::vector<Block>>& lists) {
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
}

// Blocks of K allowed positions per NUMA node, round-robin over the NUMA nodes of each package
// (in order of their first GPU), then over packages (likewise).
std::vector<Block> package_numa_blocks(const Machine& m, const std::vector<AllowedGpu>& allowed, int k) {
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
  std::vector<std::pair<size_t, int>> packages;
  for (const auto& [pk, first] : package_first) {
    packages.emplace_back(first, pk);
  }
  std::sort(packages.begin(), packages.end());
  const size_t unit = static_cast<size_t>(std::max(k, 1));
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
      for (size_t i = 0; i < list.size(); i += unit) {
        blocks.emplace_back(list.begin() + static_cast<long>(i), list.begin() + static_cast<long>(std::min(list.size(), i + unit)));
      }
      per_numa.push_back(std::move(blocks));
    }
    per_package.push_back(round_robin(per_numa));
  }
  return round_robin(per_package);
}

// The order in which GPUs receive extra load: GPUs next to allowed cores first (their NUMA node, then
// their package), then round-robin over packages and, inside each, over NUMA nodes, so that a few
// ranks land on different sockets. With K GPUs per rank the unit is a block of K GPUs of one NUMA
// node, so that one rank's GPUs stay together.
std::vector<size_t> spread_order(const Machine& m, const std::vector<AllowedGpu>& allowed, const Usable& u, int k) {
  std::vector<size_t> order;
  for (const auto& block : package_numa_blocks(m, allowed, k)) {
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

}  // namespace

void choose_gpus(PlanState& s) {
  const auto& allowed = s.allowed();
  const int n_ranks = s.ranks();
  const int k = s.k;
  s.rank_slots.assign(n_ranks, {});
  s.gpu_load.assign(allowed.size(), 0);
  if (k == 0) {
    return;
  }
  long total = static_cast<long>(n_ranks) * k;
  auto order = spread_order(s.m, allowed, s.u, k);
  for (size_t i = 0; i < allowed.size(); ++i) {
    s.gpu_load[order[i]] = static_cast<int>(total / static_cast<long>(allowed.size())) +
                           (static_cast<long>(i) < total % static_cast<long>(allowed.size()) ? 1 : 0);
  }
  std::vector<size_t> slots;
  if (k == 1) {  // neighbouring ranks share a GPU
    for (size_t g = 0; g < allowed.size(); ++g) {
      slots.insert(slots.end(), s.gpu_load[g], g);
    }
  } else {  // round by round, so that one rank's K GPUs are distinct
    int max_load = *std::max_element(s.gpu_load.begin(), s.gpu_load.end());
    for (int round = 0; round < max_load; ++round) {
      for (size_t g = 0; g < allowed.size(); ++g) {
        if (s.gpu_load[g] > round) {
          slots.push_back(g);
        }
      }
    }
  }
  for (int r = 0; r < n_ranks; ++r) {
    s.rank_slots[r].assign(slots.begin() + static_cast<long>(r) * k, slots.begin() + static_cast<long>(r + 1) * k);
    std::sort(s.rank_slots[r].begin(), s.rank_slots[r].end());
  }
}

void explain_gpus(PlanState& s) {
  const Machine& m = s.m;
  for (int r = 0; r < s.ranks(); ++r) {
    RankPlacement& rp = s.p.ranks[r];
    if (s.k == 0) {
      rp.reasons.push_back(s.allowed().empty() ? "gpu: none (" + s.req.gpus.source + ")" : "gpu: none (--gpus-per-rank 0)");
      continue;
    }
    std::vector<std::string> parts;
    for (size_t slot : s.rank_slots[r]) {
      int gi = s.allowed()[slot].gpu;
      const Gpu& g = m.gpus[gi];
      rp.gpus.push_back(gi);
      rp.gpu_tokens.push_back(s.allowed()[slot].token);
      rp.gpu_ordinals.push_back(static_cast<int>(slot));
      int nu = gpu_numa(g);
      std::string where;
      if (nu >= 0 && nu == s.home[r]) {
        where = "local to its " + numa_label(m, nu);
      } else if (nu >= 0) {
        where = "on " + numa_label(m, nu) + ", not its NUMA node";
      } else if (!g.packages.empty() && has(rp.packages, g.packages.front())) {
        where = "local to its package";
      } else {
        where = "no locality in the topology";
      }
      std::string label = g.names.empty() ? g.pci : gpu_name(g) + " " + g.pci;
      parts.push_back(label + " " + where + ", " + plural(s.gpu_load[slot], "rank") + " on it");
    }
    rp.reasons.push_back("gpu: " + join(parts, "; "));
  }
}

}  // namespace cexec::topology::detail
