#include "build_plan.hpp"
#include "base/text.hpp"

#include "reference.hpp"
#include "sif.hpp"

#include <algorithm>
#include <charconv>

namespace cexec::build {

namespace {

std::string parent_dir(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

std::optional<uint32_t> try_parse_u32(std::string_view s) {
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) {
    return std::nullopt;
  }
  return v;
}

// A SPEC that is not a definition file becomes the definition it stands for.
Definition definition_for(const SpecFacts& spec) {
  Definition def;
  def.origin = spec.path;
  def.from = spec.path;
  switch (spec.kind) {
    case SpecKind::directory: def.bootstrap = Bootstrap::directory; break;
    case SpecKind::squashfs: def.bootstrap = Bootstrap::localimage; break;
    case SpecKind::docker_archive: def.bootstrap = Bootstrap::docker_archive; break;
    case SpecKind::oci_archive: def.bootstrap = Bootstrap::oci_archive; break;
    case SpecKind::registry: def.bootstrap = Bootstrap::docker; break;
    case SpecKind::definition: break;
  }
  return def;
}

}  // namespace

SpecKind classify_spec_file(std::string_view head) {
  if (head.starts_with("hsqs") || sif::has_magic(head)) {  // a SIF unpacks its SquashFS partition
    return SpecKind::squashfs;
  }
  constexpr std::string_view compressed[] = {"\x1f\x8b", "BZh", "\xfd" "7zXZ", "\x28\xb5\x2f\xfd"};
  bool is_tar = head.size() >= 262 && head.substr(257, 5) == "ustar";
  for (auto magic : compressed) {
    is_tar |= head.starts_with(magic);
  }
  // Which archive layout it holds is decided once unpacked (docker save's manifest.json or OCI's index.json).
  return is_tar ? SpecKind::docker_archive : SpecKind::definition;
}

const char* fakeroot_name(Fakeroot f) {
  switch (f) {
    case Fakeroot::real_root: return "real root";
    case Fakeroot::subordinate_ids: return "user namespace with subordinate ids (newuidmap/newgidmap)";
    case Fakeroot::seccomp: return "user namespace with seccomp fakeroot (chown and set*id calls succeed as no-ops)";
  }
  return "?";
}

const char* stage_name(Stage s) {
  switch (s) {
    case Stage::bootstrap: return "bootstrap";
    case Stage::setup: return "setup";
    case Stage::files: return "files";
    case Stage::post: return "post";
    case Stage::metadata: return "metadata";
    case Stage::test: return "test";
    case Stage::squash: return "squash";
  }
  return "?";
}

std::optional<IdRange> try_find_subid_range(std::string_view text, std::string_view name, uint32_t id) {
  std::string id_text = std::to_string(id);
  while (!text.empty()) {
    std::string_view line = next_line(text);
    size_t c1 = line.find(':');
    size_t c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) {
      continue;
    }
    std::string_view who = line.substr(0, c1);
    if (who != name && who != id_text) {
      continue;
    }
    auto start = try_parse_u32(line.substr(c1 + 1, c2 - c1 - 1));
    auto count = try_parse_u32(line.substr(c2 + 1));
    if (start && count && *count > 0) {
      return IdRange{*start, *count};
    }
  }
  return std::nullopt;
}

FakerootPlan plan_fakeroot(const IdentityFacts& who) {
  FakerootPlan p;
  p.uid = who.uid;
  p.gid = who.gid;
  if (who.uid == 0) {
    p.mode = Fakeroot::real_root;
    return p;
  }
  auto subuid = try_find_subid_range(who.subuid_text, who.user_name, who.uid);
  // /etc/subgid is keyed by user too (newgidmap(1) looks the caller's name up in it).
  auto subgid = try_find_subid_range(who.subgid_text, who.user_name, who.uid);
  if (who.has_newidmap && subuid && subgid) {
    p.mode = Fakeroot::subordinate_ids;
    p.subuid = *subuid;
    p.subgid = *subgid;
  } else {
    p.mode = Fakeroot::seccomp;
  }
  return p;
}

bool is_supported_compression(std::string_view name) {
  constexpr std::string_view known[] = {"zstd", "gzip", "xz", "lz4", "lzo"};
  return std::find(std::begin(known), std::end(known), name) != std::end(known);
}

Result<BuildPlan> plan_build(const BuildOptions& options, const SpecFacts& spec, const IdentityFacts& who,
                             const std::string& build_date, std::string_view version) {
  if (!is_supported_compression(options.compression)) {
    return Failure{ErrorKind::usage, "--compression `" + options.compression + "`: use zstd, gzip, xz, lz4 or lzo"};
  }
  if (options.sandbox && options.compression != "zstd") {
    return Failure{ErrorKind::usage, "--compression applies to SquashFS output, not --sandbox"};
  }
  BuildPlan plan;
  if (spec.kind == SpecKind::definition) {
    auto def = parse_definition(spec.definition_text, spec.path);
    if (!def) {
      return def.failure();
    }
    plan.definition = std::move(def).value();
  } else {
    plan.definition = definition_for(spec);
  }
  plan.source_dir = parent_dir(spec.path);
  if (plan.definition.bootstrap == Bootstrap::docker) {
    // `From: ubuntu:22.04` as Apptainer takes it, or the docker:// form; kept canonical.
    auto ref = registry::parse_reference(plan.definition.from);
    if (!ref) {
      return Failure{ErrorKind::usage, plan.definition.origin + ": " + ref.failure().message};
    }
    plan.definition.from = ref.value().text();
  } else if (!plan.definition.from.empty() && !plan.definition.from.starts_with('/')) {
    plan.definition.from = plan.source_dir + "/" + plan.definition.from;  // relative to the definition file
  }
  const Definition& def = plan.definition;
  plan.output = options.output;
  plan.sandbox = options.sandbox;
  plan.force = options.force;
  plan.keep_failed = options.keep_failed;
  plan.compression = options.compression;
  plan.verbosity = options.verbosity;
  plan.fakeroot = plan_fakeroot(who);

  plan.stages.push_back(Stage::bootstrap);
  if (def.setup) {
    plan.stages.push_back(Stage::setup);
  }
  if (!def.files.empty()) {
    plan.stages.push_back(Stage::files);
  }
  if (def.post) {
    plan.stages.push_back(Stage::post);
  }
  plan.stages.push_back(Stage::metadata);
  if (def.test && !options.notest) {
    plan.stages.push_back(Stage::test);
  }
  if (!options.sandbox) {
    plan.stages.push_back(Stage::squash);
  }

  if (spec.kind == SpecKind::definition) {
    plan.metadata = metadata_from_definition(def);
  }
  std::string source = def.bootstrap == Bootstrap::debootstrap ? def.os_version + " " + def.mirror_url : def.from;
  plan.build_labels = {
      {"org.cexec.build-date", build_date},
      {"org.cexec.version", std::string(version)},
      {"org.cexec.bootstrap", bootstrap_name(def.bootstrap)},
      {"org.cexec.bootstrap-source", source},
  };
  return plan;
}

std::string describe(const BuildPlan& plan) {
  const Definition& def = plan.definition;
  std::string out = "build plan:\n";
  out += "  spec: " + def.origin + "\n";
  out += "  bootstrap: " + std::string(bootstrap_name(def.bootstrap));
  if (def.bootstrap == Bootstrap::debootstrap) {
    out += " " + def.os_version + " from " + def.mirror_url;
    if (!def.include.empty()) {
      out += " including";
      for (const auto& p : def.include) {
        out += " " + p;
      }
    }
  } else {
    out += " from " + def.from;
  }
  out += "\n  output: " + plan.output + (plan.sandbox ? " (directory)" : " (SquashFS, " + plan.compression + ")") + "\n";
  out += "  fakeroot: " + std::string(fakeroot_name(plan.fakeroot.mode)) + "\n";
  if (plan.fakeroot.mode == Fakeroot::subordinate_ids) {
    out += "    subuid " + std::to_string(plan.fakeroot.subuid.start) + "+" + std::to_string(plan.fakeroot.subuid.count) +
           ", subgid " + std::to_string(plan.fakeroot.subgid.start) + "+" + std::to_string(plan.fakeroot.subgid.count) + "\n";
  }
  out += "  stages:";
  for (Stage s : plan.stages) {
    out += std::string(" ") + stage_name(s);
  }
  out += "\n";
  for (const auto& f : def.files) {
    out += "  file: " + f.source + " -> " + f.destination + "\n";
  }
  for (const auto& [k, v] : plan.build_labels) {
    out += "  label: " + k + "=" + v + "\n";
  }
  return out;
}

}  // namespace cexec::build
