#include "sandbox.hpp"

#include "base/user_namespace.hpp"
#include "base/environment.hpp"
#include "base/exit_codes.hpp"
#include "base/sys/child.hpp"
#include "base/sys/syscalls.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <optional>
#include <fcntl.h>
#include <filesystem>
#include <grp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cexec::build {

namespace {

// Messages from the sandbox child over its SOCK_SEQPACKET socket, one datagram each.
constexpr char msg_unshared = 'U';  // the child is in its user namespace: write its id maps
constexpr char msg_mapped = 'M';    // parent → child: maps written

// The calls a package manager makes to give files to other users and to drop privilege. With only
// root mapped they would fail (EINVAL, EPERM); returning 0 without doing anything is the fakeroot
// trick of Apptainer's --fakeroot without subordinate ids, Charliecloud's `ch-image --force=seccomp`
// and Enroot. mknod is faked too: device nodes cannot be made in a user namespace anyway.
constexpr const char* faked_syscalls[] = {
    "chown",    "chown32",    "fchown",    "fchown32",    "lchown",   "lchown32",   "fchownat",
    "setuid",   "setuid32",   "setgid",    "setgid32",    "setreuid", "setreuid32", "setregid",
    "setregid32", "setresuid", "setresuid32", "setresgid", "setresgid32", "setgroups", "setgroups32",
    "setfsuid", "setfsuid32", "setfsgid",  "setfsgid32",  "mknod",    "mknodat",
};

void install_fakeroot_filter() {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == nullptr) {
    throw Error(ErrorKind::setup_failed, "seccomp_init failed");
  }
  struct Release {
    scmp_filter_ctx c;
    ~Release() { seccomp_release(c); }
  } release{ctx};
  // 32-bit programs enter through the i386 table: cover it as well (ignored where it does not exist).
  (void)seccomp_arch_add(ctx, SCMP_ARCH_X86);
  for (const char* name : faked_syscalls) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) {
      continue;
    }
    // SCMP_ACT_ERRNO(0): the call returns 0 ("success") without entering the kernel.
    int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(0), nr, 0);
    if (rc != 0 && rc != -EDOM) {
      sys::throw_errno_value(-rc, "seccomp_rule_add", name);
    }
  }
  int rc = seccomp_load(ctx);
  if (rc != 0) {
    sys::throw_errno_value(-rc, "seccomp_load");
  }
}

// Child side: the namespace the plan asks for.
void enter_build_namespace(const FakerootPlan& plan, int sock) {
  if (plan.mode == Fakeroot::real_root) {
    sys::unshare(CLONE_NEWNS);
  } else {
    unshare_user_namespace(CLONE_NEWUSER | CLONE_NEWNS);
    if (plan.mode == Fakeroot::seccomp) {
      write_own_id_maps(0, plan.uid, 0, plan.gid);
    } else {
      sys::send_message(sock, std::string(1, msg_unshared));
      if (sys::receive_message(sock).bytes != std::string(1, msg_mapped)) {
        throw Error(ErrorKind::setup_failed, "newuidmap/newgidmap did not set up the build namespace");
      }
      // The supplementary groups are unmapped here; root of the namespace needs none.
      if (::setgroups(0, nullptr) != 0) {
        sys::throw_errno("setgroups");
      }
    }
  }
  sys::make_rprivate_root();
  ::umask(022);
  if (plan.mode == Fakeroot::seccomp) {
    install_fakeroot_filter();
  }
}

// Parent side of the subordinate-id mode: newuidmap/newgidmap write the child's maps.
void map_subordinate_ids(const FakerootPlan& plan, pid_t child, const std::vector<std::string>& env) {
  auto n = [](auto v) { return std::to_string(v); };
  std::vector<std::string> uid_cmd{"newuidmap", n(child), "0", n(plan.uid), "1", "1", n(plan.subuid.start), n(plan.subuid.count)};
  std::vector<std::string> gid_cmd{"newgidmap", n(child), "0", n(plan.gid), "1", "1", n(plan.subgid.start), n(plan.subgid.count)};
  for (const auto& cmd : {uid_cmd, gid_cmd}) {
    int status = sys::spawn_and_wait(cmd, env);
    if (status != 0) {
      throw Error(ErrorKind::setup_failed, cmd[0] + " failed (exit status " + std::to_string(shell_status_from_wait(status)) +
                                               "); check /etc/subuid and /etc/subgid");
    }
  }
}

int child_main(const BuildSandbox& box, int sock, const std::function<void()>& body) {
  // The builder's interrupt handlers are for the builder; work done here stops on a signal.
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    ::signal(sig, SIG_DFL);
  }
  try {
    enter_build_namespace(box.plan(), sock);
    // Whatever build tools and sections print goes to stderr: cexec build's stdout is only the digest.
    sys::redirect_fd(2, 1);
    body();
    return 0;
  } catch (...) {
    try {
      sys::send_message(sock, sys::encode_current_failure("build-sandbox"));
    } catch (...) {
    }
  }
  return 125;
}

// Binds a host path (cloned recursively when `recursive`) onto `name` below `dirfd`.
void bind_host(const std::string& host, int dirfd, const std::string& name, bool recursive) {
  sys::Fd tree = sys::open_tree_clone(AT_FDCWD, host, recursive);
  sys::move_mount_to(tree.get(), dirfd, name, host);
}

// An O_PATH fd of the directory `name` in the root, created when missing; symlinks are followed as
// if the root were "/" so none can lead out.
sys::Fd open_root_dir(int rootfd, const std::string& name) {
  if (auto fd = sys::try_open_in_root(rootfd, name, O_PATH | O_DIRECTORY)) {
    return std::move(*fd);
  }
  sys::mkdir_at(rootfd, name, 0755);
  return sys::open_at(rootfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW);
}

// A file in the root, only when it already is a regular file (a dangling link is left alone).
std::optional<sys::Fd> try_open_root_file(int rootfd, const std::string& name) {
  auto fd = sys::try_open_in_root(rootfd, name, O_PATH);
  if (!fd || !S_ISREG(sys::stat_fd(fd->get()).st_mode)) {
    return std::nullopt;
  }
  return fd;
}

constexpr const char* apt_fakeroot_conf = "00cexec-fakeroot";  // in etc/apt/apt.conf.d

}  // namespace

int BuildSandbox::run(const std::function<void()>& body) const {
  std::pair<sys::Fd, sys::Fd> socks = sys::socket_pair();
  sys::Fd& parent_sock = socks.first;
  sys::Fd& child_sock = socks.second;
  sys::Child child = sys::fork_child([&] {
    parent_sock.reset();
    return child_main(*this, child_sock.get(), body);
  });
  child_sock.reset();
  std::string msg = sys::receive_message(parent_sock.get()).bytes;
  if (msg == std::string(1, msg_unshared)) {
    map_subordinate_ids(_plan, child.pid(), _host_env);  // on failure `child` is killed and reaped
    sys::send_message(parent_sock.get(), std::string(1, msg_mapped));
    msg = sys::receive_message(parent_sock.get()).bytes;
  }
  int status = child.wait();
  if (auto failure = sys::decode_failure(msg)) {
    sys::rethrow(*failure);
  }
  return shell_status_from_wait(status);
}

void mount_build_dev(int rootfd, bool links) {
  sys::Fd dev_dir = open_root_dir(rootfd, "dev");
  sys::Fd fs = sys::fs_open("tmpfs");
  sys::fs_config_string(fs.get(), "mode", "0755");
  sys::Fd mnt = sys::fs_create_mount(fs.get(), MOUNT_ATTR_NOSUID, "build /dev");
  sys::move_mount_to(mnt.get(), dev_dir.get(), "", "build /dev");
  // Looked up again from the root: an fd opened before the mount still names the folder beneath it.
  sys::Fd dev = open_root_dir(rootfd, "dev");
  for (const char* node : {"null", "zero", "full", "random", "urandom", "tty", "console"}) {
    sys::Fd mount_point = sys::open_at(dev.get(), node, O_WRONLY | O_CREAT | O_EXCL, 0666);
    // A machine without a console still gets the name, as /dev/null.
    std::string host = std::string("/dev/") + node;
    bind_host(sys::try_stat(host) ? host : "/dev/null", dev.get(), node, false);
  }
  sys::mkdir_at(dev.get(), "pts", 0755);
  sys::mkdir_at(dev.get(), "shm", 01777);
  // A devpts instance of its own (user namespaces may mount one), whose ptmx every user may open:
  // the host's has ptmxmode=000 and a bound host /dev/ptmx would look for the host's pts.
  try {
    sys::Fd pts_fs = sys::fs_open("devpts");
    sys::fs_config_string(pts_fs.get(), "ptmxmode", "0666");
    sys::fs_config_string(pts_fs.get(), "mode", "0620");
    sys::Fd pts = sys::fs_create_mount(pts_fs.get(), MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, "build /dev/pts");
    sys::move_mount_to(pts.get(), dev.get(), "pts", "build /dev/pts");
  } catch (const SysError&) {
    // Without devpts the build gets no pseudo-terminals, which builds do not need.
  }
  for (const auto& [name, target] : {std::pair{"ptmx", "pts/ptmx"}, {"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"},
                                     {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"}}) {
    if (links && ::symlinkat(target, dev.get(), name) != 0) {
      sys::throw_errno("symlink", name);
    }
  }
  sys::Fd shm_fs = sys::fs_open("tmpfs");
  sys::fs_config_string(shm_fs.get(), "mode", "1777");
  sys::Fd shm = sys::fs_create_mount(shm_fs.get(), MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, "build /dev/shm");
  sys::move_mount_to(shm.get(), dev.get(), "shm", "build /dev/shm");
}

[[noreturn]] void run_chrooted(const std::string& root, const RootCommand& command, Fakeroot mode) {
  sys::Fd rootfd = sys::open_path(root, O_PATH | O_DIRECTORY);
  mount_build_dev(rootfd.get(), true);
  for (const char* fs : {"proc", "sys"}) {
    sys::Fd dir = open_root_dir(rootfd.get(), fs);
    // Recursive: a user namespace may not bind a tree without the mounts locked below it.
    bind_host(std::string("/") + fs, dir.get(), "", true);
  }
  // The host's name resolution, so %post can download packages.
  for (const char* file : {"etc/resolv.conf", "etc/hosts"}) {
    if (auto target = try_open_root_file(rootfd.get(), file); target && sys::try_stat(std::string("/") + file)) {
      bind_host(std::string("/") + file, target->get(), "", false);
    }
  }
  // apt drops to its _apt user to download; with faked set*id calls that "succeeds" without effect
  // and apt then refuses to continue. Charliecloud's seccomp mode answers the same way.
  std::optional<sys::Fd> apt_conf_dir;
  if (mode == Fakeroot::seccomp) {
    apt_conf_dir = sys::try_open_in_root(rootfd.get(), "etc/apt/apt.conf.d", O_PATH | O_DIRECTORY);
    if (apt_conf_dir) {
      sys::write_file_at(apt_conf_dir->get(), apt_fakeroot_conf, "APT::Sandbox::User \"root\";\n", 0644);
    }
  }
  sys::Child child = sys::fork_child([&] {
    try {
      sys::Fd null = sys::open_path("/dev/null", O_RDONLY);
      sys::redirect_fd(null.get(), 0);
      sys::chroot_to(rootfd.get());
      sys::exec_program(command.argv, command.env);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "cexec: %s\n", e.what());
    }
    return 127;
  });
  int status = child.wait();
  if (apt_conf_dir) {
    sys::try_unlink_at(apt_conf_dir->get(), apt_fakeroot_conf);  // the image keeps apt's defaults
  }
  ::_exit(shell_status_from_wait(status));
}

void remove_tree(const std::string& path) {
  std::error_code ec;
  // Directories without write permission are no obstacle for root of the namespace.
  std::filesystem::remove_all(path, ec);
  if (ec) {
    throw SysError(ec.value(), "remove `" + path + "`");
  }
}

std::string find_host_program(const std::string& name, const std::vector<std::string>& env) {
  std::string path;
  for (const auto& e : env) {
    if (e.starts_with("PATH=")) {
      path = e.substr(5);
    }
  }
  size_t start = 0;
  while (start <= path.size()) {
    size_t colon = path.find(':', start);
    std::string dir = path.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    std::string candidate = dir + "/" + name;
    if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    if (colon == std::string::npos) {
      break;
    }
    start = colon + 1;
  }
  return {};
}

}  // namespace cexec::build
