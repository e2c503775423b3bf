// Node-instance tests under a real SLURM (Debian's slurm-wlm and munge): a one-node cluster is
// started for the run (tests/cluster/cluster.sh --nodes 1), then srun and sbatch launch cexec ranks that must
// share one container, with Open MPI inside reaching srun's PMIx server. Runs as root (slurmd
// must); the unprivileged case submits as nobody.
#define BOOST_TEST_MODULE cexec_slurm
#include "cluster.hpp"
#include "placement.hpp"

using namespace e2e;

namespace {

std::string mpi_image() { return image("mpi.sqfs"); }

struct Cluster : ClusterFixture {
  Cluster() : ClusterFixture(1, 0) {}
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
  auto o = run(login({"srun", "--mpi=pmix", "-n", "4", cexec_bin(), mpi_image(), "mpi_probe", "check"}), env);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  expect_check_passed(o.out);
}

BOOST_AUTO_TEST_CASE(srun_pmix_runs_a_sif) {
  // The MPI image as an Apptainer/Singularity SIF (tests/sif/make_sif_images.sh, docs/sif.md).
  auto o = run(login({"srun", "--mpi=pmix", "-n", "4", cexec_bin(), image("mpi.sif"), "mpi_probe", "check"}), env);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  expect_check_passed(o.out);
}

BOOST_AUTO_TEST_CASE(srun_pmix_runs_an_image_without_mpi_through_the_bridge) {
  // The image has no MPI library at all: the host's Open MPI (and its PMIx) are injected.
  auto o = run(login({"srun", "--mpi=pmix", "-n", "4", cexec_bin(), image("nompi.sqfs"), "mpi_probe", "check"}), env);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  expect_check_passed(o.out);
}

BOOST_AUTO_TEST_CASE(srun_ranks_join_one_instance_keyed_by_the_step) {
  Env e = env;
  e.erase("CEXEC_LINGER");
  auto o = run(login({"srun", "--mpi=pmix", "-n", "4", cexec_bin(), "-v", mpi_image(), "true"}), e);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_CHECK(contains(o.err, "(from SLURM_JOB_ID+SLURM_STEP_ID, PMIX_NAMESPACE), job slurm:"));
  BOOST_CHECK(contains(o.err, "(from SLURM_JOB_ID+SLURM_STEP_ID), launcher slurm"));
  size_t created = 0;
  for (size_t pos = o.err.find("created node instance"); pos != std::string::npos;
       pos = o.err.find("created node instance", pos + 1)) {
    ++created;
  }
  BOOST_CHECK_EQUAL(created, 1u);
}

BOOST_AUTO_TEST_CASE(sbatch_script) {
  std::string out = shared_dir() + "/job.out";
  write_text(shared_dir() + "/job.sh", "#!/bin/sh\n#SBATCH --ntasks=4\n#SBATCH --output=" + out +
                                  "\nsrun --mpi=pmix " + cexec_bin() + " " + mpi_image() + " mpi_probe check\n");
  auto o = run(login({"sbatch", "--wait", shared_dir() + "/job.sh"}), env);
  BOOST_TEST_INFO(o << " job output: " << read_text(out));
  BOOST_CHECK_EQUAL(o.status, 0);
  expect_check_passed(read_text(out));
}

BOOST_AUTO_TEST_CASE(srun_as_an_unprivileged_user) {
  auto o = run(login(as_nobody({"srun", "--mpi=pmix", "-n", "4", cexec_bin(), mpi_image(), "mpi_probe", "check"})), env);
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
  auto o = run(login(argv), env);
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
