// libhwloc is loaded on first use (dlopen) instead of at start-up: only the node instance's creator
// and `cexec plan` discover the topology, while every rank of every job would otherwise pay the
// loader's mapping of libhwloc and libudev, and a cexec binary copied to a host without libhwloc
// would not start at all. The functions below are the hwloc entry points cexec uses (hwloc.h's
// inline helpers call them), each forwarding to the library's symbol.
#include "hwloc_shim.hpp"

#include <hwloc.h>

#include <dlfcn.h>
#include <string>

namespace cexec::topology {

namespace {

struct Library {
  void* handle = nullptr;
  std::string error;
};

const Library& library() {
  static const Library lib = [] {
    Library l;
    // RTLD_GLOBAL: hwloc's own plugins (hwloc_pci.so) resolve hwloc symbols in the global scope.
    for (const char* name : {"libhwloc.so.15", "libhwloc.so"}) {
      l.handle = ::dlopen(name, RTLD_NOW | RTLD_GLOBAL);
      if (l.handle != nullptr) {
        break;
      }
      const char* e = ::dlerror();
      l.error = e != nullptr ? e : "dlopen failed";
    }
    if (l.handle != nullptr) {
      using Version = unsigned (*)();
      auto version = reinterpret_cast<Version>(::dlsym(l.handle, "hwloc_get_api_version"));
      if (version == nullptr || (version() >> 16) != (HWLOC_API_VERSION >> 16)) {
        l.error = "libhwloc has an incompatible API version";
        ::dlclose(l.handle);
        l.handle = nullptr;
      }
    }
    return l;
  }();
  return lib;
}

template <typename F>
F symbol(const char* name) {
  return reinterpret_cast<F>(::dlsym(library().handle, name));
}

}  // namespace

Result<bool> hwloc_library_available() {
  if (library().handle == nullptr) {
    return Failure{ErrorKind::host_unsupported, "cannot load the hwloc library (libhwloc.so.15, package libhwloc15): " + library().error};
  }
  return true;
}

}  // namespace cexec::topology

using cexec::topology::symbol;

#define CEXEC_HWLOC_FORWARD(ret, name, params, args)            \
  extern "C" ret name params {                                  \
    static const auto forward = symbol<ret(*) params>(#name);   \
    return forward args;                                        \
  }

CEXEC_HWLOC_FORWARD(int, hwloc_topology_init, (hwloc_topology_t * t), (t))
CEXEC_HWLOC_FORWARD(void, hwloc_topology_destroy, (hwloc_topology_t t), (t))
CEXEC_HWLOC_FORWARD(int, hwloc_topology_load, (hwloc_topology_t t), (t))
CEXEC_HWLOC_FORWARD(int, hwloc_topology_set_xml, (hwloc_topology_t t, const char* path), (t, path))
CEXEC_HWLOC_FORWARD(int, hwloc_topology_set_io_types_filter, (hwloc_topology_t t, enum hwloc_type_filter_e f), (t, f))
CEXEC_HWLOC_FORWARD(int, hwloc_topology_set_components, (hwloc_topology_t t, unsigned long flags, const char* name),
                    (t, flags, name))
CEXEC_HWLOC_FORWARD(int, hwloc_get_type_depth, (hwloc_topology_t t, hwloc_obj_type_t type), (t, type))
CEXEC_HWLOC_FORWARD(unsigned, hwloc_get_nbobjs_by_depth, (hwloc_topology_t t, int depth), (t, depth))
CEXEC_HWLOC_FORWARD(hwloc_obj_t, hwloc_get_obj_by_depth, (hwloc_topology_t t, int depth, unsigned idx), (t, depth, idx))
CEXEC_HWLOC_FORWARD(int, hwloc_bitmap_iszero, (hwloc_const_bitmap_t b), (b))
CEXEC_HWLOC_FORWARD(int, hwloc_bitmap_weight, (hwloc_const_bitmap_t b), (b))  // hwloc_bitmap_foreach_begin asserts with it
CEXEC_HWLOC_FORWARD(int, hwloc_bitmap_isset, (hwloc_const_bitmap_t b, unsigned id), (b, id))
CEXEC_HWLOC_FORWARD(int, hwloc_bitmap_first, (hwloc_const_bitmap_t b), (b))
CEXEC_HWLOC_FORWARD(int, hwloc_bitmap_next, (hwloc_const_bitmap_t b, int prev), (b, prev))
CEXEC_HWLOC_FORWARD(int, hwloc_bitmap_isincluded, (hwloc_const_bitmap_t a, hwloc_const_bitmap_t b), (a, b))
CEXEC_HWLOC_FORWARD(int, hwloc_bitmap_intersects, (hwloc_const_bitmap_t a, hwloc_const_bitmap_t b), (a, b))
