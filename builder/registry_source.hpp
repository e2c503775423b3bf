// The builder's side of a registry pull (Bootstrap: docker, `cexec pull`): the admin's registry
// settings from cexec.conf, the caller's cache, and the pulled image as the builder applies it.
#pragma once

#include "builder/build_options.hpp"
#include "builder/build_plan.hpp"

#include <string>
#include <vector>

namespace cexec::build {

struct PulledSource {
  std::string config_json;               // the image config (Env, Entrypoint, Cmd...)
  std::vector<std::string> layer_paths;  // cached, verified blobs, bottom first
  std::string summary;                   // "pulled REF (manifest sha256:..., N layers, M downloaded)"
};

// Pulls `reference` (docker://...) into the cache as the calling user. Throws Error.
// `now` (ISO 8601, UTC) is recorded in the cache's image list.
PulledSource pull_for_build(const std::string& reference, Verbosity verbosity, const std::vector<std::string>& host_env,
                            const std::string& now, const RegistrySettings& settings);


}  // namespace cexec::build
