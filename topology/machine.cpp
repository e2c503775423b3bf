// The Machine model's helpers and its text form. The format is line-based so that a rank parses it
// with no allocation-heavy machinery, and strict so that a damaged file is refused with a line number:
//   cexec-topology 1
//   origin NAME...
//   package OS_INDEX
//   numa OS_INDEX PACKAGE PUS
//   core PACKAGE NUMA PUS
//   gpu VENDOR INDEX PCI NUMAS PACKAGES LOCALITY NAMES
//   nic KIND PCI RDMA NETDEV NUMAS PACKAGES LOCALITY
//   end
// Lists use the cpulist syntax ("0-3,8"); "-" stands for an empty field; NAMES is comma-separated.
#include "machine.hpp"

#include <algorithm>
#include <charconv>

namespace cexec::topology {

namespace {

constexpr int max_pu = 1 << 20;
constexpr std::string_view magic = "cexec-topology 1";

constexpr std::string_view vendor_names[] = {"nvidia", "amd", "intel", "other"};
constexpr std::string_view kind_names[] = {"infiniband", "slingshot", "efa", "roce", "ethernet"};

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  for (auto w : split(line, ' ')) {
    if (!w.empty()) {
      out.push_back(w);
    }
  }
  return out;
}

bool parse_int(std::string_view s, int& out) {
  if (s.empty()) {
    return false;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::string field(const std::string& s) { return s.empty() ? "-" : s; }
std::string field_list(const CpuList& l) { return l.empty() ? "-" : format_cpu_list(l); }

bool is_name_safe(const std::string& s) {
  return !s.empty() && std::none_of(s.begin(), s.end(), [](char c) {
    return c == ' ' || c == ',' || c == '\n' || c == '\t' || c == '\r' || c == '\0';
  });
}

}  // namespace

std::string_view to_string(GpuVendor v) { return vendor_names[static_cast<int>(v)]; }
std::string_view to_string(NicKind k) { return kind_names[static_cast<int>(k)]; }

std::string format_cpu_list(const CpuList& pus) {
  std::string out;
  size_t i = 0;
  while (i < pus.size()) {
    size_t j = i;
    while (j + 1 < pus.size() && pus[j + 1] == pus[j] + 1) {
      ++j;
    }
    if (!out.empty()) {
      out += ',';
    }
    out += std::to_string(pus[i]);
    if (j > i) {
      out += '-' + std::to_string(pus[j]);
    }
    i = j + 1;
  }
  return out;
}

Result<CpuList> parse_cpu_list(std::string_view text) {
  CpuList out;
  if (text.empty()) {
    return out;
  }
  for (auto part : split(text, ',')) {
    size_t dash = part.find('-');
    int lo = 0;
    int hi = 0;
    bool ok = dash == std::string_view::npos ? parse_int(part, lo) && parse_int(part, hi)
                                             : parse_int(part.substr(0, dash), lo) && parse_int(part.substr(dash + 1), hi);
    if (!ok || lo < 0 || hi < lo || hi >= max_pu) {
      return Failure{ErrorKind::usage, "bad CPU list `" + std::string(text) + "`: `" + std::string(part) + "` is not N or N-M"};
    }
    for (int c = lo; c <= hi; ++c) {
      out.push_back(c);
    }
    if (out.size() > static_cast<size_t>(max_pu)) {
      return Failure{ErrorKind::usage, "bad CPU list `" + std::string(text) + "`: too many CPUs"};
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

CpuList intersect(const CpuList& a, const CpuList& b) {
  CpuList out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

bool contains_all(const CpuList& outer, const CpuList& inner) {
  return std::includes(outer.begin(), outer.end(), inner.begin(), inner.end());
}

std::string nic_name(const Nic& nic) {
  // Slingshot NICs are known by their interface (hsn0); the others by their RDMA device (mlx5_0).
  if (nic.kind == NicKind::slingshot && !nic.netdev.empty()) {
    return nic.netdev;
  }
  return nic.rdma.empty() ? nic.netdev : nic.rdma;
}

std::string gpu_name(const Gpu& gpu) {
  for (const auto& n : gpu.names) {
    if (n.starts_with("cuda")) {
      return n;
    }
  }
  return gpu.names.empty() ? gpu.pci : gpu.names.front();
}

std::string serialize(const Machine& m) {
  std::string out(magic);
  out += "\norigin " + m.origin + "\n";
  for (const auto& p : m.packages) {
    out += "package " + std::to_string(p.os_index) + "\n";
  }
  for (const auto& n : m.numas) {
    out += "numa " + std::to_string(n.os_index) + " " + std::to_string(n.package) + " " + field_list(n.pus) + "\n";
  }
  for (const auto& c : m.cores) {
    out += "core " + std::to_string(c.package) + " " + std::to_string(c.numa) + " " + field_list(c.pus) + "\n";
  }
  for (const auto& g : m.gpus) {
    std::string names;
    for (const auto& n : g.names) {
      names += (names.empty() ? "" : ",") + n;
    }
    out += "gpu " + std::string(to_string(g.vendor)) + " " + std::to_string(g.index) + " " + field(g.pci) + " " +
           field_list(g.numas) + " " + field_list(g.packages) + " " + field_list(g.locality) + " " + field(names) + "\n";
  }
  for (const auto& n : m.nics) {
    out += "nic " + std::string(to_string(n.kind)) + " " + field(n.pci) + " " + field(n.rdma) + " " + field(n.netdev) + " " +
           field_list(n.numas) + " " + field_list(n.packages) + " " + field_list(n.locality) + "\n";
  }
  out += "end\n";
  return out;
}

Result<Machine> parse_machine(std::string_view text, std::string_view origin) {
  Machine m;
  auto lines = split(text, '\n');
  size_t line_no = 0;
  auto fail = [&](const std::string& why) {
    return Failure{ErrorKind::input_missing, "topology `" + std::string(origin) + "` line " + std::to_string(line_no) + ": " + why};
  };
  bool ended = false;
  for (auto line : lines) {
    ++line_no;
    if (line_no == 1) {
      if (line != magic) {
        return fail("not a cexec topology (expected `" + std::string(magic) + "`)");
      }
      continue;
    }
    if (ended) {
      if (!line.empty()) {
        return fail("text after `end`");
      }
      continue;
    }
    if (line.starts_with("origin ")) {
      m.origin = std::string(line.substr(7));
      continue;
    }
    auto w = words(line);
    if (w.empty()) {
      return fail("empty line");
    }
    auto list = [&](std::string_view s, CpuList& out) -> bool {
      if (s == "-") {
        out.clear();
        return true;
      }
      auto r = parse_cpu_list(s);
      if (!r) {
        return false;
      }
      out = std::move(r).value();
      return true;
    };
    auto in_range = [](const std::vector<int>& l, size_t n) {
      return std::all_of(l.begin(), l.end(), [n](int i) { return i >= 0 && static_cast<size_t>(i) < n; });
    };
    auto text_field = [](std::string_view s) { return s == "-" ? std::string() : std::string(s); };
    if (w[0] == "end" && w.size() == 1) {
      ended = true;
    } else if (w[0] == "package" && w.size() == 2) {
      Package p;
      if (!parse_int(w[1], p.os_index) || p.os_index < 0) {
        return fail("bad package index");
      }
      m.packages.push_back(p);
    } else if (w[0] == "numa" && w.size() == 4) {
      NumaNode n;
      if (!parse_int(w[1], n.os_index) || n.os_index < 0 || !parse_int(w[2], n.package) || n.package < -1 ||
          n.package >= static_cast<int>(m.packages.size()) || !list(w[3], n.pus)) {
        return fail("bad numa record");
      }
      m.numas.push_back(std::move(n));
    } else if (w[0] == "core" && w.size() == 4) {
      Core c;
      if (!parse_int(w[1], c.package) || !parse_int(w[2], c.numa) || !list(w[3], c.pus) || c.pus.empty() ||
          !in_range({c.package}, m.packages.size()) || !in_range({c.numa}, m.numas.size())) {
        return fail("bad core record");
      }
      m.cores.push_back(std::move(c));
    } else if (w[0] == "gpu" && w.size() == 8) {
      Gpu g;
      auto v = std::find(std::begin(vendor_names), std::end(vendor_names), w[1]);
      if (v == std::end(vendor_names) || !parse_int(w[2], g.index) || g.index < 0 || !list(w[4], g.numas) ||
          !list(w[5], g.packages) || !list(w[6], g.locality) || !in_range(g.numas, m.numas.size()) ||
          !in_range(g.packages, m.packages.size())) {
        return fail("bad gpu record");
      }
      g.vendor = static_cast<GpuVendor>(v - std::begin(vendor_names));
      g.pci = text_field(w[3]);
      if (w[7] != "-") {
        for (auto n : split(w[7], ',')) {
          if (n.empty()) {
            return fail("bad gpu record: empty device name");
          }
          g.names.emplace_back(n);
        }
      }
      m.gpus.push_back(std::move(g));
    } else if (w[0] == "nic" && w.size() == 8) {
      Nic n;
      auto k = std::find(std::begin(kind_names), std::end(kind_names), w[1]);
      if (k == std::end(kind_names) || !list(w[5], n.numas) || !list(w[6], n.packages) || !list(w[7], n.locality) ||
          !in_range(n.numas, m.numas.size()) || !in_range(n.packages, m.packages.size())) {
        return fail("bad nic record");
      }
      n.kind = static_cast<NicKind>(k - std::begin(kind_names));
      n.pci = text_field(w[2]);
      n.rdma = text_field(w[3]);
      n.netdev = text_field(w[4]);
      if (n.rdma.empty() && n.netdev.empty()) {
        return fail("bad nic record: no device name");
      }
      m.nics.push_back(std::move(n));
    } else {
      return fail("unknown record `" + std::string(w[0]) + "`");
    }
  }
  if (!ended) {
    return fail("missing `end` (truncated file?)");
  }
  if (m.cores.empty()) {
    return fail("no cores");
  }
  return m;
}

std::string summary(const Machine& m) {
  size_t pus = 0;
  for (const auto& c : m.cores) {
    pus += c.pus.size();
  }
  return std::to_string(m.packages.size()) + " packages, " + std::to_string(m.numas.size()) + " NUMA nodes, " +
         std::to_string(m.cores.size()) + " cores, " + std::to_string(pus) + " PUs, " + std::to_string(m.gpus.size()) +
         " GPUs, " + std::to_string(m.nics.size()) + " NICs";
}

// Names written by serialize() must survive the round trip; the loader calls this for each name.
bool is_serializable_name(const std::string& s) { return is_name_safe(s); }

}  // namespace cexec::topology
