// The SPANK plugin (spank/, docs/spank.md) on a real SLURM cluster of namespace nodes
// (tests/cluster/cluster.sh --plugstack; node1 and node2, both GPU nodes on the fake driver):
// `srun --container-image=IMG CMD` and the same option in sbatch and salloc, as root and as an
// unprivileged user. Each task must behave as under `srun cexec IMG CMD`: one instance per node,
// the rendezvous, the host MPI, the same environment and limits, the TaskProlog's variables, the
// exit status, the signal and the PID. A bad image, a misconfigured plugstack.conf and
// --multi-prog fail the step with one line per task and leave the nodes up; without the option,
// steps are untouched (the same output as with no plugin) and no slower.
#define BOOST_TEST_MODULE cexec_spank
#include "cluster.hpp"

#include <algorithm>

using namespace e2e;

namespace {

std::string plugstack_path() { return stage() + "/spank/plugstack.conf"; }
std::string plugin_line(const std::string& control = "required", const std::string& cexec = "") {
  return control + " " + stage() + "/lib/cexec_spank.so cexec=" + (cexec.empty() ? cexec_bin() : cexec) +
         " helper=" + stage() + "/bin/cexec-spank-exec\n";
}

// plugstack.conf must exist before the cluster starts; srun and slurmstepd read it at every step.
struct Plugstack {
  Plugstack() {
    BOOST_TEST_REQUIRE(fs::exists(stage() + "/lib/cexec_spank.so"),
                       "the SPANK plugin was not built (no <slurm/spank.h>: apt-get install libslurm-dev) or not staged");
    fs::create_directories(stage() + "/spank");
    write_text(plugstack_path(), plugin_line());
    fs::permissions(plugstack_path(), fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                                          fs::perms::others_read);
  }
};

struct Cluster : Plugstack, ClusterFixture {
  Cluster() : ClusterFixture(2, 2, {"--plugstack", plugstack_path()}) {
    e2e::command_timeout = std::chrono::seconds(180);
  }
};

// plugstack.conf holds TEXT until the scope ends, then the plugin line again.
class PlugstackAs {
 public:
  explicit PlugstackAs(const std::string& text) { write_text(plugstack_path(), text); }
  ~PlugstackAs() { write_text(plugstack_path(), plugin_line()); }
  PlugstackAs(const PlugstackAs&) = delete;
  PlugstackAs& operator=(const PlugstackAs&) = delete;
};

std::string mpi_image() { return image("mpi.sqfs"); }
std::string image_flag(const std::string& img) { return "--container-image=" + img; }

std::vector<std::string> lines_with(const std::string& text, const std::string& needle) {
  std::vector<std::string> found;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (contains(l, needle)) {
      found.push_back(l);
    }
  }
  return found;
}

// Every node is up (idle) and takes the next containerized job.
void expect_nodes_take_the_next_job(const Env& env) {
  Outcome state;
  for (int i = 0; i < 100; ++i) {  // the failed job may still be completing for a moment
    state = run(login({"sinfo", "-h", "-N", "-o", "%N %t"}), env);
    if (state.out == "node1 idle\nnode2 idle\n") {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  BOOST_CHECK_EQUAL(state.out, "node1 idle\nnode2 idle\n");
  auto next = run(login({"srun", "-N", "2", "-n", "2", image_flag(sqfs()), "cat", "/etc/image-marker"}), env);
  BOOST_CHECK_MESSAGE(next.status == 0 && next.out == "in the image\nin the image\n", "the next job: " << next);
}

void expect_one_line_per_task(const Outcome& o, const std::string& line, int tasks) {
  for (int t = 0; t < tasks; ++t) {
    std::string labelled = std::to_string(t) + ": " + line;
    BOOST_CHECK_MESSAGE(lines_with(o.err, labelled).size() == 1, "not once in stderr: `" << labelled << "`");
  }
  // Nothing else of cexec or the plugin: no second line, none of SLURM's plugin stack errors.
  BOOST_CHECK_EQUAL(lines_with(o.err, "cexec").size(), static_cast<size_t>(tasks));
  BOOST_CHECK(lines_with(o.err, "error: spank").empty());
  BOOST_CHECK(lines_with(o.err, "plugin stack").empty());
}

// The output of `srun -l` task by task (the tasks' lines interleave at random), without the lines
// that differ from step to step of one job: those naming the step, its ports, the task's PID, the
// rendezvous port derived from the step.
std::string by_task_without_step_values(const std::string& text) {
  static const std::vector<std::string> per_step{"MASTER_PORT=",          "SLURM_SRUN_COMM_PORT=", "SLURM_STEPID=",
                                                 "SLURM_STEP_ID=",        "SLURM_STEP_LAUNCHER_PORT=",
                                                 "SLURM_TASK_PID=",       "PMIX_"};
  std::map<std::string, std::string> tasks;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    auto colon = l.find(": ");
    std::string label = colon == std::string::npos ? "" : l.substr(0, colon);
    std::string body = colon == std::string::npos ? l : l.substr(colon + 2);
    if (std::none_of(per_step.begin(), per_step.end(), [&](const std::string& p) { return body.starts_with(p); })) {
      tasks[label] += body + "\n";
    }
  }
  std::string out;
  for (const auto& [label, lines] : tasks) {
    out += "task " + label + ":\n" + lines;
  }
  return out;
}

// Two steps of one allocation on node1, FIRST then SECOND (each `srun -l -n 2 ...`), with BETWEEN
// run on the login node in between; their outputs.
std::pair<std::string, std::string> two_steps(ClusterCase& c, const std::string& first, const std::string& between,
                                              const std::string& second) {
  auto path = c.script("steps.sh", first + " > " + c.dir + "/first.out\n" + between + "\n" + second + " > " + c.dir +
                                       "/second.out\n");
  auto o = run(login({"salloc", "-N", "1", "-n", "2", "-w", "node1", path}), c.env, c.dir);
  BOOST_CHECK_MESSAGE(o.status == 0, "salloc: " << o);
  return {read_text(c.dir + "/first.out"), read_text(c.dir + "/second.out")};
}

}  // namespace

BOOST_TEST_GLOBAL_FIXTURE(Cluster);

BOOST_FIXTURE_TEST_SUITE(spank, ClusterCase)

void srun_across_two_nodes(const Env& env, bool as_user) {
  std::vector<std::string> argv{"srun", "-N", "2", "-n", "4", "--mpi=pmix", image_flag(mpi_image()), "mpi_probe", "nodes"};
  auto o = run(login(as_user ? as_nobody(argv) : argv), env);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  auto job = parse_nodes_report(o.out);
  auto layout = observed_layout(job);
  BOOST_CHECK_EQUAL(layout.size(), 2u);  // -N 2: both nodes, in whatever split SLURM chooses
  expect_job_across_nodes(job, 4, layout);
}

BOOST_AUTO_TEST_CASE(srun_four_tasks_on_two_nodes_share_one_instance_per_node) {
  srun_across_two_nodes(env, false);
}

BOOST_AUTO_TEST_CASE(srun_as_an_unprivileged_user) {
  srun_across_two_nodes(env, true);
}

void sbatch_with_the_option(ClusterCase& c, bool as_user) {
  // The script runs on the batch host, outside any container (srun is not in the image); each
  // srun line inherits --container-image; an srun line's own option wins over the inherited one.
  auto path = c.script("job.sh", "#SBATCH -N 2 --ntasks-per-node=2\n#SBATCH " + image_flag(mpi_image()) +
                                     "\necho \"script: ${CEXEC_CONTAINER:-host}\"\nsrun --mpi=pmix mpi_probe nodes\n"
                                     "srun -N 1 -n 1 " + image_flag(sqfs()) + " cat /etc/image-marker\n"
                                     "env -u SLURM_SPANK__SLURM_SPANK_OPTION_cexec_container_image srun -N 1 -n 1 "
                                     "sh -c 'echo \"opted out: ${CEXEC_CONTAINER:-host}\"'\n");
  auto out = sbatch(c, path, as_user);
  BOOST_TEST_INFO(out);
  BOOST_CHECK_EQUAL(lines_with(out, "script: ").size(), 1u);
  BOOST_CHECK(contains(out, "script: host\n"));
  expect_job_across_nodes(parse_nodes_report(out), 4, {{"node1", 2}, {"node2", 2}});
  BOOST_CHECK(contains(out, "\nin the image\n"));
  BOOST_CHECK(contains(out, "\nopted out: host\n"));
}

BOOST_AUTO_TEST_CASE(sbatch_option_applies_to_the_srun_lines_not_to_the_script) {
  sbatch_with_the_option(*this, false);
}

BOOST_AUTO_TEST_CASE(sbatch_option_as_an_unprivileged_user) {
  sbatch_with_the_option(*this, true);
}

BOOST_AUTO_TEST_CASE(salloc_option_applies_to_the_sruns_inside) {
  auto o = run(login({"salloc", "-N", "2", "-n", "2", image_flag(sqfs()), "sh", "-c",
                      "echo \"shell: ${CEXEC_CONTAINER:-host}\"; srun cat /etc/image-marker"}),
               env, dir);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_CHECK_EQUAL(o.out, "shell: host\nin the image\nin the image\n");
}

BOOST_AUTO_TEST_CASE(a_task_gets_what_srun_cexec_gives_it) {
  // Environment (SLURM's, the launcher's, the framework variables, the image's) and the limits
  // slurmstepd propagated: the same in two steps of one allocation, but for the step's own values.
  std::string show = " sh -c 'env | sort; cat /proc/self/limits; echo cwd $(pwd)'";
  auto [by_hand, by_plugin] = two_steps(*this, "srun -l -n 2 " + cexec_bin() + " " + sqfs() + show, "",
                                        "srun -l -n 2 " + image_flag(sqfs()) + show);
  BOOST_CHECK(contains(by_plugin, "0: CEXEC_CONTAINER=1\n"));
  BOOST_CHECK(contains(by_plugin, "1: IMAGE_VAR=from-image\n"));
  BOOST_CHECK(!contains(by_plugin, "CEXEC_SPANK"));  // the handoff stays outside
  BOOST_CHECK(!contains(by_plugin, "SPANK_OPTION"));
  BOOST_CHECK_EQUAL(by_task_without_step_values(by_plugin), by_task_without_step_values(by_hand));

  // The exit status, the death by a signal, and the PID: the task's PID is the program's.
  auto status = run(login({"srun", "-n", "1", image_flag(sqfs()), "sh", "-c", "echo pid $$ $SLURM_TASK_PID; exit 7"}), env);
  BOOST_TEST_INFO(status);
  BOOST_CHECK_EQUAL(status.status, 7);
  std::smatch m;
  std::regex pids(R"(pid (\d+) (\d+)\n)");
  BOOST_REQUIRE(std::regex_search(status.out, m, pids));
  BOOST_CHECK_EQUAL(m[1].str(), m[2].str());
  auto killed = run(login({"srun", "-n", "1", image_flag(sqfs()), "sh", "-c", "kill -TERM $$"}), env);
  BOOST_CHECK_EQUAL(killed.status, 128 + SIGTERM);
  BOOST_CHECK(contains(killed.err, "task 0: Terminated"));
}

BOOST_AUTO_TEST_CASE(container_mounts_bind_host_paths) {
  write_text(dir + "/data.txt", "from the host\n");
  auto o = run(login({"srun", "-N", "2", "-n", "2", image_flag(sqfs()), "--container-mounts=" + dir + ":/data:ro", "sh",
                      "-c", "cat /data/data.txt; touch /data/new 2>/dev/null && echo writable || echo read-only"}),
               env);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_CHECK_EQUAL(lines_with(o.out, "from the host").size(), 2u);
  BOOST_CHECK_EQUAL(lines_with(o.out, "read-only").size(), 2u);
  BOOST_CHECK(!fs::exists(dir + "/new"));
}

BOOST_AUTO_TEST_CASE(container_env_keeps_the_host_value_over_the_image_s) {
  Env e = env;
  e["IMAGE_VAR"] = "costs $5 ${HOME} \\$ as typed";  // taken literally, never expanded
  auto kept = run(login({"srun", "-n", "1", image_flag(sqfs()), "--container-env=IMAGE_VAR", "sh", "-c",
                         "echo \"[$IMAGE_VAR]\""}),
                  e);
  BOOST_TEST_INFO(kept);
  BOOST_CHECK_EQUAL(kept.out, "[" + e["IMAGE_VAR"] + "]\n");
  auto image_s = run(login({"srun", "-n", "1", image_flag(sqfs()), "sh", "-c", "echo \"[$IMAGE_VAR]\""}), e);
  BOOST_CHECK_EQUAL(image_s.out, "[from-image]\n");  // the image's /.cexec/environment wins otherwise
}

BOOST_AUTO_TEST_CASE(workdir_writable_and_home) {
  auto in = [&](const std::vector<std::string>& options, const std::string& cmd) {
    std::vector<std::string> argv{"srun", "-n", "1", image_flag(sqfs())};
    argv.insert(argv.end(), options.begin(), options.end());
    argv.insert(argv.end(), {"sh", "-c", cmd});
    auto o = run(login(argv), env);
    BOOST_TEST_INFO(o);
    return o.out;
  };
  BOOST_CHECK_EQUAL(in({"--container-workdir=/etc"}, "pwd"), "/etc\n");
  std::string touch = "touch /made-here 2>/dev/null && echo made || echo read-only";
  BOOST_CHECK_EQUAL(in({"--container-writable"}, touch), "made\n");
  BOOST_CHECK_EQUAL(in({}, touch), "read-only\n");
  // The home (here /root, outside /tmp, which cexec binds anyway) is bound by default; the image
  // itself has no /root.
  env["HOME"] = "/root";
  std::string home = "test -d /root && echo home || echo no-home";
  BOOST_CHECK_EQUAL(in({}, home), "home\n");
  BOOST_CHECK_EQUAL(in({"--no-container-mount-home"}, home), "no-home\n");
}

BOOST_AUTO_TEST_CASE(cexec_options_pass_through) {
  auto mpi = run(login({"srun", "-N", "2", "-n", "2", "--mpi=pmix", "--cexec-mpi=off", image_flag(mpi_image()), "mpi_probe",
                        "nodes"}),
                 env);
  BOOST_TEST_INFO(mpi);
  auto job = parse_nodes_report(mpi.out);
  BOOST_REQUIRE_EQUAL(job.ranks.size(), 2u);
  BOOST_CHECK(job.allreduce_ok);
  for (const auto& r : job.ranks) {
    BOOST_CHECK_EQUAL(r.mpi, "image");  // not the injected host MPI
  }

  // Both nodes are GPU nodes whose driver root only their TaskProlog exports: it reaches cexec.
  // (echo: a task that exits 1 would end its step before the other task printed; KillOnBadExit)
  std::string gpu_libs = "echo $(ls /.cexec/host/gpu/lib 2>/dev/null | grep -c libcuda.so.1)";
  auto gpu = run(login({"srun", "-N", "2", "-n", "2", image_flag(sqfs()), "sh", "-c", gpu_libs}), env);
  BOOST_CHECK_EQUAL(gpu.out, "1\n1\n");
  auto no_gpu = run(login({"srun", "-N", "2", "-n", "2", "--cexec-gpu=none", image_flag(sqfs()), "sh", "-c", gpu_libs}), env);
  BOOST_CHECK_EQUAL(no_gpu.out, "0\n0\n");

  // Two ranks on node1: unbound, both keep every allowed CPU; bound to cores, each gets its own.
  auto cpus_of_ranks = [&](const std::string& mode) {
    auto o = run(login({"srun", "-w", "node1", "-n", "2", "-l", "--cexec-cpu-bind=" + mode, image_flag(sqfs()), "sh",
                        "-c", "grep Cpus_allowed_list /proc/self/status"}),
                 env);
    BOOST_TEST_INFO(o);
    std::map<std::string, std::string> by_rank;
    std::regex line(R"((\d): Cpus_allowed_list:\s+(\S+))");
    for (std::sregex_iterator it(o.out.begin(), o.out.end(), line), end; it != end; ++it) {
      by_rank[(*it)[1]] = (*it)[2];
    }
    BOOST_CHECK_EQUAL(by_rank.size(), 2u);
    return by_rank;
  };
  auto unbound = cpus_of_ranks("none");
  auto cores = cpus_of_ranks("cores");
  BOOST_CHECK_EQUAL(unbound["0"], unbound["1"]);
  BOOST_CHECK_NE(cores["0"], cores["1"]);
  BOOST_CHECK_NE(cores["0"], unbound["0"]);
  BOOST_CHECK_NE(cores["1"], unbound["1"]);
}

void a_bad_image(ClusterCase& c, bool as_user) {
  // --kill-on-bad-exit=0: every task reports (the cluster's KillOnBadExit=1 would end the step at
  // the first task's failure, before the other has printed).
  std::vector<std::string> argv{"srun", "-N", "2", "-n", "2", "-l", "--kill-on-bad-exit=0",
                                image_flag("/nonexistent/app.sqfs"), "true"};
  auto o = run(login(as_user ? as_nobody(argv) : argv), c.env);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 66);  // cexec's own status for a missing image
  expect_one_line_per_task(o, "cexec: image `/nonexistent/app.sqfs`: No such file or directory", 2);
  expect_nodes_take_the_next_job(c.env);
}

BOOST_AUTO_TEST_CASE(a_bad_image_fails_the_step_with_one_line_per_task_and_the_nodes_carry_on) {
  a_bad_image(*this, false);
}

BOOST_AUTO_TEST_CASE(a_bad_image_as_an_unprivileged_user) {
  a_bad_image(*this, true);
}

BOOST_AUTO_TEST_CASE(a_misconfigured_plugin_fails_only_the_container_steps) {
  {
    PlugstackAs missing(plugin_line("required", "/nonexistent/cexec"));
    auto o = run(login({"srun", "-N", "2", "-n", "2", "-l", "--kill-on-bad-exit=0", image_flag(sqfs()), "true"}), env);
    BOOST_TEST_INFO(o);
    BOOST_CHECK_EQUAL(o.status, 78);
    expect_one_line_per_task(o, "cexec-spank: cexec `/nonexistent/cexec` (plugstack.conf cexec=): No such file or directory", 2);
    auto plain = run(login({"srun", "-N", "2", "-n", "2", "true"}), env);
    BOOST_CHECK_MESSAGE(plain.status == 0 && !contains(plain.err, "cexec"), "an ordinary step: " << plain);
  }
  {
    PlugstackAs unknown("required " + stage() + "/lib/cexec_spank.so cexec=relative/cexec\n");
    auto o = run(login({"srun", "-n", "1", image_flag(sqfs()), "true"}), env);
    BOOST_TEST_INFO(o);
    BOOST_CHECK_NE(o.status, 0);
    BOOST_CHECK(contains(o.err, "cexec-spank: plugstack.conf argument `cexec=relative/cexec`: expected "
                                "cexec=/ABSOLUTE/PATH or helper=/ABSOLUTE/PATH\n"));
    auto plain = run(login({"srun", "-N", "2", "-n", "2", "true"}), env);
    BOOST_CHECK_MESSAGE(plain.status == 0 && !contains(plain.err, "cexec"), "an ordinary step: " << plain);
  }
  expect_nodes_take_the_next_job(env);
}

BOOST_AUTO_TEST_CASE(bad_option_values_are_refused_before_launch) {
  for (const auto& [option, line] : std::vector<std::pair<std::string, std::string>>{
           {"--container-env=GOOD,1BAD", "cexec-spank: --container-env: `1BAD` is not a variable name (NAME[,NAME...])"},
           {"--container-workdir=", "cexec-spank: --container-workdir: empty value"}}) {
    BOOST_TEST_CONTEXT(option) {
      auto o = run(login({"srun", "-n", "1", image_flag(sqfs()), option, "sh", "-c", "echo ran"}), env);
      BOOST_TEST_INFO(o);
      BOOST_CHECK_NE(o.status, 0);
      BOOST_CHECK(o.out.empty());
      BOOST_CHECK(contains(o.err, "srun: error: " + line + "\n"));
    }
  }
}

BOOST_AUTO_TEST_CASE(multi_prog_is_refused_never_run_outside_the_container) {
  // SLURM 22.05 gives a --multi-prog task an argv the plugin cannot reach: srun refuses, and where
  // srun's check is skipped (an optional plugin), each task does.
  auto conf = dir + "/multi.conf";
  write_text(conf, "0 echo zero\n1 echo one\n");
  std::string refusal = "cexec-spank: --container-image with --multi-prog needs SLURM 23.02 or later; write "
                        "`cexec IMAGE` into the --multi-prog lines instead";
  std::vector<std::string> argv{"srun", "-n", "2", "-l", "--kill-on-bad-exit=0", image_flag(sqfs()), "--multi-prog", conf};
  auto o = run(login(argv), env, dir);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_NE(o.status, 0);
  BOOST_CHECK(contains(o.err, "srun: error: " + refusal + "\n"));
  BOOST_CHECK(o.out.empty());
  PlugstackAs optional(plugin_line("optional"));
  auto tasks = run(login(argv), env, dir);
  BOOST_TEST_INFO(tasks);
  BOOST_CHECK_EQUAL(tasks.status, 64);
  BOOST_CHECK(tasks.out.empty());  // neither "zero" nor "one": nothing ran on the host
  BOOST_CHECK(contains(tasks.err, "0: " + refusal + "\n"));
  BOOST_CHECK(contains(tasks.err, "1: " + refusal + "\n"));
}

BOOST_AUTO_TEST_CASE(ordinary_steps_are_untouched_and_no_slower) {
  // The same two host steps with the plugin loaded and with an empty plugstack.conf: the same
  // namespaces, environment, arguments, open files and limits.
  std::string show = "srun -l -n 2 sh -c 'readlink /proc/self/ns/user /proc/self/ns/mnt; env | sort;"
                     " tr \"\\\\0\" \" \" < /proc/self/cmdline; echo; ls /proc/self/fd; cat /proc/self/limits'";
  auto [with_plugin, without] = two_steps(*this, show, "echo > " + plugstack_path(), show);
  write_text(plugstack_path(), plugin_line());
  BOOST_CHECK(contains(with_plugin, "0: /usr/bin/sh -c readlink"));  // the program slurmstepd found on PATH
  BOOST_CHECK(!contains(with_plugin, "CEXEC_SPANK"));
  BOOST_CHECK(!contains(with_plugin, "CEXEC_CONTAINER"));
  BOOST_CHECK_EQUAL(by_task_without_step_values(with_plugin), by_task_without_step_values(without));

  // Time: `srun -n 2 true`, interleaved with and without the plugin, medians compared.
  auto time_one = [&](const std::string& plugstack) {
    write_text(plugstack_path(), plugstack);
    auto start = std::chrono::steady_clock::now();
    auto o = run(login({"srun", "-n", "2", "true"}), env);
    BOOST_CHECK_EQUAL(o.status, 0);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  std::vector<double> with, plain;
  for (int i = 0; i < 15; ++i) {
    plain.push_back(time_one(""));
    with.push_back(time_one(plugin_line()));
  }
  std::sort(with.begin(), with.end());
  std::sort(plain.begin(), plain.end());
  double with_median = with[with.size() / 2], plain_median = plain[plain.size() / 2];
  BOOST_TEST_MESSAGE("srun -n 2 true, median of 15 interleaved: " << plain_median << " s without the plugin, "
                                                                  << with_median << " s with it (fastest "
                                                                  << plain.front() << " / " << with.front() << " s)");
  // The plugin's task_init is one option lookup; a margin for a shared, busy machine.
  BOOST_CHECK_LE(with_median, plain_median * 1.25 + 0.05);
}

BOOST_AUTO_TEST_SUITE_END()
