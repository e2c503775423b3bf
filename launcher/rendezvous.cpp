#include "rendezvous.hpp"

#include "base/environment.hpp"
#include "base/sys/syscalls.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace cexec {

namespace {

constexpr const char* secret_name = "rendezvous-secret";
constexpr size_t secret_bytes = 32;

std::string errno_text(int err) {
  return std::error_code(err, std::generic_category()).message();
}

// "" when `dir` (created 0700 if missing) is the user's private folder, else why not.
std::string private_dir(const std::string& dir) {
  std::string parent = dir.substr(0, dir.rfind('/'));
  struct stat ps {};
  if (::lstat(parent.empty() ? "/" : parent.c_str(), &ps) != 0) {
    return parent + ": " + errno_text(errno);
  }
  bool others_write = (ps.st_mode & 0022) != 0 && (ps.st_mode & S_ISVTX) == 0;
  if (!S_ISDIR(ps.st_mode) || (ps.st_uid != ::getuid() && ps.st_uid != 0) || others_write) {
    return parent + ": not a directory that only its owner can change";
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return dir + ": " + errno_text(errno);
  }
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    return dir + ": " + errno_text(errno);
  }
  if (!S_ISDIR(st.st_mode) || st.st_uid != ::getuid() || (st.st_mode & 0077) != 0) {
    return dir + ": not a private directory of uid " + std::to_string(::getuid()) + " (owner " + std::to_string(st.st_uid) + ")";
  }
  return "";
}

std::string hex(const unsigned char* bytes, size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += digits[bytes[i] >> 4];
    out += digits[bytes[i] & 15];
  }
  return out;
}

// The secret file in `dir`, read or created; nullopt with `why` set when it is not usable.
std::optional<std::string> read_or_create(const std::string& dir, std::string& why) {
  std::string path = dir + "/" + secret_name;
  for (int attempt = 0; attempt < 2; ++attempt) {
    int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
      sys::Fd owned(fd);
      struct stat st = sys::stat_fd(fd);
      if (!S_ISREG(st.st_mode) || st.st_uid != ::getuid() || (st.st_mode & 0077) != 0) {
        why = path + ": not a private file of uid " + std::to_string(::getuid());
        return std::nullopt;
      }
      std::string text = sys::read_all(fd, 256);
      if (text.size() != 2 * secret_bytes || text.find_first_not_of("0123456789abcdef") != std::string::npos) {
        why = path + ": not a cexec secret (64 hex digits); remove it";
        return std::nullopt;
      }
      return text;
    }
    if (errno != ENOENT) {
      why = path + ": " + errno_text(errno);
      return std::nullopt;
    }
    // Made whole under a private name, then linked: concurrent ranks all read the one that won.
    unsigned char random[secret_bytes];
    if (::getrandom(random, sizeof random, 0) != static_cast<ssize_t>(sizeof random)) {
      why = "getrandom: " + errno_text(errno);
      return std::nullopt;
    }
    std::string tmp = path + ".tmp." + std::to_string(::getpid());
    try {
      sys::Fd out = sys::open_path(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
      sys::write_all(out.get(), hex(random, sizeof random));
    } catch (const std::exception& e) {
      ::unlink(tmp.c_str());
      why = e.what();
      return std::nullopt;
    }
    int linked = ::link(tmp.c_str(), path.c_str());
    int err = errno;
    ::unlink(tmp.c_str());
    if (linked != 0 && err != EEXIST) {
      why = path + ": " + errno_text(err);
      return std::nullopt;
    }
  }
  why = path + ": could not be read after creating it";
  return std::nullopt;
}

// The places of the header's list, in order.
std::vector<std::string> candidate_dirs(const std::vector<std::string>& environ) {
  std::vector<std::string> dirs;
  std::string runtime(try_environ_value(environ, "XDG_RUNTIME_DIR").value_or(""));
  if (runtime.starts_with('/')) {
    dirs.push_back(runtime + "/cexec");
  }
  dirs.push_back("/dev/shm/cexec-" + std::to_string(::getuid()));
  std::string cache(try_environ_value(environ, "XDG_CACHE_HOME").value_or(""));
  std::string home(try_environ_value(environ, "HOME").value_or(""));
  if (cache.starts_with('/')) {
    dirs.push_back(cache + "/cexec");
  } else if (home.starts_with('/') && home != "/") {
    ::mkdir((home + "/.cache").c_str(), 0700);  // the usual place; private_dir checks what is there
    dirs.push_back(home + "/.cache/cexec");
  }
  return dirs;
}

}  // namespace

std::optional<std::string> private_cexec_dir(const std::vector<std::string>& environ) {
  for (const auto& dir : candidate_dirs(environ)) {
    if (private_dir(dir).empty()) {
      return dir;
    }
  }
  return std::nullopt;
}

std::optional<RendezvousSecret> load_rendezvous_secret(const std::vector<std::string>& environ, std::string& why) {
  std::vector<std::string> dirs = candidate_dirs(environ);
  why.clear();
  for (const auto& dir : dirs) {
    std::string problem = private_dir(dir);
    if (problem.empty()) {
      if (auto value = read_or_create(dir, problem)) {
        return RendezvousSecret{*value, dir + "/" + secret_name};
      }
    }
    why += (why.empty() ? "" : "; ") + problem;
  }
  return std::nullopt;
}

}  // namespace cexec
