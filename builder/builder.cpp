#include "builder.hpp"
#include "builder_support.hpp"

#include "base/environment.hpp"
#include "base/payload_env.hpp"
#include "base/exit_codes.hpp"
#include "base/image.hpp"
#include "base/path_walk.hpp"
#include "base/sys/syscalls.hpp"
#include "archive_rules.hpp"
#include "build_log.hpp"
#include "copy_in.hpp"
#include "extract.hpp"
#include "image_config.hpp"
#include "registry_source.hpp"
#include "sandbox.hpp"
#include "base/sha256.hpp"
#include "sif_file.hpp"

#include <cerrno>
#include <csignal>
#include <chrono>
#include <cstdio>
#include <fcntl.h>
#include <glob.h>
#include <algorithm>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

namespace cexec::build {

namespace {

// Which Debian package provides each host tool a build may need.
struct Tool {
  const char* name;
  const char* package;
};
constexpr Tool tool_debootstrap{"debootstrap", "debootstrap"};
constexpr Tool tool_mksquashfs{"mksquashfs", "squashfs-tools"};
constexpr Tool tool_unsquashfs{"unsquashfs", "squashfs-tools"};
constexpr Tool tool_cp{"cp", "coreutils"};
constexpr Tool tool_chroot{"chroot", "coreutils"};

// A failed section: cexec exits with its status after cleaning up.
struct SectionFailed {
  int status;
};

class Builder {
 public:
  Builder(const BuildPlan& plan, const std::vector<std::string>& host_env)
      : _plan(plan), _env(tool_environment(host_env)), _host_env(host_env), _box(plan.fakeroot, _env),
        _quiet(plan.verbosity == Verbosity::quiet), _log(plan.output, host_env, plan.verbosity) {}

  int run();

 private:
  void progress(Stage stage, const std::string& detail) const {
    if (!_quiet) {
      std::fprintf(stderr, "cexec build: [%s] %s\n", stage_name(stage), detail.c_str());
      std::fflush(stderr);
    }
  }
  // Runs one stage; with -v its duration is logged (benchmarks/run_build.sh reads these lines).
  template <typename F>
  void timed(const char* step, F&& f) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    if (_plan.verbosity == Verbosity::verbose || _plan.verbosity == Verbosity::debug) {
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::fprintf(stderr, "cexec build: step %s: %.3f s\n", step, s);
    }
  }
  std::string require_tool(const Tool& tool) const;
  void check_tools() const;
  void check_output() const;
  void make_work_dir();
  void remove_work_dir() const;
  void run_section(const char* name, const Script& script, int status) const;

  void bootstrap();
  void bootstrap_copy(const std::string& from);
  void bootstrap_squashfs(const std::string& from);
  void bootstrap_archive();
  void bootstrap_registry();
  template <typename OpenLayer>
  void apply_layers(size_t count, OpenLayer&& open_layer);
  void bootstrap_debootstrap();
  void setup();
  void files();
  void post();
  void metadata();
  void test();
  void squash();
  void publish();
  void run_stage(Stage stage);
  void abandon() noexcept;  // a failed build: remove what it made, or keep it with --keep-failed

  const BuildPlan& _plan;
  std::vector<std::string> _env;       // for host tools
  std::vector<std::string> _host_env;  // as the caller had it
  BuildSandbox _box;
  bool _quiet;
  BuildLog _log;        // the tools' output (build_log.hpp)
  std::string _work;    // the hidden work folder next to OUT
  std::string _rootfs;  // _work/rootfs
  std::string _tmp_image;
  ImageMetadata _base;  // from a docker/OCI image config
};

std::string Builder::require_tool(const Tool& tool) const {
  std::string path = find_host_program(tool.name, _env);
  if (path.empty()) {
    throw Error(ErrorKind::host_unsupported, std::string(tool.name) + " not found: install the Debian package `" +
                                                 tool.package + "`");
  }
  return path;
}

void Builder::check_tools() const {
  const Definition& def = _plan.definition;
  if (def.bootstrap == Bootstrap::debootstrap) {
    require_tool(tool_debootstrap);
    require_tool(tool_chroot);
  }
  if (def.bootstrap == Bootstrap::directory) {
    require_tool(tool_cp);
  }
  if (def.bootstrap == Bootstrap::localimage) {
    auto st = sys::try_stat(def.from);
    if (st && !S_ISDIR(st->st_mode)) {
      require_tool(tool_unsquashfs);
    }
  }
  if (!_plan.sandbox) {
    require_tool(tool_mksquashfs);
  }
}

void Builder::check_output() const {
  if (sys::try_stat(_plan.output) && !_plan.force) {
    throw Error(ErrorKind::cannot_create, "`" + _plan.output + "` exists; use --force to replace it");
  }
  auto dir = sys::try_stat(parent_of(_plan.output));
  if (!dir || !S_ISDIR(dir->st_mode)) {
    throw Error(ErrorKind::cannot_create, "`" + parent_of(_plan.output) + "` is not a directory");
  }
}

void Builder::make_work_dir() {
  std::string tmpl = parent_of(_plan.output) + "/." + base_of(_plan.output) + ".cexec-build-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    int err = errno;
    throw Error(ErrorKind::cannot_create, "cannot create a work folder next to `" + _plan.output +
                                              "`: " + std::error_code(err, std::generic_category()).message());
  }
  _work = buf.data();
  _rootfs = _work + "/rootfs";
  sys::mkdir_at(AT_FDCWD, _rootfs, 0755);
}

void Builder::remove_work_dir() const {
  // In the sandbox: files the build chowned or made read-only are its root's to remove.
  _box.run([&] { remove_tree(_work); });
}

void Builder::run_section(const char* name, const Script& script, int status) const {
  if (status != 0) {
    std::fprintf(stderr, "cexec: %%%s (%s) failed with exit status %d\n", name,
                 definition_line(_plan, script.line).c_str(), status);
    throw SectionFailed{status};
  }
}

void Builder::bootstrap_copy(const std::string& from) {
  progress(Stage::bootstrap, "copying " + from);
  int status = _box.run([&] { sys::exec_program({"cp", "-a", "--", from + "/.", _rootfs + "/"}, _env); });
  if (status != 0) {
    throw Error(ErrorKind::input_missing, "copying `" + from + "` failed (cp exit status " + std::to_string(status) + ")");
  }
}

void Builder::bootstrap_squashfs(const std::string& from) {
  sys::Fd fd = sys::open_path(from, O_RDONLY);
  std::string head(std::max(squashfs_superblock_size, sif::header_size), '\0');
  ssize_t n = ::pread(fd.get(), head.data(), head.size(), 0);
  head.resize(n > 0 ? static_cast<size_t>(n) : 0);
  uint64_t size = static_cast<uint64_t>(sys::stat_fd(fd.get()).st_size);
  uint64_t offset = 0;  // a SIF's primary partition is unpacked where it lies (docs/sif.md)
  if (sif::has_magic(head)) {
    offset = sif::read_sif_squashfs(fd.get(), size, from).primary.offset;
  } else {
    value_or_throw(parse_squashfs_superblock(head, size, from));
  }
  progress(Stage::bootstrap, "unpacking " + from);
  bool real_root = _plan.fakeroot.mode == Fakeroot::real_root;
  int status = _box.run([&] {
    std::vector<std::string> argv{"unsquashfs", "-f", "-n", "-q", "-o", std::to_string(offset), "-d", _rootfs};
    if (!real_root) {
      argv.push_back("-no-xattrs");  // trusted.* and security.* xattrs need real root
    }
    argv.push_back(from);
    if (_quiet) {
      sys::Fd null = sys::open_path("/dev/null", O_WRONLY);
      sys::redirect_fd(null.get(), 1);
    }
    sys::exec_program(argv, _env);
  });
  if (status != 0) {
    throw Error(ErrorKind::image_invalid, "unpacking `" + from + "` failed (unsquashfs exit status " + std::to_string(status) + ")");
  }
}

void Builder::bootstrap_archive() {
  const Definition& def = _plan.definition;
  std::string layout_dir = _work + "/archive";
  sys::mkdir_at(AT_FDCWD, layout_dir, 0700);
  progress(Stage::bootstrap, "reading " + def.from);
  if (!sys::try_stat(def.from)) {
    throw Error(ErrorKind::input_missing, "archive `" + def.from + "` not found");
  }
  _box.run([&] { unpack_archive(def.from, layout_dir, UnpackOptions{}); });

  sys::Fd layout_root = sys::open_path(layout_dir, O_PATH | O_DIRECTORY);
  auto read_member = [&](const std::string& path) -> std::optional<std::string> {
    auto fd = sys::try_open_in_root(layout_root.get(), path, O_RDONLY);
    return fd ? std::optional(sys::read_all(fd->get(), 64 << 20)) : std::nullopt;
  };
  auto docker = read_member("manifest.json");
  auto oci = read_member("index.json");
  // docker save writes manifest.json (and, since Docker 25, an OCI layout too); take the format
  // the definition names when both are there.
  bool use_oci = oci && (def.bootstrap == Bootstrap::oci_archive || !docker);
  ArchiveLayout layout;
  if (use_oci) {
    struct utsname u {};
    ::uname(&u);
    std::string arch = std::string(u.machine) == "x86_64" ? "amd64" : std::string(u.machine) == "aarch64" ? "arm64" : u.machine;
    ManifestRef ref = value_or_throw(parse_oci_index(*oci, arch));
    for (int depth = 0; ref.is_index && depth < 4; ++depth) {
      auto nested = read_member(ref.path);
      if (!nested) {
        throw Error(ErrorKind::image_invalid, "archive `" + def.from + "`: missing blob " + ref.path);
      }
      ref = value_or_throw(parse_oci_index(*nested, arch));
    }
    auto manifest = read_member(ref.path);
    if (!manifest) {
      throw Error(ErrorKind::image_invalid, "archive `" + def.from + "`: missing manifest " + ref.path);
    }
    layout = value_or_throw(parse_oci_manifest(*manifest));
  } else if (docker) {
    layout = value_or_throw(parse_docker_manifest(*docker));
  } else {
    throw Error(ErrorKind::image_invalid, "archive `" + def.from + "` has neither manifest.json (docker save) nor "
                                          "index.json (OCI image layout)");
  }
  auto config = read_member(layout.config);
  if (!config) {
    throw Error(ErrorKind::image_invalid, "archive `" + def.from + "`: missing image config " + layout.config);
  }
  _base = value_or_throw(metadata_from_image_config(*config));

  apply_layers(layout.layers.size(), [&](size_t i) {
    auto fd = sys::try_open_in_root(layout_root.get(), layout.layers[i], O_RDONLY);
    if (!fd) {
      throw Error(ErrorKind::image_invalid, "archive `" + def.from + "`: missing layer " + layout.layers[i]);
    }
    return std::move(*fd);
  });
  _box.run([&] { remove_tree(layout_dir); });
}

// Bootstrap: docker (and `cexec pull`): the registry's blobs land in the cache (registry/), and
// their layers are applied like an archive's.
void Builder::bootstrap_registry() {
  progress(Stage::bootstrap, "pulling " + _plan.definition.from);
  const auto& labels = _plan.build_labels;
  auto date = std::find_if(labels.begin(), labels.end(), [](const Label& l) { return l.first == "org.cexec.build-date"; });
  PulledSource source = pull_for_build(_plan.definition.from, _plan.verbosity, _host_env, date != labels.end() ? date->second : "",
                                       _plan.registry);
  progress(Stage::bootstrap, source.summary);
  _base = value_or_throw(metadata_from_image_config(source.config_json));
  apply_layers(source.layer_paths.size(), [&](size_t i) { return sys::open_path(source.layer_paths[i], O_RDONLY | O_CLOEXEC); });
}

template <typename OpenLayer>
void Builder::apply_layers(size_t count, OpenLayer&& open_layer) {
  bool restore_owner = true;  // as root, or faked (seccomp) or real (subordinate ids) in the namespace
  for (size_t i = 0; i < count; ++i) {
    progress(Stage::bootstrap, "applying layer " + std::to_string(i + 1) + "/" + std::to_string(count));
    _box.run([&] {
      sys::Fd fd = open_layer(i);
      unpack_archive(sys::fd_path(fd.get()), _rootfs, UnpackOptions{true, restore_owner});
    });
  }
}

void Builder::bootstrap_debootstrap() {
  const Definition& def = _plan.definition;
  std::vector<std::string> argv{"debootstrap", "--variant=minbase"};
  if (!def.include.empty()) {
    std::string list;
    for (const auto& p : def.include) {
      list += (list.empty() ? "" : ",") + p;
    }
    argv.push_back("--include=" + list);
  }
  argv.insert(argv.end(), {def.os_version, _rootfs, def.mirror_url});
  int status = _log.run(_box, Stage::bootstrap, "debootstrap " + def.os_version + " from " + def.mirror_url, [&] {
    sys::Fd root = sys::open_path(_rootfs, O_PATH | O_DIRECTORY);
    // debootstrap makes /dev/null and friends with mknod unless they exist; in a user namespace
    // it cannot, so it finds them already bound (sandbox.hpp).
    mount_build_dev(root.get(), false);
    sys::exec_program(argv, _env);
  });
  if (status != 0) {
    throw Error(ErrorKind::setup_failed, "debootstrap failed with exit status " + std::to_string(status) +
                                             " (its log is debootstrap/debootstrap.log in the partial root, which --keep-failed keeps)");
  }
}

void Builder::bootstrap() {
  const Definition& def = _plan.definition;
  switch (def.bootstrap) {
    case Bootstrap::debootstrap:
      bootstrap_debootstrap();
      return;
    case Bootstrap::docker_archive:
    case Bootstrap::oci_archive:
      bootstrap_archive();
      return;
    case Bootstrap::docker:
      bootstrap_registry();
      return;
    case Bootstrap::directory:
    case Bootstrap::localimage: {
      auto st = sys::try_stat(def.from);
      if (!st) {
        throw Error(ErrorKind::input_missing, "bootstrap source `" + def.from + "` not found");
      }
      if (S_ISDIR(st->st_mode)) {
        bootstrap_copy(def.from);
      } else if (def.bootstrap == Bootstrap::localimage) {
        bootstrap_squashfs(def.from);
      } else {
        throw Error(ErrorKind::input_missing, "Bootstrap: directory needs a directory, `" + def.from + "` is not one");
      }
      return;
    }
  }
}

void Builder::setup() {
  const Script& s = *_plan.definition.setup;
  std::vector<std::string> env = _env;
  for (const char* name : {"CEXEC_ROOTFS", "APPTAINER_ROOTFS", "SINGULARITY_ROOTFS"}) {
    env.push_back(std::string(name) + "=" + _rootfs);
  }
  int status = _log.run(_box, Stage::setup, "running %setup on the host", [&] {
    if (::chdir(_plan.source_dir.c_str()) != 0) {
      sys::throw_errno("chdir", _plan.source_dir);
    }
    sys::exec_program(script_argv(s), env);
  });
  run_section("setup", s, status);
}

void Builder::files() {
  progress(Stage::files, std::to_string(_plan.definition.files.size()) + " item(s)");
  _box.run([&] {
    sys::Fd root = sys::open_path(_rootfs, O_PATH | O_DIRECTORY);
    for (const auto& f : _plan.definition.files) {
      std::string where = definition_line(_plan, f.line);
      std::string pattern = f.source.starts_with('/') ? f.source : _plan.source_dir + "/" + f.source;
      glob_t g{};
      int rc = ::glob(pattern.c_str(), GLOB_NOCHECK, nullptr, &g);
      std::vector<std::string> sources;
      for (size_t i = 0; rc == 0 && i < g.gl_pathc; ++i) {
        sources.emplace_back(g.gl_pathv[i]);
      }
      ::globfree(&g);
      for (const auto& src : sources) {
        if (!sys::try_stat(src)) {
          throw Error(ErrorKind::input_missing, where + ": %files source `" + src + "` not found");
        }
      }
      try {
        copy_into_root(root.get(), sources, f.destination);
      } catch (const Error& e) {
        throw Error(e.kind(), where + ": " + e.what());
      }
    }
  });
}

void Builder::post() {
  const Script& s = *_plan.definition.post;
  Fakeroot mode = _plan.fakeroot.mode;
  int status = _log.run(_box, Stage::post, "running %post in the new root",
                        [&] { run_chrooted(_rootfs, RootCommand{script_argv(s), post_environment(_host_env)}, mode); });
  run_section("post", s, status);
}

void Builder::metadata() {
  progress(Stage::metadata, "writing /.cexec/ (environment, runscript, labels, help, definition)");
  ImageMetadata meta = _plan.metadata;
  // An archive's config is the base; the definition's sections go on top of it.
  if (_base.environment) {
    meta.environment = *_base.environment + meta.environment.value_or("");
  }
  if (!meta.runscript) {
    meta.runscript = _base.runscript;
  }
  _box.run([&] {
    sys::Fd root = sys::open_path(_rootfs, O_PATH | O_DIRECTORY);
    sys::mkdir_at(root.get(), metadata_dir, 0755);
    // O_NOFOLLOW: a base image's /.cexec symlink must not redirect these writes.
    sys::Fd dir = sys::open_at(root.get(), metadata_dir, O_PATH | O_DIRECTORY | O_NOFOLLOW);
    std::vector<Label> labels;
    if (auto old = sys::try_open_at(dir.get(), "labels", O_RDONLY | O_NOFOLLOW)) {
      labels = value_or_throw(parse_labels_text(sys::read_all(old->get()), "base image /.cexec/labels"));
    }
    labels = merge_labels(merge_labels(merge_labels(labels, _base.labels), meta.labels), _plan.build_labels);
    auto write = [&](const char* name, const std::optional<std::string>& content, mode_t mode) {
      if (content) {
        (void)::unlinkat(dir.get(), name, 0);
        sys::write_file_at(dir.get(), name, *content, mode);
        if (::fchmodat(dir.get(), name, mode, 0) != 0) {  // whatever the umask
          sys::throw_errno("chmod", name);
        }
      }
    };
    write("environment", meta.environment, 0644);
    write("runscript", meta.runscript, 0755);
    write("help", meta.help, 0644);
    write("definition", meta.definition, 0644);
    write("labels", render_labels(labels), 0644);
  });
}

void Builder::test() {
  const Script& s = *_plan.definition.test;
  // %test sees the image's own environment, as `cexec exec` would give it.
  EnvInputs in;
  in.cleanenv = true;
  in.host = {"HOME=/root", "LANG=C", "USER=root", "LOGNAME=root"};
  sys::Fd root = sys::open_path(_rootfs, O_PATH | O_DIRECTORY);
  if (auto fd = sys::try_open_in_root(root.get(), metadata_environment, O_RDONLY)) {
    in.image = value_or_throw(parse_env_text(sys::read_all(fd->get()), std::string("/") + metadata_environment));
  }
  in.image_path = _plan.output;
  std::vector<std::string> env = to_environ(value_or_throw(assemble_environment(in)));
  Fakeroot mode = _plan.fakeroot.mode;
  int status = _log.run(_box, Stage::test, "running %test in the new image",
                        [&] { run_chrooted(_rootfs, RootCommand{script_argv(s), env}, mode); });
  run_section("test", s, status);
}

void Builder::squash() {
  progress(Stage::squash, "mksquashfs -comp " + _plan.compression);
  std::string tmpl = parent_of(_plan.output) + "/." + base_of(_plan.output) + ".cexec-tmp-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  int fd = ::mkstemp(buf.data());
  if (fd < 0) {
    int err = errno;
    throw Error(ErrorKind::cannot_create, "cannot create a file next to `" + _plan.output +
                                              "`: " + std::error_code(err, std::generic_category()).message());
  }
  ::close(fd);
  _tmp_image = buf.data();
  // Its messages go to memory: on a full disk a log file next to OUT could not be written either.
  sys::Fd log = sys::memory_file("mksquashfs-log");
  bool bar = !_quiet && is_tty(2);  // the sandbox gives mksquashfs stderr as its stdout
  int status = _box.run([&] {
    sys::redirect_fd(log.get(), 2);
    if (!bar) {
      sys::Fd null = sys::open_path("/dev/null", O_WRONLY);
      sys::redirect_fd(null.get(), 1);
    }
    sys::exec_program({"mksquashfs", _rootfs, _tmp_image, "-noappend", "-comp", _plan.compression, "-quiet",
                       bar ? "-progress" : "-no-progress"},
                      _env);
  });
  if (status != 0) {
    ::lseek(log.get(), 0, SEEK_SET);
    std::string text = sys::read_all(log.get(), 1 << 20);
    bool full = text.find("No space left") != std::string::npos;
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
      text.pop_back();
    }
    size_t last = text.rfind('\n');
    std::string tail = last == std::string::npos ? text : text.substr(last + 1);
    throw Error(ErrorKind::cannot_create,
                full ? "no space left on the device of `" + _plan.output + "` while squashing; nothing was written"
                     : "mksquashfs failed with exit status " + std::to_string(status) + (tail.empty() ? "" : ": " + tail));
  }
  mode_t mask = ::umask(0);
  ::umask(mask);
  if (::chmod(_tmp_image.c_str(), 0666 & ~mask) != 0) {
    sys::throw_errno("chmod", _tmp_image);
  }
}

// The finished image takes OUT's name in one rename(2): no one ever sees a partial OUT.
void Builder::publish() {
  const std::string& from = _plan.sandbox ? _rootfs : _tmp_image;
  if (sys::try_stat(_plan.output)) {
    if (!_plan.force) {
      throw Error(ErrorKind::cannot_create, "`" + _plan.output + "` exists; use --force to replace it");
    }
    auto st = sys::try_stat(_plan.output);
    if (st && S_ISDIR(st->st_mode)) {
      _box.run([&] { remove_tree(_plan.output); });
    }
  }
  if (::rename(from.c_str(), _plan.output.c_str()) != 0) {
    sys::throw_errno("rename", from, _plan.output);
  }
  _tmp_image.clear();
}

void Builder::run_stage(Stage stage) {
  switch (stage) {
    case Stage::bootstrap: return bootstrap();
    case Stage::setup: return setup();
    case Stage::files: return files();
    case Stage::post: return post();
    case Stage::metadata: return metadata();
    case Stage::test: return test();
    case Stage::squash: return squash();
  }
}

void Builder::abandon() noexcept {
  if (!_tmp_image.empty()) {
    ::unlink(_tmp_image.c_str());
  }
  if (_plan.keep_failed) {
    std::fprintf(stderr, "cexec: the partial root is kept in %s\n", _rootfs.c_str());
    return;
  }
  // Cleanup must not replace the error being reported (style rule 11).
  try {
    remove_work_dir();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cexec: warning: could not remove %s: %s\n", _work.c_str(), e.what());
  }
}

int Builder::run() {
  check_output();
  check_tools();
  if (_plan.verbosity == Verbosity::verbose || _plan.verbosity == Verbosity::debug) {
    std::fputs(describe(_plan).c_str(), stderr);
  }
  InterruptGuard interrupts;
  make_work_dir();
  try {
    for (Stage stage : _plan.stages) {
      timed(stage_name(stage), [&] { run_stage(stage); });
      interrupts.throw_if_interrupted();
    }
    publish();
  } catch (const SectionFailed& f) {
    abandon();
    return f.status;
  } catch (...) {
    abandon();
    throw;
  }
  timed("cleanup", [&] { remove_work_dir(); });
  if (!_quiet) {
    auto st = sys::try_stat(_plan.output);
    std::fprintf(stderr, "cexec build: built %s (%s)%s\n", _plan.output.c_str(),
                 _plan.sandbox ? "directory" : (std::to_string(st ? st->st_size : 0) + " bytes").c_str(),
                 _log.path().empty() ? "" : ("; the tools' output is in " + _log.path()).c_str());
  }
  if (!_plan.sandbox) {
    std::string digest;
    timed("digest", [&] { digest = file_digest(_plan.output); });
    std::printf("%s\n", digest.c_str());  // the one line on stdout: scripts take it
  }
  return 0;
}

}  // namespace

int run_build(const BuildPlan& plan, const std::vector<std::string>& host_env) {
  return Builder(plan, host_env).run();
}

}  // namespace cexec::build
