// Faults of the host under a launch (issue 18): a full staging tmpfs, a full /tmp and /dev/shm,
// the descriptor limit, /dev/fuse vanishing and the image replaced or deleted while an instance
// runs. Each ends as documented (one cexec error line and its exit code, or the job runs), within
// seconds, with nothing of cexec left. Runs as root and as nobody (CMakeLists.txt); host faults are
// made real in mount namespaces of the test's own.
#define BOOST_TEST_MODULE cexec_faults
#include "harness.hpp"

using namespace e2e;

namespace {

// `sh -c SCRIPT cexec ARGS...` in a mount namespace of the test's own (and a user namespace
// mapping the caller to root, where the caller is not root), so SCRIPT may mount over host paths.
std::vector<std::string> in_own_mount_namespace(const std::string& script, const std::vector<std::string>& args) {
  std::vector<std::string> argv{"unshare", "--mount", "sh", "-c", script, cexec_bin()};
  if (!is_root()) {
    argv.insert(argv.begin() + 1, {"--user", "--map-root-user"});
  }
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

size_t line_count(const std::string& text) { return static_cast<size_t>(std::count(text.begin(), text.end(), '\n')); }

bool have_test_hooks() { return contains(run({cexec_bin(), "--version"}, base_env("/")).out, "test hooks: on"); }

// The documented exit codes of cexec's own failures (README "Exit codes").
[[maybe_unused]] bool is_cexec_error(int status) { return status >= 64 && status <= 79; }

}  // namespace

BOOST_FIXTURE_TEST_SUITE(faults, Case)

BOOST_AUTO_TEST_CASE(a_full_staging_tmpfs_fails_the_setup_with_one_line) {
  // A 4 KiB staging tmpfs (test hook CEXEC_TEST_STAGING_SIZE) cannot hold the generated files.
  BOOST_REQUIRE_MESSAGE(have_test_hooks(), "needs a build with CEXEC_TEST_HOOKS=ON");
  Env e = env;
  e["CEXEC_TEST_STAGING_SIZE"] = "4096";
  for (const char* share : {"--no-share", "--instance=staging-full"}) {
    auto o = run({cexec_bin(), share, "-B", work.path() + ":/new/place", sqfs(), "true"}, e);
    BOOST_TEST_INFO(share << ": " << o);
    BOOST_CHECK_EQUAL(o.status, exit_code_for(ErrorKind::setup_failed));
    BOOST_CHECK(o.err.starts_with("cexec: "));
    BOOST_CHECK(contains(o.err, "No space left on device"));
    BOOST_CHECK_EQUAL(line_count(o.err), 1u);
    expect_nothing_left(10);
  }
}

BOOST_AUTO_TEST_CASE(a_payload_filling_the_writable_tmpfs_gets_enospc_and_the_job_goes_on) {
  // --writable-tmpfs keeps its changes on the staging tmpfs: the payload's own write fails, the
  // container keeps working, and the next rank of the job joins it.
  BOOST_REQUIRE_MESSAGE(have_test_hooks(), "needs a build with CEXEC_TEST_HOOKS=ON");
  Env e = env;
  e["CEXEC_TEST_STAGING_SIZE"] = "262144";
  e["CEXEC_LINGER"] = "2";
  auto o = run({cexec_bin(), "--writable-tmpfs", "--instance", "fill", sqfs(), "sh", "-c",
                "cat /bin/busybox > /fill || echo refused; cat /etc/image-marker"},
               e);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_CHECK_EQUAL(o.out, "refused\nin the image\n");
  BOOST_CHECK(contains(o.err, "No space left on device"));
  auto next = run({cexec_bin(), "-v", "--writable-tmpfs", "--instance", "fill", sqfs(), "cat", "/etc/image-marker"}, e);
  BOOST_TEST_INFO(next);
  BOOST_CHECK_EQUAL(next.status, 0);
  BOOST_CHECK_EQUAL(next.out, "in the image\n");
  BOOST_CHECK(contains(next.err, "joined node instance @"));
  expect_nothing_left(10);
}

BOOST_AUTO_TEST_CASE(a_full_tmp_and_dev_shm_are_no_failure_of_cexec) {
  // cexec writes nothing to the host's /tmp; the rendezvous secret moves past a full place, and with
  // every place full the rank runs a private container with a warning.
  // The staged binary and images live under /tmp: bound back over the full tmpfs.
  std::string fill = "exec 9<" + stage() + " && mount -t tmpfs -o size=64k none /tmp && mount -t tmpfs -o size=64k none /dev/shm && "
                     "mkdir -m 0700 /tmp/home " + stage() + " && mount --no-canonicalize --bind /proc/self/fd/9 " + stage() +
                     " && exec 9<&- && { cat /dev/zero > /tmp/fill; true; } 2>/dev/null && ";
  std::string payload = "echo x > /tmp/new || echo refused; cat /etc/image-marker";
  Env e = env;
  e["HOME"] = "/tmp/home";
  e["XDG_RUNTIME_DIR"] = "/tmp/home";
  auto o = run(in_own_mount_namespace(fill + "exec \"$0\" \"$@\"", {"-v", sqfs(), "sh", "-c", payload}), e);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_CHECK_EQUAL(o.out, "refused\nin the image\n");
  BOOST_CHECK(contains(o.err, "No space left on device"));
  BOOST_CHECK(contains(o.err, "created node instance @"));  // the secret went to /dev/shm
  auto full = run(in_own_mount_namespace(fill + "{ cat /dev/zero > /dev/shm/fill; true; } 2>/dev/null && exec \"$0\" \"$@\"",
                                         {sqfs(), "sh", "-c", payload}),
                  e);
  BOOST_TEST_INFO(full);
  BOOST_CHECK_EQUAL(full.status, 0);
  BOOST_CHECK_EQUAL(full.out, "refused\nin the image\n");
  BOOST_CHECK(contains(full.err, "cexec: warning: no private place for the node instance's rendezvous secret ("));
  BOOST_CHECK(contains(full.err, "No space left on device"));
  BOOST_CHECK(contains(full.err, "; running a private container\n"));
  expect_nothing_left(10);
}

// Not in the sanitizer build: at a few descriptors the sanitizer runtime itself fails (UBSan's
// vptr check probes memory through a pipe, ASan reads /proc/self/maps) and its reports replace
// cexec's line; the normal build runs this case with the same code.
#if !CEXEC_E2E_SANITIZED
BOOST_AUTO_TEST_CASE(the_descriptor_limit_at_every_step) {
  // From a limit too low for the dynamic loader up to one that suffices: once cexec starts, every
  // launch runs or fails with one cexec error line naming the limit, quickly, and leaves nothing.
  for (const char* share : {"--no-share", "--instance=emfile"}) {
    int first_success = 0;
    bool cexec_started = false;
    for (int limit = 3; limit <= 64 && first_success == 0; ++limit) {
      auto t0 = std::chrono::steady_clock::now();
      auto o = run({"prlimit", "--nofile=" + std::to_string(limit), cexec_bin(), share, sqfs(), "probe", "exit", "0"}, env);
      double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      BOOST_TEST_INFO(share << " nofile=" << limit << ", " << seconds << " s: " << o);
      BOOST_CHECK_LT(seconds, 20.0);
      if (o.status == 0) {
        first_success = limit;
      } else if (contains(o.err, "error while loading shared libraries") && !cexec_started) {
        // Below a few descriptors more than the caller holds, the dynamic loader cannot start cexec.
        BOOST_CHECK_EQUAL(o.status, 127);
      } else {
        cexec_started = true;
        BOOST_CHECK(is_cexec_error(o.status));
        BOOST_CHECK(o.err.starts_with("cexec: "));
        BOOST_CHECK_EQUAL(line_count(o.err), 1u);
        BOOST_CHECK(contains(o.err, "Too many open files"));
      }
      expect_nothing_left(10);
    }
    BOOST_TEST_MESSAGE(share << ": first limit that runs: " << first_success);
    BOOST_CHECK(cexec_started);
    BOOST_CHECK_GT(first_success, 0);
  }
}
#endif

BOOST_AUTO_TEST_CASE(dev_fuse_vanishing_while_an_instance_runs) {
  // The running instance keeps its FUSE connection and admits the job's next rank; a new instance
  // then fails with the host_unsupported error. /dev is hidden in a mount namespace of the test's own.
  std::string script =
      "\"$0\" --instance fuse-a \"$@\" sh -c 'cat /etc/image-marker; sleep 1.5; cat /etc/image-marker' > " + (work / "a") +
      " & until grep -q image " + (work / "a") +
      "; do sleep 0.05; done; mount -t tmpfs none /dev && "
      "\"$0\" --instance fuse-a \"$@\" cat /etc/image-marker > " + (work / "joined") +
      " && { \"$0\" --instance fuse-b \"$@\" true; echo \"new $?\"; } 2>&1; wait $!";
  auto o = run(in_own_mount_namespace(script, {sqfs()}), env);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_CHECK_EQUAL(read_text(work / "a"), "in the image\nin the image\n");
  BOOST_CHECK_EQUAL(read_text(work / "joined"), "in the image\n");
  BOOST_CHECK(contains(o.out, "cexec: /dev/fuse is unusable: No such file or directory"));
  BOOST_CHECK(contains(o.out, "\nnew " + std::to_string(exit_code_for(ErrorKind::host_unsupported)) + "\n"));
  expect_nothing_left(10);
}

BOOST_AUTO_TEST_CASE(the_image_replaced_or_deleted_while_an_instance_runs) {
  // The running job keeps the image it opened; the next launch sees the file as it is now: another
  // image gets a new instance (its identity is part of the key), a deleted one the missing-input
  // error. Replaced by rename (what cp --remove-destination and build tools do), deleted, and
  // overwritten in place (the same inode, new bytes: the running job may then fail, never hang).
  for (const std::string how : {"rename", "delete", "overwrite"}) {
    std::string img = work / "img.sqfs";
    fs::copy_file(sqfs(), img, fs::copy_options::overwrite_existing);
    Env e = env;
    e["CEXEC_LINGER"] = "1";
    Outcome later;
    auto t0 = std::chrono::steady_clock::now();
    auto running = run({cexec_bin(), "--instance", "swap-" + how, img, "sh", "-c",
                        "cat /etc/image-marker; echo up; sleep 1; cat /etc/image-marker && cat /bin/* > /dev/null && echo read"},
                       e, "/", "", [&](pid_t, const std::string& out) {
                         if (!contains(out, "up\n")) {
                           return false;
                         }
                         if (how == "rename") {
                           fs::copy_file(image("other.sqfs"), img + ".new");
                           fs::rename(img + ".new", img);
                         } else if (how == "delete") {
                           fs::remove(img);
                         } else {
                           fs::copy_file(image("other.sqfs"), img, fs::copy_options::overwrite_existing);
                         }
                         later = run({cexec_bin(), "-v", "--instance", "swap-" + how, img, "cat", "/etc/image-marker"}, e);
                         return true;
                       });
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    BOOST_TEST_INFO(how << ", " << seconds << " s: running " << running << "\nlater " << later);
    BOOST_CHECK_LT(seconds, 20.0);
    if (how == "overwrite") {
      BOOST_CHECK(running.status == 0 || contains(running.err, "Transport endpoint is not connected") ||
                  contains(running.err, "I/O error"));
    } else {
      BOOST_CHECK_EQUAL(running.status, 0);
      BOOST_CHECK_EQUAL(running.out, "in the image\nup\nin the image\nread\n");
    }
    if (how == "delete") {
      BOOST_CHECK_EQUAL(later.status, exit_code_for(ErrorKind::input_missing));
      BOOST_CHECK(contains(later.err, "No such file"));
    } else {
      BOOST_CHECK_EQUAL(later.status, 0);
      BOOST_CHECK_EQUAL(later.out, "the other image\n");
      BOOST_CHECK(contains(later.err, "created node instance @"));
    }
    expect_nothing_left(10);
  }
}

BOOST_AUTO_TEST_SUITE_END()
