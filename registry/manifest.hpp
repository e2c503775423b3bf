// Manifests as registries serve them, pure: image indexes and Docker manifest lists (one entry is
// chosen: linux and the host's architecture), and image manifests (Docker schema 2 or OCI: the
// config blob and the layers, bottom first). Every digest is checked for form here; the blobs'
// content is checked against them when downloaded (cache.hpp).
#pragma once

#include "base/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cexec::registry {

namespace media {
inline constexpr const char* oci_index = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* oci_manifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* docker_list = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr const char* docker_manifest = "application/vnd.docker.distribution.manifest.v2+json";
}  // namespace media

// The Accept header of a manifest request: every kind parse_manifest understands.
std::string manifest_accept_header();

struct Descriptor {
  std::string media_type;
  std::string digest;  // "sha256:<64 hex>"
  uint64_t size = 0;
  bool operator==(const Descriptor&) const = default;
};

struct ImageManifest {
  Descriptor config;
  std::vector<Descriptor> layers;  // bottom first
};

struct ParsedManifest {
  bool is_index = false;
  Descriptor chosen;    // is_index: the manifest for linux/`arch`
  ImageManifest image;  // otherwise
};

// `content_type` is the response's Content-Type (the body's mediaType wins when present); `arch` is
// an OCI architecture name ("amd64", "arm64").
Result<ParsedManifest> parse_manifest(std::string_view json, std::string_view content_type, std::string_view arch);

// The first error code of a registry's JSON error body ({"errors":[{"code":"NAME_UNKNOWN",...}]}),
// or "" when the body is not one.
std::string registry_error_code(std::string_view body);

// The OCI architecture name of this machine's `uname -m`.
std::string oci_architecture(std::string_view machine);

}  // namespace cexec::registry
