// End-to-end tests of Apptainer/Singularity SIF files (docs/sif.md) through the real binary, as
// root and as nobody. The SIF files are written by sylabs' own SIF library (tests/sif/make_sif.go,
// staged by tests/sif/make_sif_images.sh), not by anything of cexec's.
#define BOOST_TEST_MODULE cexec_sif
#include "harness.hpp"

#include <algorithm>

using namespace e2e;

namespace {

std::string app_sif() { return image("app.sif"); }

// The SIF images exist unless the fixture lacked Go or the SIF library: a skip, and a failure in CI.
bool have_sif_images() {
  if (fs::exists(app_sif())) {
    return true;
  }
  const char* must = std::getenv("CEXEC_MUST_WORK");
  BOOST_REQUIRE_MESSAGE(must == nullptr || std::string(must) != "1",
                        "no SIF test images (golang-go, golang-github-sylabs-sif-dev missing?)");
  BOOST_TEST_MESSAGE("skipped: no SIF test images");
  return false;
}

std::vector<std::string> concat_argv(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::vector<std::string> mpirun(int ranks) {
  std::vector<std::string> argv{"mpirun", "-np", std::to_string(ranks), "--oversubscribe"};
  if (is_root()) {
    argv.push_back("--allow-run-as-root");
  }
  return argv;
}

// One line on stderr, "cexec: " first, naming the image and the reason; the documented exit code.
void expect_one_line_error(const Outcome& o, const std::string& img, const std::string& reason, ErrorKind kind) {
  BOOST_TEST_INFO(img << ": " << o);
  BOOST_CHECK_EQUAL(o.status, exit_code_for(kind));
  BOOST_CHECK(o.err.starts_with("cexec: "));
  BOOST_CHECK_EQUAL(std::count(o.err.begin(), o.err.end(), '\n'), 1);
  BOOST_CHECK(contains(o.err, img));
  BOOST_CHECK(contains(o.err, reason));
  BOOST_CHECK(o.out.empty());
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(sif_files, Case)

BOOST_AUTO_TEST_CASE(exec_run_and_shell_of_a_sif) {
  if (!have_sif_images()) {
    return;
  }
  auto exec = run_cexec({"exec", app_sif(), "cat", "/etc/image-marker"}, env);
  BOOST_TEST_INFO(exec);
  BOOST_CHECK_EQUAL(exec.status, 0);
  BOOST_CHECK_EQUAL(exec.out, "sif image\n");
  auto verbless = run_cexec({app_sif(), "cat", "/etc/image-marker"}, env);
  BOOST_CHECK_EQUAL(verbless.out, "sif image\n");
  auto run = run_cexec({"run", app_sif(), "a", "b c"}, env);
  BOOST_TEST_INFO(run);
  BOOST_CHECK_EQUAL(run.status, 0);
  BOOST_CHECK_EQUAL(run.out, "sif-runscript:a b c\n");
  auto shell = run_cexec({"shell", app_sif()}, env, "/", "echo in-shell:$SIF_VAR\n");
  BOOST_TEST_INFO(shell);
  BOOST_CHECK_EQUAL(shell.status, 0);
  BOOST_CHECK(contains(shell.out, "in-shell:from-sif"));
}

BOOST_AUTO_TEST_CASE(the_env_scripts_simple_assignments_are_honoured) {
  if (!have_sif_images()) {
    return;
  }
  auto o = run_cexec({"exec", app_sif(), "env"}, env);
  BOOST_TEST_INFO(o);
  BOOST_REQUIRE_EQUAL(o.status, 0);
  BOOST_CHECK(contains(o.out, "\nSIF_VAR=from-sif\n"));
  BOOST_CHECK(contains(o.out, "\nSIF_REF=from-sif/ref\n"));
  BOOST_CHECK(contains(o.out, "\nSIF_LITERAL=literal $HOME\n"));
  BOOST_CHECK(contains(o.out, "\nPS1=Apptainer> \n"));
  BOOST_CHECK(contains(o.out, "\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"));
  BOOST_CHECK(!contains(o.out, "SIF_DEFAULTED"));   // ${X:-y} is not evaluated (docs/sif.md)
  BOOST_CHECK(!contains(o.out, "SIF_NOT_SOURCED"));  // not a *.sh file
  BOOST_CHECK(!contains(o.out, "LD_LIBRARY_PATH"));  // inside an if block
  // --env still wins over the image, as for any image.
  auto over = run_cexec({"exec", "--env", "SIF_VAR=mine", app_sif(), "sh", "-c", "echo $SIF_VAR $SIF_REF"}, env);
  BOOST_CHECK_EQUAL(over.out, "mine from-sif/ref\n");
}

BOOST_AUTO_TEST_CASE(the_same_squashfs_as_a_plain_file_runs_alike) {
  if (!have_sif_images()) {
    return;
  }
  auto a = run_cexec({"exec", image("app-partition.sqfs"), "sh", "-c", "cat /etc/image-marker; echo $SIF_REF"}, env);
  auto b = run_cexec({"exec", app_sif(), "sh", "-c", "cat /etc/image-marker; echo $SIF_REF"}, env);
  BOOST_TEST_INFO(a << b);
  BOOST_CHECK_EQUAL(a.status, 0);
  BOOST_CHECK_EQUAL(a.out, "sif image\nfrom-sif/ref\n");
  BOOST_CHECK_EQUAL(a.out, b.out);
}

BOOST_AUTO_TEST_CASE(mpirun_ranks_share_one_instance_of_a_sif) {
  if (!have_sif_images()) {
    return;
  }
  auto o = run(concat_argv(mpirun(2), {cexec_bin(), image("mpi.sif"), "mpi_probe", "check"}), env);
  BOOST_TEST_INFO(o);
  BOOST_CHECK_EQUAL(o.status, 0);
  BOOST_CHECK(contains(o.out, "mpi_probe: namespaces shared"));
  BOOST_CHECK(contains(o.out, "mpi_probe: process_vm_readv 2/2"));
  BOOST_CHECK(contains(o.out, "mpi_probe: check passed"));
}

BOOST_AUTO_TEST_CASE(inspect_shows_the_definition_file_and_labels) {
  if (!have_sif_images()) {
    return;
  }
  auto o = run_cexec({"inspect", app_sif()}, env);
  BOOST_TEST_INFO(o);
  BOOST_REQUIRE_EQUAL(o.status, 0);
  BOOST_CHECK(contains(o.out, "format: SIF, SquashFS (gzip) primary partition at byte "));
  BOOST_CHECK(contains(o.out, "  Bootstrap: docker\n  From: busybox\n"));             // the definition object
  BOOST_CHECK(contains(o.out, "  MAINTAINER=cexec tests\n"));                         // /.singularity.d/labels.json
  BOOST_CHECK(contains(o.out, "  cexec.test.descriptor=from the labels object\n"));  // the JSON labels object
  BOOST_CHECK(contains(o.out, "  echo \"sif-runscript:$*\"\n"));                     // /.singularity.d/runscript
  auto json = run_cexec({"inspect", "--json", app_sif()}, env);
  BOOST_CHECK_EQUAL(json.status, 0);
  BOOST_CHECK(contains(json.out, "\"format\": \"sif\""));
  BOOST_CHECK(contains(json.out, "\"org.label-schema.usage\": \"cexec run app.sif\""));
  auto help = run_cexec({"run-help", app_sif()}, env);
  BOOST_CHECK_EQUAL(help.out, "Runs the SIF test payload.\n");
}

BOOST_AUTO_TEST_CASE(build_converts_a_sif_and_the_result_runs) {
  if (!have_sif_images()) {
    return;
  }
  std::string out = work / "converted.sqfs";
  auto b = run_cexec({"build", "--quiet", out, app_sif()}, env);
  BOOST_TEST_INFO(b);
  BOOST_REQUIRE_EQUAL(b.status, 0);
  auto exec = run_cexec({"exec", out, "sh", "-c", "cat /etc/image-marker; echo $SIF_VAR"}, env);
  BOOST_TEST_INFO(exec);
  BOOST_CHECK_EQUAL(exec.out, "sif image\nfrom-sif\n");
  auto run = run_cexec({"run", out, "x"}, env);
  BOOST_CHECK_EQUAL(run.out, "sif-runscript:x\n");
  auto bad = run_cexec({"build", "--quiet", work / "bad.sqfs", image("encrypted.sif")}, env);
  expect_one_line_error(bad, image("encrypted.sif"), "primary partition is encrypted", ErrorKind::image_invalid);
  BOOST_CHECK(!fs::exists(work / "bad.sqfs"));
}

BOOST_AUTO_TEST_CASE(unusable_sifs_get_one_line_errors) {
  if (!have_sif_images()) {
    return;
  }
  const std::pair<const char*, const char*> cases[] = {
      {"ext3.sif", "the SIF's primary partition is ext3, not SquashFS"},
      {"encrypted.sif", "the SIF's primary partition is encrypted"},
      {"arm64.sif", "the SIF is built for arm64, this host runs amd64"},
      {"truncated.sif", "truncated SIF (object 3 ends past the end of the file)"},
      {"short-header.sif", "truncated SIF (global header incomplete)"},
      {"corrupt.sif", "corrupt SIF global header (descriptor table)"},
  };
  for (const auto& [name, reason] : cases) {
    for (const char* verb : {"exec", "run", "inspect"}) {
      std::vector<std::string> args{verb, image(name)};
      if (std::string(verb) == "exec") {
        args.push_back("true");
      }
      expect_one_line_error(run_cexec(args, env), image(name), reason, ErrorKind::image_invalid);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_directory_named_like_a_sif_is_a_sandbox) {
  if (!have_sif_images()) {
    return;
  }
  // Apptainer too runs a directory as a sandbox whatever its name: this one holds no /bin/true.
  auto o = run_cexec({"exec", image("dir.sif"), "/bin/true"}, env);
  expect_one_line_error(o, "/bin/true", "", ErrorKind::command_not_found);
}

BOOST_AUTO_TEST_SUITE_END()
