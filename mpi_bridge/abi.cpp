#include "abi.hpp"

#include <charconv>

namespace cexec::mpi_bridge {

std::string Version::str() const {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) {
      out += '.';
    }
    out += std::to_string(parts[i]);
  }
  return out;
}

std::optional<Version> parse_version(std::string_view text) {
  Version v;
  size_t start = 0;
  while (start <= text.size()) {
    size_t dot = text.find('.', start);
    std::string_view part = text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    int n = 0;
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), n);
    if (part.empty() || ec != std::errc{} || end != part.data() + part.size() || n < 0) {
      return std::nullopt;
    }
    v.parts.push_back(n);
    if (dot == std::string_view::npos) {
      break;
    }
    start = dot + 1;
  }
  return v;
}

int compare_versions(const Version& a, const Version& b) {
  size_t n = std::max(a.parts.size(), b.parts.size());
  for (size_t i = 0; i < n; ++i) {
    if (a.at(i) != b.at(i)) {
      return a.at(i) < b.at(i) ? -1 : 1;
    }
  }
  return 0;
}

std::string LibraryName::soname() const {
  return numbers.empty() ? stem : stem + "." + std::to_string(numbers.parts[0]);
}

std::optional<LibraryName> parse_library_name(std::string_view name) {
  if (auto slash = name.rfind('/'); slash != std::string_view::npos) {
    name = name.substr(slash + 1);
  }
  size_t so = name.find(".so");
  while (so != std::string_view::npos && so + 3 < name.size() && name[so + 3] != '.') {
    so = name.find(".so", so + 1);
  }
  if (so == std::string_view::npos || so == 0) {
    return std::nullopt;
  }
  LibraryName out;
  out.stem = std::string(name.substr(0, so + 3));
  if (so + 3 < name.size()) {
    auto v = parse_version(name.substr(so + 4));
    if (!v) {
      return std::nullopt;
    }
    out.numbers = *v;
  }
  return out;
}

std::string_view family_name(MpiFamily family) {
  switch (family) {
    case MpiFamily::openmpi:
      return "Open MPI";
    case MpiFamily::mpich:
      return "MPICH ABI";
    case MpiFamily::unknown:
      break;
  }
  return "unknown";
}

MpiFamily family_of_soname(std::string_view soname) {
  // Debian and Fedora name MPICH's library libmpich.so.12 (libmpi.so.12 is a link to it elsewhere).
  if (soname == "libmpi.so.12" || soname == "libmpich.so.12") {
    return MpiFamily::mpich;
  }
  if (soname == "libmpi.so.40") {
    return MpiFamily::openmpi;
  }
  return MpiFamily::unknown;
}

bool is_mpi_soname(std::string_view soname) {
  if (family_of_soname(soname) != MpiFamily::unknown) {
    return true;
  }
  // Other ABI generations (Open MPI 1.x/2.x libmpi.so.1/.20, MPICH 1/2 libmpich.so.1/3...).
  return soname.starts_with("libmpi.so.") || soname.starts_with("libmpich.so.");
}

namespace {

std::string describe(const MpiLibrary& m) {
  std::string out = m.soname;
  if (!m.file_version.empty()) {
    out += " (" + m.file_version.str();
    if (!m.implementation.empty()) {
      out += ", " + m.implementation;
    }
    out += ")";
  } else if (!m.implementation.empty()) {
    out += " (" + m.implementation + ")";
  }
  return out;
}

}  // namespace

Verdict judge_mpi(const MpiLibrary& host, const std::optional<MpiLibrary>& image) {
  Verdict v;
  v.subject = host.soname;
  if (host.family == MpiFamily::unknown) {
    v.reason = "host library " + describe(host) + " is not an MPI ABI cexec knows (libmpi.so.40 or libmpi.so.12)";
    return v;
  }
  if (!image) {
    v.compatible = true;
    v.reason = "the image has no MPI library; the host's " + describe(host) + " is injected";
    return v;
  }
  if (image->family != host.family) {
    v.reason = "host " + std::string(family_name(host.family)) + " " + describe(host) + " and image " +
               std::string(family_name(image->family)) + " " + describe(*image) +
               " are different MPI ABIs (Open MPI and MPICH are never interchangeable)";
    return v;
  }
  bool same_soname = host.soname == image->soname ||
                     (host.family == MpiFamily::mpich && image->family == MpiFamily::mpich);
  if (!same_soname) {
    v.reason = "host " + describe(host) + " and image " + describe(*image) + " have different sonames";
    return v;
  }
  if (host.family == MpiFamily::mpich) {
    // MPICH ABI initiative: libmpi.so.12.MINOR.x is backward compatible within the same major,
    // so the host's minor must be at least the image's (the program may use newer symbols).
    if (host.file_version.at(0) != image->file_version.at(0)) {
      v.reason = "MPICH ABI majors differ: host " + describe(host) + ", image " + describe(*image);
      return v;
    }
    if (host.file_version.at(1) < image->file_version.at(1)) {
      v.reason = "host MPICH ABI minor " + std::to_string(host.file_version.at(1)) + " is older than the image's " +
                 std::to_string(image->file_version.at(1)) + " (host " + describe(host) + ", image " + describe(*image) + ")";
      return v;
    }
    v.compatible = true;
    v.reason = "MPICH ABI: host " + describe(host) + " minor >= image " + describe(*image);
    return v;
  }
  // Open MPI: the same soname across 3.x-5.x, but a program built against a newer release may use
  // functions an older library lacks. Implementation versions when both are known, else the
  // library file versions.
  bool by_release = !host.implementation_version.empty() && !image->implementation_version.empty();
  const Version& h = by_release ? host.implementation_version : host.file_version;
  const Version& i = by_release ? image->implementation_version : image->file_version;
  if (compare_versions(h, i) < 0) {
    v.reason = "host Open MPI " + describe(host) + " is older than the image's " + describe(*image);
    return v;
  }
  v.compatible = true;
  v.reason = "Open MPI: host " + describe(host) + " >= image " + describe(*image);
  return v;
}

bool is_checked_version(std::string_view version) {
  return version.starts_with("GLIBC_") || version.starts_with("GLIBCXX_") || version.starts_with("CXXABI_");
}

std::vector<Verdict> judge_version_needs(const std::string& file, const std::vector<VersionNeed>& needs,
                                         const std::set<std::string>& injected,
                                         const std::map<std::string, std::set<std::string>>& image_defs) {
  std::vector<Verdict> out;
  for (const auto& need : needs) {
    if (injected.contains(need.library)) {
      continue;
    }
    auto lib = image_defs.find(need.library);
    if (lib == image_defs.end()) {
      out.push_back(Verdict{false, file + " needs " + need.library,
                            "the image has no " + need.library + " (needed by " + file + ")"});
      continue;
    }
    if (is_checked_version(need.version) && need.version != "GLIBC_PRIVATE" && !lib->second.contains(need.version)) {
      out.push_back(Verdict{false, file + " needs " + need.version,
                            "the image's " + need.library + " does not provide " + need.version + " (needed by " + file + ")"});
    }
  }
  if (out.empty()) {
    out.push_back(Verdict{true, file, "every library and symbol version it needs is in the image or injected"});
  }
  return out;
}

std::string highest_version(const std::set<std::string>& defs, std::string_view prefix) {
  std::optional<Version> best;
  std::string best_text;
  for (const auto& d : defs) {
    if (!d.starts_with(prefix) || d.size() <= prefix.size() || d[prefix.size()] != '_') {
      continue;
    }
    auto v = parse_version(std::string_view(d).substr(prefix.size() + 1));
    if (v && (!best || compare_versions(*v, *best) > 0)) {
      best = v;
      best_text = d.substr(prefix.size() + 1);
    }
  }
  return best_text;
}

}  // namespace cexec::mpi_bridge
