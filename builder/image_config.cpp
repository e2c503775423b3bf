#include "image_config.hpp"

#include "archive_rules.hpp"

#include <nlohmann/json.hpp>

namespace cexec::build {

namespace {

using nlohmann::json;

Failure invalid(const std::string& what) {
  return Failure{ErrorKind::image_invalid, what};
}

Result<json> parse_json(std::string_view text, const char* what) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) {
    return invalid(std::string(what) + ": not valid JSON");
  }
  return j;
}

std::vector<std::string> string_array(const json& j) {
  std::vector<std::string> out;
  if (j.is_array()) {
    for (const auto& e : j) {
      if (e.is_string()) {
        out.push_back(e.get<std::string>());
      }
    }
  }
  return out;
}

// A value of an unexpected JSON type makes nlohmann throw; that is malformed input, not a bug.
template <typename F>
auto guarded(const char* what, F&& parse) -> decltype(parse()) {
  try {
    return parse();
  } catch (const nlohmann::json::exception& e) {
    return invalid(std::string(what) + ": " + e.what());
  }
}

std::string quoted_words(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    out += ' ';
    out += shell_quote(w);
  }
  return out;
}

// Docker's rule: arguments given to `run` replace Cmd; Entrypoint always stays.
std::string runscript_for(const std::vector<std::string>& entrypoint, const std::vector<std::string>& cmd,
                          const std::string& workdir) {
  std::string s = "#!/bin/sh\n# From the image config: Entrypoint + Cmd; arguments replace Cmd.\n";
  if (!workdir.empty()) {
    s += "cd " + shell_quote(workdir) + " || exit 1\n";
  }
  if (entrypoint.empty() && cmd.empty()) {
    return s + "exec /bin/sh \"$@\"\n";
  }
  std::string ep = quoted_words(entrypoint);
  s += "if [ $# -gt 0 ]; then\n  exec" + (ep.empty() ? std::string() : ep) + " \"$@\"\nfi\n";
  return s + "exec" + ep + quoted_words(cmd) + "\n";
}

Result<ArchiveLayout> parse_docker_manifest_unguarded(std::string_view text) {
  auto j = parse_json(text, "manifest.json");
  if (!j) {
    return j.failure();
  }
  const json& m = j.value();
  if (!m.is_array() || m.empty() || !m[0].is_object() || !m[0].contains("Config") || !m[0]["Config"].is_string()) {
    return invalid("manifest.json: expected a list of images with Config and Layers");
  }
  ArchiveLayout layout;
  auto config = normalize_member_path(m[0]["Config"].get<std::string>());
  if (!config) {
    return config.failure();
  }
  layout.config = config.value();
  for (const auto& layer : string_array(m[0].value("Layers", json::array()))) {
    auto p = normalize_member_path(layer);
    if (!p) {
      return p.failure();
    }
    layout.layers.push_back(p.value());
  }
  return layout;
}

Result<ManifestRef> parse_oci_index_unguarded(std::string_view text, std::string_view arch) {
  auto j = parse_json(text, "OCI index");
  if (!j) {
    return j.failure();
  }
  const json& index = j.value();
  if (!index.is_object() || !index.contains("manifests") || !index["manifests"].is_array() || index["manifests"].empty()) {
    return invalid("OCI index: no manifests");
  }
  const json* chosen = nullptr;
  for (const auto& m : index["manifests"]) {
    const json platform = m.value("platform", json::object());
    if (platform.is_object() && platform.value("os", "linux") == "linux" &&
        platform.value("architecture", std::string(arch)) == arch) {
      chosen = &m;
      break;
    }
  }
  if (chosen == nullptr) {
    return invalid("OCI index: no manifest for linux/" + std::string(arch));
  }
  auto path = blob_path(chosen->value("digest", ""));
  if (!path) {
    return path.failure();
  }
  return ManifestRef{path.value(), chosen->value("mediaType", "") == "application/vnd.oci.image.index.v1+json"};
}

Result<ArchiveLayout> parse_oci_manifest_unguarded(std::string_view text) {
  auto j = parse_json(text, "OCI manifest");
  if (!j) {
    return j.failure();
  }
  const json& m = j.value();
  if (!m.is_object() || !m.contains("config") || !m["config"].is_object()) {
    return invalid("OCI manifest: no config");
  }
  ArchiveLayout layout;
  auto config = blob_path(m["config"].value("digest", ""));
  if (!config) {
    return config.failure();
  }
  layout.config = config.value();
  for (const auto& layer : m.value("layers", json::array())) {
    auto p = blob_path(layer.is_object() ? layer.value("digest", "") : "");
    if (!p) {
      return p.failure();
    }
    layout.layers.push_back(p.value());
  }
  return layout;
}

Result<ImageMetadata> metadata_from_image_config_unguarded(std::string_view text) {
  auto j = parse_json(text, "image config");
  if (!j) {
    return j.failure();
  }
  if (!j.value().is_object()) {
    return invalid("image config: not a JSON object");
  }
  const json config = j.value().value("config", json::object());
  if (!config.is_object()) {
    return invalid("image config: `config` is not an object");
  }
  ImageMetadata meta;
  std::string env;
  for (const auto& entry : string_array(config.value("Env", json::array()))) {
    size_t eq = entry.find('=');
    if (eq == std::string::npos) {
      continue;
    }
    auto line = render_env_line(entry.substr(0, eq), entry.substr(eq + 1));
    if (!line) {
      return line.failure();
    }
    env += line.value();
  }
  meta.environment = env;
  std::string workdir = config.contains("WorkingDir") && config["WorkingDir"].is_string() ? config["WorkingDir"].get<std::string>() : "";
  meta.runscript = runscript_for(string_array(config.value("Entrypoint", json::array())),
                                 string_array(config.value("Cmd", json::array())), workdir);
  const json labels = config.value("Labels", json::object());
  if (labels.is_object()) {
    for (const auto& [name, value] : labels.items()) {
      if (value.is_string() && is_valid_label_name(name)) {
        meta.labels.emplace_back(name, value.get<std::string>());
      }
    }
  }
  return meta;
}


}  // namespace

Result<ArchiveLayout> parse_docker_manifest(std::string_view text) {
  return guarded("manifest.json", [&] { return parse_docker_manifest_unguarded(text); });
}

Result<ManifestRef> parse_oci_index(std::string_view text, std::string_view arch) {
  return guarded("OCI index", [&] { return parse_oci_index_unguarded(text, arch); });
}

Result<ArchiveLayout> parse_oci_manifest(std::string_view text) {
  return guarded("OCI manifest", [&] { return parse_oci_manifest_unguarded(text); });
}

Result<ImageMetadata> metadata_from_image_config(std::string_view text) {
  return guarded("image config", [&] { return metadata_from_image_config_unguarded(text); });
}

}  // namespace cexec::build
