#include "discovery.hpp"

#include "discovery_cache.hpp"
#include "elf_file.hpp"
#include "base/ld_cache.hpp"
#include "mpi_conf.hpp"
#include "base/sys/syscalls.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <map>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace cexec::mpi_bridge {

namespace {

// Where glibc looks last, and where images keep their libraries (x86-64 Debian/RHEL layouts).
constexpr const char* default_lib_dirs[] = {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64",
                                            "/lib", "/usr/lib", "/usr/local/lib"};
// Plugin directories next to a library's directory: PMIx and PRRTE MCA components, UCX modules,
// libfabric providers, libibverbs providers. Bound at the same path so the host's libraries find
// them where they were built to look.
constexpr const char* plugin_subdirs[] = {"pmix", "prte", "ucx", "libfabric", "libibverbs"};

// Every path the running discovery looked at, present or not (discover_host_mpi's `touched`): what a
// cached answer depends on (discovery_cache.cpp).
std::vector<std::string>* touched_paths = nullptr;

void touch(const std::string& path) {
  if (touched_paths != nullptr) {
    touched_paths->push_back(path);
  }
}


std::string real_path(const std::string& path) {
  touch(path);
  char buf[PATH_MAX];
  return ::realpath(path.c_str(), buf) ? std::string(buf) : "";
}

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == 0 ? "/" : slash == std::string::npos ? "." : path.substr(0, slash);
}

bool is_dir(const std::string& path) {
  touch(path);
  auto st = sys::try_stat(path);
  return st && S_ISDIR(st->st_mode);
}

std::optional<ElfFacts> read_host_elf(const std::string& path) {
  touch(path);
  auto fd = sys::try_open_at(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
  if (!fd) {
    return std::nullopt;
  }
  auto facts = read_elf(fd->get(), path);
  return facts ? std::optional<ElfFacts>(std::move(facts).value()) : std::nullopt;
}

// Runs a host tool with the launch's environment and returns its standard output (empty when it
// cannot run). Only version queries: short, no input.
std::string capture(const std::string& program, const std::vector<std::string>& args, const std::vector<std::string>& environ) {
  std::vector<std::string> argv{program};
  argv.insert(argv.end(), args.begin(), args.end());
  return sys::try_capture_output(argv, environ).value_or("");
}

// The ELF closure on the host, resolved the way ld.so would for each needing object.
class HostClosure {
 public:
  HostClosure(const std::vector<std::string>& environ) : _ld_library_path(split_nonempty(environ_value(environ, "LD_LIBRARY_PATH"), ':')) {
    touch("/etc/ld.so.cache");
    if (auto bytes = sys::try_read_file("/etc/ld.so.cache", 64 << 20)) {
      if (auto entries = parse_ld_cache(*bytes, "/etc/ld.so.cache")) {
        for (const auto& e : entries.value()) {
          if (is_native_entry(e)) {
            _cache.emplace(e.soname, e.path);
          }
        }
      }
    }
  }

  std::string cache_lookup(const std::string& soname) const {
    auto it = _cache.find(soname);
    return it == _cache.end() ? "" : it->second;
  }

  // Adds `path` (a library or plugin) and everything it needs; returns its facts' soname.
  void add_root(const std::string& path, bool is_plugin) {
    std::string real = real_path(path);
    auto facts = real.empty() ? std::nullopt : read_host_elf(real);
    if (!facts) {
      problems.push_back("cannot read `" + path + "` as an ELF library");
      return;
    }
    if (is_plugin) {
      plugins.push_back(HostLibrary{real, facts->soname.empty() ? real : facts->soname, facts->needs});
    } else {
      std::string soname = facts->soname.empty() ? path.substr(path.rfind('/') + 1) : facts->soname;
      if (_seen.contains(soname)) {
        return;
      }
      _seen.insert(soname);
      libraries.push_back(HostLibrary{real, soname, facts->needs});
    }
    walk(real, *facts);
  }

  std::vector<HostLibrary> libraries;
  std::vector<HostLibrary> plugins;
  std::vector<std::string> problems;

 private:
  void walk(const std::string& real, const ElfFacts& facts) {
    if (_machine == 0) {
      _machine = facts.machine;
    }
    for (const auto& name : facts.needed) {
      if (_seen.contains(name)) {
        continue;
      }
      std::string found = resolve(name, real, facts);
      if (found.empty()) {
        problems.push_back("cannot find " + name + " (needed by " + real + ") on the host");
        _seen.insert(name);
        continue;
      }
      auto dep = read_host_elf(found);
      if (!dep) {
        problems.push_back("cannot read " + found + " (needed by " + real + ")");
        _seen.insert(name);
        continue;
      }
      _seen.insert(name);
      libraries.push_back(HostLibrary{found, name, dep->needs});
      if (!is_glibc_soname(name)) {
        walk(found, *dep);
      }
    }
  }

  std::string resolve(const std::string& name, const std::string& needing, const ElfFacts& facts) const {
    auto expand = [&](const std::string& dir) {
      std::string d = dir;
      for (const char* origin : {"${ORIGIN}", "$ORIGIN"}) {
        if (auto at = d.find(origin); at != std::string::npos) {
          d.replace(at, std::string_view(origin).size(), dir_of(needing));
        }
      }
      return d;
    };
    auto try_dir = [&](const std::string& dir) -> std::string {
      std::string candidate = expand(dir) + "/" + name;
      touch(candidate);
      if (::access(candidate.c_str(), R_OK) != 0) {
        return "";
      }
      std::string real = real_path(candidate);
      auto f = read_host_elf(real);
      return f && f->is_64 && (_machine == 0 || f->machine == _machine) ? real : "";
    };
    std::vector<std::string> dirs;
    if (facts.runpath.empty()) {
      dirs = facts.rpath;
    }
    dirs.insert(dirs.end(), _ld_library_path.begin(), _ld_library_path.end());
    dirs.insert(dirs.end(), facts.runpath.begin(), facts.runpath.end());
    for (const auto& d : dirs) {
      if (auto p = try_dir(d); !p.empty()) {
        return p;
      }
    }
    if (auto cached = cache_lookup(name); !cached.empty()) {
      return real_path(cached);
    }
    for (const char* d : default_lib_dirs) {
      if (auto p = try_dir(d); !p.empty()) {
        return p;
      }
    }
    return "";
  }

  std::vector<std::string> _ld_library_path;
  std::map<std::string, std::string> _cache;
  std::set<std::string> _seen;
  int _machine = 0;
};

std::vector<std::string> shared_objects_in(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  touch(dir);
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec); !ec && it != std::filesystem::recursive_directory_iterator();
       it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (it->is_directory(ec)) {
      touch(it->path().string());
    }
    if (it->is_regular_file(ec) && (name.ends_with(".so") || name.find(".so.") != std::string::npos)) {
      out.push_back(it->path().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

MpiLibrary describe_host_mpi(const std::string& path, const std::string& soname, const std::string& implementation) {
  MpiLibrary m;
  m.soname = soname;
  m.path = path;
  m.family = family_of_soname(soname);
  if (auto name = parse_library_name(path)) {
    m.file_version = name->numbers;
  }
  m.implementation = implementation;
  if (auto sp = implementation.rfind(' '); sp != std::string::npos) {
    std::string v = implementation.substr(sp + 1);
    if (v.starts_with('v')) {
      v.erase(0, 1);
    }
    if (auto parsed = parse_version(v)) {
      m.implementation_version = *parsed;
    }
  }
  return m;
}

// Plugin directories next to every library of the closure, and their files' closures, until no new
// directory appears (a UCX-using plugin brings UCX's own modules).
void add_plugin_dirs(HostClosure& closure, std::vector<std::string>& dirs) {
  for (int round = 0; round < 4; ++round) {
    std::set<std::string> lib_dirs;
    for (const auto& lib : closure.libraries) {
      lib_dirs.insert(dir_of(lib.path));
    }
    bool added = false;
    for (const auto& d : lib_dirs) {
      for (const char* sub : plugin_subdirs) {
        std::string candidate = d + "/" + sub;
        if (is_dir(candidate) && std::find(dirs.begin(), dirs.end(), candidate) == dirs.end()) {
          dirs.push_back(candidate);
          for (const auto& so : shared_objects_in(candidate)) {
            closure.add_root(so, true);
          }
          added = true;
        }
      }
    }
    if (!added) {
      return;
    }
  }
}

std::optional<HostMpi> from_conf(const std::string& conf_path, const std::string& text, const std::vector<std::string>& environ) {
  MpiConf conf = value_or_throw(parse_mpi_conf(text, conf_path));
  HostClosure closure(environ);
  for (const auto& lib : conf.libraries) {
    closure.add_root(lib, false);
  }
  HostMpi host;
  host.origin = conf_path;
  for (const auto& lib : closure.libraries) {
    if (is_mpi_soname(lib.soname)) {
      host.mpi = describe_host_mpi(lib.path, lib.soname, conf.version.empty() ? "" : "version " + conf.version);
      host.mpi.implementation_version = parse_version(conf.version).value_or(Version{});
      break;
    }
  }
  if (host.mpi.soname.empty()) {
    throw Error(ErrorKind::config, conf_path + ": no `library` is an MPI library (libmpi.so.40, libmpi.so.12 or libmpich.so.12)");
  }
  for (const auto& dep : conf.dependencies) {
    closure.add_root(dep, false);
  }
  for (const auto& dir : conf.plugin_dirs) {
    host.plugin_dirs.push_back(dir);
    for (const auto& so : shared_objects_in(dir)) {
      closure.add_root(so, true);
    }
  }
  host.binds = conf.binds;
  for (const auto& [name, value] : conf.env) {
    host.env.push_back(EnvOp{EnvOpKind::set, name, value});
  }
  host.libraries = std::move(closure.libraries);
  host.plugins = std::move(closure.plugins);
  host.problems = std::move(closure.problems);
  return host;
}

}  // namespace

std::optional<HostMpi> discover_host_mpi(const std::vector<std::string>& environ, std::string_view launcher,
                                         std::vector<std::string>* touched) {
  touched_paths = touched;
  struct Untouch {
    ~Untouch() { touched_paths = nullptr; }
  } untouch;
  std::string conf_path = environ_value(environ, "CEXEC_MPI_CONF");
  if (conf_path.empty()) {
    conf_path = default_mpi_conf;
  }
  touch(conf_path);
  if (auto text = sys::try_read_file(conf_path, 1 << 20)) {
    return from_conf(conf_path, *text, environ);
  }
  if (conf_path != default_mpi_conf) {
    throw Error(ErrorKind::input_missing, "CEXEC_MPI_CONF `" + conf_path + "`: cannot read it");
  }
  // Which MPI: the launcher's own family first (Hydra is MPICH's), else Open MPI, else MPICH.
  std::vector<std::string_view> families = launcher == "hydra" ? std::vector<std::string_view>{"mpich"}
                                           : launcher == "openmpi" ? std::vector<std::string_view>{"openmpi"}
                                                                   : std::vector<std::string_view>{"openmpi", "mpich"};
  HostClosure closure(environ);
  for (auto family : families) {
    bool ompi = family == "openmpi";
    std::string tool = sys::find_program(ompi ? "ompi_info" : "mpichversion", environ);
    if (tool.empty()) {
      continue;
    }
    std::string prefix = dir_of(dir_of(real_path(tool)));
    touch(real_path(tool));
    std::string library;
    std::string soname;
    for (const char* candidate : ompi ? std::vector<const char*>{"libmpi.so.40"} : std::vector<const char*>{"libmpi.so.12", "libmpich.so.12"}) {
      for (const std::string& dir : {prefix + "/lib", prefix + "/lib64"}) {
        touch(dir + "/" + candidate);
        if (::access((dir + "/" + candidate).c_str(), R_OK) == 0) {
          library = dir + "/" + candidate;
          break;
        }
      }
      if (library.empty()) {
        library = closure.cache_lookup(candidate);
      }
      if (!library.empty()) {
        soname = candidate;
        break;
      }
    }
    if (library.empty()) {
      continue;
    }
    // One short version query (`ompi_info -V`: "Open MPI v4.1.4"; `mpichversion`: "MPICH Version: 4.0.2").
    std::string implementation;
    std::string out = capture(tool, ompi ? std::vector<std::string>{"-V"} : std::vector<std::string>{}, environ);
    for (const auto& line : split_nonempty(out, '\n')) {
      if (ompi && line.starts_with("Open MPI v")) {
        implementation = line;
        break;
      }
      if (!ompi && line.starts_with("MPICH Version:")) {
        std::string v = line.substr(14);
        v.erase(0, v.find_first_not_of(" \t"));
        implementation = "MPICH " + v;
        break;
      }
    }
    HostMpi host;
    host.origin = "discovered from " + tool;
    closure.add_root(library, false);
    std::string real = real_path(library);
    host.mpi = describe_host_mpi(real, soname, implementation);
    if (ompi) {
      // Open MPI's MCA components live in <libdir>/openmpi (5.x) or <libdir>/openmpi3 (Debian 4.x);
      // libdir is libmpi's directory or its RUNPATH. Help files and the system MCA parameters too.
      std::vector<std::string> libdirs{dir_of(real)};
      if (auto f = read_host_elf(real)) {
        libdirs.insert(libdirs.end(), f->runpath.begin(), f->runpath.end());
      }
      for (const auto& d : libdirs) {
        for (const char* sub : {"openmpi", "openmpi3"}) {
          std::string candidate = d + "/" + sub;
          std::string mca = is_dir(candidate + "/lib/openmpi3") ? candidate + "/lib/openmpi3" : candidate;
          if (is_dir(mca) && !shared_objects_in(mca).empty() &&
              std::find(host.plugin_dirs.begin(), host.plugin_dirs.end(), mca) == host.plugin_dirs.end()) {
            host.plugin_dirs.push_back(mca);
            for (const auto& so : shared_objects_in(mca)) {
              closure.add_root(so, true);
            }
          }
        }
      }
      for (const std::string& data : {prefix + "/share/openmpi", prefix == "/usr" ? std::string("/etc/openmpi") : prefix + "/etc"}) {
        if (is_dir(data)) {
          host.binds.emplace_back(data, data);
        }
      }
    }
    add_plugin_dirs(closure, host.plugin_dirs);
    // PMIx's help files sit next to its library tree (Debian: /usr/lib/x86_64-linux-gnu/pmix2/share).
    for (const auto& lib : closure.libraries) {
      if (lib.soname.starts_with("libpmix.so")) {
        std::string share = dir_of(dir_of(lib.path)) + "/share";
        if (is_dir(share) && dir_of(dir_of(lib.path)).find("pmix") != std::string::npos) {
          host.binds.emplace_back(share, share);
        }
      }
    }
    for (const char* extra : {"/etc/libibverbs.d", "/dev/infiniband"}) {
      if (is_dir(extra)) {
        host.binds.emplace_back(extra, extra);
      }
    }
    host.libraries = std::move(closure.libraries);
    host.plugins = std::move(closure.plugins);
    host.problems = std::move(closure.problems);
    return host;
  }
  return std::nullopt;
}

namespace {

std::string normalize(const std::string& path) {
  return std::filesystem::path(path).lexically_normal().string();
}

// The final path of `path` inside the image after following symlinks (in the image's own terms).
std::string resolve_in_image(int root, std::string path) {
  for (int i = 0; i < 16; ++i) {
    std::string parent = dir_of(path);
    auto dir = sys::try_open_in_root(root, parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (!dir) {
      return path;
    }
    auto target = sys::try_readlink_at(dir->get(), path.substr(path.rfind('/') + 1));
    if (!target) {
      return path;
    }
    path = normalize(target->starts_with('/') ? *target : parent + "/" + *target);
  }
  return path;
}

std::optional<ElfFacts> read_image_elf(int root, const std::string& path) {
  auto fd = sys::try_open_in_root(root, path, O_RDONLY | O_CLOEXEC);
  if (!fd) {
    return std::nullopt;
  }
  auto facts = read_elf(fd->get(), "image:" + path);
  return facts ? std::optional<ElfFacts>(std::move(facts).value()) : std::nullopt;
}

}  // namespace

ImageFacts read_image_facts(int root, const std::set<std::string>& wanted) {
  ImageFacts img;
  if (auto fd = sys::try_open_in_root(root, "/etc/ld.so.cache", O_RDONLY | O_CLOEXEC)) {
    std::string bytes = sys::read_all(fd->get(), 64 << 20);
    // A damaged cache in an image is the image's problem; the directories below still count.
    if (auto entries = parse_ld_cache(bytes, "image:/etc/ld.so.cache")) {
      for (const auto& e : entries.value()) {
        if (is_native_entry(e)) {
          img.libraries.emplace(e.soname, e.path);
        }
      }
    }
  }
  for (const char* d : default_lib_dirs) {
    auto dir = sys::try_open_in_root(root, d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (!dir) {
      continue;
    }
    DIR* stream = ::fdopendir(dir->release());
    if (stream == nullptr) {
      continue;
    }
    while (struct dirent* entry = ::readdir(stream)) {
      std::string name = entry->d_name;
      auto parsed = parse_library_name(name);
      if (!parsed || parsed->numbers.empty()) {
        continue;
      }
      img.libraries.emplace(parsed->soname(), std::string(d) + "/" + name);
      img.libraries.emplace(name, std::string(d) + "/" + name);
    }
    ::closedir(stream);
  }
  for (const char* soname : {"libmpi.so.40", "libmpi.so.12", "libmpich.so.12"}) {
    auto it = img.libraries.find(soname);
    if (it == img.libraries.end()) {
      continue;
    }
    MpiLibrary m;
    m.soname = soname;
    m.family = family_of_soname(soname);
    m.path = resolve_in_image(root, it->second);
    if (auto name = parse_library_name(m.path)) {
      m.file_version = name->numbers;
    }
    img.mpi = m;
    break;
  }
  std::set<std::string> to_read = wanted;
  to_read.insert("libc.so.6");
  to_read.insert("libstdc++.so.6");
  for (const auto& soname : to_read) {
    auto it = img.libraries.find(soname);
    if (it == img.libraries.end()) {
      continue;
    }
    if (auto facts = read_image_elf(root, it->second)) {
      img.version_defs[soname] = facts->defs;
    } else {
      img.version_defs[soname] = {};
    }
  }
  if (auto it = img.version_defs.find("libc.so.6"); it != img.version_defs.end()) {
    img.glibc = highest_version(it->second, "GLIBC");
  }
  if (auto it = img.version_defs.find("libstdc++.so.6"); it != img.version_defs.end()) {
    img.libstdcxx = highest_version(it->second, "GLIBCXX");
  }
  return img;
}

std::set<std::string> wanted_sonames(const std::optional<HostMpi>& host) {
  std::set<std::string> wanted;
  if (host) {
    for (const auto* files : {&host->libraries, &host->plugins}) {
      for (const auto& lib : *files) {
        for (const auto& need : lib.needs) {
          wanted.insert(need.library);
        }
      }
    }
  }
  return wanted;
}

BridgeOutcome run_bridge(const std::vector<std::string>& environ, std::string_view launcher, Policy policy, int image_root,
                         const std::string& cache_dir) {
  BridgeOutcome out;
  if (policy == Policy::image || policy == Policy::off) {
    // Nothing to judge: only the PMIx variable mapping applies.
    out.plan = plan_bridge(std::nullopt, out.image, policy, environ);
    return out;
  }
  CachedDiscovery discovered = discover_host_mpi_cached(environ, launcher, cache_dir);
  out.host = std::move(discovered.host);
  out.discovery_note = std::move(discovered.note);
  out.image = read_image_facts(image_root, wanted_sonames(out.host));
  out.plan = plan_bridge(out.host, out.image, policy, environ);
  return out;
}

}  // namespace cexec::mpi_bridge
