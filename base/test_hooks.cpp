#include "base/test_hooks.hpp"

#ifdef CEXEC_TEST_HOOKS

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>

namespace cexec::test_hooks {

namespace {

bool names_step(std::string_view steps, std::string_view step) {
  for (size_t at = 0; at <= steps.size();) {
    size_t comma = steps.find(',', at);
    if (steps.substr(at, comma == std::string_view::npos ? std::string_view::npos : comma - at) == step) {
      return true;
    }
    if (comma == std::string_view::npos) {
      break;
    }
    at = comma + 1;
  }
  return false;
}

void pause_if_named(const char* step) {
  const char* spec = std::getenv("CEXEC_TEST_PAUSE_AT");
  std::string_view s(spec == nullptr ? "" : spec);
  auto colon = s.find(':');
  if (colon != std::string_view::npos && names_step(s.substr(0, colon), step)) {
    ::sleep(static_cast<unsigned>(std::atoi(std::string(s.substr(colon + 1)).c_str())));
  }
}

}  // namespace

const char* staging_size() {
  const char* size = std::getenv("CEXEC_TEST_STAGING_SIZE");
  return size != nullptr && *size != '\0' ? size : nullptr;
}

long long pull_rate() {
  const char* rate = std::getenv("CEXEC_TEST_PULL_RATE");
  return rate != nullptr ? std::atoll(rate) : 0;
}

void reached(const char* step) {
  pause_if_named(step);
  const char* spec = std::getenv("CEXEC_TEST_KILL_AT");
  if (spec == nullptr) {
    return;
  }
  std::string_view s(spec);
  auto colon = s.find(':');
  if (colon == std::string_view::npos) {
    return;
  }
  std::string_view steps = s.substr(0, colon);
  std::string marker(s.substr(colon + 1));
  auto slash = marker.rfind('/');
  if (slash == std::string::npos) {
    return;
  }
  // The marker's folder, opened at this process's first step (still on the host) and kept: the
  // later steps run in other mount namespaces, where its path may not lead there.
  // A helper that closed every descriptor (the keeper) may hold another file under the number: the
  // device and inode say whether it is still the folder.
  static int dir = -1;
  static dev_t dir_dev = 0;
  static ino_t dir_ino = 0;
  struct stat st {};
  if (dir < 0 || ::fstat(dir, &st) != 0 || st.st_dev != dir_dev || st.st_ino != dir_ino) {
    dir = ::open(slash == 0 ? "/" : marker.substr(0, slash).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0 || ::fstat(dir, &st) != 0) {
      return;
    }
    dir_dev = st.st_dev;
    dir_ino = st.st_ino;
  }
  if (!names_step(steps, step)) {
    return;
  }
  int fd = ::openat(dir, marker.substr(slash + 1).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    return;  // another process was killed already, or the marker's folder is not visible here
  }
  std::string note = std::to_string(::getpid()) + " " + step + "\n";
  (void)!::write(fd, note.data(), note.size());
  ::close(fd);
  ::kill(::getpid(), SIGKILL);
}

}  // namespace cexec::test_hooks

#endif
