#include "manifest.hpp"

#include "reference.hpp"

#include <nlohmann/json.hpp>

namespace cexec::registry {

namespace {

using nlohmann::json;

Failure bad(const std::string& why) {
  return Failure{ErrorKind::image_invalid, "manifest: " + why};
}

std::string string_field(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

Result<Descriptor> read_descriptor(const json& d, const std::string& what) {
  if (!d.is_object()) {
    return bad(what + " is not an object");
  }
  Descriptor out;
  out.media_type = string_field(d, "mediaType");
  out.digest = string_field(d, "digest");
  if (!is_valid_digest(out.digest)) {
    return bad(what + " has no sha256 digest (`" + out.digest.substr(0, 80) + "`)");
  }
  auto size = d.find("size");
  if (size == d.end() || !size->is_number_unsigned()) {
    return bad(what + " has no size");
  }
  out.size = size->get<uint64_t>();
  if (d.contains("urls")) {
    return bad(what + " is a foreign layer (served from other URLs), which cexec does not fetch");
  }
  return out;
}

bool is_layer_type(std::string_view t) {
  constexpr std::string_view known[] = {
      "application/vnd.oci.image.layer.v1.tar",
      "application/vnd.oci.image.layer.v1.tar+gzip",
      "application/vnd.oci.image.layer.v1.tar+zstd",
      "application/vnd.docker.image.rootfs.diff.tar.gzip",
      "application/vnd.docker.image.rootfs.diff.tar",
      "application/vnd.oci.image.layer.nondistributable.v1.tar",
      "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
      "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
  };
  for (auto k : known) {
    if (t == k) {
      return true;
    }
  }
  return false;
}

Result<ParsedManifest> parse_index(const json& doc, std::string_view arch) {
  auto list = doc.find("manifests");
  if (list == doc.end() || !list->is_array()) {
    return bad("the index has no \"manifests\" list");
  }
  std::string seen;
  for (size_t i = 0; i < list->size(); ++i) {
    const json& entry = (*list)[i];
    auto d = read_descriptor(entry, "index entry " + std::to_string(i));
    if (!d) {
      return d.failure();
    }
    auto platform = entry.is_object() ? entry.find("platform") : entry.end();
    if (platform == entry.end() || !platform->is_object()) {
      continue;  // attestations and other non-image entries name no platform
    }
    std::string os = string_field(*platform, "os");
    std::string a = string_field(*platform, "architecture");
    seen += (seen.empty() ? "" : ", ") + os + "/" + a;
    if (os == "linux" && a == arch) {
      ParsedManifest out;
      out.is_index = true;
      out.chosen = std::move(d).value();
      return out;
    }
  }
  return Failure{ErrorKind::image_invalid, "the image has no linux/" + std::string(arch) + " variant (it has: " +
                                               (seen.empty() ? "none" : seen) + ")"};
}

Result<ParsedManifest> parse_image(const json& doc) {
  auto config = doc.find("config");
  if (config == doc.end()) {
    return bad("no \"config\"");
  }
  ParsedManifest out;
  auto c = read_descriptor(*config, "the config");
  if (!c) {
    return c.failure();
  }
  out.image.config = std::move(c).value();
  auto layers = doc.find("layers");
  if (layers == doc.end() || !layers->is_array()) {
    return bad("no \"layers\" list");
  }
  for (size_t i = 0; i < layers->size(); ++i) {
    auto d = read_descriptor((*layers)[i], "layer " + std::to_string(i + 1));
    if (!d) {
      return d.failure();
    }
    if (!is_layer_type(d.value().media_type)) {
      return bad("layer " + std::to_string(i + 1) + " has media type `" + d.value().media_type.substr(0, 100) +
                 "`, not a tar layer");
    }
    out.image.layers.push_back(std::move(d).value());
  }
  return out;
}

}  // namespace

std::string manifest_accept_header() {
  return std::string("Accept: ") + media::oci_index + ", " + media::oci_manifest + ", " + media::docker_list + ", " +
         media::docker_manifest;
}

std::string registry_error_code(std::string_view body) {
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("errors") || !doc["errors"].is_array() ||
      doc["errors"].empty() || !doc["errors"][0].is_object()) {
    return "";
  }
  return string_field(doc["errors"][0], "code");
}

std::string oci_architecture(std::string_view machine) {
  if (machine == "x86_64") {
    return "amd64";
  }
  if (machine == "aarch64") {
    return "arm64";
  }
  return std::string(machine);
}

Result<ParsedManifest> parse_manifest(std::string_view text, std::string_view content_type, std::string_view arch) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return bad("not a JSON object");
  }
  std::string type = string_field(doc, "mediaType");
  if (type.empty()) {
    type = content_type.substr(0, content_type.find(';'));
  }
  auto version = doc.find("schemaVersion");
  if (version != doc.end() && *version == 1) {
    return bad("Docker schema 1 manifests are not supported (push the image again with a current client)");
  }
  if (type == media::oci_index || type == media::docker_list) {
    return parse_index(doc, arch);
  }
  if (type == media::oci_manifest || type == media::docker_manifest) {
    return parse_image(doc);
  }
  // An OCI manifest may omit mediaType; tell the kinds apart by their fields.
  if (type.empty() || type == "application/json") {
    return doc.contains("manifests") ? parse_index(doc, arch) : parse_image(doc);
  }
  return bad("unsupported media type `" + type.substr(0, 100) + "`");
}

}  // namespace cexec::registry
