// Reading a SIF file: the header and descriptor table through positioned reads, checked by the
// pure parsers of sif.hpp. Nothing is copied: the launcher mounts the primary partition where it
// lies (libsquashfuse takes the byte offset of the SquashFS inside the file).
#pragma once

#include "sif.hpp"

#include <optional>
#include <string>

namespace cexec::sif {

struct SifFile {
  Header header;
  std::vector<Descriptor> descriptors;
  Descriptor primary;  // the SquashFS primary system partition
};

// Reads and checks the SIF open on `fd` (of `file_size` bytes): throws Error(image_invalid) with a
// one-line reason for a corrupt or truncated file or an unusable primary partition.
SifFile read_sif(int fd, uint64_t file_size, const std::string& path);

// read_sif, then the SquashFS superblock of the primary partition checked (image.hpp).
SifFile read_sif_squashfs(int fd, uint64_t file_size, const std::string& path);

// The bytes of one data object, nullopt when it is larger than `limit`.
std::optional<std::string> read_object(int fd, const Descriptor& object, size_t limit);

// Where the SquashFS filesystem of the image file open on `fd` starts: the primary partition's
// offset for a SIF, 0 for anything else.
uint64_t squashfs_offset(int fd, const std::string& path);

}  // namespace cexec::sif
