#include "discovery_cache.hpp"

#include "discovery.hpp"
#include "base/environment.hpp"
#include "host_mpi_codec.hpp"
#include "base/sha256.hpp"
#include "store.hpp"

#include <cexec/version.hpp>
#include <unistd.h>

namespace cexec::mpi_bridge {

namespace {

std::string hostname() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return name;
}

factcache::Inputs inputs_of(const std::vector<std::string>& environ, std::string_view launcher) {
  factcache::Inputs inputs{{"cexec", std::string(version_string) + " " + commit_string},
                           {"host", hostname()},
                           {"launcher", std::string(launcher)}};
  for (const char* name : {"PATH", "LD_LIBRARY_PATH", "CEXEC_MPI_CONF"}) {
    auto value = try_environ_value(environ, name);
    inputs.emplace_back(name, value ? std::string(*value) : std::string("\x01unset"));
  }
  return inputs;
}

std::string cache_file(const std::string& dir, const factcache::Inputs& inputs) {
  std::string key;
  for (const auto& [name, value] : inputs) {
    key += name + '=' + value + '\n';
  }
  return dir + "/host-mpi-" + sha256_hex(key).substr(0, 16) + ".cache";
}

}  // namespace

CachedDiscovery discover_host_mpi_cached(const std::vector<std::string>& environ, std::string_view launcher,
                                         const std::string& cache_dir) {
  if (cache_dir.empty()) {
    return CachedDiscovery{discover_host_mpi(environ, launcher), "host MPI discovered (no private cache directory)"};
  }
  factcache::Inputs inputs = inputs_of(environ, launcher);
  std::string file = cache_file(cache_dir, inputs);
  std::string why;
  if (auto payload = factcache::try_load(file, inputs, why)) {
    if (auto host = decode_host_mpi(*payload)) {
      return CachedDiscovery{std::move(*host), "host MPI from the node cache `" + file + "`"};
    }
    why = "its answer is malformed";
  }
  std::vector<std::string> touched;
  CachedDiscovery out{discover_host_mpi(environ, launcher, &touched), "host MPI discovered (cache: " + why + ")"};
  for (const auto& dir : split_nonempty(try_environ_value(environ, "PATH").value_or(""), ':')) {
    touched.push_back(dir);
  }
  std::string not_stored;
  if (!factcache::store(file, inputs, touched, encode_host_mpi(out.host), not_stored)) {
    out.note += "; not cached: " + not_stored;
  }
  return out;
}

}  // namespace cexec::mpi_bridge
