// Node-instance tests under a real SLURM (Debian's slurm-wlm and munge): a one-node cluster is
// started for the run (tests/slurm/cluster.sh), then srun and sbatch launch cexec ranks that must
// share one container, with Open MPI inside reaching srun's PMIx server. Runs as root (slurmd
// must); the unprivileged case submits as nobody.
#define BOOST_TEST_MODULE cexec_slurm
#include "harness.hpp"
#include "placement.hpp"

using namespace e2e;

namespace {

std::string cluster_dir() { return "/tmp/cexec-slurm-" + std::to_string(::getpid()); }
std::string cluster_script() { return stage() + "/bin/cluster.sh"; }
std::string mpi_image() { return image("mpi.sqfs"); }

Env slurm_env(Env env) {
  env["SLURM_CONF"] = cluster_dir() + "/slurm.conf";
  return env;
}

struct Cluster {
  Cluster() {
    BOOST_TEST_REQUIRE(is_root(), "the SLURM tests start slurmd and must run as root");
    auto o = run({cluster_script(), "start", cluster_dir()}, base_env("/root"));
    BOOST_TEST_REQUIRE(o.status == 0, "cannot start the test cluster: " << o);
  }
  ~Cluster() {
    (void)run({cluster_script(), "stop", cluster_dir()}, base_env("/root"));
  }
};

void expect_check_passed(const std::string& out) {
  BOOST_CHECK(contains(out, "mpi_probe: namespaces shared"));
  BOOST_CHECK(contains(out, ", 4 ranks)"));
  BOOST_CHECK(contains(out, "mpi_probe: process_vm_readv 4/4"));
  BOOST_CHECK(contains(out, "mpi_probe: allreduce ok"));
  BOOST_CHECK(contains(out, "mpi_probe: pingpong 4MiB ok"));
  BOOST_CHECK(contains(out, "mpi_probe: check passed"));
}

}  // namespace

BOOST_TEST_GLOBAL_FIXTURE(Cluster);

BOOST_FIXTURE_TEST_SUITE(slurm, Case)

BOOST_AUTO_TEST_CASE(srun_pmix_four_ranks) {
  auto o = run({"srun", "--mpi=pmix", "-n", "4", cexec_bin(), mpi_image(), "mpi_probe", "check"}, slurm_env(env));
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  expect_check_passed(o.out);
}

BOOST_AUTO_TEST_CASE(srun_ranks_join_one_instance_keyed_by_the_step) {
  Env e = slurm_env(env);
  e.erase("CEXEC_LINGER");
  auto o = run({"srun", "--mpi=pmix", "-n", "4", cexec_bin(), "-v", mpi_image(), "true"}, e);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_CHECK(contains(o.err, "(from SLURM_JOB_ID+SLURM_STEP_ID), launcher slurm"));
  size_t created = 0;
  for (size_t pos = o.err.find("created node instance"); pos != std::string::npos;
       pos = o.err.find("created node instance", pos + 1)) {
    ++created;
  }
  BOOST_CHECK_EQUAL(created, 1u);
}

BOOST_AUTO_TEST_CASE(sbatch_script) {
  std::string out = work / "job.out";
  write_text(work / "job.sh", "#!/bin/sh\n#SBATCH --ntasks=4\n#SBATCH --output=" + out +
                                  "\nsrun --mpi=pmix " + cexec_bin() + " " + mpi_image() + " mpi_probe check\n");
  auto o = run({"sbatch", "--wait", work / "job.sh"}, slurm_env(env));
  BOOST_TEST_INFO(o << " job output: " << read_text(out));
  BOOST_CHECK_EQUAL(o.status, 0);
  expect_check_passed(read_text(out));
}

BOOST_AUTO_TEST_CASE(srun_as_an_unprivileged_user) {
  auto o = run({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "srun", "--mpi=pmix", "-n", "4",
                cexec_bin(), mpi_image(), "mpi_probe", "check"},
               slurm_env(env));
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  expect_check_passed(o.out);
}

BOOST_AUTO_TEST_CASE(srun_ranks_bind_to_their_row_of_cexec_plan) {
  auto planned = run({cexec_bin(), "plan", "--ranks", "2"}, env);
  BOOST_TEST_REQUIRE(planned.status == 0, planned);
  std::vector<std::string> argv{"srun", "-n", "2", "--cpu-bind=none", "--label", cexec_bin(), image("image.sqfs"),
                                "probe", "placement"};
  argv.insert(argv.end(), placement_vars.begin(), placement_vars.end());
  auto o = run(argv, slurm_env(env));
  BOOST_TEST_REQUIRE(o.status == 0, o);
  auto seen = parse_probe(o.out, [](const std::string& line) -> std::pair<int, std::string> {
    auto colon = line.find(": ");  // srun --label: "RANK: TEXT"
    if (colon == std::string::npos || colon == 0) {
      return {-1, ""};
    }
    return {std::stoi(line.substr(0, colon)), line.substr(colon + 2)};
  });
  expect_matches_plan(seen, parse_plan(planned.out), true);
}

BOOST_AUTO_TEST_SUITE_END()
