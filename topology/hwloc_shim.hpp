// Whether libhwloc could be loaded (see hwloc_shim.cpp): the loader asks before its first hwloc call.
#pragma once

#include "base/error.hpp"

namespace cexec::topology {

Result<bool> hwloc_library_available();

}  // namespace cexec::topology
