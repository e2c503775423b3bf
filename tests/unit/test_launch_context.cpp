// Unit tests for launch_context.hpp: the job identity and the rank fields read from the variables
// that mpirun, srun and Hydra export, SLURM's tasks-per-node syntax, and the launcher variables kept
// under --cleanenv. Environments are literal vectors; nothing reads this process's environment.
#include "launch_context.hpp"

#include <boost/test/unit_test.hpp>

#include <optional>
#include <string>
#include <vector>

namespace cexec {
namespace {

using Env = std::vector<std::string>;

constexpr pid_t parent = 4242;  // stands in for getppid()

// Lets BOOST_TEST print an optional field, and an empty one as "none".
std::string show(const std::optional<int>& v) {
  return v ? std::to_string(*v) : "none";
}

bool contains(const std::string& text, std::string_view words) {
  return text.find(words) != std::string::npos;
}

BOOST_AUTO_TEST_SUITE(launch_context)

struct JobCase {
  const char* name;
  Env env;
  const char* instance;  // --instance NAME, or ""
  const char* node_share;
  const char* node_share_source;
  const char* job;  // "" for unset
  const char* job_source;
};

BOOST_AUTO_TEST_CASE(node_share_and_job_identity) {
  const Env everything = {"SLURM_JOB_ID=4711",
                          "SLURM_STEP_ID=3",
                          "PMIX_NAMESPACE=prterun-node1-12345@1",
                          "OMPI_MCA_ess_base_jobid=1540816897",
                          "OMPI_MCA_orte_hnp_uri=1540816896.0;tcp://192.0.2.2:59903",
                          "PMI_PORT=node1:40123"};
  const char* all_share =
      "slurm:4711.3|pmix:prterun-node1-12345@1|ompi:1540816897:1540816896.0;tcp://192.0.2.2:59903|pmi:node1:40123";
  const char* all_sources =
      "SLURM_JOB_ID+SLURM_STEP_ID, PMIX_NAMESPACE, OMPI_MCA_ess_base_jobid+OMPI_MCA_orte_hnp_uri, PMI_PORT";
  Env everything_openmpi = everything;
  everything_openmpi.push_back("OMPI_COMM_WORLD_RANK=2");
  Env everything_hydra = everything;
  everything_hydra.push_back("MPI_LOCALRANKID=0");
  const JobCase cases[] = {
      {"--instance beats every variable", everything, "mine", "instance:mine", "--instance", "instance:mine",
       "--instance"},
      {"--instance alone", {}, "nightly-run", "instance:nightly-run", "--instance", "instance:nightly-run",
       "--instance"},
      {"srun: the node share has every identity, the job is the step", everything, "", all_share, all_sources,
       "slurm:4711.3", "SLURM_JOB_ID+SLURM_STEP_ID"},
      {"Open MPI's ranks: the job is mpirun's, whatever step started the daemon", everything_openmpi, "", all_share,
       all_sources, "ompi:1540816897:1540816896.0;tcp://192.0.2.2:59903",
       "OMPI_MCA_ess_base_jobid+OMPI_MCA_orte_hnp_uri"},
      {"Hydra's ranks: the job is the step running the proxies", everything_hydra, "", all_share, all_sources,
       "slurm:4711.3", "SLURM_JOB_ID+SLURM_STEP_ID"},
      {"SLURM step 0", {"SLURM_JOB_ID=4711", "SLURM_STEP_ID=0"}, "", "slurm:4711.0", "SLURM_JOB_ID+SLURM_STEP_ID",
       "slurm:4711.0", "SLURM_JOB_ID+SLURM_STEP_ID"},
      {"SLURM_JOB_ID without SLURM_STEP_ID names no step", {"SLURM_JOB_ID=4711", "PMIX_NAMESPACE=1540816897"}, "",
       "pmix:1540816897", "PMIX_NAMESPACE", "", ""},
      {"SLURM_JOB_ID alone: the parent pid", {"SLURM_JOB_ID=4711"}, "", "ppid:4242", "parent pid", "", ""},
      {"SLURM_STEP_ID without SLURM_JOB_ID does not count", {"SLURM_STEP_ID=3", "PMI_PORT=node1:40123"}, "",
       "pmi:node1:40123", "PMI_PORT", "", ""},
      {"Open MPI's jobid without the HNP URI", {"OMPI_MCA_ess_base_jobid=1540816897", "OMPI_COMM_WORLD_RANK=0"}, "",
       "ompi:1540816897:", "OMPI_MCA_ess_base_jobid+OMPI_MCA_orte_hnp_uri", "ompi:1540816897:",
       "OMPI_MCA_ess_base_jobid+OMPI_MCA_orte_hnp_uri"},
      {"a PMIx launcher", {"PMIX_NAMESPACE=prterun-n1-7@1", "PMIX_RANK=0"}, "", "pmix:prterun-n1-7@1",
       "PMIX_NAMESPACE", "pmix:prterun-n1-7@1", "PMIX_NAMESPACE"},
      {"PMI_PORT is per node: no job", {"PMI_PORT=node1:40123", "PMI_RANK=0"}, "", "pmi:node1:40123", "PMI_PORT",
       "", ""},
      {"no variable: the parent pid", {"HOME=/home/alice", "PATH=/usr/bin"}, "", "ppid:4242", "parent pid", "", ""},
      {"empty environment: the parent pid", {}, "", "ppid:4242", "parent pid", "", ""},
      {"look-alike names do not count",
       {"SLURM_JOB_IDX=1", "SLURM_STEP_IDX=2", "PMIX_NAMESPACE_X=a", "MY_PMIX_NAMESPACE=b", "PMI_PORTS=c",
        "PMIX_NAMESPACE"},
       "", "ppid:4242", "parent pid", "", ""},
      {"the first of duplicate entries wins", {"PMIX_NAMESPACE=first", "PMIX_NAMESPACE=second"}, "", "pmix:first",
       "PMIX_NAMESPACE", "", ""},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      auto ctx = read_launch_context(c.env, parent, c.instance);
      BOOST_TEST(ctx.node_share == c.node_share);
      BOOST_TEST(ctx.node_share_source == c.node_share_source);
      BOOST_TEST(ctx.job.value_or("") == c.job);
      BOOST_TEST(ctx.job_source == c.job_source);
    }
  }
}

BOOST_AUTO_TEST_CASE(parent_pid_fallback_uses_the_given_pid) {
  BOOST_TEST(read_launch_context({}, 1).node_share == "ppid:1");
  BOOST_TEST(read_launch_context({}, 987654).node_share == "ppid:987654");
}

// `sbatch -N 2` running `mpirun`: the ranks on mpirun's node are its children (no SLURM step); the
// others run under an orted that srun started as step 0. Their node shares differ (each node keys
// its own instance), their job is the same (captured from Open MPI 4.1.4 under SLURM 22.05).
BOOST_AUTO_TEST_CASE(mpirun_in_a_batch_script_is_one_job_on_both_nodes) {
  const Env on_mpirun_node = {"SLURM_JOB_ID=3", "SLURM_NODELIST=node[1-2]", "OMPI_COMM_WORLD_RANK=1",
                              "OMPI_COMM_WORLD_SIZE=4", "OMPI_MCA_ess_base_jobid=2925002753",
                              "OMPI_MCA_orte_hnp_uri=2925002752.0;tcp://10.77.0.11:58635",
                              "PMIX_NAMESPACE=2925002753"};
  const Env on_daemon_node = {"SLURM_JOB_ID=3", "SLURM_STEP_ID=0", "SLURM_NODELIST=node[1-2]",
                              "OMPI_COMM_WORLD_RANK=3", "OMPI_COMM_WORLD_SIZE=4",
                              "OMPI_MCA_ess_base_jobid=2925002753",
                              "OMPI_MCA_orte_hnp_uri=2925002752.0;tcp://10.77.0.11:58635",
                              "PMIX_NAMESPACE=2925002753"};
  auto a = read_launch_context(on_mpirun_node, 100);
  auto b = read_launch_context(on_daemon_node, 200);
  BOOST_TEST(a.job.value_or("a") == b.job.value_or("b"));
  BOOST_TEST(a.node_share != b.node_share);
  BOOST_TEST(b.node_share.starts_with("slurm:3.0|"));
}

// The environment Open MPI 4.1.4's mpirun gives rank 1 of `mpirun -np 2` (its ORTE/PMIx part).
BOOST_AUTO_TEST_CASE(open_mpi_4_mpirun_rank_1_of_2) {
  const Env env = {"HOME=/home/alice",
                   "OMPI_COMM_WORLD_RANK=1",
                   "OMPI_COMM_WORLD_SIZE=2",
                   "OMPI_COMM_WORLD_LOCAL_RANK=1",
                   "OMPI_COMM_WORLD_LOCAL_SIZE=2",
                   "OMPI_MCA_ess_base_jobid=1540816897",
                   "OMPI_MCA_orte_hnp_uri=1540816896.0;tcp://192.0.2.2:59903",
                   "PMIX_NAMESPACE=1540816897",
                   "PMIX_RANK=1"};
  auto ctx = read_launch_context(env, parent);
  BOOST_TEST(ctx.node_share == "pmix:1540816897|ompi:1540816897:1540816896.0;tcp://192.0.2.2:59903");
  BOOST_TEST(ctx.job.value_or("") == "ompi:1540816897:1540816896.0;tcp://192.0.2.2:59903");
  BOOST_TEST(ctx.launcher == "openmpi");
  BOOST_TEST(show(ctx.rank) == "1");
  BOOST_TEST(show(ctx.size) == "2");
  BOOST_TEST(show(ctx.local_rank) == "1");
  BOOST_TEST(show(ctx.local_size) == "2");
  BOOST_TEST(show(ctx.node_id) == "none");
}

struct SlurmCase {
  const char* name;
  Env extra;  // added to the srun step's common variables
  const char* rank;
  const char* local_rank;
  const char* local_size;
  const char* node_id;
};

// srun -n 7 over 4 nodes with a block layout: nodes 0-2 run 2 tasks each, node 3 runs 1.
BOOST_AUTO_TEST_CASE(slurm_step) {
  const Env common = {"SLURM_JOB_ID=4711", "SLURM_STEP_ID=3", "SLURM_NTASKS=7"};
  const SlurmCase cases[] = {
      {"node 2, second task",
       {"SLURM_PROCID=5", "SLURM_LOCALID=1", "SLURM_NODEID=2", "SLURM_STEP_TASKS_PER_NODE=2(x3),1"}, "5", "1", "2",
       "2"},
      {"node 3, its only task",
       {"SLURM_PROCID=6", "SLURM_LOCALID=0", "SLURM_NODEID=3", "SLURM_STEP_TASKS_PER_NODE=2(x3),1"}, "6", "0", "1",
       "3"},
      {"node 0", {"SLURM_PROCID=0", "SLURM_LOCALID=0", "SLURM_NODEID=0", "SLURM_STEP_TASKS_PER_NODE=2(x3),1"}, "0",
       "0", "2", "0"},
      {"SLURM_TASKS_PER_NODE when the step's variant is missing",
       {"SLURM_PROCID=6", "SLURM_LOCALID=0", "SLURM_NODEID=3", "SLURM_TASKS_PER_NODE=2(x3),1"}, "6", "0", "1", "3"},
      {"the step's counts beat the job's",
       {"SLURM_PROCID=5", "SLURM_LOCALID=1", "SLURM_NODEID=2", "SLURM_TASKS_PER_NODE=4(x4)",
        "SLURM_STEP_TASKS_PER_NODE=2(x3),1"},
       "5", "1", "2", "2"},
      {"no SLURM_NODEID: the first node's count",
       {"SLURM_PROCID=1", "SLURM_LOCALID=1", "SLURM_STEP_TASKS_PER_NODE=3,1"}, "1", "1", "3", "none"},
      {"node beyond the list: no local size",
       {"SLURM_PROCID=5", "SLURM_LOCALID=1", "SLURM_NODEID=4", "SLURM_STEP_TASKS_PER_NODE=2(x3),1"}, "5", "1", "none",
       "4"},
      {"malformed tasks per node: no local size",
       {"SLURM_PROCID=5", "SLURM_LOCALID=1", "SLURM_NODEID=2", "SLURM_STEP_TASKS_PER_NODE=2(3),1"}, "5", "1", "none",
       "2"},
      {"no tasks per node at all",
       {"SLURM_PROCID=5", "SLURM_LOCALID=1", "SLURM_NODEID=2"}, "5", "1", "none", "2"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      Env env = common;
      env.insert(env.end(), c.extra.begin(), c.extra.end());
      auto ctx = read_launch_context(env, parent);
      BOOST_TEST(ctx.node_share == "slurm:4711.3");
      BOOST_TEST(ctx.job.value_or("") == "slurm:4711.3");
      BOOST_TEST(ctx.job_source == "SLURM_JOB_ID+SLURM_STEP_ID");
      BOOST_TEST(ctx.launcher == "slurm");
      BOOST_TEST(show(ctx.rank) == c.rank);
      BOOST_TEST(show(ctx.size) == "7");
      BOOST_TEST(show(ctx.local_rank) == c.local_rank);
      BOOST_TEST(show(ctx.local_size) == c.local_size);
      BOOST_TEST(show(ctx.node_id) == c.node_id);
    }
  }
}

// MPICH's Hydra (mpiexec, default fd-based PMI): no job variable, so the job is the parent, the
// node's hydra_pmi_proxy.
BOOST_AUTO_TEST_CASE(mpich_hydra) {
  const Env env = {"PMI_RANK=3", "PMI_SIZE=8", "PMI_FD=6", "MPI_LOCALRANKID=1", "MPI_LOCALNRANKS=4"};
  auto ctx = read_launch_context(env, parent);
  BOOST_TEST(ctx.node_share == "ppid:4242");
  BOOST_TEST(ctx.node_share_source == "parent pid");
  BOOST_TEST(!ctx.job.has_value());
  BOOST_TEST(ctx.launcher == "hydra");
  BOOST_TEST(show(ctx.rank) == "3");
  BOOST_TEST(show(ctx.size) == "8");
  BOOST_TEST(show(ctx.local_rank) == "1");
  BOOST_TEST(show(ctx.local_size) == "4");
  BOOST_TEST(show(ctx.node_id) == "none");
}

BOOST_AUTO_TEST_CASE(pmix_only) {
  const Env env = {"PMIX_NAMESPACE=prterun-node1-12345@1", "PMIX_RANK=9", "PMIX_SIZE=16", "PMIX_LOCAL_RANK=1",
                   "PMIX_LOCAL_SIZE=4"};
  auto ctx = read_launch_context(env, parent);
  BOOST_TEST(ctx.node_share == "pmix:prterun-node1-12345@1");
  BOOST_TEST(ctx.job.value_or("") == "pmix:prterun-node1-12345@1");
  BOOST_TEST(ctx.job_source == "PMIX_NAMESPACE");
  BOOST_TEST(ctx.launcher == "pmix");
  BOOST_TEST(show(ctx.rank) == "9");
  BOOST_TEST(show(ctx.size) == "16");
  BOOST_TEST(show(ctx.local_rank) == "1");
  BOOST_TEST(show(ctx.local_size) == "4");
}

BOOST_AUTO_TEST_CASE(plain_shell_has_no_ranks) {
  auto ctx = read_launch_context({"HOME=/home/alice", "PATH=/usr/bin"}, parent);
  BOOST_TEST(ctx.launcher == "none");
  BOOST_TEST(show(ctx.rank) == "none");
  BOOST_TEST(show(ctx.size) == "none");
  BOOST_TEST(show(ctx.local_rank) == "none");
  BOOST_TEST(show(ctx.local_size) == "none");
  BOOST_TEST(show(ctx.node_id) == "none");
}

struct LauncherCase {
  const char* name;
  Env env;
  const char* launcher;
};

BOOST_AUTO_TEST_CASE(launcher_name) {
  const LauncherCase cases[] = {
      {"mpirun inside a SLURM allocation", {"SLURM_JOB_ID=4711", "OMPI_COMM_WORLD_RANK=0", "PMIX_RANK=0"}, "openmpi"},
      {"srun --mpi=pmix", {"SLURM_JOB_ID=4711", "SLURM_STEP_ID=0", "PMIX_RANK=0"}, "slurm"},
      {"PMIx without SLURM", {"PMIX_RANK=0"}, "pmix"},
      {"a PMI-1/2 launcher (srun --mpi=pmi2, Hydra without its extras)", {"PMI_RANK=0"}, "pmi"},
      {"Hydra inside a SLURM allocation", {"SLURM_JOB_ID=4711", "SLURM_STEP_ID=0", "PMI_RANK=3", "MPI_LOCALRANKID=1"}, "hydra"},
      {"Hydra by MPI_LOCALRANKID", {"MPI_LOCALRANKID=0"}, "hydra"},
      {"none", {"PMI_PORT=node1:40123"}, "none"},
      // The launcher is named by the variable's presence, even when its value is not a number.
      {"malformed OMPI_COMM_WORLD_RANK", {"OMPI_COMM_WORLD_RANK=abc", "PMIX_RANK=2"}, "openmpi"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      BOOST_TEST(read_launch_context(c.env, parent).launcher == c.launcher);
    }
  }
}

struct FieldCase {
  const char* field;
  std::vector<const char*> sources;  // in order of precedence
  std::optional<int> LaunchContext::*member;
};

// For each field, source i is taken when sources 0..i-1 are missing, and beats every later one.
BOOST_AUTO_TEST_CASE(rank_fields_first_source_wins) {
  const FieldCase cases[] = {
      // The innermost launcher first, SLURM last (Hydra's ranks inherit an allocation's SLURM_*).
      {"rank", {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"}, &LaunchContext::rank},
      {"size", {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE", "SLURM_NTASKS"}, &LaunchContext::size},
      {"local rank",
       {"OMPI_COMM_WORLD_LOCAL_RANK", "PMIX_LOCAL_RANK", "MPI_LOCALRANKID", "PMI_LOCAL_RANK", "SLURM_LOCALID"},
       &LaunchContext::local_rank},
      // A plain number is a valid tasks-per-node list of one node (SLURM_NODEID missing: node 0).
      {"local size",
       {"OMPI_COMM_WORLD_LOCAL_SIZE", "PMIX_LOCAL_SIZE", "MPI_LOCALNRANKS", "PMI_LOCAL_SIZE",
        "SLURM_STEP_TASKS_PER_NODE", "SLURM_TASKS_PER_NODE"},
       &LaunchContext::local_size},
  };
  for (const auto& c : cases) {
    for (size_t first = 0; first < c.sources.size(); ++first) {
      BOOST_TEST_CONTEXT(c.field << " from " << c.sources[first]) {
        Env env;
        for (size_t i = first; i < c.sources.size(); ++i) {
          env.push_back(std::string(c.sources[i]) + "=" + std::to_string(10 + i));
        }
        auto ctx = read_launch_context(env, parent);
        BOOST_TEST(show(ctx.*c.member) == std::to_string(10 + first));
      }
    }
  }
}

// A value that is not a whole non-negative int is ignored and the next source is used.
BOOST_AUTO_TEST_CASE(malformed_numbers_fall_back_to_the_next_source) {
  const char* values[] = {"abc", "", "-1", "1x", " 1", "1 ", "+1", "0x10", "1.5", "99999999999"};
  for (const char* v : values) {
    BOOST_TEST_CONTEXT("value `" << v << "`") {
      const std::string bad = v;
      Env env = {"OMPI_COMM_WORLD_RANK=" + bad, "OMPI_COMM_WORLD_SIZE=" + bad, "OMPI_COMM_WORLD_LOCAL_RANK=" + bad,
                 "OMPI_COMM_WORLD_LOCAL_SIZE=" + bad, "PMIX_RANK=" + bad, "SLURM_PROCID=7", "SLURM_NTASKS=12",
                 "SLURM_LOCALID=3", "SLURM_NODEID=" + bad, "SLURM_TASKS_PER_NODE=4(x3)"};
      auto ctx = read_launch_context(env, parent);
      BOOST_TEST(show(ctx.rank) == "7");
      BOOST_TEST(show(ctx.size) == "12");
      BOOST_TEST(show(ctx.local_rank) == "3");
      BOOST_TEST(show(ctx.local_size) == "4");  // a bad SLURM_NODEID counts as node 0
      BOOST_TEST(show(ctx.node_id) == "none");
    }
  }
}

BOOST_AUTO_TEST_CASE(malformed_numbers_with_no_other_source_leave_the_field_empty) {
  const Env env = {"OMPI_COMM_WORLD_RANK=abc", "PMI_SIZE=-2", "MPI_LOCALRANKID=x", "MPI_LOCALNRANKS="};
  auto ctx = read_launch_context(env, parent);
  BOOST_TEST(show(ctx.rank) == "none");
  BOOST_TEST(show(ctx.size) == "none");
  BOOST_TEST(show(ctx.local_rank) == "none");
  BOOST_TEST(show(ctx.local_size) == "none");
}

struct TasksCase {
  const char* text;
  std::vector<int> expected;
};

BOOST_AUTO_TEST_CASE(parse_tasks_per_node_expands_repeats) {
  const TasksCase cases[] = {
      {"4", {4}},
      {"2(x3),1", {2, 2, 2, 1}},
      {"1,2,3", {1, 2, 3}},
      {"16(x2)", {16, 16}},
      {"1(x1)", {1}},
      {"3(x2),2(x2)", {3, 3, 2, 2}},
      {"8,4(x2),1", {8, 4, 4, 1}},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("`" << c.text << "`") {
      auto r = parse_tasks_per_node(c.text);
      BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.failure().message));
      BOOST_TEST(r.value() == c.expected, boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(parse_tasks_per_node_rejects_malformed_text) {
  const char* cases[] = {"", "x", "2(x0)", "2(3)", "2(x3", ",", "2,,3", ",2", "(x3)", "2(x)", "2(xa)", "2x3",
                         "2(x3)4", "2(x-1)", " 2", "2 ", "2,3 ", "99999999999"};
  for (const char* text : cases) {
    BOOST_TEST_CONTEXT("`" << text << "`") {
      auto r = parse_tasks_per_node(text);
      BOOST_TEST_REQUIRE(!r.has_value());
      BOOST_TEST((r.failure().kind == ErrorKind::usage));
      const std::string& message = r.failure().message;
      BOOST_TEST(contains(message, std::string("tasks per node `") + text + "`"), "message: " << message);
      BOOST_TEST(contains(message, "malformed"), "message: " << message);
    }
  }
}

struct VariableCase {
  const char* name;
  bool kept;
};

// Prefix semantics: a name is a launcher variable when it starts with one of the table's entries.
BOOST_AUTO_TEST_CASE(launcher_variables_are_matched_by_prefix) {
  const VariableCase cases[] = {
      {"PMIX_RANK", true},
      {"PMIX_SERVER_URI41", true},
      {"PMIX_", true},
      {"PMI_RANK", true},
      {"PMI_FD", true},
      {"OMPI_COMM_WORLD_RANK", true},
      {"OMPI_MCA_orte_hnp_uri", true},
      {"SLURM_JOB_ID", true},
      {"SLURM_STEP_TASKS_PER_NODE", true},
      {"UCX_TLS", true},
      {"FI_PROVIDER", true},
      {"MPI_LOCALRANKID", true},
      {"MPI_LOCALNRANKS", true},
      {"MPI_LOCALRANKIDX", true},  // the two MPI_LOCAL names are prefixes too
      {"PATH", false},
      {"HOME", false},
      {"FIX", false},
      {"FI", false},
      {"PMIX", false},
      {"PMI", false},
      {"OMPI", false},
      {"SLURM", false},
      {"SLURMX", false},
      {"SLURMD_NODENAME", false},
      {"UCX", false},
      {"MPI_LOCAL", false},
      {"MPI_HOME", false},
      {"I_MPI_PIN", false},
      {"XPMI_RANK", false},
      {"pmix_rank", false},
      {"slurm_job_id", false},
      {"", false},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("`" << c.name << "`") {
      BOOST_TEST(is_launcher_variable(c.name) == c.kept);
    }
  }
}

BOOST_AUTO_TEST_CASE(every_table_entry_is_a_launcher_variable) {
  for (auto prefix : launcher_env_prefixes) {
    BOOST_TEST_CONTEXT("`" << prefix << "`") {
      BOOST_TEST(is_launcher_variable(prefix));
      BOOST_TEST(is_launcher_variable(std::string(prefix) + "X"));
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cexec
