// The build plan: what `cexec build` will do, computed purely from the options, what the SPEC is,
// and who is building (which decides how root is faked). The builder (builder.cpp) executes it;
// `-v` prints it.
#pragma once

#include "base/error.hpp"
#include "builder/build_options.hpp"
#include "definition.hpp"
#include "metadata.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace cexec::build {

enum class SpecKind { definition, directory, squashfs, docker_archive, oci_archive, registry };

// What the SPEC argument is, as read from the file system.
struct SpecFacts {
  std::string path;             // absolute; registry: the docker:// reference
  SpecKind kind = SpecKind::definition;
  std::string definition_text;  // when kind == definition
};

// What a SPEC file is, from its first bytes (at least 512 for tar): a SquashFS image, an archive
// (tar, or gzip/bzip2/xz/zstd data), else a definition file. Directories are told apart by stat.
SpecKind classify_spec_file(std::string_view head);

// How the build gets a root that may chown and switch ids (README, "Building images"):
//   real_root        the caller is root: nothing to fake
//   subordinate_ids  a user namespace mapping root to the caller and 1..N to the caller's
//                    /etc/subuid and /etc/subgid range, set up by newuidmap/newgidmap
//   seccomp          a user namespace mapping only root to the caller, plus a seccomp filter that
//                    makes the chown and set*id families succeed without doing anything
enum class Fakeroot { real_root, subordinate_ids, seccomp };

const char* fakeroot_name(Fakeroot f);

struct IdRange {
  uint32_t start = 0;
  uint32_t count = 0;
  bool operator==(const IdRange&) const = default;
};

struct IdentityFacts {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string user_name;
  std::string subuid_text;  // /etc/subuid, empty when absent
  std::string subgid_text;
  bool has_newidmap = false;  // newuidmap and newgidmap are installed
};

struct FakerootPlan {
  Fakeroot mode = Fakeroot::seccomp;
  uid_t uid = 0;
  gid_t gid = 0;
  IdRange subuid;
  IdRange subgid;
};

// The first `NAME:START:COUNT` line (NAME may also be the numeric id) of an /etc/subuid-style file.
std::optional<IdRange> try_find_subid_range(std::string_view text, std::string_view name, uint32_t id);

FakerootPlan plan_fakeroot(const IdentityFacts& who);

// The compressors mksquashfs offers.
bool is_supported_compression(std::string_view name);

enum class Stage { bootstrap, setup, files, post, metadata, test, squash };
const char* stage_name(Stage s);

// The admin's registry settings (cexec.conf), read by the launcher for Bootstrap: docker.
struct RegistrySettings {
  std::vector<std::string> insecure;  // hosts pulled over plain HTTP besides localhost
  std::string shared_cache;           // a read-only cache searched first, or ""
};

struct BuildPlan {
  Definition definition;   // parsed, or made up for a directory / image / archive SPEC
  RegistrySettings registry;
  std::string source_dir;  // the definition file's folder: %files sources and %setup's cwd
  std::string output;      // absolute
  bool sandbox = false;
  bool force = false;
  bool keep_failed = false;
  std::string compression;
  FakerootPlan fakeroot;
  std::vector<Stage> stages;
  ImageMetadata metadata;  // from the definition; merged over the base image's at build time
  std::vector<Label> build_labels;
  Verbosity verbosity = Verbosity::normal;
};

// `output` and `spec` in `options` must already be absolute; `build_date` is ISO 8601 (UTC).
Result<BuildPlan> plan_build(const BuildOptions& options, const SpecFacts& spec, const IdentityFacts& who,
                             const std::string& build_date, std::string_view version);

std::string describe(const BuildPlan& plan);

}  // namespace cexec::build
