// Unit tests for cli_fast.hpp: which command lines take the per-rank fast path, and that every one
// it takes parses to exactly what CLI11 makes of it.
#include "cli.hpp"
#include "cli_fast.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

namespace cexec {
namespace {

using Args = std::vector<std::string>;

// Every field of LaunchOptions, so that a field CLI11 sets and the fast path does not shows up.
void check_same(const LaunchOptions& a, const LaunchOptions& b) {
  BOOST_TEST((a.verb == b.verb));
  BOOST_TEST(a.image == b.image);
  BOOST_TEST(a.command == b.command);
  BOOST_TEST(a.binds == b.binds);
  BOOST_TEST(a.env == b.env);
  BOOST_TEST(a.env_files == b.env_files);
  BOOST_TEST(a.pwd == b.pwd);
  BOOST_TEST(a.writable_tmpfs == b.writable_tmpfs);
  BOOST_TEST(a.writable == b.writable);
  BOOST_TEST(a.cleanenv == b.cleanenv);
  BOOST_TEST(a.no_home == b.no_home);
  BOOST_TEST(a.contain == b.contain);
  BOOST_TEST(a.no_share == b.no_share);
  BOOST_TEST(a.instance == b.instance);
  BOOST_TEST(a.mpi == b.mpi);
  BOOST_TEST(a.gpu == b.gpu);
  BOOST_TEST((a.verbosity == b.verbosity));
  BOOST_TEST(a.topology == b.topology);
  BOOST_TEST(a.cpu_bind == b.cpu_bind);
  BOOST_TEST(a.gpu_bind == b.gpu_bind);
  BOOST_TEST(a.gpus_per_rank == b.gpus_per_rank);
  BOOST_TEST(a.no_framework_env == b.no_framework_env);
}

BOOST_AUTO_TEST_SUITE(cli_fast)

BOOST_AUTO_TEST_CASE(plain_image_and_command_take_the_fast_path_and_match_cli11) {
  for (const Args& args : {Args{"tf.img", "/bin/true"}, Args{"tf.img", "python3", "train.py", "--epochs", "10"},
                           Args{"/scratch/rootfs/", "./solver", "-v", "--", "-x"}, Args{"docker.img", "sh", "-c", "exit 3"},
                           Args{"image with space.sqfs", "a=b", "--help", "--version"}}) {
    auto fast = try_plain_exec(args);
    BOOST_TEST_REQUIRE(fast.has_value());
    CliOutcome full = parse_with_cli11(args);
    BOOST_TEST_REQUIRE(std::holds_alternative<LaunchOptions>(full));
    check_same(*fast, std::get<LaunchOptions>(full));
    CliOutcome chosen = parse_command_line(args);
    BOOST_TEST_REQUIRE(std::holds_alternative<LaunchOptions>(chosen));
    check_same(std::get<LaunchOptions>(chosen), std::get<LaunchOptions>(full));
  }
}

BOOST_AUTO_TEST_CASE(anything_else_goes_through_cli11) {
  for (const Args& args : {Args{}, Args{"tf.img"}, Args{"exec", "tf.img", "true"}, Args{"run", "tf.img"},
                           Args{"build", "a.img", "a.def"}, Args{"mpi", "check", "a.img"}, Args{"check", "x"},
                           Args{"-v", "tf.img", "true"}, Args{"--version"}, Args{"tf.img", "--", "true"},
                           Args{"tf.img", "-x"}, Args{"", "true"}, Args{"tf.img", ""},
                           Args{"pull", "a.img", "docker://localhost/a"}, Args{"cache", "list"}, Args{"inspect", "a.img"},
                           Args{"run-help", "a.img"}, Args{"plan", "--ranks"}}) {
    BOOST_TEST(!try_plain_exec(args).has_value());
  }
}

BOOST_AUTO_TEST_CASE(options_before_the_image_still_parse) {
  CliOutcome out = parse_command_line({"-v", "--no-share", "tf.img", "true"});
  BOOST_TEST_REQUIRE(std::holds_alternative<LaunchOptions>(out));
  BOOST_TEST((std::get<LaunchOptions>(out).verbosity == Verbosity::verbose));
  BOOST_TEST(std::get<LaunchOptions>(out).no_share);
  BOOST_TEST(std::get<LaunchOptions>(out).image == "tf.img");
  BOOST_TEST(std::get<LaunchOptions>(out).command == Args{"true"});
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cexec
