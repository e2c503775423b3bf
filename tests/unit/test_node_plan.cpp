#include "base/environment.hpp"
#include "base/payload_env.hpp"
#include "node_plan.hpp"

#include <boost/test/unit_test.hpp>

using namespace cexec;

BOOST_AUTO_TEST_SUITE(env_ops)

BOOST_AUTO_TEST_CASE(set_default_and_prepend) {
  EnvList env{{"LD_LIBRARY_PATH", "/opt/lib"}, {"OMP_NUM_THREADS", "8"}};
  apply_env_ops(env, {{EnvOpKind::prepend_path, "LD_LIBRARY_PATH", "/.cexec/host/mpi/lib"},
                      {EnvOpKind::prepend_path, "UCX_MODULE_DIR", "/x"},
                      {EnvOpKind::set_default, "OMP_NUM_THREADS", "2"},
                      {EnvOpKind::set_default, "OMP_PLACES", "cores"},
                      {EnvOpKind::set, "RANK", "3"}});
  BOOST_CHECK_EQUAL(env_lookup(env, "LD_LIBRARY_PATH"), "/.cexec/host/mpi/lib:/opt/lib");
  BOOST_CHECK_EQUAL(env_lookup(env, "UCX_MODULE_DIR"), "/x");  // no empty element, which would mean "."
  BOOST_CHECK_EQUAL(env_lookup(env, "OMP_NUM_THREADS"), "8");  // the user's value stays
  BOOST_CHECK_EQUAL(env_lookup(env, "OMP_PLACES"), "cores");
  BOOST_CHECK_EQUAL(env_lookup(env, "RANK"), "3");
}

BOOST_AUTO_TEST_CASE(set_default_respects_an_empty_value) {
  EnvList env{{"CUDA_VISIBLE_DEVICES", ""}};
  apply_env_ops(env, {{EnvOpKind::set_default, "CUDA_VISIBLE_DEVICES", "0"}});
  BOOST_CHECK_EQUAL(env_lookup(env, "CUDA_VISIBLE_DEVICES", "unset"), "");
}

BOOST_AUTO_TEST_CASE(format_and_parse_round_trip) {
  std::vector<EnvOp> ops{{EnvOpKind::set, "A", "x=y z"}, {EnvOpKind::set_default, "B", ""},
                         {EnvOpKind::prepend_path, "PATH", "/.cexec/host/gpu/bin"}};
  auto text = format_env_ops(ops);
  BOOST_REQUIRE(text);
  BOOST_CHECK_EQUAL(text.value(), "set A=x=y z\ndefault B=\nprepend PATH=/.cexec/host/gpu/bin\n");
  auto back = parse_env_ops(text.value(), "env");
  BOOST_REQUIRE(back);
  BOOST_CHECK(back.value() == ops);
}

BOOST_AUTO_TEST_CASE(format_refuses_newlines_and_bad_names) {
  BOOST_CHECK(!format_env_ops({{EnvOpKind::set, "A", "x\ny"}}));
  BOOST_CHECK(!format_env_ops({{EnvOpKind::set, "1A", "x"}}));
}

BOOST_AUTO_TEST_CASE(parse_names_the_bad_line) {
  auto r = parse_env_ops("set A=1\nunset B=2\n", "/.cexec/host/environment");
  BOOST_REQUIRE(!r);
  BOOST_CHECK_EQUAL(r.failure().message, "/.cexec/host/environment:2: unknown operation `unset`");
  BOOST_CHECK(!parse_env_ops("set A\n", "f"));
  BOOST_CHECK(!parse_env_ops("set =1\n", "f"));
}

BOOST_AUTO_TEST_CASE(injected_layer_sits_between_image_and_user) {
  EnvInputs in;
  in.host = {"HOME=/home/u"};
  in.image = {{"LD_LIBRARY_PATH", "/image/lib"}};
  in.injected = {{EnvOpKind::prepend_path, "LD_LIBRARY_PATH", "/.cexec/host/mpi/lib"},
                 {EnvOpKind::set, "OMPI_MCA_x", "injected"}};
  in.cli = {"OMPI_MCA_x=user"};
  in.rank = {{EnvOpKind::set_default, "OMPI_MCA_x", "rank"}, {EnvOpKind::set_default, "RANK", "1"}};
  auto env = assemble_environment(in);
  BOOST_REQUIRE(env);
  BOOST_CHECK_EQUAL(env_lookup(env.value(), "LD_LIBRARY_PATH"), "/.cexec/host/mpi/lib:/image/lib");
  BOOST_CHECK_EQUAL(env_lookup(env.value(), "OMPI_MCA_x"), "user");
  BOOST_CHECK_EQUAL(env_lookup(env.value(), "RANK"), "1");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(node_plan)

BOOST_AUTO_TEST_CASE(empty_additions_add_nothing) {
  NodePlan a;
  BOOST_CHECK(a.empty());
  BOOST_CHECK(additions_mounts(a).value().empty());
  BOOST_CHECK(additions_files(a).value().empty());
}

BOOST_AUTO_TEST_CASE(files_env_and_notices_become_generated_binds) {
  NodePlan a;
  MountOp lib;
  lib.source = "/usr/lib/x86_64-linux-gnu/libmpi.so.40";
  lib.destination = "/.cexec/host/mpi/lib/libmpi.so.40";
  lib.read_only = true;
  a.mounts.push_back(lib);
  a.files.push_back({"topology", "machine\n"});
  a.env.push_back({EnvOpKind::prepend_path, "LD_LIBRARY_PATH", "/.cexec/host/mpi/lib"});
  a.notices.push_back("warn: something");
  auto mounts = additions_mounts(a).value();
  auto files = additions_files(a).value();
  BOOST_REQUIRE_EQUAL(mounts.size(), 4u);
  BOOST_REQUIRE_EQUAL(files.size(), 3u);
  BOOST_CHECK(mounts[0] == lib);
  BOOST_CHECK_EQUAL(mounts[1].destination, "/.cexec/host/topology");
  BOOST_CHECK_EQUAL(mounts[2].destination, "/.cexec/host/environment");
  BOOST_CHECK_EQUAL(mounts[3].destination, "/.cexec/host/notices");
  for (size_t i = 0; i < files.size(); ++i) {
    BOOST_CHECK(mounts[i + 1].kind == MountKind::generated);
    BOOST_CHECK(mounts[i + 1].read_only);
    BOOST_CHECK_EQUAL(mounts[i + 1].source, files[i].path);
  }
  BOOST_CHECK_EQUAL(files[0].content, "machine\n");
  BOOST_CHECK_EQUAL(files[1].content, "prepend LD_LIBRARY_PATH=/.cexec/host/mpi/lib\n");
  BOOST_CHECK_EQUAL(files[2].content, "warn: something\n");
}

BOOST_AUTO_TEST_CASE(generated_paths_stay_below_the_host_directory) {
  NodePlan a;
  a.files.push_back({"../etc/passwd", "x"});
  BOOST_CHECK(!additions_mounts(a));
  a.files[0].path = "/etc/passwd";
  BOOST_CHECK(!additions_files(a));
}

BOOST_AUTO_TEST_SUITE_END()
