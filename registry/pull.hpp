// `cexec pull` and `Bootstrap: docker`: fetches an image's manifest, config and layers from a
// registry (the OCI distribution API) into the blob cache, each blob checked against its digest,
// and hands the builder the files, which it applies as it does an archive's (builder.cpp).
#pragma once

#include "cache.hpp"
#include "reference.hpp"

#include <string>
#include <vector>

namespace cexec::registry {

struct PullOptions {
  std::vector<std::string> env;                  // the caller's ("NAME=VALUE"): HOME, REGISTRY_AUTH_FILE...
  CacheDirs cache;
  std::vector<std::string> insecure_registries;  // cexec.conf `insecure-registry`: plain HTTP
  bool verbose = false;                          // a line per blob: downloaded or cached
  std::string architecture;                      // OCI name; empty: this machine's
  std::string pulled_at;                         // ISO 8601 (UTC), recorded for `cexec cache list`
};

struct PulledImage {
  std::string reference;        // docker://host/repo:tag
  std::string manifest_digest;  // the image manifest's
  std::string config_path;      // files in the cache
  std::vector<std::string> layer_paths;  // bottom first
  unsigned downloaded = 0;      // blobs fetched by this pull (the others were cached)
};

// Throws Error: input_missing (unknown repository or tag), registry (unauthorized, unreachable,
// a failing registry), image_invalid (digest mismatch, unusable manifest).
PulledImage pull_image(const Reference& ref, const PullOptions& options);

// Where credentials are read: $REGISTRY_AUTH_FILE, else $DOCKER_CONFIG/config.json, else
// ~/.docker/config.json; "" when none of these can be named.
std::string auth_file_path(const std::vector<std::string>& env);

}  // namespace cexec::registry
