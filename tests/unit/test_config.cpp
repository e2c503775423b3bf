// Unit tests for config.hpp: every key of the admin configuration, its errors (with FILE:LINE) and
// the ownership rule for the file itself.
#include "config.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <sys/stat.h>

namespace cexec {
namespace {

Config parse_ok(std::string_view text) {
  auto r = parse_config(text, "/etc/cexec/cexec.conf");
  BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.failure().message));
  return r.value();
}

BOOST_AUTO_TEST_SUITE(config)

BOOST_AUTO_TEST_CASE(empty_text_gives_defaults) {
  for (const char* text : {"", "\n\n", "# only a comment\n   \n\t# another\n"}) {
    BOOST_TEST_CONTEXT("text `" << text << "`") {
      Config cfg = parse_ok(text);
      BOOST_TEST(cfg.binds.empty());
      BOOST_TEST(cfg.deny_destinations.empty());
      BOOST_TEST(cfg.allow_writable_tmpfs);
      BOOST_TEST(cfg.allow_writable);
      BOOST_TEST(cfg.max_binds == 256u);
      BOOST_TEST(cfg.origin == "/etc/cexec/cexec.conf");
    }
  }
}

BOOST_AUTO_TEST_CASE(every_key_is_parsed) {
  Config cfg = parse_ok(
      "# site configuration\n"
      "bind = /scratch\n"
      "bind=/opt/site:/site:ro,/etc/site.conf:/etc/site.conf\n"
      "  deny-destination = /etc/shadow  \n"
      "deny-destination = /opt//secret/\n"
      "allow-writable-tmpfs = no\r\n"
      "allow-writable = false\n"
      "max-binds = 8\n");
  BOOST_TEST_REQUIRE(cfg.binds.size() == 3u);
  BOOST_TEST((cfg.binds[0] == BindSpec{"/scratch", "", false}));
  BOOST_TEST((cfg.binds[1] == BindSpec{"/opt/site", "/site", true}));
  BOOST_TEST((cfg.binds[2] == BindSpec{"/etc/site.conf", "/etc/site.conf", false}));
  const std::vector<std::string> denied = {"/etc/shadow", "/opt/secret"};
  BOOST_TEST(cfg.deny_destinations == denied, boost::test_tools::per_element());
  BOOST_TEST(!cfg.allow_writable_tmpfs);
  BOOST_TEST(!cfg.allow_writable);
  BOOST_TEST(cfg.max_binds == 8u);
}

BOOST_AUTO_TEST_CASE(a_comment_may_end_a_line) {
  // As in README's example and in mpi.conf: `#` starts a comment wherever it is.
  Config cfg = parse_ok(
      "bind = /scratch                     # default binds\n"
      "allow-writable = no#no blank needed\n"
      "max-binds = 64   # limit\n");
  BOOST_TEST_REQUIRE(cfg.binds.size() == 1u);
  BOOST_TEST((cfg.binds[0] == BindSpec{"/scratch", "", false}));
  BOOST_TEST(!cfg.allow_writable);
  BOOST_TEST(cfg.max_binds == 64u);
}

BOOST_AUTO_TEST_CASE(boolean_spellings) {
  const std::pair<const char*, bool> cases[] = {{"yes", true}, {"true", true}, {"no", false}, {"false", false}};
  for (const auto& [word, value] : cases) {
    BOOST_TEST_CONTEXT("value `" << word << "`") {
      // Start from the opposite of the default where the value is true, to see it change.
      Config a = parse_ok(std::string("allow-writable = no\nallow-writable = ") + word + "\n");
      BOOST_TEST(a.allow_writable == value);
      Config b = parse_ok(std::string("allow-writable-tmpfs = no\nallow-writable-tmpfs = ") + word + "\n");
      BOOST_TEST(b.allow_writable_tmpfs == value);
    }
  }
}

BOOST_AUTO_TEST_CASE(max_binds_zero_is_allowed) {
  BOOST_TEST(parse_ok("max-binds = 0").max_binds == 0u);
}

struct BadCase {
  const char* text;
  const char* location;  // "ORIGIN:LINE:"
  const char* words;
};

BOOST_AUTO_TEST_CASE(errors_are_config_failures_with_file_and_line) {
  const BadCase cases[] = {
      {"just words", "site.conf:1:", "expected `key = value`, got `just words`"},
      {"# c\n\nmax-binds = 4\nbogus-key = 1\n", "site.conf:4:", "unknown key `bogus-key`"},
      {"= value", "site.conf:1:", "unknown key ``"},
      {"allow-writable = maybe", "site.conf:1:", "`allow-writable` must be yes or no, got `maybe`"},
      {"allow-writable-tmpfs = 1", "site.conf:1:", "`allow-writable-tmpfs` must be yes or no, got `1`"},
      {"allow-writable = YES", "site.conf:1:", "must be yes or no"},
      {"allow-writable =", "site.conf:1:", "must be yes or no, got ``"},
      {"max-binds = many", "site.conf:1:", "`max-binds` must be a number, got `many`"},
      {"max-binds = -1", "site.conf:1:", "`max-binds` must be a number"},
      {"max-binds = 12x", "site.conf:1:", "`max-binds` must be a number, got `12x`"},
      {"max-binds =", "site.conf:1:", "`max-binds` must be a number"},
      {"max-binds = 99999999999", "site.conf:1:", "`max-binds` must be a number"},
      {"\nbind = /a:rel\n", "site.conf:2:", "not an absolute path"},
      {"bind = /a:/b:bogus", "site.conf:1:", "unknown option `bogus`"},
      {"bind =", "site.conf:1:", "empty entry"},
      {"deny-destination = etc", "site.conf:1:", "not an absolute path"},
      {"deny-destination = /etc/../root", "site.conf:1:", "contains `..`"},
      {"deny-destination =", "site.conf:1:", "not an absolute path"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("text `" << c.text << "`") {
      auto r = parse_config(c.text, "site.conf");
      BOOST_TEST_REQUIRE(!r.has_value());
      BOOST_TEST((r.failure().kind == ErrorKind::config));
      const auto& msg = r.failure().message;
      BOOST_TEST(msg.find(c.location) == 0u, "message: " << msg);
      BOOST_TEST(msg.find(c.words) != std::string::npos, "message: " << msg);
    }
  }
}

BOOST_AUTO_TEST_CASE(config_bind_sources_must_be_absolute) {
  auto r = parse_config("bind = /ok:/ok\nbind = relative:/x\n", "/etc/cexec/cexec.conf");
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST((r.failure().kind == ErrorKind::config));
  BOOST_TEST(r.failure().message.find("/etc/cexec/cexec.conf:2:") != std::string::npos);
  BOOST_TEST(r.failure().message.find("must be an absolute path") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(denied_destinations_cover_both_directions) {
  Config cfg = parse_ok("deny-destination = /opt/secret\n");
  BOOST_TEST(denied_destination_problem("/opt/secret", cfg) != "");
  BOOST_TEST(denied_destination_problem("/opt/secret/k", cfg) != "");
  BOOST_TEST(denied_destination_problem("/opt", cfg) != "");
  BOOST_TEST(denied_destination_problem("/opt/secrets", cfg) == "");
  BOOST_TEST(denied_destination_problem("/data", cfg) == "");
}

BOOST_AUTO_TEST_CASE(ownership_rule_in_a_user_namespace_without_root) {
  // There root's files show the overflow uid, which then stands for root; nobody else does.
  BOOST_TEST(config_ownership_problem("/etc/cexec/cexec.conf", 65534, S_IFREG | 0644, 65534).empty());
  BOOST_TEST(config_ownership_problem("/etc/cexec/cexec.conf", 0, S_IFREG | 0644, 65534).empty());
  BOOST_TEST(config_ownership_problem("/etc/cexec/cexec.conf", 1000, S_IFREG | 0644, 65534).find("not owned by root") != std::string::npos);
  BOOST_TEST(config_ownership_problem("/etc/cexec/cexec.conf", 65534, S_IFREG | 0664, 65534).find("writable") != std::string::npos);
  // In the initial namespace the overflow uid is an ordinary user (nobody).
  BOOST_TEST(config_ownership_problem("/etc/cexec/cexec.conf", 65534, S_IFREG | 0644).find("not owned by root") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(ownership_rule) {
  struct Case {
    uid_t owner;
    mode_t mode;
    const char* words;  // "" means acceptable
  };
  const Case cases[] = {
      {0, S_IFREG | 0644, ""},
      {0, S_IFREG | 0600, ""},
      {0, S_IFREG | 0444, ""},
      {0, S_IFREG | 0755, ""},
      {1000, S_IFREG | 0644, "is not owned by root"},
      {65534, S_IFREG | 0600, "is not owned by root"},
      {0, S_IFREG | 0664, "group- or world-writable"},
      {0, S_IFREG | 0646, "group- or world-writable"},
      {0, S_IFREG | 0666, "group- or world-writable"},
      {0, S_IFREG | 0622, "group- or world-writable"},
      {0, S_IFDIR | 0755, "is not a regular file"},
      {0, S_IFLNK | 0777, "is not a regular file"},
      {0, S_IFIFO | 0644, "is not a regular file"},
      {0, S_IFCHR | 0644, "is not a regular file"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("owner " << c.owner << " mode " << std::oct << c.mode) {
      std::string why = config_ownership_problem("/etc/cexec/cexec.conf", c.owner, c.mode, std::nullopt);
      if (std::string(c.words).empty()) {
        BOOST_TEST(why.empty(), "unexpected refusal: " << why);
      } else {
        BOOST_TEST(why.find(c.words) != std::string::npos, "reason: " << why);
        BOOST_TEST(why.find("`/etc/cexec/cexec.conf`") != std::string::npos, "reason: " << why);
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cexec
