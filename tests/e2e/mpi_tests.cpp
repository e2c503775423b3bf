// Node-instance tests with the real Open MPI mpirun: every rank of a job on this node must enter
// one container (one user and mount namespace), cross-memory attach must work between ranks, and
// faults must end in errors, never hangs, with nothing of cexec left behind.
#define BOOST_TEST_MODULE cexec_mpi
#include "harness.hpp"
#include "placement.hpp"

#include <cstddef>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>

using namespace e2e;

namespace {

std::string mpi_image() { return image("mpi.sqfs"); }

std::vector<std::string> mpirun(int ranks) {
  std::vector<std::string> argv{"mpirun", "-np", std::to_string(ranks), "--oversubscribe"};
  if (is_root()) {
    argv.push_back("--allow-run-as-root");
  }
  return argv;
}

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

size_t count(const std::string& text, const std::string& word) {
  size_t n = 0;
  for (size_t pos = text.find(word); pos != std::string::npos; pos = text.find(word, pos + 1)) {
    ++n;
  }
  return n;
}

void expect_check_passed(const Outcome& o, int ranks) {
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_CHECK(contains(o.out, "mpi_probe: namespaces shared"));
  BOOST_CHECK(contains(o.out, ", " + std::to_string(ranks) + " ranks)"));
  BOOST_CHECK(contains(o.out, "mpi_probe: process_vm_readv " + std::to_string(ranks) + "/" + std::to_string(ranks)));
  BOOST_CHECK(contains(o.out, "mpi_probe: allreduce ok"));
  BOOST_CHECK(contains(o.out, "mpi_probe: pingpong 4MiB ok"));
  BOOST_CHECK(contains(o.out, "mpi_probe: check passed"));
}

// A listening abstract SOCK_SEQPACKET socket under `name`, as a stuck creator or a squatter holds it.
int listen_abstract(const std::string& name) {
  int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path + 1, name.data(), name.size());
  socklen_t len = static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + 1 + name.size());
  BOOST_REQUIRE(::bind(fd, reinterpret_cast<struct sockaddr*>(&addr), len) == 0);
  BOOST_REQUIRE(::listen(fd, 16) == 0);
  return fd;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(mpi, Case)

BOOST_AUTO_TEST_CASE(a_creator_that_dies_during_setup_is_replaced) {
  // Learn the instance's name, then hold it the way a creator does before its keeper answers,
  // and die (close the socket) while a rank waits: the rank must take over and succeed.
  auto first = run_cexec({"-v", "--instance", "takeover", sqfs(), "true"}, env);
  BOOST_REQUIRE_EQUAL(first.status, 0);
  std::string name = instance_name(first.err);
  for (int i = 0; i < 100 && find_process("cexec-instance") != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  int stuck = listen_abstract(name);
  auto o = run({cexec_bin(), "-v", "--instance", "takeover", sqfs(), "cat", "/etc/image-marker"}, env, "/", "",
               [&](pid_t, const std::string&) {
                 std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the rank is waiting now
                 ::close(stuck);
                 return true;
               });
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_CHECK_EQUAL(o.out, "in the image\n");
  BOOST_CHECK(contains(o.err, "went away before admitting this process"));
  BOOST_CHECK(contains(o.err, "created node instance @" + name));
}

BOOST_AUTO_TEST_CASE(an_instance_socket_held_by_another_user_is_refused) {
  // Abstract sockets have no permissions: another user could bind a name first if they knew it
  // (the name is keyed by the user's secret; here the squatter is told it). cexec checks the
  // listener's uid, never joins it, and runs the job in a private container with a warning
  // (root only: it needs that other user).
  BOOST_REQUIRE(is_root());
  auto first = run_cexec({"-v", "--instance", "squatted", sqfs(), "true"}, env);
  BOOST_REQUIRE_EQUAL(first.status, 0);
  std::string name = instance_name(first.err);
  for (int i = 0; i < 100 && find_process("cexec-instance") != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  int ready[2];
  BOOST_REQUIRE(::pipe(ready) == 0);
  pid_t squatter = ::fork();
  if (squatter == 0) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) {
      ::_exit(1);
    }
    int fd = listen_abstract(name);
    (void)fd;
    (void)!::write(ready[1], "x", 1);
    ::pause();
    ::_exit(0);
  }
  char byte;
  BOOST_REQUIRE(::read(ready[0], &byte, 1) == 1);
  auto o = run_cexec({"--instance", "squatted", sqfs(), "cat", "/etc/image-marker"}, env);
  ::kill(squatter, SIGKILL);
  ::waitpid(squatter, nullptr, 0);
  ::close(ready[0]);
  ::close(ready[1]);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_CHECK_EQUAL(o.out, "in the image\n");
  BOOST_CHECK(contains(o.err, "cexec: warning: node instance socket @" + name +
                                  " is held by uid 65534, not by you; running a private container\n"));
}

BOOST_AUTO_TEST_CASE(another_user_flooding_the_instance_delays_no_join) {
  // While root's instance lives, nobody connects to it as fast as it can; every one of root's
  // launches meanwhile joins the instance (root only: it needs that other user).
  BOOST_REQUIRE(is_root());
  Env e = env;
  e["CEXEC_LINGER"] = "3";
  auto first = run_cexec({"-v", "--instance", "flooded", sqfs(), "true"}, e);
  BOOST_REQUIRE_EQUAL(first.status, 0);
  std::string name = instance_name(first.err);
  int counted[2];
  BOOST_REQUIRE(::pipe(counted) == 0);
  pid_t flooder = ::fork();
  if (flooder == 0) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) {
      ::_exit(1);
    }
    struct sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path + 1, name.data(), name.size());
    socklen_t len = static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + 1 + name.size());
    long connected = 0;
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(4);
    while (std::chrono::steady_clock::now() < end) {
      int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
      connected += ::connect(fd, reinterpret_cast<struct sockaddr*>(&addr), len) == 0;
      ::close(fd);
    }
    (void)!::write(counted[1], &connected, sizeof connected);
    ::_exit(0);
  }
  int joined = 0;
  for (int i = 0; i < 10; ++i) {
    auto o = run_cexec({"-v", "--instance", "flooded", sqfs(), "cat", "/etc/image-marker"}, e);
    BOOST_TEST_INFO(o);
    BOOST_CHECK_EQUAL(o.status, 0);
    BOOST_CHECK_EQUAL(o.out, "in the image\n");
    BOOST_CHECK(!contains(o.err, "private container"));
    joined += contains(o.err, "joined node instance @" + name);
  }
  long connected = 0;
  BOOST_REQUIRE(::read(counted[0], &connected, sizeof connected) == static_cast<ssize_t>(sizeof connected));
  ::waitpid(flooder, nullptr, 0);
  ::close(counted[0]);
  ::close(counted[1]);
  BOOST_CHECK_EQUAL(joined, 10);
  BOOST_CHECK_GT(connected, 100);  // the flood reached the instance
  expect_nothing_left(10);
}

// Fault injection (test hooks, launcher/test_hooks.hpp): for every named step of instance
// creation, joining and the privileged sequence, one process of a 4-rank job (the creator, the
// keeper, the instance's builder or a joining rank: whoever reaches the step first) is killed
// with SIGKILL there. The job then either recovers (the keeper died before admitting anyone: the
// next rank takes over) or fails with a cexec error or the launcher's report of a killed rank;
// it never hangs, and nothing of cexec remains.
BOOST_AUTO_TEST_CASE(sigkill_at_every_step_fails_cleanly_or_recovers) {
  struct StepCase {
    const char* step;
    const char* expect;  // "recovers", "error" (a cexec error line from the ranks), "killed" (a rank died)
  };
  const StepCase steps[] = {
      {"host-facts", "killed"},        {"rendezvous-secret", "killed"}, {"instance-create", "killed"},
      {"keeper-start", "recovers"},    {"user-namespace", "error"},     {"private-mounts", "error"},
      {"clone-bind-sources", "error"}, {"mount-image", "error"},        {"read-node-image-facts", "error"},
      {"plan-node", "error"},          {"staging-tmpfs", "error"},
      // The node's host facts are read by the keeper before it admits anyone: killed there, the
      // next rank takes over as for keeper-start.
      {"mpi-discovery", "recovers"},   {"topology-load", "recovers"},
      {"scaffolding", "error"},        {"generated-files", "error"},    {"binds", "error"},
      {"seal-root", "error"},          {"pivot-root", "error"},         {"keeper-admit", "recovers"},
      {"instance-wait", "killed"},     {"instance-join", "killed"},     {"image-environment", "killed"},
      {"instance-environment", "killed"}, {"placement", "killed"},      {"working-directory", "killed"},
      {"drop-privileges", "killed"},
  };
  std::string marker = home.path() + "/killed-at";  // the home is bound: visible inside the container too
  for (const auto& c : steps) {
    Env e = env;
    e["CEXEC_TEST_KILL_AT"] = std::string(c.step) + ":" + marker;
    auto t0 = std::chrono::steady_clock::now();
    auto o = run(concat(mpirun(4), {cexec_bin(), "--instance", std::string("fault-") + c.step, sqfs(), "true"}), e);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    BOOST_TEST_INFO("step " << c.step << " (" << c.expect << "), " << seconds << " s: " << o);
    BOOST_CHECK_MESSAGE(fs::exists(marker), "no process reached step " << c.step);
    BOOST_CHECK_LT(seconds, 40.0);  // no rank hangs (the harness kills at 60 s)
    std::string expect = c.expect;
    if (expect == "recovers") {
      BOOST_CHECK_EQUAL(o.status, 0);
    } else {
      BOOST_CHECK_NE(o.status, 0);
      if (expect == "error") {
        BOOST_CHECK(contains(o.err, "cexec: "));
      }
    }
    expect_nothing_left(10);
    fs::remove(marker);
  }
}

BOOST_AUTO_TEST_CASE(four_ranks_share_one_instance) {
  expect_check_passed(run(concat(mpirun(4), {cexec_bin(), mpi_image(), "mpi_probe", "check"}), env), 4);
}

BOOST_AUTO_TEST_CASE(sixteen_ranks_share_one_instance) {
  expect_check_passed(run(concat(mpirun(16), {cexec_bin(), mpi_image(), "mpi_probe", "check"}), env), 16);
}

BOOST_AUTO_TEST_CASE(one_rank_creates_the_others_join) {
  Env e = env;
  e.erase("CEXEC_LINGER");  // /bin/true exits at once: without the linger a slow rank could find no instance
  auto o = run(concat(mpirun(4), {cexec_bin(), "-v", mpi_image(), "true"}), e);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_CHECK_EQUAL(count(o.err, "created node instance @"), 1u);
  BOOST_CHECK_EQUAL(count(o.err, "joined node instance @"), 3u);
  BOOST_CHECK(contains(o.err, "(from PMIX_NAMESPACE, OMPI_MCA_ess_base_jobid+OMPI_MCA_orte_hnp_uri), job ompi:"));
  BOOST_CHECK(contains(o.err, "(from OMPI_MCA_ess_base_jobid+OMPI_MCA_orte_hnp_uri), launcher openmpi"));
  BOOST_CHECK(contains(o.err, "local rank 3 of 4"));
}

BOOST_AUTO_TEST_CASE(private_containers_cannot_attach) {
  // The reason for the node instance: with --no-share each rank has its own user namespace and
  // the kernel refuses cross-memory attach between them.
  auto o = run(concat(mpirun(2), {cexec_bin(), "--no-share", mpi_image(), "mpi_probe", "cma"}), env);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_CHECK(contains(o.out, "mpi_probe: namespaces DIFFER"));
  BOOST_CHECK(contains(o.out, "mpi_probe: process_vm_readv 0/2"));
}

BOOST_AUTO_TEST_CASE(killed_rank_aborts_the_job_and_nothing_remains) {
  Env e = env;
  e.erase("CEXEC_LINGER");  // the default linger: cleanup must still take only a few seconds
  pid_t victim = 0;
  auto o = run(concat(mpirun(4), {cexec_bin(), mpi_image(), "mpi_probe", "hold", "60"}), e, "/", "",
               [&](pid_t, const std::string& out) {
                 if (count(out, " holding") < 4) {
                   return false;
                 }
                 auto pos = out.find("pid ");
                 victim = std::stoi(out.substr(pos + 4));
                 ::kill(victim, SIGKILL);
                 return true;
               });
  BOOST_TEST_INFO(o);
  BOOST_CHECK_GT(victim, 0);
  BOOST_CHECK_NE(o.status, 0);
  expect_nothing_left(8);
}

BOOST_AUTO_TEST_CASE(killed_instance_fails_the_ranks_without_a_hang) {
  // The keeper serves the image: once it is gone, every rank's next access to the image fails.
  auto o = run(concat(mpirun(4), {cexec_bin(), mpi_image(), "mpi_probe", "hold", "2"}), env, "/", "",
               [&](pid_t, const std::string& out) {
                 if (count(out, " holding") < 4) {
                   return false;
                 }
                 pid_t keeper = find_process("cexec-instance");
                 BOOST_CHECK_GT(keeper, 0);
                 ::kill(keeper, SIGKILL);
                 return true;
               });
  BOOST_TEST_INFO(o);
  BOOST_CHECK_NE(o.status, 0);
  BOOST_CHECK(contains(o.out, "cannot read /etc/image-marker"));
  expect_nothing_left(8);
}

BOOST_AUTO_TEST_CASE(twenty_back_to_back_jobs) {
  for (int job = 0; job < 20; ++job) {
    auto o = run(concat(mpirun(8), {cexec_bin(), mpi_image(), "true"}), env);
    BOOST_TEST_INFO("job " << job << ": " << o);
    BOOST_CHECK_EQUAL(o.status, 0);
  }
}

BOOST_AUTO_TEST_CASE(concurrent_jobs_see_their_own_images) {
  // Two jobs at once (two mpiruns, so two job identities), one image each.
  std::string payload = " sh -c 'sleep 1; cat /etc/image-marker' > ";
  std::vector<std::string> argv = {"sh", "-c",
                                   "\"$@\" " + mpi_image() + payload + (work / "a.out") + " 2>&1 & \"$@\" " + sqfs() +
                                       payload + (work / "b.out") + " 2>&1; wait $!",
                                   "sh"};
  argv = concat(argv, concat(mpirun(2), {cexec_bin()}));
  auto o = run(argv, env);
  BOOST_TEST_INFO(o << " a=" << read_text(work / "a.out") << " b=" << read_text(work / "b.out"));
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_CHECK_EQUAL(count(read_text(work / "a.out"), "mpi image"), 2u);
  BOOST_CHECK_EQUAL(count(read_text(work / "b.out"), "in the image"), 2u);
}

BOOST_AUTO_TEST_CASE(two_users_never_share) {
  // Run as root only (ctest passes the filter): it needs a second user. Both name the same
  // instance explicitly; the key and the socket carry the uid, and the keeper admits its owner only.
  BOOST_REQUIRE(is_root());
  Env e = env;
  auto o = run({"sh", "-c",
                "\"$0\" --instance shared \"$1\" sh -c 'readlink /proc/self/ns/mnt; sleep 2' > " + (work / "root.out") +
                    " & sleep 0.5; setpriv --reuid=65534 --regid=65534 --clear-groups \"$0\" --instance shared \"$1\" "
                    "readlink /proc/self/ns/mnt > " + (work / "nobody.out") + "; wait",
                cexec_bin(), sqfs()},
               e);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  std::string root_ns = trim(read_text(work / "root.out"));
  std::string nobody_ns = trim(read_text(work / "nobody.out"));
  BOOST_CHECK(root_ns.starts_with("mnt:["));
  BOOST_CHECK(nobody_ns.starts_with("mnt:["));
  BOOST_CHECK_NE(root_ns, nobody_ns);
}

// Placement (topology/): with mpirun's own binding off, each rank binds itself to its row of
// `cexec plan` for the same rank count, and sees that row's environment.
std::pair<int, std::string> tagged_rank(const std::string& line) {
  // mpirun --tag-output: "[JOB,RANK]<stdout>:TEXT"
  auto comma = line.find(',');
  auto close = line.find("]<stdout>:");
  if (!line.starts_with("[") || comma == std::string::npos || close == std::string::npos || comma > close) {
    return {-1, ""};
  }
  return {std::stoi(line.substr(comma + 1, close - comma - 1)), line.substr(close + 10)};
}

std::vector<std::string> probe_placement() {
  std::vector<std::string> argv{"probe", "placement"};
  argv.insert(argv.end(), placement_vars.begin(), placement_vars.end());
  return argv;
}

BOOST_AUTO_TEST_CASE(mpirun_ranks_bind_to_their_row_of_cexec_plan) {
  auto planned = run({cexec_bin(), "plan", "--ranks", "2"}, env);
  BOOST_TEST_REQUIRE(planned.status == 0, planned);
  std::vector<std::string> argv{"mpirun", "-np", "2", "--bind-to", "none", "--tag-output"};
  if (is_root()) {
    argv.push_back("--allow-run-as-root");
  }
  auto o = run(concat(concat(argv, {cexec_bin(), sqfs()}), probe_placement()), env);
  BOOST_TEST_REQUIRE(o.status == 0, o);
  auto seen = parse_probe(o.out, tagged_rank);
  expect_matches_plan(seen, parse_plan(planned.out), true);
  BOOST_TEST(seen[0].cpus != seen[1].cpus);  // disjoint on this 2-core host: one core each
}

BOOST_AUTO_TEST_CASE(mpirun_ranks_on_a_stored_topology_see_the_planned_environment) {
  // A DGX A100 topology on this host: GPU, NIC and OpenMP variables follow the plan; its CPUs are
  // not this host's, so the affinity stays the launcher's (a notice says so with -v).
  std::string xml = stage() + "/topology/dgx-a100.xml";
  Env e = env;
  e["CUDA_VISIBLE_DEVICES"] = "0,1,2,3,4,5,6,7";
  auto planned = run({cexec_bin(), "plan", "--topology", xml, "--ranks", "4"}, e);
  BOOST_TEST_REQUIRE(planned.status == 0, planned);
  auto o = run(concat(concat(mpirun(4), {"--tag-output", "-x", "CUDA_VISIBLE_DEVICES", cexec_bin(), "--topology", xml, sqfs()}),
                      probe_placement()),
               e);
  BOOST_TEST_REQUIRE(o.status == 0, o);
  auto seen = parse_probe(o.out, tagged_rank);
  expect_matches_plan(seen, parse_plan(planned.out), false);
  BOOST_TEST(seen[2].env["CUDA_VISIBLE_DEVICES"] == "4");
  BOOST_TEST(seen[2].env["NCCL_IB_HCA"] == "=mlx5_6:1");
}

BOOST_AUTO_TEST_CASE(explicit_user_settings_win_over_placement) {
  Env e = env;
  e["CEXEC_ENV_OMP_NUM_THREADS"] = "7";
  auto o = run(concat(concat(mpirun(2), {"--bind-to", "none", "--tag-output", cexec_bin(), "--env", "CEXEC_NIC=mine", sqfs()}),
                      probe_placement()),
               e);
  BOOST_TEST_REQUIRE(o.status == 0, o);
  auto seen = parse_probe(o.out, tagged_rank);
  BOOST_TEST(seen[1].env["OMP_NUM_THREADS"] == "7");
  BOOST_TEST(seen[1].env["CEXEC_NIC"] == "mine");
  BOOST_TEST(seen[1].env["OMP_PLACES"] == "cores");
}

BOOST_AUTO_TEST_CASE(bad_placement_options_are_usage_errors) {
  auto o = run_cexec({"--cpu-bind", "sockets", sqfs(), "true"}, env);
  BOOST_TEST(o.status == exit_code_for(ErrorKind::usage));
  BOOST_TEST(contains(o.err, "--cpu-bind `sockets`: expected auto, none, cores, numa or package"));
  o = run_cexec({"--gpus-per-rank", "-1", sqfs(), "true"}, env);
  BOOST_TEST(o.status == exit_code_for(ErrorKind::usage));
  o = run({cexec_bin(), "plan", "--topology", "/nonexistent.xml"}, env);
  BOOST_TEST(o.status == exit_code_for(ErrorKind::input_missing));
  BOOST_TEST(contains(o.err, "topology file `/nonexistent.xml`: No such file or directory"));
  o = run({cexec_bin(), "plan", "--ranks", "0"}, env);
  BOOST_TEST(o.status == exit_code_for(ErrorKind::usage));
  o = run_cexec({"--topology", "/nonexistent.xml", sqfs(), "true"}, env);
  BOOST_TEST(o.status == exit_code_for(ErrorKind::input_missing));
  BOOST_TEST(contains(o.err, "topology file `/nonexistent.xml`"));
}

BOOST_AUTO_TEST_SUITE_END()

// The MPI bridge (issue 5): the host's MPI injected into images under the real launchers.
BOOST_FIXTURE_TEST_SUITE(bridge, Case)

namespace {

const std::string injected_warning = "cexec: warning: mpi: the host's MPI is not injected";

bool have(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

}  // namespace

BOOST_AUTO_TEST_CASE(an_image_without_mpi_fails_without_the_bridge) {
  auto o = run(concat(mpirun(2), {cexec_bin(), "--mpi=off", image("nompi.sqfs"), "mpi_probe", "check"}), env);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_NE(o.status, 0);
  BOOST_CHECK(contains(o.err, "libmpi.so.40: cannot open shared object file"));
}

BOOST_AUTO_TEST_CASE(an_image_without_mpi_runs_with_the_hosts_injected) {
  auto o = run(concat(mpirun(4), {cexec_bin(), image("nompi.sqfs"), "mpi_probe", "check"}), env);
  expect_check_passed(o, 4);
  BOOST_CHECK(!contains(o.err, "warning"));
}

BOOST_AUTO_TEST_CASE(verbose_launch_logs_the_verdicts) {
  auto o = run(concat(mpirun(2), {cexec_bin(), "-v", image("nompi.sqfs"), "true"}), env);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_CHECK(contains(o.err, "info: mpi: injecting host Open MPI v"));
  BOOST_CHECK(contains(o.err, "info: mpi: ok libmpi.so.40: the image has no MPI library"));
  BOOST_CHECK_EQUAL(count(o.err, "info: mpi: discovery and verdicts took "), 1u);  // once per node, not per rank
}

BOOST_AUTO_TEST_CASE(a_plain_launch_injects_nothing) {
  // No launcher: no discovery, no injection (single runs stay fast).
  auto o = run_cexec({"-v", image("nompi.sqfs"), "true"}, env);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_CHECK(!contains(o.err, "info: mpi:"));
}

BOOST_AUTO_TEST_CASE(an_mpich_image_under_open_mpi) {
  BOOST_REQUIRE(have(image("mpich.sqfs")));
  auto refused = run(concat(mpirun(2), {cexec_bin(), "--mpi=host", image("mpich.sqfs"), "mpi_probe", "marker"}), env);
  BOOST_TEST_INFO(refused);
  BOOST_CHECK_NE(refused.status, 0);
  BOOST_CHECK(contains(refused.err, "--mpi=host: the host's MPI cannot be injected into image"));
  BOOST_CHECK(contains(refused.err, "are different MPI ABIs"));
  BOOST_CHECK(contains(refused.err, "cexec mpi check"));
  // auto: one warning (rank 0) and the image's own MPICH runs (as singletons: Open MPI's mpirun
  // speaks no PMI that MPICH's default build understands).
  auto fallback = run(concat(mpirun(2), {cexec_bin(), image("mpich.sqfs"), "mpi_probe", "marker"}), env);
  BOOST_TEST_INFO(fallback);
  BOOST_CHECK_EQUAL(count(fallback.err, injected_warning), 1u);
  BOOST_CHECK(contains(fallback.err, "running the image's own MPI"));
  BOOST_CHECK(contains(fallback.out, "mpich image"));
}

BOOST_AUTO_TEST_CASE(an_old_glibc_is_refused_before_launch) {
  auto o = run(concat(mpirun(2), {cexec_bin(), "--mpi=host", image("oldglibc.sqfs"), "mpi_probe", "marker"}), env);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_NE(o.status, 0);
  BOOST_CHECK(contains(o.err, "does not provide GLIBC_2."));  // the newest one missing
  BOOST_CHECK(!contains(o.out, "mpi_probe"));
  // Without a launcher too, with the documented status.
  auto single = run_cexec({"--mpi=host", image("oldglibc.sqfs"), "true"}, env);
  BOOST_TEST_INFO(single);
  BOOST_CHECK_EQUAL(single.status, 79);
  BOOST_CHECK(contains(single.err, "the image's libc.so.6 does not provide GLIBC_2."));
  BOOST_CHECK(contains(single.err, "(needed by "));
}

BOOST_AUTO_TEST_CASE(mpi_check_on_each_image) {
  auto ok = run_cexec({"mpi", "check", image("nompi.sqfs")}, env);
  BOOST_TEST_INFO(ok);
  BOOST_CHECK_EQUAL(ok.status, 0);
  BOOST_CHECK(contains(ok.out, "host MPI:  Open MPI v"));
  BOOST_CHECK(contains(ok.out, "image MPI: none"));
  BOOST_CHECK(contains(ok.out, "/.cexec/host/mpi/lib/libmpi.so.40"));
  BOOST_CHECK(contains(ok.out, "LD_LIBRARY_PATH=/.cexec/host/mpi/lib:$LD_LIBRARY_PATH"));
  BOOST_CHECK(contains(ok.out, "result: compatible"));
  auto same = run_cexec({"mpi", "check", mpi_image()}, env);
  BOOST_TEST_INFO(same);
  BOOST_CHECK_EQUAL(same.status, 0);
  BOOST_CHECK(contains(same.out, "image MPI: Open MPI libmpi.so.40 (40) at "));  // copied under its soname: no minor
  BOOST_REQUIRE(have(image("mpich.sqfs")));  // staged by make_bridge_images.sh; never a silent skip
  auto mpich = run_cexec({"mpi", "check", "--json", image("mpich.sqfs")}, env);
  BOOST_TEST_INFO(mpich);
  BOOST_CHECK_EQUAL(mpich.status, 79);
  BOOST_CHECK(contains(mpich.out, "\"compatible\": false"));
  BOOST_CHECK(contains(mpich.out, "\"soname\": \"libmpich.so.12\""));
  auto old = run_cexec({"mpi", "check", image("oldglibc.sqfs")}, env);
  BOOST_TEST_INFO(old);
  BOOST_CHECK_EQUAL(old.status, 79);
  BOOST_CHECK(contains(old.out, "image glibc: 2.17"));
  BOOST_CHECK(contains(old.out, "REFUSED  libmpi.so.40 needs GLIBC_2.34"));
  BOOST_CHECK(contains(old.out, "result: incompatible"));
  auto bad = run_cexec({"mpi", "check", image("missing.sqfs")}, env);
  BOOST_CHECK_EQUAL(bad.status, 66);
  auto bad_policy = run_cexec({"--mpi=sometimes", sqfs(), "true"}, env);
  BOOST_CHECK_EQUAL(bad_policy.status, 64);
  BOOST_CHECK(contains(bad_policy.err, "--mpi `sometimes`: expected auto, host, image or off"));
}

BOOST_AUTO_TEST_CASE(a_bad_mpi_conf_is_refused) {
  write_text(work / "mpi.conf", "library = /usr/lib/x86_64-linux-gnu/libmpi.so.40\nfrobnicate = 1\n");
  Env e = env;
  e["CEXEC_MPI_CONF"] = work / "mpi.conf";
  auto o = run_cexec({"--mpi=host", image("nompi.sqfs"), "true"}, e);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 78);
  BOOST_CHECK(contains(o.err, "mpi.conf:2: unknown key `frobnicate`"));
  // A good one is used instead of discovery.
  write_text(work / "mpi.conf", "library = /usr/lib/x86_64-linux-gnu/libmpi.so.40\nenv = SITE_MPI=yes\nversion = 4.1.4\n");
  auto good = run(concat(mpirun(2), {cexec_bin(), image("nompi.sqfs"), "sh", "-c", "echo $SITE_MPI"}), e);
  BOOST_TEST_INFO(good);
  BOOST_CHECK_EQUAL(good.status, 0);
  BOOST_CHECK_EQUAL(good.out, "yes\nyes\n");
}

BOOST_AUTO_TEST_CASE(mpich_hydra_injects_the_hosts_mpich) {
  BOOST_REQUIRE(have(image("mpich.sqfs")));
  BOOST_REQUIRE(have("/usr/bin/mpiexec.hydra"));
  auto o = run({"mpiexec.hydra", "-n", "2", cexec_bin(), "-v", image("mpich.sqfs"), "mpi_probe", "check"}, env);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_CHECK(contains(o.err, "info: mpi: injecting host MPICH"));
  BOOST_CHECK(contains(o.out, "mpi_probe: check passed"));
}

BOOST_AUTO_TEST_SUITE_END()
