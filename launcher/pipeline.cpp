#include "pipeline.hpp"

#include "build/build_command.hpp"
#include "build/inspect.hpp"
#include "build/registry_source.hpp"
#include "cli.hpp"
#include "container.hpp"
#include "gpu_check.hpp"
#include "host_check.hpp"
#include "framework_env.hpp"
#include "host_facts.hpp"
#include "instance.hpp"
#include "instance_additions.hpp"
#include "launch_context.hpp"
#include "squashfs_server.hpp"
#include "log.hpp"
#include "mpi_check.hpp"
#include "plan.hpp"
#include "rendezvous.hpp"
#include "sys/syscalls.hpp"
#include "test_hooks.hpp"
#include "topology_command.hpp"

#include <cerrno>
#include <cstdio>
#include <optional>
#include <fcntl.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cexec {

namespace {

// The image's environment, read inside the new root.
EnvList read_image_environment() {
  auto text = sys::try_read_file(std::string("/") + metadata_environment, 1 << 20);
  if (!text) {
    return {};
  }
  return value_or_throw(parse_env_text(*text, std::string("/") + metadata_environment));
}

// What the node instance published for every rank (instance_additions.hpp): absent files mean
// the instance added nothing.
std::vector<EnvOp> read_instance_environment() {
  auto text = sys::try_read_file(instance_environment_file, 1 << 20);
  if (!text) {
    return {};
  }
  return value_or_throw(parse_env_ops(*text, instance_environment_file));
}

// Warnings are printed by one rank per job (rank 0, or every rank when no launcher says which it
// is); -v prints every notice on every rank.
void print_instance_notices(const LaunchContext& context, const Log& log) {
  auto text = sys::try_read_file(instance_notices_file, 1 << 20);
  if (!text) {
    return;
  }
  bool first_rank = !context.rank || *context.rank == 0;
  // The notices describe the node instance, planned once per node: -v shows them once per node
  // (local rank 0, or every rank when no launcher says), not once per rank.
  bool first_on_node = !context.local_rank || *context.local_rank == 0;
  size_t start = 0;
  while (start < text->size()) {
    size_t nl = text->find('\n', start);
    std::string line = text->substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    start = nl == std::string::npos ? text->size() : nl + 1;
    if (log.verbose()) {
      if (first_on_node || line.starts_with("warn: ")) {
        log.info(line);
      }
    } else if (first_rank && !log.quiet() && line.starts_with("warn: ")) {
      std::fprintf(stderr, "cexec: warning: %s\n", line.substr(6).c_str());
    }
  }
}

bool is_directory(const std::string& path) {
  auto st = sys::try_stat(path);
  return st && S_ISDIR(st->st_mode);
}

// --pwd, else the caller's cwd when it exists inside, else $HOME, else "/".
void enter_working_directory(const LaunchPlan& plan, const EnvList& env) {
  if (!plan.pwd.empty()) {
    if (::chdir(plan.pwd.c_str()) != 0) {
      throw Error(ErrorKind::usage, "--pwd `" + plan.pwd + "`: " + std::error_code(errno, std::generic_category()).message() +
                                        " inside the container");
    }
    return;
  }
  for (const std::string& dir : {plan.host_cwd, std::string(env_lookup(env, "HOME")), std::string("/")}) {
    if (!dir.empty() && is_directory(dir) && ::chdir(dir.c_str()) == 0) {
      return;
    }
  }
}

// The argv to exec: the command, the runscript with its arguments, or a shell.
std::vector<std::string> payload_argv(const LaunchPlan& plan) {
  switch (plan.verb) {
    case Verb::exec:
      return plan.command;
    case Verb::run: {
      std::string runscript = std::string("/") + metadata_runscript;
      if (!sys::try_stat(runscript)) {
        throw Error(ErrorKind::command_not_found, "image `" + plan.image + "` has no runscript (" + runscript + ")");
      }
      std::vector<std::string> argv{runscript};
      argv.insert(argv.end(), plan.command.begin(), plan.command.end());
      return argv;
    }
    case Verb::shell:
      return {sys::try_stat("/bin/bash") ? "/bin/bash" : "/bin/sh"};
  }
  return {};
}

// Finds argv[0] inside the container the way execvp would, but reports failures as cexec errors.
std::string resolve_command(const std::string& name, const EnvList& env, const std::string& image) {
  auto check = [&](const std::string& path) -> int {
    auto st = sys::try_stat(path);
    if (!st) {
      return ENOENT;
    }
    if (S_ISDIR(st->st_mode) || ::access(path.c_str(), X_OK) != 0) {
      return EACCES;
    }
    return 0;
  };
  if (name.empty()) {
    throw Error(ErrorKind::usage, "empty command name");
  }
  if (name.find('/') != std::string::npos) {
    int err = check(name);
    if (err == ENOENT) {
      throw Error(ErrorKind::command_not_found, "command `" + name + "` not found in image `" + image + "`");
    }
    if (err != 0) {
      throw Error(ErrorKind::command_not_found, "command `" + name + "` is not executable in image `" + image + "`");
    }
    return name;
  }
  std::string_view path = env_lookup(env, "PATH", default_path);
  bool seen_not_executable = false;
  size_t start = 0;
  while (start <= path.size()) {
    size_t colon = path.find(':', start);
    std::string dir(path.substr(start, colon == std::string_view::npos ? std::string_view::npos : colon - start));
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    int err = check(candidate);
    if (err == 0) {
      return candidate;
    }
    seen_not_executable |= err == EACCES;
    if (colon == std::string_view::npos) {
      break;
    }
    start = colon + 1;
  }
  throw Error(ErrorKind::command_not_found,
              "command `" + name + "` " + (seen_not_executable ? "is not executable" : "not found") + " in image `" + image +
                  "` (PATH=" + std::string(path) + ")");
}

// Drops every capability (the user namespace grants a full set until exec, and a root caller's
// exec would keep it): ambient, bounding, then effective/permitted/inheritable; no_new_privs last,
// so no setuid file can ever raise privilege again (style rule 16).
void drop_privileges() {
  // One prctl clears the whole ambient set (libcap's cap_reset_ambient probes each capability).
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) {
    sys::throw_errno("prctl(PR_CAP_AMBIENT_CLEAR_ALL)");
  }
  for (cap_value_t c = 0; c <= CAP_LAST_CAP || cap_valid(c); ++c) {
    if (cap_drop_bound(c) != 0 && errno != EINVAL) {
      sys::throw_errno("cap_drop_bound", std::to_string(c));
    }
  }
  cap_t none = cap_init();
  int rc = cap_set_proc(none);
  cap_free(none);
  if (rc != 0) {
    sys::throw_errno("cap_set_proc");
  }
  sys::set_no_new_privs();
}

[[noreturn]] void exec_payload(const std::string& path, const std::vector<std::string>& argv, const EnvList& env) {
  std::vector<std::string> envs = to_environ(env);
  std::vector<char*> cargv = sys::c_string_array(argv);
  std::vector<char*> cenv = sys::c_string_array(envs);
  ::execve(path.c_str(), cargv.data(), cenv.data());
  int err = errno;
  throw Error(ErrorKind::command_not_found,
              "cannot execute `" + path + "`: " + std::error_code(err, std::generic_category()).message());
}

// Joins (or creates) the job's node instance; false when another user holds its name, after a
// warning: the caller then runs a private container.
bool join_shared_instance(const LaunchPlan& plan, const HostFacts& facts, const LaunchContext& context,
                        const std::string& secret, Log& log) {
  InstanceKey key = make_instance_key(facts.hostname, context, facts.image_identity, plan, secret);
  log.info("node share " + context.node_share + " (from " + context.node_share_source + "), job " +
           context.job.value_or("unknown across nodes") +
           (context.job ? " (from " + context.job_source + ")" : "") + ", launcher " + context.launcher +
           ", rank " + (context.rank ? std::to_string(*context.rank) : "?") + ", local rank " +
           (context.local_rank ? std::to_string(*context.local_rank) : "?") + " of " +
           (context.local_size ? std::to_string(*context.local_size) : "?"));
  JoinOutcome joined = join_node_instance(plan, key, log);
  if (!joined.joined) {
    std::fprintf(stderr, "cexec: warning: %s; running a private container\n", joined.refused.c_str());
  }
  return joined.joined;
}

}  // namespace

int launch(const std::vector<std::string>& args, char** environ) {
  refuse_privileged_install();
  CliOutcome cli = parse_command_line(args);
  if (cli.build) {
    return build::run_build_command(*cli.build, environ);
  }
  if (cli.inspect) {
    return build::run_inspect(*cli.inspect);
  }
  if (cli.cache) {
    return build::run_cache_command(*cli.cache, environ);
  }
  if (cli.check) {
    return cli.check->gpu ? run_gpu_check(*cli.check, environ) : run_host_check(*cli.check, environ);
  }
  if (cli.plan) {
    std::vector<std::string> env;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      env.emplace_back(*e);
    }
    return run_plan_command(*cli.plan, env);
  }
  if (cli.mpi_check) {
    return run_mpi_check(*cli.mpi_check, environ);
  }
  if (!cli.options) {
    std::fputs(cli.text.c_str(), cli.to_stderr ? stderr : stdout);
    return cli.exit_code;
  }
  const LaunchOptions& options = *cli.options;
  Log log(options.verbosity);

  HostFacts facts = log.step("host-facts", [&] { return gather_host_facts(options, environ); });
  LaunchPlan plan = value_or_throw(resolve(options, facts));
  if (log.verbose()) {
    std::fputs(describe(plan).c_str(), stderr);
  }

  LaunchContext context = read_launch_context(facts.environ, ::getppid(), options.instance);
  if (!plan.topology_file.empty() && ::access(plan.topology_file.c_str(), R_OK) != 0) {
    throw Error(ErrorKind::input_missing, "topology file `" + plan.topology_file + "`: " +
                                              std::error_code(errno, std::generic_category()).message());
  }
  bool in_instance = false;
  if (plan.share) {
    std::string why;
    auto secret = log.step("rendezvous-secret", [&] { return load_rendezvous_secret(facts.environ, why); });
    in_instance = secret && join_shared_instance(plan, facts, context, secret->value, log);
    if (!secret && (!context.local_rank || *context.local_rank == 0)) {
      std::fprintf(stderr, "cexec: warning: no private place for the node instance's rendezvous secret (%s); running a private container\n",
                   why.c_str());
    }
  }
  if (!in_instance) {
    std::optional<SquashfsServer> server;
    if (plan.image_kind == ImageKind::squashfs) {
      // Started first, so the server reads the superblock and tables while this process works.
      server = log.step("start-squashfs-server", [&] { return SquashfsServer::start(plan.image); });
    }
    enter_container(plan, log, server ? &*server : nullptr);
  }

  // Per-rank steps: everything below runs in the container and is all a joining rank would pay.
  EnvInputs env_inputs = plan.env;
  env_inputs.image = log.step("image-environment", [] { return read_image_environment(); });
  env_inputs.injected = log.step("instance-environment", [] { return read_instance_environment(); });
  print_instance_notices(context, log);
  RankPlacementOutcome placement = log.step("placement", [&] {
    auto text = sys::try_read_file(std::string(instance_host_dir) + "/" + topology_file_name, 16 << 20);
    return text ? place_this_rank(plan, *text, context) : RankPlacementOutcome{};
  });
  for (const auto& line : placement.lines) {
    log.info(line);
  }
  env_inputs.rank = std::move(placement.env);
  if (plan.framework_env) {
    FrameworkEnv framework = plan_framework_env(context, facts.environ);
    if (!framework.ops.empty()) {
      log.info(describe(framework));
    }
    env_inputs.rank.insert(env_inputs.rank.end(), framework.ops.begin(), framework.ops.end());
  }
  EnvList env = value_or_throw(assemble_environment(env_inputs));
  if (plan.verb == Verb::shell && env_lookup(env, "PS1").empty()) {
    env.emplace_back("PS1", "cexec> ");
  }
  log.step("working-directory", [&] { enter_working_directory(plan, env); });
  std::vector<std::string> argv = payload_argv(plan);
  std::string path = resolve_command(argv[0], env, plan.image);
  if (log.debugging()) {
    std::string line = "argv:";
    for (const auto& a : argv) {
      line += " [" + a + "]";
    }
    log.debug(line);
    for (const auto& [k, v] : env) {
      log.debug("env " + k + "=" + v);
    }
  }
  log.step("drop-privileges", [] { drop_privileges(); });
  log.info("exec " + path + " after " + std::to_string(log.elapsed_ms()) + " ms");
  std::fflush(stderr);
  test_hooks::reached("exec");
  exec_payload(path, argv, env);
}

}  // namespace cexec
