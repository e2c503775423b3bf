#include "base/ld_cache.hpp"

#include <cstring>

namespace cexec {

namespace {

// Layouts from glibc's sysdeps/generic/dl-cache.h.
constexpr std::string_view old_magic = "ld.so-1.7.0";           // magic[11], then uint32 nlibs at 12
constexpr size_t old_header = 16;
constexpr size_t old_entry = 12;                                // int32 flags, uint32 key, value
constexpr std::string_view new_magic = "glibc-ld.so.cache1.1";  // magic[17] + version[3]
constexpr size_t new_header = 48;                               // ... nlibs at 20, len_strings at 24
constexpr size_t new_entry = 24;                                // + uint32 osversion, uint64 hwcap

// Entry flags, from glibc's sysdeps/generic/ldconfig.h.
constexpr int32_t flag_type_mask = 0x00ff;
constexpr int32_t flag_elf_libc6 = 0x0003;
constexpr int32_t flag_arch_mask = 0xff00;
// The arch flag of this build's native entries (glibc's _DL_CACHE_DEFAULT_ID), chosen once so
// that no other arch's constant sits unused (clang's -Wunused-const-variable).
#if defined(__x86_64__)
constexpr int32_t native_arch_flag = 0x0300;  // FLAG_X8664_LIB64
#elif defined(__aarch64__)
constexpr int32_t native_arch_flag = 0x0a00;  // FLAG_AARCH64_LIB64
#else
constexpr int32_t native_arch_flag = 0;
#endif

uint32_t u32(std::string_view b, size_t at) {
  uint32_t v;
  std::memcpy(&v, b.data() + at, 4);
  return v;
}

// A NUL-terminated string at `base + offset`, bounds-checked.
bool string_at(std::string_view b, size_t base, uint32_t offset, std::string& out) {
  size_t at = base + offset;
  if (at < base || at >= b.size()) {
    return false;
  }
  size_t end = b.find('\0', at);
  if (end == std::string_view::npos) {
    return false;
  }
  out.assign(b.substr(at, end - at));
  return true;
}

Result<std::vector<LdCacheEntry>> parse_new(std::string_view b, size_t start, std::string_view origin) {
  auto bad = [&](const std::string& why) { return Failure{ErrorKind::image_invalid, std::string(origin) + ": " + why}; };
  if (b.size() < start + new_header) {
    return bad("truncated header");
  }
  uint32_t n = u32(b, start + 20);
  if (n > (b.size() - start - new_header) / new_entry) {
    return bad("entry count " + std::to_string(n) + " exceeds the file");
  }
  std::vector<LdCacheEntry> out;
  out.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    size_t at = start + new_header + i * new_entry;
    LdCacheEntry e;
    e.flags = static_cast<int32_t>(u32(b, at));
    // Offsets in the new table count from the start of its header.
    if (!string_at(b, start, u32(b, at + 4), e.soname) || !string_at(b, start, u32(b, at + 8), e.path)) {
      return bad("entry " + std::to_string(i) + " points outside the file");
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

Result<std::vector<LdCacheEntry>> parse_ld_cache(std::string_view b, std::string_view origin) {
  if (b.starts_with(new_magic)) {
    return parse_new(b, 0, origin);
  }
  if (!b.starts_with(old_magic) || b.size() < old_header) {
    return Failure{ErrorKind::image_invalid, std::string(origin) + ": not an ld.so.cache (unknown magic)"};
  }
  uint32_t n = u32(b, 12);
  if (n > (b.size() - old_header) / old_entry) {
    return Failure{ErrorKind::image_invalid, std::string(origin) + ": entry count " + std::to_string(n) + " exceeds the file"};
  }
  size_t entries_end = old_header + n * old_entry;
  // The compat layout puts the new table right after the old entries, 8-byte aligned; when it is
  // there it is the one the loader reads.
  size_t new_start = (entries_end + 7) & ~size_t{7};
  if (new_start + new_magic.size() <= b.size() && b.substr(new_start).starts_with(new_magic)) {
    return parse_new(b, new_start, origin);
  }
  std::vector<LdCacheEntry> out;
  for (uint32_t i = 0; i < n; ++i) {
    size_t at = old_header + i * old_entry;
    LdCacheEntry e;
    e.flags = static_cast<int32_t>(u32(b, at));
    // Offsets in the old table count from the end of its entries (the string table).
    if (!string_at(b, entries_end, u32(b, at + 4), e.soname) || !string_at(b, entries_end, u32(b, at + 8), e.path)) {
      return Failure{ErrorKind::image_invalid, std::string(origin) + ": entry " + std::to_string(i) + " points outside the file"};
    }
    out.push_back(std::move(e));
  }
  return out;
}

bool is_native_entry(const LdCacheEntry& e) {
  // glibc's _dl_cache_check_flags: the loader skips entries of another type or arch.
  if ((e.flags & flag_type_mask) != flag_elf_libc6) {
    return false;
  }
  return (e.flags & flag_arch_mask) == native_arch_flag;
}

}  // namespace cexec
