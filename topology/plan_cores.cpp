// Step "choose cores": equal contiguous blocks of whole cores inside each NUMA node (shared evenly
// when a node has more ranks than cores); then the binding mode widens (numa, package) or keeps
// (none) the CPU set, and the memory node follows the CPUs.
#include "plan_steps.hpp"

#include <algorithm>
#include <climits>

namespace cexec::topology::detail {

namespace {

CpuList pus_of(const Usable& u, const std::vector<int>& cores) {
  CpuList out;
  for (int core : cores) {
    out.insert(out.end(), u.core_pus[core].begin(), u.core_pus[core].end());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The ranks living in NUMA node n, ordered by their GPU's locality: only a GPU local to this node
// orders its ranks (its L3 on Frontier-class nodes); the others keep rank order, ahead of them.
std::vector<int> members_of(const PlanState& s, int n) {
  std::vector<int> members;
  for (int r = 0; r < s.ranks(); ++r) {
    if (s.home[r] == n) {
      members.push_back(r);
    }
  }
  auto locality_key = [&](int r) {
    if (s.k == 0) {
      return INT_MAX;
    }
    const Gpu& g = s.first_gpu(r);
    return g.locality.empty() || gpu_numa(g) != n ? -1 : g.locality.front();
  };
  std::stable_sort(members.begin(), members.end(), [&](int a, int b) { return locality_key(a) < locality_key(b); });
  return members;
}

void cores_in_numa(PlanState& s, int n) {
  const Machine& m = s.m;
  std::vector<int> members = members_of(s, n);
  const auto& cores = s.u.numa_cores[n];
  int c = static_cast<int>(cores.size());
  int nr = static_cast<int>(members.size());
  for (int i = 0; i < nr; ++i) {
    RankPlacement& rp = s.p.ranks[members[i]];
    std::vector<int> mine;
    if (nr <= c) {
      int q = c / nr;
      mine.assign(cores.begin() + static_cast<long>(i) * q, cores.begin() + static_cast<long>(i + 1) * q);
    } else {
      mine.push_back(cores[static_cast<long>(i) * c / nr]);
      rp.shared = true;
    }
    rp.cpus = pus_of(s.u, mine);
    rp.cores = static_cast<int>(mine.size());
    std::string where = numa_label(m, n);
    if (m.numas[n].package >= 0) {
      where += " (" + package_label(m, m.numas[n].package) + ")";
    }
    std::string how = rp.shared ? plural(nr, "rank") + " share its " + plural(c, "allowed core") + " evenly"
                                : plural(rp.cores, "core") + " of its " + std::to_string(c) + " allowed, " +
                                      plural(nr, "rank") + " there";
    if (!rp.shared && c - nr * (c / nr) > 0) {
      how += ", " + std::to_string(c - nr * (c / nr)) + " left idle for equal blocks";
    }
    if (s.p.cpu_bind == CpuBind::cores) {
      rp.reasons.push_back("cpu: " + where + ", " + s.home_why[members[i]] + "; " + how);
    }
  }
}

// The NUMA nodes and packages a rank's CPUs touch, and its preferred memory node.
void record_locality(const PlanState& s, RankPlacement& rp) {
  const Machine& m = s.m;
  for (size_t c = 0; c < m.cores.size(); ++c) {
    if (!intersect(s.u.core_pus[c], rp.cpus).empty()) {
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

}  // namespace

void choose_cores(PlanState& s) {
  for (size_t n = 0; n < s.m.numas.size(); ++n) {
    cores_in_numa(s, static_cast<int>(n));
  }
  if (s.ranks() > s.u.total_cores) {
    s.p.notes.push_back(plural(s.ranks(), "rank") + " on " + plural(s.u.total_cores, "allowed core") +
                        (s.p.cpu_bind == CpuBind::none ? ": not bound (cpu-bind=auto binds only ranks that fit)"
                                                       : ": cores are shared evenly"));
  }
}

void apply_bind_mode(PlanState& s) {
  const Machine& m = s.m;
  std::vector<int> all_cores;
  for (size_t c = 0; c < s.u.core_pus.size(); ++c) {
    all_cores.push_back(static_cast<int>(c));
  }
  const CpuList all_allowed = pus_of(s.u, all_cores);
  for (int r = 0; r < s.ranks(); ++r) {
    RankPlacement& rp = s.p.ranks[r];
    int nu = s.home[r];
    rp.cpu_bound = s.p.cpu_bind != CpuBind::none;
    if (s.p.cpu_bind != CpuBind::cores) {
      rp.shared = false;
    }
    if (s.p.cpu_bind == CpuBind::numa) {
      rp.cpus = pus_of(s.u, s.u.numa_cores[nu]);
      rp.cores = s.u.cap[nu];
      rp.reasons.push_back("cpu-bind=numa: all allowed CPUs of " + numa_label(m, nu));
    } else if (s.p.cpu_bind == CpuBind::package) {
      int pk = m.numas[nu].package;
      std::vector<int> cores;
      for (size_t n = 0; n < m.numas.size(); ++n) {
        if (static_cast<int>(n) == nu || (pk >= 0 && m.numas[n].package == pk)) {
          cores.insert(cores.end(), s.u.numa_cores[n].begin(), s.u.numa_cores[n].end());
        }
      }
      rp.cpus = pus_of(s.u, cores);
      rp.cores = static_cast<int>(cores.size());
      rp.reasons.push_back("cpu-bind=package: all allowed CPUs of " + (pk >= 0 ? package_label(m, pk) : numa_label(m, nu)));
    } else if (s.p.cpu_bind == CpuBind::none) {
      rp.cpus = all_allowed;
      rp.cores = s.u.total_cores;
      rp.reasons.push_back("cpu: not bound, the launcher's mask is kept: " + s.p.cpu_bind_reason);
    }
    record_locality(s, rp);
  }
}

}  // namespace cexec::topology::detail
