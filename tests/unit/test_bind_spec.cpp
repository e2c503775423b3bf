// Unit tests for bind_spec.hpp: the -B / CEXEC_BIND syntax and the path helpers it relies on.
#include "bind_spec.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

namespace cexec {
namespace {

BOOST_AUTO_TEST_SUITE(bind_spec)

struct GoodCase {
  const char* text;
  std::vector<BindSpec> expected;
};

BOOST_AUTO_TEST_CASE(parses_valid_specs) {
  const GoodCase cases[] = {
      {"/data", {{"/data", "", false}}},
      {"/data:/mnt", {{"/data", "/mnt", false}}},
      {"/data:/mnt:ro", {{"/data", "/mnt", true}}},
      {"/data:/mnt:rw", {{"/data", "/mnt", false}}},
      {"relative/dir:/mnt", {{"relative/dir", "/mnt", false}}},
      {"/a:/x//y/./z/", {{"/a", "/x/y/z", false}}},
      {"/a,/b:/B:ro,c:/C:rw", {{"/a", "", false}, {"/b", "/B", true}, {"c", "/C", false}}},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("spec `" << c.text << "`") {
      auto r = parse_bind_specs(c.text);
      BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.failure().message));
      const auto& got = r.value();
      BOOST_TEST_REQUIRE(got.size() == c.expected.size());
      for (size_t i = 0; i < got.size(); ++i) {
        BOOST_TEST(got[i].source == c.expected[i].source);
        BOOST_TEST(got[i].destination == c.expected[i].destination);
        BOOST_TEST(got[i].read_only == c.expected[i].read_only);
      }
    }
  }
}

struct BadCase {
  const char* text;
  const char* words;  // must appear in the message
};

BOOST_AUTO_TEST_CASE(rejects_malformed_specs_as_usage_errors) {
  const BadCase cases[] = {
      {"", "empty entry"},
      {"/a,,/b", "empty entry"},
      {"/a,", "empty entry"},
      {":/mnt", "empty source"},
      {"/a:", "empty destination"},
      {"/a::ro", "empty destination"},
      {"/a:/b:ro:extra", "too many ':'"},
      {"/a:/b:rx", "unknown option `rx`"},
      {"/a:/b:", "unknown option ``"},
      {"/a:mnt", "not an absolute path"},
      {"/a:/mnt/../etc", "contains `..`"},
      {"/a:/..", "contains `..`"},
      {"/ok,/a:rel", "not an absolute path"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("spec `" << c.text << "`") {
      auto r = parse_bind_specs(c.text);
      BOOST_TEST_REQUIRE(!r.has_value());
      BOOST_TEST((r.failure().kind == ErrorKind::usage));
      BOOST_TEST(r.failure().message.find(c.words) != std::string::npos, "message: " << r.failure().message);
      BOOST_TEST(r.failure().message.find("bind spec `") == 0u, "message: " << r.failure().message);
    }
  }
}

BOOST_AUTO_TEST_CASE(error_names_the_offending_item) {
  auto r = parse_bind_specs("/good:/g,/bad:/b:xx");
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST(r.failure().message.find("`/bad:/b:xx`") != std::string::npos, "message: " << r.failure().message);
}

BOOST_AUTO_TEST_CASE(destination_problem_cases) {
  struct Case {
    const char* path;
    const char* words;  // "" means acceptable
  };
  const Case cases[] = {
      {"/", ""},
      {"/mnt", ""},
      {"/a/b/c", ""},
      {"/a/..b/c", ""},  // a name that merely starts with ".." is fine
      {"/a/b..", ""},
      {"", "not an absolute path"},
      {"mnt", "not an absolute path"},
      {"./mnt", "not an absolute path"},
      {"/..", "contains `..`"},
      {"/a/../b", "contains `..`"},
      {"/a/b/..", "contains `..`"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("path `" << c.path << "`") {
      std::string why = destination_problem(c.path);
      if (std::string(c.words).empty()) {
        BOOST_TEST(why.empty(), "unexpected problem: " << why);
      } else {
        BOOST_TEST(why.find(c.words) != std::string::npos, "problem: " << why);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(normalize_path_cases) {
  const std::pair<const char*, const char*> cases[] = {
      {"/", "/"},
      {"//", "/"},
      {"/.", "/"},
      {"/a//b/./c/", "/a/b/c"},
      {"/a/b", "/a/b"},
      {"/a/../b", "/a/../b"},  // ".." is kept; callers reject it first
      {"a/b/", "a/b"},
      {"./a", "a"},
      {".", "."},
      {"", "."},
  };
  for (const auto& [in, out] : cases) {
    BOOST_TEST_CONTEXT("path `" << in << "`") {
      BOOST_TEST(normalize_path(in) == out);
    }
  }
}

BOOST_AUTO_TEST_CASE(is_path_under_cases) {
  struct Case {
    const char* path;
    const char* prefix;
    bool under;
  };
  const Case cases[] = {
      {"/home/a", "/home", true},
      {"/home", "/home", true},
      {"/home/a/b", "/home/a", true},
      {"/homer", "/home", false},
      {"/hom", "/home", false},
      {"/etc", "/home", false},
      {"/anything", "/", true},
      {"/", "/", true},
      {"relative", "/", false},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("`" << c.path << "` under `" << c.prefix << "`") {
      BOOST_TEST(is_path_under(c.path, c.prefix) == c.under);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cexec
