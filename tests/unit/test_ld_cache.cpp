// The ld.so.cache reader shared by the MPI bridge and GPU discovery (launcher/ld_cache.hpp): the
// old, compat and new layouts, the native-entry rule, and hostile bytes (garbage, truncation,
// out-of-bounds offsets, random mutations), which must give a Failure and never a crash.
#include "base/ld_cache.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

using namespace cexec;

namespace {

// sysdeps/generic/ldconfig.h: FLAG_ELF_LIBC6, alone (i386) or with FLAG_X8664_LIB64.
constexpr int32_t libc6 = 0x0003;
constexpr int32_t libc6_x86_64 = 0x0303;

LdCacheEntry entry(std::string soname, std::string path, int32_t flags = libc6_x86_64) {
  return LdCacheEntry{std::move(soname), std::move(path), flags};
}

void put32(std::string& b, size_t at, uint32_t v) {
  if (b.size() < at + 4) {
    b.resize(at + 4);
  }
  std::memcpy(b.data() + at, &v, 4);
}

// A new-format table ("glibc-ld.so.cache1.1") at offset `start` of `prefix`, laid out as ldconfig
// does: header, entries, then the strings, whose offsets count from the table's header.
std::string new_cache(const std::vector<LdCacheEntry>& entries, size_t start = 0, std::string prefix = "") {
  std::string b = std::move(prefix);
  b.resize(start + 48, '\0');
  std::memcpy(b.data() + start, "glibc-ld.so.cache1.1", 20);
  put32(b, start + 20, static_cast<uint32_t>(entries.size()));
  size_t strings = 48 + entries.size() * 24;
  std::string table;
  for (size_t i = 0; i < entries.size(); ++i) {
    size_t at = start + 48 + i * 24;
    b.resize(at + 24, '\0');
    put32(b, at, static_cast<uint32_t>(entries[i].flags));
    put32(b, at + 4, static_cast<uint32_t>(strings + table.size()));
    table += entries[i].soname + '\0';
    put32(b, at + 8, static_cast<uint32_t>(strings + table.size()));
    table += entries[i].path + '\0';
  }
  put32(b, start + 24, static_cast<uint32_t>(table.size()));
  return b + table;
}

// The old layout alone: "ld.so-1.7.0", nlibs, 12-byte entries, strings counted from the end of
// the entries.
std::string old_cache(const std::vector<LdCacheEntry>& entries) {
  std::string b(16, '\0');
  std::memcpy(b.data(), "ld.so-1.7.0", 11);
  put32(b, 12, static_cast<uint32_t>(entries.size()));
  std::string table;
  for (size_t i = 0; i < entries.size(); ++i) {
    size_t at = 16 + i * 12;
    put32(b, at, static_cast<uint32_t>(entries[i].flags));
    put32(b, at + 4, static_cast<uint32_t>(table.size()));
    table += entries[i].soname + '\0';
    put32(b, at + 8, static_cast<uint32_t>(table.size()));
    table += entries[i].path + '\0';
  }
  return b + table;
}

// The compat layout: an empty old table (16 bytes, already 8-aligned), then the new one.
std::string compat_cache(const std::vector<LdCacheEntry>& entries) { return new_cache(entries, 16, old_cache({})); }

}  // namespace

BOOST_AUTO_TEST_SUITE(ld_cache)

BOOST_AUTO_TEST_CASE(new_format) {
  std::vector<LdCacheEntry> want{entry("libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6"), entry("libmpi.so.40", "/usr/lib/libmpi.so.40"),
                                 entry("libcuda.so.1", "/usr/lib32/libcuda.so.1", libc6)};
  auto r = parse_ld_cache(new_cache(want), "c");
  BOOST_REQUIRE(r);
  BOOST_REQUIRE_EQUAL(r.value().size(), 3u);
  BOOST_CHECK_EQUAL(r.value()[1].soname, "libmpi.so.40");
  BOOST_CHECK_EQUAL(r.value()[1].path, "/usr/lib/libmpi.so.40");
  BOOST_CHECK_EQUAL(r.value()[2].flags, libc6);
  BOOST_CHECK(r.value() == want);
}

BOOST_AUTO_TEST_CASE(old_format_and_compat_layout) {
  auto old = parse_ld_cache(old_cache({entry("libm.so.6", "/lib/libm.so.6")}), "old");
  BOOST_REQUIRE(old);
  BOOST_REQUIRE_EQUAL(old.value().size(), 1u);
  BOOST_CHECK_EQUAL(old.value()[0].soname, "libm.so.6");
  BOOST_CHECK_EQUAL(old.value()[0].path, "/lib/libm.so.6");
  BOOST_CHECK_EQUAL(old.value()[0].flags, libc6_x86_64);
  // Compat: the new table right after the old entries (8-aligned) is the one that counts, even
  // when the old table lists something else (ldconfig puts the old strings after the new table).
  std::vector<LdCacheEntry> want{entry("libcuda.so.1", "/usr/lib64/libcuda.so.1"), entry("libz.so.1", "/usr/lib/libz.so.1")};
  auto both = parse_ld_cache(compat_cache(want), "compat");
  BOOST_REQUIRE(both);
  BOOST_CHECK(both.value() == want);
  std::string stale = old_cache({entry("libold.so.1", "/old/libold.so.1")}).substr(0, 16 + 12);
  stale.resize(32, '\0');
  auto newer = parse_ld_cache(new_cache(want, stale.size(), stale), "compat");
  BOOST_REQUIRE(newer);
  BOOST_CHECK(newer.value() == want);
}

BOOST_AUTO_TEST_CASE(native_entries_are_libc6_of_this_arch) {
#if defined(__x86_64__)
  BOOST_CHECK(is_native_entry(entry("libcuda.so.1", "/usr/lib64/libcuda.so.1", libc6_x86_64)));
  BOOST_CHECK(!is_native_entry(entry("libcuda.so.1", "/usr/lib32/libcuda.so.1", libc6)));
  BOOST_CHECK(!is_native_entry(entry("libx32.so.1", "/usr/libx32/libx32.so.1", 0x0803)));  // x32
#elif defined(__aarch64__)
  BOOST_CHECK(is_native_entry(entry("libcuda.so.1", "/usr/lib64/libcuda.so.1", 0x0a03)));
  BOOST_CHECK(!is_native_entry(entry("libcuda.so.1", "/usr/lib64/libcuda.so.1", libc6_x86_64)));
#endif
  // Not libc6 (FLAG_ELF, FLAG_ELF_LIBC5): never native, whatever the arch bits.
  BOOST_CHECK(!is_native_entry(entry("libold.so.1", "/lib/libold.so.1", 0x0301)));
  BOOST_CHECK(!is_native_entry(entry("libold.so.1", "/lib/libold.so.1", 0x0302)));
}

BOOST_AUTO_TEST_CASE(garbage_and_truncation_are_failures) {
  BOOST_CHECK(!parse_ld_cache("", "c"));
  BOOST_CHECK(!parse_ld_cache("not a cache", "c"));
  BOOST_CHECK(!parse_ld_cache("not a cache at all, no", "c"));
  BOOST_CHECK(!parse_ld_cache("ld.so-1.7.0", "c"));  // the old magic without its count
  // A header that promises more entries than the bytes hold.
  std::string one = new_cache({entry("libcuda.so.1", "/usr/lib64/libcuda.so.1")});
  BOOST_CHECK(!parse_ld_cache(one.substr(0, 60), "c"));
  std::string huge = new_cache({});
  put32(huge, 20, 0x7fffffff);
  auto r = parse_ld_cache(huge, "image:/etc/ld.so.cache");
  BOOST_REQUIRE(!r);
  BOOST_CHECK(r.failure().kind == ErrorKind::image_invalid);
  BOOST_CHECK(r.failure().message.starts_with("image:/etc/ld.so.cache: entry count"));
  std::string old_huge = old_cache({});
  put32(old_huge, 12, 0x7fffffff);
  BOOST_CHECK(!parse_ld_cache(old_huge, "c"));
  // String offsets outside the file, and a last string without its NUL.
  std::string outside = new_cache({entry("a", "b")});
  put32(outside, 48 + 4, 100000);
  auto o = parse_ld_cache(outside, "c");
  BOOST_REQUIRE(!o);
  BOOST_CHECK_EQUAL(o.failure().message, "c: entry 0 points outside the file");
  std::string old_outside = old_cache({entry("a", "b")});
  put32(old_outside, 16 + 8, 100000);
  BOOST_CHECK(!parse_ld_cache(old_outside, "c"));
  std::string unterminated = new_cache({entry("a", "b")});
  unterminated.pop_back();
  BOOST_CHECK(!parse_ld_cache(unterminated, "c"));
}

BOOST_AUTO_TEST_CASE(any_truncation_or_mutation_fails_cleanly) {
  // Every prefix and every random mutation of a valid cache parses or fails cleanly, in each
  // layout (a deterministic poor man's fuzzer; run under ASan in CI).
  std::vector<LdCacheEntry> two{entry("libc.so.6", "/lib/libc.so.6"), entry("libm.so.6", "/lib/libm.so.6")};
  for (const std::string& good : {new_cache(two), old_cache(two), compat_cache(two)}) {
    for (size_t n = 0; n < good.size(); ++n) {
      (void)parse_ld_cache(std::string_view(good).substr(0, n), "c");
    }
    uint32_t seed = 12345;
    auto next = [&] { return seed = seed * 1103515245u + 12345u; };
    for (int round = 0; round < 20000; ++round) {
      std::string bytes = good;
      for (int k = 0; k < 1 + round % 4; ++k) {
        bytes[next() % bytes.size()] = static_cast<char>(next() >> 16);
      }
      auto r = parse_ld_cache(bytes, "c");
      if (r) {
        for (const auto& e : r.value()) {
          BOOST_CHECK(e.soname.size() < bytes.size());
          BOOST_CHECK(e.path.size() < bytes.size());
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(reads_this_hosts_cache) {
  std::ifstream in("/etc/ld.so.cache", std::ios::binary);
  if (!in) {
    return;  // a host without a cache: the synthetic cases above still ran
  }
  std::stringstream ss;
  ss << in.rdbuf();
  auto r = parse_ld_cache(ss.str(), "/etc/ld.so.cache");
  BOOST_REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.failure().message));
  BOOST_CHECK(std::any_of(r.value().begin(), r.value().end(),
                          [](const LdCacheEntry& e) { return e.soname == "libc.so.6" && is_native_entry(e); }));
}

BOOST_AUTO_TEST_SUITE_END()
