// Internal to the syscall layer: a call repeated while a signal interrupts it.
#pragma once

#include <cerrno>

namespace cexec::sys {

template <typename F>
auto retry_eintr(F&& f) {
  for (;;) {
    auto r = f();
    if (!(r == -1 && errno == EINTR)) {
      return r;
    }
  }
}

}  // namespace cexec::sys
