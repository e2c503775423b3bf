// Child processes, the one way cexec forks: an owning handle that kills and reaps what it still owns,
// and the one protocol by which a child reports a failure to its parent.
#pragma once

#include "base/error.hpp"
#include "base/sys/fd.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace cexec::sys {

// A forked child. Destroyed (or reassigned) while it is still unreaped, it is sent SIGKILL and
// reaped, so no error path between fork and wait leaves a process behind.
class Child {
 public:
  Child() = default;
  explicit Child(pid_t pid) : _pid(pid) {}
  Child(Child&& other) noexcept : _pid(other._pid) { other._pid = -1; }
  Child& operator=(Child&& other) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() { kill(); }

  pid_t pid() const { return _pid; }
  explicit operator bool() const { return _pid > 0; }
  int wait();   // reaps it and returns the wait(2) status
  void kill();  // SIGKILL and reap; nothing when already reaped
  // Gives up ownership (a daemon's intermediate parent leaves the daemon to init); returns the pid.
  pid_t release() {
    pid_t pid = _pid;
    _pid = -1;
    return pid;
  }

 private:
  pid_t _pid = -1;
};

// Forks. In the child `body` runs and the child exits with its return value (or 125 when it
// throws): it never returns into the caller's code. The parent gets the owning handle.
Child fork_child(const std::function<int()>& body);

// A child's failure as it crosses to the parent: the step it was in, the error kind, the errno of a
// failed system call (0 otherwise) and the message. One datagram or pipe write, "E" first.
struct ChildFailure {
  std::string step;
  ErrorKind kind = ErrorKind::internal;
  int err = 0;
  std::string message;
};
// The exception being handled (call inside a catch block), encoded.
std::string encode_current_failure(std::string_view step);
// A reply that starts with "E", decoded; nullopt for anything else.
std::optional<ChildFailure> decode_failure(std::string_view bytes);
// The failure as the parent rethrows it: the child's kind and message, as if thrown here.
[[noreturn]] void rethrow(const ChildFailure& failure);

// Runs `fn` in a forked child and returns its result. The child's exception comes back through the
// failure protocol and is rethrown here with its kind and message; a child that exits without a
// result becomes Error(internal) naming `step`. With `timeout_ms` >= 0 a child that has not answered
// by then is killed and std::nullopt returned. Each side closes its end of the socket pair.
std::optional<std::string> run_in_child(std::string_view step, const std::function<std::string()>& fn,
                                        int timeout_ms = -1);

}  // namespace cexec::sys
