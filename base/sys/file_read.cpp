// The syscall layer's file part (syscalls.hpp): positioned reads, directory listings, locks, renames, sync.
#include "base/sys/syscalls.hpp"

#include <algorithm>
#include <cstdio>
#include <sys/file.h>
#include <cerrno>
#include <dirent.h>
#include <unistd.h>

namespace cexec::sys {

std::string read_at(int fd, size_t size, uint64_t offset) {
  std::string out(size, '\0');
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, out.data() + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      throw_errno("pread", fd_path(fd));
    }
    if (n == 0) {
      break;
    }
    done += static_cast<size_t>(n);
  }
  out.resize(done);
  return out;
}

std::optional<std::vector<std::string>> try_list_directory(const std::string& path) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) {
    return std::nullopt;
  }
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") {
      names.push_back(std::move(name));
    }
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

bool lock_file(int fd, bool exclusive, bool wait) {
  int op = (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB);
  while (::flock(fd, op) != 0) {
    if (errno == EWOULDBLOCK && !wait) {
      return false;
    }
    if (errno != EINTR) {
      throw_errno("flock", fd_path(fd));
    }
  }
  return true;
}

void rename_path(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    throw_errno("rename", from, to);
  }
}

bool try_unlink(const std::string& path) {
  if (::unlink(path.c_str()) == 0) {
    return true;
  }
  if (errno != ENOENT) {
    throw_errno("unlink", path);
  }
  return false;
}

void sync_fd(int fd) {
  if (::fsync(fd) != 0) {
    throw_errno("fsync", fd_path(fd));
  }
}

size_t read_some(int fd, char* buf, size_t size) {
  for (;;) {
    ssize_t n = ::read(fd, buf, size);
    if (n >= 0) {
      return static_cast<size_t>(n);
    }
    if (errno != EINTR) {
      throw_errno("read", fd_path(fd));
    }
  }
}

void truncate_fd(int fd, off_t size) {
  if (::ftruncate(fd, size) != 0) {
    throw_errno("ftruncate", fd_path(fd));
  }
}

}  // namespace cexec::sys
