// Unit tests for spank/handoff.h: the cexec command line a step's --container-* options become,
// the plugstack.conf arguments, the handoff encoding between the plugin and cexec-spank-exec, and
// the --container-env values (taken literally by cexec).
#include "handoff.h"

#include "base/environment.hpp"
#include "base/exit_codes.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace {

std::vector<std::string> strings(const cexec_strv& v) {
  std::vector<std::string> out;
  for (size_t i = 0; i < v.count; ++i) {
    out.emplace_back(v.items[i]);
  }
  BOOST_CHECK(v.count == 0 ? v.items == nullptr : v.items[v.count] == nullptr);
  return out;
}

// A vector built from strings, freed by its destructor.
struct Strv {
  cexec_strv v{};
  Strv() = default;
  explicit Strv(const std::vector<std::string>& items) {
    for (const auto& s : items) {
      BOOST_REQUIRE_EQUAL(cexec_strv_push(&v, s.c_str()), 0);
    }
  }
  Strv(Strv&& other) noexcept : v(other.v) { other.v = {}; }
  Strv(const Strv&) = delete;
  Strv& operator=(const Strv&) = delete;
  ~Strv() { cexec_strv_free(&v); }
};

struct Command {
  Strv out;
  int rc = 0;
  std::string err;
  std::vector<std::string> words() const { return strings(out.v); }
};

Command command(const cexec_container_options& o) {
  Command c;
  char err[512] = "";
  c.rc = cexec_spank_command(&o, "/usr/bin/cexec", &c.out.v, err, sizeof err);
  c.err = err;
  return c;
}

const char* lookup_in(const char* name, void* ctx) {
  auto* env = static_cast<std::map<std::string, std::string>*>(ctx);
  auto it = env->find(name);
  return it == env->end() ? nullptr : it->second.c_str();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(spank)

BOOST_AUTO_TEST_CASE(the_image_alone_is_cexec_exec_image) {
  cexec_container_options o{};
  o.image = "tf.img";
  auto c = command(o);
  BOOST_REQUIRE_EQUAL(c.rc, 0);
  BOOST_TEST(c.words() == (std::vector<std::string>{"/usr/bin/cexec", "exec", "tf.img"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(every_option_becomes_its_cexec_option_before_the_image) {
  cexec_container_options o{};
  o.image = "/images/tf.img";
  o.mounts = "/scratch:/data:ro,/opt/x";
  o.env_names = "HOME,NCCL_DEBUG";  // not an option of cexec: handed to cexec-spank-exec
  o.workdir = "/data";
  o.writable = true;
  o.no_mount_home = true;
  o.mpi = "host";
  o.gpu = "none";
  o.cpu_bind = "cores";
  auto c = command(o);
  BOOST_REQUIRE_EQUAL(c.rc, 0);
  BOOST_TEST(c.words() == (std::vector<std::string>{"/usr/bin/cexec", "exec", "--bind=/scratch:/data:ro,/opt/x",
                                                    "--pwd=/data", "--writable-tmpfs", "--no-home", "--mpi=host",
                                                    "--gpu=none", "--cpu-bind=cores", "/images/tf.img"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(an_image_that_looks_like_an_option_stays_an_image) {
  cexec_container_options o{};
  o.image = "-v.sqfs";
  auto c = command(o);
  BOOST_REQUIRE_EQUAL(c.rc, 0);
  BOOST_CHECK_EQUAL(c.words().back(), "./-v.sqfs");
}

BOOST_AUTO_TEST_CASE(empty_values_and_bad_names_are_refused_with_one_line) {
  cexec_container_options o{};
  auto none = command(o);
  BOOST_CHECK_EQUAL(none.rc, -1);
  BOOST_CHECK_EQUAL(none.err, "--container-image: empty value");
  BOOST_CHECK(none.words().empty());

  o.image = "tf.img";
  o.workdir = "";
  auto empty = command(o);
  BOOST_CHECK_EQUAL(empty.rc, -1);
  BOOST_CHECK_EQUAL(empty.err, "--container-workdir: empty value");
  BOOST_CHECK(empty.words().empty());

  o.workdir = nullptr;
  o.env_names = "GOOD,1BAD";
  auto bad = command(o);
  BOOST_CHECK_EQUAL(bad.rc, -1);
  BOOST_CHECK_EQUAL(bad.err, "--container-env: `1BAD` is not a variable name (NAME[,NAME...])");

  char err[256] = "";
  BOOST_CHECK_EQUAL(cexec_spank_check_env_names("A,_B,C9,", err, sizeof err), 0);
  BOOST_CHECK_EQUAL(cexec_spank_check_env_names("A-B", err, sizeof err), -1);
}

BOOST_AUTO_TEST_CASE(plugstack_arguments_name_absolute_programs) {
  cexec_spank_config config{"/usr/bin/cexec", "/usr/libexec/cexec-spank-exec"};
  char err[512] = "";
  std::vector<std::string> args{"cexec=/opt/cexec/bin/cexec"};
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  BOOST_REQUIRE_EQUAL(cexec_spank_parse_args(1, argv.data(), &config, err, sizeof err), 0);
  BOOST_CHECK_EQUAL(config.cexec, "/opt/cexec/bin/cexec");
  BOOST_CHECK_EQUAL(config.helper, "/usr/libexec/cexec-spank-exec");  // the default stays

  for (std::string bad : {"cexec=relative/cexec", "helper=", "verbose"}) {
    BOOST_TEST_CONTEXT(bad) {
      char* one = bad.data();
      BOOST_CHECK_EQUAL(cexec_spank_parse_args(1, &one, &config, err, sizeof err), -1);
      BOOST_CHECK_EQUAL(std::string(err), "plugstack.conf argument `" + bad +
                                              "`: expected cexec=/ABSOLUTE/PATH or helper=/ABSOLUTE/PATH");
    }
  }
}

BOOST_AUTO_TEST_CASE(the_handoff_carries_any_string_unchanged) {
  Strv in({"/usr/bin/cexec", "exec", "", "a:b", "12:34", "with space", "new\nline", "--bind=/x:/y", "ünï"});
  char* text = cexec_spank_encode(&in.v);
  BOOST_REQUIRE(text != nullptr);
  BOOST_CHECK_EQUAL(std::string(text).substr(0, 19), "14:/usr/bin/cexec4:");
  Strv out;
  BOOST_REQUIRE_EQUAL(cexec_spank_decode(text, &out.v), 0);
  std::free(text);
  BOOST_TEST(strings(out.v) == strings(in.v), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_malformed_handoff_is_refused) {
  for (const char* bad : {"", "x", "3", "3:ab", "3:abc4", "-1:", "99999999999999999999:x", "2:ab:"}) {
    BOOST_TEST_CONTEXT("`" << bad << "`") {
      Strv out;
      BOOST_CHECK_EQUAL(cexec_spank_decode(bad, &out.v), -1);
      BOOST_CHECK_EQUAL(out.v.count, 0u);
      BOOST_CHECK(out.v.items == nullptr);
    }
  }
}

BOOST_AUTO_TEST_CASE(container_env_takes_the_set_names_literally) {
  std::map<std::string, std::string> env{{"A", "plain"}, {"B", "$HOME and ${X} \\$ \\"}, {"EMPTY", ""}};
  Strv out;
  BOOST_REQUIRE_EQUAL(cexec_spank_env_options("A,UNSET,B,,EMPTY", lookup_in, &env, &out.v), 0);
  auto words = strings(out.v);
  BOOST_TEST(words == (std::vector<std::string>{"--env=A=plain", "--env=B=\\$HOME and \\${X} \\\\$ \\", "--env=EMPTY="}),
             boost::test_tools::per_element());
  // What cexec makes of the escaped value: the host's value, byte for byte.
  cexec::EnvList none;
  BOOST_CHECK_EQUAL(cexec::expand_env_value(words[1].substr(strlen("--env=B=")), none), env["B"]);
}

BOOST_AUTO_TEST_CASE(the_executed_command_is_cexec_exec_env_options_the_rest_and_the_task_arguments) {
  Strv command({"/usr/bin/cexec", "exec", "--mpi=host", "tf.img", "python3"});  // 22.05: argv[0] moved here
  Strv env({"--env=A=1"});
  std::vector<std::string> task{"/usr/libexec/cexec-spank-exec", "train.py", "--epochs", "3"};
  std::vector<char*> argv;
  for (auto& a : task) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  Strv out;
  BOOST_REQUIRE_EQUAL(cexec_spank_exec_argv(&command.v, &env.v, 4, argv.data(), &out.v), 0);
  BOOST_TEST(strings(out.v) == (std::vector<std::string>{"/usr/bin/cexec", "exec", "--env=A=1", "--mpi=host", "tf.img",
                                                         "python3", "train.py", "--epochs", "3"}),
             boost::test_tools::per_element());
  Strv short_command({"/usr/bin/cexec"});
  Strv refused;
  BOOST_CHECK_EQUAL(cexec_spank_exec_argv(&short_command.v, &env.v, 4, argv.data(), &refused.v), -1);
}

BOOST_AUTO_TEST_CASE(multi_prog_is_recognized_by_its_configuration_text) {
  std::string conf = "0 hostname\n1-3 ./a.out\n";
  std::vector<std::string> args{"multi.conf", conf};
  std::vector<char*> argv{args[0].data(), args[1].data(), nullptr};
  BOOST_CHECK(cexec_spank_is_multi_prog(2, argv.data(), conf.c_str()));
  BOOST_CHECK(!cexec_spank_is_multi_prog(2, argv.data(), nullptr));        // argv[0] unreadable
  BOOST_CHECK(!cexec_spank_is_multi_prog(2, argv.data(), "0 hostname\n"));  // some other file
  BOOST_CHECK(!cexec_spank_is_multi_prog(1, argv.data(), conf.c_str()));
}

BOOST_AUTO_TEST_CASE(the_plugin_fails_with_cexec_s_statuses) {
  BOOST_CHECK_EQUAL(CEXEC_SPANK_EXIT_USAGE, cexec::exit_code_for(cexec::ErrorKind::usage));
  BOOST_CHECK_EQUAL(CEXEC_SPANK_EXIT_INTERNAL, cexec::exit_code_for(cexec::ErrorKind::internal));
  BOOST_CHECK_EQUAL(CEXEC_SPANK_EXIT_CONFIG, cexec::exit_code_for(cexec::ErrorKind::config));
}

BOOST_AUTO_TEST_SUITE_END()
