#include "squashfs_server.hpp"

#include "error.hpp"
#include "sif_file.hpp"
#include "sys/syscalls.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <cstdlib>
#include <future>
#include <mutex>
#include <thread>
#include <vector>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

extern "C" {
#include <squashfuse/ll.h>
}

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

// Debian's libsquashfuse is built without its thread-safe caches (no locking inside; concurrent
// reads crash it), so the worker threads of libfuse's loop take turns inside the library. The
// threads still overlap everything outside it: reading /dev/fuse, copying replies, queueing.
std::mutex library_lock;

template <auto Op>
struct Locked;

template <typename... Args, void (*Op)(Args...)>
struct Locked<Op> {
  static void call(Args... args) {
    std::lock_guard<std::mutex> guard(library_lock);
    Op(args...);
  }
};

struct fuse_lowlevel_ops squashfs_operations() {
  struct fuse_lowlevel_ops ops {};
  ops.getattr = Locked<sqfs_ll_op_getattr>::call;
  ops.opendir = Locked<sqfs_ll_op_opendir>::call;
  ops.releasedir = Locked<sqfs_ll_op_releasedir>::call;
  ops.readdir = Locked<sqfs_ll_op_readdir>::call;
  ops.lookup = Locked<sqfs_ll_op_lookup>::call;
  ops.open = Locked<sqfs_ll_op_open>::call;
  ops.create = Locked<sqfs_ll_op_create>::call;
  ops.release = Locked<sqfs_ll_op_release>::call;
  ops.read = Locked<sqfs_ll_op_read>::call;
  ops.readlink = Locked<sqfs_ll_op_readlink>::call;
  ops.listxattr = Locked<sqfs_ll_op_listxattr>::call;
  ops.getxattr = Locked<sqfs_ll_op_getxattr>::call;
  ops.forget = Locked<sqfs_ll_op_forget>::call;
  ops.statfs = Locked<stfs_ll_op_statfs>::call;
  return ops;
}

constexpr int server_threads = 4;

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
  struct fuse_lowlevel_ops ops = squashfs_operations();
  _session = fuse_session_new(&args, &ops, sizeof ops, ll);
  if (_session == nullptr) {
    throw Error(ErrorKind::setup_failed, "cannot create the FUSE session");
  }
  // The workers start now, while the launcher is still building its namespaces, so none is
  // created on the path of the first request (libfuse's own loop spawns workers lazily).
  for (int i = 1; i < server_threads; ++i) {
    std::thread([se = _session, ready = gate().ready] {
      ready.wait();
      serve_requests(se);
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
  auto [ours, theirs] = sys::socket_pair();
  pid_t child = sys::fork_process();
  if (child == 0) {
    // Double fork: the server must not be a child of the payload that this process becomes
    // (a shell's `wait` would block on it), so the intermediate exits and the server is reparented.
    ours.reset();
    pid_t server = ::fork();
    if (server == 0) {
      server_main(theirs.get(), image);
    }
    ::_exit(server < 0 ? 1 : 0);
  }
  theirs.reset();
  // The intermediate is reaped in serve(), once it has long exited, to keep its exit off the
  // critical path.
  return SquashfsServer(std::move(ours), image, child);
}

SquashfsServer SquashfsServer::attached(sys::Fd sock, const std::string& image) {
  return SquashfsServer(std::move(sock), image, -1);
}

void SquashfsServer::serve(sys::Fd fuse_fd) {
  // The fd is queued at once; the server takes it after opening the image, or reports why not.
  sys::send_fd(_sock.get(), fuse_fd.get());
  std::string reply = receive(_sock.get());
  if (_intermediate > 0 && sys::wait_for(_intermediate) != 0) {
    throw Error(ErrorKind::setup_failed, "could not start the SquashFS server for `" + _image + "`");
  }
  if (reply.empty() || reply[0] != msg_serving) {
    throw Error(ErrorKind::image_invalid,
                "image `" + _image + "`: " + (reply.size() > 1 ? reply.substr(1) : "the SquashFS server exited"));
  }
}

}  // namespace cexec
