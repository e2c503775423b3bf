#include "squashfs_server.hpp"

#include "base/error.hpp"
#include "base/sys/child.hpp"
#include "base/sys/syscalls.hpp"
#include "sif_file.hpp"
#include "squashfs_ops.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <cstdlib>
#include <future>
#include <thread>
#include <vector>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>


namespace cexec {

namespace {

// Messages from the server over its SOCK_SEQPACKET socket: one datagram each.
constexpr char msg_serving = 'S';  // session bound to the fuse fd, loop starting
constexpr char msg_failed = 'E';   // followed by a reason

void report(int sock, char kind, const std::string& text = {}) {
  std::string msg(1, kind);
  msg += text;
  (void)::send(sock, msg.data(), msg.size(), MSG_NOSIGNAL);
}

std::string receive(int sock) {
  char buf[512];
  ssize_t n;
  do {
    n = ::recv(sock, buf, sizeof buf, 0);
  } while (n < 0 && errno == EINTR);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

// One worker: take requests off /dev/fuse and answer them until the connection is aborted.
void serve_requests(struct fuse_session* se) {
  struct fuse_buf buf {};
  while (!fuse_session_exited(se)) {
    int res = fuse_session_receive_buf(se, &buf);
    if (res == -EINTR || res == -EAGAIN) {
      continue;
    }
    if (res <= 0) {
      break;
    }
    fuse_session_process_buf(se, &buf);
  }
  std::free(buf.mem);
}

// Released once the session has its descriptor; the workers wait on it.
struct MountGate {
  std::promise<void> opened;
  std::shared_future<void> ready = opened.get_future().share();
};

MountGate& gate() {
  static MountGate g;  // one service per process
  return g;
}

// The detached server's whole life; runs in the grandchild and never returns.
[[noreturn]] void server_main(int sock, const std::string& image) {
  sock = sys::detach_from_caller(sock, "cexec-sqfs");
  try {
    SquashfsService service(image);
    if (service.accept_mount(sock)) {
      ::_exit(0);  // the launcher gave up before mounting
    }
    ::close(sock);
    service.serve_until_unmounted();
  } catch (const Error& e) {
    report(sock, msg_failed, e.what());
    ::_exit(1);
  }
  ::_exit(0);
}

}  // namespace

SquashfsService::SquashfsService(const std::string& image) : _image(image) {
  // A SIF's SquashFS is served where it lies in the file (sif/sif_file.hpp).
  uint64_t offset = sif::squashfs_offset(sys::open_path(image, O_RDONLY).get(), image);
  sqfs_ll* ll = sqfs_ll_open(image.c_str(), static_cast<size_t>(offset));
  if (ll == nullptr) {
    throw Error(ErrorKind::image_invalid, "cannot read the SquashFS filesystem (corrupt image)");
  }
  char arg0[] = "cexec-squashfuse";
  char* argv[] = {arg0, nullptr};
  struct fuse_args args = FUSE_ARGS_INIT(1, argv);
  struct fuse_lowlevel_ops ops = sqfs_ops::operations();
  _session = fuse_session_new(&args, &ops, sizeof ops, ll);
  if (_session == nullptr) {
    throw Error(ErrorKind::setup_failed, "cannot create the FUSE session");
  }
  // The workers start now, while the launcher is still building its namespaces, so none is
  // created on the path of the first request (libfuse's own loop spawns workers lazily).
  // Each worker clones its own libsquashfuse handle first (see squashfs_ops.hpp); one that cannot
  // leaves the others to serve.
  if (!sqfs_ops::prepare_thread(ll)) {
    throw Error(ErrorKind::image_invalid, "cannot read the SquashFS filesystem (corrupt image)");
  }
  for (int i = 1; i < sqfs_ops::worker_count(); ++i) {
    std::thread([se = _session, ll, ready = gate().ready] {
      if (sqfs_ops::prepare_thread(ll)) {
        ready.wait();
        serve_requests(se);
      }
    }).detach();
  }
}

std::optional<sys::Message> SquashfsService::accept_mount(int sock) {
  sys::Message m = sys::receive_message(sock);
  if (m.bytes != "F" || m.fds.size() != 1) {
    return m;
  }
  std::string mountpoint = "/dev/fd/" + std::to_string(m.fds[0].get());
  ::fcntl(m.fds[0].get(), F_SETFD, 0);
  if (fuse_session_mount(_session, mountpoint.c_str()) != 0) {
    report(sock, msg_failed, "cannot start the FUSE session");
    throw Error(ErrorKind::setup_failed, "cannot start the FUSE session");
  }
  m.fds[0].release();  // owned by the session now
  report(sock, msg_serving);
  gate().opened.set_value();
  return std::nullopt;
}

void SquashfsService::serve_until_unmounted() {
  serve_requests(_session);
}

SquashfsServer SquashfsServer::start(const std::string& image) {
  std::pair<sys::Fd, sys::Fd> ends = sys::socket_pair();
  sys::Fd& ours = ends.first;
  sys::Fd& theirs = ends.second;
  // Double fork: the server must not be a child of the payload that this process becomes
  // (a shell's `wait` would block on it), so the intermediate exits and the server is reparented.
  sys::Child intermediate = sys::fork_child([&, sock = theirs.get()] {
    ours.reset();
    (void)sys::fork_child([&]() -> int { server_main(sock, image); }).release();
    return 0;
  });
  theirs.reset();
  // The intermediate is reaped in serve(), once it has long exited, to keep its exit off the
  // critical path.
  return SquashfsServer(std::move(ours), image, std::move(intermediate));
}

SquashfsServer SquashfsServer::attached(sys::Fd sock, const std::string& image) {
  return SquashfsServer(std::move(sock), image, sys::Child());
}

void SquashfsServer::serve(sys::Fd fuse_fd) {
  // The fd is queued at once; the server takes it after opening the image, or reports why not.
  sys::send_fd(_sock.get(), fuse_fd.get());
  std::string reply = receive(_sock.get());
  if (_intermediate && _intermediate.wait() != 0) {
    throw Error(ErrorKind::setup_failed, "could not start the SquashFS server for `" + _image + "`");
  }
  if (reply.empty() || reply[0] != msg_serving) {
    throw Error(ErrorKind::image_invalid,
                "image `" + _image + "`: " + (reply.size() > 1 ? reply.substr(1) : "the SquashFS server exited"));
  }
}

}  // namespace cexec
