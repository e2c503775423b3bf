#include "registry_source.hpp"

#include "base/sys/syscalls.hpp"
#include "pull.hpp"

#include <cstdio>

namespace cexec::build {

PulledSource pull_for_build(const std::string& reference, Verbosity verbosity, const std::vector<std::string>& host_env,
                            const std::string& now, const RegistrySettings& settings) {
  registry::PullOptions options;
  options.env = host_env;
  options.cache = registry::cache_dirs(host_env, settings.shared_cache);
  options.insecure_registries = settings.insecure;
  options.pulled_at = now;
  options.verbose = verbosity == Verbosity::verbose || verbosity == Verbosity::debug;
  registry::PulledImage image = registry::pull_image(value_or_throw(registry::parse_reference(reference)), options);
  PulledSource out;
  out.config_json = sys::read_file(image.config_path, 64 << 20);
  out.layer_paths = image.layer_paths;
  out.summary = "pulled " + image.reference + " (manifest " + image.manifest_digest + ", " +
                std::to_string(image.layer_paths.size()) + " layers, " + std::to_string(image.downloaded) +
                " blobs downloaded, the rest cached in " + options.cache.user + ")";
  return out;
}

}  // namespace cexec::build
