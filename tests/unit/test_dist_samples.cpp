// Unit tests for the configuration samples that are installed (dist/): the shipped
// /etc/cexec/cexec.conf must change nothing, each example line it documents must parse, every key
// must be documented with its real default, and the MPI and GPU examples must parse.
#include "config.hpp"
#include "gpu_lists.hpp"
#include "mpi_conf.hpp"

#include <boost/test/unit_test.hpp>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace cexec {
namespace {

std::string read_sample(const std::string& name) {
  std::ifstream in(std::string(CEXEC_DIST_DIR) + "/" + name);
  BOOST_TEST_REQUIRE(in.good(), "cannot read dist/" << name);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The sample's example settings: lines `#key = value` (prose comments have a blank after `#`).
std::string uncommented_examples(const std::string& text, std::set<std::string>& keys) {
  std::string out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.size() > 1 && line[0] == '#' && line[1] != ' ' && line.find(" = ") != std::string::npos) {
      out += line.substr(1) + "\n";
      keys.insert(line.substr(1, line.find(" = ") - 1));
    }
  }
  return out;
}

BOOST_AUTO_TEST_SUITE(dist_samples)

BOOST_AUTO_TEST_CASE(shipped_cexec_conf_changes_nothing) {
  auto r = parse_config(read_sample("cexec.conf"), "/etc/cexec/cexec.conf");
  BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.failure().message));
  Config defaults;
  BOOST_TEST(r.value().binds.empty());
  BOOST_TEST(r.value().deny_destinations.empty());
  BOOST_TEST(r.value().allow_writable_tmpfs == defaults.allow_writable_tmpfs);
  BOOST_TEST(r.value().allow_writable == defaults.allow_writable);
  BOOST_TEST(r.value().max_binds == defaults.max_binds);
  BOOST_TEST(r.value().instance_linger == defaults.instance_linger);
}

BOOST_AUTO_TEST_CASE(every_key_is_documented_with_an_example_that_parses) {
  std::set<std::string> keys;
  std::string examples = uncommented_examples(read_sample("cexec.conf"), keys);
  const std::set<std::string> all_keys{"bind", "deny-destination", "allow-writable-tmpfs", "allow-writable",
                                       "max-binds", "instance-linger", "registry-shared-cache", "insecure-registry"};
  BOOST_TEST(keys == all_keys, boost::test_tools::per_element());
  auto r = parse_config(examples, "examples");
  BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.failure().message));
  // The examples of the scalar keys show their defaults, as the sample says.
  Config defaults;
  BOOST_TEST(r.value().allow_writable_tmpfs == defaults.allow_writable_tmpfs);
  BOOST_TEST(r.value().allow_writable == defaults.allow_writable);
  BOOST_TEST(r.value().max_binds == defaults.max_binds);
  BOOST_TEST(r.value().instance_linger == defaults.instance_linger);
  BOOST_TEST(r.value().binds.size() == 2u);
  BOOST_TEST(r.value().deny_destinations.size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_key_the_parser_does_not_know_is_not_documented) {
  // The check above would pass vacuously if the parser accepted anything: it must not.
  auto r = parse_config("allow-everything = yes\n", "examples");
  BOOST_TEST(!r.has_value());
}

BOOST_AUTO_TEST_CASE(mpi_conf_example_parses) {
  auto r = mpi_bridge::parse_mpi_conf(read_sample("mpi.conf.example"), "mpi.conf.example");
  BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.failure().message));
  BOOST_TEST(r.value().libraries.size() == 1u);
  BOOST_TEST(r.value().dependencies.size() == 1u);
  BOOST_TEST(r.value().plugin_dirs.size() == 1u);
  BOOST_TEST(r.value().binds.size() == 2u);
  BOOST_TEST(r.value().env.size() == 1u);
  BOOST_TEST(r.value().version == "8.1.26");
}

BOOST_AUTO_TEST_CASE(gpu_examples_parse_and_add_entries) {
  for (auto vendor : {gpu::Vendor::nvidia, gpu::Vendor::amd}) {
    std::string name = vendor == gpu::Vendor::nvidia ? "gpu-nvidia.conf.example" : "gpu-rocm.conf.example";
    BOOST_TEST_CONTEXT(name) {
      gpu::DriverFileList builtin = gpu::builtin_file_list(vendor);
      auto r = gpu::extend_file_list(builtin, read_sample(name), name);
      BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.failure().message));
      BOOST_TEST(r.value().libraries.size() > builtin.libraries.size());
      BOOST_TEST(r.value().binaries.size() > builtin.binaries.size());
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cexec
