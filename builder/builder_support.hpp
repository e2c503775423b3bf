// The builder's small helpers (builder.cpp): interrupt handling, paths, the tools' environments,
// section argv, digests. Internal to builder/.
#pragma once

#include "build_plan.hpp"
#include "definition.hpp"

#include "base/error.hpp"

#include <csignal>
#include <string>
#include <vector>

namespace cexec::build {

extern volatile std::sig_atomic_t interrupted_by;

// SIGINT, SIGTERM and SIGHUP during a build: the stage running finishes (a terminal's Ctrl-C
// reaches the stage's processes too, which then fail), and the build stops after it with its work
// folder removed, instead of dying with the folder left behind.

class InterruptGuard {
 public:
  InterruptGuard() {
    struct sigaction sa {};
    sa.sa_handler = [](int sig) { interrupted_by = sig; };
    for (int sig : signals) {
      ::sigaction(sig, &sa, nullptr);
    }
  }
  ~InterruptGuard() {
    for (int sig : signals) {
      ::signal(sig, SIG_DFL);
    }
  }
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
  void throw_if_interrupted() const {
    if (interrupted_by != 0) {
      throw Error(ErrorKind::setup_failed, std::string("build interrupted by signal ") + std::to_string(interrupted_by));
    }
  }

 private:
  static constexpr int signals[] = {SIGINT, SIGTERM, SIGHUP};
};

std::string parent_of(const std::string& path);

std::string base_of(const std::string& path);

bool is_tty(int fd);

// The host environment for build tools, with the sbin folders on PATH: an ordinary user's PATH
// often lacks them, and debootstrap, chroot and mksquashfs live there.
std::vector<std::string> tool_environment(const std::vector<std::string>& host_env);

// The environment of %post: a root shell's, plus the host's proxy settings so downloads work
// where the host's do.
std::vector<std::string> post_environment(const std::vector<std::string>& host_env);

std::vector<std::string> script_argv(const Script& s);

std::string definition_line(const BuildPlan& plan, int line);

}  // namespace cexec::build
