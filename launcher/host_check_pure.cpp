// The verdicts of `cexec check` (pure): facts in, one line per item with the admin's fix out.
#include "base/exit_codes.hpp"
#include "host_check.hpp"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace cexec {

namespace {

const char* level_name(CheckLevel l) {
  switch (l) {
    case CheckLevel::ok:
      return "ok";
    case CheckLevel::info:
      return "info";
    case CheckLevel::warn:
      return "warn";
    case CheckLevel::fail:
      return "FAIL";
  }
  return "?";
}

CheckLine user_namespaces(const HostCheckFacts& f) {
  std::string item = "user namespaces";
  if (f.userns_probe && f.userns_probe->empty()) {
    std::string finding = "unshare(CLONE_NEWUSER|CLONE_NEWNS) works";
    if (f.max_user_namespaces) {
      finding += " (user.max_user_namespaces = " + std::to_string(*f.max_user_namespaces) + ")";
    }
    // Each node instance holds one user namespace; jobs of many users on a node need more.
    if (f.max_user_namespaces && *f.max_user_namespaces < 64) {
      return {CheckLevel::warn, item, finding, "raise the sysctl user.max_user_namespaces (e.g. to 15000): each node instance and private container holds one"};
    }
    return {CheckLevel::ok, item, finding, ""};
  }
  std::string why = f.userns_probe ? *f.userns_probe : "the probe did not run";
  std::string advice;
  if (f.max_user_namespaces && *f.max_user_namespaces == 0) {
    advice = "set the sysctl user.max_user_namespaces above 0 (e.g. 15000)";
  } else if (f.unprivileged_userns_clone && *f.unprivileged_userns_clone == 0) {
    advice = "set the sysctl kernel.unprivileged_userns_clone=1";
  } else if (f.apparmor_restrict_userns && *f.apparmor_restrict_userns != 0) {
    advice = "set the sysctl kernel.apparmor_restrict_unprivileged_userns=0, or give cexec an AppArmor profile that allows userns";
  } else {
    advice = "enable unprivileged user namespaces (user.max_user_namespaces > 0; no seccomp or LSM policy denying unshare)";
  }
  return {CheckLevel::fail, item, "cannot create one: " + why, advice};
}

CheckLine dev_fuse(const HostCheckFacts& f) {
  std::string item = "/dev/fuse";
  if (!f.dev_fuse_exists) {
    return {CheckLevel::fail, item, "missing", "load the fuse kernel module (modprobe fuse) so that /dev/fuse exists"};
  }
  if (!f.dev_fuse_is_fuse) {
    return {CheckLevel::fail, item, "is not the FUSE character device (10:229)", "recreate it: mknod -m 0666 /dev/fuse c 10 229"};
  }
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", f.dev_fuse_mode);
  std::string finding = std::string("character device 10:229, mode ") + mode;
  if (!f.dev_fuse_accessible) {
    return {CheckLevel::fail, item, finding + ", not readable and writable by uid " + std::to_string(f.uid),
            "make it mode 0666 (chmod 0666 /dev/fuse, or a udev rule), as stock distributions ship it"};
  }
  if ((f.dev_fuse_mode & 0006) != 0006) {
    return {CheckLevel::warn, item, finding + " (this user may open it, not every user)",
            "make it mode 0666 (chmod 0666 /dev/fuse), as stock distributions ship it, so that every user can run SquashFS images"};
  }
  return {CheckLevel::ok, item, finding, ""};
}

CheckLine probe_line(const std::string& item, const std::optional<std::string>& probe, const std::string& works,
                     CheckLevel if_broken, const std::string& advice) {
  if (!probe) {
    return {CheckLevel::warn, item, "not probed (no user namespace)", "fix user namespaces first"};
  }
  if (probe->empty()) {
    return {CheckLevel::ok, item, works, ""};
  }
  return {if_broken, item, "fails: " + *probe, advice};
}

}  // namespace

std::vector<CheckLine> judge_host(const HostCheckFacts& f) {
  std::vector<CheckLine> out;
  out.push_back({CheckLevel::info, "kernel", f.kernel, ""});
  out.push_back(user_namespaces(f));
  out.push_back(dev_fuse(f));
  out.push_back(probe_line("FUSE in a user namespace", f.fuse_probe, "a FUSE file system mounts inside cexec's user namespace",
                           CheckLevel::fail, "use a kernel >= 4.18 with FUSE built in or loaded; SquashFS images need it (directory images do not)"));
  out.push_back({CheckLevel::ok, "fusermount", f.fusermount.empty() ? "not installed: not needed" : "not needed (" + f.fusermount + " is installed; cexec never runs it)",
                 ""});
  out.push_back(probe_line("overlayfs in a user namespace", f.overlay_probe, "mounts (userxattr)", CheckLevel::warn,
                           "use a kernel >= 5.11: --writable-tmpfs and binds to paths missing from the image need it"));
  if (!f.config_error.empty()) {
    out.push_back({CheckLevel::fail, "admin configuration", f.config_error, "fix the file (docs in /etc/cexec/cexec.conf, README \"Admin configuration\")"});
  } else {
    out.push_back({CheckLevel::ok, "admin configuration", f.config_origin, ""});
  }
  if (!f.mpi.empty()) {
    out.push_back({f.mpi_problem.empty() ? CheckLevel::ok : CheckLevel::warn, "host MPI", f.mpi + (f.mpi_problem.empty() ? "" : "; " + f.mpi_problem),
                   f.mpi_problem.empty() ? "" : "fix the library path or list the libraries in /etc/cexec/mpi.conf (docs/mpi-bridge.md)"});
  } else {
    out.push_back({CheckLevel::info, "host MPI", "none found" + (f.mpi_problem.empty() ? std::string() : ": " + f.mpi_problem),
                   "images use their own MPI; install the site's MPI or describe it in /etc/cexec/mpi.conf to inject it"});
  }
  if (!f.slurm.empty()) {
    out.push_back({CheckLevel::ok, "SLURM", f.slurm, ""});
    out.push_back({CheckLevel::info, "SPANK plugin", f.spank.empty() ? "not configured (srun --container-image unavailable; srun cexec IMAGE works)" : "configured in " + f.spank,
                   f.spank.empty() ? "optional: add `optional cexec_spank.so` to plugstack.conf (docs/spank.md)" : ""});
  } else {
    out.push_back({CheckLevel::info, "SLURM", f.slurm_problem.empty() ? "srun not found" : f.slurm_problem, ""});
  }
  if (!f.topology.empty()) {
    out.push_back({CheckLevel::ok, "topology", f.topology, ""});
  } else {
    out.push_back({CheckLevel::warn, "topology", "not read: " + f.topology_problem, "placement is disabled until hwloc can read the topology"});
  }
  return out;
}

std::string render_check_text(const std::vector<CheckLine>& lines) {
  std::string out;
  for (const auto& l : lines) {
    std::string level = level_name(l.level);
    level.resize(6, ' ');
    out += level + l.item + ": " + l.finding;
    if (!l.advice.empty()) {
      out += " -> " + l.advice;
    }
    out += "\n";
  }
  size_t fails = std::count_if(lines.begin(), lines.end(), [](const CheckLine& l) { return l.level == CheckLevel::fail; });
  size_t warns = std::count_if(lines.begin(), lines.end(), [](const CheckLine& l) { return l.level == CheckLevel::warn; });
  out += fails ? "result: not ready (" + std::to_string(fails) + " to fix" + (warns ? ", " + std::to_string(warns) + " to review" : "") + ")\n"
         : warns ? "result: ready (" + std::to_string(warns) + " to review)\n"
                 : "result: ready\n";
  return out;
}

std::string render_check_json(const std::vector<CheckLine>& lines) {
  nlohmann::json items = nlohmann::json::array();
  bool ready = true;
  for (const auto& l : lines) {
    items.push_back({{"level", l.level == CheckLevel::fail ? "fail" : level_name(l.level)}, {"item", l.item}, {"finding", l.finding}, {"advice", l.advice}});
    ready = ready && l.level != CheckLevel::fail;
  }
  nlohmann::json doc{{"ready", ready}, {"items", items}};
  return doc.dump(2) + "\n";
}

int check_exit_code(const std::vector<CheckLine>& lines) {
  bool failed = std::any_of(lines.begin(), lines.end(), [](const CheckLine& l) { return l.level == CheckLevel::fail; });
  return failed ? exit_code_for(ErrorKind::host_unsupported) : 0;
}

}  // namespace cexec
