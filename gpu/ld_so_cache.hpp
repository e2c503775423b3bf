// A reader for glibc's ld.so.cache (the "glibc-ld.so.cache1.1" format ldconfig has written alone
// since glibc 2.32, also found after an old-format prefix). GPU discovery resolves the driver's
// libraries through the host's cache exactly as the host's loader would. Pure: parses bytes.
// (gpu/-local; mpi_bridge/ may carry a reader of its own until the two are merged.)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cexec::gpu {

struct LdCacheEntry {
  int32_t flags = 0;
  std::string name;  // the soname, e.g. "libcuda.so.1"
  std::string path;  // where ldconfig found it, e.g. "/usr/lib/x86_64-linux-gnu/libcuda.so.1"
  bool operator==(const LdCacheEntry&) const = default;
};

// Every entry of the new-format table; empty for an unknown or truncated file (no cache: the
// caller falls back to searching directories).
std::vector<LdCacheEntry> parse_ld_so_cache(std::string_view bytes);

// Whether an entry is for the ABI cexec itself was built for (x86-64 or AArch64 ELF libc6).
bool is_native_entry(int32_t flags);

}  // namespace cexec::gpu
