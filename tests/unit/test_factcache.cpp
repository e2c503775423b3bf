// Unit tests for factcache/record.hpp (the record format and when a record may answer) and for
// mpi_bridge/host_mpi_codec.hpp (the cached host MPI facts): round trips, and every kind of damage
// or change turning into a miss.
#include "host_mpi_codec.hpp"
#include "record.hpp"

#include <boost/test/unit_test.hpp>

#include <map>
#include <string>

namespace cexec::factcache {
namespace {

FileIdentity present(const std::string& path, uint64_t ino) {
  return FileIdentity{path, true, 2049, ino, 4096, 1'700'000'000'000'000'000, 1'700'000'000'500'000'000, 0100644};
}

Record sample() {
  Record r;
  r.inputs = {{"cexec", "1.0 abc"}, {"PATH", "/usr/bin:/bin"}, {"odd", "a b\nc%d\x01"}};
  r.files = {present("/usr/lib/libmpi.so.40", 11), present("/usr/lib/with space/x.so", 12),
             FileIdentity{"/opt/absent/libmpi.so.40", false, 0, 0, 0, 0, 0, 0}};
  r.payload = "{\"any\": \"bytes\"}\nsecond line\n";
  return r;
}

// A fake file system: the identities a later launch would see.
struct World {
  std::map<std::string, FileIdentity> files;
  FileIdentity operator()(const std::string& path) const {
    auto it = files.find(path);
    return it == files.end() ? FileIdentity{path, false, 0, 0, 0, 0, 0, 0} : it->second;
  }
};

World world_of(const Record& r) {
  World w;
  for (const auto& f : r.files) {
    if (f.exists) {
      w.files[f.path] = f;
    }
  }
  return w;
}

BOOST_AUTO_TEST_SUITE(factcache_record)

BOOST_AUTO_TEST_CASE(a_record_round_trips) {
  Record r = sample();
  auto back = parse_record(format_record(r));
  BOOST_TEST_REQUIRE(back.has_value());
  BOOST_TEST((back->inputs == r.inputs));
  BOOST_TEST((back->files == r.files));
  BOOST_TEST(back->payload == r.payload);
}

BOOST_AUTO_TEST_CASE(damage_of_any_kind_is_no_record) {
  std::string text = format_record(sample());
  BOOST_TEST(!parse_record("").has_value());
  BOOST_TEST(!parse_record(text.substr(0, text.size() - 1)).has_value());  // truncated
  BOOST_TEST(!parse_record(text.substr(0, text.size() / 2)).has_value());
  for (size_t at : {size_t{3}, text.size() / 3, text.size() / 2, text.size() - 10}) {
    std::string flipped = text;
    flipped[at] = static_cast<char>(flipped[at] ^ 0x20);
    BOOST_TEST(!parse_record(flipped).has_value());
  }
  BOOST_TEST(!parse_record(text + "more").has_value());
  std::string other_magic = text;
  other_magic.replace(0, 17, "cexec-factcache 2");
  BOOST_TEST(!parse_record(other_magic).has_value());
}

BOOST_AUTO_TEST_CASE(an_unchanged_world_answers) {
  Record r = sample();
  BOOST_TEST(why_stale(r, r.inputs, world_of(r)) == "");
}

BOOST_AUTO_TEST_CASE(changed_inputs_or_files_are_stale) {
  Record r = sample();
  Inputs other = r.inputs;
  other[1].second = "/opt/mpi/bin:/usr/bin";
  BOOST_TEST(why_stale(r, other, world_of(r)) == "its inputs differ");
  Inputs fewer(r.inputs.begin(), r.inputs.end() - 1);
  BOOST_TEST(why_stale(r, fewer, world_of(r)) != "");

  World w = world_of(r);
  w.files["/usr/lib/libmpi.so.40"].mtime_ns += 1;  // rewritten in place
  BOOST_TEST(why_stale(r, r.inputs, w) == "`/usr/lib/libmpi.so.40` changed");
  w = world_of(r);
  w.files["/usr/lib/libmpi.so.40"].ino = 99;  // replaced by rename (a package upgrade)
  BOOST_TEST(why_stale(r, r.inputs, w) != "");
  w = world_of(r);
  w.files["/usr/lib/libmpi.so.40"].ctime_ns += 1;  // chmod, or a copy with the times kept
  BOOST_TEST(why_stale(r, r.inputs, w) != "");
  w = world_of(r);
  w.files.erase("/usr/lib/with space/x.so");  // removed
  BOOST_TEST(why_stale(r, r.inputs, w) == "`/usr/lib/with space/x.so` changed");
  w = world_of(r);
  w.files["/opt/absent/libmpi.so.40"] = present("/opt/absent/libmpi.so.40", 5);  // appeared on a searched path
  BOOST_TEST(why_stale(r, r.inputs, w) == "`/opt/absent/libmpi.so.40` changed");
}

BOOST_AUTO_TEST_CASE(recently_changed_files_are_not_settled) {
  FileIdentity f = present("/x", 1);
  BOOST_TEST(is_settled(f, f.ctime_ns + 3'000'000'000));
  BOOST_TEST(!is_settled(f, f.ctime_ns + 1'000'000'000));
  BOOST_TEST(!is_settled(f, f.mtime_ns - 1));  // a time stamp in the future
  BOOST_TEST(is_settled(FileIdentity{"/gone", false, 0, 0, 0, 0, 0, 0}, 0));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(host_mpi_codec)

BOOST_AUTO_TEST_CASE(host_facts_round_trip) {
  using namespace mpi_bridge;
  HostMpi h;
  h.origin = "discovered from /usr/bin/ompi_info";
  h.mpi.family = MpiFamily::openmpi;
  h.mpi.soname = "libmpi.so.40";
  h.mpi.path = "/usr/lib/x86_64-linux-gnu/libmpi.so.40.30.4";
  h.mpi.file_version.parts = {40, 30, 4};
  h.mpi.implementation = "Open MPI v4.1.4";
  h.mpi.implementation_version.parts = {4, 1, 4};
  h.libraries = {HostLibrary{"/usr/lib/libmpi.so.40.30.4", "libmpi.so.40", {VersionNeed{"libc.so.6", "GLIBC_2.34"}}}};
  h.plugins = {HostLibrary{"/usr/lib/openmpi/mca_btl_vader.so", "mca_btl_vader.so", {}}};
  h.plugin_dirs = {"/usr/lib/openmpi"};
  h.binds = {{"/etc/openmpi", "/etc/openmpi"}};
  h.env = {EnvOp{EnvOpKind::prepend_path, "PATH", "/x"}, EnvOp{EnvOpKind::set, "A", "b c"}};
  h.problems = {"cannot find libfoo.so.1"};
  auto back = decode_host_mpi(encode_host_mpi(h));
  BOOST_TEST_REQUIRE(back.has_value());
  BOOST_TEST_REQUIRE(back->has_value());
  const HostMpi& b = **back;
  BOOST_TEST(b.origin == h.origin);
  BOOST_TEST((b.mpi.family == h.mpi.family));
  BOOST_TEST(b.mpi.path == h.mpi.path);
  BOOST_TEST(b.mpi.file_version.parts == h.mpi.file_version.parts);
  BOOST_TEST(b.mpi.implementation == h.mpi.implementation);
  BOOST_TEST(b.mpi.implementation_version.parts == h.mpi.implementation_version.parts);
  BOOST_TEST(b.libraries.size() == 1U);
  BOOST_TEST((b.libraries[0].needs == h.libraries[0].needs));
  BOOST_TEST(b.plugins[0].path == h.plugins[0].path);
  BOOST_TEST(b.plugin_dirs == h.plugin_dirs);
  BOOST_TEST((b.binds == h.binds));
  BOOST_TEST((b.env == h.env));
  BOOST_TEST(b.problems == h.problems);
}

BOOST_AUTO_TEST_CASE(no_mpi_is_an_answer_and_garbage_is_none) {
  using namespace mpi_bridge;
  auto none = decode_host_mpi(encode_host_mpi(std::nullopt));
  BOOST_TEST_REQUIRE(none.has_value());
  BOOST_TEST(!none->has_value());
  BOOST_TEST(!decode_host_mpi("").has_value());
  BOOST_TEST(!decode_host_mpi("{\"format\": 2}").has_value());
  BOOST_TEST(!decode_host_mpi("{\"format\": 1, \"host\": {\"origin\": 3}}").has_value());
  BOOST_TEST(!decode_host_mpi("{\"format\": 1, \"host\": {}}").has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cexec::factcache
