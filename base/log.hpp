// Step logging for -v/--debug: each named setup step with its duration, to stderr, one line each.
#pragma once

#include "base/test_hooks.hpp"

#include <chrono>
#include <cstdio>
#include <string>
#include <unistd.h>

namespace cexec {

enum class Verbosity { quiet, normal, verbose, debug };

class Log {
 public:
  explicit Log(Verbosity v) : _v(v), _start(std::chrono::steady_clock::now()) {}
  bool verbose() const { return _v == Verbosity::verbose || _v == Verbosity::debug; }
  bool quiet() const { return _v == Verbosity::quiet; }
  bool debugging() const { return _v == Verbosity::debug; }

  void debug(const std::string& msg) const {
    if (debugging()) {
      std::fprintf(stderr, "cexec[%d]: debug: %s\n", static_cast<int>(::getpid()), msg.c_str());
    }
  }

  void info(const std::string& msg) const {
    if (verbose()) {
      std::fprintf(stderr, "cexec[%d]: %s\n", static_cast<int>(::getpid()), msg.c_str());
    }
  }

  // Runs f() and logs "step NAME: X.XXX ms" when verbose.
  template <typename F>
  decltype(auto) step(const char* name, F&& f) {
    test_hooks::reached(name);
    if (!verbose()) {
      return f();
    }
    auto t0 = std::chrono::steady_clock::now();
    struct Report {
      const Log& log;
      const char* name;
      std::chrono::steady_clock::time_point t0;
      ~Report() {
        auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        std::fprintf(stderr, "cexec[%d]: step %s: %.3f ms\n", static_cast<int>(::getpid()), name, ms);
      }
    } report{*this, name, t0};
    return f();
  }

  double elapsed_ms() const {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - _start).count();
  }

 private:
  Verbosity _v;
  std::chrono::steady_clock::time_point _start;
};

}  // namespace cexec
