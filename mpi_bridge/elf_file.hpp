// What the bridge reads from an ELF shared object, through elfutils' libelf (never a hand-written
// parser): SONAME, NEEDED, RPATH/RUNPATH, the versions it needs (.gnu.version_r) and the versions
// it defines (.gnu.version_d).
#pragma once

#include "base/error.hpp"
#include "abi.hpp"

#include <set>
#include <string>
#include <vector>

namespace cexec::mpi_bridge {

struct ElfFacts {
  bool is_64 = false;
  int machine = 0;
  std::string soname;
  std::vector<std::string> needed;
  std::vector<std::string> rpath;    // split at ':', $ORIGIN not expanded
  std::vector<std::string> runpath;
  std::vector<VersionNeed> needs;
  std::set<std::string> defs;        // defined version names, the base (soname) entry excluded
};

// Reads from an open file (the caller chose how to open it: on the host, or inside the image root).
// `origin` names the file in failures.
Result<ElfFacts> read_elf(int fd, const std::string& origin);

}  // namespace cexec::mpi_bridge
