// Unit tests for image.hpp: the SquashFS superblock check, on superblocks built here byte by byte
// (layout: squashfs-tools squashfs_fs.h, struct squashfs_super_block).
#include "base/image.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <functional>
#include <string>

namespace cexec {
namespace {

// Field offsets in the 96-byte superblock.
constexpr size_t off_magic = 0;
constexpr size_t off_inode_count = 4;
constexpr size_t off_block_size = 12;
constexpr size_t off_compression = 20;
constexpr size_t off_block_log = 22;
constexpr size_t off_major = 28;
constexpr size_t off_minor = 30;
constexpr size_t off_bytes_used = 40;
constexpr size_t off_id_table = 48;
constexpr size_t off_inode_table = 64;
constexpr size_t off_dir_table = 72;

class Superblock {
 public:
  // A consistent superblock: 128 KiB blocks, xz, version 4.0, tables inside a 1 MiB image.
  Superblock() : _bytes(squashfs_superblock_size, '\0') {
    put<uint32_t>(off_magic, 0x73717368);
    put<uint32_t>(off_inode_count, 42);
    put<uint32_t>(off_block_size, 131072);
    put<uint16_t>(off_compression, 4);
    put<uint16_t>(off_block_log, 17);
    put<uint16_t>(off_major, 4);
    put<uint16_t>(off_minor, 0);
    put<uint64_t>(off_bytes_used, 1 << 20);
    put<uint64_t>(off_inode_table, 0x1000);
    put<uint64_t>(off_dir_table, 0x8000);
    put<uint64_t>(off_id_table, 0xF0000);
  }

  template <typename T>
  Superblock& put(size_t offset, T value) {
    for (size_t i = 0; i < sizeof(T); ++i) {
      _bytes[offset + i] = static_cast<char>((static_cast<uint64_t>(value) >> (8 * i)) & 0xFF);
    }
    return *this;
  }

  const std::string& bytes() const { return _bytes; }

 private:
  std::string _bytes;
};

constexpr uint64_t image_size = 1 << 20;

Result<SquashfsInfo> parse(const Superblock& sb, uint64_t file_size = image_size) {
  return parse_squashfs_superblock(sb.bytes(), file_size, "/images/app.sqfs");
}

// Not fatal, so a table of cases reports every case that was wrongly accepted.
void require_failure(const Result<SquashfsInfo>& r, const std::string& words) {
  BOOST_TEST(!r.has_value(), "accepted, expected a failure with `" << words << "`");
  if (r) {
    return;
  }
  BOOST_TEST((r.failure().kind == ErrorKind::image_invalid));
  BOOST_TEST(r.failure().message.find("image `/images/app.sqfs`: ") == 0u, "message: " << r.failure().message);
  BOOST_TEST(r.failure().message.find(words) != std::string::npos, "message: " << r.failure().message);
}

BOOST_AUTO_TEST_SUITE(image)

BOOST_AUTO_TEST_CASE(valid_superblock) {
  auto r = parse(Superblock{});
  BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.failure().message));
  BOOST_TEST(r.value().inode_count == 42u);
  BOOST_TEST(r.value().block_size == 131072u);
  BOOST_TEST(r.value().compression == 4u);
  BOOST_TEST(r.value().bytes_used == image_size);
}

BOOST_AUTO_TEST_CASE(valid_when_file_is_larger_than_bytes_used) {
  // mksquashfs pads images to 4 KiB; the padding is not part of bytes_used.
  auto r = parse(Superblock{}, image_size + 4000);
  BOOST_TEST(r.has_value());
}

BOOST_AUTO_TEST_CASE(head_longer_than_superblock_is_fine) {
  std::string head = Superblock{}.bytes() + std::string(4000, 'x');
  auto r = parse_squashfs_superblock(head, image_size, "/images/app.sqfs");
  BOOST_TEST(r.has_value());
}

BOOST_AUTO_TEST_CASE(every_block_size_matching_block_log) {
  for (uint16_t log = 12; log <= 20; ++log) {
    BOOST_TEST_CONTEXT("block_log " << log) {
      Superblock sb;
      sb.put<uint32_t>(off_block_size, 1u << log).put<uint16_t>(off_block_log, log);
      auto r = parse(sb);
      BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.failure().message));
      BOOST_TEST(r.value().block_size == (1u << log));
    }
  }
}

BOOST_AUTO_TEST_CASE(every_known_compression) {
  const std::pair<uint16_t, const char*> cases[] = {{1, "gzip"}, {2, "lzma"}, {3, "lzo"},
                                                    {4, "xz"},   {5, "lz4"},  {6, "zstd"}};
  for (const auto& [id, name] : cases) {
    BOOST_TEST_CONTEXT("compression " << id) {
      BOOST_TEST_REQUIRE(squashfs_compression_name(id) != nullptr);
      BOOST_TEST(std::string(squashfs_compression_name(id)) == name);
      Superblock sb;
      sb.put<uint16_t>(off_compression, id);
      BOOST_TEST(parse(sb).has_value());
    }
  }
  BOOST_TEST(squashfs_compression_name(0) == nullptr);
  BOOST_TEST(squashfs_compression_name(7) == nullptr);
}

BOOST_AUTO_TEST_CASE(not_a_squashfs) {
  require_failure(parse(Superblock{}.put<uint32_t>(off_magic, 0x7371736a)), "not a SquashFS");
  // Big-endian magic ("sqsh"), as written by old big-endian builds.
  require_failure(parse(Superblock{}.put<uint32_t>(off_magic, 0x68737173)), "not a SquashFS");
  require_failure(parse_squashfs_superblock("\x7f" "ELF\x02\x01\x01", 8000, "/images/app.sqfs"), "not a SquashFS");
  require_failure(parse_squashfs_superblock("", 0, "/images/app.sqfs"), "not a SquashFS");
  require_failure(parse_squashfs_superblock("hsq", 3, "/images/app.sqfs"), "not a SquashFS");
}

BOOST_AUTO_TEST_CASE(short_header) {
  const std::string full = Superblock{}.bytes();
  for (size_t len : {size_t{4}, size_t{40}, squashfs_superblock_size - 1}) {
    BOOST_TEST_CONTEXT("head of " << len << " bytes") {
      require_failure(parse_squashfs_superblock(full.substr(0, len), len, "/images/app.sqfs"),
                      "truncated SquashFS (superblock incomplete)");
    }
  }
  // A full head read but a file size below one superblock is just as incomplete.
  require_failure(parse(Superblock{}, squashfs_superblock_size - 1), "superblock incomplete");
}

BOOST_AUTO_TEST_CASE(truncated_file) {
  auto r = parse(Superblock{}, image_size - 1);
  require_failure(r, "truncated SquashFS");
  require_failure(r, std::to_string(image_size - 1) + " of " + std::to_string(image_size) + " bytes present");
  require_failure(parse(Superblock{}, 4096), "4096 of 1048576 bytes present");
}

struct RejectCase {
  const char* name;
  std::function<void(Superblock&)> damage;
  const char* words;
};

BOOST_AUTO_TEST_CASE(rejected_superblocks) {
  const char* bad_block_size = "corrupt SquashFS superblock (block size)";
  const char* bad_tables = "corrupt SquashFS superblock (table offsets)";
  const RejectCase cases[] = {
      {"version 3.1", [](Superblock& s) { s.put<uint16_t>(off_major, 3).put<uint16_t>(off_minor, 1); },
       "unsupported SquashFS version 3.1"},
      {"version 4.1", [](Superblock& s) { s.put<uint16_t>(off_minor, 1); }, "unsupported SquashFS version 4.1"},
      {"version 5.0", [](Superblock& s) { s.put<uint16_t>(off_major, 5); }, "unsupported SquashFS version 5.0"},
      {"block_log 11",
       [](Superblock& s) { s.put<uint16_t>(off_block_log, 11).put<uint32_t>(off_block_size, 2048); },
       bad_block_size},
      {"block_log 21",
       [](Superblock& s) { s.put<uint16_t>(off_block_log, 21).put<uint32_t>(off_block_size, 1u << 21); },
       bad_block_size},
      {"block_log 40", [](Superblock& s) { s.put<uint16_t>(off_block_log, 40); }, bad_block_size},
      {"block_size disagrees with block_log", [](Superblock& s) { s.put<uint32_t>(off_block_size, 65536); },
       bad_block_size},
      {"block_size zero", [](Superblock& s) { s.put<uint32_t>(off_block_size, 0); }, bad_block_size},
      {"compression 0", [](Superblock& s) { s.put<uint16_t>(off_compression, 0); },
       "corrupt SquashFS superblock (unknown compression 0)"},
      {"compression 7", [](Superblock& s) { s.put<uint16_t>(off_compression, 7); },
       "corrupt SquashFS superblock (unknown compression 7)"},
      {"compression 0xffff", [](Superblock& s) { s.put<uint16_t>(off_compression, 0xffff); },
       "corrupt SquashFS superblock (unknown compression 65535)"},
      {"no inodes", [](Superblock& s) { s.put<uint32_t>(off_inode_count, 0); }, bad_tables},
      {"inode table at bytes_used", [](Superblock& s) { s.put<uint64_t>(off_inode_table, image_size); },
       bad_tables},
      {"directory table past the end", [](Superblock& s) { s.put<uint64_t>(off_dir_table, image_size + 1); },
       bad_tables},
      {"id table past the end", [](Superblock& s) { s.put<uint64_t>(off_id_table, ~uint64_t{0}); },
       bad_tables},
      {"inode table after directory table",
       [](Superblock& s) { s.put<uint64_t>(off_inode_table, 0x9000).put<uint64_t>(off_dir_table, 0x8000); },
       bad_tables},
      {"bytes_used zero", [](Superblock& s) { s.put<uint64_t>(off_bytes_used, 0); }, bad_tables},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      Superblock sb;
      c.damage(sb);
      require_failure(parse(sb), c.words);
    }
  }
}

BOOST_AUTO_TEST_CASE(unsupported_version_is_not_called_corrupt) {
  auto r = parse(Superblock{}.put<uint16_t>(off_major, 3));
  require_failure(r, "unsupported SquashFS version");
  BOOST_TEST((!r && r.failure().message.find("corrupt") == std::string::npos));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cexec
