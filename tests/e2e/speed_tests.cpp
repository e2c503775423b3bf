// Issue 14 end to end: the SquashFS server under concurrent readers (every byte must match the same
// tree as a directory image, whether many processes read distinct files or the same one), and the
// node's cached MPI discovery (used when nothing changed, ignored when a file it depends on
// changed or when the cache file is damaged or not private, never failing the launch).
#define BOOST_TEST_MODULE cexec_speed
#include "harness.hpp"

#include <algorithm>
#include <thread>

using namespace e2e;

namespace {

// A tree with the staged image's busybox and four 3 MiB files (half random, half repetitive: zstd
// blocks of both kinds, and the fragment table for the odd tail), as a directory and as SquashFS.
void make_data_images(const TempDir& work) {
  std::string root = work / "root";
  auto copy = run({"cp", "-a", dir_image(), root}, Env{{"PATH", "/usr/bin:/bin"}});
  BOOST_REQUIRE_MESSAGE(copy.status == 0, copy);
  fs::create_directories(root + "/speed");
  std::string script = "for i in 0 1 2 3; do { head -c 1572864 /dev/urandom; yes line-$i | head -c 1572999; } > " + root +
                       "/speed/f$i; done";
  auto data = run({"sh", "-c", script}, Env{{"PATH", "/usr/bin:/bin"}});
  BOOST_REQUIRE_MESSAGE(data.status == 0, data);
  auto squash = run({"mksquashfs", root, work / "data.sqfs", "-comp", "zstd", "-quiet", "-noappend"},
                    Env{{"PATH", "/usr/bin:/bin:/usr/sbin:/sbin"}});
  BOOST_REQUIRE_MESSAGE(squash.status == 0, squash);
}

std::vector<std::string> sorted_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(speed, Case)

BOOST_AUTO_TEST_CASE(concurrent_readers_see_the_same_bytes_as_the_directory_image) {
  make_data_images(work);
  // 16 readers at once: each of the four files by four processes, plus a listing of /speed.
  std::string readers =
      "for i in 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do busybox sha256sum /speed/f$((i % 4)) & done; ls /speed; wait";
  auto from_dir = run_cexec({work / "root", "sh", "-c", readers}, env);
  BOOST_TEST_INFO(from_dir);
  BOOST_REQUIRE_EQUAL(from_dir.status, 0);
  auto expected = sorted_lines(from_dir.out);
  BOOST_REQUIRE_EQUAL(expected.size(), 20U);
  for (int round = 0; round < 3; ++round) {  // the first round starts a cold server and page cache
    auto from_sqfs = run_cexec({work / "data.sqfs", "sh", "-c", readers}, env);
    BOOST_TEST_INFO("round " << round << ": " << from_sqfs);
    BOOST_CHECK_EQUAL(from_sqfs.status, 0);
    BOOST_CHECK(sorted_lines(from_sqfs.out) == expected);
  }
  // Two containers of one image at once, each with its own server: reads race across them too.
  Outcome a, b;
  std::thread other([&] { a = run_cexec({"--no-share", work / "data.sqfs", "sh", "-c", readers}, env); });
  b = run_cexec({"--no-share", work / "data.sqfs", "sh", "-c", readers}, env);
  other.join();
  BOOST_CHECK(sorted_lines(a.out) == expected);
  BOOST_CHECK(sorted_lines(b.out) == expected);
}

BOOST_AUTO_TEST_CASE(the_mpi_discovery_is_cached_and_a_change_invalidates_it) {
  Env e = env;
  e["CEXEC_MPI_CONF"] = work / "mpi.conf";
  auto conf = [&](const std::string& site) {
    write_text(work / "mpi.conf", "library = /usr/lib/x86_64-linux-gnu/libmpi.so.40\nenv = SITE_MPI=" + site + "\nversion = 4.1.4\n");
    // A file changed within the last 2 s is not trusted to be settled (factcache::is_settled).
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  };
  // A private container each time: a launch right after another could join the node instance
  // the previous one created (and print that instance's notices) before it has ended.
  auto launch = [&] {
    return run_cexec({"-v", "--no-share", "--mpi=host", image("nompi.sqfs"), "sh", "-c", "echo site=$SITE_MPI"}, e);
  };
  conf("one");
  auto first = launch();
  BOOST_TEST_INFO(first);
  BOOST_CHECK_EQUAL(first.status, 0);
  BOOST_CHECK(contains(first.out, "site=one"));
  BOOST_CHECK(contains(first.err, "info: mpi: host MPI discovered (cache: no cache file)"));
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(home / "cexec")) {
    if (entry.path().filename().string().starts_with("host-mpi-")) {
      files.push_back(entry.path());
    }
  }
  BOOST_REQUIRE_EQUAL(files.size(), 1U);
  struct stat st {};
  BOOST_REQUIRE(::stat(files[0].c_str(), &st) == 0);
  BOOST_CHECK_EQUAL(st.st_mode & 0777, 0600U);

  auto second = launch();
  BOOST_TEST_INFO(second);
  BOOST_CHECK_EQUAL(second.status, 0);
  BOOST_CHECK(contains(second.out, "site=one"));
  BOOST_CHECK(contains(second.err, "info: mpi: host MPI from the node cache `" + files[0] + "`"));

  conf("two");  // a file the answer depends on changed: discovered again, with the new answer
  auto changed = launch();
  BOOST_TEST_INFO(changed);
  BOOST_CHECK_EQUAL(changed.status, 0);
  BOOST_CHECK(contains(changed.out, "site=two"));
  BOOST_CHECK(contains(changed.err, "info: mpi: host MPI discovered (cache: `" + work / "mpi.conf" + "` changed)"));
  auto again = launch();
  BOOST_TEST_INFO(again);
  BOOST_CHECK(contains(again.err, "info: mpi: host MPI from the node cache"));
  BOOST_CHECK(contains(again.out, "site=two"));

  write_text(files[0], "cexec-factcache 1\ngarbage\n");  // damaged: ignored, then rewritten
  auto corrupt = launch();
  BOOST_TEST_INFO(corrupt);
  BOOST_CHECK_EQUAL(corrupt.status, 0);
  BOOST_CHECK(contains(corrupt.out, "site=two"));
  BOOST_CHECK(contains(corrupt.err, "info: mpi: host MPI discovered (cache: malformed)"));
  auto rewritten = launch();
  BOOST_TEST_INFO(rewritten);
  BOOST_CHECK(contains(rewritten.err, "info: mpi: host MPI from the node cache"));

  BOOST_REQUIRE(::chmod(files[0].c_str(), 0620) == 0);  // writable by others: never read
  auto shared = launch();
  BOOST_TEST_INFO(shared);
  BOOST_CHECK_EQUAL(shared.status, 0);
  BOOST_CHECK(contains(shared.err, "info: mpi: host MPI discovered (cache: not a private file of uid"));
}

BOOST_AUTO_TEST_SUITE_END()
