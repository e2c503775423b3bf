#include "commands/commands.hpp"

#include "cache.hpp"
#include "host_facts.hpp"

#include <cstdio>

namespace cexec {

int run_cache(const CacheOptions& options, const Environ& env) {
  Config config = load_config(env);
  registry::CacheDirs dirs = registry::cache_dirs(env, config.registry_shared_cache);
  if (options.clean) {
    uint64_t freed = registry::clean_cache(dirs);
    std::printf("cexec: cleaned %s (%llu bytes freed)\n", dirs.user.c_str(), static_cast<unsigned long long>(freed));
  } else {
    std::fputs(registry::describe_cache(dirs).c_str(), stdout);
  }
  return 0;
}

}  // namespace cexec
