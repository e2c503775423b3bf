// hwloc → Machine. hwloc 2.x drops I/O objects unless asked: the I/O filter is set to
// KEEP_IMPORTANT (GPUs, NICs, their PCI functions and bridges) before the load.
#include "loader.hpp"

#include "hwloc_shim.hpp"

#include <hwloc.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <system_error>
#include <unistd.h>

namespace cexec::topology {

namespace {

struct TopologyDeleter {
  void operator()(hwloc_topology* t) const { hwloc_topology_destroy(t); }
};
using Topology = std::unique_ptr<hwloc_topology, TopologyDeleter>;

CpuList to_list(hwloc_const_bitmap_t set) {
  CpuList out;
  if (set == nullptr || hwloc_bitmap_iszero(set)) {
    return out;
  }
  unsigned id = 0;
  hwloc_bitmap_foreach_begin(id, set) {
    out.push_back(static_cast<int>(id));
  }
  hwloc_bitmap_foreach_end();
  return out;
}

std::string pci_address(hwloc_obj_t pci) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04x:%02x:%02x.%01x", pci->attr->pcidev.domain, pci->attr->pcidev.bus,
                pci->attr->pcidev.dev, pci->attr->pcidev.func);
  return buf;
}

bool starts_with(const char* s, const char* prefix) { return s != nullptr && std::strncmp(s, prefix, std::strlen(prefix)) == 0; }
bool equals(const char* s, const char* t) { return s != nullptr && std::strcmp(s, t) == 0; }

// The number at the end of an OS device name ("cuda3" -> 3, "opencl0d2" -> 2), or -1.
int trailing_number(const std::string& name) {
  size_t i = name.size();
  while (i > 0 && name[i - 1] >= '0' && name[i - 1] <= '9') {
    --i;
  }
  int v = -1;
  if (i < name.size()) {
    std::from_chars(name.data() + i, name.data() + name.size(), v);
  }
  return v;
}

// OS devices that a GPU runtime creates (hwloc's cuda, nvml, rsmi, levelzero and opencl backends).
// DRM nodes (card0, renderD128) are not among them: a BMC's VGA function has those too.
bool is_gpu_osdev(hwloc_obj_t os) {
  const char* sub = os->subtype;
  const char* n = os->name;
  return equals(sub, "CUDA") || equals(sub, "NVML") || equals(sub, "RSMI") || equals(sub, "OpenCL") ||
         equals(sub, "LevelZero") || starts_with(n, "cuda") || starts_with(n, "nvml") || starts_with(n, "rsmi") ||
         starts_with(n, "opencl") || starts_with(n, "ze");
}

GpuVendor vendor_of(unsigned vendor_id) {
  switch (vendor_id) {
    case 0x10de:
      return GpuVendor::nvidia;
    case 0x1002:
      return GpuVendor::amd;
    case 0x8086:
      return GpuVendor::intel;
    default:
      return GpuVendor::other;
  }
}

// A PCI function that is a GPU by class and vendor alone (topologies without GPU OS devices):
// 3D controllers (0302), other display controllers (0380) and processing accelerators (12xx) of GPU
// vendors, and VGA controllers (0300) of NVIDIA and AMD except the ATI ES1000 family that server
// boards use as BMC video. NVSwitches are bridges of class 0680 and never match.
bool is_gpu_by_class(hwloc_obj_t pci) {
  unsigned cls = pci->attr->pcidev.class_id;
  unsigned vendor = pci->attr->pcidev.vendor_id;
  unsigned device = pci->attr->pcidev.device_id;
  if (vendor_of(vendor) == GpuVendor::other) {
    return false;
  }
  if (cls == 0x0302 || cls == 0x0380 || (cls >> 8) == 0x12) {
    return true;
  }
  static const std::set<unsigned> bmc_vga = {0x515e, 0x515f, 0x5159, 0x4752};
  return cls == 0x0300 && vendor != 0x8086 && !(vendor == 0x1002 && bmc_vga.contains(device));
}

int gpu_index_from_names(const std::vector<std::string>& names) {
  for (const char* prefix : {"cuda", "nvml", "rsmi", "ze", "opencl"}) {
    for (const auto& n : names) {
      if (n.starts_with(prefix)) {
        int v = trailing_number(n);
        if (v >= 0) {
          return v;
        }
      }
    }
  }
  return -1;
}

}  // namespace

Result<Machine> load_machine(const LoadOptions& options) {
  if (auto available = hwloc_library_available(); !available) {
    return available.failure();
  }
  hwloc_topology_t raw = nullptr;
  if (hwloc_topology_init(&raw) != 0) {
    return Failure{ErrorKind::setup_failed, std::string("hwloc_topology_init: ") + std::strerror(errno)};
  }
  Topology topo(raw);
  if (options.io) {
    hwloc_topology_set_io_types_filter(raw, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
  }
  Machine m;
  if (!options.xml_file.empty()) {
    if (::access(options.xml_file.c_str(), R_OK) != 0) {
      return Failure{ErrorKind::input_missing, "topology file `" + options.xml_file + "`: " +
                                                   std::error_code(errno, std::generic_category()).message()};
    }
    if (hwloc_topology_set_xml(raw, options.xml_file.c_str()) != 0) {
      return Failure{ErrorKind::input_missing, "topology file `" + options.xml_file + "`: not an hwloc XML topology"};
    }
    auto slash = options.xml_file.rfind('/');
    m.origin = slash == std::string::npos ? options.xml_file : options.xml_file.substr(slash + 1);
  } else {
    m.origin = "host";
    // PCI devices come from the linux component's sysfs reading; the libpciaccess-based "pci"
    // plugin finds the same functions here, costs a dlopen, and leaks (LeakSanitizer) on unload.
    // The "gl" plugin probes X displays, which a batch node has no use for.
    hwloc_topology_set_components(raw, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, "pci");
    hwloc_topology_set_components(raw, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, "gl");
  }
  if (hwloc_topology_load(raw) != 0) {
    return Failure{ErrorKind::input_missing, "topology `" + (options.xml_file.empty() ? std::string("host") : options.xml_file) +
                                                 "`: hwloc cannot load it: " + std::strerror(errno)};
  }
  std::replace_if(m.origin.begin(), m.origin.end(), [](char c) { return c == '\n' || c == '\r'; }, '_');

  // Packages (one synthetic package when the topology has none, as in some VMs).
  std::vector<hwloc_obj_t> packages;
  for (hwloc_obj_t o = nullptr; (o = hwloc_get_next_obj_by_type(raw, HWLOC_OBJ_PACKAGE, o)) != nullptr;) {
    packages.push_back(o);
    m.packages.push_back({static_cast<int>(o->os_index)});
  }
  if (m.packages.empty()) {
    m.packages.push_back({0});
  }
  auto package_of_set = [&](hwloc_const_bitmap_t set) -> int {
    if (packages.empty()) {
      return 0;
    }
    for (size_t i = 0; i < packages.size(); ++i) {
      if (hwloc_bitmap_isincluded(set, packages[i]->cpuset)) {
        return static_cast<int>(i);
      }
    }
    return -1;
  };
  auto packages_touching = [&](hwloc_const_bitmap_t set) {
    std::vector<int> out;
    if (packages.empty()) {
      out.push_back(0);
      return out;
    }
    for (size_t i = 0; i < packages.size(); ++i) {
      if (hwloc_bitmap_intersects(set, packages[i]->cpuset)) {
        out.push_back(static_cast<int>(i));
      }
    }
    return out;
  };

  // NUMA nodes with CPUs.
  std::vector<hwloc_obj_t> numas;
  for (hwloc_obj_t o = nullptr; (o = hwloc_get_next_obj_by_type(raw, HWLOC_OBJ_NUMANODE, o)) != nullptr;) {
    if (o->cpuset == nullptr || hwloc_bitmap_iszero(o->cpuset)) {
      continue;
    }
    numas.push_back(o);
    m.numas.push_back({static_cast<int>(o->os_index), package_of_set(o->cpuset), to_list(o->cpuset)});
  }
  if (numas.empty()) {
    return Failure{ErrorKind::input_missing, "topology `" + m.origin + "` has no NUMA node with CPUs"};
  }
  auto numa_of_set = [&](hwloc_const_bitmap_t set) -> int {
    for (size_t i = 0; i < numas.size(); ++i) {
      if (hwloc_bitmap_isincluded(set, numas[i]->cpuset)) {
        return static_cast<int>(i);
      }
    }
    for (size_t i = 0; i < numas.size(); ++i) {
      if (hwloc_bitmap_intersects(set, numas[i]->cpuset)) {
        return static_cast<int>(i);
      }
    }
    return 0;
  };

  // Cores (PUs stand in for cores when the topology has none).
  hwloc_obj_type_t core_type = hwloc_get_nbobjs_by_type(raw, HWLOC_OBJ_CORE) > 0 ? HWLOC_OBJ_CORE : HWLOC_OBJ_PU;
  for (hwloc_obj_t o = nullptr; (o = hwloc_get_next_obj_by_type(raw, core_type, o)) != nullptr;) {
    CpuList pus = to_list(o->cpuset);
    if (pus.empty()) {
      continue;
    }
    int pk = package_of_set(o->cpuset);
    m.cores.push_back({pk < 0 ? 0 : pk, numa_of_set(o->cpuset), std::move(pus)});
  }

  // I/O: OS devices grouped by their PCI function.
  std::map<hwloc_obj_t, std::vector<hwloc_obj_t>> by_pci;
  std::vector<hwloc_obj_t> pci_order;
  for (hwloc_obj_t os = nullptr; (os = hwloc_get_next_osdev(raw, os)) != nullptr;) {
    hwloc_obj_t parent = os->parent;
    if (parent == nullptr || parent->type != HWLOC_OBJ_PCI_DEVICE || os->name == nullptr ||
        !is_serializable_name(os->name)) {
      continue;
    }
    if (!by_pci.contains(parent)) {
      pci_order.push_back(parent);
    }
    by_pci[parent].push_back(os);
  }
  auto locate = [&](hwloc_obj_t pci, std::vector<int>& out_numas, std::vector<int>& out_packages, CpuList& locality) {
    hwloc_obj_t anc = hwloc_get_non_io_ancestor_obj(raw, pci);
    if (anc == nullptr || anc->cpuset == nullptr) {
      return;
    }
    locality = to_list(anc->cpuset);
    for (size_t i = 0; i < numas.size(); ++i) {
      if (anc->nodeset != nullptr && hwloc_bitmap_isset(anc->nodeset, numas[i]->os_index)) {
        out_numas.push_back(static_cast<int>(i));
      }
    }
    out_packages = packages_touching(anc->cpuset);
  };
  for (hwloc_obj_t pci : pci_order) {
    const auto& osdevs = by_pci[pci];
    std::vector<std::string> gpu_names;
    for (hwloc_obj_t os : osdevs) {
      if (is_gpu_osdev(os)) {
        gpu_names.emplace_back(os->name);
      }
    }
    if (!gpu_names.empty()) {
      Gpu g;
      g.vendor = vendor_of(pci->attr->pcidev.vendor_id);
      g.pci = pci_address(pci);
      g.names = gpu_names;
      g.index = gpu_index_from_names(gpu_names);
      locate(pci, g.numas, g.packages, g.locality);
      m.gpus.push_back(std::move(g));
      continue;
    }
    Nic n;
    bool openfabrics = false;
    bool slingshot = pci->attr->pcidev.vendor_id == 0x17db;
    std::vector<std::string> netdevs;
    for (hwloc_obj_t os : osdevs) {
      slingshot = slingshot || equals(os->subtype, "Slingshot");
      if (os->attr->osdev.type == HWLOC_OBJ_OSDEV_OPENFABRICS) {
        openfabrics = true;
        n.rdma = os->name;
      } else if (os->attr->osdev.type == HWLOC_OBJ_OSDEV_NETWORK) {
        if (starts_with(os->name, "cxi")) {
          n.rdma = os->name;  // the Slingshot (libfabric cxi) device
        } else {
          netdevs.emplace_back(os->name);
        }
      }
    }
    if (!openfabrics && netdevs.empty() && n.rdma.empty()) {
      continue;  // storage, DMA and the like
    }
    unsigned cls = pci->attr->pcidev.class_id;
    if (slingshot) {
      n.kind = NicKind::slingshot;
    } else if (openfabrics && pci->attr->pcidev.vendor_id == 0x1d0f) {
      n.kind = NicKind::efa;
    } else if (cls == 0x0207 || cls == 0x0c06) {
      n.kind = NicKind::infiniband;
    } else if (openfabrics) {
      n.kind = NicKind::roce;
    } else {
      n.kind = NicKind::ethernet;
    }
    // IPoIB interfaces (ib0) name an InfiniBand port best; otherwise the first interface.
    for (const auto& d : netdevs) {
      if (n.netdev.empty() || (n.kind == NicKind::infiniband && d.starts_with("ib") && !n.netdev.starts_with("ib"))) {
        n.netdev = d;
      }
    }
    n.pci = pci_address(pci);
    locate(pci, n.numas, n.packages, n.locality);
    m.nics.push_back(std::move(n));
  }
  if (m.gpus.empty()) {
    for (hwloc_obj_t o = nullptr; (o = hwloc_get_next_pcidev(raw, o)) != nullptr;) {
      if (is_gpu_by_class(o)) {
        Gpu g;
        g.vendor = vendor_of(o->attr->pcidev.vendor_id);
        g.pci = pci_address(o);
        g.index = -1;
        locate(o, g.numas, g.packages, g.locality);
        m.gpus.push_back(std::move(g));
      }
    }
  }
  // GPUs without a runtime index are numbered in PCI order after the indexed ones of their vendor.
  std::sort(m.gpus.begin(), m.gpus.end(), [](const Gpu& a, const Gpu& b) { return a.pci < b.pci; });
  std::map<GpuVendor, std::set<int>> used;
  for (const auto& g : m.gpus) {
    if (g.index >= 0) {
      used[g.vendor].insert(g.index);
    }
  }
  for (auto& g : m.gpus) {
    if (g.index < 0) {
      int next = 0;
      while (used[g.vendor].contains(next)) {
        ++next;
      }
      g.index = next;
      used[g.vendor].insert(next);
    }
  }
  std::stable_sort(m.gpus.begin(), m.gpus.end(), [](const Gpu& a, const Gpu& b) {
    return std::make_pair(static_cast<int>(a.vendor), a.index) < std::make_pair(static_cast<int>(b.vendor), b.index);
  });
  std::sort(m.nics.begin(), m.nics.end(), [](const Nic& a, const Nic& b) { return a.pci < b.pci; });
  return m;
}

}  // namespace cexec::topology
