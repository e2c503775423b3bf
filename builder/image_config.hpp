// Docker `docker save` and OCI image-layout archives: which files hold the config and the layers
// (manifest.json; index.json → manifest → blobs), and what the image config contributes to
// /.cexec/ (Env, Entrypoint + Cmd as the runscript, WorkingDir, Labels). Pure over JSON text.
#pragma once

#include "base/error.hpp"
#include "metadata.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace cexec::build {

// Paths inside the unpacked archive, already checked (relative, no "..").
struct ArchiveLayout {
  std::string config;
  std::vector<std::string> layers;  // bottom first
  bool operator==(const ArchiveLayout&) const = default;
};

// docker save's manifest.json: the first image.
Result<ArchiveLayout> parse_docker_manifest(std::string_view json);

// An OCI index (index.json, or a nested image index): the blob path of the manifest to use, the
// one for linux/`arch` when entries name platforms. `is_index` tells the caller to look again.
struct ManifestRef {
  std::string path;
  bool is_index = false;
};
Result<ManifestRef> parse_oci_index(std::string_view json, std::string_view arch);
Result<ArchiveLayout> parse_oci_manifest(std::string_view json);

// Env, Entrypoint/Cmd, WorkingDir and Labels of an image config (Docker and OCI use the same keys).
Result<ImageMetadata> metadata_from_image_config(std::string_view json);

}  // namespace cexec::build
