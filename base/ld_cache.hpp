// glibc's /etc/ld.so.cache read from bytes (pure), so a root's libraries are found the way its
// loader finds them without running anything from it. Shared by the MPI bridge (host and image
// closures) and GPU discovery (the host's driver libraries). Both layouts: the old "ld.so-1.7.0"
// table (optionally followed by the new one, the "compat" layout) and the new
// "glibc-ld.so.cache1.1" table alone (glibc >= 2.32 writes only this one).
#pragma once

#include "base/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cexec {

struct LdCacheEntry {
  std::string soname;  // the key: "libc.so.6"
  std::string path;    // the value: "/lib/x86_64-linux-gnu/libc.so.6"
  int32_t flags = 0;   // FLAG_ELF_LIBC6 | FLAG_X8664_LIB64 ...
  bool operator==(const LdCacheEntry&) const = default;
};

// Entries in cache order (the loader takes the first match); a malformed file is a Failure naming
// `origin` and what is wrong. Offsets are bounds-checked: any bytes are safe input. A caller with
// another way to find libraries (GPU discovery lists directories) treats a Failure as no cache.
Result<std::vector<LdCacheEntry>> parse_ld_cache(std::string_view bytes, std::string_view origin);

// Whether the loader of the ABI cexec was built for would use this entry: an ELF libc6 library
// with this machine's arch flag (x86-64, AArch64; no arch flag on other targets).
bool is_native_entry(const LdCacheEntry& e);

}  // namespace cexec
