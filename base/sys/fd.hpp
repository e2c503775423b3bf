// Move-only owner of a file descriptor: closed on destruction unless released.
#pragma once

#include <unistd.h>
#include <utility>

namespace cexec::sys {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : _fd(fd) {}
  Fd(Fd&& o) noexcept : _fd(std::exchange(o._fd, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      _fd = std::exchange(o._fd, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const { return _fd; }
  bool is_open() const { return _fd >= 0; }
  int release() { return std::exchange(_fd, -1); }
  void reset() {
    if (_fd >= 0) {
      ::close(_fd);  // close(2) must not be retried on EINTR on Linux: the fd is gone either way
      _fd = -1;
    }
  }

 private:
  int _fd = -1;
};

}  // namespace cexec::sys
