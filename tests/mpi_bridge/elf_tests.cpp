// The bridge's ELF facts from real (small) shared libraries built by the suite, then the verdict
// rules over what was read: sonames and file versions, version definitions, and a library that
// needs a glibc newer than any real one.
#define BOOST_TEST_MODULE cexec_mpi_elf
#include "abi.hpp"
#include "elf_file.hpp"

#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <unistd.h>

using namespace cexec;
using namespace cexec::mpi_bridge;

namespace {

const std::string fixtures = CEXEC_FIXTURES;

ElfFacts read(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  BOOST_REQUIRE_MESSAGE(fd >= 0, path);
  auto facts = read_elf(fd, path);
  ::close(fd);
  BOOST_REQUIRE_MESSAGE(facts, path);
  return facts.value();
}

MpiLibrary mpi_from(const std::string& path) {
  ElfFacts f = read(path);
  MpiLibrary m;
  m.soname = f.soname;
  m.family = family_of_soname(f.soname);
  m.path = path;
  m.file_version = parse_library_name(path)->numbers;
  return m;
}

}  // namespace

BOOST_AUTO_TEST_CASE(sonames_needed_and_definitions) {
  ElfFacts mpich = read(fixtures + "/mpich/libmpi.so.12.1.8");
  BOOST_CHECK_EQUAL(mpich.soname, "libmpi.so.12");
  BOOST_CHECK(mpich.is_64);
  BOOST_CHECK(mpich.defs.contains("MPI_1.0"));
  BOOST_CHECK_EQUAL(read(fixtures + "/ompi/libmpi.so.40.30.4").soname, "libmpi.so.40");
  ElfFacts libc = read(fixtures + "/future/libc.so.6");
  BOOST_CHECK(libc.defs == (std::set<std::string>{"GLIBC_2.17", "GLIBC_2.99"}));
  ElfFacts needs = read(fixtures + "/libneeds_future.so.1");
  BOOST_CHECK_EQUAL(needs.soname, "libneeds_future.so.1");
  BOOST_REQUIRE_EQUAL(needs.needed.size(), 1u);
  BOOST_CHECK_EQUAL(needs.needed[0], "libc.so.6");
  std::set<VersionNeed> want{{"libc.so.6", "GLIBC_2.17"}, {"libc.so.6", "GLIBC_2.99"}};
  BOOST_CHECK(std::set<VersionNeed>(needs.needs.begin(), needs.needs.end()) == want);
}

BOOST_AUTO_TEST_CASE(verdicts_over_the_built_libraries) {
  MpiLibrary mpich = mpi_from(fixtures + "/mpich/libmpi.so.12.1.8");
  MpiLibrary ompi = mpi_from(fixtures + "/ompi/libmpi.so.40.30.4");
  BOOST_CHECK(judge_mpi(mpich, mpich).compatible);
  BOOST_CHECK(judge_mpi(ompi, std::nullopt).compatible);
  BOOST_CHECK(!judge_mpi(ompi, mpich).compatible);
  MpiLibrary newer_image = mpich;
  newer_image.file_version = *parse_version("12.2.0");
  auto v = judge_mpi(mpich, newer_image);
  BOOST_CHECK(!v.compatible);
  BOOST_CHECK(v.reason.find("minor 1 is older than the image's 2") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_library_needing_a_future_glibc_is_refused_against_the_real_one) {
  ElfFacts needs = read(fixtures + "/libneeds_future.so.1");
  ElfFacts real_libc = read("/lib/x86_64-linux-gnu/libc.so.6");
  BOOST_CHECK(real_libc.defs.contains("GLIBC_2.17"));
  auto verdicts = judge_version_needs("libneeds_future.so.1", needs.needs, {}, {{"libc.so.6", real_libc.defs}});
  BOOST_REQUIRE_EQUAL(verdicts.size(), 1u);
  BOOST_CHECK(!verdicts[0].compatible);
  BOOST_CHECK_EQUAL(verdicts[0].reason, "the image's libc.so.6 does not provide GLIBC_2.99 (needed by libneeds_future.so.1)");
  // Against the stand-in that defines it, the same needs pass.
  ElfFacts future = read(fixtures + "/future/libc.so.6");
  BOOST_CHECK(judge_version_needs("libneeds_future.so.1", needs.needs, {}, {{"libc.so.6", future.defs}})[0].compatible);
}

BOOST_AUTO_TEST_CASE(non_elf_input_is_a_failure) {
  int fd = ::open("/etc/passwd", O_RDONLY | O_CLOEXEC);
  BOOST_REQUIRE(fd >= 0);
  auto r = read_elf(fd, "/etc/passwd");
  ::close(fd);
  BOOST_REQUIRE(!r);
  BOOST_CHECK_EQUAL(r.failure().message, "`/etc/passwd`: not an ELF file");
}
