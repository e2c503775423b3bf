#include "base/sys/syscalls.hpp"

#include <algorithm>
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

}  // namespace cexec::sys
