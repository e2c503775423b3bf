// Image identification (pure over bytes already read): a directory tree (sandbox) or a SquashFS
// file, whose superblock is checked before anything is mounted so that a truncated or corrupt
// image gets a clear error instead of an I/O error from inside the container.
// The in-image metadata layout (/.cexec/) is documented in docs/image-format.md.
#pragma once

#include "base/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace cexec {

enum class ImageKind { directory, squashfs };

inline constexpr size_t squashfs_superblock_size = 96;

struct SquashfsInfo {
  uint32_t inode_count = 0;
  uint32_t block_size = 0;
  uint16_t compression = 0;
  uint64_t bytes_used = 0;
};

// `head` is the first bytes of the file (at most 96 are used), `file_size` its size from fstat.
Result<SquashfsInfo> parse_squashfs_superblock(std::string_view head, uint64_t file_size,
                                               std::string_view path);

const char* squashfs_compression_name(uint16_t id);

// Paths of the in-image metadata, relative to the image root.
inline constexpr const char* metadata_dir = ".cexec";
inline constexpr const char* metadata_environment = ".cexec/environment";
inline constexpr const char* metadata_runscript = ".cexec/runscript";
inline constexpr const char* metadata_labels = ".cexec/labels";
inline constexpr const char* metadata_help = ".cexec/help";

}  // namespace cexec
