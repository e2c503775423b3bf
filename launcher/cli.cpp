#include "cli.hpp"

#include "base/error.hpp"
#include "base/exit_codes.hpp"
#include "cli_fast.hpp"

#include <CLI/CLI.hpp>
#include <cexec/version.hpp>

namespace cexec {

namespace {

#ifdef CEXEC_TEST_HOOKS
constexpr const char* test_hooks_note = " (test hooks: on)";
#else
constexpr const char* test_hooks_note = "";
#endif

// `cexec --version`: the first line is what scripts (and help2man) parse, "cexec VERSION".
std::string version_text() {
  return std::string("cexec ") + version_string + test_hooks_note + "\ncommit: " + commit_string +
         "\nfeatures: " + features_string + "\n";
}

constexpr const char* exec_examples = R"(
Examples:
  cexec exec tf.img python3 train.py
  cexec tf.img python3 train.py                 (same: exec is the default verb)
  mpirun -np 64 cexec tf.img ./solver
  cexec exec -B /scratch/$USER:/data:ro --env OMP_NUM_THREADS=4 tf.img ./run.sh)";
constexpr const char* run_examples = R"(
Examples:
  cexec run tf.img --epochs 10                  (runs /.cexec/runscript with the arguments))";
constexpr const char* build_examples = R"(
Examples:
  cexec build bookworm.img examples/bookworm-python.def
  cexec build --sandbox rootfs/ bookworm.def     (a directory instead of a SquashFS file)
  cexec build app.img rootfs/                    (squash an existing root filesystem)
  cexec build app.img app-docker.tar             (a `docker save` or OCI image-layout archive)
  cexec build app.img tf.sif                     (convert an Apptainer/Singularity SIF file)
Exit status: 0; the status of a failing %setup, %post or %test; or one of cexec's codes (cexec --help).)";
constexpr const char* pull_help = R"(
Usage: cexec pull [OPTIONS] OUT REF

Examples:
  cexec pull ubuntu.img docker://ubuntu:22.04
  cexec pull app.img docker://registry.example.org:5000/team/app:v2
  cexec pull app.img docker://127.0.0.1:5000/app@sha256:<64 hex digits>
Credentials: $REGISTRY_AUTH_FILE, else $DOCKER_CONFIG/config.json, else ~/.docker/config.json.
Exit status: 66 unknown repository or tag, 65 digest mismatch, 76 unauthorized or registry unreachable.)";
constexpr const char* inspect_examples = R"(
Examples:
  cexec inspect tf.img
  cexec inspect --json tf.img | jq .labels
  cexec inspect tf.sif                           (a SIF: its definition file and labels))";
constexpr const char* plan_examples = R"(
Examples:
  cexec plan --ranks 8                                  (this node, 8 ranks)
  cexec plan --topology dgx-a100.xml --ranks 8 --json   (another node type, from lstopo --of xml)
  CUDA_VISIBLE_DEVICES=2,3 cexec plan --ranks 4 --cpus 0-31)";
constexpr const char* shell_examples = R"(
Examples:
  cexec shell tf.img
  cexec shell --contain --writable-tmpfs tf.img)";

void add_common_options(CLI::App* app, LaunchOptions& o) {
  app->add_option("-B,--bind", o.binds, "Bind SRC[:DST[:ro|rw]] into the container (repeatable, comma lists allowed)")
      ->type_name("SPEC")
      ->allow_extra_args(false);
  app->add_flag("--writable-tmpfs", o.writable_tmpfs, "Writable tmpfs overlay over the read-only image (changes are discarded)");
  app->add_flag("-w,--writable", o.writable, "Mount a directory image read-write");
  app->add_option("--env", o.env, "Set NAME=VALUE inside the container (repeatable)")->type_name("NAME=VALUE")->allow_extra_args(false);
  app->add_option("--env-file", o.env_files, "Read NAME=VALUE lines from FILE (repeatable)")->type_name("FILE")->allow_extra_args(false);
  app->add_flag("--cleanenv", o.cleanenv, "Start from a minimal environment instead of the host's");
  app->add_option("--pwd", o.pwd, "Working directory inside the container")->type_name("DIR");
  app->add_flag("--no-home", o.no_home, "Do not bind the home directory");
  app->add_flag("--contain", o.contain, "No home or cwd binds; private /tmp and /var/tmp");
  app->add_option("--instance", o.instance, "Share the node instance named NAME (default: the job's identity)")->type_name("NAME");
  app->add_flag("--no-share", o.no_share, "A private container for this process instead of the job's node instance");
  app->add_option("--gpu", o.gpu, "Inject the host's GPU driver stack: auto (when the host has GPUs), nvidia, rocm or none")
      ->type_name("MODE");
  app->add_flag_callback("--nv", [&o] { o.gpu = "nvidia"; }, "Same as --gpu=nvidia");
  app->add_flag_callback("--rocm", [&o] { o.gpu = "rocm"; }, "Same as --gpu=rocm");
  app->add_option("--topology", o.topology, "Place ranks with this hwloc XML topology instead of the host's (also CEXEC_TOPOLOGY)")->type_name("FILE");
  app->add_option("--cpu-bind", o.cpu_bind, "CPU binding: auto (cores when ranks share the node), none, cores, numa, package")->type_name("MODE");
  app->add_option("--gpu-bind", o.gpu_bind, "GPU visibility: auto (closest when ranks share the node), closest, none")->type_name("MODE");
  app->add_option("--gpus-per-rank", o.gpus_per_rank, "GPUs per rank (0: CPU-only placement)")->type_name("K");
  app->add_option("--mpi", o.mpi, "MPI bridge: auto (default: inject the host's MPI under a launcher when compatible), host (inject or fail), image, off")
      ->type_name("POLICY");
  app->add_flag("--no-framework-env", o.no_framework_env,
                "Do not export RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT");
  app->add_flag_callback("-v,--verbose", [&o] { o.verbosity = Verbosity::verbose; }, "Log the plan and each setup step with its duration");
  app->add_flag_callback("--debug", [&o] { o.verbosity = Verbosity::debug; }, "Like --verbose, plus debugging detail");
  app->add_flag_callback("-q,--quiet", [&o] { o.verbosity = Verbosity::quiet; }, "Print only errors");
}

void add_build_options(CLI::App* app, BuildOptions& b) {
  app->add_option("output", b.output, "The image to write (a SquashFS file, or a directory with --sandbox)")
      ->required()
      ->type_name("OUT");
  app->add_option("spec", b.spec, "A definition file, a root filesystem directory, a SquashFS image, or a docker/OCI archive")
      ->required()
      ->type_name("SPEC");
  app->add_flag("--sandbox", b.sandbox, "Write a directory (sandbox) instead of a SquashFS file");
  app->add_flag("-F,--force", b.force, "Replace OUT if it exists");
  app->add_flag("-T,--notest", b.notest, "Do not run the %test section");
  app->add_flag("--keep-failed", b.keep_failed, "Keep the partial root of a failed build and print its path");
  app->add_option("--compression", b.compression, "SquashFS compressor: zstd (default), gzip, xz, lz4, lzo")->type_name("NAME");
  app->add_flag_callback("-v,--verbose", [&b] { b.verbosity = Verbosity::verbose; }, "Print the build plan");
  app->add_flag_callback("-q,--quiet", [&b] { b.verbosity = Verbosity::quiet; }, "Print only errors (and the digest)");
}

// `cexec pull OUT.img docker://...`: a build whose SPEC is a registry image, nothing else.
CLI::App* add_pull_command(CLI::App& app, BuildOptions& p) {
  auto* pull = app.add_subcommand("pull", "Pull an image from an OCI registry into a SquashFS file (layers cached by digest)");
  pull->footer(pull_help);
  pull->add_option("output", p.output, "The image to write (a SquashFS file)")->required()->type_name("OUT");
  pull->add_option("spec", p.spec, "docker://[HOST[:PORT]/]REPO[:TAG|@sha256:DIGEST]")->required()->type_name("REF");
  pull->add_flag("-F,--force", p.force, "Replace OUT if it exists");
  pull->add_flag_callback("-v,--verbose", [&p] { p.verbosity = Verbosity::verbose; }, "Print the plan and a line per blob (downloaded or cached)");
  pull->add_flag_callback("-q,--quiet", [&p] { p.verbosity = Verbosity::quiet; }, "Print only errors (and the digest)");
  return pull;
}

CLI::App* add_cache_command(CLI::App& app, CacheOptions& c) {
  auto* cache = app.add_subcommand("cache", "The registry layer cache: list its images and blobs, or clean it");
  cache->footer("\nUsage: cexec cache list|clean\n\nThe cache is $CEXEC_CACHE_DIR, else $XDG_CACHE_HOME/cexec, else ~/.cache/cexec.\n");
  cache->require_subcommand(1);
  cache->add_subcommand("list", "Blobs with their sizes, and the images that use them");
  cache->add_subcommand("clean", "Remove every blob and image record from your cache")->callback([&c] { c.clean = true; });
  return cache;
}

std::string exit_code_help() {
  std::string text = "\nExit status: the command's own status (a shell shows 128+N when it is killed by signal N), or:\n";
  for (const auto& e : exit_code_table()) {
    text += "  " + std::to_string(e.code) + "  " + e.meaning + "\n";
  }
  return text;
}

// With prefix_command(), CLI11 would take an unknown option before IMAGE as the start of the
// command; find it first so it is reported as what it is.
std::string first_unknown_option(CLI::App* sub, const std::vector<std::string>& args) {
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--" || a.size() < 2 || a[0] != '-') {
      return "";
    }
    bool is_long = a.starts_with("--");
    std::string name = is_long ? a.substr(0, a.find('=')) : a.substr(0, 2);
    if (name == "-h" || name == "--help") {
      return "";
    }
    const CLI::Option* opt = sub->get_option_no_throw(name);
    if (opt == nullptr) {
      return a;
    }
    bool value_attached = is_long ? a.find('=') != std::string::npos : a.size() > 2;
    if (opt->get_expected_max() != 0 && !value_attached) {  // flags expect no value
      ++i;  // skip the option's value
    }
  }
  return "";
}

}  // namespace

CliOutcome parse_command_line(const std::vector<std::string>& args) {
  if (auto plain = try_plain_exec(args)) {
    return std::move(*plain);
  }
  return parse_with_cli11(args);
}

CliOutcome parse_with_cli11(const std::vector<std::string>& args_in) {
  std::vector<std::string> args = args_in;
  // The verb-less form: the first argument is neither a verb nor a top-level flag.
  if (!args.empty() && !is_verb(args[0]) && args[0] != "--help" && args[0] != "-h" && args[0] != "--version") {
    args.insert(args.begin(), "exec");
  }

  LaunchOptions o;
  CLI::App app{"cexec: run programs inside container images on HPC clusters, unprivileged.", "cexec"};
  app.set_version_flag("--version", version_text());
  app.require_subcommand(1);
  app.footer("Run `cexec VERB --help` for a verb's options." + exit_code_help());

  auto* exec = app.add_subcommand("exec", "Run COMMAND inside IMAGE");
  exec->footer(std::string("\nUsage: cexec exec [OPTIONS] IMAGE COMMAND [ARGS...]\n       cexec [OPTIONS] IMAGE COMMAND [ARGS...]\n") + exec_examples);
  auto* run = app.add_subcommand("run", "Run the image's runscript with ARGS");
  run->footer(std::string("\nUsage: cexec run [OPTIONS] IMAGE [ARGS...]\n") + run_examples);
  auto* shell = app.add_subcommand("shell", "Start an interactive shell inside IMAGE");
  shell->footer(std::string("\nUsage: cexec shell [OPTIONS] IMAGE\n") + shell_examples);

  BuildOptions b;
  InspectOptions inspect_options;
  auto* build = app.add_subcommand("build", "Build an image from a definition file, a directory, an image or an archive");
  build->footer(std::string("\nUsage: cexec build [OPTIONS] OUT SPEC\n") + build_examples);
  add_build_options(build, b);
  BuildOptions pull_options;
  auto* pull = add_pull_command(app, pull_options);
  CacheOptions cache_options;
  auto* cache = add_cache_command(app, cache_options);
  auto* inspect = app.add_subcommand("inspect", "Show an image's labels, environment, runscript, help, definition, size and digest");
  inspect->footer(std::string("\nUsage: cexec inspect [--json] IMAGE\n") + inspect_examples);
  inspect->add_flag("--json", inspect_options.json, "Print JSON");
  inspect->add_option("image", inspect_options.image, "A SquashFS image file, a SIF file or a directory")->required()->type_name("IMAGE");
  auto* run_help = app.add_subcommand("run-help", "Print the image's help (%help of its definition file)");
  run_help->footer("\nUsage: cexec run-help IMAGE\n");
  run_help->add_option("image", inspect_options.image, "A SquashFS image file, a SIF file or a directory")->required()->type_name("IMAGE");

  CheckOptions check_options;
  auto* check = app.add_subcommand("check", "Is this host ready for cexec? One line per item with what an admin must change (--gpu: the GPU driver stack)");
  check->footer("\nUsage: cexec check [--json]\n       cexec check --gpu [IMAGE]\n\nExit status: 0 ready, 69 an item failed (--gpu: 0).\n\nExamples:\n  cexec check\n  cexec check --gpu\n  cexec check --gpu tf.img     (also the image's CUDA version and the verdict)\n");
  check->add_flag("--gpu", check_options.gpu, "The host's GPU driver files, devices and versions, and what would be injected where");
  check->add_flag("--json", check_options.json, "Print the host check as JSON");
  check->add_option("image", check_options.image, "An image whose CUDA runtime version to check against the driver")->type_name("IMAGE");
  PlanOptions plan_options;
  auto* plan = app.add_subcommand("plan", "Print each node-local rank's CPUs, NUMA node, GPU and NIC without launching");
  plan->footer(std::string("\nUsage: cexec plan [--topology FILE] [--ranks N] [--json]\n") + plan_examples);
  plan->add_option("--topology", plan_options.topology, "An hwloc XML topology (default: CEXEC_TOPOLOGY, else this host)")->type_name("FILE");
  plan->add_option("--ranks", plan_options.ranks, "Node-local ranks (default: the launcher's local size, else 1)")->type_name("N");
  plan->add_flag("--json", plan_options.json, "Print JSON");
  plan->add_option("--cpus", plan_options.cpus, "Plan within this CPU list (default: own mask on the host, all of a file)")->type_name("LIST");
  plan->add_option("--cpu-bind", plan_options.cpu_bind, "auto, none, cores, numa, package")->type_name("MODE");
  plan->add_option("--gpu-bind", plan_options.gpu_bind, "auto, closest, none")->type_name("MODE");
  plan->add_option("--gpus-per-rank", plan_options.gpus_per_rank, "GPUs per rank (0: CPU-only)")->type_name("K");
  plan->add_flag("--no-io", plan_options.no_io, "Skip I/O discovery (no GPUs or NICs)");
  plan->add_flag("--machine", plan_options.machine, "Print the topology as cexec models it (the text ranks parse) instead");
  MpiCheckOptions mpi_check_options;
  auto* mpi = app.add_subcommand("mpi", "MPI bridge tools");
  mpi->require_subcommand(1);
  auto* mpi_check = mpi->add_subcommand("check", "Preflight: can the host's MPI be injected into IMAGE? (exit 0 yes, 79 no)");
  mpi_check->footer("\nUsage: cexec mpi check [--json] [--mpi host|auto] IMAGE\n\nExamples:\n  cexec mpi check app.img\n  cexec mpi check --json app.img | jq .verdicts\n");
  mpi_check->add_flag("--json", mpi_check_options.json, "Print JSON");
  mpi_check->add_option("--mpi", mpi_check_options.mpi, "The policy to judge (default host: what --mpi=host would do)")->type_name("POLICY");
  mpi_check->add_option("image", mpi_check_options.image, "A SquashFS image file, a SIF file or a directory")->required()->type_name("IMAGE");

  for (auto* sub : {exec, run, shell}) {
    add_common_options(sub, o);
    sub->add_option("image", o.image, "A SquashFS image file, a SIF file or a directory (sandbox)")->required()->type_name("IMAGE");
  }
  // Everything after IMAGE (and its first word) belongs to the command, options included.
  exec->prefix_command();
  run->prefix_command();

  auto usage_error = [&](const std::string& what) -> CliOutcome {
    return CliText{exit_code_for(ErrorKind::usage), "cexec: " + what + " (see cexec --help)\n", true};
  };
  if (args.empty()) {
    return usage_error("missing verb or IMAGE: cexec [exec|run|shell] [OPTIONS] IMAGE [COMMAND...], or cexec build|inspect|run-help");
  }
  if (CLI::App* sub = args[0] == "exec" ? exec : args[0] == "run" ? run : args[0] == "shell" ? shell : nullptr) {
    if (auto unknown = first_unknown_option(sub, args); !unknown.empty()) {
      return usage_error("unknown option `" + unknown + "`");
    }
  }
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    // CLI11 shows the selected (sub)subcommand's help, its usage line naming the whole path
    // ("cexec mpi check"), which the man pages (help2man) take as the synopsis.
    return CliText{0, app.help(), false};
  } catch (const CLI::CallForVersion&) {
    return CliText{0, version_text(), false};
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    if (what.find("image is required") != std::string::npos) {
      what = "missing IMAGE";
    } else if (what.find("output is required") != std::string::npos) {
      what = "missing OUT and SPEC: cexec build [OPTIONS] OUT SPEC";
    } else if (what.find("spec is required") != std::string::npos) {
      what = "missing SPEC: cexec build [OPTIONS] OUT SPEC";
    }
    return usage_error(what);
  }
  if (build->parsed()) {
    return b;
  }
  if (pull->parsed()) {
    if (!pull_options.spec.starts_with("docker://")) {
      return usage_error("pull: `" + pull_options.spec + "` is not a registry image: docker://[HOST[:PORT]/]REPO[:TAG|@sha256:DIGEST]");
    }
    return pull_options;
  }
  if (cache->parsed()) {
    return cache_options;
  }
  if (check->parsed()) {
    if (!check_options.gpu && !check_options.image.empty()) {
      return usage_error("check: IMAGE `" + check_options.image + "` is only taken with --gpu: cexec check --gpu [IMAGE]");
    }
    if (check_options.gpu && check_options.json) {
      return usage_error("check: --json is for the host check, not --gpu");
    }
    return check_options;
  }
  if (plan->parsed()) {
    return plan_options;
  }
  if (mpi_check->parsed()) {
    return mpi_check_options;
  }
  if (inspect->parsed() || run_help->parsed()) {
    inspect_options.help_only = run_help->parsed();
    return inspect_options;
  }
  if (exec->parsed()) {
    o.verb = Verb::exec;
    o.command = exec->remaining();
  } else if (run->parsed()) {
    o.verb = Verb::run;
    o.command = run->remaining();
  } else {
    o.verb = Verb::shell;
    if (!shell->remaining().empty()) {
      return CliText{exit_code_for(ErrorKind::usage), "cexec: shell takes no arguments after IMAGE (see cexec shell --help)\n", true};
    }
  }
  return o;
}

}  // namespace cexec
