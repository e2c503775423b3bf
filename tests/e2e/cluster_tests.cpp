// Jobs that span nodes, on a real SLURM cluster of namespace nodes (tests/cluster/cluster.sh; four
// compute nodes by default, CEXEC_CLUSTER_NODES for more; node1 and node2 are GPU nodes on the fake
// driver). Every launch shape users write: srun with PMIx and PMI-2, sbatch scripts running srun or
// mpirun, salloc + mpirun from the login node, MPICH's Hydra with its SLURM bootstrap; as root and
// as an unprivileged user. Each job reports per rank (mpi_probe nodes) and the checks judge: one
// instance per node and user and step, local ranks, one rendezvous (MASTER_ADDR/MASTER_PORT) that
// resolves to rank 0's node, the host MPI injected, an allreduce right. Then the faults: a node
// that dies, a rank killed, an image missing on one node. After every case no node keeps anything.
#define BOOST_TEST_MODULE cexec_cluster
#include "cluster.hpp"

using namespace e2e;

namespace {

struct Cluster : ClusterFixture {
  Cluster() : ClusterFixture(4, 2) { e2e::command_timeout = std::chrono::seconds(180); }
};

std::string mpi_image() { return image("mpi.sqfs"); }
std::string mpich_image() { return image("mpich.sqfs"); }

std::vector<std::string> probe_nodes(const std::string& img) { return {cexec_bin(), img, "mpi_probe", "nodes"}; }

std::string mpirun_line(bool root) {
  return std::string("mpirun ") + (root ? "--allow-run-as-root " : "") + cexec_bin() + " " + mpi_image() +
         " mpi_probe nodes";
}

// Namespaces per "label: user mnt" line of `srun -l ... ls -Li /proc/self/ns/{user,mnt}`.
std::map<std::string, std::string> instances_by_node(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::regex line(R"(inst (\S+) (\d+) (\d+))");
  for (std::string l; std::getline(in, l);) {
    std::smatch m;
    if (std::regex_search(l, m, line)) {
      out[m[1]] = std::string(m[2]) + "/" + std::string(m[3]);
    }
  }
  return out;
}

const char* show_instance =
    "echo inst $(hostname) $(ls -Li /proc/self/ns/user | cut -d\" \" -f1) $(ls -Li /proc/self/ns/mnt | cut -d\" \" -f1);"
    " sleep 6";

}  // namespace

BOOST_TEST_GLOBAL_FIXTURE(Cluster);

BOOST_FIXTURE_TEST_SUITE(cluster, ClusterCase)

BOOST_AUTO_TEST_CASE(srun_pmix_three_nodes_six_ranks) {
  auto o = run_mpi_job(login(concat({"srun", "-N", "3", "--ntasks-per-node=2", "--mpi=pmix"}, probe_nodes(mpi_image()))), env);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  expect_job_across_nodes(parse_nodes_report(o.out), 6, {{"node1", 2}, {"node2", 2}, {"node3", 2}});
}

// SLURM chooses the uneven layout (here 4 + 1 or 3 + 2); cexec must follow whatever it is.
void expect_uneven(const JobView& job) {
  auto layout = observed_layout(job);
  BOOST_REQUIRE_EQUAL(layout.size(), 2u);
  BOOST_CHECK_NE(layout["node1"], layout["node2"]);
  expect_job_across_nodes(job, 5, layout);
}

BOOST_AUTO_TEST_CASE(srun_uneven_block_layout) {
  auto o = run_mpi_job(login(concat({"srun", "-w", "node[1-2]", "-n", "5", "--mpi=pmix"}, probe_nodes(mpi_image()))), env);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  auto job = parse_nodes_report(o.out);
  expect_uneven(job);
  BOOST_CHECK_EQUAL(job.ranks.at(0).host, job.ranks.at(1).host);  // block: consecutive ranks together
}

BOOST_AUTO_TEST_CASE(srun_cyclic_distribution) {
  auto o = run_mpi_job(login(concat({"srun", "-w", "node[1-2]", "-n", "5", "--distribution=cyclic", "--mpi=pmix"},
                            probe_nodes(mpi_image()))),
               env);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  auto job = parse_nodes_report(o.out);
  expect_uneven(job);
  BOOST_CHECK_EQUAL(job.ranks.at(0).host, "node1");  // cyclic: ranks 0 and 1 on different nodes
  BOOST_CHECK_EQUAL(job.ranks.at(1).host, "node2");
}

BOOST_AUTO_TEST_CASE(srun_ntasks_per_node_on_four_nodes) {
  auto o = run_mpi_job(login(concat({"srun", "-N", "4", "--ntasks-per-node=3", "--mpi=pmix"}, probe_nodes(mpi_image()))), env);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  expect_job_across_nodes(parse_nodes_report(o.out), 12, {{"node1", 3}, {"node2", 3}, {"node3", 3}, {"node4", 3}});
}

BOOST_AUTO_TEST_CASE(srun_pmi2_with_mpich) {
  // Debian's Open MPI has no PMI-2 client (it fails natively too); MPICH's simple PMI talks to
  // srun's pmi2 plugin. srun finds no MPICH of the host to inject (ompi_info is the host's MPI on
  // PATH), so the image's own MPICH runs.
  auto o = run_mpi_job(login(concat({"srun", "-N", "2", "--ntasks-per-node=2", "--mpi=pmi2"}, probe_nodes(mpich_image()))), env);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  auto job = parse_nodes_report(o.out);
  expect_job_across_nodes(job, 4, {{"node1", 2}, {"node2", 2}}, false);
  for (const auto& r : job.ranks) {
    BOOST_CHECK_EQUAL(r.mpi, "image");
  }
}

BOOST_AUTO_TEST_CASE(sbatch_script_running_srun) {
  auto path = script("srun.sh", "#SBATCH -N 2 --ntasks-per-node=2\nsrun --mpi=pmix " + cexec_bin() + " " +
                                    mpi_image() + " mpi_probe nodes\n");
  expect_job_across_nodes(parse_nodes_report(sbatch(*this, path, false)), 4, {{"node1", 2}, {"node2", 2}});
}

BOOST_AUTO_TEST_CASE(sbatch_script_running_mpirun) {
  // mpirun runs on node1 (the batch host) and starts an orted on node2 through srun: the ranks of
  // the two nodes see different SLURM variables, and must still agree on the rendezvous.
  auto path = script("mpirun.sh", "#SBATCH -N 2 --ntasks-per-node=2\n" + mpirun_line(true) + "\n");
  auto job = parse_nodes_report(sbatch(*this, path, false));
  expect_job_across_nodes(job, 4, {{"node1", 2}, {"node2", 2}});
  BOOST_CHECK_EQUAL(job.rank0_address, "10.77.0.11");
}

BOOST_AUTO_TEST_CASE(salloc_mpirun_from_the_login_node) {
  // mpirun runs on the login node, where no rank runs: MASTER_ADDR must still be rank 0's node.
  auto o = run_mpi_job(login({"salloc", "-N", "2", "--ntasks-per-node=2", "mpirun", "--allow-run-as-root", cexec_bin(),
                      mpi_image(), "mpi_probe", "nodes"}),
               env, dir);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  auto job = parse_nodes_report(o.out);
  expect_job_across_nodes(job, 4, {{"node1", 2}, {"node2", 2}});
  BOOST_CHECK_EQUAL(job.ranks.at(0).env.at("MASTER_ADDR"), "node1");
}

BOOST_AUTO_TEST_CASE(hydra_with_the_slurm_bootstrap) {
  auto o = run_mpi_job(login(concat({"salloc", "-N", "2", "--ntasks-per-node=2", "mpiexec.hydra", "-bootstrap", "slurm", "-n", "4"},
                            probe_nodes(mpich_image()))),
               env, dir);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  // Under Hydra the bridge asks mpichversion: the host's MPICH is injected on both nodes.
  expect_job_across_nodes(parse_nodes_report(o.out), 4, {{"node1", 2}, {"node2", 2}});
}

BOOST_AUTO_TEST_CASE(srun_as_an_unprivileged_user) {
  auto o = run_mpi_job(login(as_nobody(concat({"srun", "-N", "3", "--ntasks-per-node=2", "--mpi=pmix"}, probe_nodes(mpi_image())))),
               env);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  auto job = parse_nodes_report(o.out);
  expect_job_across_nodes(job, 6, {{"node1", 2}, {"node2", 2}, {"node3", 2}});
}

BOOST_AUTO_TEST_CASE(sbatch_mpirun_as_an_unprivileged_user) {
  auto path = script("mpirun.sh", "#SBATCH -N 2 --ntasks-per-node=2\n" + mpirun_line(false) + "\n");
  expect_job_across_nodes(parse_nodes_report(sbatch(*this, path, true)), 4, {{"node1", 2}, {"node2", 2}});
}

BOOST_AUTO_TEST_CASE(steps_of_one_allocation_and_two_users_never_share) {
  // Two steps of one allocation run at once on node1 and node2, and a job of another user beside them.
  std::string step = "srun --overlap -N 2 -n 2 " + cexec_bin() + " " + mpi_image() + " sh -c '" + show_instance + "'";
  auto inner = script("steps.sh", step + " > " + dir + "/step-a.out &\n" + step + " > " + dir + "/step-b.out &\nwait\n");
  auto outer = script("both.sh", "salloc -N 2 -w node1,node2 " + inner + " &\nsetpriv --reuid=65534 --regid=65534 "
                                     "--clear-groups srun -N 2 -n 2 -w node1,node2 " + cexec_bin() + " " +
                                     mpi_image() + " sh -c '" + show_instance + "' > " + dir + "/user.out &\nwait\n");
  auto o = run_mpi_job(login({outer}), env, dir);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_TEST_INFO("step a: " << read_text(dir + "/step-a.out") << " step b: " << read_text(dir + "/step-b.out")
                              << " user: " << read_text(dir + "/user.out"));
  auto a = instances_by_node(read_text(dir + "/step-a.out"));
  auto b = instances_by_node(read_text(dir + "/step-b.out"));
  auto u = instances_by_node(read_text(dir + "/user.out"));
  for (const auto& node : {"node1", "node2"}) {
    BOOST_TEST_CONTEXT(node) {
      BOOST_REQUIRE(a.count(node) && b.count(node) && u.count(node));
      BOOST_CHECK_NE(a[node], b[node]);
      BOOST_CHECK_NE(a[node], u[node]);
      BOOST_CHECK_NE(b[node], u[node]);
    }
  }
  BOOST_CHECK_NE(a["node1"], a["node2"]);
}

BOOST_AUTO_TEST_CASE(gpu_nodes_give_each_rank_the_gpu_slurm_gave_it) {
  // node1 and node2 are GPU nodes (gres.conf: two device files of the fake driver tree).
  Env e = env;
  e["CEXEC_TOPOLOGY"] = stage() + "/topology/dgx-a100.xml";  // this machine's own topology has no GPU
  auto o = run_mpi_job(login({"srun", "-N", "2", "-n", "4", "--gres=gpu:2", "-w", "node1,node2", "--ntasks-per-node=2", "-l",
                      cexec_bin(), mpi_image(), "sh", "-c",
                      "echo gpu $(hostname) $SLURM_LOCALID $SLURM_STEP_GPUS $CUDA_VISIBLE_DEVICES; ls /.cexec/host/gpu/lib"}),
               e);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  std::regex line(R"(gpu (node[12]) (\d) 0,1 (\S+))");
  int seen = 0;
  std::istringstream in(o.out);
  for (std::string l; std::getline(in, l);) {
    std::smatch m;
    if (std::regex_search(l, m, line)) {
      ++seen;
      BOOST_CHECK_EQUAL(m[3].str(), m[2].str());  // local rank r gets GPU r of the two SLURM gave the step
    }
  }
  BOOST_CHECK_EQUAL(seen, 4);
  BOOST_CHECK(contains(o.out, "libcuda.so.1"));  // the driver stack is injected on both GPU nodes
}

BOOST_AUTO_TEST_CASE(a_node_that_dies_ends_the_job_and_the_others_keep_nothing) {
  int holding = 0;
  auto start = std::chrono::steady_clock::now();
  double killed_after = 0;
  auto o = run(login({"srun", "-N", "3", "-n", "3", "--mpi=pmix", cexec_bin(), mpi_image(), "mpi_probe", "hold", "120"}),
               env, "/", "", [&](pid_t, const std::string& out) {
                 holding = 0;
                 for (auto p = out.find("holding"); p != std::string::npos; p = out.find("holding", p + 1)) {
                   ++holding;
                 }
                 if (holding < 3) {
                   return false;
                 }
                 auto k = run({cluster_script(), "kill-node", cluster_dir(), "node3"}, base_env("/root"));
                 BOOST_CHECK_EQUAL(k.status, 0);
                 killed_after = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                 return true;
               });
  double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(holding, 3);
  BOOST_CHECK_NE(o.status, 0);
  BOOST_CHECK(contains(o.err, "Node failure on node3"));
  // SlurmdTimeout is 10 s on the test cluster: the job ends well within it plus a margin, never at the hold's end.
  BOOST_CHECK_MESSAGE(total - killed_after < 60, "the job ended " << total - killed_after << " s after the node died");
  cluster_nodes.erase(std::find(cluster_nodes.begin(), cluster_nodes.end(), "node3"));
  expect_nodes_clean();  // node1, node2 and node4
  cluster_nodes.push_back("node3");
  auto r = run({cluster_script(), "revive", cluster_dir(), "node3"}, base_env("/root"));
  BOOST_CHECK_MESSAGE(r.status == 0, "node3 did not come back: " << r);
}

// Kills rank 3 (on node2) once every rank holds; returns the launcher's outcome.
Outcome kill_one_rank(const std::vector<std::string>& argv, const Env& env, const std::string& cwd) {
  std::regex pid_line(R"(mpi_probe: rank 3 pid (\d+) holding)");
  int ranks = 0;
  return run(argv, env, cwd, "", [&](pid_t, const std::string& out) {
    ranks = 0;
    for (auto p = out.find("holding"); p != std::string::npos; p = out.find("holding", p + 1)) {
      ++ranks;
    }
    std::smatch m;
    if (ranks < 4 || !std::regex_search(out, m, pid_line)) {
      return false;
    }
    // Every node shares the machine's PID namespace: the pid is valid here.
    BOOST_CHECK_EQUAL(::kill(std::stoi(m[1]), SIGKILL), 0);
    return true;
  });
}

BOOST_AUTO_TEST_CASE(a_rank_killed_under_mpirun_aborts_the_job_everywhere) {
  auto start = std::chrono::steady_clock::now();
  auto o = kill_one_rank(login({"salloc", "-N", "2", "--ntasks-per-node=2", "mpirun", "--allow-run-as-root", cexec_bin(),
                                mpi_image(), "mpi_probe", "hold", "120"}),
                         env, dir);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_NE(o.status, 0);
  BOOST_CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(90));
}

BOOST_AUTO_TEST_CASE(a_rank_killed_under_srun_aborts_the_job_everywhere) {
  auto start = std::chrono::steady_clock::now();
  auto o = kill_one_rank(login({"srun", "-N", "2", "--ntasks-per-node=2", "--mpi=pmix", "-l", cexec_bin(), mpi_image(), "mpi_probe",
                                "hold", "120"}),
                         env, dir);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_NE(o.status, 0);
  BOOST_CHECK(contains(o.err, "task 3: Killed"));
  BOOST_CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(90));
}

BOOST_AUTO_TEST_CASE(an_image_missing_on_one_node_fails_fast_with_one_line) {
  // The image's folder is on the shared filesystem, but node2 does not see it (a tmpfs over it in
  // node2's mount namespace: a stale or missing mount on one node).
  std::string images = dir + "/images";
  fs::create_directories(images);
  fs::copy_file(mpi_image(), images + "/app.sqfs");
  auto hide = run(on("node2", {"mount", "-t", "tmpfs", "tmpfs", images}), base_env("/root"));
  BOOST_REQUIRE_MESSAGE(hide.status == 0, hide);
  auto start = std::chrono::steady_clock::now();
  auto o = run(login({"srun", "-w", "node[1-2]", "--ntasks-per-node=2", "--mpi=pmix", "-l", cexec_bin(), images + "/app.sqfs", "mpi_probe",
                      "nodes"}),
               env);
  auto took = std::chrono::steady_clock::now() - start;
  (void)run(on("node2", {"umount", images}), base_env("/root"));
  BOOST_TEST_INFO(o);
  BOOST_CHECK_NE(o.status, 0);
  BOOST_CHECK(took < std::chrono::seconds(30));
  // node2's ranks (2 and 3) each print one line naming the image and the reason.
  std::string expected = "cexec: image `" + images + "/app.sqfs`: No such file or directory";
  for (const char* label : {"2: ", "3: "}) {
    BOOST_CHECK_MESSAGE(contains(o.err, label + expected), "no `" << label << expected << "` in stderr");
  }
  BOOST_CHECK(!contains(o.err, "0: cexec:"));
}

BOOST_AUTO_TEST_SUITE_END()
