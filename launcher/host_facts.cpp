#include "host_facts.hpp"

#include "gpu_discovery.hpp"

#include "base/sys/syscalls.hpp"
#include "sif_file.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <optional>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cexec {

namespace {

UserEntry current_user(const Environ& environ) {
  UserEntry u;
  u.uid = ::getuid();
  u.gid = ::getgid();
  if (struct passwd* pw = ::getpwuid(u.uid)) {
    u.name = pw->pw_name;
    u.gecos = pw->pw_gecos ? pw->pw_gecos : "";
    u.home = pw->pw_dir ? pw->pw_dir : "";
    // $HOME wins when set to an absolute path, as a login shell and Apptainer would have it.
    if (std::string home = environ_value(environ, "HOME"); home.starts_with('/')) {
      u.home = home;
    }
    u.shell = pw->pw_shell ? pw->pw_shell : "/bin/sh";
  } else {
    u.name = "user" + std::to_string(u.uid);
    u.home = environ_value(environ, "HOME");
    u.shell = "/bin/sh";
  }
  return u;
}

std::vector<GroupEntry> current_groups(gid_t primary) {
  std::vector<gid_t> gids{primary};
  int n = ::getgroups(0, nullptr);
  if (n > 0) {
    std::vector<gid_t> extra(static_cast<size_t>(n));
    n = ::getgroups(n, extra.data());
    for (int i = 0; i < n; ++i) {
      if (extra[static_cast<size_t>(i)] != primary) {
        gids.push_back(extra[static_cast<size_t>(i)]);
      }
    }
  }
  std::vector<GroupEntry> out;
  for (gid_t g : gids) {
    struct group* gr = ::getgrgid(g);
    out.push_back(GroupEntry{gr ? gr->gr_name : "group" + std::to_string(g), g});
  }
  return out;
}


std::string absolute(const std::string& cwd, const std::string& path) {
  if (path.starts_with('/') || cwd.empty()) {
    return path;
  }
  return cwd + "/" + path;
}

ImageKind identify_image(const std::string& path, ImageIdentity& identity) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw Error(ErrorKind::input_missing, "image `" + path + "`: " + std::error_code(errno, std::generic_category()).message());
  }
  sys::Fd owned(fd);
  struct stat st = sys::stat_fd(fd);
  identity = ImageIdentity{st.st_dev, st.st_ino, static_cast<uint64_t>(st.st_size),
                           static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec, 0};
  if (S_ISDIR(st.st_mode)) {
    return ImageKind::directory;
  }
  if (!S_ISREG(st.st_mode)) {
    throw Error(ErrorKind::image_invalid, "image `" + path + "`: not a SquashFS file, a SIF file or a directory");
  }
  char head[std::max(squashfs_superblock_size, sif::header_size)];
  ssize_t n = ::pread(fd, head, sizeof head, 0);
  if (n < 0) {
    throw Error(ErrorKind::input_missing, "image `" + path + "`: " + std::error_code(errno, std::generic_category()).message());
  }
  if (sif::has_magic(std::string_view(head, static_cast<size_t>(n)))) {  // the SquashFS inside a SIF (docs/sif.md)
    identity.offset = sif::read_sif_squashfs(fd, static_cast<uint64_t>(st.st_size), path).primary.offset;
    return ImageKind::squashfs;
  }
  (void)value_or_throw(parse_squashfs_superblock(std::string_view(head, static_cast<size_t>(n)),
                                                 static_cast<uint64_t>(st.st_size), path));
  return ImageKind::squashfs;
}

}  // namespace

Config load_config(const Environ& environ) {
  std::string path = environ_value(environ, "CEXEC_CONFIG");
  bool explicit_path = !path.empty();
  if (!explicit_path) {
    path = default_config_path;
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT && !explicit_path) {
      Config defaults;
      defaults.origin = "built-in defaults";
      return defaults;
    }
    throw Error(ErrorKind::config, "config file `" + path + "`: " + std::error_code(errno, std::generic_category()).message());
  }
  sys::Fd owned(fd);
  struct stat st = sys::stat_fd(fd);
  if (auto why = config_ownership_problem(path, st.st_uid, st.st_mode, sys::try_unmapped_owner_uid()); !why.empty()) {
    throw Error(ErrorKind::config, why);
  }
  return value_or_throw(parse_config(sys::read_all(fd, 1 << 20), path));
}

void refuse_privileged_install() {
  struct stat st {};
  bool privileged = ::getauxval(AT_SECURE) != 0;
  if (::stat("/proc/self/exe", &st) == 0 && (st.st_mode & (S_ISUID | S_ISGID)) != 0) {
    privileged = true;
  }
  if (privileged) {
    throw Error(ErrorKind::policy, "cexec is installed setuid or setgid; it needs no privilege and refuses to run so "
                                   "(an admin must run: chmod u-s,g-s on the cexec binary)");
  }
}

HostFacts gather_host_facts(const LaunchOptions& o, const Environ& environ) {
  HostFacts f;
  f.environ = environ;
  f.user = current_user(environ);
  f.groups = current_groups(f.user.gid);
  char buf[PATH_MAX];
  if (::getcwd(buf, sizeof buf) != nullptr) {
    f.cwd = buf;
  }
  f.config = load_config(environ);
  for (const auto& file : o.env_files) {
    std::optional<std::string> text;
    try {
      text = sys::try_read_file(file, 1 << 20);
    } catch (const SysError& e) {
      throw Error(ErrorKind::input_missing, "env file `" + file + "`: " + e.code().message());
    }
    if (!text) {
      throw Error(ErrorKind::input_missing, "env file `" + file + "`: " + std::error_code(errno, std::generic_category()).message());
    }
    f.env_files.emplace_back(file, value_or_throw(parse_env_text(*text, file)));
  }
  f.image_path = absolute(f.cwd, o.image);
  f.image_kind = identify_image(f.image_path, f.image_identity);
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  f.hostname = host;
  // Read here, before any user namespace: inside one, root's files show the overflow uid and the
  // ownership check could not tell them from nobody's.
  if (o.gpu != "none") {
    f.gpu_list_configs = gpu::read_list_configs(gpu_host_root(f.environ));
  }
  return f;
}

}  // namespace cexec
