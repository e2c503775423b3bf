// Step "choose NUMA": each rank's home NUMA node. A rank with a GPU lives next to it (the GPU's NUMA
// node, else a node of its package); overflow moves to the nearest node with spare cores; ranks
// without a home are spread over packages, then NUMA nodes, in proportion to their cores.
#include "plan_steps.hpp"

#include <map>

namespace cexec::topology::detail {

namespace {

int spare(const PlanState& s, int n) { return s.u.cap[n] - s.count[n]; }

bool package_has_cores(const PlanState& s, int pk) {
  for (size_t n = 0; n < s.m.numas.size(); ++n) {
    if (s.m.numas[n].package == pk && s.u.cap[n] > 0) {
      return true;
    }
  }
  return false;
}

// The node with the most spare cores other than `from_numa`: in package `pk` first, then anywhere.
int nearest_spare(const PlanState& s, int from_numa, int pk) {
  int best = -1;
  for (int pass = 0; pass < 2 && best < 0; ++pass) {
    for (size_t i = 0; i < s.m.numas.size(); ++i) {
      int n = static_cast<int>(i);
      bool same_package = pk >= 0 && s.m.numas[i].package == pk;
      if (n != from_numa && spare(s, n) > 0 && (pass == 1 || same_package) && (best < 0 || spare(s, n) > spare(s, best))) {
        best = n;
      }
    }
  }
  return best;
}

// The GPU's NUMA node when it has usable cores, else its package (a node is picked later).
void homes_next_to_gpus(PlanState& s) {
  for (int r = 0; r < s.ranks() && s.k > 0; ++r) {
    const Gpu& g = s.first_gpu(r);
    int nu = gpu_numa(g);
    int pk = gpu_package(s.m, g);
    if (nu >= 0 && s.u.cap[nu] > 0) {
      s.home[r] = nu;
      ++s.count[nu];
      s.home_why[r] = "next to its GPU";
    } else if (pk >= 0 && package_has_cores(s, pk)) {
      s.home_package[r] = pk;
      s.home_why[r] = nu >= 0 ? "its GPU's NUMA node has no allowed core; same package" : "in its GPU's package";
    } else {
      s.home_why[r] = "its GPU has no allowed core nearby";
    }
  }
}

// More GPU ranks in a NUMA node than cores there: the last ones move to the nearest node with spare cores.
void move_overflow(PlanState& s) {
  for (size_t i = 0; i < s.m.numas.size(); ++i) {
    int n = static_cast<int>(i);
    for (int r = s.ranks() - 1; r >= 0 && s.count[n] > s.u.cap[n]; --r) {
      if (s.home[r] != n) {
        continue;
      }
      int to = nearest_spare(s, n, s.m.numas[i].package);
      if (to < 0) {
        break;
      }
      --s.count[n];
      ++s.count[to];
      s.home[r] = to;
      s.home_why[r] = "its GPU's " + numa_label(s.m, n) + " has more ranks than cores; nearest with spare cores";
    }
  }
}

// Ranks whose GPU is package-local: the node of that package with the most spare cores.
void homes_in_packages(PlanState& s) {
  for (int r = 0; r < s.ranks(); ++r) {
    if (s.home[r] >= 0 || s.home_package[r] < 0) {
      continue;
    }
    int best = -1;
    for (size_t i = 0; i < s.m.numas.size(); ++i) {
      int n = static_cast<int>(i);
      if (s.m.numas[i].package == s.home_package[r] && s.u.cap[n] > 0 && (best < 0 || spare(s, n) > spare(s, best))) {
        best = n;
      }
    }
    if (spare(s, best) <= 0) {
      int other = nearest_spare(s, best, s.home_package[r]);
      best = other >= 0 ? other : best;
    }
    s.home[r] = best;
    ++s.count[best];
  }
}

// Packages in machine order; NUMA nodes without a package form their own group.
std::vector<std::vector<int>> package_groups(const Machine& m) {
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
  return groups;
}

// Ranks without a home: spread over packages, then NUMA nodes, in proportion to spare cores (to all
// cores when there are more ranks than spare cores: then cores are shared).
void spread_the_rest(PlanState& s) {
  std::vector<int> free_ranks;
  for (int r = 0; r < s.ranks(); ++r) {
    if (s.home[r] < 0) {
      free_ranks.push_back(r);
    }
  }
  if (free_ranks.empty()) {
    return;
  }
  long total_spare = 0;
  for (size_t n = 0; n < s.m.numas.size(); ++n) {
    total_spare += std::max(0, spare(s, static_cast<int>(n)));
  }
  bool oversubscribed = static_cast<long>(free_ranks.size()) > total_spare;
  auto weight = [&](int n) -> long { return oversubscribed ? s.u.cap[n] : std::max(0, spare(s, n)); };
  auto groups = package_groups(s.m);
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
        s.home[r] = groups[gi][j];
        ++s.count[s.home[r]];
        if (s.home_why[r].empty()) {
          s.home_why[r] = "spread over packages and NUMA nodes";
        }
      }
    }
  }
}

}  // namespace

void choose_homes(PlanState& s) {
  s.home.assign(s.ranks(), -1);
  s.home_package.assign(s.ranks(), -1);
  s.count.assign(s.m.numas.size(), 0);
  s.home_why.assign(s.ranks(), "");
  homes_next_to_gpus(s);
  move_overflow(s);
  homes_in_packages(s);
  spread_the_rest(s);
}

}  // namespace cexec::topology::detail
