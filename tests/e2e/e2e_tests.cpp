// End-to-end tests of the cexec binary against the real kernel. The same program runs as root and
// as an unprivileged user (see CMakeLists.txt); every case checks real outcomes inside the
// container, and after every case nothing of cexec may remain (processes, host mounts, temp files).
#define BOOST_TEST_MODULE cexec_e2e
#include "harness.hpp"

using namespace e2e;

namespace {

std::vector<std::string> both_images() { return {sqfs(), dir_image()}; }

}  // namespace

BOOST_FIXTURE_TEST_SUITE(e2e, Case)

// --- basics -------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(exec_keeps_the_callers_ids) {
  for (const auto& img : both_images()) {
    auto o = run_cexec({"exec", img, "probe", "ids"}, env);
    BOOST_TEST_INFO(img << ": " << o);
    BOOST_CHECK_EQUAL(o.status, 0);
    std::string expected = "uid=" + std::to_string(::getuid()) + " euid=" + std::to_string(::getuid()) +
                           " gid=" + std::to_string(::getgid()) + " egid=" + std::to_string(::getgid());
    BOOST_CHECK_EQUAL(trim(o.out), expected);
  }
}

BOOST_AUTO_TEST_CASE(verbless_form_equals_exec) {
  auto a = run_cexec({sqfs(), "cat", "/etc/image-marker"}, env);
  auto b = run_cexec({"exec", sqfs(), "cat", "/etc/image-marker"}, env);
  BOOST_CHECK_EQUAL(a.status, 0);
  BOOST_CHECK_EQUAL(a.out, "in the image\n");
  BOOST_CHECK_EQUAL(a.out, b.out);
}

BOOST_AUTO_TEST_CASE(options_after_the_command_belong_to_it) {
  auto o = run_cexec({"exec", sqfs(), "sh", "-c", "echo $0 $1", "-B", "--env"}, env);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_CHECK_EQUAL(o.out, "-B --env\n");
}

BOOST_AUTO_TEST_CASE(run_executes_the_runscript_with_arguments) {
  for (const auto& img : both_images()) {
    auto o = run_cexec({"run", img, "a", "b c"}, env);
    BOOST_TEST_INFO(o);
    BOOST_CHECK_EQUAL(o.status, 0);
    BOOST_CHECK_EQUAL(o.out, "runscript:a b c\n");
  }
  auto none = run_cexec({"run", image("plain.sqfs")}, env);
  BOOST_CHECK_EQUAL(none.status, exit_code_for(ErrorKind::command_not_found));
  BOOST_CHECK(contains(none.err, "no runscript"));
}

BOOST_AUTO_TEST_CASE(image_without_metadata_runs) {
  auto o = run_cexec({image("plain.sqfs"), "cat", "/etc/image-marker"}, env);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_CHECK_EQUAL(o.out, "in the image\n");
}

BOOST_AUTO_TEST_CASE(shell_reads_commands) {
  auto o = run_cexec({"shell", sqfs()}, env, "/", "echo inside-$CEXEC_CONTAINER\nexit 3\n");
  BOOST_CHECK_EQUAL(o.status, 3);
  BOOST_CHECK_EQUAL(o.out, "inside-1\n");
}

BOOST_AUTO_TEST_CASE(help_and_version) {
  for (const char* verb : {"exec", "run", "shell"}) {
    auto o = run_cexec({verb, "--help"}, env);
    BOOST_CHECK_EQUAL(o.status, 0);
    BOOST_CHECK(contains(o.out, "Examples:"));
    BOOST_CHECK(contains(o.out, "--bind"));
  }
  auto v = run_cexec({"--version"}, env);
  BOOST_CHECK_EQUAL(v.status, 0);
  BOOST_CHECK(v.out.starts_with("cexec "));
  // The commit and the compiled-in features, one line each (docs/packaging.md).
  BOOST_CHECK_MESSAGE(contains(v.out, "\ncommit: ") && !contains(v.out, "commit: \n"), v.out);
  BOOST_CHECK_MESSAGE(contains(v.out, "\nfeatures: squashfs"), v.out);
  auto h = run_cexec({"--help"}, env);
  BOOST_CHECK(contains(h.out, "Exit status"));
}

// --- namespaces and security --------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(only_user_and_mount_namespaces_are_new) {
  auto host = run({stage() + "/bin/probe", "ns"}, env);
  BOOST_REQUIRE_EQUAL(host.status, 0);
  for (const auto& img : both_images()) {
    auto inside = run_cexec({img, "probe", "ns"}, env);
    BOOST_REQUIRE_EQUAL(inside.status, 0);
    std::map<std::string, std::string> h, c;
    std::istringstream hs(host.out), cs(inside.out);
    std::string k, v;
    while (hs >> k >> v) {
      h[k] = v;
    }
    while (cs >> k >> v) {
      c[k] = v;
    }
    BOOST_CHECK_NE(h["user"], c["user"]);
    BOOST_CHECK_NE(h["mnt"], c["mnt"]);
    for (const char* same : {"pid", "net", "ipc", "uts"}) {
      BOOST_CHECK_EQUAL(h[same], c[same]);
    }
  }
}

BOOST_AUTO_TEST_CASE(no_capabilities_and_no_new_privs) {
  for (const auto& img : both_images()) {
    auto o = run_cexec({img, "probe", "status"}, env);
    BOOST_REQUIRE_EQUAL(o.status, 0);
    for (const char* cap : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}) {
      BOOST_CHECK_MESSAGE(contains(o.out, std::string(cap) + ":\t0000000000000000"), cap << " in " << o.out);
    }
    BOOST_CHECK(contains(o.out, "NoNewPrivs:\t1"));
  }
}

BOOST_AUTO_TEST_CASE(setuid_binary_in_image_gives_no_privilege) {
  for (const auto& img : both_images()) {
    auto o = run_cexec({img, "probe-suid", "ids"}, env);
    BOOST_REQUIRE_EQUAL(o.status, 0);
    BOOST_CHECK(contains(o.out, "euid=" + std::to_string(::getuid()) + " "));
  }
}

BOOST_AUTO_TEST_CASE(root_is_read_only) {
  for (const auto& img : both_images()) {
    auto o = run_cexec({img, "probe", "write", "/newfile"}, env);
    BOOST_CHECK_EQUAL(o.status, 1);
    BOOST_CHECK_EQUAL(trim(o.out), "Read-only file system");
  }
}

BOOST_AUTO_TEST_CASE(image_is_mounted_nosuid_nodev) {
  auto o = run_cexec({sqfs(), "grep", "-E", "^[0-9]+ [0-9]+ [0-9]+:[0-9]+ [^ ]+ / ", "/proc/self/mountinfo"}, env);
  BOOST_REQUIRE_EQUAL(o.status, 0);
  BOOST_CHECK(contains(o.out, "nosuid"));
  BOOST_CHECK(contains(o.out, "nodev"));
  BOOST_CHECK(contains(o.out, " ro,"));
}

BOOST_AUTO_TEST_CASE(old_root_is_gone) {
  // The host's root must not be reachable: the host has /usr/bin/setpriv, the image has no /usr.
  BOOST_REQUIRE(fs::exists("/usr/bin/setpriv"));
  auto o = run_cexec({sqfs(), "ls", "/usr/bin/setpriv"}, env);
  BOOST_CHECK_NE(o.status, 0);
  BOOST_CHECK(contains(o.err, "No such file"));
}

BOOST_AUTO_TEST_CASE(refuses_to_run_setuid) {
  auto o = run({stage() + "/bin/cexec-suid", sqfs(), "true"}, env);
  BOOST_CHECK_EQUAL(o.status, exit_code_for(ErrorKind::policy));
  BOOST_CHECK(contains(o.err, "setuid"));
}

BOOST_AUTO_TEST_CASE(squashfs_is_served_by_a_multithreaded_server) {
  // While a payload runs, the server (the node instance's keeper, or the private container's own
  // server with --no-share) has more than one thread and sits outside the container.
  for (bool shared : {true, false}) {
  std::string threads;
  std::vector<std::string> argv{cexec_bin(), sqfs(), "sh", "-c", "cat /etc/image-marker; echo up; sleep 1"};
  if (!shared) {
    argv.insert(argv.begin() + 1, "--no-share");
  }
  auto o = run(argv, env, "/", "",
               [&](pid_t, const std::string& out) {
                 if (!contains(out, "up")) {
                   return false;
                 }
                 for (const auto& p : cexec_processes()) {
                   if (contains(p, shared ? "cexec-instance" : "cexec-sqfs")) {
                     std::string status = read_text("/proc/" + p.substr(0, p.find(' ')) + "/status");
                     auto pos = status.find("Threads:");
                     threads = trim(status.substr(pos + 8, status.find('\n', pos) - pos - 8));
                   }
                 }
                 return true;
               });
  BOOST_TEST_INFO("shared=" << shared);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_REQUIRE(!threads.empty());
  BOOST_CHECK_GT(std::stoi(threads), 1);
  }
}

// --- binds --------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(bind_onto_missing_destination_in_read_only_image) {
  write_text(work / "file", "host data\n");
  for (const auto& img : both_images()) {
    auto o = run_cexec({"-B", work.path() + ":/new/place", img, "cat", "/new/place/file"}, env);
    BOOST_TEST_INFO(o);
    BOOST_CHECK_EQUAL(o.status, 0);
    BOOST_CHECK_EQUAL(o.out, "host data\n");
    // The root stays read-only even though mount points were created for the bind.
    auto w = run_cexec({"-B", work.path() + ":/new/place", img, "probe", "write", "/new/x"}, env);
    BOOST_CHECK_EQUAL(trim(w.out), "Read-only file system");
  }
}

BOOST_AUTO_TEST_CASE(bind_read_only_and_read_write) {
  auto rw = run_cexec({"-B", work.path() + ":/data", sqfs(), "probe", "write", "/data/rw-file"}, env);
  BOOST_CHECK_EQUAL(rw.status, 0);
  BOOST_CHECK(fs::exists(work / "rw-file"));
  auto ro = run_cexec({"-B", work.path() + ":/data:ro", sqfs(), "probe", "write", "/data/ro-file"}, env);
  BOOST_CHECK_EQUAL(ro.status, 1);
  BOOST_CHECK_EQUAL(trim(ro.out), "Read-only file system");
  BOOST_CHECK(!fs::exists(work / "ro-file"));
}

BOOST_AUTO_TEST_CASE(bind_lists_env_and_relative_sources) {
  fs::create_directories(work / "a");
  fs::create_directories(work / "b");
  fs::create_directories(work / "c");
  write_text(work / "a/f", "A");
  write_text(work / "b/f", "B");
  write_text(work / "c/f", "C");
  Env e = env;
  e["CEXEC_BIND"] = work / "c" + ":/mnt/c";
  auto o = run_cexec({"-B", "a:/mnt/a,b:/mnt/b:ro", sqfs(), "cat", "/mnt/a/f", "/mnt/b/f", "/mnt/c/f"}, e, work.path());
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_CHECK_EQUAL(o.out, "ABC");
  // Destination defaults to the (absolute) source.
  auto same = run_cexec({"-B", work / "a", sqfs(), "cat", work / "a/f"}, env);
  BOOST_CHECK_EQUAL(same.out, "A");
}

BOOST_AUTO_TEST_CASE(bind_through_symlinks_stays_in_the_image) {
  write_text(work / "f", "bound\n");
  // /escape -> ../../../.. climbs above the root: refused.
  auto esc = run_cexec({"-B", work.path() + ":/escape/x", sqfs(), "true"}, env);
  BOOST_CHECK_EQUAL(esc.status, exit_code_for(ErrorKind::bind_destination));
  BOOST_CHECK(contains(esc.err, "escapes the image root"));
  // /etc-link -> /etc resolves inside the image, never to the host's /etc.
  auto abs = run_cexec({"-B", work.path() + ":/etc-link/cexec-bound", sqfs(), "cat", "/etc/cexec-bound/f"}, env);
  BOOST_TEST_INFO(abs);
  BOOST_CHECK_EQUAL(abs.status, 0);
  BOOST_CHECK_EQUAL(abs.out, "bound\n");
  BOOST_CHECK(!fs::exists("/etc/cexec-bound"));
}

BOOST_AUTO_TEST_CASE(bad_bind_specs) {
  struct Bad {
    std::string spec;
    ErrorKind kind;
    std::string words;
  };
  std::vector<Bad> cases = {
      {work.path() + ":relative/dst", ErrorKind::usage, "not an absolute path"},
      {work.path() + ":/a/../../etc", ErrorKind::usage, "`..`"},
      {work.path() + ":/a:xx", ErrorKind::usage, "unknown option"},
      {"a:b:c:d", ErrorKind::usage, "too many"},
      {":/dst", ErrorKind::usage, "empty source"},
      {work / "missing" + ":/dst", ErrorKind::input_missing, "bind source"},
      {work.path() + ":/", ErrorKind::bind_destination, "image root"},
  };
  for (const auto& c : cases) {
    auto o = run_cexec({"-B", c.spec, sqfs(), "true"}, env);
    BOOST_TEST_INFO(c.spec << ": " << o);
    BOOST_CHECK_EQUAL(o.status, exit_code_for(c.kind));
    BOOST_CHECK(contains(o.err, c.words));
    BOOST_CHECK_EQUAL(std::count(o.err.begin(), o.err.end(), '\n'), 1);
  }
}

BOOST_AUTO_TEST_CASE(default_mounts) {
  write_text(home / "in-home", "home file\n");
  std::string script =
      "cat $HOME/in-home; cat /etc/hosts; ls /dev/null /proc/self /sys/kernel >/dev/null && echo sys-ok;"
      "grep -q ':" + std::to_string(::getuid()) + ":' /etc/passwd && echo user-in-passwd;"
      "grep -q '^root:' /etc/passwd && echo image-root-kept;"
      "grep -q ':" + std::to_string(::getgid()) + ":' /etc/group && echo group-ok";
  for (const auto& img : both_images()) {
    auto o = run_cexec({img, "sh", "-c", script}, env, work.path());
    BOOST_TEST_INFO(img << ": " << o);
    BOOST_CHECK_EQUAL(o.status, 0);
    BOOST_CHECK(contains(o.out, "home file\n" + read_text("/etc/hosts")));
    BOOST_CHECK(contains(o.out, "sys-ok"));
    BOOST_CHECK(contains(o.out, "user-in-passwd"));
    BOOST_CHECK(contains(o.out, "image-root-kept"));
    BOOST_CHECK(contains(o.out, "group-ok"));
  }
}

BOOST_AUTO_TEST_CASE(cwd_is_kept_and_pwd_overrides) {
  auto o = run_cexec({sqfs(), "probe", "cwd"}, env, work.path());
  BOOST_CHECK_EQUAL(trim(o.out), work.path());
  auto p = run_cexec({"--pwd", "/etc", sqfs(), "probe", "cwd"}, env, work.path());
  BOOST_CHECK_EQUAL(trim(p.out), "/etc");
  auto bad = run_cexec({"--pwd", "/does/not/exist", sqfs(), "true"}, env);
  BOOST_CHECK_EQUAL(bad.status, exit_code_for(ErrorKind::usage));
  BOOST_CHECK(contains(bad.err, "--pwd"));
  auto rel = run_cexec({"--pwd", "etc", sqfs(), "true"}, env);
  BOOST_CHECK_EQUAL(rel.status, exit_code_for(ErrorKind::usage));
}

BOOST_AUTO_TEST_CASE(shared_tmp_by_default_private_with_contain) {
  write_text(work / "marker", "x");
  auto shared = run_cexec({sqfs(), "cat", work / "marker"}, env);
  BOOST_CHECK_EQUAL(shared.out, "x");
  auto contained = run_cexec({"--contain", sqfs(), "sh", "-c", "ls /tmp | wc -l; ls $HOME"}, env, work.path());
  BOOST_TEST_INFO(contained);
  BOOST_CHECK_EQUAL(trim(contained.out).substr(0, 1), "0");
  BOOST_CHECK(contains(contained.err, "No such file"));
  // The test's home lies under /tmp (shared anyway), so look for the home bind itself.
  auto withhome = run_cexec({sqfs(), "cat", "/proc/self/mountinfo"}, env);
  BOOST_CHECK(contains(withhome.out, " " + home.path() + " "));
  auto nohome = run_cexec({"--no-home", sqfs(), "cat", "/proc/self/mountinfo"}, env);
  BOOST_CHECK_EQUAL(nohome.status, 0);
  BOOST_CHECK(!contains(nohome.out, " " + home.path() + " "));
}

// --- writable modes -----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(writable_tmpfs_is_writable_and_discarded) {
  for (const auto& img : both_images()) {
    auto o = run_cexec({"--writable-tmpfs", img, "sh", "-c", "echo new > /etc/new-file && cat /etc/new-file"}, env);
    BOOST_TEST_INFO(o);
    BOOST_CHECK_EQUAL(o.status, 0);
    BOOST_CHECK_EQUAL(o.out, "new\n");
    auto again = run_cexec({img, "cat", "/etc/new-file"}, env);
    BOOST_CHECK_NE(again.status, 0);
  }
  BOOST_CHECK(!fs::exists(dir_image() + "/etc/new-file"));
}

BOOST_AUTO_TEST_CASE(writable_directory_image) {
  // A sandbox the caller owns.
  std::string sandbox = work / "sandbox";
  auto cp = run({"cp", "-a", dir_image(), sandbox}, env);
  BOOST_REQUIRE_EQUAL(cp.status, 0);
  auto o = run_cexec({"--writable", sandbox, "sh", "-c", "echo kept > /kept"}, env);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_CHECK_EQUAL(read_text(sandbox + "/kept"), "kept\n");
  auto sq = run_cexec({"--writable", sqfs(), "true"}, env);
  BOOST_CHECK_EQUAL(sq.status, exit_code_for(ErrorKind::usage));
  BOOST_CHECK(contains(sq.err, "directory image"));
}

// --- environment --------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(environment_precedence) {
  write_text(work / "envfile", "# comment\nFROM_FILE=file\nLAYERED=file\nexport QUOTED=\"a b\"\n");
  Env e = env;
  e["HOST_VAR"] = "host";
  e["LD_PRELOAD"] = "/host/lib.so";
  e["LAYERED"] = "host";
  e["CEXEC_ENV_LAYERED"] = "prefix";
  e["CEXEC_ENV_FROM_PREFIX"] = "prefix";
  auto o = run_cexec({"--env-file", work / "envfile", "--env", "FROM_CLI=cli", sqfs(), "env"}, e);
  BOOST_REQUIRE_EQUAL(o.status, 0);
  BOOST_CHECK(contains(o.out, "HOST_VAR=host\n"));
  BOOST_CHECK(!contains(o.out, "LD_PRELOAD"));
  BOOST_CHECK(contains(o.out, "IMAGE_VAR=from-image\n"));
  BOOST_CHECK(contains(o.out, "FROM_PREFIX=prefix\n"));
  BOOST_CHECK(contains(o.out, "FROM_FILE=file\n"));
  BOOST_CHECK(contains(o.out, "LAYERED=file\n"));
  BOOST_CHECK(contains(o.out, "QUOTED=a b\n"));
  BOOST_CHECK(contains(o.out, "FROM_CLI=cli\n"));
  BOOST_CHECK(contains(o.out, "CEXEC_CONTAINER=1\n"));
  BOOST_CHECK(contains(o.out, "CEXEC_IMAGE=" + sqfs() + "\n"));
  BOOST_CHECK(contains(o.out, "PATH=/opt/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"));
  BOOST_CHECK(!contains(o.out, "CEXEC_ENV_"));
  auto cli = run_cexec({"--env-file", work / "envfile", "--env", "LAYERED=cli", sqfs(), "env"}, e);
  BOOST_CHECK(contains(cli.out, "LAYERED=cli\n"));
  auto clean = run_cexec({"--cleanenv", sqfs(), "env"}, e);
  BOOST_CHECK(!contains(clean.out, "HOST_VAR"));
  BOOST_CHECK(contains(clean.out, "HOME=" + home.path() + "\n"));
  BOOST_CHECK(contains(clean.out, "IMAGE_VAR=from-image\n"));
  auto badfile = run_cexec({"--env-file", work / "nofile", sqfs(), "true"}, e);
  BOOST_CHECK_EQUAL(badfile.status, exit_code_for(ErrorKind::input_missing));
  write_text(work / "badenv", "ok=1\nnot a line\n");
  auto badline = run_cexec({"--env-file", work / "badenv", sqfs(), "true"}, e);
  BOOST_CHECK_EQUAL(badline.status, exit_code_for(ErrorKind::usage));
  BOOST_CHECK(contains(badline.err, "badenv:2"));
  auto badcli = run_cexec({"--env", "NOEQUALS", sqfs(), "true"}, e);
  BOOST_CHECK_EQUAL(badcli.status, exit_code_for(ErrorKind::usage));
}

// --- exit statuses and signals ------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(exit_status_and_signal_death) {
  auto o = run_cexec({sqfs(), "probe", "exit", "42"}, env);
  BOOST_CHECK_EQUAL(o.status, 42);
  auto k = run_cexec({sqfs(), "sh", "-c", "kill -9 $$"}, env);
  BOOST_CHECK_EQUAL(k.status, 128 + 9);
}

BOOST_AUTO_TEST_CASE(signals_reach_the_command) {
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2}) {
    bool sent = false;
    auto o = run({cexec_bin(), sqfs(), "probe", "signals"}, env, "/", "", [&](pid_t pid, const std::string& out) {
      if (contains(out, "ready")) {
        ::kill(pid, sig);
        sent = true;
      }
      return sent;
    });
    BOOST_TEST_INFO("signal " << sig << ": " << o);
    BOOST_CHECK(sent);
    BOOST_CHECK_EQUAL(o.status, 100 + sig);
    BOOST_CHECK(contains(o.out, "got " + std::to_string(sig)));
  }
}

// --- bad input ----------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(bad_images) {
  struct Bad {
    std::string image;
    ErrorKind kind;
    std::string words;
  };
  std::vector<Bad> cases = {
      {image("missing.sqfs"), ErrorKind::input_missing, "No such file"},
      {image("notimage.txt"), ErrorKind::image_invalid, "not a SquashFS"},
      {image("truncated.sqfs"), ErrorKind::image_invalid, "truncated"},
      {image("corrupt.sqfs"), ErrorKind::image_invalid, "corrupt"},
      {"/dev/null", ErrorKind::image_invalid, "not a SquashFS"},
  };
  for (const auto& c : cases) {
    auto o = run_cexec({c.image, "true"}, env);
    BOOST_TEST_INFO(c.image << ": " << o);
    BOOST_CHECK_EQUAL(o.status, exit_code_for(c.kind));
    BOOST_CHECK(contains(o.err, c.words));
    BOOST_CHECK(contains(o.err, "image `"));
    BOOST_CHECK_EQUAL(std::count(o.err.begin(), o.err.end(), '\n'), 1);
  }
}

BOOST_AUTO_TEST_CASE(unreadable_image) {
  // Root reads any file, so the root run checks this case as nobody.
  std::vector<std::string> argv{cexec_bin(), image("unreadable.sqfs"), "true"};
  if (is_root()) {
    argv.insert(argv.begin(), {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"});
  }
  auto o = run(argv, env);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, exit_code_for(ErrorKind::input_missing));
  BOOST_CHECK(contains(o.err, "Permission denied"));
}

BOOST_AUTO_TEST_CASE(bad_commands_and_options) {
  auto nf = run_cexec({sqfs(), "no-such-command"}, env);
  BOOST_CHECK_EQUAL(nf.status, exit_code_for(ErrorKind::command_not_found));
  BOOST_CHECK(contains(nf.err, "`no-such-command` not found"));
  auto ne = run_cexec({sqfs(), "/bin/not-executable"}, env);
  BOOST_CHECK_EQUAL(ne.status, exit_code_for(ErrorKind::command_not_found));
  BOOST_CHECK(contains(ne.err, "not executable"));
  auto unknown = run_cexec({"exec", "--frobnicate", sqfs(), "true"}, env);
  BOOST_CHECK_EQUAL(unknown.status, exit_code_for(ErrorKind::usage));
  BOOST_CHECK(contains(unknown.err, "unknown option `--frobnicate`"));
  auto noimage = run_cexec({"exec"}, env);
  BOOST_CHECK_EQUAL(noimage.status, exit_code_for(ErrorKind::usage));
  BOOST_CHECK(contains(noimage.err, "missing IMAGE"));
  auto nothing = run_cexec({}, env);
  BOOST_CHECK_EQUAL(nothing.status, exit_code_for(ErrorKind::usage));
  auto nocmd = run_cexec({"exec", sqfs()}, env);
  BOOST_CHECK_EQUAL(nocmd.status, exit_code_for(ErrorKind::usage));
}

BOOST_AUTO_TEST_CASE(user_namespaces_disabled) {
  // A user namespace of the test's own whose limit is 0: cexec's unshare fails as on a host
  // where an admin disabled user namespaces.
  auto o = run({"unshare", "--user", "--map-root-user", "sh", "-c",
                "echo 0 > /proc/sys/user/max_user_namespaces && exec \"$0\" \"$@\"", cexec_bin(), sqfs(), "true"},
               env);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, exit_code_for(ErrorKind::host_unsupported));
  BOOST_CHECK(contains(o.err, "user.max_user_namespaces"));
}

BOOST_AUTO_TEST_CASE(dev_fuse_unusable) {
  // /dev hidden by an empty tmpfs in a namespace of the test's own: no /dev/fuse to open.
  auto o = run({"unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
                "mount -t tmpfs none /dev && exec \"$0\" \"$@\"", cexec_bin(), sqfs(), "true"},
               env);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, exit_code_for(ErrorKind::host_unsupported));
  BOOST_CHECK(contains(o.err, "/dev/fuse"));
}

// --- cexec check: the host's readiness ----------------------------------------------------------

BOOST_AUTO_TEST_CASE(host_check_reports_this_host_ready) {
  // Not through run_cexec: `check` is no launch, so the private-container runs add no --no-share.
  auto o = run({cexec_bin(), "check"}, env);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  for (const char* line : {"info  kernel: Linux ", "ok    user namespaces: unshare(CLONE_NEWUSER|CLONE_NEWNS) works",
                           "ok    /dev/fuse: character device 10:229, mode 0666\n",
                           "ok    FUSE in a user namespace: a FUSE file system mounts inside cexec's user namespace\n",
                           "ok    fusermount: not needed", "ok    overlayfs in a user namespace: mounts (userxattr)\n",
                           "ok    admin configuration: ", "ok    host MPI: Open MPI v4.1.4 (discovered from ", "ok    topology: host: "}) {
    BOOST_CHECK_MESSAGE(contains(o.out, line), "missing: " << line);
  }
  BOOST_CHECK(o.out.ends_with("result: ready\n") || contains(o.out, "result: ready ("));
  BOOST_CHECK(o.err.empty());
  auto j = run({cexec_bin(), "check", "--json"}, env);
  BOOST_TEST_INFO(j);
  BOOST_CHECK_EQUAL(j.status, 0);
  BOOST_CHECK(contains(j.out, "\"ready\": true"));
  BOOST_CHECK(contains(j.out, "\"item\": \"FUSE in a user namespace\""));
  auto bad = run({cexec_bin(), "check", "--frobnicate"}, env);
  BOOST_CHECK_EQUAL(bad.status, exit_code_for(ErrorKind::usage));
  BOOST_CHECK_EQUAL(std::count(bad.err.begin(), bad.err.end(), '\n'), 1);
}

BOOST_AUTO_TEST_CASE(host_check_names_what_an_admin_must_change) {
  // Each broken feature made real in namespaces of the test's own, as in the launch cases above.
  struct Broken {
    std::vector<std::string> wrap;  // runs "$0" "$@" = cexec check
    std::string line;
  };
  std::string sh_exec = " && exec \"$0\" \"$@\"";
  std::vector<Broken> cases{
      {{"unshare", "--user", "--map-root-user", "sh", "-c", "echo 0 > /proc/sys/user/max_user_namespaces" + sh_exec},
       "FAIL  user namespaces: cannot create one: unshare: No space left on device -> set the sysctl user.max_user_namespaces above 0"},
      {{"unshare", "--user", "--map-root-user", "--mount", "sh", "-c", "mount -t tmpfs none /dev" + sh_exec},
       "FAIL  /dev/fuse: missing -> load the fuse kernel module (modprobe fuse) so that /dev/fuse exists\n"},
      {{"unshare", "--user", "--map-root-user", "--mount", "sh", "-c", "mount --bind /dev/null /dev/fuse" + sh_exec},
       "FAIL  /dev/fuse: is not the FUSE character device (10:229) -> recreate it: mknod -m 0666 /dev/fuse c 10 229\n"},
  };
  if (is_root()) {
    // A FUSE device only root may open, over /dev/fuse in a mount namespace of the test's own, and
    // the check run as nobody (as on the VMs that ship /dev/fuse 0600).
    std::string dev = work.path() + "/fuse";
    cases.push_back({{"unshare", "--mount", "sh", "-c",
                      "mknod -m 0600 " + dev + " c 10 229 && mount --bind " + dev + " /dev/fuse && rm " + dev +
                          " && exec setpriv --reuid=65534 --regid=65534 --clear-groups \"$0\" \"$@\""},
                     "FAIL  /dev/fuse: character device 10:229, mode 0600, not readable and writable by uid 65534 -> make it mode 0666"});
  }
  for (const auto& c : cases) {
    std::vector<std::string> argv = c.wrap;
    argv.push_back(cexec_bin());
    argv.push_back("check");
    auto o = run(argv, env);
    BOOST_TEST_INFO(c.line << "\n" << o);
    BOOST_CHECK_EQUAL(o.status, exit_code_for(ErrorKind::host_unsupported));
    BOOST_CHECK(contains(o.out, c.line));
    BOOST_CHECK(contains(o.out, "result: not ready (1 to fix") || contains(o.out, "result: not ready (2 to fix"));
  }
}

// --- the node instance's rendezvous: no denial of service between users ------------------------

BOOST_AUTO_TEST_CASE(rendezvous_secret_is_private_and_keys_the_name) {
  // Always through the node instance (run, not run_cexec): the private-container pass of the
  // suite would add --no-share, and a private container has no rendezvous.
  auto o = run({cexec_bin(), "-v", sqfs(), "true"}, env);
  BOOST_TEST_INFO(o);
  BOOST_REQUIRE_EQUAL(o.status, 0);
  std::string name = try_instance_name(o.err);
  BOOST_CHECK(name.starts_with("cexec." + std::to_string(::getuid()) + "."));
  std::string dir = home.path() + "/cexec";
  std::string secret = read_text(dir + "/rendezvous-secret");
  BOOST_CHECK_EQUAL(secret.size(), 64u);
  BOOST_CHECK_EQUAL(secret.find_first_not_of("0123456789abcdef"), std::string::npos);
  struct stat st {};
  BOOST_REQUIRE_EQUAL(::stat(dir.c_str(), &st), 0);
  BOOST_CHECK_EQUAL(st.st_mode & 0777, 0700u);
  BOOST_REQUIRE_EQUAL(::stat((dir + "/rendezvous-secret").c_str(), &st), 0);
  BOOST_CHECK_EQUAL(st.st_mode & 0777, 0600u);
  // The same launch again: the same secret, the same name. Another secret: another name.
  auto again = run({cexec_bin(), "-v", sqfs(), "true"}, env);
  BOOST_CHECK_EQUAL(try_instance_name(again.err), name);
  fs::remove(dir + "/rendezvous-secret");
  auto other = run({cexec_bin(), "-v", sqfs(), "true"}, env);
  BOOST_CHECK_EQUAL(other.status, 0);
  BOOST_CHECK(!try_instance_name(other.err).empty());
  BOOST_CHECK_NE(try_instance_name(other.err), name);
}

BOOST_AUTO_TEST_CASE(rendezvous_secret_moves_past_places_others_took) {
  // In namespaces of the test's own (a private /dev/shm): /dev/shm/cexec-0 made first with the
  // wrong mode, as another user's squat would be, and XDG_RUNTIME_DIR unset: the secret goes to
  // the cache folder. Then no place at all: a private container, with a warning, and the job runs.
  Env e = env;
  e.erase("XDG_RUNTIME_DIR");
  e["XDG_CACHE_HOME"] = work.path();
  std::string squat = "mount -t tmpfs none /dev/shm && mkdir -m 0755 /dev/shm/cexec-0 && exec \"$0\" \"$@\"";
  auto o = run({"unshare", "--user", "--map-root-user", "--mount", "sh", "-c", squat, cexec_bin(), "-v", sqfs(), "cat",
                "/etc/image-marker"},
               e);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_CHECK_EQUAL(o.out, "in the image\n");
  BOOST_CHECK(fs::exists(work.path() + "/cexec/rendezvous-secret"));
  BOOST_CHECK(!try_instance_name(o.err).empty());
  e.erase("XDG_CACHE_HOME");
  e["HOME"] = "/nonexistent";
  auto none = run({"unshare", "--user", "--map-root-user", "--mount", "sh", "-c", squat, cexec_bin(), sqfs(), "cat",
                   "/etc/image-marker"},
                  e);
  BOOST_TEST_INFO(none);
  BOOST_CHECK_EQUAL(none.status, 0);
  BOOST_CHECK_EQUAL(none.out, "in the image\n");
  BOOST_CHECK(contains(none.err, "cexec: warning: no private place for the node instance's rendezvous secret (/dev/shm/cexec-0: "
                                 "not a private directory of uid 0 (owner 0)"));
  BOOST_CHECK(contains(none.err, "; running a private container\n"));
}

// --- admin configuration ------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(admin_config_applies_inside_an_outer_user_namespace) {
  // Under `unshare -r` (as in a rootless container) run by an ordinary user (e2e_user), the
  // root-owned config shows the overflow uid; it is still the admin's file and still applies (an
  // installed /etc/cexec/cexec.conf must not stop cexec there). As root (e2e_root) root maps to
  // itself and the case is the plain one.
  Env e = env;
  e["CEXEC_CONFIG"] = config("site.conf");
  auto o = run({"unshare", "--user", "--map-root-user", cexec_bin(), sqfs(), "cat", "/cfg/hostname"}, e);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_CHECK_EQUAL(o.out, read_text("/etc/hostname"));
  // The rule itself still holds there: a group-writable config is refused.
  e["CEXEC_CONFIG"] = config("group-writable.conf");
  auto refused = run({"unshare", "--user", "--map-root-user", cexec_bin(), sqfs(), "true"}, e);
  BOOST_CHECK_EQUAL(refused.status, exit_code_for(ErrorKind::config));
}

BOOST_AUTO_TEST_CASE(admin_config) {
  Env e = env;
  e["CEXEC_CONFIG"] = config("site.conf");
  auto bound = run_cexec({sqfs(), "cat", "/cfg/hostname"}, e);
  BOOST_TEST_INFO(bound);
  BOOST_CHECK_EQUAL(bound.status, 0);
  BOOST_CHECK_EQUAL(bound.out, read_text("/etc/hostname"));
  auto denied = run_cexec({"-B", work.path() + ":/opt/x", sqfs(), "true"}, e);
  BOOST_CHECK_EQUAL(denied.status, exit_code_for(ErrorKind::policy));
  BOOST_CHECK(contains(denied.err, "/opt"));
  auto too_many = run_cexec({"-B", "/tmp:/b1,/tmp:/b2,/tmp:/b3,/tmp:/b4", sqfs(), "true"}, e);
  BOOST_CHECK_EQUAL(too_many.status, exit_code_for(ErrorKind::policy));

  e["CEXEC_CONFIG"] = config("no-writable.conf");
  auto wt = run_cexec({"--writable-tmpfs", sqfs(), "true"}, e);
  BOOST_CHECK_EQUAL(wt.status, exit_code_for(ErrorKind::policy));
  BOOST_CHECK(contains(wt.err, "--writable-tmpfs"));

  struct Bad {
    std::string file;
    std::string words;
  };
  for (const auto& c : std::vector<Bad>{{config("malformed.conf"), "malformed.conf:2"},
                                        {config("group-writable.conf"), "group- or world-writable"},
                                        {config("not-root.conf"), "not owned by root"},
                                        {config("missing.conf"), "No such file"}}) {
    e["CEXEC_CONFIG"] = c.file;
    auto o = run_cexec({sqfs(), "true"}, e);
    BOOST_TEST_INFO(c.file << ": " << o);
    BOOST_CHECK_EQUAL(o.status, exit_code_for(ErrorKind::config));
    BOOST_CHECK(contains(o.err, c.words));
  }
  // A config the caller owns is refused even when the caller is not root.
  write_text(work / "mine.conf", "max-binds = 1\n");
  e["CEXEC_CONFIG"] = work / "mine.conf";
  auto mine = run_cexec({sqfs(), "true"}, e);
  if (is_root()) {
    BOOST_CHECK_EQUAL(mine.status, 0);  // root owns it: that is the rule
  } else {
    BOOST_CHECK_EQUAL(mine.status, exit_code_for(ErrorKind::config));
  }
}

BOOST_AUTO_TEST_CASE(verbose_logs_plan_and_steps) {
  auto o = run_cexec({"-v", sqfs(), "true"}, env);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_CHECK(contains(o.err, "plan: image " + sqfs()));
  if (std::getenv("CEXEC_E2E_PRIVATE") == nullptr) {
    BOOST_CHECK(contains(o.err, "node instance @cexec." + std::to_string(::getuid()) + "."));
    BOOST_CHECK(contains(o.err, "step instance-join:"));
  }
  auto p = run_cexec({"-v", "--no-share", sqfs(), "true"}, env);
  BOOST_CHECK(contains(p.err, "step user-namespace:"));
  BOOST_CHECK(contains(p.err, "step pivot-root:"));
  auto d = run_cexec({"--debug", "--env", "DBG=1", sqfs(), "true"}, env);
  BOOST_CHECK(contains(d.err, "debug: env DBG=1"));
  BOOST_CHECK(contains(d.err, "debug: argv: [true]"));
  auto q = run_cexec({"-q", sqfs(), "true"}, env);
  BOOST_CHECK_EQUAL(q.err, "");
}

BOOST_AUTO_TEST_SUITE_END()
