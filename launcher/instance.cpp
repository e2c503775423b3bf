#include "instance.hpp"

#include "container.hpp"
#include "squashfs_server.hpp"
#include "base/sys/child.hpp"
#include "base/sys/syscalls.hpp"
#include "base/test_hooks.hpp"

#include <cerrno>
#include <csignal>
#include <chrono>
#include <fcntl.h>
#include <map>
#include <optional>
#include <sched.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace cexec {

namespace {

constexpr int listen_backlog = 4096;             // capped by net.core.somaxconn
constexpr int join_timeout_seconds = 300;        // a joiner never waits forever for a keeper
constexpr std::string_view ok_prefix = "OK\n";   // "OK\n<key text>" + user and mount ns fds

// The builder: a child of the keeper that builds the container (the same steps as a private
// container) and sends back its namespaces. It exits right after; the keeper's descriptors keep
// the namespaces alive.
int builder_main(const LaunchPlan& plan, const NodeHostFacts& host, sys::Fd sock) {
  try {
    Log quiet(Verbosity::quiet);
    std::optional<SquashfsServer> server;
    if (plan.image_kind == ImageKind::squashfs) {
      server = SquashfsServer::attached(sys::Fd(::dup(sock.get())), plan.image);
    }
    enter_container(plan, host, quiet, server ? &*server : nullptr);
    sys::Fd user = sys::open_path("/proc/self/ns/user", O_RDONLY);
    sys::Fd mnt = sys::open_path("/proc/self/ns/mnt", O_RDONLY);
    int fds[2] = {user.get(), mnt.get()};
    sys::send_message(sock.get(), "N", fds);
    return 0;
  } catch (...) {
    std::string e = sys::encode_current_failure("node-instance-builder");
    try {
      sys::send_message(sock.get(), e);
    } catch (...) {
    }
    return 1;
  }
}

struct Namespaces {
  sys::Fd user;
  sys::Fd mnt;
};

// Builds the container in a child; for a SquashFS image this process serves it. Throws the
// builder's error.
Namespaces build_instance(const LaunchPlan& plan, std::optional<SquashfsService>& service) {
  // The host's part of the node plan is read here, before any namespace; the builder inherits it.
  Log quiet(Verbosity::quiet);
  NodeHostFacts host = read_node_host_facts(plan, quiet);
  std::pair<sys::Fd, sys::Fd> ends = sys::socket_pair();
  sys::Fd& keeper_end = ends.first;
  sys::Fd& builder_end = ends.second;
  // The builder is forked before the service starts its worker threads: a child forked from a
  // multithreaded process may inherit a lock another thread held (fork(2), "async-signal-safe").
  sys::Child builder = sys::fork_child([&] {
    keeper_end.reset();
    return builder_main(plan, host, std::move(builder_end));
  });
  builder_end.reset();
  if (plan.image_kind == ImageKind::squashfs) {
    service.emplace(plan.image);  // on failure `builder` is killed and reaped on the way out
  }
  std::optional<sys::Message> reply;
  if (service) {
    reply = service->accept_mount(keeper_end.get());
  }
  if (!reply) {
    reply = sys::receive_message(keeper_end.get());
  }
  (void)builder.wait();
  if (reply->bytes == "N" && reply->fds.size() == 2) {
    return Namespaces{std::move(reply->fds[0]), std::move(reply->fds[1])};
  }
  if (auto failure = sys::decode_failure(reply->bytes)) {
    sys::rethrow(*failure);
  }
  throw Error(ErrorKind::setup_failed, "the node instance's builder exited without a result");
}

std::optional<sys::Fd> try_accept(int listener) {
  int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) {
    return std::nullopt;
  }
  return sys::Fd(fd);
}

// After a failed setup: every rank already waiting gets the error, then the name is released.
[[noreturn]] void fail_waiting_joiners(int listener, const std::string& error) {
  ::fcntl(listener, F_SETFL, O_NONBLOCK);
  while (auto conn = try_accept(listener)) {
    try {
      sys::send_message(conn->get(), error);
    } catch (...) {
    }
  }
  ::_exit(1);
}

// The keeper's life: build, then admit members until the last has gone and the linger has passed.
[[noreturn]] void keeper_main(const LaunchPlan& plan, const InstanceKey& key, int listener) {
  listener = sys::detach_from_caller(listener, "cexec-instance");
  test_hooks::reached("keeper-start");
  std::optional<SquashfsService> service;
  Namespaces ns;
  try {
    ns = build_instance(plan, service);
  } catch (...) {
    fail_waiting_joiners(listener, sys::encode_current_failure("node-instance"));
  }

  constexpr uint64_t tag_listener = 1;
  constexpr uint64_t tag_timer = 2;
  sys::Fd epoll = sys::epoll_create();
  sys::Fd timer = sys::timer_create();
  sys::epoll_add(epoll.get(), listener, tag_listener);
  sys::epoll_add(epoll.get(), timer.get(), tag_timer);
  std::map<uint64_t, sys::Fd> members;  // tag (pidfd number + 16) -> pidfd
  std::string ok = std::string(ok_prefix) + key.text;
  int ns_fds[2] = {ns.user.get(), ns.mnt.get()};
  // A keeper nobody joins (its creator died right after spawning it) goes away after the linger.
  sys::timer_arm(timer.get(), std::max(plan.linger_seconds, 0.001));

  ::fcntl(listener, F_SETFL, O_NONBLOCK);
  auto admit_pending = [&] {
    while (auto conn = try_accept(listener)) {
      try {
        // Only the owner's processes may enter: an abstract socket has no file permissions.
        sys::PeerCredentials peer = sys::peer_credentials(conn->get());
        if (peer.uid != ::getuid()) {
          continue;
        }
        test_hooks::reached("keeper-admit");
        sys::Fd pidfd = sys::pidfd_open(peer.pid);
        sys::send_message(conn->get(), ok, ns_fds);
        uint64_t member_tag = static_cast<uint64_t>(pidfd.get()) + 16;
        sys::epoll_add(epoll.get(), pidfd.get(), member_tag);
        members.emplace(member_tag, std::move(pidfd));
        sys::timer_arm(timer.get(), 0);
      } catch (const std::exception&) {
        // The joiner went away while being admitted; nothing to track.
      }
    }
  };
  for (bool running = true; running;) {
    for (uint64_t tag : sys::epoll_wait_tags(epoll.get(), -1)) {
      if (tag == tag_listener) {
        admit_pending();
      } else if (tag == tag_timer) {
        admit_pending();  // a joiner queued just as the linger ran out still gets in
        running = !members.empty();
      } else if (auto it = members.find(tag); it != members.end()) {
        sys::epoll_remove(epoll.get(), it->second.get());
        members.erase(it);
        if (members.empty()) {
          sys::timer_arm(timer.get(), std::max(plan.linger_seconds, 0.001));
        }
      }
    }
  }

  // No new members: release the name and the namespaces. Processes still inside (a payload's
  // daemon) keep the container alive; the FUSE server answers them until the kernel aborts it.
  ::close(listener);
  ns.user.reset();
  ns.mnt.reset();
  if (service) {
    service->serve_until_unmounted();
  }
  ::_exit(0);
}

void spawn_keeper(const LaunchPlan& plan, const InstanceKey& key, sys::Fd listener) {
  // Double fork, as for the FUSE server: the keeper must not be the payload's child.
  sys::Child intermediate = sys::fork_child([&] {
    (void)sys::fork_child([&]() -> int { keeper_main(plan, key, listener.get()); }).release();
    return 0;
  });
  listener.reset();
  (void)intermediate.wait();
}

void set_receive_timeout(int sock, int seconds) {
  struct timeval tv {seconds, 0};
  ::setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

}  // namespace

JoinOutcome join_node_instance(const LaunchPlan& plan, const InstanceKey& key, Log& log) {
  JoinOutcome outcome;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(join_timeout_seconds);
  auto backoff = std::chrono::microseconds(100);
  for (;;) {
    ++outcome.attempts;
    if (std::chrono::steady_clock::now() > deadline) {
      throw Error(ErrorKind::setup_failed, "timed out after " + std::to_string(join_timeout_seconds) +
                                               " s waiting for the node instance @" + key.socket_name);
    }
    sys::Fd sock = sys::seqpacket_socket();
    int err = sys::connect_abstract(sock.get(), key.socket_name);
    if (err == 0) {
      sys::PeerCredentials peer = sys::peer_credentials(sock.get());
      if (peer.uid != ::getuid()) {
        // Someone else holds the name (it should be unguessable: rendezvous.hpp). Never join
        // it, never fail the job: the caller runs a private container instead.
        outcome.refused = "node instance socket @" + key.socket_name + " is held by uid " + std::to_string(peer.uid) + ", not by you";
        return outcome;
      }
      set_receive_timeout(sock.get(), join_timeout_seconds);
      sys::Message m = log.step("instance-wait", [&] { return sys::receive_message(sock.get()); });
      if (m.bytes.empty()) {
        log.info("the node instance went away before admitting this process (its setup was interrupted); retrying");
        continue;
      }
      if (auto failure = sys::decode_failure(m.bytes)) {
        sys::rethrow(*failure);
      }
      if (m.bytes.substr(0, ok_prefix.size()) != ok_prefix || m.bytes.substr(ok_prefix.size()) != key.text ||
          m.fds.size() != 2) {
        throw Error(ErrorKind::internal, "node instance @" + key.socket_name + " answered for a different key");
      }
      log.step("instance-join", [&] {
        // From here until exec this process is in the container beside other ranks' payloads,
        // still running the host's cexec with its descriptors: non-dumpable, none of them may
        // ptrace it, read its memory or open its /proc entries (exe, root, fd), as they could a
        // process of their own user namespace (ptrace(2), "Ptrace access mode checking").
        // execve(2) makes the payload dumpable again.
        sys::set_non_dumpable();
        // The user namespace first: joining the mount namespace needs CAP_SYS_ADMIN in the
        // namespace that owns it (setns(2)).
        sys::set_namespace(m.fds[0].get(), CLONE_NEWUSER, "user namespace of the node instance");
        sys::set_namespace(m.fds[1].get(), CLONE_NEWNS, "mount namespace of the node instance");
      });
      log.info(std::string(outcome.created ? "created" : "joined") + " node instance @" + key.socket_name +
               " after " + std::to_string(outcome.attempts) + " attempt(s)");
      outcome.joined = true;
      return outcome;
    }
    if (err != ECONNREFUSED && err != ENOENT) {
      sys::throw_errno_value(err, "connect", "@" + key.socket_name);
    }
    // Nobody listens: claim the name; binding it is atomic, and the kernel frees it with its owner.
    sys::Fd claim = sys::seqpacket_socket();
    int bind_err = sys::bind_abstract(claim.get(), key.socket_name);
    if (bind_err == 0) {
      log.step("instance-create", [&] {
        sys::listen_on(claim.get(), listen_backlog);
        spawn_keeper(plan, key, std::move(claim));
      });
      outcome.created = true;
      continue;
    }
    if (bind_err != EADDRINUSE) {
      sys::throw_errno_value(bind_err, "bind", "@" + key.socket_name);
    }
    // Another rank holds the name but does not listen yet: it is about to.
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, decltype(backoff)(std::chrono::milliseconds(10)));
  }
}

}  // namespace cexec
