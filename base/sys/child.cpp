#include "base/sys/child.hpp"

#include "base/sys/syscalls.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <poll.h>
#include <unistd.h>

namespace cexec::sys {

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    kill();
    _pid = other._pid;
    other._pid = -1;
  }
  return *this;
}

int Child::wait() {
  int status = wait_for(_pid);
  _pid = -1;
  return status;
}

void Child::kill() {
  if (_pid > 0) {
    ::kill(_pid, SIGKILL);
    (void)wait_for(_pid);
    _pid = -1;
  }
}

Child fork_child(const std::function<int()>& body) {
  pid_t pid = fork_process();
  if (pid == 0) {
    int status = 125;
    try {
      status = body();
    } catch (...) {
    }
    ::_exit(status);
  }
  return Child(pid);
}

namespace {

constexpr char separator = '\0';

// The fields after "E": step, kind, errno and message, separated by NUL bytes (no field but the
// message may hold one, and the message is last).
std::string encode(const ChildFailure& f) {
  std::string out = "E";
  out += f.step;
  out += separator;
  out += std::to_string(static_cast<int>(f.kind));
  out += separator;
  out += std::to_string(f.err);
  out += separator;
  out += f.message;
  return out;
}

}  // namespace

std::string encode_current_failure(std::string_view step) {
  ChildFailure f{std::string(step), ErrorKind::internal, 0, {}};
  try {
    throw;
  } catch (const Error& e) {
    f.kind = e.kind();
    f.message = e.what();
  } catch (const SysError& e) {
    f.kind = ErrorKind::setup_failed;
    f.err = e.err();
    f.message = e.what();
  } catch (const std::exception& e) {
    f.message = e.what();
  } catch (...) {
    f.message = "unknown failure";
  }
  return encode(f);
}

std::optional<ChildFailure> decode_failure(std::string_view bytes) {
  if (bytes.empty() || bytes[0] != 'E') {
    return std::nullopt;
  }
  std::string_view rest = bytes.substr(1);
  std::string_view fields[3];
  for (auto& field : fields) {
    size_t at = rest.find(separator);
    if (at == std::string_view::npos) {
      return std::nullopt;
    }
    field = rest.substr(0, at);
    rest = rest.substr(at + 1);
  }
  ChildFailure f;
  f.step = std::string(fields[0]);
  f.kind = static_cast<ErrorKind>(std::atoi(std::string(fields[1]).c_str()));
  f.err = std::atoi(std::string(fields[2]).c_str());
  f.message = std::string(rest);
  return f;
}

void rethrow(const ChildFailure& failure) { throw Error(failure.kind, failure.message); }

std::optional<std::string> run_in_child(std::string_view step, const std::function<std::string()>& fn, int timeout_ms) {
  std::pair<Fd, Fd> ends = socket_pair();
  Fd& parent_end = ends.first;
  Fd& child_end = ends.second;
  Child child = fork_child([&, parent = parent_end.get(), reply_to = child_end.get()] {
    ::close(parent);
    std::string reply;
    try {
      reply = 'R' + fn();
    } catch (...) {
      reply = encode_current_failure(step);
    }
    try {
      send_message(reply_to, reply);
    } catch (...) {
      return 1;
    }
    return 0;
  });
  child_end.reset();
  if (timeout_ms >= 0) {
    struct pollfd p {parent_end.get(), POLLIN, 0};
    int n;
    do {
      n = ::poll(&p, 1, timeout_ms);
    } while (n < 0 && errno == EINTR);
    if (n != 1) {
      return std::nullopt;  // `child` is killed and reaped on the way out
    }
  }
  Message reply = receive_message(parent_end.get());
  (void)child.wait();
  if (!reply.bytes.empty() && reply.bytes[0] == 'R') {
    return reply.bytes.substr(1);
  }
  if (auto failure = decode_failure(reply.bytes)) {
    rethrow(*failure);
  }
  throw Error(ErrorKind::internal, std::string(step) + ": the child process exited without a result");
}

}  // namespace cexec::sys
