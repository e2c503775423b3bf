// Loads the hwloc topology (the running host's, or an XML file) and converts it into the pure
// topology::Machine. Discovery with I/O devices costs tens of milliseconds, so the node instance
// does it once and publishes serialize(machine) for the ranks (see apply.hpp).
#pragma once

#include "base/error.hpp"
#include "machine.hpp"

#include <string>

namespace cexec::topology {

struct LoadOptions {
  std::string xml_file;  // empty: the running host
  bool io = true;        // keep important I/O objects (PCI GPUs, NICs and their OS devices)
};

// Failures: the file is missing or unreadable (input_missing), or is not an hwloc XML topology.
Result<Machine> load_machine(const LoadOptions& options);

}  // namespace cexec::topology
