// What `cexec build` and `cexec inspect` are asked to do, as parsed from the command line (cli.cpp
// fills them; the builder reads nothing else).
#pragma once

#include "base/log.hpp"

#include <string>

namespace cexec {

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
