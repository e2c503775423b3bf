// `cexec check`: reads the host's sysctls, /dev/fuse, the admin config, MPI, SLURM and topology,
// and probes the kernel features for real in a child (a user namespace with a private mount
// namespace, overlayfs and a FUSE mount in it, all gone when the child exits).
#include "commands/commands.hpp"
#include "host_check.hpp"

#include "base/user_namespace.hpp"
#include "discovery.hpp"
#include "base/environment.hpp"
#include "base/error.hpp"
#include "host_facts.hpp"
#include "loader.hpp"
#include "base/sys/child.hpp"
#include "base/sys/syscalls.hpp"

#include <cstdio>
#include <fcntl.h>
#include <glob.h>
#include <linux/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

namespace cexec {

namespace {

std::optional<long> read_sysctl(const char* path) {
  auto text = sys::try_read_file(path, 64);
  if (!text) {
    return std::nullopt;
  }
  try {
    return std::stol(*text);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string message_of(const std::exception& e) {
  std::string m = e.what();
  return m.empty() ? "unknown error" : m;
}

// The child's side: each probe's outcome as "NAME\tERROR\n" ("" error: it worked).
std::string probe_in_user_namespace(uid_t uid, gid_t gid) {
  std::string out;
  auto report = [&](const char* name, const std::string& error) { out += std::string(name) + "\t" + error + "\n"; };
  try {
    sys::unshare(CLONE_NEWUSER | CLONE_NEWNS);
    write_own_id_maps(uid, uid, gid, gid);
    sys::make_rprivate_root();
  } catch (const std::exception& e) {
    report("userns", message_of(e));
    return out;
  }
  report("userns", "");
  try {
    // A private tmpfs over /tmp (this mount namespace only) holds the overlay's directories.
    sys::Fd fs = sys::fs_open("tmpfs");
    sys::Fd mnt = sys::fs_create_mount(fs.get(), MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, "probe tmpfs");
    sys::move_mount_to(mnt.get(), AT_FDCWD, "/tmp", "probe tmpfs");
    for (const char* d : {"/tmp/lower", "/tmp/upper", "/tmp/work", "/tmp/merged"}) {
      sys::mkdir_at(AT_FDCWD, d, 0755);
    }
  } catch (const std::exception& e) {
    report("overlay", "tmpfs: " + message_of(e));
    report("fuse", "tmpfs: " + message_of(e));
    return out;
  }
  try {
    sys::Fd fs = sys::fs_open("overlay");
    sys::fs_config_string(fs.get(), "lowerdir", "/tmp/lower");
    sys::fs_config_string(fs.get(), "upperdir", "/tmp/upper");
    sys::fs_config_string(fs.get(), "workdir", "/tmp/work");
    sys::fs_config_flag(fs.get(), "userxattr");
    sys::Fd mnt = sys::fs_create_mount(fs.get(), MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, "overlay");
    sys::move_mount_to(mnt.get(), AT_FDCWD, "/tmp/merged", "overlay");
    report("overlay", "");
  } catch (const std::exception& e) {
    report("overlay", message_of(e));
  }
  try {
    // A FUSE mount needs no server to be created; nothing ever touches it, and the kernel aborts
    // the connection when this namespace goes.
    sys::Fd fuse = sys::open_path("/dev/fuse", O_RDWR);
    sys::Fd fs = sys::fs_open("fuse");
    sys::fs_config_string(fs.get(), "source", "cexec-check");
    sys::fs_config_string(fs.get(), "fd", std::to_string(fuse.get()));
    sys::fs_config_string(fs.get(), "rootmode", "40000");
    sys::fs_config_string(fs.get(), "user_id", std::to_string(uid));
    sys::fs_config_string(fs.get(), "group_id", std::to_string(gid));
    sys::Fd mnt = sys::fs_create_mount(fs.get(), MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, "fuse");
    report("fuse", "");
  } catch (const std::exception& e) {
    report("fuse", message_of(e));
  }
  return out;
}

void run_probes(HostCheckFacts& f) {
  uid_t uid = ::getuid();
  gid_t gid = ::getgid();
  std::string text;
  std::string failure;
  try {
    text = *sys::run_in_child("readiness-probes", [&] { return probe_in_user_namespace(uid, gid); });
  } catch (const std::exception& e) {
    failure = e.what();
  }
  for (const auto& line : split_nonempty(text, '\n')) {
    auto tab = line.find('\t');
    std::string name = line.substr(0, tab);
    std::string error = tab == std::string::npos ? "" : line.substr(tab + 1);
    (name == "userns" ? f.userns_probe : name == "overlay" ? f.overlay_probe : f.fuse_probe) = error;
  }
  if (!f.userns_probe) {
    f.userns_probe = "the probe process ended without an answer (" + failure + ")";
  }
}

void read_dev_fuse(HostCheckFacts& f) {
  auto st = sys::try_stat("/dev/fuse");
  f.dev_fuse_exists = st.has_value();
  if (!st) {
    return;
  }
  f.dev_fuse_is_fuse = S_ISCHR(st->st_mode) && major(st->st_rdev) == 10 && minor(st->st_rdev) == 229;
  f.dev_fuse_mode = st->st_mode & 07777;
  f.dev_fuse_accessible = ::access("/dev/fuse", R_OK | W_OK) == 0;
}

// The plugstack file (or a file it includes) that loads cexec's SPANK plugin.
std::string find_spank_config(const std::vector<std::string>& env) {
  std::string conf = std::string(try_environ_value(env, "SLURM_CONF").value_or(""));
  std::string dir = conf.empty() ? "/etc/slurm" : conf.substr(0, conf.rfind('/'));
  std::vector<std::string> files{dir + "/plugstack.conf"};
  for (size_t i = 0; i < files.size() && i < 64; ++i) {
    auto text = sys::try_read_file(files[i], 1 << 20);
    if (!text) {
      continue;
    }
    for (const auto& line : split_nonempty(*text, '\n')) {
      if (line.find("cexec_spank.so") != std::string::npos && !line.starts_with('#')) {
        return files[i];
      }
      if (line.starts_with("include ")) {
        glob_t g{};
        if (::glob(line.substr(8).c_str(), 0, nullptr, &g) == 0) {
          for (size_t k = 0; k < g.gl_pathc; ++k) {
            files.emplace_back(g.gl_pathv[k]);
          }
        }
        ::globfree(&g);
      }
    }
  }
  return "";
}

void read_mpi(HostCheckFacts& f, const std::vector<std::string>& env) {
  try {
    auto host = mpi_bridge::discover_host_mpi(env, "none");
    if (!host) {
      return;
    }
    std::string impl = host->mpi.implementation.empty() ? host->mpi.soname : host->mpi.implementation;
    f.mpi = impl + " (" + host->origin + "), " + std::to_string(host->libraries.size()) + " libraries, " +
            std::to_string(host->plugins.size()) + " plugins";
    for (const auto& p : host->problems) {
      f.mpi_problem += (f.mpi_problem.empty() ? "" : "; ") + p;
    }
  } catch (const std::exception& e) {
    f.mpi_problem = message_of(e);
  }
}

void read_slurm(HostCheckFacts& f, const std::vector<std::string>& env) {
  std::string srun = sys::find_program("srun", env);
  if (srun.empty()) {
    return;
  }
  std::string version = sys::try_capture_output({srun, "--version"}, env).value_or("");
  while (!version.empty() && (version.back() == '\n' || version.back() == ' ')) {
    version.pop_back();
  }
  if (version.empty()) {
    f.slurm_problem = srun + " is installed, but `srun --version` fails (no SLURM configuration on this host?)";
    return;
  }
  f.slurm = version + " (" + srun + ")";
  f.spank = find_spank_config(env);
}

}  // namespace

HostCheckFacts gather_host_check_facts(const Environ& env) {
  HostCheckFacts f;
  struct utsname u {};
  if (::uname(&u) == 0) {
    f.kernel = std::string(u.sysname) + " " + u.release + " " + u.machine;
  }
  f.uid = ::getuid();
  f.max_user_namespaces = read_sysctl("/proc/sys/user/max_user_namespaces");
  f.unprivileged_userns_clone = read_sysctl("/proc/sys/kernel/unprivileged_userns_clone");
  f.apparmor_restrict_userns = read_sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns");
  read_dev_fuse(f);
  run_probes(f);
  f.fusermount = sys::find_program("fusermount3", env);
  try {
    f.config_origin = load_config(env).origin;
  } catch (const std::exception& e) {
    f.config_error = message_of(e);
  }
  read_mpi(f, env);
  read_slurm(f, env);
  std::string topology_file = std::string(try_environ_value(env, "CEXEC_TOPOLOGY").value_or(""));
  auto machine = topology::load_machine({topology_file, true});
  if (machine) {
    f.topology = machine.value().origin + ": " + topology::summary(machine.value());
  } else {
    f.topology_problem = machine.failure().message;
  }
  return f;
}

int run_check(const CheckOptions& options, const Environ& environ) {
  if (options.gpu) {
    return run_gpu_check(options, environ);
  }
  auto lines = judge_host(gather_host_check_facts(environ));
  std::string text = options.json ? render_check_json(lines) : render_check_text(lines);
  std::fputs(text.c_str(), stdout);
  return check_exit_code(lines);
}

}  // namespace cexec
