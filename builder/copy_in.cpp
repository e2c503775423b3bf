#include "copy_in.hpp"

#include "base/error.hpp"
#include "base/path_walk.hpp"
#include "base/sys/syscalls.hpp"

#include <cerrno>
#include <dirent.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cexec::build {

namespace {

std::string base_name(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') {
    p.pop_back();
  }
  return p.substr(p.rfind('/') + 1);
}

bool is_directory_in_root(int rootfd, const std::string& path) {
  auto fd = sys::try_open_in_root(rootfd, path, O_PATH | O_DIRECTORY);
  return fd.has_value();
}

void copy_file(int rootfd, const std::string& source, const struct stat& st, const std::string& destination) {
  sys::Fd in = sys::open_path(source, O_RDONLY);
  // O_TRUNC over an existing file, as cp -f; a symlink there is followed inside the root.
  auto out = sys::try_open_in_root(rootfd, destination, O_WRONLY | O_CREAT | O_TRUNC, st.st_mode & 07777);
  if (!out) {
    int err = errno;
    throw Error(ErrorKind::bind_destination, "%files destination `" + destination + "`: " +
                                                 std::error_code(err, std::generic_category()).message());
  }
  for (off_t left = st.st_size; left > 0;) {
    ssize_t n = ::sendfile(out->get(), in.get(), nullptr, static_cast<size_t>(left));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      sys::throw_errno("copy", source, destination);
    }
    left -= n;
  }
  if (::fchmod(out->get(), st.st_mode & 07777) != 0) {
    sys::throw_errno("chmod", destination);
  }
}

void copy_tree(int rootfd, const std::string& source, const std::string& destination) {
  struct stat st {};
  if (::stat(source.c_str(), &st) != 0) {  // following symlinks, as cp -L
    int err = errno;
    throw Error(ErrorKind::input_missing, "%files source `" + source + "`: " + std::error_code(err, std::generic_category()).message());
  }
  if (S_ISREG(st.st_mode)) {
    copy_file(rootfd, source, st, destination);
    return;
  }
  if (!S_ISDIR(st.st_mode)) {
    throw Error(ErrorKind::input_missing, "%files source `" + source + "` is neither a file nor a directory");
  }
  if (!is_directory_in_root(rootfd, destination)) {
    size_t slash = destination.rfind('/');
    auto parent = sys::try_open_in_root(rootfd, slash == 0 ? "/" : destination.substr(0, slash), O_PATH | O_DIRECTORY);
    if (!parent || ::mkdirat(parent->get(), destination.substr(slash + 1).c_str(), st.st_mode & 07777) != 0) {
      throw Error(ErrorKind::bind_destination, "%files destination `" + destination + "` cannot be made a directory");
    }
  }
  DIR* dir = ::opendir(source.c_str());
  if (dir == nullptr) {
    sys::throw_errno("opendir", source);
  }
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(dir)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") {
      names.push_back(name);
    }
  }
  ::closedir(dir);
  for (const auto& name : names) {
    copy_tree(rootfd, source + "/" + name, destination + "/" + name);
  }
}

}  // namespace

void copy_into_root(int rootfd, const std::vector<std::string>& sources, const std::string& destination) {
  WalkResult w = walk_in_root(rootfd, destination);
  if (w.status == WalkStatus::missing) {
    create_missing_directories(rootfd, w, 1);
  } else if (w.status != WalkStatus::found) {
    throw Error(ErrorKind::bind_destination, "%files destination `" + destination +
                                                 "` leads out of the image or through a non-directory");
  }
  bool into = is_directory_in_root(rootfd, destination);
  if (!into && sources.size() > 1) {
    throw Error(ErrorKind::bind_destination, "%files destination `" + destination + "` must be a directory for several sources");
  }
  for (const auto& source : sources) {
    copy_tree(rootfd, source, into ? (destination == "/" ? "" : destination) + "/" + base_name(source) : destination);
  }
}

}  // namespace cexec::build
