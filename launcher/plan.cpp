#include "plan.hpp"

#include "bind_spec.hpp"

#include <algorithm>
#include <filesystem>

namespace cexec {

namespace {

// System directories whose host copy must never hide the image's (the cwd is not bound there).
constexpr std::string_view system_dirs[] = {"/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64",
                                            "/libx32", "/proc", "/run", "/sbin", "/sys", "/usr", "/var"};

bool is_system_path(std::string_view path) {
  if (path == "/") {
    return true;
  }
  if (is_path_under(path, "/var/tmp")) {
    return false;
  }
  return std::any_of(std::begin(system_dirs), std::end(system_dirs),
                     [&](std::string_view d) { return is_path_under(path, d); });
}

// Host paths: relative ones are taken from the cwd, and ".." is collapsed lexically so a default
// destination derived from the source is a clean container path.
std::string absolute_from(const std::string& cwd, const std::string& path) {
  std::filesystem::path p = path.starts_with('/') ? std::filesystem::path(path) : std::filesystem::path(cwd) / path;
  return normalize_path(p.lexically_normal().string());
}

MountOp bind_op(std::string src, std::string dst, bool ro, bool restrict, bool optional) {
  return MountOp{MountKind::bind, std::move(src), std::move(dst), ro, restrict, optional, MountOrigin::system};
}


bool covered_by(const std::vector<MountOp>& mounts, const std::string& path) {
  return std::any_of(mounts.begin(), mounts.end(),
                     [&](const MountOp& m) { return is_path_under(path, m.destination); });
}

}  // namespace

Result<LaunchPlan> resolve(const LaunchOptions& o, const HostFacts& f) {
  LaunchPlan p;
  p.verb = o.verb;
  p.image = f.image_path;
  p.image_kind = f.image_kind;
  p.user = f.user;
  p.groups = f.groups;
  p.host_cwd = f.cwd;
  p.command = o.command;
  p.verbosity = o.verbosity;

  if (o.writable && o.writable_tmpfs) {
    return Failure{ErrorKind::usage, "--writable and --writable-tmpfs cannot be combined"};
  }
  if (o.writable && f.image_kind != ImageKind::directory) {
    return Failure{ErrorKind::usage, "image `" + f.image_path + "`: --writable needs a directory image (SquashFS is read-only; use --writable-tmpfs)"};
  }
  if (o.writable && !f.config.allow_writable) {
    return Failure{ErrorKind::policy, "--writable is disabled by " + f.config.origin};
  }
  if (o.writable_tmpfs && !f.config.allow_writable_tmpfs) {
    return Failure{ErrorKind::policy, "--writable-tmpfs is disabled by " + f.config.origin};
  }
  p.writable = o.writable;
  p.writable_tmpfs = o.writable_tmpfs;

  if (!o.pwd.empty()) {
    if (!o.pwd.starts_with('/')) {
      return Failure{ErrorKind::usage, "--pwd `" + o.pwd + "`: not an absolute path"};
    }
    p.pwd = normalize_path(o.pwd);
  }
  if (o.verb == Verb::exec && o.command.empty()) {
    return Failure{ErrorKind::usage, "exec: missing COMMAND after the image"};
  }

  // Default mounts, in the order they are applied (later ones may sit below earlier ones).
  auto& m = p.mounts;
  m.push_back(bind_op("/proc", "/proc", false, false, false));
  m.push_back(bind_op("/sys", "/sys", true, false, false));  // read-only: see seal_kernel_tunables()
  m.push_back(bind_op("/dev", "/dev", false, false, false));
  for (const char* tmp : {"/tmp", "/var/tmp"}) {
    if (o.contain) {
      m.push_back(MountOp{MountKind::tmpfs, "tmpfs", tmp, false, true, false, MountOrigin::system});
    } else {
      m.push_back(bind_op(tmp, tmp, false, true, true));
    }
  }
  bool bind_home = !o.no_home && !o.contain && !f.user.home.empty() && f.user.home != "/" &&
                   !is_system_path(f.user.home);
  if (bind_home) {
    m.push_back(bind_op(f.user.home, f.user.home, false, true, true));
  }
  if (!o.contain && !f.cwd.empty() && !is_system_path(f.cwd) && !covered_by(m, f.cwd)) {
    m.push_back(bind_op(f.cwd, f.cwd, false, true, true));
  }
  // The launchers' rendezvous points, so the MPI inside reaches the host's mpirun or srun: PMIx
  // server directories, Open MPI's session directory, slurmd's spool (PMI2/PMIx sockets). Most
  // lie under /tmp and are covered already; --contain makes the binds matter.
  for (const char* var : {"PMIX_SERVER_TMPDIR", "PMIX_SYSTEM_TMPDIR", "OMPI_MCA_orte_top_session_dir"}) {
    std::string dir = environ_value(f.environ, var);
    if (dir.starts_with('/') && destination_problem(dir).empty() && !covered_by(m, dir)) {
      m.push_back(bind_op(normalize_path(dir), normalize_path(dir), false, true, true));
    }
  }
  if (!covered_by(m, "/var/spool/slurmd")) {
    m.push_back(bind_op("/var/spool/slurmd", "/var/spool/slurmd", false, true, true));
  }
  for (const char* file : {"/etc/hosts", "/etc/resolv.conf", "/etc/localtime"}) {
    m.push_back(bind_op(file, file, true, true, true));
  }
  m.push_back(MountOp{MountKind::generated, "passwd", "/etc/passwd", true, true, false, MountOrigin::system});
  m.push_back(MountOp{MountKind::generated, "group", "/etc/group", true, true, false, MountOrigin::system});

  for (const auto& b : f.config.binds) {
    std::string src = absolute_from(f.cwd, b.source);
    m.push_back(bind_op(src, b.destination.empty() ? src : b.destination, b.read_only, true, false));
  }

  // User binds: CEXEC_BIND first, then -B in order.
  std::vector<BindSpec> user_binds;
  for (const auto& entry : f.environ) {
    if (entry.starts_with("CEXEC_BIND=") && entry.size() > 11) {
      auto specs = parse_bind_specs(std::string_view(entry).substr(11));
      if (!specs) {
        return Failure{ErrorKind::usage, "CEXEC_BIND: " + specs.failure().message};
      }
      user_binds.insert(user_binds.end(), specs.value().begin(), specs.value().end());
    }
  }
  for (const auto& arg : o.binds) {
    auto specs = parse_bind_specs(arg);
    if (!specs) {
      return specs.failure();
    }
    user_binds.insert(user_binds.end(), specs.value().begin(), specs.value().end());
  }
  if (user_binds.size() > f.config.max_binds) {
    return Failure{ErrorKind::policy, std::to_string(user_binds.size()) + " binds requested, " + f.config.origin +
                                          " allows at most " + std::to_string(f.config.max_binds)};
  }
  for (const auto& b : user_binds) {
    std::string src = absolute_from(f.cwd, b.source);
    std::string dst = b.destination.empty() ? src : b.destination;
    // A destination taken from the source was never checked by parse_bind_specs: a ".." in it
    // would dodge the "/" and deny-destination checks below, which compare paths as text.
    if (auto why = destination_problem(dst); !why.empty()) {
      return Failure{ErrorKind::bind_destination, "bind `" + b.source + "`: " + why};
    }
    if (dst == "/") {
      return Failure{ErrorKind::bind_destination, "bind `" + b.source + "`: destination `/` would replace the image root"};
    }
    if (auto why = denied_destination_problem(dst, f.config); !why.empty()) {
      return Failure{ErrorKind::policy, "bind `" + b.source + ":" + dst + "`: " + why};
    }
    MountOp op = bind_op(src, dst, b.read_only, true, false);
    op.origin = MountOrigin::user;
    m.push_back(op);
  }

  p.config = f.config;
  p.share = !o.no_share;
  p.framework_env = !o.no_framework_env;
  p.linger_seconds = f.config.instance_linger;
  if (std::string linger = environ_value(f.environ, "CEXEC_LINGER"); !linger.empty()) {
    auto seconds = parse_seconds(linger);
    if (!seconds) {
      return Failure{ErrorKind::usage, "CEXEC_LINGER `" + linger + "`: expected seconds (0 to 86400)"};
    }
    p.linger_seconds = *seconds;
  }
  if (o.no_share && !o.instance.empty()) {
    return Failure{ErrorKind::usage, "--instance and --no-share cannot be combined"};
  }
  if (!o.mpi.empty()) {
    if (o.mpi != "auto" && o.mpi != "host" && o.mpi != "image" && o.mpi != "off") {
      return Failure{ErrorKind::usage, "--mpi `" + o.mpi + "`: expected auto, host, image or off"};
    }
    p.mpi_policy = o.mpi;
  }
  if (o.gpu.empty() || o.gpu == "auto") {
    p.gpu = GpuMode::automatic;
  } else if (o.gpu == "nvidia") {
    p.gpu = GpuMode::nvidia;
  } else if (o.gpu == "rocm") {
    p.gpu = GpuMode::rocm;
  } else if (o.gpu == "none") {
    p.gpu = GpuMode::none;
  } else {
    return Failure{ErrorKind::usage, "--gpu `" + o.gpu + "`: expected auto, nvidia, rocm or none"};
  }
  p.gpu_host_root = gpu_host_root(f.environ);
  if (!p.gpu_host_root.starts_with('/')) {
    return Failure{ErrorKind::usage, "CEXEC_TEST_GPU_ROOT `" + p.gpu_host_root + "`: not an absolute path"};
  }
  p.gpu_list_configs = f.gpu_list_configs;
  p.env.host = f.environ;
  p.env.env_files = f.env_files;
  p.env.cli = o.env;
  p.env.cleanenv = o.cleanenv;
  p.env.image_path = f.image_path;

  std::string topology_file = !o.topology.empty() ? o.topology : environ_value(f.environ, "CEXEC_TOPOLOGY");
  p.topology_file = topology_file.empty() ? "" : absolute_from(f.cwd, topology_file);
  auto cpu_bind = topology::parse_cpu_bind(o.cpu_bind);
  if (!cpu_bind) {
    return cpu_bind.failure();
  }
  auto gpu_bind = topology::parse_gpu_bind(o.gpu_bind);
  if (!gpu_bind) {
    return gpu_bind.failure();
  }
  if (o.gpus_per_rank < 0 || o.gpus_per_rank > 1024) {
    return Failure{ErrorKind::usage, "--gpus-per-rank " + std::to_string(o.gpus_per_rank) + ": expected 0 to 1024"};
  }
  p.cpu_bind = cpu_bind.value();
  p.gpu_bind = gpu_bind.value();
  p.gpus_per_rank = o.gpus_per_rank;
  return p;
}

std::string gpu_host_root(const std::vector<std::string>& environ) {
#ifdef CEXEC_TEST_HOOKS
  // Test builds only (CMake option CEXEC_TEST_HOOKS): GPU discovery reads a fake driver tree. An
  // installed cexec is built without the hook and ignores the variable (docs/gpu.md).
  if (std::string root = environ_value(environ, "CEXEC_TEST_GPU_ROOT"); !root.empty()) {
    return root.starts_with('/') ? normalize_path(root) : root;
  }
#else
  (void)environ;
#endif
  return "/";
}

std::string describe(const LaunchPlan& p) {
  std::string out = "plan: image " + p.image + " (" + (p.image_kind == ImageKind::squashfs ? "squashfs" : "directory") +
                    (p.writable ? ", writable" : "") + (p.writable_tmpfs ? ", writable-tmpfs" : "") + ")\n";
  for (const auto& op : p.mounts) {
    const char* kind = op.kind == MountKind::bind ? "bind" : op.kind == MountKind::tmpfs ? "tmpfs" : "file";
    out += std::string("plan: mount ") + kind + " " + op.source + " -> " + op.destination +
           (op.read_only ? " ro" : " rw") + (op.optional ? " (if present)" : "") + "\n";
  }
  out += std::string("plan: gpu ") +
         (p.gpu == GpuMode::automatic ? "auto" : p.gpu == GpuMode::nvidia ? "nvidia" : p.gpu == GpuMode::rocm ? "rocm" : "none") +
         (p.gpu_host_root != "/" ? " (host root " + p.gpu_host_root + ", test hook)" : "") + "\n";
  out += "plan: user " + p.user.name + " uid=" + std::to_string(p.user.uid) + " gid=" + std::to_string(p.user.gid) + "\n";
  out += "plan: placement cpu-bind=" + std::string(topology::to_string(p.cpu_bind)) + " gpu-bind=" +
         std::string(topology::to_string(p.gpu_bind)) + " gpus-per-rank=" + std::to_string(p.gpus_per_rank) +
         " topology=" + (p.topology_file.empty() ? "host" : p.topology_file) + "\n";
  out += "plan: command";
  for (const auto& a : p.command) {
    out += " " + a;
  }
  return out + "\n";
}

}  // namespace cexec
