#include "apply.hpp"

#include "base/error.hpp"

#include <cerrno>
#include <numa.h>
#include <sched.h>
#include <string>

namespace cexec::topology {

namespace {

// CPU_SETSIZE (1024) is too small for the largest nodes: size the mask dynamically.
constexpr int max_cpus = 8192;

[[noreturn]] void throw_errno(const std::string& what) {
  int err = errno;
  throw SysError(err, what);
}

}  // namespace

CpuList current_affinity() {
  cpu_set_t* set = CPU_ALLOC(max_cpus);
  size_t size = CPU_ALLOC_SIZE(max_cpus);
  CPU_ZERO_S(size, set);
  if (::sched_getaffinity(0, size, set) != 0) {
    CPU_FREE(set);
    throw_errno("sched_getaffinity");
  }
  CpuList out;
  for (int c = 0; c < max_cpus; ++c) {
    if (CPU_ISSET_S(c, size, set)) {
      out.push_back(c);
    }
  }
  CPU_FREE(set);
  return out;
}

void apply_affinity(const CpuList& cpus) {
  cpu_set_t* set = CPU_ALLOC(max_cpus);
  size_t size = CPU_ALLOC_SIZE(max_cpus);
  CPU_ZERO_S(size, set);
  for (int c : cpus) {
    if (c >= 0 && c < max_cpus) {
      CPU_SET_S(c, size, set);
    }
  }
  int rc = ::sched_setaffinity(0, size, set);
  CPU_FREE(set);
  if (rc != 0) {
    throw_errno("sched_setaffinity " + format_cpu_list(cpus));
  }
}

bool apply_memory_preference(int os_index) {
  if (numa_available() < 0 || os_index < 0 || os_index > numa_max_node()) {
    return false;
  }
  numa_set_preferred(os_index);
  return true;
}

}  // namespace cexec::topology
