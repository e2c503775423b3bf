#include "bridge_plan.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace cexec::mpi_bridge {

namespace {

// PMIx renamed its selection variables; a newer client inside the image reads the MCA names,
// an older server outside exports the old ones.
constexpr std::pair<std::string_view, std::string_view> pmix_renames[] = {
    {"PMIX_PTL_MODULE", "PMIX_MCA_ptl"},
    {"PMIX_SECURITY_MODE", "PMIX_MCA_psec"},
    {"PMIX_GDS_MODULE", "PMIX_MCA_gds"},
};

constexpr std::string_view glibc_sonames[] = {
    "libc.so.6",       "libm.so.6",   "libpthread.so.0", "libdl.so.2",    "librt.so.1",
    "libutil.so.1",    "libresolv.so.2", "libanl.so.1",  "libnsl.so.1",   "ld-linux-x86-64.so.2",
    "ld-linux-aarch64.so.1", "libmvec.so.1", "libBrokenLocale.so.1", "libthread_db.so.1", "libc_malloc_debug.so.0"};
constexpr std::string_view runtime_sonames[] = {"libstdc++.so.6", "libgcc_s.so.1"};


std::string describe_mpi(const MpiLibrary& m) {
  std::string out = m.implementation.empty() ? std::string(family_name(m.family)) : m.implementation;
  out += " " + m.soname;
  if (!m.file_version.empty()) {
    out += " (" + m.file_version.str() + ")";
  }
  return out + " at " + m.path;
}

MountOp ro_bind(const std::string& src, const std::string& dst, bool optional) {
  MountOp op;
  op.kind = MountKind::bind;
  op.source = src;
  op.destination = dst;
  op.read_only = true;
  op.restrict = !(dst == "/dev" || dst.starts_with("/dev/"));  // device nodes need dev
  op.optional = optional;
  return op;
}

// The refusal to show in one line: an ABI or closure problem first; among missing symbol versions
// the newest (what the image's glibc would have to reach), with the count of the others.
std::vector<Verdict>::const_iterator headline(const std::vector<Verdict>& verdicts) {
  auto best = verdicts.end();
  std::optional<Version> best_version;
  for (auto it = verdicts.begin(); it != verdicts.end(); ++it) {
    if (it->compatible) {
      continue;
    }
    auto at = it->subject.rfind('_');
    auto v = it->subject.find(" needs ") != std::string::npos && at != std::string::npos
                 ? parse_version(std::string_view(it->subject).substr(at + 1))
                 : std::nullopt;
    if (!v) {
      return it;  // not a symbol-version need: the most basic problem
    }
    if (best == verdicts.end() || compare_versions(*v, *best_version) > 0) {
      best = it;
      best_version = v;
    }
  }
  return best;
}

}  // namespace

std::optional<Policy> parse_policy(std::string_view text) {
  if (text == "auto" || text.empty()) {
    return Policy::automatic;
  }
  if (text == "host") {
    return Policy::host;
  }
  if (text == "image") {
    return Policy::image;
  }
  if (text == "off") {
    return Policy::off;
  }
  return std::nullopt;
}

std::string_view policy_name(Policy p) {
  switch (p) {
    case Policy::automatic:
      return "auto";
    case Policy::host:
      return "host";
    case Policy::image:
      return "image";
    case Policy::off:
      return "off";
  }
  return "auto";
}

bool is_glibc_soname(std::string_view soname) {
  return std::find(std::begin(glibc_sonames), std::end(glibc_sonames), soname) != std::end(glibc_sonames);
}

bool is_runtime_soname(std::string_view soname) {
  return std::find(std::begin(runtime_sonames), std::end(runtime_sonames), soname) != std::end(runtime_sonames);
}

std::set<std::string> injected_sonames(const HostMpi& host, const ImageFacts& image) {
  std::set<std::string> out;
  for (const auto& lib : host.libraries) {
    if (is_glibc_soname(lib.soname) || (is_runtime_soname(lib.soname) && image.libraries.contains(lib.soname))) {
      continue;
    }
    out.insert(lib.soname);
  }
  return out;
}

BridgePlan plan_bridge(const std::optional<HostMpi>& host, const ImageFacts& image, Policy policy,
                       const std::vector<std::string>& host_environ) {
  BridgePlan p;
  p.policy = policy;
  if (policy == Policy::off) {
    p.notices.push_back("info: mpi: bridge off (--mpi=off)");
    return p;
  }
  // The launcher's values are the same for every rank of the job on this node.
  for (const auto& [old_name, mca_name] : pmix_renames) {
    if (auto value = try_environ_value(host_environ, old_name)) {
      p.env.push_back(EnvOp{EnvOpKind::set_default, std::string(mca_name), std::string(*value)});
    }
  }
  if (policy == Policy::image) {
    p.notices.push_back("info: mpi: the image's own MPI is used (--mpi=image)");
    return p;
  }
  if (!host) {
    p.verdicts.push_back(Verdict{false, "host MPI", "no host MPI found (no mpi.conf, no Open MPI or MPICH launcher on PATH)"});
  } else {
    p.verdicts.push_back(judge_mpi(host->mpi, image.mpi));
    for (const auto& problem : host->problems) {
      p.verdicts.push_back(Verdict{false, "host closure", problem});
    }
    std::set<std::string> injected = injected_sonames(*host, image);
    for (const auto& lib : host->libraries) {
      if (!injected.contains(lib.soname)) {
        continue;
      }
      for (auto& v : judge_version_needs(lib.soname, lib.needs, injected, image.version_defs)) {
        p.verdicts.push_back(std::move(v));
      }
    }
    for (const auto& plugin : host->plugins) {
      auto verdicts = judge_version_needs(plugin.path, plugin.needs, injected, image.version_defs);
      // Plugins are many; only their failures are worth a line each.
      for (auto& v : verdicts) {
        if (!v.compatible) {
          p.verdicts.push_back(std::move(v));
        }
      }
    }
  }
  p.compatible = std::all_of(p.verdicts.begin(), p.verdicts.end(), [](const Verdict& v) { return v.compatible; });
  for (const auto& line : group_verdicts(p.verdicts)) {
    p.notices.push_back("info: mpi: " + line);
  }
  if (!p.compatible) {
    auto first = headline(p.verdicts);
    size_t failures = std::count_if(p.verdicts.begin(), p.verdicts.end(), [](const Verdict& v) { return !v.compatible; });
    std::string reason = first->reason + (failures > 1 ? " (and " + std::to_string(failures - 1) + " more problems)" : "");
    if (policy == Policy::host) {
      p.refusal = "--mpi=host: the host's MPI cannot be injected into image: " + reason;
    } else if (host) {
      // An image without a C library (static programs only) cannot load any MPI library: nothing
      // to warn about.
      bool dynamic = image.libraries.contains("libc.so.6");
      p.notices.push_back(std::string(dynamic ? "warn" : "info") + ": mpi: the host's MPI is not injected (" + reason +
                          "); running the image's own MPI" + (image.mpi ? "" : " (the image has none)"));
    }
    return p;
  }
  p.inject = true;
  p.notices.insert(p.notices.begin(), "info: mpi: injecting host " + describe_mpi(host->mpi) + " (" + host->origin + ")");
  std::set<std::string> injected = injected_sonames(*host, image);
  for (const auto& lib : host->libraries) {
    if (!injected.contains(lib.soname)) {
      continue;
    }
    std::string dst = std::string(injected_lib_dir) + "/" + lib.soname;
    p.mounts.push_back(ro_bind(lib.path, dst, false));
    p.files.emplace_back(lib.path, dst);
    // Over the image's own copy too, so programs that ignore LD_LIBRARY_PATH (DT_RPATH) get it.
    if (auto in_image = image.libraries.find(lib.soname); in_image != image.libraries.end()) {
      p.mounts.push_back(ro_bind(lib.path, in_image->second, false));
      p.files.emplace_back(lib.path, in_image->second);
    }
  }
  for (const auto& dir : host->plugin_dirs) {
    p.mounts.push_back(ro_bind(dir, dir, true));
    p.files.emplace_back(dir, dir);
  }
  for (const auto& [src, dst] : host->binds) {
    p.mounts.push_back(ro_bind(src, dst, true));
    p.files.emplace_back(src, dst);
  }
  p.env.push_back(EnvOp{EnvOpKind::prepend_path, "LD_LIBRARY_PATH", injected_lib_dir});
  for (const auto& e : host->env) {
    p.env.push_back(e);
  }
  return p;
}

namespace {

// "libX.so.1 needs GLIBC_2.34" -> {"libX.so.1", "GLIBC_2.34"}; a subject without " needs " is the
// file itself.
std::pair<std::string, std::string> split_subject(const std::string& subject) {
  auto at = subject.find(" needs ");
  if (at == std::string::npos) {
    return {subject, ""};
  }
  return {subject.substr(0, at), subject.substr(at + 7)};
}

std::string base_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string joined(const std::vector<std::string>& items, size_t shown) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < shown; ++i) {
    out += (i ? ", " : "") + items[i];
  }
  if (items.size() > shown) {
    out += " and " + std::to_string(items.size() - shown) + " more";
  }
  return out;
}

}  // namespace

std::vector<std::string> group_verdicts(const std::vector<Verdict>& verdicts) {
  // Refusals of one file, in first-seen order: what it needs, and the first reason.
  struct Refused {
    std::string file;
    std::vector<std::string> needs;
    std::string reason;
  };
  std::vector<Refused> refused;
  std::vector<std::string> lines;
  std::vector<std::string> fine;  // files whose every need is met: one counted line
  for (const auto& v : verdicts) {
    // Not a structured binding: Clang 14 cannot capture one in the lambda below.
    auto split = split_subject(v.subject);
    const std::string& file = split.first;
    const std::string& need = split.second;
    if (v.compatible) {
      if (need.empty() && v.reason.starts_with("every library and symbol version")) {
        fine.push_back(file);
      } else {
        lines.push_back("ok " + v.subject + ": " + v.reason);
      }
      continue;
    }
    if (need.empty()) {
      lines.push_back("REFUSED " + v.subject + ": " + v.reason);
      continue;
    }
    auto it = std::find_if(refused.begin(), refused.end(), [&](const Refused& r) { return r.file == file; });
    if (it == refused.end()) {
      refused.push_back(Refused{file, {need}, v.reason});
    } else {
      it->needs.push_back(need);
    }
  }
  // Files refused for exactly the same needs (typically many plugins) share one line; after
  // `shown_refusals` lines, one more counts the rest.
  constexpr size_t shown_refusals = 8;
  size_t refusal_lines = 0;
  size_t files_not_shown = 0;
  std::vector<bool> done(refused.size(), false);
  for (size_t i = 0; i < refused.size(); ++i) {
    if (done[i]) {
      continue;
    }
    std::vector<std::string> files{base_name(refused[i].file)};
    for (size_t j = i + 1; j < refused.size(); ++j) {
      if (!done[j] && refused[j].needs == refused[i].needs) {
        files.push_back(base_name(refused[j].file));
        done[j] = true;
      }
    }
    const auto& r = refused[i];
    if (++refusal_lines > shown_refusals) {
      files_not_shown += files.size();
      continue;
    }
    std::string reason = r.reason;
    if (files.size() > 1) {
      // The reason names the first file; for a group, name the count instead.
      auto at = reason.rfind(" (needed by ");
      reason = (at == std::string::npos ? reason : reason.substr(0, at)) + " (needed by " + std::to_string(files.size()) + " files)";
    }
    if (r.needs.size() > 1) {
      reason += " (and " + std::to_string(r.needs.size() - 1) + " more)";
    }
    lines.push_back("REFUSED " + joined(files, 3) + (files.size() > 1 ? " need " : " needs ") + joined(r.needs, 4) + ": " + reason);
  }
  if (files_not_shown > 0) {
    lines.push_back("REFUSED " + std::to_string(files_not_shown) + " more " + (files_not_shown == 1 ? "file" : "files") +
                    " for symbol versions or libraries the image lacks (`cexec mpi check IMAGE` lists every verdict)");
  }
  if (fine.size() == 1) {
    lines.push_back("ok " + fine[0] + ": every library and symbol version it needs is in the image or injected");
  } else if (!fine.empty()) {
    lines.push_back("ok " + std::to_string(fine.size()) + " libraries (" + joined(fine, 3) +
                    "): every library and symbol version they need is in the image or injected");
  }
  return lines;
}

namespace {

std::string env_op_text(const EnvOp& e) {
  switch (e.kind) {
    case EnvOpKind::set:
      return e.name + "=" + e.value;
    case EnvOpKind::set_default:
      return e.name + "=" + e.value + " (when unset)";
    case EnvOpKind::prepend_path:
      return e.name + "=" + e.value + ":$" + e.name;
  }
  return e.name;
}

}  // namespace

std::string render_text(const std::optional<HostMpi>& host, const ImageFacts& image, const BridgePlan& plan) {
  std::string out;
  out += "host MPI:  " + (host ? describe_mpi(host->mpi) + " (" + host->origin + ")" : std::string("none found")) + "\n";
  out += "image MPI: " + (image.mpi ? describe_mpi(*image.mpi) : std::string("none")) + "\n";
  out += "image glibc: " + (image.glibc.empty() ? std::string("unknown") : image.glibc) +
         ", libstdc++: " + (image.libstdcxx.empty() ? std::string("none") : image.libstdcxx) + "\n";
  out += "policy: --mpi=" + std::string(policy_name(plan.policy)) + "\n";
  out += "verdicts:\n";
  for (const auto& v : plan.verdicts) {
    out += std::string("  ") + (v.compatible ? "ok       " : "REFUSED  ") + v.subject + ": " + v.reason + "\n";
  }
  out += "injected files:" + std::string(plan.files.empty() ? " none\n" : "\n");
  for (const auto& [src, dst] : plan.files) {
    out += "  " + src + " -> " + dst + "\n";
  }
  out += "environment:" + std::string(plan.env.empty() ? " none\n" : "\n");
  for (const auto& e : plan.env) {
    out += "  " + env_op_text(e) + "\n";
  }
  out += std::string("result: ") + (plan.compatible ? "compatible" : "incompatible") + "\n";
  return out;
}

std::string render_json(const std::optional<HostMpi>& host, const ImageFacts& image, const BridgePlan& plan) {
  auto mpi_json = [](const MpiLibrary& m) {
    return nlohmann::json{{"family", std::string(family_name(m.family))},
                          {"soname", m.soname},
                          {"path", m.path},
                          {"file_version", m.file_version.str()},
                          {"implementation", m.implementation}};
  };
  nlohmann::json j;
  j["host_mpi"] = host ? mpi_json(host->mpi) : nlohmann::json(nullptr);
  if (host) {
    j["host_mpi"]["origin"] = host->origin;
  }
  j["image_mpi"] = image.mpi ? mpi_json(*image.mpi) : nlohmann::json(nullptr);
  j["image_glibc"] = image.glibc;
  j["image_libstdcxx"] = image.libstdcxx;
  j["policy"] = std::string(policy_name(plan.policy));
  j["compatible"] = plan.compatible;
  j["verdicts"] = nlohmann::json::array();
  for (const auto& v : plan.verdicts) {
    j["verdicts"].push_back({{"subject", v.subject}, {"compatible", v.compatible}, {"reason", v.reason}});
  }
  j["files"] = nlohmann::json::array();
  for (const auto& [src, dst] : plan.files) {
    j["files"].push_back({{"host", src}, {"container", dst}});
  }
  j["environment"] = nlohmann::json::array();
  for (const auto& e : plan.env) {
    j["environment"].push_back(env_op_text(e));
  }
  return j.dump(2) + "\n";
}

}  // namespace cexec::mpi_bridge
