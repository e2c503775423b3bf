// The Singularity Image Format (SIF) as Apptainer and SingularityCE write it: a 128-byte global
// header, a table of fixed-size object descriptors, then the data objects (definition file, JSON
// labels, signatures and the file-system partitions). Pure parsing over bytes already read: the
// launcher (host_facts), the SquashFS server, `cexec inspect` and `cexec build` read the bytes and
// call these; the fuzz target feeds them arbitrary bytes.
//
// Layout (sylabs' SIF library, spec version 01, little-endian, packed):
//   header: launch script [32], magic "SIF_MAGIC\0" [10], version "01\0" [3], arch "02\0" [3],
//     uuid [16], created/modified/descriptors free/total/offset/size/data offset/size (8 x int64)
//   descriptor: data type int32, used bool, id/group/link uint32, offset/size/size-with-padding/
//     created/modified/uid/gid int64, name [128], extra [384] (partition: fs type int32, partition
//     type int32, arch [3])
#pragma once

#include "base/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cexec::sif {

inline constexpr size_t header_size = 128;
inline constexpr size_t descriptor_size = 585;
inline constexpr size_t max_descriptors = 4096;  // far above what any tool writes; bounds the table read

enum class DataType : int32_t {
  deffile = 0x4001,
  env_vars,
  labels,
  partition,
  signature,
  generic_json,
  generic,
  crypto_message,
  sbom,
};

enum class FsType : int32_t { squashfs = 1, ext3, immutable_archive, raw, encrypted_squashfs };
enum class PartType : int32_t { system = 1, primary_system, data, overlay };

struct Header {
  std::string launch_script;
  std::string arch;  // Go name ("amd64"), or "unknown"
  uint64_t descriptors_total = 0;
  uint64_t descriptors_offset = 0;
  uint64_t descriptors_size = 0;
};

struct Descriptor {
  int32_t data_type = 0;
  uint32_t id = 0;
  uint64_t offset = 0;
  uint64_t size = 0;
  std::string name;
  // Partition objects only.
  int32_t fs_type = 0;
  int32_t part_type = 0;
  std::string arch;
};

// True when `head` (the file's first bytes) carries the SIF magic.
bool has_magic(std::string_view head);

// `head` is the first header_size bytes (fewer when the file is shorter), `file_size` its size.
Result<Header> parse_header(std::string_view head, uint64_t file_size, std::string_view path);

// `table` is the descriptors_size bytes at descriptors_offset; returns the used descriptors, each
// checked to lie inside the file.
Result<std::vector<Descriptor>> parse_descriptors(std::string_view table, const Header& header, uint64_t file_size,
                                                  std::string_view path);

// The primary system partition, checked to be SquashFS (not encrypted) for `host_arch`.
Result<Descriptor> primary_partition(const std::vector<Descriptor>& descriptors, std::string_view host_arch,
                                     std::string_view path);

// The first used descriptor of a type, or nullptr.
const Descriptor* find_object(const std::vector<Descriptor>& descriptors, DataType type);

const char* arch_name(std::string_view code);  // "02" -> "amd64"; "unknown" for others
const char* fs_type_name(int32_t fs_type);     // "SquashFS", "ext3", ...

// The Go name of the architecture cexec was built for (SIF's naming).
constexpr std::string_view build_arch() {
#if defined(__x86_64__)
  return "amd64";
#elif defined(__aarch64__)
  return "arm64";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return "ppc64le";
#else
  return "unknown";
#endif
}

}  // namespace cexec::sif
