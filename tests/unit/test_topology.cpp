// Placement on stored topologies: golden plans (tests/topology/golden, one per line of cases.txt)
// and invariants checked on every case and on a sweep of rank counts and allowed masks.
#include <boost/test/unit_test.hpp>

#include "machine.hpp"
#include "placement.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

using namespace cexec::topology;
namespace fs = std::filesystem;

namespace {

const fs::path data_dir = CEXEC_TOPOLOGY_TEST_DIR;

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  BOOST_REQUIRE_MESSAGE(in, "cannot read " << p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Machine machine(const std::string& name) {
  auto m = parse_machine(read_text(data_dir / "machines" / (name + ".machine")), name);
  BOOST_REQUIRE_MESSAGE(m, (m ? "" : m.failure().message));
  return m.value();
}

struct Case {
  std::string name;
  std::string topology;
  PlanRequest request;
  std::vector<std::string> environ;
};

std::vector<Case> read_cases() {
  std::vector<Case> out;
  std::istringstream in(read_text(data_dir / "cases.txt"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') {
      continue;
    }
    std::istringstream words(line);
    Case c;
    words >> c.name >> c.topology >> c.request.ranks;
    std::string w;
    while (words >> w) {
      auto eq = w.find('=');
      std::string key = w.substr(0, eq);
      std::string value = w.substr(eq + 1);
      if (key == "env") {
        c.environ.push_back(value);
      } else if (key == "cpus") {
        c.request.allowed_cpus = parse_cpu_list(value).value();
      } else if (key == "cpu-bind") {
        c.request.cpu_bind = parse_cpu_bind(value).value();
      } else if (key == "gpu-bind") {
        c.request.gpu_bind = parse_gpu_bind(value).value();
      } else if (key == "gpus-per-rank") {
        c.request.gpus_per_rank = std::stoi(value);
      } else {
        BOOST_FAIL("cases.txt: unknown key " << key);
      }
    }
    out.push_back(std::move(c));
  }
  return out;
}

bool is_local(const Gpu& g, int numa) { return g.numas.size() == 1 && g.numas[0] == numa; }

// The invariants every plan must satisfy (README "Placement").
void check_invariants(const Machine& m, const PlanRequest& req, const Placement& p, const std::string& what) {
  BOOST_TEST_CONTEXT(what) {
    CpuList all;
    for (const auto& c : m.cores) {
      all.insert(all.end(), c.pus.begin(), c.pus.end());
    }
    std::sort(all.begin(), all.end());
    CpuList allowed = req.allowed_cpus.empty() ? all : intersect(all, req.allowed_cpus);
    BOOST_TEST(p.ranks.size() == static_cast<size_t>(req.ranks));
    bool any_shared = std::any_of(p.ranks.begin(), p.ranks.end(), [](const RankPlacement& r) { return r.shared; });
    std::map<int, int> owner;
    for (const auto& r : p.ranks) {
      BOOST_TEST(!r.cpus.empty());
      BOOST_TEST(contains_all(allowed, r.cpus), "rank " << r.rank << " cpus " << format_cpu_list(r.cpus) << " outside "
                                                          << format_cpu_list(allowed));
      if (p.cpu_bind == CpuBind::cores && !any_shared) {
        for (int c : r.cpus) {
          auto [it, fresh] = owner.emplace(c, r.rank);
          BOOST_TEST(fresh, "cpu " << c << " given to ranks " << it->second << " and " << r.rank);
        }
        BOOST_TEST(r.numas.size() == 1u, "rank " << r.rank << " spans NUMA nodes");
      }
      BOOST_TEST(r.gpus.size() == static_cast<size_t>(p.gpus_per_rank));
      std::vector<int> sorted = r.gpus;
      std::sort(sorted.begin(), sorted.end());
      BOOST_TEST((std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end()), "rank " << r.rank << " has a GPU twice");
    }
    // GPU loads differ by at most one over the allowed GPUs.
    if (p.gpus_per_rank > 0) {
      std::map<int, int> load;
      for (const auto& a : req.gpus.gpus) {
        load[a.gpu] = 0;
      }
      for (const auto& r : p.ranks) {
        for (int g : r.gpus) {
          BOOST_TEST(load.contains(g), "rank " << r.rank << " got a GPU that is not allowed");
          ++load[g];
        }
      }
      auto [lo, hi] = std::minmax_element(load.begin(), load.end(), [](auto& a, auto& b) { return a.second < b.second; });
      BOOST_TEST(hi->second - lo->second <= 1, "GPU loads unbalanced");
      // A rank's GPU is local to its NUMA node whenever that node has room for all the ranks of
      // its GPUs (cpu-bind cores).
      if (p.cpu_bind == CpuBind::cores) {
        std::map<int, int> ranks_for_numa;
        std::map<int, int> cores_in_numa;
        for (const auto& r : p.ranks) {
          const Gpu& g = m.gpus[r.gpus.front()];
          if (g.numas.size() == 1) {
            ++ranks_for_numa[g.numas[0]];
          }
        }
        for (size_t c = 0; c < m.cores.size(); ++c) {
          if (!intersect(m.cores[c].pus, allowed).empty()) {
            ++cores_in_numa[m.cores[c].numa];
          }
        }
        for (const auto& r : p.ranks) {
          const Gpu& g = m.gpus[r.gpus.front()];
          if (g.numas.size() == 1 && ranks_for_numa[g.numas[0]] <= cores_in_numa[g.numas[0]]) {
            BOOST_TEST(is_local(g, r.numas.front()), "rank " << r.rank << "'s GPU " << gpu_name(g) << " is not local");
          }
        }
      }
    }
    // NICs: every rank has one when the machine has any, of the most preferred kind present; locality
    // first (its GPU's NUMA node, else its own; then the package), loads balanced only among equally
    // near NICs: never a NIC on another package while its own package has one.
    if (!m.nics.empty()) {
      auto tier = [](NicKind k) { return k == NicKind::roce ? 1 : k == NicKind::ethernet ? 2 : 0; };
      NicKind kind = m.nics[p.ranks.front().nic].kind;
      std::vector<int> candidates;
      for (size_t i = 0; i < m.nics.size(); ++i) {
        BOOST_TEST(tier(m.nics[i].kind) >= tier(kind), "a more preferred NIC kind was passed over");
        if (tier(m.nics[i].kind) == tier(kind)) {
          candidates.push_back(static_cast<int>(i));
        }
      }
      std::map<int, int> load;
      for (const auto& r : p.ranks) {
        BOOST_TEST_REQUIRE(r.nic >= 0);
        BOOST_TEST((std::find(candidates.begin(), candidates.end(), r.nic) != candidates.end()));
        ++load[r.nic];
      }
      for (const auto& r : p.ranks) {
        int numa = -1;
        if (!r.gpus.empty() && m.gpus[r.gpus.front()].numas.size() == 1) {
          numa = m.gpus[r.gpus.front()].numas[0];
        } else if (r.gpus.empty() && r.cpu_bound && r.numas.size() == 1) {
          numa = r.numas[0];
        }
        if (numa < 0) {
          continue;
        }
        int package = m.numas[numa].package;
        auto distance = [&](int nic) {
          const Nic& x = m.nics[nic];
          bool same_numa = std::find(x.numas.begin(), x.numas.end(), numa) != x.numas.end();
          bool same_package = std::find(x.packages.begin(), x.packages.end(), package) != x.packages.end();
          return same_numa ? 0 : same_package ? 1 : 2;
        };
        for (int c : candidates) {
          BOOST_TEST(distance(r.nic) <= distance(c), "rank " << r.rank << " got " << nic_name(m.nics[r.nic])
                                                               << " while " << nic_name(m.nics[c]) << " is nearer");
          if (distance(c) == distance(r.nic)) {
            BOOST_TEST(load[r.nic] <= load[c] + 1, "rank " << r.rank << ": " << nic_name(m.nics[r.nic]) << " has "
                                                            << load[r.nic] << " ranks, equally near " << nic_name(m.nics[c])
                                                            << " " << load[c]);
          }
        }
      }
    }
  }
}

const char* const machine_names[] = {"dgx-a100", "perlmutter-gpu", "frontier", "dgx2", "power8-4gpu", "lassen-power9",
                                     "turin-h200", "corona-mi25", "aws-g4dn-metal", "2socket-tesla-mlx4", "2socket-noio",
                                     "split-nics-synthetic", "pascal-p100", "corona-8gpu"};

}  // namespace

BOOST_AUTO_TEST_SUITE(topology_placement)

BOOST_AUTO_TEST_CASE(golden_plans_match) {
  auto cases = read_cases();
  BOOST_TEST(cases.size() >= 75u);
  for (auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      Machine m = machine(c.topology);
      c.request.gpus = read_gpu_allowance(m, c.environ);
      c.request.launcher = read_launcher_binding(c.environ);
      auto p = plan(m, c.request);
      BOOST_TEST_REQUIRE(p.has_value(), (p ? "" : p.failure().message));
      std::string text = format_text(m, p.value(), c.request);
      std::string golden = read_text(data_dir / "golden" / (c.name + ".txt"));
      BOOST_TEST(text == golden, "plan differs from golden/" << c.name << ".txt:\n" << text);
      check_invariants(m, c.request, p.value(), c.name);
    }
  }
}

BOOST_AUTO_TEST_CASE(json_output_is_valid_and_says_the_same) {
  for (auto& c : read_cases()) {
    BOOST_TEST_CONTEXT(c.name) {
      Machine m = machine(c.topology);
      c.request.gpus = read_gpu_allowance(m, c.environ);
      c.request.launcher = read_launcher_binding(c.environ);
      Placement p = plan(m, c.request).value();
      auto j = nlohmann::json::parse(format_json(m, p, c.request));
      BOOST_TEST_REQUIRE(j["placement"].size() == p.ranks.size());
      for (size_t r = 0; r < p.ranks.size(); ++r) {
        const auto& row = j["placement"][r];
        BOOST_TEST(row["rank"].get<int>() == static_cast<int>(r));
        if (p.ranks[r].cpu_bound) {
          BOOST_TEST(row["cpus"].get<std::string>() == format_cpu_list(p.ranks[r].cpus));
        }
        BOOST_TEST(row["gpus"].size() == p.ranks[r].gpus.size());
        for (const auto& e : rank_environment(m, p, c.request, static_cast<int>(r))) {
          BOOST_TEST(row["env"][e.name].get<std::string>() == e.value);
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(invariants_hold_over_a_sweep) {
  for (const char* name : machine_names) {
    Machine m = machine(name);
    CpuList all;
    for (const auto& c : m.cores) {
      all.insert(all.end(), c.pus.begin(), c.pus.end());
    }
    std::sort(all.begin(), all.end());
    std::vector<CpuList> masks{{}, CpuList(all.begin(), all.begin() + static_cast<long>(all.size() / 2)), m.numas.back().pus};
    CpuList every_third;
    for (size_t c = 0; c < m.cores.size(); c += 3) {
      every_third.insert(every_third.end(), m.cores[c].pus.begin(), m.cores[c].pus.end());
    }
    std::sort(every_third.begin(), every_third.end());
    masks.push_back(every_third);
    for (const auto& mask : masks) {
      for (int n = 1; n <= 20; ++n) {
        for (int k : {0, 1, 2}) {
          PlanRequest req;
          req.ranks = n;
          req.allowed_cpus = mask;
          req.gpus = read_gpu_allowance(m, {});
          req.gpus_per_rank = k;
          req.cpu_bind = CpuBind::cores;
          auto p = plan(m, req);
          if (k > static_cast<int>(req.gpus.gpus.size()) && !req.gpus.gpus.empty()) {
            BOOST_TEST(!p.has_value());
            continue;
          }
          BOOST_TEST_REQUIRE(p.has_value(), (p ? "" : p.failure().message));
          check_invariants(m, req, p.value(),
                           std::string(name) + " n=" + std::to_string(n) + " k=" + std::to_string(k) + " mask=" + format_cpu_list(mask));
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(each_rank_plans_the_row_cexec_plan_prints) {
  Machine m = machine("dgx-a100");
  std::vector<std::string> env{"CUDA_VISIBLE_DEVICES=1,2,3,4,5"};
  PlanRequest req;
  req.ranks = 6;
  req.gpus = read_gpu_allowance(m, env);
  Placement whole = plan(m, req).value();
  for (int r = 0; r < 6; ++r) {
    RankRequest in;
    in.local_rank = r;
    in.local_size = 6;
    in.machine_is_host = false;
    in.affinity = {0, 1};
    in.environ = env;
    RankDecision d = plan_rank(m, in).value();
    BOOST_TEST(d.row.cpus == whole.ranks[r].cpus);
    BOOST_TEST(d.row.gpus == whole.ranks[r].gpus);
    BOOST_TEST(d.row.nic == whole.ranks[r].nic);
    BOOST_TEST(!d.apply_affinity);  // a stored topology's CPUs are not this process's
    BOOST_TEST(d.notices.size() == 1u);
    BOOST_TEST(d.env == rank_environment(m, whole, req, r));
  }
}

BOOST_AUTO_TEST_CASE(a_host_topology_is_planned_inside_the_mask_and_applied) {
  Machine m = machine("2socket-noio");
  RankRequest in;
  in.local_rank = 1;
  in.local_size = 2;
  in.affinity = parse_cpu_list("4-7,20-23").value();
  RankDecision d = plan_rank(m, in).value();
  BOOST_TEST(d.apply_affinity);
  BOOST_TEST(format_cpu_list(d.row.cpus) == "6-7,22-23");
  BOOST_TEST(d.notices.empty());
  in.local_rank = 2;
  BOOST_TEST(!plan_rank(m, in).has_value());
}

BOOST_AUTO_TEST_CASE(more_ranks_than_cores_are_not_bound_by_auto) {
  // Pinned to shared cores, busy-polling ranks wait for each other; the kernel balances them.
  Machine m = machine("2socket-noio");
  PlanRequest req;
  req.ranks = 4;
  req.allowed_cpus = {0, 1, 16, 17};
  Placement p = plan(m, req).value();
  BOOST_TEST((p.cpu_bind == CpuBind::none));
  for (const auto& r : p.ranks) {
    BOOST_TEST(format_cpu_list(r.cpus) == "0-1,16-17");
  }
  BOOST_TEST(p.notes.size() == 1u);
  BOOST_TEST(p.notes[0].find("not bound") != std::string::npos, p.notes[0]);
  req.ranks = 2;  // ranks that fit get cores of their own
  BOOST_TEST((plan(m, req).value().cpu_bind == CpuBind::cores));
}

BOOST_AUTO_TEST_CASE(the_binding_decision_says_why) {
  LauncherBindingInfo unknown;
  LauncherBindingInfo unbound{LauncherBinding::unbound, "OMPI_MCA_hwloc_base_binding_policy=none"};
  LauncherBindingInfo bound{LauncherBinding::bound, "OMPI_MCA_orte_bound_at_launch=1"};
  // Ranks that fit get cores of their own, whatever the launcher did (--bind-to none hands placement to cexec).
  auto fit = decide_cpu_bind(CpuBind::automatic, 2, 2, unbound);
  BOOST_TEST((fit.mode == CpuBind::cores));
  BOOST_TEST(fit.reason.find("2 ranks on 2 allowed cores") != std::string::npos, fit.reason);
  BOOST_TEST(fit.reason.find("OMPI_MCA_hwloc_base_binding_policy=none") != std::string::npos, fit.reason);
  // Oversubscribed: never pinned to shared cores, with or without a launcher binding.
  for (const auto& l : {unknown, unbound}) {
    auto over = decide_cpu_bind(CpuBind::automatic, 4, 2, l);
    BOOST_TEST((over.mode == CpuBind::none));
    BOOST_TEST(over.reason.find("4 ranks on 2 allowed cores") != std::string::npos, over.reason);
    BOOST_TEST(over.reason.find("not bound") != std::string::npos, over.reason);
    BOOST_TEST(over.reason.find(l.evidence) != std::string::npos, over.reason);
  }
  // Open MPI bound each of 2 ranks to a core: each rank's mask holds 1 core, and that binding is kept.
  auto kept = decide_cpu_bind(CpuBind::automatic, 2, 1, bound);
  BOOST_TEST((kept.mode == CpuBind::none));
  BOOST_TEST(kept.reason == "auto: the launcher bound this rank (OMPI_MCA_orte_bound_at_launch=1) to 1 core, fewer than "
                            "the node's 2 ranks: its binding is kept");
  // A single rank keeps its mask; an explicit mode is taken as it is, even oversubscribed.
  BOOST_TEST((decide_cpu_bind(CpuBind::automatic, 1, 64, unknown).mode == CpuBind::none));
  auto asked = decide_cpu_bind(CpuBind::cores, 4, 2, unknown);
  BOOST_TEST((asked.mode == CpuBind::cores));
  BOOST_TEST(asked.reason == "cpu-bind=cores was asked for");
}

BOOST_AUTO_TEST_CASE(the_launchers_binding_is_read_from_its_variables) {
  auto kind = [](std::vector<std::string> env) { return read_launcher_binding(env).kind; };
  BOOST_TEST((kind({}) == LauncherBinding::unknown));
  BOOST_TEST((kind({"OMPI_MCA_hwloc_base_binding_policy=none"}) == LauncherBinding::unbound));
  BOOST_TEST((kind({"OMPI_MCA_hwloc_base_binding_policy=core", "OMPI_MCA_orte_bound_at_launch=1"}) == LauncherBinding::bound));
  BOOST_TEST((kind({"SLURM_CPU_BIND=quiet,none"}) == LauncherBinding::unbound));
  BOOST_TEST((kind({"SLURM_CPU_BIND_TYPE=none", "SLURM_CPU_BIND=verbose,none"}) == LauncherBinding::unbound));
  BOOST_TEST((kind({"SLURM_CPU_BIND=quiet,cores"}) == LauncherBinding::bound));
  BOOST_TEST((kind({"SLURM_CPU_BIND_TYPE=mask_cpu:"}) == LauncherBinding::bound));
  BOOST_TEST((kind({"SLURM_CPU_BIND=quiet"}) == LauncherBinding::unknown));
  BOOST_TEST(read_launcher_binding({"SLURM_CPU_BIND=quiet,none"}).evidence == "SLURM_CPU_BIND=quiet,none");
}

BOOST_AUTO_TEST_CASE(a_rank_planning_itself_explains_an_oversubscribed_launch) {
  // mpirun --oversubscribe -np 4 on 2 cores: every rank keeps the whole mask, and says why (-v).
  Machine m = machine("2socket-noio");
  RankRequest in;
  in.local_rank = 3;
  in.local_size = 4;
  in.affinity = {0, 16, 1, 17};
  in.environ = {"OMPI_MCA_hwloc_base_binding_policy=none"};
  RankDecision d = plan_rank(m, in).value();
  BOOST_TEST(!d.row.cpu_bound);
  BOOST_TEST(!d.apply_affinity);
  bool said = false;
  for (const auto& why : d.row.reasons) {
    said = said || (why.starts_with("cpu: not bound") && why.find("4 ranks on 2 allowed cores") != std::string::npos &&
                    why.find("binding_policy=none") != std::string::npos);
  }
  BOOST_TEST(said);
  BOOST_TEST((std::none_of(d.env.begin(), d.env.end(), [](const EnvSetting& e) { return e.name == "OMP_NUM_THREADS"; })));
}

BOOST_AUTO_TEST_CASE(a_gpu_without_a_nic_in_its_numa_node_uses_its_packages) {
  // split-nics-synthetic: GPU 1 (NUMA 1, package 0) has no HCA of its own; mlx5_0 (NUMA 0) is in its
  // package, mlx5_1 and mlx5_2 in the other. Balancing first would send rank 1 across the socket.
  Machine m = machine("split-nics-synthetic");
  auto nic_of = [&](int ranks, int gpus_per_rank) {
    PlanRequest req;
    req.ranks = ranks;
    req.gpus = read_gpu_allowance(m, {});
    req.gpus_per_rank = gpus_per_rank;
    Placement p = plan(m, req).value();
    std::vector<std::string> out;
    for (const auto& r : p.ranks) {
      out.push_back(nic_name(m.nics[r.nic]));
    }
    return out;
  };
  BOOST_TEST((nic_of(4, 1) == std::vector<std::string>{"mlx5_0", "mlx5_0", "mlx5_1", "mlx5_2"}));
  BOOST_TEST((nic_of(8, 1) == std::vector<std::string>{"mlx5_0", "mlx5_0", "mlx5_0", "mlx5_0", "mlx5_1", "mlx5_1",
                                                       "mlx5_2", "mlx5_2"}));
  BOOST_TEST((nic_of(4, 0) == std::vector<std::string>{"mlx5_0", "mlx5_0", "mlx5_1", "mlx5_2"}));
  // Only GPUs 1 and 3 allowed: rank 0 (GPU 1) stays in package 0 although mlx5_1 has no load.
  PlanRequest req;
  req.ranks = 2;
  req.gpus = read_gpu_allowance(m, {"CUDA_VISIBLE_DEVICES=1,3"});
  Placement p = plan(m, req).value();
  BOOST_TEST(nic_name(m.nics[p.ranks[0].nic]) == "mlx5_0");
  BOOST_TEST(p.ranks[0].reasons.back().find("in its GPU's package 0 (no infiniband NIC in NUMA 1)") != std::string::npos,
             p.ranks[0].reasons.back());
  BOOST_TEST(nic_name(m.nics[p.ranks[1].nic]) == "mlx5_2");
}

BOOST_AUTO_TEST_CASE(equally_near_nics_share_the_load) {
  // DGX A100: two HCAs per GPU NUMA node; the two ranks of a node's GPUs take one each, and 16
  // ranks put two on every compute HCA (the storage RoCE ports are a less preferred kind).
  Machine m = machine("dgx-a100");
  PlanRequest req;
  req.ranks = 16;
  req.gpus = read_gpu_allowance(m, {});
  Placement p = plan(m, req).value();
  std::map<std::string, int> load;
  for (const auto& r : p.ranks) {
    ++load[nic_name(m.nics[r.nic])];
  }
  BOOST_TEST(load.size() == 8u);
  for (const auto& [nic, n] : load) {
    BOOST_TEST(n == 2, nic);
  }
}

BOOST_AUTO_TEST_CASE(more_ranks_than_cores_share_them_evenly) {
  Machine m = machine("2socket-noio");
  PlanRequest req;
  req.ranks = 4;
  req.cpu_bind = CpuBind::cores;
  req.allowed_cpus = {0, 16, 1, 17};
  std::sort(req.allowed_cpus.begin(), req.allowed_cpus.end());
  Placement p = plan(m, req).value();
  BOOST_TEST(format_cpu_list(p.ranks[0].cpus) == "0,16");
  BOOST_TEST(format_cpu_list(p.ranks[1].cpus) == "0,16");
  BOOST_TEST(format_cpu_list(p.ranks[2].cpus) == "1,17");
  BOOST_TEST(p.ranks[3].shared);
  BOOST_TEST(p.notes.size() == 1u);
  auto env = rank_environment(m, p, req, 0);
  BOOST_TEST((env[0] == EnvSetting{"OMP_NUM_THREADS", "1", false}));
}

BOOST_AUTO_TEST_CASE(impossible_requests_are_refused_with_a_reason) {
  Machine m = machine("dgx-a100");
  PlanRequest req;
  req.ranks = 0;
  BOOST_TEST(plan(m, req).failure().message == "--ranks 0: expected at least 1");
  req.ranks = 2;
  req.allowed_cpus = {1000};
  BOOST_TEST(plan(m, req).failure().message.find("holds no CPU of topology") != std::string::npos);
  req.allowed_cpus = {};
  req.gpus = read_gpu_allowance(m, {"CUDA_VISIBLE_DEVICES=0,1"});
  req.gpus_per_rank = 3;
  BOOST_TEST(plan(m, req).failure().message == "--gpus-per-rank 3: only 2 GPUs are allowed (CUDA_VISIBLE_DEVICES=0,1)");
  BOOST_TEST(!parse_cpu_bind("sockets").has_value());
  BOOST_TEST(!parse_gpu_bind("nearest").has_value());
}

BOOST_AUTO_TEST_CASE(user_variables_are_never_touched) {
  Machine m = machine("dgx-a100");
  PlanRequest req;
  req.ranks = 8;
  req.gpus = read_gpu_allowance(m, {"CUDA_VISIBLE_DEVICES=0,1,2,3,4,5,6,7"});
  req.user_set = {"OMP_NUM_THREADS", "CUDA_VISIBLE_DEVICES", "UCX_NET_DEVICES"};
  Placement p = plan(m, req).value();
  for (const auto& e : rank_environment(m, p, req, 3)) {
    BOOST_TEST(!req.user_set.contains(e.name));
    BOOST_TEST(!e.replace);
  }
  req.user_set.clear();
  auto env = rank_environment(m, p, req, 3);
  auto cvd = std::find_if(env.begin(), env.end(), [](const EnvSetting& e) { return e.name == "CUDA_VISIBLE_DEVICES"; });
  BOOST_TEST_REQUIRE((cvd != env.end()));
  BOOST_TEST(cvd->value == "3");
  BOOST_TEST(cvd->replace);  // narrowing the launcher's list is the one override
}

BOOST_AUTO_TEST_CASE(gpu_allowance_reads_the_launchers_variables) {
  Machine m = machine("dgx-a100");
  auto a = read_gpu_allowance(m, {"CUDA_VISIBLE_DEVICES=0,1", "SLURM_STEP_GPUS=4,5"});
  BOOST_TEST_REQUIRE(a.gpus.size() == 2u);
  BOOST_TEST(m.gpus[a.gpus[0].gpu].index == 4);
  BOOST_TEST(a.gpus[0].token == "0");
  a = read_gpu_allowance(m, {"CUDA_VISIBLE_DEVICES=7,GPU-abc,12"});
  BOOST_TEST(a.gpus.size() == 1u);
  BOOST_TEST(a.notices.size() == 2u);
  a = read_gpu_allowance(m, {"CUDA_VISIBLE_DEVICES="});
  BOOST_TEST(a.gpus.empty());
  Machine f = machine("frontier");
  a = read_gpu_allowance(f, {"HIP_VISIBLE_DEVICES=1"});
  BOOST_TEST(a.variable == "HIP_VISIBLE_DEVICES");
  BOOST_TEST(visible_devices_variable(GpuVendor::amd) == "ROCR_VISIBLE_DEVICES");
  BOOST_TEST(visible_devices_variable(GpuVendor::nvidia) == "CUDA_VISIBLE_DEVICES");
}

BOOST_AUTO_TEST_CASE(machines_match_the_answer_key) {
  // Spot checks of the loader's reading against /work/shared/topologies/README.md.
  Machine d = machine("dgx-a100");
  BOOST_TEST(d.gpus.size() == 8u);  // not the 6 NVSwitches nor the BMC VGA
  BOOST_TEST(d.nics.size() == 13u);
  BOOST_TEST(d.numas[d.gpus[0].numas.at(0)].os_index == 3);
  BOOST_TEST(d.numas[d.gpus[6].numas.at(0)].os_index == 5);
  Machine t = machine("2socket-tesla-mlx4");
  BOOST_TEST(t.gpus.size() == 3u);  // the ES1000 BMC VGA is not a GPU
  BOOST_TEST(t.gpus[0].pci == "0000:06:00.0");
  Machine c = machine("corona-mi25");
  BOOST_TEST(c.gpus.size() == 4u);
  BOOST_TEST((c.gpus[0].vendor == GpuVendor::amd));
  Machine p = machine("perlmutter-gpu");
  BOOST_TEST(p.numas[p.gpus[0].numas.at(0)].os_index == 3);
  BOOST_TEST((p.nics[0].kind == NicKind::slingshot));
  Machine a = machine("aws-g4dn-metal");
  auto efa = std::find_if(a.nics.begin(), a.nics.end(), [](const Nic& n) { return n.kind == NicKind::efa; });
  BOOST_TEST_REQUIRE((efa != a.nics.end()));
  BOOST_TEST(efa->rdma == "rdmap197s0");
  Machine n = machine("2socket-noio");
  BOOST_TEST(n.gpus.empty());
  BOOST_TEST(n.nics.empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(topology_machine_text)

BOOST_AUTO_TEST_CASE(round_trips) {
  for (const char* name : machine_names) {
    std::string text = read_text(data_dir / "machines" / (std::string(name) + ".machine"));
    auto m = parse_machine(text, name);
    BOOST_TEST_REQUIRE(m.has_value());
    BOOST_TEST(serialize(m.value()) == text);
    BOOST_TEST((parse_machine(serialize(m.value()), name).value() == m.value()));
  }
}

BOOST_AUTO_TEST_CASE(damaged_text_is_refused_with_a_line_number) {
  std::string text = read_text(data_dir / "machines" / "perlmutter-gpu.machine");
  // Every truncation fails cleanly (the `end` record is missing) and never crashes.
  for (size_t cut = 0; cut + 5 < text.size(); cut += 7) {
    BOOST_TEST(!parse_machine(text.substr(0, cut), "x").has_value());
  }
  // Flipped bytes either parse or fail with a message; never crash.
  for (size_t i = 0; i < text.size(); i += 3) {
    std::string t = text;
    t[i] = static_cast<char>(t[i] ^ 0x15);
    auto r = parse_machine(t, "x");
    if (!r) {
      BOOST_TEST(r.failure().message.starts_with("topology `x` line "));
    }
  }
  auto r = parse_machine("cexec-topology 1\npackage 0\nnuma 0 0 0-3\ncore 0 5 0\nend\n", "t");
  BOOST_TEST(r.failure().message == "topology `t` line 4: bad core record");
  BOOST_TEST(parse_machine("hello", "t").failure().message.find("not a cexec topology") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(cpu_lists) {
  BOOST_TEST(format_cpu_list({0, 1, 2, 3, 8, 10, 11}) == "0-3,8,10-11");
  BOOST_TEST(format_cpu_list({}) == "");
  BOOST_TEST((parse_cpu_list("3,0-2,2").value() == CpuList{0, 1, 2, 3}));
  BOOST_TEST(!parse_cpu_list("1-").has_value());
  BOOST_TEST(!parse_cpu_list("3-1").has_value());
  BOOST_TEST(!parse_cpu_list("a").has_value());
  BOOST_TEST(!parse_cpu_list("0-99999999").has_value());
}

BOOST_AUTO_TEST_SUITE_END()
