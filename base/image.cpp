#include "base/image.hpp"

#include <cstring>

namespace cexec {

namespace {

template <typename T>
T little_endian_at(std::string_view bytes, size_t offset) {
  T value = 0;
  for (size_t i = 0; i < sizeof(T); ++i) {
    value |= static_cast<T>(static_cast<uint8_t>(bytes[offset + i])) << (8 * i);
  }
  return value;
}

constexpr uint32_t squashfs_magic = 0x73717368;  // "hsqs" little-endian

}  // namespace

const char* squashfs_compression_name(uint16_t id) {
  switch (id) {
    case 1: return "gzip";
    case 2: return "lzma";
    case 3: return "lzo";
    case 4: return "xz";
    case 5: return "lz4";
    case 6: return "zstd";
    default: return nullptr;
  }
}

Result<SquashfsInfo> parse_squashfs_superblock(std::string_view head, uint64_t file_size,
                                               std::string_view path) {
  std::string p(path);
  auto bad = [&](const std::string& why) { return Failure{ErrorKind::image_invalid, "image `" + p + "`: " + why}; };
  if (head.size() < 4 || little_endian_at<uint32_t>(head, 0) != squashfs_magic) {
    return bad("not a SquashFS file, a SIF file or a directory");
  }
  if (head.size() < squashfs_superblock_size || file_size < squashfs_superblock_size) {
    return bad("truncated SquashFS (superblock incomplete)");
  }
  SquashfsInfo info;
  info.inode_count = little_endian_at<uint32_t>(head, 4);
  info.block_size = little_endian_at<uint32_t>(head, 12);
  info.compression = little_endian_at<uint16_t>(head, 20);
  uint16_t block_log = little_endian_at<uint16_t>(head, 22);
  uint16_t major = little_endian_at<uint16_t>(head, 28);
  uint16_t minor = little_endian_at<uint16_t>(head, 30);
  info.bytes_used = little_endian_at<uint64_t>(head, 40);
  uint64_t id_table = little_endian_at<uint64_t>(head, 48);
  uint64_t inode_table = little_endian_at<uint64_t>(head, 64);
  uint64_t dir_table = little_endian_at<uint64_t>(head, 72);

  if (major != 4 || minor != 0) {
    return bad("unsupported SquashFS version " + std::to_string(major) + "." + std::to_string(minor));
  }
  if (block_log < 12 || block_log > 20 || info.block_size != (1u << block_log)) {
    return bad("corrupt SquashFS superblock (block size)");
  }
  if (squashfs_compression_name(info.compression) == nullptr) {
    return bad("corrupt SquashFS superblock (unknown compression " + std::to_string(info.compression) + ")");
  }
  if (info.inode_count == 0 || inode_table >= info.bytes_used || dir_table >= info.bytes_used ||
      id_table >= info.bytes_used || inode_table > dir_table) {
    return bad("corrupt SquashFS superblock (table offsets)");
  }
  if (info.bytes_used > file_size) {
    return bad("truncated SquashFS (" + std::to_string(file_size) + " of " + std::to_string(info.bytes_used) +
               " bytes present)");
  }
  return info;
}

}  // namespace cexec
