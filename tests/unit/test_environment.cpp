// Unit tests for environment.hpp: env-file parsing, $NAME expansion and the precedence of the
// payload environment's deltas.
#include "base/environment.hpp"
#include "base/payload_env.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <optional>
#include <string>

namespace cexec {
namespace {

std::optional<std::string> lookup(const EnvList& env, std::string_view name) {
  auto it = std::find_if(env.begin(), env.end(), [&](const EnvVar& v) { return v.first == name; });
  if (it == env.end()) {
    return std::nullopt;
  }
  return it->second;
}

size_t count_of(const EnvList& env, std::string_view name) {
  return std::count_if(env.begin(), env.end(), [&](const EnvVar& v) { return v.first == name; });
}

EnvList assemble_ok(const EnvInputs& in) {
  auto r = assemble_environment(in);
  BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.failure().message));
  return r.value();
}

BOOST_AUTO_TEST_SUITE(environment)

BOOST_AUTO_TEST_CASE(env_name_validity) {
  const std::pair<const char*, bool> cases[] = {
      {"A", true}, {"_", true}, {"a_b9", true}, {"PATH", true},
      {"", false}, {"9A", false}, {"A-B", false}, {"A B", false}, {"A=B", false}, {"A.B", false},
  };
  for (const auto& [name, valid] : cases) {
    BOOST_TEST_CONTEXT("name `" << name << "`") {
      BOOST_TEST(is_valid_env_name(name) == valid);
    }
  }
}

BOOST_AUTO_TEST_CASE(parse_env_text_accepts_the_documented_forms) {
  const std::string text =
      "# a comment\n"
      "\n"
      "A=1\n"
      "  export B=two words  \n"
      "C=\"double quoted\"\n"
      "D='single quoted'\n"
      "E=\r\n"
      "\t# indented comment\n"
      "F=a=b\n"
      "G=\"unbalanced'\n"
      "H=$A";  // no trailing newline
  auto r = parse_env_text(text, "vars.env");
  BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.failure().message));
  const EnvList expected = {{"A", "1"},           {"B", "two words"}, {"C", "double quoted"},
                            {"D", "single quoted"}, {"E", ""},        {"F", "a=b"},
                            {"G", "\"unbalanced'"}, {"H", "$A"}};
  BOOST_TEST_REQUIRE(r.value().size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    BOOST_TEST(r.value()[i].first == expected[i].first);
    BOOST_TEST(r.value()[i].second == expected[i].second);
  }
}

BOOST_AUTO_TEST_CASE(parse_env_text_empty_input) {
  auto r = parse_env_text("", "empty.env");
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST(r.value().empty());
}

BOOST_AUTO_TEST_CASE(parse_env_text_errors_name_file_and_line) {
  struct Case {
    const char* text;
    const char* location;
    const char* shown;
  };
  const Case cases[] = {
      {"NOEQUALS", "f.env:1:", "`NOEQUALS`"},
      {"A=1\n\n# c\nBAD LINE\n", "f.env:4:", "`BAD LINE`"},
      {"A=1\n9X=2\n", "f.env:2:", "`9X=2`"},
      {"A=1\n=value\n", "f.env:2:", "`=value`"},
      {"A-B=1", "f.env:1:", "`A-B=1`"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("text `" << c.text << "`") {
      auto r = parse_env_text(c.text, "f.env");
      BOOST_TEST_REQUIRE(!r.has_value());
      BOOST_TEST((r.failure().kind == ErrorKind::usage));
      const auto& msg = r.failure().message;
      BOOST_TEST(msg.find(c.location) == 0u, "message: " << msg);
      BOOST_TEST(msg.find("expected NAME=VALUE") != std::string::npos, "message: " << msg);
      BOOST_TEST(msg.find(c.shown) != std::string::npos, "message: " << msg);
    }
  }
}

BOOST_AUTO_TEST_CASE(expand_env_value_cases) {
  const EnvList env = {{"A", "alpha"}, {"B_2", "beta"}, {"EMPTY", ""}};
  const std::pair<const char*, const char*> cases[] = {
      {"plain", "plain"},
      {"$A", "alpha"},
      {"${A}", "alpha"},
      {"x$A/y", "xalpha/y"},
      {"${A}x", "alphax"},
      {"$Ax", ""},  // the name is "Ax", which is unset
      {"$B_2-$A", "beta-alpha"},
      {"$UNSET", ""},
      {"[${UNSET}]", "[]"},
      {"$EMPTY.", "."},
      {"\\$A", "$A"},
      {"\\${A}", "${A}"},
      {"a\\b", "a\\b"},
      {"$", "$"},
      {"cost: 5$", "cost: 5$"},
      {"$1", "$1"},
      {"$-", "$-"},
      {"${}", "${}"},
      {"${A", "${A"},
      {"${A-x}", "${A-x}"},
      {"$A$A", "alphaalpha"},
  };
  for (const auto& [in, out] : cases) {
    BOOST_TEST_CONTEXT("value `" << in << "`") {
      BOOST_TEST(expand_env_value(in, env) == out);
    }
  }
}

BOOST_AUTO_TEST_CASE(env_lookup_and_to_environ) {
  const EnvList env = {{"A", "1"}, {"B", ""}};
  BOOST_TEST(env_lookup(env, "A") == "1");
  BOOST_TEST(env_lookup(env, "B", "fallback") == "");
  BOOST_TEST(env_lookup(env, "C", "fallback") == "fallback");
  BOOST_TEST(env_lookup(env, "C") == "");
  const std::vector<std::string> expected = {"A=1", "B="};
  BOOST_TEST(to_environ(env) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(host_environment_minus_deny_list) {
  EnvInputs in;
  in.host = {"HOME=/home/u", "LD_PRELOAD=/evil.so", "LD_LIBRARY_PATH=/host/lib", "LD_AUDIT=/a.so",
             "PATH=/host/bin", "SHELL=/bin/bash", "NOEQUALS", "EMPTY=", "X=a=b"};
  in.image_path = "/img.sqfs";
  auto env = assemble_ok(in);
  BOOST_TEST(lookup(env, "HOME").value_or("<unset>") == "/home/u");
  BOOST_TEST(lookup(env, "SHELL").value_or("<unset>") == "/bin/bash");
  BOOST_TEST(lookup(env, "EMPTY").value_or("<unset>") == "");
  BOOST_TEST(lookup(env, "X").value_or("<unset>") == "a=b");
  for (const char* denied : {"LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "NOEQUALS"}) {
    BOOST_TEST(!lookup(env, denied).has_value(), denied << " leaked into the container");
  }
  BOOST_TEST(lookup(env, "PATH").value_or("<unset>") == default_path);
  BOOST_TEST(count_of(env, "PATH") == 1u);
  BOOST_TEST(lookup(env, "CEXEC_CONTAINER").value_or("<unset>") == "1");
  BOOST_TEST(lookup(env, "CEXEC_IMAGE").value_or("<unset>") == "/img.sqfs");
}

BOOST_AUTO_TEST_CASE(host_order_is_kept) {
  EnvInputs in;
  in.host = {"Z=1", "A=2", "M=3"};
  auto env = assemble_ok(in);
  BOOST_TEST_REQUIRE(env.size() >= 3u);
  BOOST_TEST(env[0].first == "Z");
  BOOST_TEST(env[1].first == "A");
  BOOST_TEST(env[2].first == "M");
}

BOOST_AUTO_TEST_CASE(cexec_host_variables_are_not_passed) {
  EnvInputs in;
  in.host = {"CEXEC_BIND=/data", "CEXEC_DEBUG=1", "CEXEC_CONTAINER=0", "CEXEC_IMAGE=/fake", "CEXEC_ENV_=x",
             "KEEP=1"};
  in.image_path = "/real.sqfs";
  auto env = assemble_ok(in);
  BOOST_TEST(!lookup(env, "CEXEC_BIND").has_value());
  BOOST_TEST(!lookup(env, "CEXEC_DEBUG").has_value());
  BOOST_TEST(!lookup(env, "CEXEC_ENV_").has_value());
  BOOST_TEST(!lookup(env, "").has_value());
  BOOST_TEST(lookup(env, "CEXEC_CONTAINER").value_or("<unset>") == "1");
  BOOST_TEST(lookup(env, "CEXEC_IMAGE").value_or("<unset>") == "/real.sqfs");
  BOOST_TEST(count_of(env, "CEXEC_CONTAINER") == 1u);
  BOOST_TEST(count_of(env, "CEXEC_IMAGE") == 1u);
  BOOST_TEST(lookup(env, "KEEP").value_or("<unset>") == "1");
}

// Each layer overrides the ones before it; every layer sets V to its own name and W only up to
// some layer, so both "who wins" and "who is overridden" are checked.
BOOST_AUTO_TEST_CASE(precedence_of_the_layers) {
  EnvInputs in;
  in.host = {"V=host", "H=host", "CEXEC_ENV_V=prefix", "CEXEC_ENV_P=prefix"};
  in.image = {{"V", "image"}, {"I", "image"}, {"PATH", "/image/bin:$PATH"}};
  in.env_files = {{"one.env", {{"V", "file1"}, {"F1", "file1"}, {"F", "file1"}}},
                  {"two.env", {{"V", "file2"}, {"F", "file2"}}}};
  in.cli = {"V=cli", "C=cli"};
  in.image_path = "/i";
  auto env = assemble_ok(in);
  BOOST_TEST(lookup(env, "V").value_or("<unset>") == "cli");
  BOOST_TEST(lookup(env, "H").value_or("<unset>") == "host");
  BOOST_TEST(lookup(env, "I").value_or("<unset>") == "image");
  BOOST_TEST(lookup(env, "P").value_or("<unset>") == "prefix");
  BOOST_TEST(lookup(env, "F1").value_or("<unset>") == "file1");
  BOOST_TEST(lookup(env, "F").value_or("<unset>") == "file2");
  BOOST_TEST(lookup(env, "C").value_or("<unset>") == "cli");
  BOOST_TEST(lookup(env, "PATH").value_or("<unset>") == std::string("/image/bin:") + default_path);
  BOOST_TEST(count_of(env, "V") == 1u);
}

BOOST_AUTO_TEST_CASE(each_layer_beats_the_previous_one) {
  // Pairwise: the later layer wins over the one just below it.
  {
    EnvInputs in;
    in.host = {"V=host"};
    in.image = {{"V", "image"}};
    BOOST_TEST(lookup(assemble_ok(in), "V").value_or("<unset>") == "image");
  }
  {
    EnvInputs in;
    in.image = {{"V", "image"}};
    in.host = {"CEXEC_ENV_V=prefix"};
    BOOST_TEST(lookup(assemble_ok(in), "V").value_or("<unset>") == "prefix");
  }
  {
    EnvInputs in;
    in.host = {"CEXEC_ENV_V=prefix"};
    in.env_files = {{"f", {{"V", "file"}}}};
    BOOST_TEST(lookup(assemble_ok(in), "V").value_or("<unset>") == "file");
  }
  {
    EnvInputs in;
    in.env_files = {{"f", {{"V", "file"}}}};
    in.cli = {"V=cli"};
    BOOST_TEST(lookup(assemble_ok(in), "V").value_or("<unset>") == "cli");
  }
  {
    EnvInputs in;
    in.cli = {"CEXEC_CONTAINER=0", "CEXEC_IMAGE=/fake"};
    in.image_path = "/real";
    auto env = assemble_ok(in);
    BOOST_TEST(lookup(env, "CEXEC_CONTAINER").value_or("<unset>") == "1");
    BOOST_TEST(lookup(env, "CEXEC_IMAGE").value_or("<unset>") == "/real");
  }
}

BOOST_AUTO_TEST_CASE(values_expand_against_what_is_set_so_far) {
  EnvInputs in;
  in.host = {"HOME=/home/u", "CEXEC_ENV_DATA=$HOME/data"};
  in.image = {{"TOOLS", "${HOME}/tools"}, {"LATER", "$FROM_CLI"}};
  in.env_files = {{"f", {{"OUT", "$DATA/out"}, {"LIT", "\\$HOME"}}}};
  in.cli = {"FROM_CLI=x", "ALL=$TOOLS:$OUT"};
  auto env = assemble_ok(in);
  BOOST_TEST(lookup(env, "TOOLS").value_or("<unset>") == "/home/u/tools");
  BOOST_TEST(lookup(env, "DATA").value_or("<unset>") == "/home/u/data");
  BOOST_TEST(lookup(env, "OUT").value_or("<unset>") == "/home/u/data/out");
  BOOST_TEST(lookup(env, "LIT").value_or("<unset>") == "$HOME");
  BOOST_TEST(lookup(env, "LATER").value_or("<unset>") == "");  // set later, so unknown then
  BOOST_TEST(lookup(env, "ALL").value_or("<unset>") == "/home/u/tools:/home/u/data/out");
}

BOOST_AUTO_TEST_CASE(host_values_are_not_expanded) {
  EnvInputs in;
  in.host = {"HOME=/h", "RAW=$HOME"};
  BOOST_TEST(lookup(assemble_ok(in), "RAW").value_or("<unset>") == "$HOME");
}

BOOST_AUTO_TEST_CASE(cleanenv_keeps_only_the_minimal_set) {
  EnvInputs in;
  in.cleanenv = true;
  in.host = {"HOME=/home/u", "USER=u", "LOGNAME=u", "TERM=xterm", "LANG=C.UTF-8", "LC_ALL=C", "TZ=UTC",
             "SHELL=/bin/bash", "SECRET=x", "LD_PRELOAD=/evil.so", "PATH=/host/bin", "CEXEC_ENV_KEPT=yes"};
  in.image = {{"FROM_IMAGE", "1"}};
  in.cli = {"FROM_CLI=1"};
  in.image_path = "/i";
  auto env = assemble_ok(in);
  for (auto name : env_clean_keep) {
    BOOST_TEST(lookup(env, name).has_value(), name << " should survive --cleanenv");
  }
  for (const char* name : {"SHELL", "SECRET", "LD_PRELOAD"}) {
    BOOST_TEST(!lookup(env, name).has_value(), name << " should be dropped by --cleanenv");
  }
  // The later layers still apply on top of the clean base.
  BOOST_TEST(lookup(env, "PATH").value_or("<unset>") == default_path);
  BOOST_TEST(lookup(env, "KEPT").value_or("<unset>") == "yes");
  BOOST_TEST(lookup(env, "FROM_IMAGE").value_or("<unset>") == "1");
  BOOST_TEST(lookup(env, "FROM_CLI").value_or("<unset>") == "1");
  BOOST_TEST(lookup(env, "CEXEC_CONTAINER").value_or("<unset>") == "1");
  BOOST_TEST(lookup(env, "CEXEC_IMAGE").value_or("<unset>") == "/i");
  // Exactly the keep-list, PATH, the four added variables and the two CEXEC_ ones.
  BOOST_TEST(env.size() == std::size(env_clean_keep) + 1 + 3 + 2);
}

BOOST_AUTO_TEST_CASE(malformed_cli_env_is_a_usage_error) {
  for (const char* bad : {"NOEQUALS", "=value", "9A=1", "A B=1", "A-B=1"}) {
    BOOST_TEST_CONTEXT("--env `" << bad << "`") {
      EnvInputs in;
      in.cli = {"GOOD=1", bad};
      auto r = assemble_environment(in);
      BOOST_TEST_REQUIRE(!r.has_value());
      BOOST_TEST((r.failure().kind == ErrorKind::usage));
      BOOST_TEST(r.failure().message.find(std::string("--env `") + bad + "`") != std::string::npos,
                 "message: " << r.failure().message);
      BOOST_TEST(r.failure().message.find("expected NAME=VALUE") != std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(invalid_prefix_variable_name_is_a_usage_error) {
  EnvInputs in;
  in.host = {"CEXEC_ENV_1X=v"};
  auto r = assemble_environment(in);
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST((r.failure().kind == ErrorKind::usage));
  BOOST_TEST(r.failure().message.find("CEXEC_ENV_1X") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(cli_value_may_contain_equals) {
  EnvInputs in;
  in.cli = {"OPTS=a=b,c=d", "EMPTY="};
  auto env = assemble_ok(in);
  BOOST_TEST(lookup(env, "OPTS").value_or("<unset>") == "a=b,c=d");
  BOOST_TEST(lookup(env, "EMPTY").value_or("<unset>") == "");
}

BOOST_AUTO_TEST_CASE(trim_blanks_strips_spaces_tabs_and_trailing_crs) {
  BOOST_TEST(trim_blanks(" \t key = value \t\r\r") == "key = value");
  BOOST_TEST(trim_blanks("\rkey") == "\rkey");  // a CR only ends a line
  BOOST_TEST(trim_blanks(" \t\r") == "");
  BOOST_TEST(trim_blanks("") == "");
}

BOOST_AUTO_TEST_CASE(split_nonempty_leaves_out_empty_parts) {
  BOOST_TEST((split_nonempty("a::b:", ':') == std::vector<std::string>{"a", "b"}));
  BOOST_TEST((split_nonempty(":/usr/lib", ':') == std::vector<std::string>{"/usr/lib"}));
  BOOST_TEST((split_nonempty("one\ntwo\n", '\n') == std::vector<std::string>{"one", "two"}));
  BOOST_TEST(split_nonempty("", ':').empty());
  BOOST_TEST(split_nonempty(":::", ':').empty());
}

BOOST_AUTO_TEST_CASE(environ_value_skips_empty_values_and_longer_names) {
  std::vector<std::string> environ = {"SLURM_JOB_ID_X=9", "SLURM_JOB_ID=", "SLURM_JOB_ID=42", "SLURM_JOB_ID=43", "NOEQUALS"};
  BOOST_TEST(try_environ_value(environ, "SLURM_JOB_ID").value_or("<unset>") == "42");
  BOOST_TEST(!try_environ_value(environ, "SLURM_JOB"));
  BOOST_TEST(!try_environ_value(environ, "NOEQUALS"));
  std::vector<std::string> other = {"EMPTY=", "OPTS=a=b"};
  BOOST_TEST(!try_environ_value(other, "EMPTY"));
  BOOST_TEST(try_environ_value(other, "OPTS").value_or("<unset>") == "a=b");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace cexec
