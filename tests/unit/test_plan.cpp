// Unit tests for plan.hpp: resolve() turns options and host facts into the mount list, and refuses
// what the options, the bind syntax or the admin configuration forbid.
#include "plan.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <ostream>
#include <string>
#include <vector>

namespace cexec {

// Lets BOOST_TEST print mismatching mount lists.
std::ostream& operator<<(std::ostream& os, const MountOp& m) {
  const char* kind = m.kind == MountKind::bind ? "bind" : m.kind == MountKind::tmpfs ? "tmpfs" : "generated";
  return os << kind << " " << m.source << " -> " << m.destination << (m.read_only ? " ro" : " rw")
            << (m.restrict ? "" : " unrestricted") << (m.optional ? " optional" : "")
            << (m.origin == MountOrigin::user ? " user" : "");
}

namespace {

HostFacts default_facts() {
  HostFacts f;
  f.environ = {"HOME=/home/alice", "USER=alice"};
  f.user = UserEntry{"alice", 1000, 1000, "Alice", "/home/alice", "/bin/bash"};
  f.groups = {{"alice", 1000}};
  f.cwd = "/home/alice/project";
  f.config.origin = "/etc/cexec/cexec.conf";
  f.image_path = "/images/app.sqfs";
  f.image_kind = ImageKind::squashfs;
  return f;
}

LaunchOptions exec_options() {
  LaunchOptions o;
  o.verb = Verb::exec;
  o.image = "app.sqfs";
  o.command = {"true"};
  return o;
}

LaunchPlan resolve_ok(const LaunchOptions& o, const HostFacts& f) {
  auto r = resolve(o, f);
  BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.failure().message));
  return r.value();
}

Failure resolve_fails(const LaunchOptions& o, const HostFacts& f) {
  auto r = resolve(o, f);
  BOOST_TEST_REQUIRE(!r.has_value(), "resolve() unexpectedly succeeded");
  return r.failure();
}

std::vector<std::string> destinations(const LaunchPlan& p) {
  std::vector<std::string> out;
  for (const auto& m : p.mounts) {
    out.push_back(m.destination);
  }
  return out;
}

std::vector<MountOp> user_mounts(const LaunchPlan& p) {
  std::vector<MountOp> out;
  std::copy_if(p.mounts.begin(), p.mounts.end(), std::back_inserter(out),
               [](const MountOp& m) { return m.origin == MountOrigin::user; });
  return out;
}

size_t count_destination(const LaunchPlan& p, std::string_view dst) {
  return std::count_if(p.mounts.begin(), p.mounts.end(), [&](const MountOp& m) { return m.destination == dst; });
}

MountOp sys_bind(std::string path, bool ro, bool restrict, bool optional) {
  return MountOp{MountKind::bind, path, path, ro, restrict, optional, MountOrigin::system};
}

MountOp user_bind(std::string src, std::string dst, bool ro = false) {
  return MountOp{MountKind::bind, std::move(src), std::move(dst), ro, true, false, MountOrigin::user};
}

bool contains(const std::string& text, std::string_view words) {
  return text.find(words) != std::string::npos;
}

BOOST_AUTO_TEST_SUITE(plan)

BOOST_AUTO_TEST_CASE(default_mounts_in_order) {
  auto f = default_facts();
  f.cwd = "/scratch/alice/run1";
  auto p = resolve_ok(exec_options(), f);
  const std::vector<MountOp> expected = {
      sys_bind("/proc", false, false, false),
      sys_bind("/sys", true, false, false),
      sys_bind("/dev", false, false, false),
      sys_bind("/tmp", false, true, true),
      sys_bind("/var/tmp", false, true, true),
      sys_bind("/home/alice", false, true, true),
      sys_bind("/scratch/alice/run1", false, true, true),
      sys_bind("/var/spool/slurmd", false, true, true),
      sys_bind("/etc/hosts", true, true, true),
      sys_bind("/etc/resolv.conf", true, true, true),
      sys_bind("/etc/localtime", true, true, true),
      MountOp{MountKind::generated, "passwd", "/etc/passwd", true, true, false, MountOrigin::system},
      MountOp{MountKind::generated, "group", "/etc/group", true, true, false, MountOrigin::system},
  };
  BOOST_TEST(p.mounts == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(launcher_rendezvous_directories_are_bound_unless_covered) {
  auto f = default_facts();
  f.cwd = "/scratch/alice/run1";
  f.environ.push_back("PMIX_SERVER_TMPDIR=/var/run/pmix/job7");
  f.environ.push_back("PMIX_SYSTEM_TMPDIR=/tmp");                      // covered by the /tmp bind
  f.environ.push_back("OMPI_MCA_orte_top_session_dir=relative/dir");  // not absolute: ignored
  auto p = resolve_ok(exec_options(), f);
  BOOST_TEST(count_destination(p, "/var/run/pmix/job7") == 1u);
  BOOST_TEST(count_destination(p, "/tmp") == 1u);
  BOOST_TEST(count_destination(p, "relative/dir") == 0u);
  auto o = exec_options();
  o.contain = true;
  f.environ.push_back("PMIX_SERVER_TMPDIR=/tmp/ompi.node.1000/pid.42");
  auto contained = resolve_ok(o, f);
  BOOST_TEST(count_destination(contained, "/var/run/pmix/job7") == 1u);  // the first value wins
}

BOOST_AUTO_TEST_CASE(sharing_and_linger) {
  auto f = default_facts();
  auto p = resolve_ok(exec_options(), f);
  BOOST_TEST(p.share);
  BOOST_TEST(p.linger_seconds == 3.0);
  f.config.instance_linger = 7.5;
  BOOST_TEST(resolve_ok(exec_options(), f).linger_seconds == 7.5);
  f.environ.push_back("CEXEC_LINGER=0.25");
  BOOST_TEST(resolve_ok(exec_options(), f).linger_seconds == 0.25);
  auto o = exec_options();
  o.no_share = true;
  BOOST_TEST(!resolve_ok(o, f).share);
  o.instance = "x";
  BOOST_TEST((resolve_fails(o, f).kind == ErrorKind::usage));
  auto bad = default_facts();
  bad.environ.push_back("CEXEC_LINGER=soon");
  BOOST_TEST((resolve_fails(exec_options(), bad).kind == ErrorKind::usage));
}

BOOST_AUTO_TEST_CASE(plan_carries_the_inputs) {
  auto f = default_facts();
  auto o = exec_options();
  o.command = {"python3", "train.py", "--epochs", "3"};
  o.env = {"A=1"};
  o.cleanenv = true;
  o.verbosity = Verbosity::verbose;
  f.env_files = {{"site.env", {{"B", "2"}}}};
  auto p = resolve_ok(o, f);
  BOOST_TEST(p.image == "/images/app.sqfs");
  BOOST_TEST((p.image_kind == ImageKind::squashfs));
  BOOST_TEST(p.command == o.command, boost::test_tools::per_element());
  BOOST_TEST(p.user.name == "alice");
  BOOST_TEST(p.groups.size() == 1u);
  BOOST_TEST(p.host_cwd == "/home/alice/project");
  BOOST_TEST(p.pwd == "");
  BOOST_TEST(!p.writable);
  BOOST_TEST(!p.writable_tmpfs);
  BOOST_TEST((p.verbosity == Verbosity::verbose));
  BOOST_TEST(p.env.host == f.environ, boost::test_tools::per_element());
  BOOST_TEST(p.env.cli == o.env, boost::test_tools::per_element());
  BOOST_TEST(p.env.cleanenv);
  BOOST_TEST(p.env.image_path == "/images/app.sqfs");
  BOOST_TEST_REQUIRE(p.env.env_files.size() == 1u);
  BOOST_TEST(p.env.env_files[0].first == "site.env");
}

BOOST_AUTO_TEST_CASE(cwd_under_home_is_not_bound_twice) {
  for (const char* cwd : {"/home/alice", "/home/alice/project", "/home/alice/a/b/c"}) {
    BOOST_TEST_CONTEXT("cwd " << cwd) {
      auto f = default_facts();
      f.cwd = cwd;
      auto p = resolve_ok(exec_options(), f);
      BOOST_TEST(count_destination(p, "/home/alice") == 1u);
      BOOST_TEST(count_destination(p, cwd) == (std::string(cwd) == "/home/alice" ? 1u : 0u));
    }
  }
}

BOOST_AUTO_TEST_CASE(cwd_next_to_home_is_bound) {
  auto f = default_facts();
  f.cwd = "/home/alicex/work";  // shares a string prefix with the home, not a path prefix
  auto p = resolve_ok(exec_options(), f);
  BOOST_TEST(count_destination(p, "/home/alicex/work") == 1u);
}

BOOST_AUTO_TEST_CASE(cwd_in_tmp_is_covered_by_the_tmp_bind) {
  auto f = default_facts();
  f.cwd = "/tmp/build";
  auto p = resolve_ok(exec_options(), f);
  BOOST_TEST(count_destination(p, "/tmp/build") == 0u);
  BOOST_TEST(count_destination(p, "/tmp") == 1u);
}

BOOST_AUTO_TEST_CASE(cwd_in_a_system_directory_is_not_bound) {
  for (const char* cwd : {"/", "/usr/bin", "/usr", "/etc", "/etc/ssh", "/var/lib/x", "/proc/self", "/dev",
                          "/lib64", "/bin", "/sbin", "/run/user/1000", "/sys/fs", "/boot"}) {
    BOOST_TEST_CONTEXT("cwd " << cwd) {
      auto f = default_facts();
      f.cwd = cwd;
      auto p = resolve_ok(exec_options(), f);
      std::vector<std::string> expected = {"/proc", "/sys", "/dev", "/tmp", "/var/tmp", "/home/alice",
                                           "/var/spool/slurmd", "/etc/hosts", "/etc/resolv.conf", "/etc/localtime",
                                           "/etc/passwd", "/etc/group"};
      BOOST_TEST(destinations(p) == expected, boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(cwd_outside_system_directories_is_bound) {
  for (const char* cwd : {"/scratch", "/usrlocal/x", "/opt/app", "/var/tmp/job", "/srv/data", "/root"}) {
    BOOST_TEST_CONTEXT("cwd " << cwd) {
      auto f = default_facts();
      f.cwd = cwd;
      auto p = resolve_ok(exec_options(), f);
      // /var/tmp/job is covered by the /var/tmp bind; the others get their own.
      size_t expected = std::string(cwd) == "/var/tmp/job" ? 0u : 1u;
      BOOST_TEST(count_destination(p, cwd) == expected);
    }
  }
}

BOOST_AUTO_TEST_CASE(home_in_a_system_directory_or_root_is_not_bound) {
  for (const char* home : {"/", "", "/var/lib/svc", "/usr/local/home", "/etc/x"}) {
    BOOST_TEST_CONTEXT("home `" << home << "`") {
      auto f = default_facts();
      f.user.home = home;
      f.cwd = "/scratch/j";
      auto p = resolve_ok(exec_options(), f);
      std::vector<std::string> expected = {"/proc", "/sys", "/dev", "/tmp", "/var/tmp", "/scratch/j",
                                           "/var/spool/slurmd", "/etc/hosts", "/etc/resolv.conf", "/etc/localtime",
                                           "/etc/passwd", "/etc/group"};
      BOOST_TEST(destinations(p) == expected, boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(no_home_drops_home_but_keeps_cwd) {
  auto f = default_facts();
  auto o = exec_options();
  o.no_home = true;
  auto p = resolve_ok(o, f);
  BOOST_TEST(count_destination(p, "/home/alice") == 0u);
  BOOST_TEST(count_destination(p, "/home/alice/project") == 1u);
  std::vector<std::string> expected = {"/proc", "/sys", "/dev", "/tmp", "/var/tmp", "/home/alice/project",
                                       "/var/spool/slurmd", "/etc/hosts", "/etc/resolv.conf", "/etc/localtime",
                                       "/etc/passwd", "/etc/group"};
  BOOST_TEST(destinations(p) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(contain_gives_private_tmp_and_no_home_or_cwd) {
  auto f = default_facts();
  f.cwd = "/scratch/alice";
  auto o = exec_options();
  o.contain = true;
  auto p = resolve_ok(o, f);
  const std::vector<MountOp> expected = {
      sys_bind("/proc", false, false, false),
      sys_bind("/sys", true, false, false),
      sys_bind("/dev", false, false, false),
      MountOp{MountKind::tmpfs, "tmpfs", "/tmp", false, true, false, MountOrigin::system},
      MountOp{MountKind::tmpfs, "tmpfs", "/var/tmp", false, true, false, MountOrigin::system},
      sys_bind("/var/spool/slurmd", false, true, true),
      sys_bind("/etc/hosts", true, true, true),
      sys_bind("/etc/resolv.conf", true, true, true),
      sys_bind("/etc/localtime", true, true, true),
      MountOp{MountKind::generated, "passwd", "/etc/passwd", true, true, false, MountOrigin::system},
      MountOp{MountKind::generated, "group", "/etc/group", true, true, false, MountOrigin::system},
  };
  BOOST_TEST(p.mounts == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(user_binds_cexec_bind_first_then_b_in_order) {
  auto f = default_facts();
  f.environ.push_back("CEXEC_BIND=/env1:/e1,/env2:/e2:ro");
  auto o = exec_options();
  o.binds = {"/b1:/m1", "/b2,/b3:/m3:ro"};
  auto p = resolve_ok(o, f);
  const std::vector<MountOp> expected = {
      user_bind("/env1", "/e1"), user_bind("/env2", "/e2", true), user_bind("/b1", "/m1"),
      user_bind("/b2", "/b2"),   user_bind("/b3", "/m3", true),
  };
  BOOST_TEST(user_mounts(p) == expected, boost::test_tools::per_element());
  // User binds come after every system mount, so they can be placed over them.
  BOOST_TEST_REQUIRE(p.mounts.size() >= expected.size());
  BOOST_TEST(std::equal(expected.begin(), expected.end(), p.mounts.end() - expected.size()));
}

BOOST_AUTO_TEST_CASE(empty_cexec_bind_is_ignored) {
  auto f = default_facts();
  f.environ.push_back("CEXEC_BIND=");
  auto p = resolve_ok(exec_options(), f);
  BOOST_TEST(user_mounts(p).empty());
}

BOOST_AUTO_TEST_CASE(relative_sources_resolve_against_cwd) {
  auto f = default_facts();
  f.cwd = "/scratch/alice";
  f.environ.push_back("CEXEC_BIND=in");
  auto o = exec_options();
  o.binds = {"data:/data", "./out/", "../shared:/shared:ro", "/abs//x/./y:/y"};
  auto p = resolve_ok(o, f);
  const std::vector<MountOp> expected = {
      user_bind("/scratch/alice/in", "/scratch/alice/in"),
      user_bind("/scratch/alice/data", "/data"),
      user_bind("/scratch/alice/out", "/scratch/alice/out"),
      // ".." in a host source is collapsed lexically, like the shell's cd.
      user_bind("/scratch/shared", "/shared", true),
      user_bind("/abs/x/y", "/y"),
  };
  BOOST_TEST(user_mounts(p) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(config_binds_come_before_user_binds) {
  auto f = default_facts();
  f.config.binds = {{"/scratch", "", false}, {"/opt/site", "/site", true}};
  auto o = exec_options();
  o.binds = {"/mine:/mine"};
  auto p = resolve_ok(o, f);
  BOOST_TEST_REQUIRE(p.mounts.size() >= 3u);
  auto tail = std::vector<MountOp>(p.mounts.end() - 3, p.mounts.end());
  const std::vector<MountOp> expected = {
      MountOp{MountKind::bind, "/scratch", "/scratch", false, true, false, MountOrigin::system},
      MountOp{MountKind::bind, "/opt/site", "/site", true, true, false, MountOrigin::system},
      user_bind("/mine", "/mine"),
  };
  BOOST_TEST(tail == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(config_binds_do_not_count_towards_max_binds) {
  auto f = default_facts();
  f.config.binds = {{"/a", "", false}, {"/b", "", false}};
  f.config.max_binds = 1;
  auto o = exec_options();
  o.binds = {"/mine"};
  auto p = resolve_ok(o, f);
  BOOST_TEST(user_mounts(p).size() == 1u);
}

BOOST_AUTO_TEST_CASE(max_binds_counts_cexec_bind_and_b_together) {
  auto f = default_facts();
  f.config.max_binds = 3;
  f.config.origin = "/etc/cexec/site.conf";
  f.environ.push_back("CEXEC_BIND=/a,/b");
  auto o = exec_options();
  o.binds = {"/c"};
  BOOST_TEST(user_mounts(resolve_ok(o, f)).size() == 3u);  // exactly at the limit

  o.binds = {"/c", "/d"};
  auto why = resolve_fails(o, f);
  BOOST_TEST((why.kind == ErrorKind::policy));
  BOOST_TEST(contains(why.message, "4 binds requested"), "message: " << why.message);
  BOOST_TEST(contains(why.message, "/etc/cexec/site.conf allows at most 3"), "message: " << why.message);
}

BOOST_AUTO_TEST_CASE(max_binds_zero_refuses_any_user_bind) {
  auto f = default_facts();
  f.config.max_binds = 0;
  auto p = resolve_ok(exec_options(), f);  // no binds asked: fine
  BOOST_TEST(user_mounts(p).empty());
  auto o = exec_options();
  o.binds = {"/x"};
  BOOST_TEST((resolve_fails(o, f).kind == ErrorKind::policy));
}

struct RefusedCase {
  const char* name;
  std::vector<std::string> binds;
  std::string cexec_bind;  // CEXEC_BIND value, or ""
  ErrorKind kind;
  std::vector<std::string> words;
};

BOOST_AUTO_TEST_CASE(refused_binds) {
  const RefusedCase cases[] = {
      {"destination / explicit", {"/data:/"}, "", ErrorKind::bind_destination, {"`/data`", "destination `/`"}},
      {"destination / normalized", {"/data://."}, "", ErrorKind::bind_destination, {"destination `/`"}},
      {"source / without destination", {"/"}, "", ErrorKind::bind_destination, {"destination `/`"}},
      {"source normalizing to /", {"/./"}, "", ErrorKind::bind_destination, {"destination `/`"}},
      {"deny-destination exact", {"/mine:/etc/shadow"}, "", ErrorKind::policy,
       {"bind `/mine:/etc/shadow`", "would cover `/etc/shadow`", "/etc/cexec/cexec.conf does not allow"}},
      {"deny-destination below", {"/mine:/opt/secret/keys/k1"}, "", ErrorKind::policy,
       {"would cover `/opt/secret`", "does not allow"}},
      {"deny-destination above (hiding it)", {"/mine:/opt"}, "", ErrorKind::policy, {"would cover `/opt/secret`"}},
      {"deny-destination through the source", {"/opt/secret"}, "", ErrorKind::policy, {"would cover `/opt/secret`"}},
      {"deny-destination via CEXEC_BIND", {}, "/x:/etc/shadow", ErrorKind::policy, {"would cover `/etc/shadow`"}},
      {"malformed -B", {"/a:rel"}, "", ErrorKind::usage, {"bind spec `/a:rel`", "not an absolute path"}},
      {"malformed -B option", {"/a:/b:rox"}, "", ErrorKind::usage, {"unknown option `rox`"}},
      {"malformed CEXEC_BIND", {}, "/a,,/b", ErrorKind::usage, {"CEXEC_BIND: ", "empty entry"}},
      {"escaping destination", {"/a:/x/../../etc"}, "", ErrorKind::usage, {"contains `..`"}},
      // Without DST the (collapsed) source becomes the destination and passes the same checks.
      {"source with .. as destination", {"/tmp/.."}, "", ErrorKind::bind_destination,
       {"bind `/tmp/..`", "destination `/`"}},
      {"deny-destination dodged with ..", {"/etc/../etc/shadow"}, "", ErrorKind::policy,
       {"would cover `/etc/shadow`"}},
      {"relative source climbing above cwd", {"../../.."}, "", ErrorKind::bind_destination, {"destination `/`"}},
      {"source with .. via CEXEC_BIND", {}, "/opt/x/../secret", ErrorKind::policy, {"would cover `/opt/secret`"}},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      auto f = default_facts();
      f.config.deny_destinations = {"/etc/shadow", "/opt/secret"};
      if (!c.cexec_bind.empty()) {
        f.environ.push_back("CEXEC_BIND=" + c.cexec_bind);
      }
      auto o = exec_options();
      o.binds = c.binds;
      auto r = resolve(o, f);
      BOOST_TEST(!r.has_value(), "resolve() unexpectedly succeeded");
      if (r) {
        continue;  // report every case of the table, not just the first
      }
      const Failure& why = r.failure();
      BOOST_TEST((why.kind == c.kind), "kind " << static_cast<int>(why.kind) << ", message: " << why.message);
      for (const auto& w : c.words) {
        BOOST_TEST(contains(why.message, w), "`" << w << "` missing from: " << why.message);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(deny_destination_is_a_path_prefix_not_a_string_prefix) {
  auto f = default_facts();
  f.config.deny_destinations = {"/opt/secret"};
  auto o = exec_options();
  o.binds = {"/mine:/opt/secrets", "/mine:/opt/secre"};
  auto p = resolve_ok(o, f);
  BOOST_TEST(user_mounts(p).size() == 2u);
}

BOOST_AUTO_TEST_CASE(deny_destination_does_not_restrict_config_binds) {
  auto f = default_facts();
  f.config.deny_destinations = {"/site"};
  f.config.binds = {{"/opt/site", "/site", true}};
  auto p = resolve_ok(exec_options(), f);
  BOOST_TEST(count_destination(p, "/site") == 1u);
}

struct WritableCase {
  const char* name;
  bool writable;
  bool writable_tmpfs;
  ImageKind image_kind;
  bool allow_writable;
  bool allow_writable_tmpfs;
  bool ok;
  ErrorKind kind;     // when refused
  const char* words;  // when refused
};

BOOST_AUTO_TEST_CASE(writable_modes) {
  using K = ImageKind;
  const WritableCase cases[] = {
      {"writable directory", true, false, K::directory, true, true, true, ErrorKind::usage, ""},
      {"writable-tmpfs squashfs", false, true, K::squashfs, true, true, true, ErrorKind::usage, ""},
      {"writable-tmpfs directory", false, true, K::directory, true, true, true, ErrorKind::usage, ""},
      {"read-only, both disabled", false, false, K::squashfs, false, false, true, ErrorKind::usage, ""},
      {"writable squashfs", true, false, K::squashfs, true, true, false, ErrorKind::usage,
       "--writable needs a directory image"},
      {"both flags", true, true, K::directory, true, true, false, ErrorKind::usage,
       "--writable and --writable-tmpfs cannot be combined"},
      {"both flags on squashfs", true, true, K::squashfs, true, true, false, ErrorKind::usage, "cannot be combined"},
      {"writable disabled", true, false, K::directory, false, true, false, ErrorKind::policy,
       "--writable is disabled by /etc/cexec/cexec.conf"},
      {"writable-tmpfs disabled", false, true, K::squashfs, true, false, false, ErrorKind::policy,
       "--writable-tmpfs is disabled by /etc/cexec/cexec.conf"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      auto f = default_facts();
      f.image_kind = c.image_kind;
      f.config.allow_writable = c.allow_writable;
      f.config.allow_writable_tmpfs = c.allow_writable_tmpfs;
      auto o = exec_options();
      o.writable = c.writable;
      o.writable_tmpfs = c.writable_tmpfs;
      auto r = resolve(o, f);
      BOOST_TEST_REQUIRE(r.has_value() == c.ok, (r ? "resolved" : r.failure().message));
      if (c.ok) {
        BOOST_TEST(r.value().writable == c.writable);
        BOOST_TEST(r.value().writable_tmpfs == c.writable_tmpfs);
      } else {
        BOOST_TEST((r.failure().kind == c.kind), "message: " << r.failure().message);
        BOOST_TEST(contains(r.failure().message, c.words), "message: " << r.failure().message);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(pwd_must_be_absolute_and_is_normalized) {
  auto f = default_facts();
  auto o = exec_options();
  o.pwd = "/work//dir/./";
  BOOST_TEST(resolve_ok(o, f).pwd == "/work/dir");

  for (const char* pwd : {"work", "./work", "~/work"}) {
    BOOST_TEST_CONTEXT("--pwd " << pwd) {
      o.pwd = pwd;
      auto why = resolve_fails(o, f);
      BOOST_TEST((why.kind == ErrorKind::usage));
      BOOST_TEST(contains(why.message, std::string("--pwd `") + pwd + "`: not an absolute path"),
                 "message: " << why.message);
    }
  }
}

BOOST_AUTO_TEST_CASE(exec_needs_a_command_run_and_shell_do_not) {
  auto f = default_facts();
  auto o = exec_options();
  o.command.clear();
  auto why = resolve_fails(o, f);
  BOOST_TEST((why.kind == ErrorKind::usage));
  BOOST_TEST(contains(why.message, "missing COMMAND"), "message: " << why.message);

  for (Verb verb : {Verb::run, Verb::shell}) {
    BOOST_TEST_CONTEXT("verb " << static_cast<int>(verb)) {
      o.verb = verb;
      auto p = resolve_ok(o, f);
      BOOST_TEST((p.verb == verb));
      BOOST_TEST(p.command.empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(describe_lists_image_mounts_user_and_command) {
  auto f = default_facts();
  auto o = exec_options();
  o.command = {"echo", "hi"};
  o.writable_tmpfs = true;
  auto text = describe(resolve_ok(o, f));
  for (const char* words : {"plan: image /images/app.sqfs (squashfs, writable-tmpfs)\n",
                            "plan: mount bind /proc -> /proc rw\n",
                            "plan: mount bind /tmp -> /tmp rw (if present)\n",
                            "plan: mount file passwd -> /etc/passwd ro\n",
                            "plan: user alice uid=1000 gid=1000\n", "plan: command echo hi\n"}) {
    BOOST_TEST(contains(text, words), "`" << words << "` missing from:\n" << text);
  }
}

BOOST_AUTO_TEST_CASE(placement_options_are_validated) {
  auto f = default_facts();
  auto p = resolve_ok(exec_options(), f);
  BOOST_TEST(p.topology_file.empty());
  BOOST_TEST((p.cpu_bind == topology::CpuBind::automatic));
  BOOST_TEST(p.gpus_per_rank == 1);
  f.environ.push_back("CEXEC_TOPOLOGY=nodes/dgx.xml");
  BOOST_TEST(resolve_ok(exec_options(), f).topology_file == "/home/alice/project/nodes/dgx.xml");
  auto o = exec_options();
  o.topology = "/etc/other.xml";
  o.cpu_bind = "numa";
  o.gpu_bind = "none";
  o.gpus_per_rank = 0;
  p = resolve_ok(o, f);
  BOOST_TEST(p.topology_file == "/etc/other.xml");  // --topology wins over CEXEC_TOPOLOGY
  BOOST_TEST((p.cpu_bind == topology::CpuBind::numa));
  BOOST_TEST((p.gpu_bind == topology::GpuBind::none));
  o.cpu_bind = "sockets";
  BOOST_TEST(resolve_fails(o, f).message == "--cpu-bind `sockets`: expected auto, none, cores, numa or package");
  o.cpu_bind = "auto";
  o.gpu_bind = "nearest";
  BOOST_TEST((resolve_fails(o, f).kind == ErrorKind::usage));
  o.gpu_bind = "auto";
  o.gpus_per_rank = -1;
  BOOST_TEST(resolve_fails(o, f).message == "--gpus-per-rank -1: expected 0 to 1024");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cexec
