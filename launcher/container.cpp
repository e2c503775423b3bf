#include "container.hpp"

#include "node_plan.hpp"
#include "base/path_walk.hpp"
#include "base/user_namespace.hpp"
#include "squashfs_server.hpp"
#include "base/sys/child.hpp"
#include "base/sys/syscalls.hpp"
#include "base/test_hooks.hpp"

#include <cerrno>
#include <fcntl.h>
#include <optional>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cexec {

namespace {

// The staging area: a private tmpfs attached over /tmp inside the new mount namespace, after the
// host's /tmp has been cloned for binding, so nothing is ever created on the host.
constexpr const char* staging = "/tmp";
constexpr const char* image_dir = "/tmp/image";   // the image's own mount
constexpr const char* root_dir = "/tmp/root";     // the overlay, when one is needed
constexpr const char* upper_dir = "/tmp/upper";
constexpr const char* work_dir = "/tmp/work";
constexpr const char* files_dir = "/tmp/files";   // generated passwd and group

constexpr uint64_t restrict_attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;

Error setup_error(const char* context, const SysError& e) {
  return Error(ErrorKind::setup_failed, std::string(context) + ": " + e.what());
}

// Creates the user and mount namespaces and maps the caller's uid and gid to themselves.
void enter_user_namespace(uid_t uid, gid_t gid) {
  unshare_user_namespace(CLONE_NEWUSER | CLONE_NEWNS);
  write_own_id_maps(uid, uid, gid, gid);
}

// Clones every host tree that will be bound, before the staging tmpfs hides /tmp.
std::vector<std::optional<sys::Fd>> clone_bind_sources(const std::vector<MountOp>& mounts) {
  std::vector<std::optional<sys::Fd>> clones;
  for (const auto& op : mounts) {
    clones.emplace_back();
    if (op.kind != MountKind::bind) {
      continue;
    }
    try {
      // Recursive: a user namespace may not bind a tree without the mounts locked below it.
      sys::Fd fd = sys::open_tree_clone(AT_FDCWD, op.source, true);
      uint64_t attrs = (op.read_only ? MOUNT_ATTR_RDONLY : 0) | (op.restrict ? restrict_attrs : 0);
      if (attrs != 0) {
        sys::set_mount_attrs(fd.get(), attrs, 0, true, op.source);
      }
      clones.back() = std::move(fd);
    } catch (const SysError& e) {
      if (op.optional && (e.err() == ENOENT || e.err() == EACCES || e.err() == ENOTDIR)) {
        continue;
      }
      if (e.err() == ENOENT || e.err() == EACCES || e.err() == ENOTDIR) {
        throw Error(ErrorKind::input_missing, "bind source `" + op.source + "`: " + e.code().message());
      }
      throw setup_error("while preparing binds", e);
    }
  }
  return clones;
}

void mount_staging() {
  sys::Fd fs = sys::fs_open("tmpfs");
  sys::fs_config_string(fs.get(), "mode", "0700");
  if (const char* size = test_hooks::staging_size()) {
    sys::fs_config_string(fs.get(), "size", size);  // a test fills it (ENOSPC)
  }
  sys::Fd mnt = sys::fs_create_mount(fs.get(), restrict_attrs, "staging tmpfs");
  sys::move_mount_to(mnt.get(), AT_FDCWD, staging, "staging tmpfs");
  for (const char* d : {image_dir, root_dir, upper_dir, work_dir, files_dir}) {
    sys::mkdir_at(AT_FDCWD, d, 0755);
  }
}

// The descriptor limit is no fault of the device: such an error stays a setup error (exit 71).
bool is_descriptor_limit(const SysError& e) { return e.err() == EMFILE || e.err() == ENFILE; }

sys::Fd open_fuse_device() {
  try {
    return sys::open_path("/dev/fuse", O_RDWR);
  } catch (const SysError& e) {
    if (is_descriptor_limit(e)) {
      throw;
    }
    std::string hint = e.err() == EACCES || e.err() == EPERM
                           ? " (an admin must make /dev/fuse mode 0666, as stock distributions ship it)"
                           : e.err() == ENOENT ? " (an admin must load the fuse kernel module)" : "";
    throw Error(ErrorKind::host_unsupported, "/dev/fuse is unusable: " + e.code().message() + hint);
  }
}

// Mounts a SquashFS image through FUSE; the server runs outside (see squashfs_server.hpp).
sys::Fd mount_squashfs(const LaunchPlan& plan, SquashfsServer& server) {
  sys::Fd fuse = open_fuse_device();  // opened inside the user namespace: FUSE requires it
  sys::Fd fs;
  try {
    fs = sys::fs_open("fuse");
    sys::fs_config_string(fs.get(), "source", plan.image);
    sys::fs_config_string(fs.get(), "fd", std::to_string(fuse.get()));
    sys::fs_config_string(fs.get(), "rootmode", "40000");
    sys::fs_config_string(fs.get(), "user_id", std::to_string(plan.user.uid));
    sys::fs_config_string(fs.get(), "group_id", std::to_string(plan.user.gid));
    sys::fs_config_flag(fs.get(), "default_permissions");
  } catch (const SysError& e) {
    if (is_descriptor_limit(e)) {
      throw;
    }
    throw Error(ErrorKind::host_unsupported, std::string("/dev/fuse is unusable: ") + e.what());
  }
  sys::Fd mnt = sys::fs_create_mount(fs.get(), MOUNT_ATTR_RDONLY | restrict_attrs, plan.image);
  server.serve(std::move(fuse));
  return mnt;
}

sys::Fd mount_directory(const LaunchPlan& plan) {
  sys::Fd mnt = sys::open_tree_clone(AT_FDCWD, plan.image, true);
  sys::set_mount_attrs(mnt.get(), (plan.writable ? 0 : MOUNT_ATTR_RDONLY) | restrict_attrs, 0, true, plan.image);
  return mnt;
}

// The image, mounted but detached, checked to answer.
sys::Fd squashfs_or_directory_mount(const LaunchPlan& plan, SquashfsServer* server);

// Makes sure the image answers: a corrupt SquashFS fails here rather than inside the payload.
void check_image_root(const LaunchPlan& plan, int image) {
  try {
    sys::Fd root = sys::open_at(image, ".", O_RDONLY | O_DIRECTORY);  // FUSE: an OPENDIR round trip
    (void)sys::stat_fd(root.get());
  } catch (const SysError& e) {
    throw Error(ErrorKind::image_invalid, "image `" + plan.image + "`: cannot read its root (" +
                                              e.code().message() + "); the image is corrupt");
  }
}

bool source_is_directory(const MountOp& op, const std::optional<sys::Fd>& clone) {
  if (op.kind == MountKind::tmpfs) {
    return true;
  }
  if (op.kind == MountKind::generated || !clone) {
    return false;
  }
  return S_ISDIR(sys::stat_fd(clone->get()).st_mode);
}

std::string walk_problem(const MountOp& op, WalkStatus status) {
  std::string what = "bind destination `" + op.destination + "`";
  switch (status) {
    case WalkStatus::escapes: return what + " escapes the image root through a symlink";
    case WalkStatus::not_directory: return what + " passes through a non-directory in the image";
    case WalkStatus::too_many_links: return what + ": too many levels of symbolic links";
    default: return what + " does not exist";
  }
}

struct Scaffold {
  std::string destination;        // as the plan names it, for errors
  std::vector<std::string> path;  // resolved container path, as components
  bool is_directory;
};

// Which destinations are missing from the image, resolved through its symlinks.
std::vector<Scaffold> plan_scaffolding(const std::vector<MountOp>& mounts,
                                       const std::vector<std::optional<sys::Fd>>& clones, int image_root) {
  std::vector<Scaffold> out;
  for (size_t i = 0; i < mounts.size(); ++i) {
    const auto& op = mounts[i];
    if (op.kind == MountKind::bind && !clones[i]) {
      continue;  // an optional source that is absent
    }
    // Fast path, one syscall: a destination reached without absolute symlinks or ".." exists and
    // stays inside. Anything else (missing, or through such a link) takes the component walk.
    if (sys::try_open_beneath(image_root, op.destination.substr(1), O_PATH)) {  // BENEATH takes relative paths
      continue;
    }
    WalkResult w = walk_in_root(image_root, op.destination);
    if (w.status == WalkStatus::found) {
      continue;
    }
    if (w.status != WalkStatus::missing) {
      throw Error(ErrorKind::bind_destination, walk_problem(op, w.status));
    }
    std::vector<std::string> full = w.existing;
    full.insert(full.end(), w.missing.begin(), w.missing.end());
    out.push_back(Scaffold{op.destination, std::move(full), source_is_directory(op, clones[i])});
  }
  return out;
}

// Creates the missing mount points under `base` (the overlay's upper layer, or a writable image),
// one component at a time from the previous one's descriptor and never through a symlink: a
// writable image is the caller's own folder, where a symlink may replace a planned directory
// before it is used, and a path would then lead mkdir out of the image.
void create_scaffolding(const std::vector<Scaffold>& scaffolds, int base, int image_root) {
  for (const auto& s : scaffolds) {
    try {
      sys::Fd at = sys::open_at(base, ".", O_PATH | O_DIRECTORY);
      std::string rel;
      for (size_t i = 0; i < s.path.size(); ++i) {
        const std::string& name = s.path[i];
        rel += (i ? "/" : "") + name;
        mode_t mode = 0755;
        if (auto lower = sys::try_open_beneath(image_root, rel, O_PATH | O_NOFOLLOW)) {
          mode = sys::stat_fd(lower->get()).st_mode & 07777;
        }
        if (i + 1 < s.path.size() || s.is_directory) {
          sys::mkdir_at(at.get(), name, mode);
          at = sys::open_at(at.get(), name, O_PATH | O_DIRECTORY | O_NOFOLLOW);
        } else if (auto f = sys::try_open_at(at.get(), name, O_WRONLY | O_CREAT | O_NOFOLLOW, 0644); !f) {
          sys::throw_errno("create", rel);
        }
      }
    } catch (const SysError& e) {
      if (e.err() != ENOTDIR && e.err() != ELOOP) {
        throw;
      }
      throw Error(ErrorKind::bind_destination, "bind destination `" + s.destination +
                                                   "` changed while its mount point was created (" + e.what() + ")");
    }
  }
}

void mount_overlay(bool userxattr) {
  sys::Fd fs = sys::fs_open("overlay");
  sys::fs_config_string(fs.get(), "lowerdir", image_dir);
  sys::fs_config_string(fs.get(), "upperdir", upper_dir);
  sys::fs_config_string(fs.get(), "workdir", work_dir);
  if (userxattr) {
    // Inside a user namespace overlayfs cannot use trusted.* xattrs (overlayfs.rst, "userxattr").
    sys::fs_config_flag(fs.get(), "userxattr");
  }
  sys::Fd mnt = sys::fs_create_mount(fs.get(), restrict_attrs, "overlay");
  sys::move_mount_to(mnt.get(), AT_FDCWD, root_dir, "overlay");
}

// passwd and group for the caller, and the node instance's generated files (node_plan.hpp).
void write_generated_files(const LaunchPlan& plan, const std::vector<GeneratedFile>& additions, int root) {
  auto read_image_file = [&](const char* path) -> std::string {
    auto fd = sys::try_open_in_root(root, path, O_RDONLY);
    return fd ? sys::read_all(fd->get(), 4 << 20) : std::string();
  };
  sys::Fd files = sys::open_path(files_dir, O_PATH | O_DIRECTORY);
  sys::write_file_at(files.get(), "passwd", make_passwd(read_image_file("etc/passwd"), plan.user), 0644);
  sys::write_file_at(files.get(), "group", make_group(read_image_file("etc/group"), plan.groups, plan.user.name), 0644);
  for (const auto& f : additions) {
    sys::write_file_at(files.get(), f.path, f.content, 0644);
  }
}

sys::Fd make_mount(const MountOp& op, std::optional<sys::Fd>& clone) {
  if (op.kind == MountKind::bind) {
    return std::move(*clone);
  }
  if (op.kind == MountKind::tmpfs) {
    sys::Fd fs = sys::fs_open("tmpfs");
    sys::fs_config_string(fs.get(), "mode", "1777");
    return sys::fs_create_mount(fs.get(), restrict_attrs, op.destination);
  }
  sys::Fd file = sys::open_tree_clone(AT_FDCWD, std::string(files_dir) + "/" + op.source, false);
  sys::set_mount_attrs(file.get(), MOUNT_ATTR_RDONLY | restrict_attrs, 0, false, op.source);
  return file;
}

// Attaches every mount at its destination, resolved under the root so no symlink can redirect it.
void apply_mounts(const LaunchPlan& plan, const std::vector<MountOp>& mounts,
                  std::vector<std::optional<sys::Fd>>& clones, int root, std::string_view root_path) {
  for (size_t i = 0; i < mounts.size(); ++i) {
    const auto& op = mounts[i];
    if (op.kind == MountKind::bind && !clones[i]) {
      continue;
    }
    // Every destination was checked (and scaffolded) on the image; resolving it as if `root` were
    // "/" keeps a symlink met below another bind from leading out (openat2(2), RESOLVE_IN_ROOT).
    auto dest = sys::try_open_in_root(root, op.destination, O_PATH);
    if (!dest) {
      throw Error(ErrorKind::bind_destination, "bind destination `" + op.destination + "`: " +
                                                   std::error_code(errno, std::generic_category()).message() +
                                                   " (it lies under another bind, where cexec creates nothing)");
    }
    if (op.origin == MountOrigin::user && !plan.config.deny_destinations.empty()) {
      // The plan checked the destination as written; a symlink in the image may lead elsewhere.
      std::string resolved = sys::read_link(sys::fd_path(dest->get())).substr(root_path.size());
      if (auto why = denied_destination_problem(resolved, plan.config); !why.empty()) {
        throw Error(ErrorKind::policy, "bind `" + op.source + ":" + op.destination + "`: " + why);
      }
    }
    sys::Fd mnt = make_mount(op, clones[i]);
    try {
      sys::move_mount_to(mnt.get(), dest->get(), "", op.source + " on " + op.destination);
    } catch (const SysError& e) {
      if (e.err() == ENOTDIR || e.err() == EISDIR) {
        throw Error(ErrorKind::bind_destination, "bind `" + op.source + "` on `" + op.destination +
                                                     "`: a file and a directory cannot be bound onto each other");
      }
      throw setup_error("while binding", e);
    }
  }
}

// Kernel tunables that a root caller's payload could still change without any capability (uid 0
// keeps root's file permissions there): bound over themselves read-only, as container engines do.
// /sys is bound read-only whole (plan.cpp).
constexpr const char* read_only_proc_paths[] = {"/proc/sys", "/proc/sysrq-trigger"};

void seal_kernel_tunables(int root) {
  for (const char* path : read_only_proc_paths) {
    auto at = sys::try_open_in_root(root, path, O_PATH | O_NOFOLLOW);
    if (!at) {
      continue;  // a kernel without it (sysrq-trigger needs CONFIG_MAGIC_SYSRQ)
    }
    sys::Fd mnt = sys::open_tree_clone(at->get(), "", true);
    sys::set_mount_attrs(mnt.get(), MOUNT_ATTR_RDONLY, 0, true, path);
    sys::move_mount_to(mnt.get(), at->get(), "", path);
  }
}

sys::Fd squashfs_or_directory_mount(const LaunchPlan& plan, SquashfsServer* server) {
  sys::Fd mnt = server ? mount_squashfs(plan, *server) : mount_directory(plan);
  check_image_root(plan, mnt.get());
  return mnt;
}

}  // namespace

void enter_container(const LaunchPlan& plan, const NodeHostFacts& host, Log& log, SquashfsServer* server) {
  bool squashfs = plan.image_kind == ImageKind::squashfs;
  if (squashfs && server == nullptr) {
    throw Error(ErrorKind::internal, "no SquashFS server for `" + plan.image + "`");
  }
  log.step("user-namespace", [&] { enter_user_namespace(plan.user.uid, plan.user.gid); });
  try {
    log.step("private-mounts", [&] { sys::make_rprivate_root(); });
    auto clones = log.step("clone-bind-sources", [&] { return clone_bind_sources(plan.mounts); });
    // The image is mounted detached first: its facts are read through the mount's fd while the
    // host's /tmp (where a directory image or an injected tree may live) is still visible.
    sys::Fd image = log.step("mount-image", [&] {
      sys::Fd mnt = squashfs ? mount_squashfs(plan, *server) : mount_directory(plan);
      check_image_root(plan, mnt.get());
      return mnt;
    });
    NodeImageFacts image_facts = log.step("read-node-image-facts", [&] { return read_node_image_facts(host, image.get()); });
    NodePlan additions = log.step("plan-node", [&] { return plan_node(plan, host, image_facts); });
    std::vector<MountOp> mounts = plan.mounts;
    for (auto& op : value_or_throw(additions_mounts(additions))) {
      mounts.push_back(std::move(op));
    }
    log.step("clone-addition-sources", [&] {
      auto extra = clone_bind_sources(std::vector<MountOp>(mounts.begin() + plan.mounts.size(), mounts.end()));
      for (auto& c : extra) {
        clones.push_back(std::move(c));
      }
    });
    log.step("staging-tmpfs", [&] { mount_staging(); });
    sys::move_mount_to(image.get(), AT_FDCWD, image_dir, plan.image);
    sys::Fd image_root = sys::open_path(image_dir, O_PATH | O_DIRECTORY);
    auto scaffolds = log.step("plan-scaffolding", [&] { return plan_scaffolding(mounts, clones, image_root.get()); });

    // A read-only image gets an overlay whose upper layer (on the staging tmpfs) already holds the
    // missing mount points; overlayfs copies nothing up for them. --writable creates them in place.
    bool overlay = !plan.writable && (plan.writable_tmpfs || !scaffolds.empty());
    const char* root_path = overlay ? root_dir : image_dir;
    log.step("scaffolding", [&] {
      if (plan.writable) {
        create_scaffolding(scaffolds, image_root.get(), image_root.get());
      } else if (overlay) {
        sys::Fd upper = sys::open_path(upper_dir, O_PATH | O_DIRECTORY);
        create_scaffolding(scaffolds, upper.get(), image_root.get());
        try {
          mount_overlay(true);
        } catch (const SysError& e) {
          if (e.err() != EINVAL) {
            throw;
          }
          mount_overlay(false);  // kernels before 5.11 know no userxattr
        }
      }
    });
    sys::Fd root = sys::open_path(root_path, O_PATH | O_DIRECTORY);
    log.step("generated-files", [&] {
      write_generated_files(plan, value_or_throw(additions_files(additions)), root.get());
    });
    log.step("binds", [&] {
      apply_mounts(plan, mounts, clones, root.get(), root_path);
      seal_kernel_tunables(root.get());
    });
    if (overlay && !plan.writable_tmpfs) {
      // The scaffolding needed a writable layer; the container still gets a read-only root.
      log.step("seal-root", [&] {
        sys::Fd mnt = sys::open_path(root_path, O_PATH | O_DIRECTORY);
        sys::set_mount_attrs(mnt.get(), MOUNT_ATTR_RDONLY, 0, false, "root");
      });
    }
    log.step("pivot-root", [&] {
      if (::chdir(root_path) != 0) {
        sys::throw_errno("chdir", root_path);
      }
      sys::pivot_root_to_cwd();
    });
  } catch (const SysError& e) {
    throw setup_error("while setting up the container", e);
  }
}

std::string run_with_image_root(const LaunchPlan& plan, const std::function<std::string(int image_root)>& fn) {
  auto reply = sys::run_in_child("read-image", [&] {
    // The server is started here, by the process that mounts: starting it waits for its
    // intermediate child, which only the process that forked it can reap.
    std::optional<SquashfsServer> server;
    if (plan.image_kind == ImageKind::squashfs) {
      server = SquashfsServer::start(plan.image);
    }
    enter_user_namespace(plan.user.uid, plan.user.gid);
    sys::make_rprivate_root();
    sys::Fd image = squashfs_or_directory_mount(plan, server ? &*server : nullptr);
    return fn(image.get());
  });
  return *reply;  // no timeout: always a value (or thrown)
}

}  // namespace cexec
