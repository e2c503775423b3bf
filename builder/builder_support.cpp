#include "builder_support.hpp"

#include "builder.hpp"

#include "base/environment.hpp"
#include "base/sha256.hpp"
#include "base/sys/syscalls.hpp"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

namespace cexec::build {

volatile std::sig_atomic_t interrupted_by = 0;


std::string parent_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

std::string base_of(const std::string& path) {
  return path.substr(path.rfind('/') + 1);
}

bool is_tty(int fd) {
  return ::isatty(fd) == 1;
}


// The host environment for build tools, with the sbin folders on PATH: an ordinary user's PATH
// often lacks them, and debootstrap, chroot and mksquashfs live there.
std::vector<std::string> tool_environment(const std::vector<std::string>& host_env) {
  std::vector<std::string> env;
  for (const auto& e : host_env) {
    if (!e.starts_with("PATH=")) {
      env.push_back(e);
    }
  }
  std::string path = environ_value(host_env, "PATH");
  env.push_back("PATH=" + (path.empty() ? std::string() : path + ":") + default_path);
  return env;
}

// The environment of %post: a root shell's, plus the host's proxy settings so downloads work
// where the host's do.
std::vector<std::string> post_environment(const std::vector<std::string>& host_env) {
  std::vector<std::string> env{std::string("PATH=") + default_path, "HOME=/root", "USER=root", "LOGNAME=root", "LANG=C"};
  for (const char* name : {"TERM", "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"}) {
    if (std::string v = environ_value(host_env, name); !v.empty()) {
      env.push_back(std::string(name) + "=" + v);
    }
  }
  return env;
}

std::vector<std::string> script_argv(const Script& s) {
  // /bin/sh -e: stop at the first failing command, as Apptainer runs its scriptlets.
  if (s.interpreter == "/bin/sh" || s.interpreter.ends_with("/bash")) {
    return {s.interpreter, "-e", "-c", s.body};
  }
  return {s.interpreter, "-c", s.body};
}

std::string definition_line(const BuildPlan& plan, int line) {
  return plan.definition.origin + ":" + std::to_string(line);
}

std::string file_digest(const std::string& path) {
  sys::Fd fd = sys::open_path(path, O_RDONLY);
  Sha256 h;
  std::string buf(1 << 20, '\0');
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      sys::throw_errno("read", path);
    }
    if (n == 0) {
      break;
    }
    h.update(std::string_view(buf.data(), static_cast<size_t>(n)));
  }
  return h.hex_digest();
}

}  // namespace cexec::build
