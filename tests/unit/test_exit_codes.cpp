// Unit tests for exit_codes.hpp: one distinct code per ErrorKind, clear of the statuses shells and
// commands use, and the shell's view of a wait(2) status.
#include "base/exit_codes.hpp"

#include <boost/test/unit_test.hpp>

#include <csignal>
#include <set>
#include <string>
#include <sys/wait.h>

namespace cexec {
namespace {

// Listed by hand so a kind added to ErrorKind without a table entry shows up here.
constexpr ErrorKind all_kinds[] = {
    ErrorKind::usage,           ErrorKind::image_invalid, ErrorKind::input_missing, ErrorKind::command_not_found,
    ErrorKind::bind_destination, ErrorKind::host_unsupported, ErrorKind::internal,  ErrorKind::setup_failed,
    ErrorKind::policy,          ErrorKind::config,        ErrorKind::cannot_create, ErrorKind::mpi_incompatible,
    ErrorKind::registry,
};

// A raw wait status as the kernel encodes it: exit code in bits 8-15, or the signal in bits 0-6.
constexpr int exited(int code) {
  return W_EXITCODE(code, 0);
}
constexpr int killed(int sig, bool core = false) {
  return sig | (core ? 0x80 : 0);
}

BOOST_AUTO_TEST_SUITE(exit_codes)

BOOST_AUTO_TEST_CASE(every_kind_has_a_distinct_code_clear_of_shell_statuses) {
  std::set<int> seen;
  for (ErrorKind kind : all_kinds) {
    int code = exit_code_for(kind);
    BOOST_TEST_CONTEXT("kind " << static_cast<int>(kind) << " code " << code) {
      BOOST_TEST(seen.insert(code).second, "code " << code << " is used twice");
      BOOST_TEST(code > 2);
      BOOST_TEST(code < 126);
      BOOST_TEST(code != 126);
      BOOST_TEST(code != 127);
    }
  }
  BOOST_TEST(seen.size() == std::size(all_kinds));
}

BOOST_AUTO_TEST_CASE(table_matches_exit_code_for_and_covers_every_kind) {
  auto table = exit_code_table();
  BOOST_TEST(table.size() == std::size(all_kinds));
  std::set<ErrorKind> kinds;
  for (const auto& e : table) {
    BOOST_TEST_CONTEXT("kind " << static_cast<int>(e.kind)) {
      BOOST_TEST(exit_code_for(e.kind) == e.code);
      BOOST_TEST(kinds.insert(e.kind).second, "kind listed twice");
      BOOST_TEST_REQUIRE(e.meaning != nullptr);
      BOOST_TEST(std::string(e.meaning).size() > 10u);
    }
  }
  for (ErrorKind kind : all_kinds) {
    BOOST_TEST(kinds.count(kind) == 1u, "kind " << static_cast<int>(kind) << " missing from the table");
  }
}

BOOST_AUTO_TEST_CASE(documented_codes) {
  // The values documented to users; changing one breaks job scripts.
  const std::pair<ErrorKind, int> cases[] = {
      {ErrorKind::usage, 64},         {ErrorKind::image_invalid, 65}, {ErrorKind::input_missing, 66},
      {ErrorKind::command_not_found, 67}, {ErrorKind::bind_destination, 68}, {ErrorKind::host_unsupported, 69},
      {ErrorKind::internal, 70},      {ErrorKind::setup_failed, 71},  {ErrorKind::policy, 77},
      {ErrorKind::config, 78},        {ErrorKind::registry, 76},
  };
  for (const auto& [kind, code] : cases) {
    BOOST_TEST(exit_code_for(kind) == code, "kind " << static_cast<int>(kind));
  }
}

BOOST_AUTO_TEST_CASE(shell_status_for_normal_exit) {
  for (int code : {0, 1, 2, 42, 126, 127, 128, 255}) {
    BOOST_TEST_CONTEXT("exit " << code) {
      BOOST_TEST_REQUIRE(WIFEXITED(exited(code)));
      BOOST_TEST(shell_status_from_wait(exited(code)) == code);
    }
  }
}

BOOST_AUTO_TEST_CASE(shell_status_for_signal_death) {
  const std::pair<int, bool> cases[] = {{SIGHUP, false}, {SIGINT, false}, {SIGKILL, false},
                                        {SIGSEGV, true}, {SIGABRT, true}, {SIGTERM, false}};
  for (const auto& [sig, core] : cases) {
    BOOST_TEST_CONTEXT("signal " << sig << (core ? " with core" : "")) {
      int status = killed(sig, core);
      BOOST_TEST_REQUIRE(WIFSIGNALED(status));
      BOOST_TEST(shell_status_from_wait(status) == 128 + sig);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cexec
