// The syscall layer's process part (syscalls.hpp): daemon detachment, fork and wait, running host
// programs and capturing their output.
#include "base/sys/syscalls.hpp"
#include "base/sys/retry.hpp"

#include "base/environment.hpp"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sched.h>
#include <csignal>
#include <unistd.h>

namespace cexec::sys {

int detach_from_caller(int keep, const char* name) {
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE}) {
    ::signal(sig, SIG_IGN);  // libfuse installs handlers only over SIG_DFL, so these stick
  }
  ::setsid();
  ::prctl(PR_SET_NAME, name, 0, 0, 0);
  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd = 0; fd < 3; ++fd) {
    ::dup2(devnull, fd);
  }
  if (keep != 3) {
    ::dup2(keep, 3);  // dup2 clears FD_CLOEXEC on the copy
  } else {
    ::fcntl(3, F_SETFD, 0);
  }
  ::close_range(4, ~0U, 0);
  return 3;
}

pid_t fork_process() {
  pid_t pid = ::fork();
  if (pid < 0) {
    throw_errno("fork");
  }
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  if (retry_eintr([&] { return ::waitpid(pid, &status, 0); }) < 0) {
    throw_errno("waitpid", std::to_string(pid));
  }
  return status;
}

std::vector<char*> c_string_array(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (const auto& s : strings) {
    out.push_back(const_cast<char*>(s.c_str()));
  }
  out.push_back(nullptr);
  return out;
}

[[noreturn]] void exec_program(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  std::vector<char*> cargv = c_string_array(argv);
  std::vector<char*> cenv = c_string_array(env);
  // execvpe searches the PATH of the calling process, so make it the program's own.
  for (const auto& e : env) {
    if (e.starts_with("PATH=")) {
      ::setenv("PATH", e.c_str() + 5, 1);
    }
  }
  ::execvpe(cargv[0], cargv.data(), cenv.data());
  throw_errno("execve", argv[0]);
}

int spawn_and_wait(const std::vector<std::string>& argv, const std::vector<std::string>& env, bool stdin_null) {
  pid_t pid = fork_process();
  if (pid == 0) {
    if (stdin_null) {
      int fd = ::open("/dev/null", O_RDONLY);
      if (fd >= 0) {
        ::dup2(fd, 0);
      }
    }
    try {
      exec_program(argv, env);
    } catch (const SysError& e) {
      std::fprintf(stderr, "cexec: %s\n", e.what());
    }
    ::_exit(127);
  }
  return wait_for(pid);
}

std::string find_program(const std::string& name, const std::vector<std::string>& environ) {
  std::string path(try_environ_value(environ, "PATH").value_or("/usr/local/bin:/usr/bin:/bin"));
  for (const auto& dir : split_nonempty(path, ':')) {
    std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return "";
}

std::optional<std::string> try_capture_output(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                                              size_t limit) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return std::nullopt;
  }
  Fd read_end(fds[0]);
  Fd write_end(fds[1]);
  pid_t pid = ::fork();
  if (pid < 0) {
    return std::nullopt;
  }
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDWR);
    if (::dup2(write_end.get(), 1) < 0 || null < 0 || ::dup2(null, 0) < 0 || ::dup2(null, 2) < 0) {
      ::_exit(127);
    }
    std::vector<char*> cargv = c_string_array(argv);
    std::vector<char*> cenv = c_string_array(env);
    ::execve(cargv[0], cargv.data(), cenv.data());
    ::_exit(127);
  }
  write_end.reset();
  std::string out;
  char buf[4096];
  while (out.size() < limit) {
    ssize_t n = ::read(read_end.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  read_end.reset();  // a tool still writing gets SIGPIPE instead of blocking the wait below
  int status = wait_for(pid);
  if (status != 0) {
    return std::nullopt;
  }
  return out;
}

}  // namespace cexec::sys
