#include "registry_source.hpp"

#include "../host_facts.hpp"
#include "../sys/syscalls.hpp"
#include "pull.hpp"

#include <cstdio>

namespace cexec::build {

PulledSource pull_for_build(const std::string& reference, Verbosity verbosity, const std::vector<std::string>& host_env,
                            const std::string& now) {
  std::vector<char*> env = sys::c_string_array(host_env);
  Config config = load_config(env.data());
  registry::PullOptions options;
  options.env = host_env;
  options.cache = registry::cache_dirs(host_env, config.registry_shared_cache);
  options.insecure_registries = config.insecure_registries;
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

int run_cache_command(const CacheOptions& options, char** environ) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    env.emplace_back(*e);
  }
  Config config = load_config(environ);
  registry::CacheDirs dirs = registry::cache_dirs(env, config.registry_shared_cache);
  if (options.clean) {
    uint64_t freed = registry::clean_cache(dirs);
    std::printf("cexec: cleaned %s (%llu bytes freed)\n", dirs.user.c_str(), static_cast<unsigned long long>(freed));
  } else {
    std::fputs(registry::describe_cache(dirs).c_str(), stdout);
  }
  return 0;
}

}  // namespace cexec::build
