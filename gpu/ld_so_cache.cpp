#include "ld_so_cache.hpp"

#include <cstring>

namespace cexec::gpu {

namespace {

constexpr std::string_view new_magic = "glibc-ld.so.cache1.1";
constexpr size_t header_size = 48;  // magic+version (20), nlibs, len_strings, flags+pad, ext offset, 3 unused
constexpr size_t entry_size = 24;   // flags, key, value, osversion (4 bytes each), hwcap (8)

// sysdeps/generic/ldconfig.h
constexpr int32_t flag_type_mask = 0x00ff;
constexpr int32_t flag_elf_libc6 = 0x0003;
constexpr int32_t flag_required_mask = 0xff00;
constexpr int32_t flag_x8664_lib64 = 0x0300;
constexpr int32_t flag_aarch64_lib64 = 0x0a00;

uint32_t read_u32(std::string_view bytes, size_t at) {
  uint32_t v = 0;
  std::memcpy(&v, bytes.data() + at, sizeof v);
  return v;
}

std::string string_at(std::string_view table, uint32_t offset) {
  if (offset >= table.size()) {
    return "";
  }
  size_t end = table.find('\0', offset);
  return std::string(table.substr(offset, end == std::string_view::npos ? std::string_view::npos : end - offset));
}

}  // namespace

std::vector<LdCacheEntry> parse_ld_so_cache(std::string_view bytes) {
  std::vector<LdCacheEntry> out;
  size_t start = bytes.find(new_magic);
  if (start == std::string_view::npos) {
    return out;
  }
  // String offsets count from the start of the new-format header.
  std::string_view cache = bytes.substr(start);
  if (cache.size() < header_size) {
    return out;
  }
  uint32_t count = read_u32(cache, 20);
  if (count > (cache.size() - header_size) / entry_size) {
    return out;  // truncated or not a cache
  }
  for (uint32_t i = 0; i < count; ++i) {
    size_t at = header_size + i * entry_size;
    LdCacheEntry e;
    e.flags = static_cast<int32_t>(read_u32(cache, at));
    e.name = string_at(cache, read_u32(cache, at + 4));
    e.path = string_at(cache, read_u32(cache, at + 8));
    if (!e.name.empty() && !e.path.empty()) {
      out.push_back(std::move(e));
    }
  }
  return out;
}

bool is_native_entry(int32_t flags) {
  if ((flags & flag_type_mask) != flag_elf_libc6) {
    return false;
  }
#if defined(__x86_64__)
  return (flags & flag_required_mask) == flag_x8664_lib64;
#elif defined(__aarch64__)
  return (flags & flag_required_mask) == flag_aarch64_lib64;
#else
  return true;
#endif
}

}  // namespace cexec::gpu
