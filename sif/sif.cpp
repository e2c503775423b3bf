#include "sif.hpp"

#include <type_traits>

namespace cexec::sif {

namespace {

template <typename T>
T little_endian_at(std::string_view bytes, size_t offset) {
  using U = std::make_unsigned_t<T>;  // assembled unsigned: no shift into a sign bit
  U value = 0;
  for (size_t i = 0; i < sizeof(T); ++i) {
    value = static_cast<U>(value | static_cast<U>(static_cast<U>(static_cast<uint8_t>(bytes[offset + i])) << (8 * i)));
  }
  return static_cast<T>(value);
}

// A fixed-size, NUL-padded string field.
std::string field(std::string_view bytes, size_t offset, size_t size) {
  std::string_view f = bytes.substr(offset, size);
  return std::string(f.substr(0, f.find('\0')));
}

constexpr std::string_view magic{"SIF_MAGIC\0", 10};
constexpr size_t magic_offset = 32;

Failure bad(std::string_view path, const std::string& why) {
  return Failure{ErrorKind::image_invalid, "image `" + std::string(path) + "`: " + why};
}

// offset + size inside [0, file_size], without overflow.
bool inside(uint64_t offset, uint64_t size, uint64_t file_size) {
  return offset <= file_size && size <= file_size - offset;
}

}  // namespace

bool has_magic(std::string_view head) {
  return head.size() >= magic_offset + magic.size() && head.substr(magic_offset, magic.size()) == magic;
}

const char* arch_name(std::string_view code) {
  static constexpr const char* names[] = {"unknown", "386",    "amd64",  "arm",      "arm64", "ppc64", "ppc64le",
                                          "mips",    "mipsle", "mips64", "mips64le", "s390x", "riscv64"};
  if (code.size() == 2 && code[0] >= '0' && code[0] <= '9' && code[1] >= '0' && code[1] <= '9') {
    size_t n = static_cast<size_t>((code[0] - '0') * 10 + (code[1] - '0'));
    if (n < std::size(names)) {
      return names[n];
    }
  }
  return "unknown";
}

const char* fs_type_name(int32_t fs_type) {
  switch (static_cast<FsType>(fs_type)) {
    case FsType::squashfs: return "SquashFS";
    case FsType::ext3: return "ext3";
    case FsType::immutable_archive: return "an immutable object archive";
    case FsType::raw: return "raw data";
    case FsType::encrypted_squashfs: return "encrypted SquashFS";
  }
  return "an unknown file system";
}

Result<Header> parse_header(std::string_view head, uint64_t file_size, std::string_view path) {
  if (!has_magic(head)) {
    return bad(path, "not a SIF file");
  }
  if (head.size() < header_size || file_size < header_size) {
    return bad(path, "truncated SIF (global header incomplete)");
  }
  std::string version = field(head, 42, 3);
  if (version != "01") {
    return bad(path, "unsupported SIF version `" + version + "` (cexec reads version 01)");
  }
  Header h;
  h.launch_script = field(head, 0, 32);
  h.arch = arch_name(field(head, 45, 3));
  h.descriptors_total = little_endian_at<uint64_t>(head, 88);
  h.descriptors_offset = little_endian_at<uint64_t>(head, 96);
  h.descriptors_size = little_endian_at<uint64_t>(head, 104);
  if (h.descriptors_total == 0 || h.descriptors_total > max_descriptors ||
      h.descriptors_size < h.descriptors_total * descriptor_size || h.descriptors_offset < header_size) {
    return bad(path, "corrupt SIF global header (descriptor table)");
  }
  if (!inside(h.descriptors_offset, h.descriptors_total * descriptor_size, file_size)) {
    return bad(path, "truncated SIF (descriptor table past the end of the file)");
  }
  return h;
}

Result<std::vector<Descriptor>> parse_descriptors(std::string_view table, const Header& header, uint64_t file_size,
                                                  std::string_view path) {
  if (table.size() < header.descriptors_total * descriptor_size) {
    return bad(path, "truncated SIF (descriptor table incomplete)");
  }
  std::vector<Descriptor> out;
  for (size_t i = 0; i < header.descriptors_total; ++i) {
    std::string_view raw = table.substr(i * descriptor_size, descriptor_size);
    if (raw[4] == 0) {
      continue;  // an unused slot
    }
    Descriptor d;
    d.data_type = little_endian_at<int32_t>(raw, 0);
    d.id = little_endian_at<uint32_t>(raw, 5);
    d.offset = little_endian_at<uint64_t>(raw, 17);
    d.size = little_endian_at<uint64_t>(raw, 25);
    d.name = field(raw, 73, 128);
    if (!inside(d.offset, d.size, file_size)) {
      return bad(path, "truncated SIF (object " + std::to_string(d.id) + " ends past the end of the file)");
    }
    if (d.data_type == static_cast<int32_t>(DataType::partition)) {
      d.fs_type = little_endian_at<int32_t>(raw, 201);
      d.part_type = little_endian_at<int32_t>(raw, 205);
      d.arch = arch_name(field(raw, 209, 3));
    }
    out.push_back(std::move(d));
  }
  return out;
}

Result<Descriptor> primary_partition(const std::vector<Descriptor>& descriptors, std::string_view host_arch,
                                     std::string_view path) {
  for (const Descriptor& d : descriptors) {
    if (d.data_type != static_cast<int32_t>(DataType::partition) ||
        d.part_type != static_cast<int32_t>(PartType::primary_system)) {
      continue;
    }
    if (d.fs_type == static_cast<int32_t>(FsType::encrypted_squashfs)) {
      return bad(path, "the SIF's primary partition is encrypted (cexec cannot decrypt SIF partitions)");
    }
    if (d.fs_type != static_cast<int32_t>(FsType::squashfs)) {
      return bad(path, std::string("the SIF's primary partition is ") + fs_type_name(d.fs_type) +
                           ", not SquashFS (cexec runs SquashFS partitions only)");
    }
    if (d.arch != host_arch) {
      return bad(path, "the SIF is built for " + d.arch + ", this host runs " + std::string(host_arch));
    }
    return d;
  }
  return bad(path, "the SIF has no primary system partition");
}

const Descriptor* find_object(const std::vector<Descriptor>& descriptors, DataType type) {
  for (const Descriptor& d : descriptors) {
    if (d.data_type == static_cast<int32_t>(type)) {
      return &d;
    }
  }
  return nullptr;
}

}  // namespace cexec::sif
