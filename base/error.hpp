// Error values and exceptions shared by every cexec module.
//
// Expected outcomes of pure logic (a malformed bind spec, a bad config line) are `Result<T>` values
// carrying a `Failure`; failed system calls throw `SysError` (a std::system_error that names the call
// and its paths). Both carry an `ErrorKind`, which `exit_code_for()` turns into cexec's exit status.
#pragma once

#include <string>
#include <system_error>
#include <utility>
#include <variant>

namespace cexec {

// Every way cexec itself can fail; each maps to one documented exit code (exit_codes.cpp).
enum class ErrorKind {
  usage,              // bad command line: unknown option, missing image, malformed bind spec or env
  image_invalid,      // not an image, truncated or corrupt SquashFS
  input_missing,      // image, bind source or env file missing or unreadable
  command_not_found,  // the command does not exist or is not executable inside the image
  bind_destination,   // bind destination relative, escaping the image root, or not creatable
  host_unsupported,   // user namespaces disabled, /dev/fuse unusable
  internal,           // a bug in cexec
  setup_failed,       // a system call failed while building the container
  policy,             // refused by the admin configuration or by the setuid rule
  config,             // the admin configuration file is malformed or unsafe
  cannot_create,      // cexec build: OUT exists (no --force), or cannot be written (disk full)
  mpi_incompatible,   // --mpi=host cannot inject the host's MPI (ABI or symbol versions); `cexec mpi check` says no
  registry,           // cexec pull: the registry is unreachable, refused the credentials, or failed
};

struct Failure {
  ErrorKind kind;
  std::string message;
};

// A value or the reason there is none (std::expected is C++23).
template <typename T>
class Result {
 public:
  Result(T value) : _v(std::move(value)) {}
  Result(Failure failure) : _v(std::move(failure)) {}
  bool has_value() const { return std::holds_alternative<T>(_v); }
  explicit operator bool() const { return has_value(); }
  const T& value() const& { return std::get<T>(_v); }
  T& value() & { return std::get<T>(_v); }
  T&& value() && { return std::get<T>(std::move(_v)); }
  const Failure& failure() const { return std::get<Failure>(_v); }

 private:
  std::variant<T, Failure> _v;
};

// Thrown for anything that ends the launch; `main` prints what() once and exits with the kind's code.
class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), _kind(kind) {}
  explicit Error(const Failure& f) : Error(f.kind, f.message) {}
  ErrorKind kind() const { return _kind; }

 private:
  ErrorKind _kind;
};

// A failed system call; built by sys::throw_errno, which reads errno before anything else runs.
class SysError : public std::system_error {
 public:
  SysError(int err, const std::string& what) : std::system_error(err, std::generic_category(), what) {}
  int err() const { return code().value(); }
};

// Unwrap a Result or throw its failure as an Error.
template <typename T>
T value_or_throw(Result<T> r) {
  if (!r) {
    throw Error(r.failure());
  }
  return std::move(r).value();
}

}  // namespace cexec
