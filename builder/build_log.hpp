// The output of the tools a build runs (debootstrap, %setup, %post, %test): kept whole in a log
// file, and shown as one progress line per phase: redrawn in place with the package and line
// counts on a terminal, a plain line otherwise. With -v the tools write to the terminal instead.
// On a failing phase the last lines and the log's path are printed.
//
// The log goes to $XDG_CACHE_HOME/cexec/build-logs/ (default ~/.cache/cexec/build-logs/, the 20
// newest kept), created when a phase first runs a tool; when that folder cannot be written, the
// log stays in memory and failures still show its last lines.
#pragma once

#include "builder/build_options.hpp"
#include "base/sys/fd.hpp"
#include "build_plan.hpp"

#include <functional>
#include <string>
#include <vector>

namespace cexec::build {

class BuildSandbox;

class BuildLog {
 public:
  BuildLog(const std::string& output, const std::vector<std::string>& host_env, Verbosity verbosity);

  // Runs `body` in `box` (BuildSandbox::run) with its standard output and error going to the log;
  // returns its status.
  int run(const BuildSandbox& box, Stage stage, const std::string& what, const std::function<void()>& body);

  // The log file's path; "" when nothing was logged or the log is in memory only.
  const std::string& path() const { return _path; }

 private:
  void open();

  std::string _output;
  std::vector<std::string> _host_env;
  Verbosity _verbosity;
  bool _opened = false;
  sys::Fd _file;
  std::string _path;
  std::string _unavailable;  // why there is no log file
};

}  // namespace cexec::build
