// ABI facts and verdicts for the MPI bridge (pure): library file names and sonames, MPI families,
// implementation versions, symbol-version needs, and the rules that decide whether the host's MPI
// may replace the image's. Every verdict carries the reason a user or an admin reads.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace cexec::mpi_bridge {

// A dotted version ("4.1.4", "12.1.8", "2.34"); missing parts compare as 0.
struct Version {
  std::vector<int> parts;
  bool empty() const { return parts.empty(); }
  int at(size_t i) const { return i < parts.size() ? parts[i] : 0; }
  std::string str() const;
};
std::optional<Version> parse_version(std::string_view text);
int compare_versions(const Version& a, const Version& b);  // <0, 0, >0

// "libmpi.so.40.30.4" -> {"libmpi.so", [40, 30, 4]}; "libmpi.so" -> {"libmpi.so", []}.
struct LibraryName {
  std::string stem;      // up to and including ".so"
  Version numbers;       // the numbers after ".so"
  std::string soname() const;  // stem + first number: "libmpi.so.40"
};
std::optional<LibraryName> parse_library_name(std::string_view file_name);

// The ABI families cexec knows. MPICH's (libmpi.so.12 / libmpich.so.12) is shared by MPICH >= 3.1,
// Intel MPI >= 5, Cray MPICH and MVAPICH2 >= 2 (the MPICH ABI Compatibility Initiative); Open MPI
// 3.x to 5.x keep libmpi.so.40.
enum class MpiFamily { unknown, openmpi, mpich };
std::string_view family_name(MpiFamily family);
// The family an MPI library's soname belongs to, or unknown when it is not an MPI library.
MpiFamily family_of_soname(std::string_view soname);
bool is_mpi_soname(std::string_view soname);

// One MPI library as found on either side.
struct MpiLibrary {
  MpiFamily family = MpiFamily::unknown;
  std::string soname;        // "libmpi.so.40"
  std::string path;          // where it was found (host path, or image path)
  Version file_version;      // from the real file's name: 40.30.4 (libtool current.age.revision-ish)
  std::string implementation;  // "Open MPI 4.1.4", "MPICH 4.0.2", or "" when unknown
  Version implementation_version;
};

struct Verdict {
  bool compatible = false;
  std::string subject;   // what was judged: "libmpi.so.40", "libucp.so.0 needs GLIBC_2.34"
  std::string reason;    // why, in one sentence
};

// The MPI ABI rule: same soname; MPICH family: host minor >= image minor; Open MPI: host version
// >= image version; Open MPI vs MPICH: never. An image without MPI takes any host MPI.
Verdict judge_mpi(const MpiLibrary& host, const std::optional<MpiLibrary>& image);

// A version an ELF object needs from one of its DT_NEEDED libraries (.gnu.version_r).
struct VersionNeed {
  std::string library;  // soname, "libc.so.6"
  std::string version;  // "GLIBC_2.34"
  bool operator<(const VersionNeed& o) const { return library < o.library || (library == o.library && version < o.version); }
  bool operator==(const VersionNeed&) const = default;
};

// The symbol-version families the check covers: glibc's, libstdc++'s and its C++ ABI's.
bool is_checked_version(std::string_view version);

// Judges one injected file's needs against what the image provides. `injected` are the sonames
// cexec injects too (their needs are met by the host's copies); `image_defs` maps each image
// library soname to the version names it defines. Returns one incompatible verdict per unmet need
// (a missing library or a missing version), or one compatible verdict.
std::vector<Verdict> judge_version_needs(const std::string& file, const std::vector<VersionNeed>& needs,
                                         const std::set<std::string>& injected,
                                         const std::map<std::string, std::set<std::string>>& image_defs);

// The highest "PREFIX_x.y" among `defs` ("GLIBC_2.36" -> "2.36"), or "" when none.
std::string highest_version(const std::set<std::string>& defs, std::string_view prefix);

}  // namespace cexec::mpi_bridge
