// The facts the bridge decides on, read once per node instance: the host's MPI (from mpi.conf or
// discovered from the launcher's tools on PATH, with its whole ELF closure and run-time plugins)
// and the image's libraries (its ld.so.cache and standard directories, read through the image
// root's fd; nothing from the image is ever run).
#pragma once

#include "bridge_plan.hpp"

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace cexec::mpi_bridge {

// `environ` is the launch's captured environment (PATH, LD_LIBRARY_PATH, CEXEC_MPI_CONF);
// `launcher` the launch context's ("openmpi", "hydra", "slurm", "pmix", "pmi" or "none").
// A malformed mpi.conf throws Error(config); no MPI found gives nullopt. `touched`, when given,
// receives every path the discovery looked at (present or not), for the cache to key on.
std::optional<HostMpi> discover_host_mpi(const std::vector<std::string>& environ, std::string_view launcher,
                                         std::vector<std::string>* touched = nullptr);

// `wanted` are the sonames whose version definitions the verdicts need (libc.so.6 and
// libstdc++.so.6 are always read).
ImageFacts read_image_facts(int image_root, const std::set<std::string>& wanted);
// The sonames the host MPI's libraries and plugins need (read_image_facts' `wanted`). Pure.
std::set<std::string> wanted_sonames(const std::optional<HostMpi>& host);

// Discovery, image facts and the plan in one call, as the node instance and `cexec mpi check` use it.
struct BridgeOutcome {
  std::optional<HostMpi> host;
  ImageFacts image;
  BridgePlan plan;
  std::string discovery_note;  // where the host facts came from (discovery_cache.hpp)
};
// `cache_dir`: the user's private directory for the node's cached discovery (empty: none).
BridgeOutcome run_bridge(const std::vector<std::string>& environ, std::string_view launcher, Policy policy, int image_root,
                         const std::string& cache_dir = {});

}  // namespace cexec::mpi_bridge
