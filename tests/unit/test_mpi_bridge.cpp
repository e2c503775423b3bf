// The MPI bridge's pure part: versions and sonames, the ABI verdict table, symbol-version needs,
// mpi.conf, and the injection plan. (The shared ld.so.cache reader: test_ld_cache.cpp.)
#include "abi.hpp"
#include "bridge_plan.hpp"
#include "mpi_conf.hpp"

#include <boost/test/unit_test.hpp>

using namespace cexec;
using namespace cexec::mpi_bridge;

namespace {

MpiLibrary lib(std::string soname, std::string file_version, std::string impl = "", std::string impl_version = "") {
  MpiLibrary m;
  m.soname = soname;
  m.family = family_of_soname(soname);
  m.path = "/x/" + soname + "." + file_version;
  m.file_version = parse_version(file_version).value();
  m.implementation = impl;
  if (!impl_version.empty()) {
    m.implementation_version = parse_version(impl_version).value();
  }
  return m;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(mpi_bridge_abi)

BOOST_AUTO_TEST_CASE(versions_and_library_names) {
  BOOST_CHECK_EQUAL(parse_version("4.1.4")->str(), "4.1.4");
  BOOST_CHECK(!parse_version("4.x"));
  BOOST_CHECK(!parse_version(""));
  BOOST_CHECK(!parse_version("1..2"));
  BOOST_CHECK(compare_versions(*parse_version("2.34"), *parse_version("2.4")) > 0);
  BOOST_CHECK(compare_versions(*parse_version("12.1"), *parse_version("12.1.0")) == 0);
  auto n = parse_library_name("/usr/lib/libmpi.so.40.30.4");
  BOOST_REQUIRE(n);
  BOOST_CHECK_EQUAL(n->stem, "libmpi.so");
  BOOST_CHECK_EQUAL(n->soname(), "libmpi.so.40");
  BOOST_CHECK_EQUAL(n->numbers.str(), "40.30.4");
  BOOST_CHECK_EQUAL(parse_library_name("libstdc++.so.6.0.30")->soname(), "libstdc++.so.6");
  BOOST_CHECK_EQUAL(parse_library_name("libfoo.so")->soname(), "libfoo.so");
  BOOST_CHECK(!parse_library_name("libfoo.a"));
  BOOST_CHECK(!parse_library_name("libfoo.so.x"));
  BOOST_CHECK(family_of_soname("libmpi.so.12") == MpiFamily::mpich);
  BOOST_CHECK(family_of_soname("libmpich.so.12") == MpiFamily::mpich);
  BOOST_CHECK(family_of_soname("libmpi.so.40") == MpiFamily::openmpi);
  BOOST_CHECK(family_of_soname("libmpi.so.20") == MpiFamily::unknown);
  BOOST_CHECK(is_mpi_soname("libmpi.so.20"));
  BOOST_CHECK(!is_mpi_soname("libz.so.1"));
}

struct Row {
  MpiLibrary host;
  std::optional<MpiLibrary> image;
  bool compatible;
  const char* reason_part;
};

BOOST_AUTO_TEST_CASE(verdict_table) {
  const Row rows[] = {
      {lib("libmpi.so.40", "40.30.4"), std::nullopt, true, "image has no MPI"},
      {lib("libmpi.so.40", "40.30.4"), lib("libmpi.so.40", "40.30.4"), true, "Open MPI"},
      {lib("libmpi.so.40", "40.30.4"), lib("libmpi.so.40", "40.20.2"), true, ">="},
      {lib("libmpi.so.40", "40.20.2"), lib("libmpi.so.40", "40.30.4"), false, "older"},
      // Implementation versions win over file versions when both are known.
      {lib("libmpi.so.40", "40.30.4", "Open MPI v4.1.4", "4.1.4"), lib("libmpi.so.40", "40.30.4", "Open MPI v4.1.5", "4.1.5"), false, "older"},
      {lib("libmpi.so.12", "12.1.8"), lib("libmpi.so.12", "12.1.8"), true, "MPICH ABI"},
      {lib("libmpi.so.12", "12.2.2"), lib("libmpich.so.12", "12.1.8"), true, "minor"},
      {lib("libmpich.so.12", "12.2.2"), lib("libmpich.so.12", "12.1.8"), true, "minor"},
      {lib("libmpi.so.12", "12.1.0"), lib("libmpi.so.12", "12.2.2"), false, "minor 1 is older than the image's 2"},
      {lib("libmpi.so.40", "40.30.4"), lib("libmpi.so.12", "12.1.8"), false, "different MPI ABIs"},
      {lib("libmpi.so.12", "12.1.8"), lib("libmpi.so.40", "40.30.4"), false, "different MPI ABIs"},
      {lib("libmpi.so.20", "20.10.0"), std::nullopt, false, "not an MPI ABI cexec knows"},
  };
  for (const auto& row : rows) {
    Verdict v = judge_mpi(row.host, row.image);
    BOOST_TEST_INFO(row.host.soname << " vs " << (row.image ? row.image->path : "none") << ": " << v.reason);
    BOOST_CHECK_EQUAL(v.compatible, row.compatible);
    BOOST_CHECK(v.reason.find(row.reason_part) != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(symbol_version_needs) {
  std::map<std::string, std::set<std::string>> image{{"libc.so.6", {"GLIBC_2.2.5", "GLIBC_2.17"}},
                                                     {"libstdc++.so.6", {"GLIBCXX_3.4", "CXXABI_1.3"}}};
  auto ok = judge_version_needs("libucp.so.0", {{"libc.so.6", "GLIBC_2.17"}, {"libucs.so.0", "UCS_1"}}, {"libucs.so.0"}, image);
  BOOST_REQUIRE_EQUAL(ok.size(), 1u);
  BOOST_CHECK(ok[0].compatible);
  auto bad = judge_version_needs("libopen-pal.so.40", {{"libc.so.6", "GLIBC_2.34"}, {"libstdc++.so.6", "GLIBCXX_3.4.30"},
                                                       {"libstdc++.so.6", "CXXABI_1.3"}, {"libgfortran.so.5", "GFORTRAN_8"}},
                                 {}, image);
  BOOST_REQUIRE_EQUAL(bad.size(), 3u);
  BOOST_CHECK(!bad[0].compatible);
  BOOST_CHECK_EQUAL(bad[0].reason, "the image's libc.so.6 does not provide GLIBC_2.34 (needed by libopen-pal.so.40)");
  BOOST_CHECK(bad[1].reason.find("GLIBCXX_3.4.30") != std::string::npos);
  BOOST_CHECK(bad[2].reason.find("the image has no libgfortran.so.5") != std::string::npos);
  BOOST_CHECK_EQUAL(highest_version({"GLIBC_2.2.5", "GLIBC_2.17", "GLIBC_2.9", "GLIBC_PRIVATE"}, "GLIBC"), "2.17");
  BOOST_CHECK_EQUAL(highest_version({"GLIBCXX_3.4.9", "GLIBCXX_3.4.30", "CXXABI_1.3"}, "GLIBCXX"), "3.4.30");
  BOOST_CHECK_EQUAL(highest_version({}, "GLIBC"), "");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(mpi_bridge_conf)

BOOST_AUTO_TEST_CASE(full_example) {
  auto r = parse_mpi_conf(
      "# site MPI\n"
      "library = /opt/cray/pe/lib64/libmpi.so.12\n"
      "dependency = /usr/lib64/libfabric.so.1   # the interconnect\n"
      "plugin-dir = /usr/lib64/libfabric\n"
      "bind = /dev/infiniband\n"
      "bind = /etc/site/libibverbs.d:/etc/libibverbs.d\n"
      "env = FI_PROVIDER=cxi\n"
      "version = 8.1.26\n",
      "/etc/cexec/mpi.conf");
  BOOST_REQUIRE(r);
  const MpiConf& c = r.value();
  BOOST_CHECK_EQUAL(c.libraries.at(0), "/opt/cray/pe/lib64/libmpi.so.12");
  BOOST_CHECK_EQUAL(c.dependencies.at(0), "/usr/lib64/libfabric.so.1");
  BOOST_CHECK_EQUAL(c.plugin_dirs.at(0), "/usr/lib64/libfabric");
  BOOST_CHECK_EQUAL(c.binds.at(0).second, "/dev/infiniband");
  BOOST_CHECK_EQUAL(c.binds.at(1).second, "/etc/libibverbs.d");
  BOOST_CHECK_EQUAL(c.env.at(0).first, "FI_PROVIDER");
  BOOST_CHECK_EQUAL(c.env.at(0).second, "cxi");
  BOOST_CHECK_EQUAL(c.version, "8.1.26");
}

BOOST_AUTO_TEST_CASE(any_text_parses_or_fails_cleanly) {
  const std::string sample = "library = /a/libmpi.so.12\nbind = /dev/x:/dev/y\nenv = A=b\nversion = 1.2\n";
  uint32_t seed = 777;
  auto next = [&] { return seed = seed * 1103515245u + 12345u; };
  for (int round = 0; round < 20000; ++round) {
    std::string text = sample;
    for (int k = 0; k < 1 + round % 3; ++k) {
      text[next() % text.size()] = "=:#/ \n.aZ\0"[next() % 11];
    }
    auto r = parse_mpi_conf(text, "c");
    BOOST_CHECK(r || r.failure().kind == ErrorKind::config);
  }
}

BOOST_AUTO_TEST_CASE(errors_name_the_line) {
  const std::pair<const char*, const char*> cases[] = {
      {"library = relative/libmpi.so\n", "/etc/cexec/mpi.conf:1: library `relative/libmpi.so`: not an absolute path"},
      {"library = /a/libmpi.so.12\nfrobnicate = 1\n", "/etc/cexec/mpi.conf:2: unknown key `frobnicate`"},
      {"library = /a/libmpi.so.12\nno equals sign\n", "/etc/cexec/mpi.conf:2: expected `key = value`"},
      {"library = /a/libmpi.so.12\nenv = 1BAD=x\n", "/etc/cexec/mpi.conf:2: env `1BAD=x`: expected NAME=VALUE"},
      {"library = /a/libmpi.so.12\nbind = /x:/\n", "/etc/cexec/mpi.conf:2: bind `/x:/`"},
      {"library = /a/../etc/libmpi.so.12\n", "not an absolute path without .."},
      {"library = /a/libmpi.so.12\nversion = four\n", "version `four`"},
      {"# nothing\n", "no `library = PATH` line"},
      {"library =\n", "`library` has no value"},
  };
  for (const auto& [text, expected] : cases) {
    auto r = parse_mpi_conf(text, "/etc/cexec/mpi.conf");
    BOOST_TEST_INFO(text);
    BOOST_REQUIRE(!r);
    BOOST_CHECK(r.failure().kind == ErrorKind::config);
    BOOST_CHECK_MESSAGE(r.failure().message.find(expected) != std::string::npos, r.failure().message);
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(mpi_bridge_plan)

namespace {

HostMpi host_openmpi() {
  HostMpi h;
  h.origin = "discovered from /usr/bin/ompi_info";
  h.mpi = lib("libmpi.so.40", "40.30.4", "Open MPI v4.1.4", "4.1.4");
  h.libraries = {{"/usr/lib/libmpi.so.40.30.4", "libmpi.so.40", {{"libc.so.6", "GLIBC_2.34"}, {"libopen-pal.so.40", ""}}},
                 {"/usr/lib/libopen-pal.so.40.30.2", "libopen-pal.so.40", {{"libc.so.6", "GLIBC_2.17"}}},
                 {"/lib/libc.so.6", "libc.so.6", {}},
                 {"/lib/libstdc++.so.6.0.30", "libstdc++.so.6", {{"libc.so.6", "GLIBC_2.34"}}}};
  h.plugin_dirs = {"/usr/lib/openmpi/lib/openmpi3"};
  h.binds = {{"/usr/share/openmpi", "/usr/share/openmpi"}, {"/dev/infiniband", "/dev/infiniband"}};
  return h;
}

ImageFacts image_with(std::set<std::string> glibc_defs, bool with_mpi, bool with_stdcxx = true) {
  ImageFacts img;
  img.libraries["libc.so.6"] = "/lib/x86_64-linux-gnu/libc.so.6";
  img.version_defs["libc.so.6"] = glibc_defs;
  if (with_stdcxx) {
    img.libraries["libstdc++.so.6"] = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6";
    img.version_defs["libstdc++.so.6"] = {"GLIBCXX_3.4"};
  }
  if (with_mpi) {
    img.libraries["libmpi.so.40"] = "/usr/lib/x86_64-linux-gnu/libmpi.so.40";
    img.mpi = lib("libmpi.so.40", "40.30.4");
  }
  return img;
}

bool has_mount(const BridgePlan& p, const std::string& src, const std::string& dst) {
  for (const auto& m : p.mounts) {
    if (m.source == src && m.destination == dst && m.read_only) {
      return true;
    }
  }
  return false;
}

}  // namespace

BOOST_AUTO_TEST_CASE(compatible_image_gets_binds_and_library_path) {
  auto p = plan_bridge(host_openmpi(), image_with({"GLIBC_2.17", "GLIBC_2.34"}, true), Policy::automatic,
                       {"PMIX_SECURITY_MODE=native", "PATH=/usr/bin"});
  BOOST_CHECK(p.compatible);
  BOOST_CHECK(p.inject);
  BOOST_CHECK(p.refusal.empty());
  BOOST_CHECK(has_mount(p, "/usr/lib/libmpi.so.40.30.4", "/.cexec/host/mpi/lib/libmpi.so.40"));
  BOOST_CHECK(has_mount(p, "/usr/lib/libmpi.so.40.30.4", "/usr/lib/x86_64-linux-gnu/libmpi.so.40"));  // over the image's
  BOOST_CHECK(has_mount(p, "/usr/lib/libopen-pal.so.40.30.2", "/.cexec/host/mpi/lib/libopen-pal.so.40"));
  BOOST_CHECK(!has_mount(p, "/lib/libc.so.6", "/.cexec/host/mpi/lib/libc.so.6"));           // glibc never
  BOOST_CHECK(!has_mount(p, "/lib/libstdc++.so.6.0.30", "/.cexec/host/mpi/lib/libstdc++.so.6"));  // the image has one
  BOOST_CHECK(has_mount(p, "/usr/lib/openmpi/lib/openmpi3", "/usr/lib/openmpi/lib/openmpi3"));
  for (const auto& m : p.mounts) {
    BOOST_CHECK_EQUAL(m.restrict, m.destination != "/dev/infiniband");
  }
  bool ld_path = false;
  bool psec = false;
  for (const auto& e : p.env) {
    ld_path |= e.kind == EnvOpKind::prepend_path && e.name == "LD_LIBRARY_PATH" && e.value == injected_lib_dir;
    psec |= e.kind == EnvOpKind::set_default && e.name == "PMIX_MCA_psec" && e.value == "native";
  }
  BOOST_CHECK(ld_path);
  BOOST_CHECK(psec);
  BOOST_CHECK(p.notices.at(0).starts_with("info: mpi: injecting host Open MPI v4.1.4 libmpi.so.40"));
  std::string text = render_text(host_openmpi(), image_with({"GLIBC_2.17", "GLIBC_2.34"}, true), p);
  BOOST_CHECK(text.find("result: compatible") != std::string::npos);
  std::string json = render_json(host_openmpi(), image_with({"GLIBC_2.17", "GLIBC_2.34"}, true), p);
  BOOST_CHECK(json.find("\"compatible\": true") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(runtime_libraries_come_from_the_host_when_the_image_lacks_them) {
  auto p = plan_bridge(host_openmpi(), image_with({"GLIBC_2.17", "GLIBC_2.34"}, false, false), Policy::host, {});
  BOOST_CHECK(p.inject);
  BOOST_CHECK(has_mount(p, "/lib/libstdc++.so.6.0.30", "/.cexec/host/mpi/lib/libstdc++.so.6"));
}

BOOST_AUTO_TEST_CASE(old_glibc_is_refused_naming_library_and_version) {
  auto img = image_with({"GLIBC_2.2.5", "GLIBC_2.17"}, false);
  auto host = plan_bridge(host_openmpi(), img, Policy::host, {});
  BOOST_CHECK(!host.inject);
  BOOST_CHECK(!host.compatible);
  BOOST_CHECK_EQUAL(host.refusal, "--mpi=host: the host's MPI cannot be injected into image: the image's libc.so.6 does not provide "
                                  "GLIBC_2.34 (needed by libmpi.so.40)");
  BOOST_CHECK(host.mounts.empty());
  auto automatic = plan_bridge(host_openmpi(), img, Policy::automatic, {});
  BOOST_CHECK(automatic.refusal.empty());
  BOOST_CHECK(automatic.mounts.empty());
  int warnings = 0;
  for (const auto& n : automatic.notices) {
    warnings += n.starts_with("warn: mpi: the host's MPI is not injected (the image's libc.so.6 does not provide GLIBC_2.34");
  }
  BOOST_CHECK_EQUAL(warnings, 1);
}

BOOST_AUTO_TEST_CASE(the_refusal_names_the_newest_missing_version) {
  auto p = plan_bridge(host_openmpi(), image_with({"GLIBC_2.2.5"}, false), Policy::host, {});
  BOOST_CHECK_EQUAL(p.refusal, "--mpi=host: the host's MPI cannot be injected into image: the image's libc.so.6 does not "
                               "provide GLIBC_2.34 (needed by libmpi.so.40) (and 1 more problems)");
}

BOOST_AUTO_TEST_CASE(a_static_only_image_gets_no_warning) {
  ImageFacts img;  // no libc.so.6: busybox-style static programs
  auto p = plan_bridge(host_openmpi(), img, Policy::automatic, {});
  BOOST_CHECK(!p.inject);
  for (const auto& n : p.notices) {
    BOOST_CHECK(!n.starts_with("warn:"));
  }
}

BOOST_AUTO_TEST_CASE(mpich_image_under_open_mpi) {
  ImageFacts img = image_with({"GLIBC_2.17", "GLIBC_2.34"}, false);
  img.mpi = lib("libmpich.so.12", "12.2.2");
  auto p = plan_bridge(host_openmpi(), img, Policy::host, {});
  BOOST_CHECK(p.refusal.find("different MPI ABIs") != std::string::npos);
  auto a = plan_bridge(host_openmpi(), img, Policy::automatic, {});
  BOOST_CHECK(!a.inject);
  BOOST_CHECK(a.notices.back().starts_with("warn: mpi: the host's MPI is not injected (host Open MPI"));
}

BOOST_AUTO_TEST_CASE(image_off_and_no_host) {
  auto img = image_with({"GLIBC_2.34"}, true);
  BOOST_CHECK(plan_bridge(host_openmpi(), img, Policy::image, {}).mounts.empty());
  BOOST_CHECK(plan_bridge(host_openmpi(), img, Policy::off, {}).mounts.empty());
  auto none = plan_bridge(std::nullopt, img, Policy::host, {});
  BOOST_CHECK(none.refusal.find("no host MPI found") != std::string::npos);
  auto quiet = plan_bridge(std::nullopt, img, Policy::automatic, {});
  BOOST_CHECK(quiet.refusal.empty());
  for (const auto& n : quiet.notices) {
    BOOST_CHECK(!n.starts_with("warn:"));  // nothing to inject is not worth a warning
  }
  BOOST_CHECK(parse_policy("auto") == Policy::automatic);
  BOOST_CHECK(!parse_policy("bogus"));
}

// -v shows the verdicts grouped: one line per refused file with its missing needs, files refused
// for the same needs on one line with a count, and one counted line for every file that is fine.
BOOST_AUTO_TEST_CASE(verbose_verdicts_are_grouped) {
  std::vector<Verdict> v{
      {true, "libmpi.so.40", "the image has no MPI library"},
      {false, "libmpi.so.40 needs GLIBC_2.34", "the image's libc.so.6 does not provide GLIBC_2.34 (needed by libmpi.so.40)"},
      {false, "libmpi.so.40 needs GLIBC_2.35", "the image's libc.so.6 does not provide GLIBC_2.35 (needed by libmpi.so.40)"},
      {false, "libmpi.so.40 needs GLIBC_2.36", "the image's libc.so.6 does not provide GLIBC_2.36 (needed by libmpi.so.40)"},
      {true, "libhwloc.so.15", "every library and symbol version it needs is in the image or injected"},
      {true, "libevent-2.1.so.7", "every library and symbol version it needs is in the image or injected"},
      {false, "host closure", "libfoo.so.1 not found on the host"},
  };
  for (int i = 0; i < 40; ++i) {
    auto path = "/usr/lib/openmpi/mca_plugin_" + std::to_string(i) + ".so";
    v.push_back({false, path + " needs GLIBC_2.34", "the image's libc.so.6 does not provide GLIBC_2.34 (needed by " + path + ")"});
  }
  auto lines = group_verdicts(v);
  BOOST_REQUIRE_EQUAL(lines.size(), 5u);
  BOOST_CHECK_EQUAL(lines[0], "ok libmpi.so.40: the image has no MPI library");
  BOOST_CHECK_EQUAL(lines[1], "REFUSED host closure: libfoo.so.1 not found on the host");
  BOOST_CHECK_EQUAL(lines[2],
                    "REFUSED libmpi.so.40 needs GLIBC_2.34, GLIBC_2.35, GLIBC_2.36: the image's libc.so.6 does not provide "
                    "GLIBC_2.34 (needed by libmpi.so.40) (and 2 more)");
  BOOST_CHECK_EQUAL(lines[3],
                    "REFUSED mca_plugin_0.so, mca_plugin_1.so, mca_plugin_2.so and 37 more need GLIBC_2.34: the image's "
                    "libc.so.6 does not provide GLIBC_2.34 (needed by 40 files)");
  BOOST_CHECK_EQUAL(lines[4],
                    "ok 2 libraries (libhwloc.so.15, libevent-2.1.so.7): every library and symbol version they need is in "
                    "the image or injected");
  // One refused file alone keeps its own sentence.
  auto one = group_verdicts({v[1]});
  BOOST_REQUIRE_EQUAL(one.size(), 1u);
  BOOST_CHECK_EQUAL(one[0], "REFUSED libmpi.so.40 needs GLIBC_2.34: the image's libc.so.6 does not provide GLIBC_2.34 (needed by libmpi.so.40)");
  BOOST_CHECK(group_verdicts({}).empty());
  // Beyond 8 refusal lines, one line counts the rest.
  std::vector<Verdict> many;
  for (int i = 0; i < 12; ++i) {
    std::string lib = "lib" + std::to_string(i) + ".so";
    many.push_back({false, lib + " needs GLIBC_2." + std::to_string(i), "the image's libc.so.6 does not provide it (needed by " + lib + ")"});
  }
  auto capped = group_verdicts(many);
  BOOST_REQUIRE_EQUAL(capped.size(), 9u);
  BOOST_CHECK(capped[7].starts_with("REFUSED lib7.so needs GLIBC_2.7: "));
  BOOST_CHECK_EQUAL(capped[8], "REFUSED 4 more files for symbol versions or libraries the image lacks (`cexec mpi check IMAGE` lists every verdict)");
}

BOOST_AUTO_TEST_SUITE_END()
