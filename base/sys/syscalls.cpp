#include "base/sys/syscalls.hpp"
#include "base/sys/retry.hpp"

#include "base/environment.hpp"


#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sched.h>
#include <csignal>
#include <unistd.h>

namespace cexec::sys {

namespace {

std::string quote_args(std::string_view call, std::string_view a, std::string_view b) {
  std::string what(call);
  if (!a.empty()) {
    what += " `" + std::string(a) + "`";
  }
  if (!b.empty()) {
    what += (call == "mount" || call == "move_mount" ? " on `" : " `") + std::string(b) + "`";
  }
  return what;
}

}  // namespace

void throw_errno_value(int err, std::string_view call, std::string_view a, std::string_view b) {
  throw SysError(err, quote_args(call, a, b));
}

void throw_errno(std::string_view call, std::string_view a, std::string_view b) {
  int err = errno;  // read before anything else can clobber it
  throw_errno_value(err, call, a, b);
}

Fd open_path(const std::string& path, int flags, mode_t mode) {
  int fd = retry_eintr([&] { return ::open(path.c_str(), flags | O_CLOEXEC, mode); });
  if (fd < 0) {
    throw_errno("open", path);
  }
  return Fd(fd);
}

Fd open_at(int dirfd, const std::string& path, int flags, mode_t mode) {
  int fd = retry_eintr([&] { return ::openat(dirfd, path.c_str(), flags | O_CLOEXEC, mode); });
  if (fd < 0) {
    throw_errno("open", path);
  }
  return Fd(fd);
}

std::optional<Fd> try_open_at(int dirfd, const std::string& path, int flags, mode_t mode) {
  int fd = retry_eintr([&] { return ::openat(dirfd, path.c_str(), flags | O_CLOEXEC, mode); });
  if (fd < 0) {
    return std::nullopt;
  }
  return Fd(fd);
}

struct stat stat_fd(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    throw_errno("fstat", fd_path(fd));
  }
  return st;
}

std::optional<struct stat> try_stat(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return std::nullopt;
  }
  return st;
}

std::string read_all(int fd, size_t limit) {
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = retry_eintr([&] { return ::read(fd, buf, sizeof buf); });
    if (n < 0) {
      throw_errno("read", fd_path(fd));
    }
    if (n == 0) {
      return out;
    }
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > limit) {
      throw_errno_value(EFBIG, "read", fd_path(fd));
    }
  }
}

std::string read_file(const std::string& path, size_t limit) {
  Fd fd = open_path(path, O_RDONLY);
  return read_all(fd.get(), limit);
}

std::optional<std::string> try_read_file(const std::string& path, size_t limit) {
  int fd = retry_eintr([&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); });
  if (fd < 0) {
    return std::nullopt;
  }
  Fd owned(fd);
  return read_all(owned.get(), limit);
}

std::optional<uid_t> try_unmapped_owner_uid() {
  // The initial user namespace maps every uid to itself, one line "0 0 4294967295"
  // (user_namespaces(7)); anything else is a namespace of someone's making.
  auto map = try_read_file("/proc/self/uid_map", 1 << 16);
  unsigned long inside = 1, outside = 1, count = 0;
  int consumed = 0;
  if (!map || (std::sscanf(map->c_str(), "%lu %lu %lu %n", &inside, &outside, &count, &consumed) == 3 &&
               inside == 0 && outside == 0 && count == 4294967295UL && map->size() == static_cast<size_t>(consumed))) {
    return std::nullopt;
  }
  unsigned long overflow = 65534;  // the kernel's default, DEFAULT_OVERFLOWUID
  if (auto text = try_read_file("/proc/sys/kernel/overflowuid", 64)) {
    std::sscanf(text->c_str(), "%lu", &overflow);
  }
  return static_cast<uid_t>(overflow);
}

void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = retry_eintr([&] { return ::write(fd, data.data(), data.size()); });
    if (n < 0) {
      throw_errno("write", fd_path(fd));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

void write_file(const std::string& path, std::string_view data) {
  Fd fd = open_path(path, O_WRONLY);
  ssize_t n = retry_eintr([&] { return ::write(fd.get(), data.data(), data.size()); });
  if (n < 0 || static_cast<size_t>(n) != data.size()) {
    throw_errno("write", path);
  }
}

void write_file_at(int dirfd, const std::string& name, std::string_view data, mode_t mode) {
  Fd fd = open_at(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode);
  write_all(fd.get(), data);
}

std::optional<std::string> try_readlink_at(int dirfd, const std::string& name) {
  char buf[4096];
  ssize_t n = ::readlinkat(dirfd, name.c_str(), buf, sizeof buf);
  if (n < 0) {
    return std::nullopt;
  }
  return std::string(buf, static_cast<size_t>(n));
}

std::string read_link(const std::string& path) {
  auto target = try_readlink_at(AT_FDCWD, path);
  if (!target) {
    throw_errno("readlink", path);
  }
  return *target;
}

void mkdir_at(int dirfd, const std::string& name, mode_t mode) {
  if (::mkdirat(dirfd, name.c_str(), mode) != 0 && errno != EEXIST) {
    throw_errno("mkdir", name);
  }
}

std::string fd_path(int fd) {
  return "/proc/self/fd/" + std::to_string(fd);
}

void unshare(int flags) {
  if (::unshare(flags) != 0) {
    throw_errno("unshare");
  }
}

void set_no_new_privs() {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    throw_errno("prctl(PR_SET_NO_NEW_PRIVS)");
  }
}

void set_non_dumpable() {
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    throw_errno("prctl(PR_SET_DUMPABLE)");
  }
}

void pivot_root_to_cwd() {
  // pivot_root(".", ".") stacks the old root on top of the new one at the same place; detaching
  // "." then removes exactly the old root (pivot_root(2), "new_root and put_old may be the same").
  if (::syscall(SYS_pivot_root, ".", ".") != 0) {
    throw_errno("pivot_root", ".");
  }
  if (::umount2(".", MNT_DETACH) != 0) {
    throw_errno("umount2", "old root");
  }
  if (::chdir("/") != 0) {
    throw_errno("chdir", "/");
  }
}

Fd open_tree_clone(int dirfd, const std::string& path, bool recursive) {
  unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
  if (path.empty()) {
    flags |= AT_EMPTY_PATH;
  }
  int fd = static_cast<int>(::syscall(SYS_open_tree, dirfd, path.c_str(), flags));
  if (fd < 0) {
    throw_errno("open_tree", path.empty() ? fd_path(dirfd) : path);
  }
  return Fd(fd);
}

Fd fs_open(const char* fstype) {
  int fd = static_cast<int>(::syscall(SYS_fsopen, fstype, FSOPEN_CLOEXEC));
  if (fd < 0) {
    throw_errno("fsopen", fstype);
  }
  return Fd(fd);
}

void fs_config_string(int fsfd, const char* key, const std::string& value) {
  if (::syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, key, value.c_str(), 0) != 0) {
    throw_errno("fsconfig", std::string(key) + "=" + value);
  }
}

void fs_config_flag(int fsfd, const char* key) {
  if (::syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_FLAG, key, nullptr, 0) != 0) {
    throw_errno("fsconfig", key);
  }
}

Fd fs_create_mount(int fsfd, unsigned attrs, std::string_view what) {
  if (::syscall(SYS_fsconfig, fsfd, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
    throw_errno("fsconfig(create)", what);
  }
  int fd = static_cast<int>(::syscall(SYS_fsmount, fsfd, FSMOUNT_CLOEXEC, attrs));
  if (fd < 0) {
    throw_errno("fsmount", what);
  }
  return Fd(fd);
}

void move_mount_to(int from_fd, int to_dirfd, const std::string& to_path, std::string_view what) {
  unsigned flags = MOVE_MOUNT_F_EMPTY_PATH | (to_path.empty() ? MOVE_MOUNT_T_EMPTY_PATH : 0);
  if (::syscall(SYS_move_mount, from_fd, "", to_dirfd, to_path.c_str(), flags) != 0) {
    throw_errno("move_mount", what, to_path.empty() ? fd_path(to_dirfd) : to_path);
  }
}

void set_mount_attrs(int mnt_fd, uint64_t set, uint64_t clear, bool recursive, std::string_view what) {
  struct mount_attr attr {};
  attr.attr_set = set;
  attr.attr_clr = clear;
  unsigned flags = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
  if (::syscall(SYS_mount_setattr, mnt_fd, "", flags, &attr, sizeof attr) != 0) {
    throw_errno("mount_setattr", what);
  }
}

void make_rprivate_root() {
  // Without this, mounts made below could propagate back into the host's shared "/" (systemd makes
  // it shared); see mount_namespaces(7).
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    throw_errno("mount", "make-rprivate /");
  }
}

void mount_legacy(const std::string& source, const std::string& target, const char* fstype,
                  unsigned long flags, const std::string& data) {
  if (::mount(source.c_str(), target.c_str(), fstype, flags, data.empty() ? nullptr : data.c_str()) != 0) {
    throw_errno("mount", source, target);
  }
}

namespace {

std::optional<Fd> open_how_resolve(int rootfd, const std::string& path, uint64_t flags, uint64_t resolve,
                                   mode_t mode = 0) {
  struct open_how how {};
  how.flags = flags | O_CLOEXEC;
  how.mode = (flags & O_CREAT) ? mode : 0;  // openat2 refuses a mode without O_CREAT
  how.resolve = resolve;
  int fd = static_cast<int>(
      retry_eintr([&] { return ::syscall(SYS_openat2, rootfd, path.c_str(), &how, sizeof how); }));
  if (fd < 0) {
    return std::nullopt;
  }
  return Fd(fd);
}

}  // namespace

std::optional<Fd> try_open_in_root(int rootfd, const std::string& path, uint64_t flags, mode_t mode) {
  return open_how_resolve(rootfd, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS, mode);
}

std::optional<Fd> try_open_beneath(int rootfd, const std::string& path, uint64_t flags) {
  return open_how_resolve(rootfd, path, flags, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
}

void send_message(int sock, std::string_view bytes, std::span<const int> fds) {
  std::string body = bytes.empty() ? std::string(1, '\0') : std::string(bytes);
  struct iovec iov {body.data(), body.size()};
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control;
  if (!fds.empty()) {
    control.resize(CMSG_SPACE(sizeof(int) * fds.size()));
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(cmsg), fds.data(), sizeof(int) * fds.size());
  }
  if (retry_eintr([&] { return ::sendmsg(sock, &msg, MSG_NOSIGNAL); }) < 0) {
    throw_errno("sendmsg");
  }
}

Message receive_message(int sock) {
  Message m;
  // A datagram longer than the buffer would be cut silently: peek at its length first (a
  // preflight report can be tens of KiB).
  ssize_t pending = retry_eintr([&] { return ::recv(sock, nullptr, 0, MSG_PEEK | MSG_TRUNC); });
  std::string buf(std::max<ssize_t>(pending, 4096), '\0');
  struct iovec iov {buf.data(), buf.size()};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int) * 8)] = {};
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = retry_eintr([&] { return ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); });
  if (n < 0 && errno == ECONNRESET) {
    return m;
  }
  if (n < 0) {
    throw_errno("recvmsg");
  }
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int fd = -1;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        m.fds.emplace_back(fd);
      }
    }
  }
  buf.resize(static_cast<size_t>(n));
  m.bytes = std::move(buf);
  return m;
}

void send_fd(int sock, int fd) {
  int fds[1] = {fd};
  send_message(sock, "F", fds);
}

Fd receive_fd(int sock) {
  Message m = receive_message(sock);
  if (m.fds.size() != 1) {
    throw_errno_value(EPROTO, "recvmsg", "fd");
  }
  return std::move(m.fds[0]);
}

std::pair<Fd, Fd> socket_pair() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    throw_errno("socketpair");
  }
  return {Fd(sv[0]), Fd(sv[1])};
}

std::pair<Fd, Fd> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw_errno("pipe2");
  }
  return {Fd(fds[0]), Fd(fds[1])};
}

Fd seqpacket_socket() {
  int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw_errno("socket");
  }
  return Fd(fd);
}

namespace {

socklen_t abstract_address(struct sockaddr_un& addr, std::string_view name) {
  addr = {};
  addr.sun_family = AF_UNIX;
  size_t len = std::min(name.size(), sizeof addr.sun_path - 1);
  std::memcpy(addr.sun_path + 1, name.data(), len);  // sun_path[0] == '\0': the abstract namespace
  return static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + 1 + len);
}

}  // namespace

int connect_abstract(int sock, std::string_view name) {
  struct sockaddr_un addr;
  socklen_t len = abstract_address(addr, name);
  int rc = retry_eintr([&] { return ::connect(sock, reinterpret_cast<struct sockaddr*>(&addr), len); });
  return rc == 0 ? 0 : errno;
}

int bind_abstract(int sock, std::string_view name) {
  struct sockaddr_un addr;
  socklen_t len = abstract_address(addr, name);
  return ::bind(sock, reinterpret_cast<struct sockaddr*>(&addr), len) == 0 ? 0 : errno;
}

void listen_on(int sock, int backlog) {
  if (::listen(sock, backlog) != 0) {
    throw_errno("listen");
  }
}

PeerCredentials peer_credentials(int sock) {
  struct ucred cred {};
  socklen_t len = sizeof cred;
  if (::getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    throw_errno("getsockopt(SO_PEERCRED)");
  }
  return PeerCredentials{cred.pid, cred.uid, cred.gid};
}

void set_namespace(int nsfd, int nstype, std::string_view what) {
  if (::setns(nsfd, nstype) != 0) {
    throw_errno("setns", what);
  }
}

Fd pidfd_open(pid_t pid) {
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) {
    throw_errno("pidfd_open", std::to_string(pid));
  }
  return Fd(fd);
}

Fd epoll_create() {
  int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) {
    throw_errno("epoll_create1");
  }
  return Fd(fd);
}

void epoll_add(int epfd, int fd, uint64_t tag) {
  struct epoll_event ev {};
  ev.events = EPOLLIN;
  ev.data.u64 = tag;
  if (::epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
    throw_errno("epoll_ctl(ADD)");
  }
}

void epoll_remove(int epfd, int fd) {
  (void)::epoll_ctl(epfd, EPOLL_CTL_DEL, fd, nullptr);
}

std::vector<uint64_t> epoll_wait_tags(int epfd, int timeout_ms) {
  struct epoll_event events[32];
  int n = ::epoll_wait(epfd, events, 32, timeout_ms);
  if (n < 0 && errno != EINTR) {
    throw_errno("epoll_wait");
  }
  std::vector<uint64_t> tags;
  for (int i = 0; i < n; ++i) {
    tags.push_back(events[i].data.u64);
  }
  return tags;
}

Fd timer_create() {
  int fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  if (fd < 0) {
    throw_errno("timerfd_create");
  }
  return Fd(fd);
}

void timer_arm(int tfd, double seconds) {
  struct itimerspec spec {};
  if (seconds > 0) {
    auto ns = static_cast<long long>(seconds * 1e9);
    spec.it_value.tv_sec = ns / 1000000000LL;
    spec.it_value.tv_nsec = ns % 1000000000LL;
  }
  if (::timerfd_settime(tfd, 0, &spec, nullptr) != 0) {
    throw_errno("timerfd_settime");
  }
}

void chroot_to(int dirfd) {
  if (::fchdir(dirfd) != 0) {
    throw_errno("fchdir", fd_path(dirfd));
  }
  if (::chroot(".") != 0) {
    throw_errno("chroot", ".");
  }
  if (::chdir("/") != 0) {
    throw_errno("chdir", "/");
  }
}

void detach_mount(const std::string& path) {
  if (::umount2(path.c_str(), MNT_DETACH) != 0) {
    throw_errno("umount2", path);
  }
}

Fd memory_file(const char* name) {
  int fd = ::memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) {
    throw_errno("memfd_create", name);
  }
  return Fd(fd);
}

void redirect_fd(int from, int to) {
  if (retry_eintr([&] { return ::dup2(from, to); }) < 0) {
    throw_errno("dup2", std::to_string(from), std::to_string(to));
  }
}

bool try_unlink_at(int dirfd, const std::string& name, int flags) { return ::unlinkat(dirfd, name.c_str(), flags) == 0; }

}  // namespace cexec::sys
