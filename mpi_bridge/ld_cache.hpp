// glibc's /etc/ld.so.cache read from bytes (pure), so the image's libraries are found without
// running anything from the image. Both layouts: the old "ld.so-1.7.0" table (optionally followed
// by the new one, the "compat" layout) and the new "glibc-ld.so.cache1.1" table alone (glibc >= 2.32
// writes only this one).
#pragma once

#include "../launcher/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cexec::mpi_bridge {

struct LdCacheEntry {
  std::string soname;  // the key: "libc.so.6"
  std::string path;    // the value: "/lib/x86_64-linux-gnu/libc.so.6"
  int32_t flags = 0;   // FLAG_ELF_LIBC6 | FLAG_X8664_LIB64 ...
  bool operator==(const LdCacheEntry&) const = default;
};

inline constexpr int32_t ld_cache_arch_mask = 0xff00;
inline constexpr int32_t ld_cache_x86_64 = 0x0300;

// Entries in cache order (the loader takes the first match); a malformed file is a Failure naming
// `origin` and what is wrong. Offsets are bounds-checked: any bytes are safe input.
Result<std::vector<LdCacheEntry>> parse_ld_cache(std::string_view bytes, std::string_view origin);

// Entries for this machine's ABI (x86-64 entries on x86-64; entries with no arch flag elsewhere).
bool is_native_entry(const LdCacheEntry& e);

}  // namespace cexec::mpi_bridge
