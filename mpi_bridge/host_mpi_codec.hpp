// HostMpi as text and back (pure): the payload of the node's cached MPI discovery
// (discovery_cache.hpp). Any text this file did not write, or wrote for another version of the
// structure, decodes to nullopt: the caller then discovers again.
#pragma once

#include "bridge_plan.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace cexec::mpi_bridge {

// `host` may be nullopt (no MPI on the host): that answer is cached too.
std::string encode_host_mpi(const std::optional<HostMpi>& host);
// The outer optional is the decoding's success; the inner one the answer.
std::optional<std::optional<HostMpi>> decode_host_mpi(std::string_view text);

}  // namespace cexec::mpi_bridge
