// The main job end to end (label `training`): the PyTorch example image (built once, or reused from
// the cache keyed by its definition file; tests/e2e/make_training_stage.sh) runs train.py under
// mpirun on this machine, and across two nodes of the SLURM cluster of namespace nodes
// (tests/cluster/cluster.sh; both are GPU nodes on the fake driver): srun --mpi=pmix, mpirun inside
// sbatch, and the example's own train.sbatch with --gres=gpu:2. Each run must end with the ranks
// agreeing on the model (equal parameter checksums) and the accuracy of a one-node run, and each rank
// must see the right framework variables (RANK, WORLD_SIZE, MASTER_ADDR...) and its GPU.
// Runs as root (slurmd must); the mpirun case also runs as nobody.
#define BOOST_TEST_MODULE cexec_training
#include "cluster.hpp"

#include <algorithm>
#include <cmath>
#include <regex>

using namespace e2e;

namespace {

std::string training_dir() { return stage() + "/training"; }
std::string pytorch_image() { return training_dir() + "/pytorch.img"; }
std::string train_py() { return training_dir() + "/train.py"; }

std::vector<std::string> mpirun(int ranks, std::vector<std::string> args) {
  std::vector<std::string> argv{"mpirun", "-np", std::to_string(ranks), "--oversubscribe"};
  if (is_root()) {
    argv.push_back("--allow-run-as-root");
  }
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// train.py's summary: every rank's checksum equal, accuracy above chance (0.1 for ten digits);
// returns the accuracy.
double expect_trained(const std::string& out, int ranks) {
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
  return acc;
}

// The accuracy of four ranks on one node (mpirun_four_ranks_on_one_node) with the same seed and
// epochs: four ranks across two nodes compute the same training, so they must reach it too.
double one_node_accuracy = -1;

void expect_as_accurate_as_one_node(double acc) {
  BOOST_TEST_REQUIRE(one_node_accuracy > 0, "the one-node run came first and reported its accuracy");
  BOOST_CHECK_MESSAGE(std::abs(acc - one_node_accuracy) <= 0.02, "accuracy " << acc << " across nodes, "
                                                                            << one_node_accuracy << " on one node");
}

// Every rank's placement line: "rank R/W local L/LW on HOST ... gpus G master ADDR:PORT in ...".
struct Placed {
  int rank, local;
  std::string host, gpus, master;
};
std::vector<Placed> placements(const std::string& out) {
  std::vector<Placed> v;
  std::regex line(R"(rank (\d+)/\d+ local (\d+)/\d+ on (\S+) .* gpus (\S+) master (\S+) in )");
  std::istringstream in(out);
  for (std::string l; std::getline(in, l);) {
    std::smatch m;
    if (std::regex_search(l, m, line)) {
      v.push_back({std::stoi(m[1]), std::stoi(m[2]), m[3], m[4], m[5]});
    }
  }
  return v;
}

// Two ranks on each of node1 and node2, all with node1 (rank 0's node) as the rendezvous host.
void expect_two_nodes(const std::string& out) {
  auto v = placements(out);
  BOOST_REQUIRE_EQUAL(v.size(), 4u);
  std::map<std::string, int> per_node;
  for (const auto& p : v) {
    ++per_node[p.host];
    BOOST_CHECK_MESSAGE(p.master.starts_with(v[0].master.substr(0, v[0].master.find(':'))), "rank " << p.rank);
    BOOST_CHECK_EQUAL(p.master, v[0].master);
  }
  BOOST_CHECK_EQUAL(per_node["node1"], 2);
  BOOST_CHECK_EQUAL(per_node["node2"], 2);
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

struct Cluster : ClusterFixture {
  Cluster() : ClusterFixture(2, 2) { e2e::command_timeout = std::chrono::seconds(600); }
};

// A case whose home and work folder are on the shared filesystem, so every node sees them.
using TrainingCase = ClusterCase;

}  // namespace

BOOST_TEST_GLOBAL_FIXTURE(Cluster);

BOOST_FIXTURE_TEST_SUITE(training, TrainingCase)

BOOST_AUTO_TEST_CASE(mpirun_two_ranks_one_epoch) {
  auto o = run(mpirun(2, {cexec_bin(), pytorch_image(), "python3", train_py(), "--epochs", "1"}), env, work.path());
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  expect_trained(o.out, 2);
  BOOST_CHECK(contains(o.out, "master 127.0.0.1:"));
}

BOOST_AUTO_TEST_CASE(mpirun_four_ranks_on_one_node) {
  auto o = run(mpirun(4, {cexec_bin(), pytorch_image(), "python3", train_py(), "--epochs", "1"}), env, work.path());
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  one_node_accuracy = expect_trained(o.out, 4);
}

BOOST_AUTO_TEST_CASE(mpirun_as_an_unprivileged_user) {
  auto o = run(as_nobody(mpirun(2, {cexec_bin(), pytorch_image(), "python3", train_py(), "--epochs", "1"})), env,
               work.path());
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  expect_trained(o.out, 2);
}

BOOST_AUTO_TEST_CASE(srun_two_nodes_two_ranks_each) {
  auto o = run(login({"srun", "-N", "2", "--ntasks-per-node=2", "--mpi=pmix", cexec_bin(), pytorch_image(), "python3",
                      train_py(), "--epochs", "1"}),
               env, dir);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  expect_as_accurate_as_one_node(expect_trained(o.out, 4));
  expect_two_nodes(o.out);
  BOOST_CHECK(contains(o.out, "master node1:"));
}

BOOST_AUTO_TEST_CASE(mpirun_inside_sbatch_on_two_nodes) {
  // mpirun on node1 (the batch host) starts an orted on node2 through srun.
  std::string job = dir + "/mpirun.sh";
  write_text(job, "#!/bin/sh\n#SBATCH -N 2 --ntasks-per-node=2\nmpirun --allow-run-as-root " + cexec_bin() + " " +
                      pytorch_image() + " python3 " + train_py() + " --epochs 1\n");
  auto o = run(login({"sbatch", "--wait", "--output=" + dir + "/mpirun.out", job}), env, dir);
  std::string out = read_text(dir + "/mpirun.out");
  BOOST_TEST_INFO(o << " job output: " << out);
  BOOST_CHECK_EQUAL(o.status, 0);
  expect_as_accurate_as_one_node(expect_trained(out, 4));
  expect_two_nodes(out);
}

BOOST_AUTO_TEST_CASE(sbatch_train_sbatch_on_two_gpu_nodes) {
  // The example's own batch script as written, submitted from a folder holding train.py, with the
  // GPU request on the command line: each rank must see the GPU that SLURM gave its node, its own.
  fs::copy_file(training_dir() + "/train.sbatch", dir + "/train.sbatch");
  fs::copy_file(train_py(), dir + "/train.py");
  // This machine's hwloc topology has no GPU: cexec plans with a GPU node's capture instead.
  std::string exports = "--export=ALL,CEXEC=" + cexec_bin() + ",IMAGE=" + pytorch_image() +
                        ",CEXEC_TOPOLOGY=" + stage() + "/topology/dgx-a100.xml";
  auto o = run(login({"sbatch", "--wait", "-N", "2", "--ntasks-per-node=2", "--gres=gpu:2", exports, "train.sbatch",
                      "--epochs", "1"}),
               env, dir);
  std::string job_out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().starts_with("pytorch-ddp-")) {
      job_out = read_text(e.path());
    }
  }
  BOOST_TEST_INFO(o << " job output: " << job_out);
  BOOST_CHECK_EQUAL(o.status, 0);
  expect_as_accurate_as_one_node(expect_trained(job_out, 4));
  expect_two_nodes(job_out);
  for (const auto& p : placements(job_out)) {
    BOOST_CHECK_MESSAGE(p.gpus == std::to_string(p.local), "rank " << p.rank << " on " << p.host << " sees GPUs "
                                                                    << p.gpus << ", expected " << p.local);
  }
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

BOOST_AUTO_TEST_CASE(framework_env_under_srun_across_nodes) {
  auto o = run(login({"srun", "-N", "2", "--ntasks-per-node=2", cexec_bin(), pytorch_image(), "sh", "-c",
                      show_framework_env}),
               env);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  auto lines = framework_lines(o.out);
  BOOST_REQUIRE_EQUAL(lines.size(), 4u);
  for (int r = 0; r < 4; ++r) {
    BOOST_CHECK(lines[r].starts_with(std::to_string(r) + " 4 " + std::to_string(r % 2) + " 2 node1 "));
  }
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
