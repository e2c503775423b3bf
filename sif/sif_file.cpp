#include "sif_file.hpp"

#include "base/image.hpp"
#include "base/sys/syscalls.hpp"

namespace cexec::sif {

SifFile read_sif(int fd, uint64_t file_size, const std::string& path) {
  SifFile f;
  f.header = value_or_throw(parse_header(sys::read_at(fd, header_size, 0), file_size, path));
  std::string table = sys::read_at(fd, f.header.descriptors_total * descriptor_size, f.header.descriptors_offset);
  f.descriptors = value_or_throw(parse_descriptors(table, f.header, file_size, path));
  f.primary = value_or_throw(primary_partition(f.descriptors, build_arch(), path));
  return f;
}

SifFile read_sif_squashfs(int fd, uint64_t file_size, const std::string& path) {
  SifFile f = read_sif(fd, file_size, path);
  std::string superblock = sys::read_at(fd, squashfs_superblock_size, f.primary.offset);
  (void)value_or_throw(parse_squashfs_superblock(superblock, f.primary.size, path + " (SIF primary partition)"));
  return f;
}

std::optional<std::string> read_object(int fd, const Descriptor& object, size_t limit) {
  if (object.size > limit) {
    return std::nullopt;
  }
  return sys::read_at(fd, static_cast<size_t>(object.size), object.offset);
}

uint64_t squashfs_offset(int fd, const std::string& path) {
  if (!has_magic(sys::read_at(fd, header_size, 0))) {
    return 0;
  }
  return read_sif(fd, static_cast<uint64_t>(sys::stat_fd(fd).st_size), path).primary.offset;
}

}  // namespace cexec::sif
