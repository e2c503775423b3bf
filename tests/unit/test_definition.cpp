// Unit tests for build/definition.hpp: every header keyword, every section, and every error with
// its FILE:LINE.
#include "builder/definition.hpp"

#include <boost/test/unit_test.hpp>

#include <ostream>
#include <string>

namespace cexec::build {

std::ostream& operator<<(std::ostream& os, Bootstrap b) { return os << bootstrap_name(b); }
std::ostream& operator<<(std::ostream& os, const FileCopy& f) {
  return os << f.source << " -> " << f.destination << " (line " << f.line << ")";
}

namespace {

Definition parse_ok(const std::string& text) {
  auto r = parse_definition(text, "test.def");
  BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.failure().message));
  return r.value();
}

std::string parse_error(const std::string& text) {
  auto r = parse_definition(text, "test.def");
  BOOST_TEST_REQUIRE(!r.has_value(), "expected an error for:\n" << text);
  BOOST_TEST(static_cast<int>(r.failure().kind) == static_cast<int>(ErrorKind::usage));
  return r.failure().message;
}

BOOST_AUTO_TEST_SUITE(definition)

BOOST_AUTO_TEST_CASE(debootstrap_header_keywords) {
  auto d = parse_ok("# comment\nBootStrap: debootstrap\nOSVersion: bookworm\nMirrorURL: http://deb.debian.org/debian/\n"
                    "Include: python3-minimal, less  hello\n");
  BOOST_TEST(d.bootstrap == Bootstrap::debootstrap);
  BOOST_TEST(d.os_version == "bookworm");
  BOOST_TEST(d.mirror_url == "http://deb.debian.org/debian/");
  BOOST_TEST(d.include == (std::vector<std::string>{"python3-minimal", "less", "hello"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(debootstrap_mirror_defaults_to_debian) {
  auto d = parse_ok("Bootstrap: debootstrap\nOSVersion: bookworm\n");
  BOOST_TEST(d.mirror_url == default_debian_mirror);
}

BOOST_AUTO_TEST_CASE(from_bootstraps) {
  const std::pair<const char*, Bootstrap> cases[] = {
      {"directory", Bootstrap::directory},
      {"localimage", Bootstrap::localimage},
      {"docker-archive", Bootstrap::docker_archive},
      {"oci-archive", Bootstrap::oci_archive},
      {"LocalImage", Bootstrap::localimage},
  };
  for (const auto& [name, kind] : cases) {
    BOOST_TEST_CONTEXT(name) {
      auto d = parse_ok(std::string("bootstrap: ") + name + "\nfrom: some/path.tar\n");
      BOOST_TEST(d.bootstrap == kind);
      BOOST_TEST(d.from == "some/path.tar");
    }
  }
}

BOOST_AUTO_TEST_CASE(every_section) {
  const std::string text =
      "Bootstrap: directory\n"  // 1
      "From: /srv/root\n"       // 2
      "\n"                      // 3
      "%setup\n"                // 4
      "touch $CEXEC_ROOTFS/x\n"
      "%files\n"                // 6
      "a.txt /opt/a.txt\n"
      "  'with space' \"/opt/b c\"\n"
      "# comment\n"
      "relative/only\n"         // 10
      "%post -c /bin/bash\n"    // 11
      "echo post\n"
      "%environment\n"          // 13
      "export A=1\n"
      "B=\"two words\"\n"
      "%runscript\n"            // 16
      "exec \"$@\"\n"
      "%labels\n"               // 18
      "Author someone@example.com\n"
      "org.opencontainers.image.title  My image\n"
      "%help\n"                 // 21
      "Some help.\n"
      "%test\n"                 // 23
      "true\n";
  auto d = parse_ok(text);
  BOOST_TEST_REQUIRE(d.setup.has_value());
  BOOST_TEST(d.setup->body == "touch $CEXEC_ROOTFS/x\n");
  BOOST_TEST(d.setup->line == 4);
  BOOST_TEST_REQUIRE(d.files.size() == 3u);
  BOOST_TEST(d.files[0] == (FileCopy{"a.txt", "/opt/a.txt", 7}));
  BOOST_TEST(d.files[1] == (FileCopy{"with space", "/opt/b c", 8}));
  BOOST_TEST(d.files[2] == (FileCopy{"relative/only", "/relative/only", 10}));
  BOOST_TEST_REQUIRE(d.post.has_value());
  BOOST_TEST(d.post->interpreter == "/bin/bash");
  BOOST_TEST(d.post->body == "echo post\n");
  BOOST_TEST(d.environment.value() == "export A=1\nB=\"two words\"\n");
  BOOST_TEST(d.runscript->body == "exec \"$@\"\n");
  BOOST_TEST(d.runscript->interpreter == "/bin/sh");
  BOOST_TEST_REQUIRE(d.labels.size() == 2u);
  BOOST_TEST(d.labels[0].first == "Author");
  BOOST_TEST(d.labels[0].second == "someone@example.com");
  BOOST_TEST(d.labels[1].first == "org.opencontainers.image.title");
  BOOST_TEST(d.labels[1].second == "My image");
  BOOST_TEST(d.help.value() == "Some help.\n");
  BOOST_TEST(d.test->body == "true\n");
  BOOST_TEST(d.text == text);
}

BOOST_AUTO_TEST_CASE(repeated_sections_are_appended) {
  auto d = parse_ok("Bootstrap: directory\nFrom: /r\n%post\necho 1\n%help\nh\n%post\necho 2\n");
  BOOST_TEST(d.post->body == "echo 1\necho 2\n");
}

BOOST_AUTO_TEST_CASE(errors_name_file_and_line) {
  const std::pair<const char*, const char*> cases[] = {
      {"Bootstrap: directory\nFrom: /r\n%post\ntrue\n%startscript\nx\n", "test.def:5: unknown section `%startscript`"},
      {"Bootstrap: directory\nFrom: /r\nStage: one\n", "test.def:3: unknown header keyword `Stage`"},
      {"Bootstrap: library\nFrom: ubuntu\n", "test.def:1: unsupported Bootstrap `library`"},
      {"Bootstrap: directory\nBootstrap: directory\nFrom: /r\n", "test.def:2: Bootstrap given twice"},
      {"From: /r\n%post\ntrue\n", "test.def:1: missing `Bootstrap:`"},
      {"Bootstrap: directory\n", "test.def:1: Bootstrap: directory needs `From:`"},
      {"Bootstrap: debootstrap\nMirrorURL: http://x\n", "test.def:1: Bootstrap: debootstrap needs `OSVersion:`"},
      {"Bootstrap: directory\nFrom: /r\nOSVersion: bookworm\n", "test.def:3: keyword not used by `Bootstrap: directory`"},
      {"Bootstrap: debootstrap\nOSVersion: bookworm\nFrom: /x\n", "test.def:3: keyword not used by `Bootstrap: debootstrap`"},
      {"Bootstrap: directory\nFrom:\n", "test.def:2: `From:` needs a value"},
      {"Bootstrap directory\n", "test.def:1: expected `Keyword: value`"},
      {"Bootstrap: directory\nFrom: /r\n%files\na b c\n", "test.def:4: %files lines are `SOURCE [DESTINATION]`"},
      {"Bootstrap: directory\nFrom: /r\n%files\n\"a /b\n", "test.def:4: unterminated quote"},
      {"Bootstrap: directory\nFrom: /r\n%environment\nA=1\nif true; then B=2; fi\n", "test.def:5: expected NAME=VALUE"},
      {"Bootstrap: directory\nFrom: /r\n%labels\nonlyname\n", "test.def:4: %labels lines are `NAME VALUE`"},
      {"Bootstrap: directory\nFrom: /r\n%labels\nbad|name value\n", "test.def:4: %labels lines"},
      {"Bootstrap: directory\nFrom: /r\n%post -x\ntrue\n", "test.def:3: %post takes no arguments but `-c INTERPRETER`"},
      {"Bootstrap: directory\nFrom: /r\n%post -c bash\ntrue\n", "test.def:3: %post -c needs an absolute interpreter path"},
      {"Bootstrap: directory\nFrom: /r\n%help extra\nh\n", "test.def:3: %help takes no arguments"},
  };
  for (const auto& [text, expected] : cases) {
    BOOST_TEST_CONTEXT(text) {
      std::string msg = parse_error(text);
      BOOST_TEST(msg.find(expected) != std::string::npos, "message: " << msg);
    }
  }
}

BOOST_AUTO_TEST_CASE(not_utf8_text_is_refused_with_its_line) {
  std::string msg = parse_error("Bootstrap: directory\nFrom: /r\n%help\n\xff\xfe binary\n");
  BOOST_TEST(msg.find("test.def:4: not UTF-8 text") != std::string::npos, msg);
  std::string nul = parse_error(std::string("Bootstrap: directory\0\n", 22));
  BOOST_TEST(nul.find("test.def:1: not UTF-8") != std::string::npos, nul);
}

BOOST_AUTO_TEST_CASE(utf8_detection) {
  BOOST_TEST(!try_find_non_text_line("plain\nçé ✓ 𝄞\n").has_value());
  BOOST_TEST(try_find_non_text_line("a\n\xc0\x80").value() == 2);      // overlong
  BOOST_TEST(try_find_non_text_line("\xed\xa0\x80").value() == 1);     // surrogate
  BOOST_TEST(try_find_non_text_line("a\nb\n\xe2\x82").value() == 3);   // truncated
}

BOOST_AUTO_TEST_CASE(label_names) {
  BOOST_TEST(is_valid_label_name("org.opencontainers.image.title"));
  BOOST_TEST(is_valid_label_name("Author"));
  BOOST_TEST(is_valid_label_name("a-b_c/d:e"));
  BOOST_TEST(!is_valid_label_name(""));
  BOOST_TEST(!is_valid_label_name("a b"));
  BOOST_TEST(!is_valid_label_name("a=b"));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cexec::build
