#include "gpu_discovery.hpp"

#include "base/ld_cache.hpp"
#include "base/trusted_file.hpp"
#include "base/sys/child.hpp"
#include "base/sys/syscalls.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <map>
#include <poll.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

namespace cexec::gpu {

namespace {

// Where the host's loader and installers put libraries and programs.
constexpr std::string_view default_library_dirs[] = {
    "/lib64", "/usr/lib64", "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu", "/lib", "/usr/lib",
};
constexpr std::string_view binary_dirs[] = {"/usr/bin", "/usr/sbin", "/usr/local/bin", "/bin", "/sbin"};

// A host path under the host root.
std::string under(const std::string& root, std::string_view path) {
  return root == "/" ? std::string(path) : root + std::string(path);
}


bool has_glob(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

std::string basename_of(std::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::string dirname_of(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string_view::npos ? "/" : std::string(path.substr(0, slash));
}

std::vector<std::string> list_directory(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    return names;
  }
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") {
      names.push_back(std::move(n));
    }
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

// Resolves `path` (a host path, below the host root) with every symlink followed inside the root,
// as the host's loader sees it; the result is the host path to bind.
class HostRoot {
 public:
  explicit HostRoot(std::string root) : _root(std::move(root)) {
    _fd = sys::try_open_at(AT_FDCWD, _root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  }
  const std::string& root() const { return _root; }
  std::optional<std::string> resolve(std::string_view path, struct stat* st = nullptr) const {
    if (!_fd) {
      return std::nullopt;
    }
    std::string rel(path);
    auto fd = sys::try_open_in_root(_fd->get(), rel, O_PATH | O_CLOEXEC);
    if (!fd) {
      return std::nullopt;
    }
    if (st != nullptr) {
      *st = sys::stat_fd(fd->get());
    }
    return sys::read_link(sys::fd_path(fd->get()));
  }
  std::optional<std::string> read(std::string_view path) const {
    return sys::try_read_file(under(_root, path), 1 << 20);
  }

 private:
  std::string _root;
  std::optional<sys::Fd> _fd;
};

// The directories ld.so.conf names (with its include globs), then the defaults.
std::vector<std::string> library_dirs(const HostRoot& host) {
  std::vector<std::string> dirs;
  std::vector<std::string> pending{"/etc/ld.so.conf"};
  std::vector<std::string> seen;
  while (!pending.empty()) {
    std::string file = pending.back();
    pending.pop_back();
    if (std::find(seen.begin(), seen.end(), file) != seen.end() || seen.size() > 64) {
      continue;
    }
    seen.push_back(file);
    auto text = host.read(file);
    if (!text) {
      continue;
    }
    size_t start = 0;
    while (start < text->size()) {
      size_t nl = text->find('\n', start);
      std::string line = text->substr(start, nl == std::string::npos ? std::string::npos : nl - start);
      start = nl == std::string::npos ? text->size() : nl + 1;
      line = line.substr(0, line.find('#'));
      while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) {
        line.pop_back();
      }
      if (line.starts_with("include")) {
        std::string pattern = line.substr(7);
        pattern.erase(0, pattern.find_first_not_of(" \t"));
        if (!pattern.starts_with('/')) {
          pattern = dirname_of(file) + "/" + pattern;
        }
        glob_t g{};
        if (::glob(under(host.root(), pattern).c_str(), 0, nullptr, &g) == 0) {
          for (size_t i = 0; i < g.gl_pathc; ++i) {
            std::string p = g.gl_pathv[i];
            pending.push_back(host.root() == "/" ? p : p.substr(host.root().size()));
          }
        }
        ::globfree(&g);
      } else if (line.starts_with('/')) {
        dirs.push_back(line);
      }
    }
  }
  dirs.insert(dirs.end(), std::begin(default_library_dirs), std::end(default_library_dirs));
  return dirs;
}

bool is_soname_of(std::string_view name, std::string_view base) {
  // BASE.so.N: exactly one numeric component, the interface the loader asks for.
  std::string prefix = std::string(base) + ".so.";
  if (!name.starts_with(prefix)) {
    return false;
  }
  std::string_view rest = name.substr(prefix.size());
  return !rest.empty() && rest.find_first_not_of("0123456789") == std::string_view::npos;
}

// The host's libraries by soname: from its ld.so.cache (what its loader uses), else by listing
// the library directories.
struct LibraryIndex {
  std::map<std::string, std::string> by_soname;  // soname -> host path (before the root prefix)
  std::string source;
};

LibraryIndex index_libraries(const HostRoot& host) {
  LibraryIndex index;
  if (auto cache = sys::try_read_file(under(host.root(), "/etc/ld.so.cache"), 64 << 20)) {
    // A cache that does not parse counts as none: the directories below still find the libraries.
    if (auto entries = parse_ld_cache(*cache, "/etc/ld.so.cache")) {
      for (const auto& e : entries.value()) {
        if (is_native_entry(e)) {
          index.by_soname.emplace(e.soname, e.path);  // the first entry wins, as in the loader
        }
      }
    }
    if (!index.by_soname.empty()) {
      index.source = "ld.so.cache";
      return index;
    }
  }
  index.source = "library directories";
  for (const auto& dir : library_dirs(host)) {
    for (const auto& name : list_directory(under(host.root(), dir))) {
      if (name.find(".so.") != std::string::npos) {
        index.by_soname.emplace(name, dir + "/" + name);
      }
    }
  }
  return index;
}

std::string device_detail(const struct stat& st) {
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
    return std::string(S_ISCHR(st.st_mode) ? "char " : "block ") + std::to_string(major(st.st_rdev)) + ":" +
           std::to_string(minor(st.st_rdev));
  }
  return "not a device node";
}

// Paths matching `pattern` (a glob in its last component only) under the host root.
std::vector<std::string> expand(const HostRoot& host, const std::string& pattern) {
  if (!has_glob(pattern)) {
    return {pattern};
  }
  std::vector<std::string> out;
  std::string dir = dirname_of(pattern);
  std::string glob = basename_of(pattern);
  for (const auto& name : list_directory(under(host.root(), dir))) {
    if (::fnmatch(glob.c_str(), name.c_str(), 0) == 0) {
      out.push_back((dir == "/" ? "" : dir) + "/" + name);
    }
  }
  return out;
}

// Asks the host's libcuda which CUDA version it supports (cuDriverGetVersion needs no cuInit and
// opens no device). In a child process, so the driver library never stays loaded in cexec, and
// with a deadline, so a broken driver cannot hang a launch.
std::optional<Version> ask_libcuda(const std::string& libcuda) {
  try {
    auto reply = sys::run_in_child("ask-libcuda", [&] {
      int version = 0;
      if (void* h = ::dlopen(libcuda.c_str(), RTLD_NOW | RTLD_LOCAL)) {
        using get_version_fn = int (*)(int*);
        if (auto fn = reinterpret_cast<get_version_fn>(::dlsym(h, "cuDriverGetVersion")); fn && fn(&version) != 0) {
          version = 0;
        }
      }
      return std::to_string(version);
    }, 5000);
    return reply ? cuda_from_driver_api(std::atoi(reply->c_str())) : std::nullopt;
  } catch (const std::exception&) {
    return std::nullopt;  // a driver that crashed the child answers nothing
  }
}

void find_presence(VendorFacts& f, const HostRoot& host) {
  std::vector<std::string_view> evidence = f.vendor == Vendor::nvidia
      ? std::vector<std::string_view>{"/proc/driver/nvidia/version", "/sys/module/nvidia", "/dev/nvidiactl"}
      : std::vector<std::string_view>{"/dev/kfd"};
  for (auto path : evidence) {
    if (sys::try_stat(under(host.root(), path))) {
      f.present = true;
      f.presence_evidence = std::string(path);
      return;
    }
  }
}

void find_driver_version(VendorFacts& f, const HostRoot& host) {
  if (f.vendor == Vendor::nvidia) {
    if (auto text = host.read("/sys/module/nvidia/version")) {
      std::string t = *text;
      while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) {
        t.pop_back();
      }
      f.driver = parse_version(t);
    }
    if (!f.driver) {
      if (auto text = host.read("/proc/driver/nvidia/version")) {
        f.driver = driver_from_proc_version(*text);
      }
    }
  } else if (auto text = host.read("/sys/module/amdgpu/version")) {
    std::string t = *text;
    while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) {
      t.pop_back();
    }
    f.driver = parse_version(t);
  }
  // libcuda's file name carries the driver's release (libcuda.so.535.104.05); ROCm's libraries
  // carry their own versions, not the kernel driver's.
  if (!f.driver && f.vendor == Vendor::nvidia) {
    for (const auto& lib : f.libraries) {
      if (lib.name.starts_with("libcuda.so") && !lib.detail.empty()) {
        f.driver = parse_version(lib.detail);
      }
    }
  }
}

}  // namespace

std::vector<std::pair<std::string, std::string>> read_list_configs(const std::string& root) {
  std::vector<std::pair<std::string, std::string>> out;
  for (Vendor v : {Vendor::nvidia, Vendor::amd}) {
    std::string path = under(root, vendor_config_path(v));
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
      if (errno == ENOENT) {
        continue;
      }
      throw Error(ErrorKind::config, "GPU config `" + path + "`: " + std::error_code(errno, std::generic_category()).message());
    }
    sys::Fd owned(fd);
    struct stat st = sys::stat_fd(fd);
    if (auto why = config_ownership_problem(path, st.st_uid, st.st_mode, sys::try_unmapped_owner_uid()); !why.empty()) {
      throw Error(ErrorKind::config, why);
    }
    out.emplace_back(path, sys::read_all(fd, 1 << 20));
  }
  return out;
}

DriverFileList load_file_list(Vendor v, const std::string& root,
                              const std::vector<std::pair<std::string, std::string>>& configs) {
  DriverFileList list = builtin_file_list(v);
  for (const auto& [path, text] : configs) {
    if (path == under(root, vendor_config_path(v))) {
      list = value_or_throw(extend_file_list(std::move(list), text, path));
    }
  }
  return list;
}

VendorFacts discover_vendor(Vendor v, const std::string& root, const std::vector<std::string>& environ,
                            const std::vector<std::pair<std::string, std::string>>& configs) {
  VendorFacts f;
  f.vendor = v;
  HostRoot host(root);
  find_presence(f, host);
  if (!f.present) {
    return f;
  }
  DriverFileList list = load_file_list(v, root, configs);

  LibraryIndex index = index_libraries(host);
  f.library_source = index.source;
  for (const auto& base : list.libraries) {
    std::string chosen;
    for (const auto& [name, path] : index.by_soname) {
      if (is_soname_of(name, base) && (chosen.empty() || name.size() < chosen.size())) {
        chosen = name;
      }
    }
    struct stat st {};
    auto real = chosen.empty() ? std::nullopt : host.resolve(index.by_soname[chosen], &st);
    if (!real || !S_ISREG(st.st_mode)) {
      f.libraries_missing.push_back(base);
      continue;
    }
    auto release = version_from_library_name(basename_of(*real));
    f.libraries.push_back(HostFile{chosen, *real, release ? release->text : ""});
  }
  for (const auto& name : list.binaries) {
    for (auto dir : binary_dirs) {
      struct stat st {};
      auto real = host.resolve(std::string(dir) + "/" + name, &st);
      if (real && S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0) {
        f.binaries.push_back(HostFile{name, *real, ""});
        break;
      }
    }
  }
  for (const auto& pattern : list.icd) {
    for (const auto& path : expand(host, pattern)) {
      struct stat st {};
      if (auto real = host.resolve(path, &st); real && S_ISREG(st.st_mode)) {
        f.icd.push_back(HostFile{path, *real, ""});
      }
    }
  }
  for (const auto& pattern : list.devices) {
    for (const auto& path : expand(host, pattern)) {
      struct stat st {};
      if (auto real = host.resolve(path, &st); real && !S_ISDIR(st.st_mode)) {
        f.devices.push_back(HostFile{path, under(root, path), device_detail(st)});
      }
    }
  }
  std::vector<std::string> sockets = list.sockets;
  if (std::string mps = environ_value(environ, "CUDA_MPS_PIPE_DIRECTORY"); v == Vendor::nvidia && mps.starts_with('/')) {
    sockets.push_back(mps);
  }
  for (const auto& entry : sockets) {
    struct stat st {};
    if (auto real = host.resolve(entry, &st)) {
      // A socket is bound through its directory: the daemon may recreate the socket file.
      std::string path = S_ISSOCK(st.st_mode) ? dirname_of(entry) : entry;
      f.sockets.push_back(HostFile{path, under(root, path), ""});
    }
  }

  find_driver_version(f, host);
  if (v == Vendor::nvidia) {
    for (const auto& lib : f.libraries) {
      if (lib.name.starts_with("libcuda.so.")) {
        f.driver_cuda = ask_libcuda(lib.host_path);
        f.driver_cuda_source = "cuDriverGetVersion";
      }
    }
    if (!f.driver_cuda && f.driver) {
      f.driver_cuda = cuda_supported_by_driver(*f.driver);
      f.driver_cuda_source = "driver table";
    }
  }
  return f;
}

std::optional<ImageCuda> read_image_cuda(int image_root) {
  auto read_in_image = [&](const char* path) -> std::optional<std::string> {
    auto fd = sys::try_open_in_root(image_root, path, O_RDONLY | O_CLOEXEC);
    return fd ? std::optional<std::string>(sys::read_all(fd->get(), 1 << 20)) : std::nullopt;
  };
  if (auto text = read_in_image("usr/local/cuda/version.json")) {
    if (auto v = cuda_from_version_json(*text)) {
      return ImageCuda{*v, "/usr/local/cuda/version.json"};
    }
  }
  if (auto text = read_in_image("usr/local/cuda/version.txt")) {
    if (auto v = cuda_from_version_txt(*text)) {
      return ImageCuda{*v, "/usr/local/cuda/version.txt"};
    }
  }
  for (const char* dir : {"usr/local/cuda/lib64", "usr/local/cuda/targets/x86_64-linux/lib",
                          "usr/local/cuda/targets/sbsa-linux/lib", "usr/lib/x86_64-linux-gnu", "usr/lib64", "usr/lib"}) {
    auto fd = sys::try_open_in_root(image_root, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (!fd) {
      continue;
    }
    std::optional<ImageCuda> best;
    for (const auto& name : list_directory(sys::fd_path(fd->get()))) {
      if (auto v = cuda_from_cudart_name(name); v && (!best || *v > best->version)) {
        best = ImageCuda{*v, "/" + std::string(dir) + "/" + name};
      }
    }
    if (best) {
      return best;
    }
  }
  return std::nullopt;
}

GpuPlanInputs gather_gpu_inputs(const GpuRequest& request, bool all_vendors) {
  GpuPlanInputs in;
  in.host_root = request.host_root;
  in.existing_mounts = request.existing_mounts;
  in.container_dev_is_host_dev = std::any_of(in.existing_mounts.begin(), in.existing_mounts.end(), [](const MountOp& m) {
    return m.kind == MountKind::bind && m.source == "/dev" && m.destination == "/dev";
  });
  if (request.mode == Mode::none && !all_vendors) {
    return in;
  }
  for (Vendor v : {Vendor::nvidia, Vendor::amd}) {
    bool asked = request.mode == Mode::automatic || (v == Vendor::nvidia ? request.mode == Mode::nvidia : request.mode == Mode::rocm);
    if (!asked && !all_vendors) {
      continue;
    }
    VendorFacts f = discover_vendor(v, request.host_root, request.environ, request.list_configs);
    if (!f.present && asked && request.mode != Mode::automatic) {
      throw Error(ErrorKind::host_unsupported,
                  v == Vendor::nvidia
                      ? "--gpu=nvidia: this host has no NVIDIA driver (no /proc/driver/nvidia/version, /sys/module/nvidia or /dev/nvidiactl)"
                      : "--gpu=rocm: this host has no AMD GPU driver (no /dev/kfd)");
    }
    in.vendors.push_back(std::move(f));
  }
  return in;
}

bool wants_image_cuda(const GpuPlanInputs& in) {
  return std::any_of(in.vendors.begin(), in.vendors.end(),
                     [](const VendorFacts& f) { return f.vendor == Vendor::nvidia && f.present; });
}

}  // namespace cexec::gpu
