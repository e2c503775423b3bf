// Unit tests for instance_key.hpp: which launches share a node instance. The key must split on
// everything that makes a different container (user, node, job, image file, mount set, writable
// mode) and must not split the ranks of one job, which differ in command, environment and rank.
#include "instance_key.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

namespace cexec {
namespace {

// The launch inputs make_instance_key sees, built the way pipeline.cpp builds them.
struct Inputs {
  LaunchOptions options;
  HostFacts facts;
  LaunchContext context;
  std::string secret = std::string(64, 'a');  // the user's rendezvous secret (rendezvous.hpp)
};

HostFacts default_facts() {
  HostFacts f;
  f.environ = {"HOME=/home/alice", "USER=alice"};
  f.user = UserEntry{"alice", 1000, 1000, "Alice", "/home/alice", "/bin/bash"};
  f.groups = {{"alice", 1000}};
  f.cwd = "/scratch/alice/run1";
  f.config.origin = "/etc/cexec/cexec.conf";
  f.image_path = "/images/app.sqfs";
  f.image_kind = ImageKind::squashfs;
  f.image_identity = ImageIdentity{0xfd01, 1234567, 987654321, 1700000000123456789, 0};
  f.hostname = "node17";
  return f;
}

LaunchOptions exec_options() {
  LaunchOptions o;
  o.verb = Verb::exec;
  o.image = "app.sqfs";
  o.command = {"./solver", "--input", "in.dat"};
  return o;
}

LaunchContext slurm_rank(int rank, int local_rank) {
  LaunchContext c;
  c.node_share = "slurm:4711.3";
  c.node_share_source = "SLURM_JOB_ID+SLURM_STEP_ID";
  c.rank = rank;
  c.size = 8;
  c.local_rank = local_rank;
  c.local_size = 4;
  c.node_id = 1;
  c.launcher = "slurm";
  return c;
}

Inputs default_inputs() {
  return Inputs{exec_options(), default_facts(), slurm_rank(4, 0)};
}

InstanceKey key_for(const Inputs& in) {
  auto r = resolve(in.options, in.facts);
  BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.failure().message));
  return make_instance_key(in.facts.hostname, in.context, in.facts.image_identity, r.value(), in.secret);
}

bool contains(const std::string& text, std::string_view words) {
  return text.find(words) != std::string::npos;
}

bool is_lower_hex(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

struct Change {
  const char* name;
  std::function<void(Inputs&)> apply;
};

BOOST_AUTO_TEST_SUITE(instance_key)

BOOST_AUTO_TEST_CASE(equal_inputs_give_equal_keys) {
  auto a = key_for(default_inputs());
  auto b = key_for(default_inputs());
  BOOST_TEST(a.text == b.text);
  BOOST_TEST(a.socket_name == b.socket_name);
}

BOOST_AUTO_TEST_CASE(socket_name_is_uid_and_32_hex_digits) {
  for (uid_t uid : {0u, 1000u, 4294967294u}) {
    BOOST_TEST_CONTEXT("uid " << uid) {
      auto in = default_inputs();
      in.facts.user.uid = uid;
      auto key = key_for(in);
      const std::string prefix = "cexec." + std::to_string(uid) + ".";
      BOOST_TEST_REQUIRE(key.socket_name.starts_with(prefix), "socket name: " << key.socket_name);
      std::string_view digest = std::string_view(key.socket_name).substr(prefix.size());
      BOOST_TEST(digest.size() == 32u, "socket name: " << key.socket_name);
      BOOST_TEST(is_lower_hex(digest), "socket name: " << key.socket_name);
      // sun_path holds 108 bytes, one of them the abstract name's leading NUL.
      BOOST_TEST(key.socket_name.size() < 107u);
      BOOST_TEST(!contains(key.socket_name, std::string(1, '\0')));
      BOOST_TEST(!contains(key.socket_name, "/"));
    }
  }
}

// The socket name is keyed by the user's secret: another user, who knows everything else in the
// key (job id, image, host), cannot compute it; the key text, compared on joining, is unchanged.
BOOST_AUTO_TEST_CASE(socket_name_depends_on_the_secret) {
  auto in = default_inputs();
  auto a = key_for(in);
  in.secret = std::string(64, 'b');
  auto b = key_for(in);
  BOOST_TEST(a.text == b.text);
  BOOST_TEST(a.socket_name != b.socket_name);
  BOOST_TEST(a.socket_name.starts_with("cexec.1000."));
  BOOST_TEST(b.socket_name.starts_with("cexec.1000."));
  BOOST_TEST(key_for(in).socket_name == b.socket_name);
}

BOOST_AUTO_TEST_CASE(key_text_names_its_parts) {
  auto in = default_inputs();
  auto plan = resolve(in.options, in.facts);
  BOOST_TEST_REQUIRE(plan.has_value());
  auto key = make_instance_key(in.facts.hostname, in.context, in.facts.image_identity, plan.value(), in.secret);
  for (const char* words :
       {"cexec-instance-v2\n", "uid=4:1000\n", "gid=4:1000\n", "user=5:alice\n", "host=6:node17\n",
        "job=12:slurm:4711.3\n", "image=16:/images/app.sqfs\n",
        "image-id=45:64769/1234567/987654321/1700000000123456789/0\n", "writable=1:0\n", "writable-tmpfs=1:0\n",
        "mount-destination=19:/scratch/alice/run1\n", "group=10:alice:1000\n", "mpi=4:auto\n", "gpu=3:0:/\n"}) {
    BOOST_TEST(contains(key.text, words), "`" << words << "` missing from:\n" << key.text);
  }
  auto lines = std::count(key.text.begin(), key.text.end(), '\n');
  auto mounts = static_cast<long>(plan.value().mounts.size());
  auto groups = static_cast<long>(plan.value().groups.size());
  // Header, eleven fields (the MPI policy last), four per mount, the GPU mode, one per group.
  BOOST_TEST(lines == 1 + 11 + 4 * mounts + 1 + groups);
}

BOOST_AUTO_TEST_CASE(different_mpi_policies_never_share) {
  auto a = default_inputs();
  auto b = default_inputs();
  b.options.mpi = "image";
  BOOST_TEST(key_for(a).socket_name != key_for(b).socket_name);
}

BOOST_AUTO_TEST_CASE(values_cannot_forge_other_fields) {
  // Spaces, colons and newlines inside values must not make two different inputs one key.
  auto a = default_inputs();
  a.options.binds = {"/a /b:/c"};
  auto b = default_inputs();
  b.options.binds = {"/a:/b /c"};
  BOOST_TEST(key_for(a).text != key_for(b).text);
  BOOST_TEST(key_for(a).socket_name != key_for(b).socket_name);
  auto c = default_inputs();
  c.context.node_share = "instance:a\nhost=6:node17";
  auto d = default_inputs();
  d.context.node_share = "instance:a";
  BOOST_TEST(key_for(c).text != key_for(d).text);
  BOOST_TEST(!contains(key_for(c).text, "\nhost=6:node17\nhost="));
}

BOOST_AUTO_TEST_CASE(a_different_container_gets_a_different_key) {
  const Change changes[] = {
      {"uid", [](Inputs& in) { in.facts.user.uid = 1001; }},
      {"gid", [](Inputs& in) { in.facts.user.gid = 1001; }},
      {"user name", [](Inputs& in) { in.facts.user.name = "bob"; }},
      {"supplementary group", [](Inputs& in) { in.facts.groups.push_back({"proj", 5000}); }},
      {"hostname", [](Inputs& in) { in.facts.hostname = "node18"; }},
      {"job id", [](Inputs& in) { in.context.node_share = "slurm:4711.4"; }},
      {"image path", [](Inputs& in) { in.facts.image_path = "/images/app-v2.sqfs"; }},
      {"image device", [](Inputs& in) { in.facts.image_identity.device += 1; }},
      {"image inode", [](Inputs& in) { in.facts.image_identity.inode += 1; }},
      {"image size", [](Inputs& in) { in.facts.image_identity.size += 1; }},
      {"image mtime", [](Inputs& in) { in.facts.image_identity.mtime_ns += 1; }},
      {"SIF partition offset", [](Inputs& in) { in.facts.image_identity.offset = 32768; }},
      {"--writable-tmpfs", [](Inputs& in) { in.options.writable_tmpfs = true; }},
      {"--writable",
       [](Inputs& in) {
         in.facts.image_kind = ImageKind::directory;
         in.options.writable = true;
       }},
      {"a -B bind", [](Inputs& in) { in.options.binds = {"/data"}; }},
      {"a read-only -B bind", [](Inputs& in) { in.options.binds = {"/data:/data:ro"}; }},
      {"a CEXEC_BIND bind", [](Inputs& in) { in.facts.environ.push_back("CEXEC_BIND=/data"); }},
      {"a config bind", [](Inputs& in) { in.facts.config.binds = {{"/opt/site", "/site", true}}; }},
      {"the cwd (its bind)", [](Inputs& in) { in.facts.cwd = "/scratch/alice/run2"; }},
      {"--contain", [](Inputs& in) { in.options.contain = true; }},
      {"--no-home", [](Inputs& in) { in.options.no_home = true; }},
      {"the home directory", [](Inputs& in) { in.facts.user.home = "/home2/alice"; }},
      {"a PMIx rendezvous directory outside /tmp",
       [](Inputs& in) { in.facts.environ.push_back("PMIX_SERVER_TMPDIR=/var/run/pmix/job7"); }},
      {"--gpu=none", [](Inputs& in) { in.options.gpu = "none"; }},
      {"--nv", [](Inputs& in) { in.options.gpu = "nvidia"; }},
      {"an admin GPU list", [](Inputs& in) { in.facts.gpu_list_configs = {{"/etc/cexec/gpu-nvidia.conf", "[libraries]\nlibx\n"}}; }},
  };
  const auto base = key_for(default_inputs());
  for (const auto& c : changes) {
    BOOST_TEST_CONTEXT(c.name) {
      auto in = default_inputs();
      c.apply(in);
      auto key = key_for(in);
      BOOST_TEST(key.text != base.text);
      BOOST_TEST(key.socket_name != base.socket_name);
    }
  }
}

// What differs between the ranks of one job, or is applied by each rank after it joined (its
// command, environment, working directory), must not split the job's instance.
BOOST_AUTO_TEST_CASE(per_rank_inputs_share_the_key) {
  const Change changes[] = {
      {"the command", [](Inputs& in) { in.options.command = {"./post", "--rank", "5"}; }},
      {"the verb", [](Inputs& in) { in.options.verb = Verb::run; }},
      {"--env values", [](Inputs& in) { in.options.env = {"OMP_NUM_THREADS=4", "RANK_DIR=/scratch/r5"}; }},
      {"--env-file contents", [](Inputs& in) { in.facts.env_files = {{"site.env", {{"B", "2"}}}}; }},
      {"--cleanenv", [](Inputs& in) { in.options.cleanenv = true; }},
      {"verbosity", [](Inputs& in) { in.options.verbosity = Verbosity::debug; }},
      {"--pwd", [](Inputs& in) { in.options.pwd = "/work"; }},
      {"CEXEC_LINGER", [](Inputs& in) { in.facts.environ.push_back("CEXEC_LINGER=10"); }},
      {"per-rank launcher variables",
       [](Inputs& in) {
         in.facts.environ.push_back("SLURM_PROCID=5");
         in.facts.environ.push_back("SLURM_LOCALID=1");
         in.facts.environ.push_back("CUDA_VISIBLE_DEVICES=1");
       }},
      {"rank and local rank", [](Inputs& in) { in.context = slurm_rank(5, 1); }},
      {"launcher, sources and the cluster-wide job (only the node share keys the instance)",
       [](Inputs& in) {
         in.context.launcher = "openmpi";
         in.context.node_share_source = "PMIX_NAMESPACE";
         in.context.job = "ompi:77:76.0;tcp://10.0.0.1:1024";
       }},
      {"a cwd covered by the home bind",
       [](Inputs& in) {
         in.facts.cwd = "/home/alice/run1";
       }},
  };
  auto base_inputs = default_inputs();
  base_inputs.facts.cwd = "/home/alice/run0";  // covered by the home bind, as in the last change
  const auto base = key_for(base_inputs);
  for (const auto& c : changes) {
    BOOST_TEST_CONTEXT(c.name) {
      auto in = base_inputs;
      c.apply(in);
      auto key = key_for(in);
      BOOST_TEST(key.text == base.text);
      BOOST_TEST(key.socket_name == base.socket_name);
    }
  }
}

BOOST_AUTO_TEST_CASE(contain_ignores_the_cwd) {
  auto a = default_inputs();
  a.options.contain = true;
  auto b = a;
  b.facts.cwd = "/scratch/alice/run2";
  BOOST_TEST(key_for(a).text == key_for(b).text);
}

BOOST_AUTO_TEST_CASE(explicit_instance_name_sets_the_job) {
  auto a = default_inputs();
  auto b = default_inputs();
  a.context = read_launch_context({"SLURM_JOB_ID=4711", "SLURM_STEP_ID=3"}, 100, "pipeline");
  b.context = read_launch_context({"PMIX_NAMESPACE=other"}, 200, "pipeline");
  BOOST_TEST(key_for(a).socket_name == key_for(b).socket_name);
  b.context = read_launch_context({"SLURM_JOB_ID=4711", "SLURM_STEP_ID=3"}, 100, "other");
  BOOST_TEST(key_for(a).socket_name != key_for(b).socket_name);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cexec
