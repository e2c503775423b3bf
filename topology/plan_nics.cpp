// Step "choose NIC": among the most preferred kind present (InfiniBand, Slingshot and EFA, then
// RoCE, then Ethernet), locality first and balance second: a rank's NIC is one of the NICs nearest
// to its traffic's source (its GPU's NUMA node for a GPU rank, since GPU-direct traffic goes from the
// GPU to the NIC; else its own NUMA node), nearest meaning the same NUMA node, else the same package,
// else any; loads are balanced only among those equally near NICs. Crossing the socket costs far
// more bandwidth than sharing a NIC, so a rank never gets a NIC on another package while its own
// package has one.
#include "plan_steps.hpp"

#include <algorithm>

namespace cexec::topology::detail {

namespace {

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

// Where a rank's network traffic starts: its first GPU's NUMA node and package when it has a GPU
// with locality, else its home NUMA node and that node's package.
struct Anchor {
  int numa = -1;
  int package = -1;
  bool gpu = false;
};

Anchor anchor_of(const PlanState& s, int r) {
  if (s.k > 0) {
    const Gpu& g = s.first_gpu(r);
    Anchor a{gpu_numa(g), gpu_package(s.m, g), true};
    if (a.numa >= 0 || a.package >= 0) {
      return a;
    }
  }
  return {s.home[r], numa_package(s.m, s.home[r]), false};
}

// 0: in the anchor's NUMA node; 1: in its package; 2: elsewhere (or no locality known).
int distance(const Nic& nic, const Anchor& a) {
  if (a.numa >= 0 && has(nic.numas, a.numa)) {
    return 0;
  }
  if (a.package >= 0 && has(nic.packages, a.package)) {
    return 1;
  }
  return 2;
}

std::string locality_words(const Machine& m, const Anchor& a, int d, NicKind kind) {
  std::string whose = a.gpu ? "its GPU's " : "its ";
  std::string none_in = "no " + std::string(to_string(kind)) + " NIC in ";
  if (d == 0) {
    return "local to " + whose + numa_label(m, a.numa);
  }
  if (d == 1) {
    return "in " + whose + package_label(m, a.package) + (a.numa >= 0 ? " (" + none_in + numa_label(m, a.numa) + ")" : "");
  }
  if (a.package >= 0) {
    return "on another package (" + none_in + whose + package_label(m, a.package) + ")";
  }
  return "none nearer (no locality known)";
}

}  // namespace

void choose_nics(PlanState& s) {
  const Machine& m = s.m;
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
  if (candidates.empty()) {
    for (auto& rp : s.p.ranks) {
      rp.reasons.push_back("nic: none in the topology");
    }
    return;
  }
  // Each rank's equally near NICs; the most constrained ranks (fewest near NICs) choose first, so
  // that a rank with a choice does not take the only NIC of a rank without one.
  std::vector<std::vector<int>> near(s.ranks());
  std::vector<int> dist(s.ranks(), 2);
  for (int r = 0; r < s.ranks(); ++r) {
    Anchor a = anchor_of(s, r);
    for (int c : candidates) {
      dist[r] = std::min(dist[r], distance(m.nics[c], a));
    }
    for (int c : candidates) {
      if (distance(m.nics[c], a) == dist[r]) {
        near[r].push_back(c);
      }
    }
  }
  std::vector<int> order(s.ranks());
  for (int r = 0; r < s.ranks(); ++r) {
    order[r] = r;
  }
  std::stable_sort(order.begin(), order.end(), [&](int x, int y) { return near[x].size() < near[y].size(); });
  std::vector<int> load(m.nics.size(), 0);
  std::vector<int> chosen(s.ranks(), -1);
  for (int r : order) {  // the least loaded of the nearest; ties to the lower index
    for (int c : near[r]) {
      if (chosen[r] < 0 || load[c] < load[chosen[r]]) {
        chosen[r] = c;
      }
    }
    ++load[chosen[r]];
  }
  for (int r = 0; r < s.ranks(); ++r) {
    const Nic& x = m.nics[chosen[r]];
    s.p.ranks[r].nic = chosen[r];
    std::string among = near[r].size() > 1 ? ", least loaded of " + std::to_string(near[r].size()) + " equally near" : "";
    s.p.ranks[r].reasons.push_back("nic: " + nic_name(x) + " (" + std::string(to_string(x.kind)) + ") " +
                                   locality_words(m, anchor_of(s, r), dist[r], x.kind) + among + ", " +
                                   plural(load[chosen[r]], "rank") + " on it");
  }
}

}  // namespace cexec::topology::detail
