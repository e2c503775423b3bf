// The main job end to end (label `training`): the PyTorch example image (built once, or reused from
// the cache keyed by its definition file; tests/e2e/make_training_stage.sh) runs train.py for one
// epoch under mpirun and under a real SLURM (srun --mpi=pmix and sbatch train.sbatch). Each run must
// end with the ranks agreeing on the model (equal parameter checksums) and an accuracy above chance,
// and each rank must see the right framework variables (RANK, WORLD_SIZE, MASTER_ADDR...).
// Runs as root (slurmd must); the mpirun case also runs as nobody.
#define BOOST_TEST_MODULE cexec_training
#include "harness.hpp"

#include <algorithm>
#include <regex>

using namespace e2e;

namespace {

std::string training_dir() { return stage() + "/training"; }
std::string pytorch_image() { return training_dir() + "/pytorch.img"; }
std::string train_py() { return training_dir() + "/train.py"; }
std::string cluster_dir() { return "/tmp/cexec-slurm-training-" + std::to_string(::getpid()); }
std::string cluster_script() { return stage() + "/bin/cluster.sh"; }

Env slurm_env(Env env) {
  env["SLURM_CONF"] = cluster_dir() + "/slurm.conf";
  return env;
}

std::vector<std::string> as_nobody(std::vector<std::string> argv) {
  argv.insert(argv.begin(), {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"});
  return argv;
}

std::vector<std::string> mpirun(int ranks, std::vector<std::string> args) {
  std::vector<std::string> argv{"mpirun", "-np", std::to_string(ranks), "--oversubscribe"};
  if (is_root()) {
    argv.push_back("--allow-run-as-root");
  }
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// train.py's summary: every rank's checksum equal, accuracy above chance (0.1 for ten digits).
void expect_trained(const std::string& out, int ranks) {
  BOOST_CHECK(contains(out, "world size " + std::to_string(ranks)));
  for (int r = 0; r < ranks; ++r) {
    std::string placement = "rank " + std::to_string(r) + "/" + std::to_string(ranks) + " local ";
    BOOST_CHECK_MESSAGE(contains(out, placement), "no placement line for rank " << r);
    BOOST_CHECK_MESSAGE(contains(out, "rank " + std::to_string(r) + " parameter checksum "), "no checksum of rank " << r);
  }
  BOOST_CHECK(contains(out, "in container "));
  BOOST_CHECK(contains(out, "ranks agree on the model: yes"));
  std::smatch m;
  BOOST_REQUIRE_MESSAGE(std::regex_search(out, m, std::regex("final test accuracy ([0-9.]+)")), "no accuracy line");
  double acc = std::stod(m[1]);
  BOOST_CHECK_MESSAGE(acc > 0.3, "accuracy " << acc << " is not above chance");
  BOOST_CHECK(contains(out, "throughput "));
}

// What each rank sees, one line per rank: "R W LR LWS ADDR PORT".
const char* show_framework_env = "echo \"fw $RANK $WORLD_SIZE $LOCAL_RANK $LOCAL_WORLD_SIZE $MASTER_ADDR $MASTER_PORT\"";

std::vector<std::string> framework_lines(const std::string& out) {
  std::vector<std::string> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("fw ")) {
      lines.push_back(line.substr(3));
    }
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

// The port every rank must agree on: one value, inside cexec's documented range.
void expect_one_port(const std::vector<std::string>& lines) {
  std::set<std::string> ports;
  for (const auto& l : lines) {
    ports.insert(l.substr(l.rfind(' ') + 1));
  }
  BOOST_REQUIRE_EQUAL(ports.size(), 1u);
  int port = std::stoi(*ports.begin());
  BOOST_CHECK(port >= 20000 && port < 30000);
}

// slurmstepd's PMIx plugin removes its /tmp/spmix_appdir_* folder after the step has ended, a
// moment after srun returns; that folder is SLURM's, so wait for it before the leftover check.
void wait_for_slurm_step_cleanup() {
  for (int i = 0; i < 100; ++i) {
    bool any = false;
    for (const auto& e : fs::directory_iterator("/tmp")) {
      any = any || e.path().filename().string().starts_with("spmix_appdir_");
    }
    if (!any) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

struct Cluster {
  Cluster() {
    BOOST_TEST_REQUIRE(is_root(), "the training tests start slurmd and must run as root");
    e2e::command_timeout = std::chrono::seconds(600);
    auto o = run({cluster_script(), "start", cluster_dir()}, base_env("/root"));
    BOOST_TEST_REQUIRE(o.status == 0, "cannot start the test cluster: " << o);
  }
  ~Cluster() {
    (void)run({cluster_script(), "stop", cluster_dir()}, base_env("/root"));
  }
};

}  // namespace

BOOST_TEST_GLOBAL_FIXTURE(Cluster);

BOOST_FIXTURE_TEST_SUITE(training, Case)

BOOST_AUTO_TEST_CASE(mpirun_two_ranks_one_epoch) {
  auto o = run(mpirun(2, {cexec_bin(), pytorch_image(), "python3", train_py(), "--epochs", "1"}), env, work.path());
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  expect_trained(o.out, 2);
  BOOST_CHECK(contains(o.out, "master 127.0.0.1:"));
}

BOOST_AUTO_TEST_CASE(mpirun_as_an_unprivileged_user) {
  auto o = run(as_nobody(mpirun(2, {cexec_bin(), pytorch_image(), "python3", train_py(), "--epochs", "1"})), env,
               work.path());
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  expect_trained(o.out, 2);
}

BOOST_AUTO_TEST_CASE(srun_pmix_two_ranks_one_epoch) {
  auto o = run({"srun", "--mpi=pmix", "-n", "2", cexec_bin(), pytorch_image(), "python3", train_py(), "--epochs", "1"},
               slurm_env(env), work.path());
  wait_for_slurm_step_cleanup();
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  expect_trained(o.out, 2);
}

BOOST_AUTO_TEST_CASE(sbatch_train_sbatch) {
  // The example's own batch script, submitted from a folder holding train.py, as a user would.
  fs::copy_file(training_dir() + "/train.sbatch", work / "train.sbatch");
  fs::copy_file(train_py(), work / "train.py");
  auto o = run({"sbatch", "--wait", "--export=ALL,CEXEC=" + cexec_bin() + ",IMAGE=" + pytorch_image(), "train.sbatch",
                "--epochs", "1"},
               slurm_env(env), work.path());
  wait_for_slurm_step_cleanup();
  std::string job_out;
  for (const auto& e : fs::directory_iterator(work.path())) {
    if (e.path().filename().string().starts_with("pytorch-ddp-")) {
      job_out = read_text(e.path());
    }
  }
  BOOST_TEST_INFO(o << " job output: " << job_out);
  BOOST_CHECK_EQUAL(o.status, 0);
  expect_trained(job_out, 4);
}

BOOST_AUTO_TEST_CASE(mpi4py_allreduce_in_the_same_image) {
  auto o = run(mpirun(2, {cexec_bin(), pytorch_image(), "python3", training_dir() + "/allreduce.py"}), env, work.path());
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_CHECK(contains(o.out, "over 2 ranks: 3 (expected 3) ok"));
}

BOOST_AUTO_TEST_CASE(framework_env_under_mpirun) {
  auto o = run(mpirun(3, {cexec_bin(), pytorch_image(), "sh", "-c", show_framework_env}), env);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  auto lines = framework_lines(o.out);
  BOOST_REQUIRE_EQUAL(lines.size(), 3u);
  for (int r = 0; r < 3; ++r) {
    BOOST_CHECK(lines[r].starts_with(std::to_string(r) + " 3 " + std::to_string(r) + " 3 127.0.0.1 "));
  }
  expect_one_port(lines);
}

BOOST_AUTO_TEST_CASE(framework_env_under_srun) {
  auto o = run({"srun", "-n", "2", cexec_bin(), pytorch_image(), "sh", "-c", show_framework_env}, slurm_env(env));
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  auto lines = framework_lines(o.out);
  BOOST_REQUIRE_EQUAL(lines.size(), 2u);
  BOOST_CHECK(lines[0].starts_with("0 2 0 2 127.0.0.1 "));
  BOOST_CHECK(lines[1].starts_with("1 2 1 2 127.0.0.1 "));
  expect_one_port(lines);
}

BOOST_AUTO_TEST_CASE(framework_env_never_overrides_the_user) {
  Env e = env;
  e["MASTER_PORT"] = "12345";  // from the host environment
  auto o = run(mpirun(2, {"-x", "MASTER_PORT", cexec_bin(), "--env", "MASTER_ADDR=10.9.8.7", pytorch_image(), "sh",
                          "-c", show_framework_env}),
               e);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  auto lines = framework_lines(o.out);
  BOOST_REQUIRE_EQUAL(lines.size(), 2u);
  BOOST_CHECK_EQUAL(lines[0], "0 2 0 2 10.9.8.7 12345");
  BOOST_CHECK_EQUAL(lines[1], "1 2 1 2 10.9.8.7 12345");
}

BOOST_AUTO_TEST_CASE(no_framework_env_turns_it_off) {
  auto o = run(mpirun(2, {cexec_bin(), "--no-framework-env", pytorch_image(), "sh", "-c", show_framework_env}), env);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  auto lines = framework_lines(o.out);
  BOOST_REQUIRE_EQUAL(lines.size(), 2u);
  BOOST_CHECK_EQUAL(lines[0], "     ");
}

BOOST_AUTO_TEST_CASE(no_framework_env_without_a_launcher) {
  auto o = run_cexec({pytorch_image(), "sh", "-c", show_framework_env}, env);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_CHECK_EQUAL(trim(o.out), "fw");
}

BOOST_AUTO_TEST_SUITE_END()
