// Unit tests for framework_env.hpp: SLURM's hostlist syntax, Open MPI's HNP URI, the job-derived
// port, and the variables each rank gets under mpirun, srun and no launcher. Environments are
// literal vectors (Open MPI 4.1.4's and SLURM 22.05's own formats); nothing reads this process's environment.
#include "framework_env.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>

#include <string>
#include <vector>

namespace cexec {
namespace {

using Env = std::vector<std::string>;
using Hosts = std::vector<std::string>;

Hosts expand(std::string_view text) {
  auto r = expand_hostlist(text);
  BOOST_REQUIRE_MESSAGE(r.has_value(), std::string(text) + ": " + (r ? "" : r.failure().message));
  return r.value();
}

std::string value_of(const FrameworkEnv& f, std::string_view name) {
  for (const auto& op : f.ops) {
    if (op.name == name) {
      BOOST_TEST((op.kind == EnvOpKind::set_default));
      return op.value;
    }
  }
  return "<unset>";
}

BOOST_AUTO_TEST_SUITE(framework_env)

BOOST_AUTO_TEST_CASE(hostlist_plain_names_and_commas) {
  BOOST_TEST(expand("vm") == (Hosts{"vm"}));
  BOOST_TEST(expand("a,b,c") == (Hosts{"a", "b", "c"}));
  BOOST_TEST(expand("login-1.cluster") == (Hosts{"login-1.cluster"}));
}

BOOST_AUTO_TEST_CASE(hostlist_ranges_lists_and_padding) {
  BOOST_TEST(expand("node[01-04,07],gpu5") == (Hosts{"node01", "node02", "node03", "node04", "node07", "gpu5"}));
  BOOST_TEST(expand("n[8-10]") == (Hosts{"n8", "n9", "n10"}));
  BOOST_TEST(expand("n[08-10]") == (Hosts{"n08", "n09", "n10"}));
  BOOST_TEST(expand("n[007]") == (Hosts{"n007"}));
  BOOST_TEST(expand("tux[1-2]-ib") == (Hosts{"tux1-ib", "tux2-ib"}));
  BOOST_TEST(expand("a[1,3],b[2-3]") == (Hosts{"a1", "a3", "b2", "b3"}));
}

BOOST_AUTO_TEST_CASE(hostlist_several_groups_leftmost_slowest) {
  BOOST_TEST(expand("rack[1-2]-n[01-02]") == (Hosts{"rack1-n01", "rack1-n02", "rack2-n01", "rack2-n02"}));
  BOOST_TEST(expand("c[1-2]s[0,2]n1") == (Hosts{"c1s0n1", "c1s2n1", "c2s0n1", "c2s2n1"}));
}

BOOST_AUTO_TEST_CASE(first_host_without_expanding) {
  BOOST_TEST(first_host("node[01-04,07],gpu5").value() == "node01");
  BOOST_TEST(first_host("gpu5,node[01-04]").value() == "gpu5");
  BOOST_TEST(first_host("rack[3-4]-n[009-100]").value() == "rack3-n009");
  BOOST_TEST(first_host("n[0-999999999999]").value() == "n0");
}

BOOST_AUTO_TEST_CASE(hostlist_bad_input_names_the_reason) {
  struct Bad {
    const char* text;
    const char* why;
  };
  for (const Bad& b : {Bad{"node[1-2", "unmatched `[`"}, Bad{"node1-2]", "unmatched `]`"},
                       Bad{"node[a-b]", "not a list of numbers"}, Bad{"node[4-2]", "runs backwards"},
                       Bad{"a,,b", "empty host name"}, Bad{"", "empty host name"}, Bad{"n[[1]]", "nested"},
                       Bad{"n[]", "not a list of numbers"}, Bad{"n[1-]", "not a list of numbers"}}) {
    auto r = expand_hostlist(b.text);
    BOOST_REQUIRE_MESSAGE(!r.has_value(), b.text);
    BOOST_TEST(r.failure().message.find(b.why) != std::string::npos, b.text << ": " << r.failure().message);
    BOOST_TEST(r.failure().message.find(std::string("`") + b.text + "`") != std::string::npos);
    BOOST_TEST(!first_host(b.text).has_value(), b.text);
  }
}

BOOST_AUTO_TEST_CASE(hostlist_limit_refuses_huge_lists) {
  BOOST_TEST(!expand_hostlist("n[0-999999999]").has_value());
  BOOST_TEST(!expand_hostlist("a[1-100]b[1-100]", 9999).has_value());
  BOOST_TEST(expand_hostlist("a[1-100]b[1-100]", 10000).value().size() == 10000u);
}

BOOST_AUTO_TEST_CASE(ompi_uri_hosts) {
  BOOST_TEST(host_of_ompi_uri("2018115584.0;tcp://192.0.2.2:55739;tcp6://[fd00::2]:44827").value() == "192.0.2.2");
  BOOST_TEST(host_of_ompi_uri("123.0;tcp://10.0.0.1,10.1.0.1:4000").value() == "10.0.0.1");
  BOOST_TEST(host_of_ompi_uri("123.0;tcp6://[fd00::2]:44827").value() == "fd00::2");
  BOOST_TEST(!host_of_ompi_uri("123.0").has_value());
  BOOST_TEST(!host_of_ompi_uri("").has_value());
  BOOST_TEST(!host_of_ompi_uri("123.0;usock://x").has_value());
  BOOST_TEST(!host_of_ompi_uri("123.0;tcp://:5").has_value());
}

BOOST_AUTO_TEST_CASE(port_is_stable_and_in_range) {
  int p = master_port_for("slurm:42.0");
  BOOST_TEST(p == master_port_for("slurm:42.0"));
  BOOST_TEST(p >= master_port_base);
  BOOST_TEST(p < master_port_base + master_port_span);
  // Different jobs on a node should rarely collide: 100 job ids give (nearly) 100 ports.
  std::vector<int> ports;
  for (int i = 0; i < 100; ++i) {
    ports.push_back(master_port_for("slurm:" + std::to_string(1000 + i) + ".0"));
  }
  std::sort(ports.begin(), ports.end());
  long distinct = std::unique(ports.begin(), ports.end()) - ports.begin();
  BOOST_TEST(distinct >= 95);
}

BOOST_AUTO_TEST_CASE(mpirun_on_one_node) {
  Env env{"OMPI_COMM_WORLD_RANK=1", "OMPI_COMM_WORLD_SIZE=4", "OMPI_COMM_WORLD_LOCAL_RANK=1",
          "OMPI_COMM_WORLD_LOCAL_SIZE=4", "OMPI_MCA_ess_base_jobid=2018115585",
          "OMPI_MCA_orte_hnp_uri=2018115584.0;tcp://192.0.2.2:55739"};
  LaunchContext c = read_launch_context(env, 1, {});
  FrameworkEnv f = plan_framework_env(c, env);
  BOOST_TEST(value_of(f, "RANK") == "1");
  BOOST_TEST(value_of(f, "WORLD_SIZE") == "4");
  BOOST_TEST(value_of(f, "LOCAL_RANK") == "1");
  BOOST_TEST(value_of(f, "LOCAL_WORLD_SIZE") == "4");
  BOOST_TEST(value_of(f, "MASTER_ADDR") == "127.0.0.1");
  BOOST_TEST(f.addr_source == "single node");
  BOOST_TEST(value_of(f, "MASTER_PORT") == std::to_string(master_port_for(c.job.value())));
}

BOOST_AUTO_TEST_CASE(mpirun_across_nodes_uses_the_hnp_host) {
  // Ranks started by mpirun itself (no node regex): mpirun's node runs ranks, so rank 0 is there.
  Env env{"OMPI_COMM_WORLD_RANK=5", "OMPI_COMM_WORLD_SIZE=8", "OMPI_COMM_WORLD_LOCAL_RANK=1",
          "OMPI_COMM_WORLD_LOCAL_SIZE=4", "OMPI_MCA_ess_base_jobid=77",
          "OMPI_MCA_orte_hnp_uri=76.0;tcp://10.1.2.3,172.16.0.3:1024;tcp6://[fd00::3]:1025",
          "SLURM_JOB_ID=9", "SLURM_JOB_NODELIST=n[2-3]"};
  FrameworkEnv f = plan_framework_env(read_launch_context(env, 1, {}), env);
  BOOST_TEST(value_of(f, "MASTER_ADDR") == "10.1.2.3");
  BOOST_TEST(f.addr_source == "mpirun's node (OMPI_MCA_orte_hnp_uri)");
}

BOOST_AUTO_TEST_CASE(ompi_node_regex) {
  auto hosts = [](std::string_view text) {
    auto r = expand_ompi_node_regex(text);
    BOOST_REQUIRE_MESSAGE(r.has_value(), std::string(text) + ": " + (r ? "" : r.failure().message));
    return r.value();
  };
  BOOST_TEST(hosts("head,node[1:1-2]@0(3)") == (Hosts{"head", "node1", "node2"}));
  BOOST_TEST(hosts("node[1:1-2]@0(2)") == (Hosts{"node1", "node2"}));
  BOOST_TEST(hosts("login,gpu[2:1-3,10]-ib@0(5)") == (Hosts{"login", "gpu01-ib", "gpu02-ib", "gpu03-ib", "gpu10-ib"}));
  BOOST_TEST(hosts("a,b") == (Hosts{"a", "b"}));
  for (std::string_view bad : {"node[1-2]@0(2)", "node[x:1-2]", "node[1:2-1]", "node[1:1-2", ",a", "n[1:0-99999999]"}) {
    BOOST_TEST_CONTEXT(bad) {
      auto r = expand_ompi_node_regex(bad, 1000);
      BOOST_TEST(!r.has_value());
    }
  }
}

// Captured under SLURM 22.05 and Open MPI 4.1.4 on the test cluster: every rank must compute the
// same MASTER_ADDR and MASTER_PORT, and MASTER_ADDR must be rank 0's node.
Env ompi_rank(std::initializer_list<std::string> extra) {
  Env env{"OMPI_COMM_WORLD_SIZE=4", "OMPI_COMM_WORLD_LOCAL_SIZE=2", "OMPI_MCA_ess_base_jobid=2925002753",
          "PMIX_NAMESPACE=2925002753", "SLURM_JOB_ID=3", "SLURM_JOB_NODELIST=node[1-2]"};
  env.insert(env.end(), extra);
  return env;
}

BOOST_AUTO_TEST_CASE(mpirun_in_sbatch_every_rank_agrees_on_rank_0s_node) {
  // mpirun on node1 (the batch host): ranks 0 and 1 are its children, ranks 2 and 3 run under the
  // orted that srun started on node2 (step 0).
  const std::string uri = "OMPI_MCA_orte_hnp_uri=2925002752.0;tcp://10.77.0.11:58635";
  std::vector<Env> ranks = {
      ompi_rank({"OMPI_COMM_WORLD_RANK=0", "OMPI_COMM_WORLD_LOCAL_RANK=0", uri}),
      ompi_rank({"OMPI_COMM_WORLD_RANK=1", "OMPI_COMM_WORLD_LOCAL_RANK=1", uri}),
      ompi_rank({"OMPI_COMM_WORLD_RANK=2", "OMPI_COMM_WORLD_LOCAL_RANK=0", uri, "SLURM_STEP_ID=0",
                 "SLURM_STEP_NODELIST=node2", "OMPI_MCA_orte_node_regex=node[1:1-2]@0(2)",
                 "OMPI_MCA_ess_base_num_procs=2", "OMPI_MCA_orte_num_nodes=2"}),
      ompi_rank({"OMPI_COMM_WORLD_RANK=3", "OMPI_COMM_WORLD_LOCAL_RANK=1", uri, "SLURM_STEP_ID=0",
                 "SLURM_STEP_NODELIST=node2", "OMPI_MCA_orte_node_regex=node[1:1-2]@0(2)",
                 "OMPI_MCA_ess_base_num_procs=2", "OMPI_MCA_orte_num_nodes=2"}),
  };
  for (std::size_t i = 0; i < ranks.size(); ++i) {
    BOOST_TEST_CONTEXT("rank " << i) {
      FrameworkEnv f = plan_framework_env(read_launch_context(ranks[i], 1000 + static_cast<pid_t>(i), {}), ranks[i]);
      BOOST_TEST(value_of(f, "MASTER_ADDR") == "10.77.0.11");
      FrameworkEnv first = plan_framework_env(read_launch_context(ranks[0], 1000, {}), ranks[0]);
      BOOST_TEST(value_of(f, "MASTER_PORT") == value_of(first, "MASTER_PORT"));
      BOOST_TEST(value_of(f, "MASTER_PORT") != "<unset>");
    }
  }
}

BOOST_AUTO_TEST_CASE(salloc_mpirun_from_the_login_node_uses_the_first_daemon_node) {
  // mpirun on the login node `head` (outside the allocation): it runs no ranks; every rank runs
  // under an orted of step 0, and rank 0 is on node1, the first daemon after mpirun's.
  const std::string uri = "OMPI_MCA_orte_hnp_uri=2925002752.0;tcp://10.77.0.1:58635";
  for (int rank = 0; rank < 4; ++rank) {
    BOOST_TEST_CONTEXT("rank " << rank) {
      Env env = ompi_rank({"OMPI_COMM_WORLD_RANK=" + std::to_string(rank),
                           "OMPI_COMM_WORLD_LOCAL_RANK=" + std::to_string(rank % 2), uri, "SLURM_STEP_ID=0",
                           "SLURM_STEP_NODELIST=node[1-2]", "OMPI_MCA_orte_node_regex=head,node[1:1-2]@0(3)",
                           "OMPI_MCA_ess_base_num_procs=3", "OMPI_MCA_orte_num_nodes=2"});
      FrameworkEnv f = plan_framework_env(read_launch_context(env, 1, {}), env);
      BOOST_TEST(value_of(f, "MASTER_ADDR") == "node1");
      BOOST_TEST(f.addr_source == "the first daemon's node after mpirun's (OMPI_MCA_orte_node_regex)");
      BOOST_TEST(value_of(f, "MASTER_PORT") ==
                 std::to_string(master_port_for("ompi:2925002753:2925002752.0;tcp://10.77.0.1:58635")));
    }
  }
}

BOOST_AUTO_TEST_CASE(hydra_with_the_slurm_bootstrap_uses_the_allocation_and_the_proxies_step) {
  for (int rank = 0; rank < 4; ++rank) {
    BOOST_TEST_CONTEXT("rank " << rank) {
      Env env{"PMI_RANK=" + std::to_string(rank), "PMI_SIZE=4", "PMI_FD=5",
              "MPI_LOCALRANKID=" + std::to_string(rank % 2), "MPI_LOCALNRANKS=2", "SLURM_JOB_ID=3",
              "SLURM_STEP_ID=1", "SLURM_STEP_NODELIST=node[1-2]", "SLURM_JOB_NODELIST=node[1-2]"};
      FrameworkEnv f = plan_framework_env(read_launch_context(env, 500 + rank, {}), env);
      BOOST_TEST(value_of(f, "MASTER_ADDR") == "node1");
      BOOST_TEST(value_of(f, "MASTER_PORT") == std::to_string(master_port_for("slurm:3.1")));
    }
  }
}

BOOST_AUTO_TEST_CASE(srun_across_nodes_uses_the_first_node_of_the_step) {
  Env env{"SLURM_JOB_ID=123", "SLURM_STEP_ID=0", "SLURM_PROCID=6", "SLURM_NTASKS=8", "SLURM_LOCALID=2",
          "SLURM_NODEID=1", "SLURM_STEP_TASKS_PER_NODE=4(x2)", "SLURM_STEP_NODELIST=gpu[07-08]",
          "SLURM_JOB_NODELIST=gpu[05-08]", "PMIX_RANK=6", "PMIX_NAMESPACE=slurm.pmix.123.0"};
  LaunchContext c = read_launch_context(env, 1, {});
  FrameworkEnv f = plan_framework_env(c, env);
  BOOST_TEST(value_of(f, "RANK") == "6");
  BOOST_TEST(value_of(f, "WORLD_SIZE") == "8");
  BOOST_TEST(value_of(f, "LOCAL_RANK") == "2");
  BOOST_TEST(value_of(f, "LOCAL_WORLD_SIZE") == "4");
  BOOST_TEST(value_of(f, "MASTER_ADDR") == "gpu07");
  BOOST_TEST(f.addr_source == "the first host of SLURM_STEP_NODELIST");
  // Every rank of the step derives the same port.
  Env other = env;
  other[2] = "SLURM_PROCID=0";
  BOOST_TEST(value_of(plan_framework_env(read_launch_context(other, 99, {}), other), "MASTER_PORT") ==
             value_of(f, "MASTER_PORT"));
}

BOOST_AUTO_TEST_CASE(job_nodelist_when_the_step_has_none) {
  Env env{"SLURM_JOB_ID=5", "SLURM_STEP_ID=1", "SLURM_PROCID=0", "SLURM_NTASKS=2", "SLURM_LOCALID=0",
          "SLURM_NODEID=0", "SLURM_TASKS_PER_NODE=1(x2)", "SLURM_JOB_NODELIST=c[1,3]"};
  FrameworkEnv f = plan_framework_env(read_launch_context(env, 1, {}), env);
  BOOST_TEST(value_of(f, "MASTER_ADDR") == "c1");
  BOOST_TEST(f.addr_source == "the first host of SLURM_JOB_NODELIST");
}

BOOST_AUTO_TEST_CASE(no_address_when_not_derivable) {
  // Hydra across nodes outside SLURM: nothing names rank 0's host, and nothing every node sees
  // names the job (PMI_PORT is the local proxy's), so neither variable is set.
  Env env{"PMI_RANK=3", "PMI_SIZE=8", "MPI_LOCALRANKID=3", "MPI_LOCALNRANKS=4", "PMI_PORT=n1:3000"};
  FrameworkEnv f = plan_framework_env(read_launch_context(env, 1, {}), env);
  BOOST_TEST(value_of(f, "RANK") == "3");
  BOOST_TEST(value_of(f, "MASTER_ADDR") == "<unset>");
  BOOST_TEST(value_of(f, "MASTER_PORT") == "<unset>");
  BOOST_TEST(f.addr_source == "");
  // On one node the same launcher gets both: the node share is the job there.
  Env one{"PMI_RANK=3", "PMI_SIZE=4", "MPI_LOCALRANKID=3", "MPI_LOCALNRANKS=4"};
  FrameworkEnv g = plan_framework_env(read_launch_context(one, 77, {}), one);
  BOOST_TEST(value_of(g, "MASTER_ADDR") == "127.0.0.1");
  BOOST_TEST(value_of(g, "MASTER_PORT") == std::to_string(master_port_for("ppid:77")));
  // A malformed node list is not derivable either (the launch goes on).
  Env slurm{"SLURM_JOB_ID=5", "SLURM_STEP_ID=1", "SLURM_PROCID=0", "SLURM_NTASKS=2", "SLURM_NODEID=0",
            "SLURM_TASKS_PER_NODE=1(x2)", "SLURM_STEP_NODELIST=c[1"};
  BOOST_TEST(value_of(plan_framework_env(read_launch_context(slurm, 1, {}), slurm), "MASTER_ADDR") == "<unset>");
}

BOOST_AUTO_TEST_CASE(nothing_without_a_launcher) {
  Env env{"HOME=/root", "PATH=/usr/bin"};
  FrameworkEnv f = plan_framework_env(read_launch_context(env, 1, {}), env);
  BOOST_TEST(f.ops.empty());
}

BOOST_AUTO_TEST_CASE(defaults_never_override_the_user) {
  Env host{"OMPI_COMM_WORLD_RANK=0", "OMPI_COMM_WORLD_SIZE=2", "OMPI_COMM_WORLD_LOCAL_RANK=0",
           "OMPI_COMM_WORLD_LOCAL_SIZE=2", "OMPI_MCA_ess_base_jobid=9", "MASTER_PORT=12345"};
  EnvInputs in;
  in.host = host;
  in.cli = {"MASTER_ADDR=10.0.0.9"};
  in.rank = plan_framework_env(read_launch_context(host, 1, {}), host).ops;
  EnvList env = assemble_environment(in).value();
  BOOST_TEST(env_lookup(env, "MASTER_PORT") == "12345");
  BOOST_TEST(env_lookup(env, "MASTER_ADDR") == "10.0.0.9");
  BOOST_TEST(env_lookup(env, "RANK") == "0");
  BOOST_TEST(env_lookup(env, "WORLD_SIZE") == "2");
  BOOST_TEST(env_lookup(env, "LOCAL_WORLD_SIZE") == "2");
}

BOOST_AUTO_TEST_CASE(describe_names_the_source) {
  Env env{"SLURM_JOB_ID=5", "SLURM_STEP_ID=1", "SLURM_PROCID=0", "SLURM_NTASKS=2", "SLURM_NODEID=0",
          "SLURM_TASKS_PER_NODE=1(x2)", "SLURM_JOB_NODELIST=c[1,3]"};
  std::string line = describe(plan_framework_env(read_launch_context(env, 1, {}), env));
  BOOST_TEST(line.find("RANK=0 WORLD_SIZE=2") != std::string::npos, line);
  BOOST_TEST(line.find("MASTER_ADDR=c1") != std::string::npos, line);
  BOOST_TEST(line.find("MASTER_ADDR from the first host of SLURM_JOB_NODELIST") != std::string::npos, line);
  BOOST_TEST(line.find("MASTER_PORT from job slurm:5.1") != std::string::npos, line);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cexec
