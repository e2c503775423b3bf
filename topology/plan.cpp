// The placement planner: plan() runs the named steps of plan_steps.hpp; the policy is summarised
// in placement.hpp and documented in docs/placement.md.
#include "plan_steps.hpp"

#include <algorithm>
#include <numeric>

namespace cexec::topology {

namespace detail {

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

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) {
    out += (out.empty() ? "" : sep) + s;
  }
  return out;
}

std::string plural(int n, const char* what) { return std::to_string(n) + " " + what + (n == 1 ? "" : "s"); }
std::string numa_label(const Machine& m, int n) { return "NUMA " + std::to_string(m.numas[n].os_index); }
std::string package_label(const Machine& m, int p) { return "package " + std::to_string(m.packages[p].os_index); }
int numa_package(const Machine& m, int numa) { return numa < 0 ? -1 : m.numas[numa].package; }
int gpu_numa(const Gpu& g) { return g.numas.size() == 1 ? g.numas[0] : -1; }

int gpu_package(const Machine& m, const Gpu& g) {
  if (g.packages.size() == 1) {
    return g.packages[0];
  }
  return numa_package(m, gpu_numa(g));
}

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
  u.total_cores = std::accumulate(u.cap.begin(), u.cap.end(), 0);
  return u;
}

}  // namespace detail

Result<Placement> plan(const Machine& m, const PlanRequest& req) {
  using namespace detail;
  const int n_ranks = req.ranks;
  if (n_ranks < 1) {
    return Failure{ErrorKind::usage, "--ranks " + std::to_string(n_ranks) + ": expected at least 1"};
  }
  if (req.gpus_per_rank < 0) {
    return Failure{ErrorKind::usage, "--gpus-per-rank " + std::to_string(req.gpus_per_rank) + ": expected 0 or more"};
  }
  PlanState s(m, req, usable_cores(m, req.allowed_cpus));
  if (s.u.total_cores == 0) {
    return Failure{ErrorKind::usage, "the allowed CPU set " + format_cpu_list(req.allowed_cpus) + " holds no CPU of topology `" +
                                         m.origin + "`"};
  }
  const auto& allowed = req.gpus.gpus;
  s.k = allowed.empty() ? 0 : req.gpus_per_rank;
  if (s.k > static_cast<int>(allowed.size())) {
    return Failure{ErrorKind::usage, "--gpus-per-rank " + std::to_string(s.k) + ": only " + std::to_string(allowed.size()) +
                                         " GPUs are allowed (" + req.gpus.source + ")"};
  }
  BindDecision bind = decide_cpu_bind(req.cpu_bind, n_ranks, s.u.total_cores, req.launcher);
  s.p.cpu_bind = bind.mode;
  s.p.cpu_bind_reason = bind.reason;
  s.p.gpu_bind = req.gpu_bind == GpuBind::automatic ? (n_ranks > 1 ? GpuBind::closest : GpuBind::none) : req.gpu_bind;
  s.p.gpu_source = req.gpus.source;
  s.p.gpu_variable = req.gpus.variable;
  s.p.notes = req.gpus.notices;
  s.p.gpus_per_rank = s.k;
  s.p.ranks.resize(n_ranks);
  for (int r = 0; r < n_ranks; ++r) {
    s.p.ranks[r].rank = r;
  }
  choose_gpus(s);
  choose_homes(s);
  choose_cores(s);
  apply_bind_mode(s);
  explain_gpus(s);
  choose_nics(s);
  return std::move(s.p);
}

}  // namespace cexec::topology
