// topology::Machine: the pure model of one node that placement plans against (packages, NUMA nodes,
// cores with their hardware threads, GPUs and NICs with their locality), and its compact text form.
//
// The planner takes this value, never hwloc types, so it is unit-testable and cheap: the node instance
// loads the hwloc topology once (loader.hpp), publishes `serialize(machine)` as /.cexec/host/topology,
// and every rank parses it (microseconds) instead of running discovery again.
#pragma once

#include "base/error.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace cexec::topology {

// A set of PU (hardware thread) OS indexes, sorted and unique.
using CpuList = std::vector<int>;

struct Package {
  int os_index = 0;
  bool operator==(const Package&) const = default;
};

struct NumaNode {
  int os_index = 0;
  int package = -1;  // index into Machine::packages, -1 when it spans none or several
  CpuList pus;
  bool operator==(const NumaNode&) const = default;
};

struct Core {
  int package = 0;  // index into Machine::packages
  int numa = 0;     // index into Machine::numas
  CpuList pus;      // its hardware threads
  bool operator==(const Core&) const = default;
};

enum class GpuVendor { nvidia, amd, intel, other };

struct Gpu {
  GpuVendor vendor = GpuVendor::other;
  int index = 0;                    // host numbering of its vendor (cudaN/nvmlN/rsmiN/openclXdN, else PCI order)
  std::string pci;                  // "0000:07:00.0"
  std::vector<std::string> names;   // OS devices (cuda0, nvml0, ...); empty when found as a PCI function only
  std::vector<int> numas;           // NUMA nodes of its locality (indexes into Machine::numas)
  std::vector<int> packages;        // packages of its locality
  CpuList locality;                 // PUs of its first non-I/O ancestor
  bool operator==(const Gpu&) const = default;
};

// Ordered by preference: a rank's NIC is chosen among the most preferred kind present.
enum class NicKind { infiniband, slingshot, efa, roce, ethernet };

struct Nic {
  NicKind kind = NicKind::ethernet;
  std::string pci;
  std::string rdma;                 // OpenFabrics device (mlx5_0, rdmap197s0), or the Slingshot cxiN; may be empty
  std::string netdev;               // network interface (ib0, hsn0, eth0); may be empty
  std::vector<int> numas;
  std::vector<int> packages;
  CpuList locality;
  bool operator==(const Nic&) const = default;
};

struct Machine {
  std::string origin;  // "host", or the XML file's name
  std::vector<Package> packages;
  std::vector<NumaNode> numas;  // only NUMA nodes with PUs (memory-only nodes cannot host a rank)
  std::vector<Core> cores;      // in PU order of their first thread within their NUMA node
  std::vector<Gpu> gpus;
  std::vector<Nic> nics;
  bool operator==(const Machine&) const = default;
};

std::string_view to_string(GpuVendor v);
std::string_view to_string(NicKind k);

// "0-15,128-143" (the kernel's cpulist format); "" for an empty list.
std::string format_cpu_list(const CpuList& pus);
// Parses the cpulist format; refuses anything else (and lists above 1<<20 PUs) with a reason.
Result<CpuList> parse_cpu_list(std::string_view text);

CpuList intersect(const CpuList& a, const CpuList& b);
bool contains_all(const CpuList& outer, const CpuList& inner);

// The display name of a NIC: its RDMA device when it has one (Slingshot: its interface), else its interface.
std::string nic_name(const Nic& nic);
// The display name of a GPU: "cuda0", else its first OS device, else its PCI address.
std::string gpu_name(const Gpu& gpu);

// Text form (one record per line; see machine.cpp). parse(serialize(m)) == m. `origin` in errors.
std::string serialize(const Machine& m);
Result<Machine> parse_machine(std::string_view text, std::string_view origin);

// Device names must not contain blanks or commas to survive serialize(); the loader drops others.
bool is_serializable_name(const std::string& s);

// A one-line summary: "2 packages, 8 NUMA nodes, 128 cores, 256 PUs, 8 GPUs, 13 NICs".
std::string summary(const Machine& m);

}  // namespace cexec::topology
