// The SLURM cluster of namespace nodes (tests/cluster/cluster.sh) as a Boost.Test global fixture,
// and what the tests that use it share: running a command on a node, the shared folder every node
// sees, the per-rank report of `mpi_probe nodes` and the check that no node keeps anything of cexec.
#pragma once

#include "harness.hpp"

#include <regex>

namespace e2e {

// Outside /tmp: every node has a private /tmp (the stage is shared into it by --share).
inline std::string cluster_dir() { return "/run/cexec-cluster-" + std::to_string(::getpid()); }
inline std::string cluster_script() { return stage() + "/bin/cluster.sh"; }
// A folder every node sees, writable by every test user (job scripts and their output).
inline std::string shared_dir() { return stage() + "/shared"; }
inline std::vector<std::string> cluster_nodes;

inline std::vector<std::string> on(const std::string& node, std::vector<std::string> argv) {
  argv.insert(argv.begin(), {cluster_script(), "exec", cluster_dir(), node});
  return argv;
}
inline std::vector<std::string> as_nobody(std::vector<std::string> argv) {
  argv.insert(argv.begin(), {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"});
  return argv;
}
// A command run on the login node (the head), where users call srun, sbatch and salloc.
inline std::vector<std::string> login(std::vector<std::string> argv) { return on("head", std::move(argv)); }

// Open MPI 4.1.4 crashes now and then at the start or end of very short jobs here, bare as well
// (ENVIRONMENT.md; its own handler prints "*** Process received signal ***"). Such a run is
// reported in the log and run once more; a run with a cexec error never is.
inline bool is_open_mpi_crash(const Outcome& o, const std::string& job_output = "") {
  std::string all = o.err + o.out + job_output;
  return o.status != 0 && contains(all, "*** Process received signal ***") && !contains(all, "cexec: ");
}
inline Outcome run_mpi_job(const std::vector<std::string>& argv, const Env& env, const std::string& cwd = "/") {
  auto o = run(argv, env, cwd);
  if (is_open_mpi_crash(o)) {
    BOOST_TEST_MESSAGE("Open MPI crashed in this run; running it once more: " << o);
    o = run(argv, env, cwd);
  }
  return o;
}

// The processes of cexec (cexec itself, its FUSE server, node-instance keepers) on NODE.
inline std::vector<std::string> cexec_processes_on(const std::string& node) {
  auto o = run({cluster_script(), "procs", cluster_dir(), node}, base_env("/root"));
  std::vector<std::string> found;
  std::istringstream in(o.out);
  for (std::string line; std::getline(in, line);) {
    if (line.find(" cexec") != std::string::npos) {
      found.push_back(line);
    }
  }
  return found;
}

// Waits (up to 15 s: linger, SLURM's step teardown) until no node runs anything of cexec.
inline void expect_nodes_clean() {
  for (const auto& node : cluster_nodes) {
    std::vector<std::string> left;
    for (int i = 0; i < 150; ++i) {
      left = cexec_processes_on(node);
      if (left.empty()) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    for (const auto& p : left) {
      BOOST_ERROR("leftover on " << node << ": " << p);
    }
  }
}

// Starts NODES compute nodes (node1 and node2 GPU nodes on the stage's fake NVIDIA driver when
// GPU_NODES is 2) and stops them afterwards; `down` itself fails when anything is left behind.
// EXTRA goes to `cluster.sh up` as it is (--plugstack FILE).
class ClusterFixture {
 public:
  ClusterFixture(int nodes, int gpu_nodes, const std::vector<std::string>& extra = {}) {
    BOOST_TEST_REQUIRE(is_root(), "the cluster tests start slurmd in namespace nodes and must run as root");
    if (const char* n = std::getenv("CEXEC_CLUSTER_NODES"); n != nullptr && nodes > 1) {
      nodes = std::max(nodes, std::atoi(n));
    }
    fs::create_directories(shared_dir());
    fs::permissions(shared_dir(), fs::perms::all | fs::perms::sticky_bit);
    std::vector<std::string> argv{cluster_script(), "up", cluster_dir(), "--nodes", std::to_string(nodes),
                                  "--share", stage()};
    if (gpu_nodes > 0) {
      argv.insert(argv.end(), {"--gpu-nodes", std::to_string(gpu_nodes), "--gpu-root", stage() + "/gpu/nvidia-host"});
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto o = run(argv, base_env("/root"));
    BOOST_TEST_REQUIRE(o.status == 0, "cannot start the test cluster: " << o);
    _tag = trim(read_text(cluster_dir() + "/tag"));
    for (int k = 1; k <= nodes; ++k) {
      cluster_nodes.push_back("node" + std::to_string(k));
    }
  }
  ~ClusterFixture() {
    auto o = run({cluster_script(), "down", cluster_dir()}, base_env("/root"));
    BOOST_CHECK_MESSAGE(o.status == 0, "the cluster left something behind: " << o);
    BOOST_CHECK_MESSAGE(!fs::exists(cluster_dir()), cluster_dir() << " remains");
    auto netns = run({"ip", "netns", "list"}, base_env("/root"));
    BOOST_CHECK_MESSAGE(netns.out.find(_tag + "-") == std::string::npos, "namespaces remain: " << netns.out);
    std::error_code ec;
    fs::remove_all(shared_dir(), ec);
  }

 private:
  std::string _tag;
};

// A case's own folder on the shared filesystem (job scripts, their output), and a home there.
struct ClusterCase : Case {
  std::string dir;
  ClusterCase() {
    static int n = 0;
    dir = shared_dir() + "/case" + std::to_string(++n);
    fs::create_directories(dir + "/home");
    fs::permissions(dir, fs::perms::all | fs::perms::sticky_bit);
    fs::permissions(dir + "/home", fs::perms::all | fs::perms::sticky_bit);
    env["HOME"] = dir + "/home";
  }
  void teardown() {
    expect_nodes_clean();
    Case::teardown();
  }
  std::string script(const std::string& name, const std::string& body) {
    std::string path = dir + "/" + name;
    write_text(path, "#!/bin/sh\n" + body);
    fs::permissions(path, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
    return path;
  }
};

inline std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// `sbatch --wait` of SCRIPT as root or nobody; the job's output.
inline std::string sbatch(ClusterCase& c, const std::string& script, bool as_user, Outcome* outcome = nullptr) {
  std::string out = c.dir + "/job.out";
  std::vector<std::string> argv{"sbatch", "--wait", "--output=" + out, script};
  auto o = run(login(as_user ? as_nobody(argv) : argv), c.env);
  if (is_open_mpi_crash(o, read_text(out))) {
    BOOST_TEST_MESSAGE("Open MPI crashed in this job; submitting it once more: " << o << read_text(out));
    o = run(login(as_user ? as_nobody(argv) : argv), c.env);
  }
  BOOST_CHECK_MESSAGE(o.status == 0, "sbatch: " << o << " job output: " << read_text(out));
  if (outcome != nullptr) {
    *outcome = o;
  }
  return read_text(out);
}

// One rank as `mpi_probe nodes` reports it.
struct RankView {
  int rank = -1;
  std::string host, user_ns, mnt_ns, resolves, mpi;
  std::map<std::string, std::string> env;  // RANK WORLD_SIZE LOCAL_RANK ... CUDA_VISIBLE_DEVICES ("-": unset)
};

struct JobView {
  std::vector<RankView> ranks;  // by rank
  std::string rank0_address;
  bool allreduce_ok = false;
};

inline JobView parse_nodes_report(const std::string& out) {
  JobView job;
  std::istringstream in(out);
  std::regex rank_line(R"(mpi_probe: rank (\d+) host (\S+) user (\d+) mnt (\d+) (.*))");
  std::regex kv(R"((\w+)=(\S*))");
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_match(line, m, rank_line)) {
      RankView r;
      r.rank = std::stoi(m[1]);
      r.host = m[2];
      r.user_ns = m[3];
      r.mnt_ns = m[4];
      std::string rest = m[5];
      for (std::sregex_iterator it(rest.begin(), rest.end(), kv), end; it != end; ++it) {
        r.env[(*it)[1]] = (*it)[2];
      }
      r.resolves = r.env["resolves"];
      r.mpi = r.env["mpi"];
      job.ranks.push_back(r);
    } else if (line.starts_with("mpi_probe: rank0 host ")) {
      job.rank0_address = line.substr(line.rfind(' ') + 1);
    } else if (line.starts_with("mpi_probe: allreduce ok")) {
      job.allreduce_ok = true;
    }
  }
  std::sort(job.ranks.begin(), job.ranks.end(), [](const RankView& a, const RankView& b) { return a.rank < b.rank; });
  return job;
}

// Everything a job across nodes must show: every rank reported, the allreduce right; ranks of a
// node in one instance (user and mount namespace), nodes in different ones; local rank and size
// right on every node; one MASTER_ADDR and MASTER_PORT for all, resolving to rank 0's node; the
// host MPI injected when `injected`. `per_node` is the expected host -> number of ranks.
// How many ranks each node ran, as the job reports it (for layouts that SLURM chooses).
inline std::map<std::string, int> observed_layout(const JobView& job) {
  std::map<std::string, int> layout;
  for (const auto& r : job.ranks) {
    ++layout[r.host];
  }
  return layout;
}

inline void expect_job_across_nodes(const JobView& job, int size, const std::map<std::string, int>& per_node,
                                    bool injected = true) {
  BOOST_REQUIRE_EQUAL(job.ranks.size(), static_cast<size_t>(size));
  BOOST_CHECK(job.allreduce_ok);
  std::map<std::string, std::set<std::string>> instances_of_host;
  std::map<std::string, std::set<std::string>> hosts_of_instance;
  std::map<std::string, std::vector<int>> local_ranks;
  std::map<std::string, int> seen;
  for (const auto& r : job.ranks) {
    BOOST_TEST_CONTEXT("rank " << r.rank << " on " << r.host) {
      BOOST_CHECK_EQUAL(r.rank, &r - job.ranks.data());
      BOOST_CHECK_EQUAL(r.env.at("RANK"), std::to_string(r.rank));
      BOOST_CHECK_EQUAL(r.env.at("WORLD_SIZE"), std::to_string(size));
      BOOST_CHECK_EQUAL(r.env.at("MASTER_ADDR"), job.ranks[0].env.at("MASTER_ADDR"));
      BOOST_CHECK_EQUAL(r.env.at("MASTER_PORT"), job.ranks[0].env.at("MASTER_PORT"));
      BOOST_CHECK_NE(r.env.at("MASTER_PORT"), "-");
      BOOST_CHECK_EQUAL(r.resolves, job.rank0_address);  // MASTER_ADDR is rank 0's node, from every node
      if (injected) {
        BOOST_CHECK_EQUAL(r.mpi, "host");
      }
      auto it = per_node.find(r.host);
      BOOST_CHECK_MESSAGE(it != per_node.end(), "rank on an unexpected node");
      if (it != per_node.end()) {
        BOOST_CHECK_EQUAL(r.env.at("LOCAL_WORLD_SIZE"), std::to_string(it->second));
      }
    }
    instances_of_host[r.host].insert(r.user_ns + "/" + r.mnt_ns);
    hosts_of_instance[r.user_ns + "/" + r.mnt_ns].insert(r.host);
    local_ranks[r.host].push_back(std::stoi(r.env.at("LOCAL_RANK")));
    ++seen[r.host];
  }
  BOOST_CHECK(job.rank0_address != "unresolved" && !job.rank0_address.empty());
  BOOST_CHECK_EQUAL(seen.size(), per_node.size());
  for (const auto& [host, count] : per_node) {
    BOOST_CHECK_MESSAGE(seen[host] == count, host << " ran " << seen[host] << " ranks, expected " << count);
    BOOST_CHECK_MESSAGE(instances_of_host[host].size() == 1, host << "'s ranks are in "
                                                                   << instances_of_host[host].size() << " instances");
    // Local ranks number a node's ranks in rank order (as SLURM's and Open MPI's do).
    const auto& locals = local_ranks[host];
    for (size_t i = 0; i < locals.size(); ++i) {
      BOOST_CHECK_MESSAGE(locals[i] == static_cast<int>(i), host << ": local ranks are not 0.." << count - 1
                                                                  << " in rank order");
    }
  }
  for (const auto& [instance, hosts] : hosts_of_instance) {
    BOOST_CHECK_MESSAGE(hosts.size() == 1, "instance " << instance << " spans " << hosts.size() << " nodes");
  }
}

}  // namespace e2e
