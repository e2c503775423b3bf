// The host's MPI discovery, cached per user and node between jobs (issue 14): discovery reads a
// few hundred ELF files and runs `ompi_info -V`, 100-190 ms per node instance, for an answer that
// changes only when the host's MPI installation or the launch's search paths do.
//
// The record (factcache/record.hpp) lies in the user's private cexec directory (the rendezvous
// secret's: a node-local tmpfs where there is one), in a file named after a digest of the inputs
// (cexec's version, the host name, the launcher, PATH, LD_LIBRARY_PATH, CEXEC_MPI_CONF), and
// depends on every path the discovery looked at plus every PATH directory (where ompi_info is
// looked up). An mpi.conf error is never cached: it is thrown each time, as without the cache.
#pragma once

#include "bridge_plan.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cexec::mpi_bridge {

struct CachedDiscovery {
  std::optional<HostMpi> host;
  std::string note;  // for -v: "from the node cache `F`", or why discovery ran
};

// `cache_dir` empty: no cache, discovery runs every time.
CachedDiscovery discover_host_mpi_cached(const std::vector<std::string>& environ, std::string_view launcher,
                                         const std::string& cache_dir);

}  // namespace cexec::mpi_bridge
