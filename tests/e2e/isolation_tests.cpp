// The escalation and isolation suite (issue 18): what a payload may try against the host, the
// cexec binary, other containers and other users. Every attempt is made for real, by the probe
// running in a container of the binary under test, and every refusal is asserted; a control in
// the same instance shows each attempt can succeed where the kernel allows it. Runs as root and as
// nobody (CMakeLists.txt); the cases that need a second user run as root only.
#define BOOST_TEST_MODULE cexec_isolation
#include "harness.hpp"

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/un.h>

using namespace e2e;

namespace {

const std::string eperm = "Operation not permitted";
const std::string eacces = "Permission denied";

std::vector<std::string> as_nobody(std::vector<std::string> argv) {
  argv.insert(argv.begin(), {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"});
  return argv;
}

// cexec ARGS with its stderr (-v's lines) on stdout, where run()'s callback sees it.
std::vector<std::string> merged(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"sh", "-c", "exec \"$0\" \"$@\" 2>&1", cexec_bin()};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// `probe signals` in the node instance NAME, held while `during(payload pid, output so far)` runs;
// then SIGTERM ends it.
Outcome hold(const std::string& name, const Env& env, const std::function<void(pid_t, const std::string&)>& during,
             const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args{"-v", "--instance", name};
  args.insert(args.end(), extra.begin(), extra.end());
  args.insert(args.end(), {sqfs(), "probe", "signals"});
  bool done = false;
  return run(merged(args), env, "/", "", [&](pid_t pid, const std::string& out) {
    if (!done && contains(out, "ready\n")) {
      during(pid, out);
      done = true;
      ::kill(pid, SIGTERM);
    }
    return done;
  });
}

// A shell line running each `probe` attempt; its output has one line per attempt.
std::string attempts(const std::vector<std::string>& each) {
  std::string script;
  for (const auto& a : each) {
    script += (script.empty() ? "" : "; ") + std::string("probe ") + a;
  }
  return script;
}

std::string repeat(const std::string& text, size_t times) {
  std::string out;
  for (size_t i = 0; i < times; ++i) {
    out += text;
  }
  return out;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    out.push_back(line);
  }
  return out;
}

sockaddr_un abstract_address(const std::string& name, socklen_t& len) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path + 1, name.data(), name.size());
  len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  return addr;
}

bool have_test_hooks() { return contains(run({cexec_bin(), "--version"}, base_env("/")).out, "test hooks: on"); }

}  // namespace

BOOST_FIXTURE_TEST_SUITE(isolation, Case)

BOOST_AUTO_TEST_CASE(symlink_swaps_racing_bind_destinations_never_lead_outside) {
  // A directory image the caller owns, whose component `x` another thread of the caller swaps
  // (renameat2 RENAME_EXCHANGE) between a directory and a symlink to a host folder, while cexec
  // plans, scaffolds and binds `/x/dN/dst`. Every launch either binds inside the container (the
  // payload finds the mount in its own table) or refuses the destination; nothing is ever created
  // in the host folder. --writable scaffolds in the image itself, the overlay in the staging tmpfs.
  std::string sandbox = work / "sandbox";
  BOOST_REQUIRE_EQUAL(run({"cp", "-a", dir_image(), sandbox}, env).status, 0);
  fs::create_directories(work / "src");
  write_text(work / "src/f", "bound\n");
  std::string outside = "/var/tmp/e2e-escape-" + std::to_string(::getuid()) + "-" + std::to_string(::getpid());
  fs::create_directories(outside);
  fs::create_directories(sandbox + "/x");
  fs::create_symlink(outside, sandbox + "/x.alt");
  std::atomic<bool> stop{false};
  std::atomic<long> swaps{0};
  // The swapper never allocates: the launches fork from this process while it runs.
  const std::string x = sandbox + "/x", x_alt = sandbox + "/x.alt";
  std::thread swapper([&] {
    while (!stop) {
      swaps += ::renameat2(AT_FDCWD, x.c_str(), AT_FDCWD, x_alt.c_str(), RENAME_EXCHANGE) == 0;
    }
  });
  int inside = 0, refused = 0;
  for (int i = 0; i < 40; ++i) {
    std::string dst = "/x/d" + std::to_string(i) + "/dst";
    std::vector<std::string> argv{cexec_bin(), "--no-share", "-B", work / "src" + ":" + dst};
    if (i % 2 == 0) {
      argv.push_back("--writable");
    }
    // The mount point as the table shows it now: `x` may have been renamed since (the swap).
    argv.insert(argv.end(), {sandbox, "grep", "-c", "/d" + std::to_string(i) + "/dst ", "/proc/self/mountinfo"});
    auto o = run(argv, env);
    BOOST_TEST_INFO("launch " << i << ": " << o);
    if (o.status == 0) {
      BOOST_CHECK_EQUAL(o.out, "1\n");
      ++inside;
    } else {
      BOOST_CHECK_EQUAL(o.status, exit_code_for(ErrorKind::bind_destination));
      BOOST_CHECK_EQUAL(std::count(o.err.begin(), o.err.end(), '\n'), 1);
      ++refused;
    }
    BOOST_CHECK_MESSAGE(fs::is_empty(outside), "launch " << i << " created " << fs::directory_iterator(outside)->path());
  }
  stop = true;
  swapper.join();
  fs::remove_all(outside);
  BOOST_TEST_MESSAGE(inside << " launches bound inside, " << refused << " refused, " << swaps << " swaps");
  BOOST_CHECK_GT(swaps, 1000);
  BOOST_CHECK_GT(inside, 0);
}

BOOST_AUTO_TEST_CASE(the_cexec_binary_cannot_be_reached_from_inside) {
  // /proc/self/exe is the payload's own (read-only, or busy); the keeper's exe is the host's cexec,
  // and the keeper is outside the container's user namespace: no access at all.
  std::string before = read_text(cexec_bin());
  auto o = hold("iso-exe", env, [&](pid_t, const std::string&) {
    pid_t keeper = find_process("cexec-instance");
    BOOST_REQUIRE_GT(keeper, 0);
    std::string k = "/proc/" + std::to_string(keeper);
    auto a = run({cexec_bin(), "--instance", "iso-exe", sqfs(), "sh", "-c",
                        attempts({"open /proc/self/exe w", "open " + k + "/exe w", "open " + k + "/exe r",
                                  "open " + k + "/exe path", "open " + k + "/root/ path"})},
                       env);
    BOOST_TEST_INFO(a);
    auto got = lines(a.out);
    BOOST_REQUIRE_EQUAL(got.size(), 5u);
    BOOST_CHECK(got[0] == "Read-only file system" || got[0] == "Text file busy" || got[0] == eacces);
    for (size_t i = 1; i < got.size(); ++i) {
      BOOST_CHECK_EQUAL(got[i], eacces);
    }
  });
  BOOST_CHECK_EQUAL(o.status, 100 + SIGTERM);  // probe signals: 100 + N
  BOOST_CHECK(read_text(cexec_bin()) == before);
}

BOOST_AUTO_TEST_CASE(a_rank_about_to_exec_is_closed_to_the_payloads_beside_it) {
  // A joining rank is in the container, its privileges dropped, still running the host's cexec
  // until it execs: another rank's payload must not ptrace it, read its memory or open its exe,
  // root or descriptors. Held there by the test hook CEXEC_TEST_PAUSE_AT=exec:SECONDS.
  BOOST_REQUIRE_MESSAGE(have_test_hooks(), "needs a build with CEXEC_TEST_HOOKS=ON");
  std::string before = read_text(cexec_bin());
  auto o = hold("iso-window", env, [&](pid_t, const std::string&) {
    Env paused = env;
    paused["CEXEC_TEST_PAUSE_AT"] = "exec:3";
    std::vector<std::string> got;
    auto rank = run(merged({"-v", "--instance", "iso-window", sqfs(), "true"}), paused, "/", "",
                    [&](pid_t pid, const std::string& out) {
                      if (!contains(out, "exec /bin/true after")) {
                        return false;
                      }
                      std::string p = std::to_string(pid);
                      auto a = run({cexec_bin(), "--instance", "iso-window", sqfs(), "sh", "-c",
                                          attempts({"ptrace " + p, "vmread " + p, "open /proc/" + p + "/exe r",
                                                    "open /proc/" + p + "/exe w", "open /proc/" + p + "/root/ path",
                                                    "open /proc/" + p + "/fd/0 r"})},
                                         env);
                      BOOST_TEST_INFO(a);
                      got = lines(a.out);
                      return true;
                    });
    BOOST_TEST_INFO(rank);
    BOOST_CHECK_EQUAL(rank.status, 0);
    BOOST_REQUIRE_EQUAL(got.size(), 6u);
    for (size_t i = 0; i < got.size(); ++i) {
      BOOST_CHECK_EQUAL(got[i], i < 2 ? eperm : eacces);
    }
  });
  BOOST_CHECK_EQUAL(o.status, 100 + SIGTERM);
  BOOST_CHECK(read_text(cexec_bin()) == before);
}

BOOST_AUTO_TEST_CASE(ptrace_and_memory_reads_stop_at_the_container) {
  // From another container of the same user: neither the payload of another instance, nor its
  // keeper, nor the user's own processes on the host. From the same instance (the control): allowed.
  auto o = hold("iso-target", env, [&](pid_t target, const std::string&) {
    pid_t keeper = find_process("cexec-instance");
    BOOST_REQUIRE_GT(keeper, 0);
    std::vector<std::string> tries;
    for (pid_t p : {target, keeper, ::getpid()}) {
      tries.push_back("ptrace " + std::to_string(p));
      tries.push_back("vmread " + std::to_string(p));
    }
    for (const std::vector<std::string>& flags : {std::vector<std::string>{"--no-share"}, {"--instance", "iso-other"}}) {
      std::vector<std::string> args = flags;
      args.insert(args.end(), {sqfs(), "sh", "-c", attempts(tries)});
      args.insert(args.begin(), cexec_bin());
      auto a = run(args, env);
      BOOST_TEST_INFO(flags[0] << ": " << a);
      BOOST_CHECK_EQUAL(a.out, repeat(eperm + "\n", tries.size()));
    }
    auto same = run({cexec_bin(), "--instance", "iso-target", sqfs(), "sh", "-c",
                     attempts({"vmread " + std::to_string(target), "ptrace " + std::to_string(target)})},
                    env);
    BOOST_TEST_INFO(same);
    BOOST_CHECK_EQUAL(same.out, "ok 424242\nok\n");
  });
  BOOST_CHECK_EQUAL(o.status, 100 + SIGTERM);
}

BOOST_AUTO_TEST_CASE(another_users_container_cannot_reach_ours) {
  // Root's payload and keeper, attempted from nobody's container (root only: a second user).
  BOOST_REQUIRE(is_root());
  auto o = hold("iso-users", env, [&](pid_t target, const std::string&) {
    pid_t keeper = find_process("cexec-instance");
    BOOST_REQUIRE_GT(keeper, 0);
    std::vector<std::string> tries;
    for (pid_t p : {target, keeper}) {
      tries.push_back("ptrace " + std::to_string(p));
      tries.push_back("vmread " + std::to_string(p));
    }
    tries.push_back("open /proc/" + std::to_string(target) + "/root/ path");
    auto a = run(as_nobody({cexec_bin(), "--no-share", sqfs(), "sh", "-c", attempts(tries)}), env);
    BOOST_TEST_INFO(a);
    BOOST_CHECK_EQUAL(a.out, repeat(eperm + "\n", 4) + eacces + "\n");
  });
  BOOST_CHECK_EQUAL(o.status, 100 + SIGTERM);
}

BOOST_AUTO_TEST_CASE(another_user_connecting_to_an_instance_gets_nothing) {
  // The keeper's socket answers nobody's connection with a close: no message, no descriptor
  // (root only: a second user). Nobody's own launch with the same name is two_users_never_share.
  BOOST_REQUIRE(is_root());
  auto o = hold("iso-admit", env, [&](pid_t, const std::string& out) {
    std::string name = instance_name(out);
    int result[2];
    BOOST_REQUIRE(::pipe(result) == 0);
    pid_t child = ::fork();
    if (child == 0) {
      if (::setgid(65534) != 0 || ::setuid(65534) != 0) {
        ::_exit(1);
      }
      socklen_t len = 0;
      sockaddr_un addr = abstract_address(name, len);
      int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
      if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
        ::_exit(2);
      }
      timeval tv{5, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      char byte = 0;
      alignas(cmsghdr) char control[CMSG_SPACE(4 * sizeof(int))];
      iovec iov{&byte, 1};
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      ssize_t n = ::recvmsg(fd, &msg, 0);
      // 0: closed with nothing sent; anything else (a message, descriptors, a timeout) is a failure.
      std::string verdict = n == 0 && msg.msg_controllen == 0 ? "closed" : "got " + std::to_string(n);
      (void)!::write(result[1], verdict.data(), verdict.size());
      ::_exit(0);
    }
    ::close(result[1]);
    int status = 0;
    ::waitpid(child, &status, 0);
    char buf[64] = {};
    (void)!::read(result[0], buf, sizeof buf - 1);
    ::close(result[0]);
    BOOST_CHECK_EQUAL(WEXITSTATUS(status), 0);
    BOOST_CHECK_EQUAL(std::string(buf), "closed");
  });
  BOOST_CHECK_EQUAL(o.status, 100 + SIGTERM);
}

BOOST_AUTO_TEST_CASE(the_same_user_with_another_key_is_not_let_in) {
  // Another key of the same user (the same --instance name, one more bind) gets its own instance;
  // and a listener of the same user that answers for another key is refused before any setns.
  auto o = hold("iso-key", env, [&](pid_t target, const std::string&) {
    std::string ns = fs::read_symlink("/proc/" + std::to_string(target) + "/ns/mnt").string();
    auto other = run({cexec_bin(), "--instance", "iso-key", "-B", work.path() + ":/other", sqfs(), "readlink",
                      "/proc/self/ns/mnt"},
                     env);
    auto same = run({cexec_bin(), "--instance", "iso-key", sqfs(), "readlink", "/proc/self/ns/mnt"}, env);
    BOOST_TEST_INFO(other << same);
    BOOST_CHECK_EQUAL(trim(same.out), ns);
    BOOST_CHECK(trim(other.out).starts_with("mnt:["));
    BOOST_CHECK_NE(trim(other.out), ns);
  });
  BOOST_CHECK_EQUAL(o.status, 100 + SIGTERM);

  auto first = run({cexec_bin(), "-v", "--instance", "iso-fake", sqfs(), "true"}, env);
  BOOST_REQUIRE_EQUAL(first.status, 0);
  std::string name = instance_name(first.err);
  for (int i = 0; i < 100 && find_process("cexec-instance") != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  socklen_t len = 0;
  sockaddr_un addr = abstract_address(name, len);
  int listener = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  BOOST_REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), len) == 0 && ::listen(listener, 4) == 0);
  std::thread fake_keeper([&] {
    int conn = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    int fds[2] = {::open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC), ::open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC)};
    std::string text = "OK\nsome other key";
    iovec iov{text.data(), text.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof fds)] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof fds);
    std::memcpy(CMSG_DATA(c), fds, sizeof fds);
    (void)::sendmsg(conn, &msg, 0);
    ::close(fds[0]);
    ::close(fds[1]);
    ::close(conn);
  });
  auto refused = run({cexec_bin(), "--instance", "iso-fake", sqfs(), "probe", "write", work / "ran"}, env);
  fake_keeper.join();
  ::close(listener);
  BOOST_TEST_INFO(refused);
  BOOST_CHECK_EQUAL(refused.status, exit_code_for(ErrorKind::internal));
  BOOST_CHECK(contains(refused.err, "cexec: node instance @" + name + " answered for a different key\n"));
  BOOST_CHECK(!fs::exists(work / "ran"));
}

BOOST_AUTO_TEST_CASE(no_descriptor_of_cexec_reaches_the_payload) {
  // The payload holds exactly the descriptors the probe holds when the caller runs it on the
  // host (0, 1, 2, the 7 passed here, and whatever the test itself inherited): nothing of the
  // keeper, its socket, the FUSE device or cexec itself; in a private container, a created
  // instance and a joined one.
  std::string launch = "exec 7</etc/hostname; exec \"$0\" \"$@\"";
  auto numbers = [](const std::string& listing) {
    std::string out;
    for (const auto& line : lines(listing)) {
      out += line.substr(0, line.find(' ')) + (contains(line, " pipe:[") ? " pipe" : line.substr(line.find(' '))) + "\n";
    }
    return out;
  };
  auto host = run({"sh", "-c", launch, stage() + "/bin/probe", "fds"}, env);
  BOOST_REQUIRE_EQUAL(host.status, 0);
  BOOST_REQUIRE(contains(host.out, "\n7 /etc/hostname\n"));
  auto check = [&](const Outcome& o) {
    BOOST_TEST_INFO(o);
    BOOST_CHECK_EQUAL(o.status, 0);
    BOOST_CHECK_EQUAL(numbers(o.out), numbers(host.out));
  };
  for (const auto& img : {sqfs(), dir_image()}) {
    check(run({"sh", "-c", launch, cexec_bin(), "--no-share", img, "probe", "fds"}, env));
    check(run({"sh", "-c", launch, cexec_bin(), img, "probe", "fds"}, env));
  }
  auto o = hold("iso-fds", env, [&](pid_t, const std::string&) {
    check(run({"sh", "-c", launch, cexec_bin(), "--instance", "iso-fds", sqfs(), "probe", "fds"}, env));
  });
  BOOST_CHECK_EQUAL(o.status, 100 + SIGTERM);
}

BOOST_AUTO_TEST_CASE(proc_sys_and_sys_are_not_writable) {
  // Opened for writing only: nothing is written where an open succeeds.
  std::vector<std::string> tries{"open /proc/sys/kernel/hostname w", "open /proc/sys/vm/drop_caches w",
                                 "open /sys/kernel/rcu_expedited w"};
  if (fs::exists("/proc/sysrq-trigger")) {
    tries.push_back("open /proc/sysrq-trigger w");
  }
  for (const auto& img : {sqfs(), dir_image()}) {
    auto o = run_cexec({img, "sh", "-c", attempts(tries)}, env);
    BOOST_TEST_INFO(img << ": " << o);
    auto got = lines(o.out);
    BOOST_REQUIRE_EQUAL(got.size(), tries.size());
    for (const auto& g : got) {
      BOOST_CHECK(g == eacces || g == "Read-only file system");
    }
  }
}

BOOST_AUTO_TEST_CASE(no_device_but_the_hosts_dev) {
  // mknod is refused anywhere; a device node in the image or in a bound host folder does not open
  // (nosuid,nodev); /dev is the host's, with the host's permissions and no capability (reading
  // /dev/kmsg needs CAP_SYSLOG under kernel.dmesg_restrict=1, Debian's default).
  auto o = run_cexec({"--writable-tmpfs", image("devices.sqfs"), "sh", "-c",
                      attempts({"mknod /tmp/null", "mknod /null", "open /opt/null-device r", "open /dev/kmsg r",
                                "open /dev/null r"})},
                     env);
  BOOST_TEST_INFO(o);
  auto got = lines(o.out);
  BOOST_REQUIRE_EQUAL(got.size(), 5u);
  BOOST_CHECK_EQUAL(got[0], eperm);
  BOOST_CHECK_EQUAL(got[1], eperm);
  BOOST_CHECK_EQUAL(got[2], eacces);
  BOOST_CHECK_EQUAL(got[3], trim(read_text("/proc/sys/kernel/dmesg_restrict")) == "1" ? eperm : "ok");
  BOOST_CHECK_EQUAL(got[4], "ok");
  BOOST_CHECK(!fs::exists("/tmp/null"));
  if (is_root()) {
    // A device node the caller made in a host folder the container binds (the cwd, under /tmp).
    BOOST_REQUIRE_EQUAL(::mknod((work / "null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
    auto bound = run_cexec({sqfs(), "probe", "open", work / "null", "r"}, env, work.path());
    BOOST_TEST_INFO(bound);
    BOOST_CHECK_EQUAL(trim(bound.out), eacces);
  }
}

BOOST_AUTO_TEST_CASE(mounts_inside_never_reach_the_host) {
  // The payload may not mount at all; in a user and mount namespace of its own it may, and
  // neither that nor cexec's own mounts appear on the host, even where the host's mounts are
  // shared (systemd's default), made so here in a mount namespace of the test's own.
  auto direct = run_cexec({sqfs(), "probe", "mount", "/tmp"}, env);
  BOOST_CHECK_EQUAL(trim(direct.out), eperm);
  std::string during;
  auto nested = run({cexec_bin(), sqfs(), "probe", "nestmount", "/tmp", "2"}, env, "/", "",
                    [&](pid_t, const std::string& out) {
                      if (contains(out, "mounted")) {
                        during = read_text("/proc/self/mountinfo");
                      }
                      return !during.empty();
                    });
  BOOST_TEST_INFO(nested);
  BOOST_CHECK_EQUAL(nested.status, 0);
  BOOST_CHECK_EQUAL(nested.out, "mounted\n");
  BOOST_CHECK_EQUAL(during, mounts_before);

  std::string script = "mount --make-rshared / && cat /proc/self/mountinfo > " + (work / "before") + " && { \"$0\" \"$@\" > " +
                       (work / "out") + " & } && until grep -q mounted " + (work / "out") +
                       " || ! kill -0 $!; do sleep 0.05; done && cat /proc/self/mountinfo > " + (work / "during") + " && wait";
  std::vector<std::string> argv{"unshare", "--mount", "sh", "-c", script, cexec_bin(), sqfs(), "probe", "nestmount", "/tmp", "2"};
  if (!is_root()) {
    argv.insert(argv.begin() + 1, {"--user", "--map-root-user"});
  }
  auto shared = run(argv, env);
  BOOST_TEST_INFO(shared);
  BOOST_CHECK_EQUAL(shared.status, 0);
  BOOST_CHECK_EQUAL(read_text(work / "out"), "mounted\n");
  BOOST_CHECK(contains(read_text(work / "before"), " shared:"));
  BOOST_CHECK_EQUAL(read_text(work / "during"), read_text(work / "before"));
}

BOOST_AUTO_TEST_SUITE_END()
