// What the user asked for, as parsed from the command line; nothing validated or defaulted yet.
// CLI11 fills this in cli.cpp and appears nowhere else.
#pragma once

#include <string>
#include <vector>

namespace cexec {

enum class Verb { exec, run, shell };
enum class Verbosity { quiet, normal, verbose, debug };

struct LaunchOptions {
  Verb verb = Verb::exec;
  std::string image;
  std::vector<std::string> command;  // exec: COMMAND ARGS...; run: ARGS...; shell: empty
  std::vector<std::string> binds;    // raw -B values, each maybe a comma-separated list
  std::vector<std::string> env;      // raw --env KEY=VAL values
  std::vector<std::string> env_files;
  std::string pwd;
  bool writable_tmpfs = false;
  bool writable = false;
  bool cleanenv = false;
  bool no_home = false;
  bool contain = false;
  bool no_share = false;     // a private container instead of the node instance
  std::string instance;      // --instance NAME: explicit job identity for the node instance
  Verbosity verbosity = Verbosity::normal;
  bool no_framework_env = false;  // no RANK, WORLD_SIZE, MASTER_ADDR... defaults (docs/framework-env.md)
};

// `cexec build [options] OUT SPEC`.
struct BuildOptions {
  std::string output;
  std::string spec;               // definition file, directory, SquashFS image or docker/OCI archive
  bool sandbox = false;           // write a directory instead of a SquashFS file
  bool force = false;             // replace an existing OUT
  bool notest = false;            // skip %test
  bool keep_failed = false;       // keep the partial root of a failed build
  std::string compression = "zstd";
  Verbosity verbosity = Verbosity::normal;
};

// `cexec inspect IMAGE [--json]` and `cexec run-help IMAGE`.
struct InspectOptions {
  std::string image;
  bool json = false;
  bool help_only = false;  // run-help
};

}  // namespace cexec
