#include "store.hpp"

#include "base/sys/syscalls.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace cexec::factcache {

namespace {

constexpr size_t max_record_bytes = 16 << 20;

int64_t nanoseconds(const struct timespec& t) {
  return static_cast<int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

int64_t now_ns() {
  struct timespec t {};
  ::clock_gettime(CLOCK_REALTIME, &t);
  return nanoseconds(t);
}

}  // namespace

FileIdentity identify(const std::string& path) {
  FileIdentity f;
  f.path = path;
  if (auto st = sys::try_stat(path)) {
    f.exists = true;
    f.dev = st->st_dev;
    f.ino = st->st_ino;
    f.size = static_cast<uint64_t>(st->st_size);
    f.mtime_ns = nanoseconds(st->st_mtim);
    f.ctime_ns = nanoseconds(st->st_ctim);
    f.mode = st->st_mode;
  }
  return f;
}

std::optional<std::string> try_load(const std::string& file, const Inputs& inputs, std::string& why) {
  auto fd = sys::try_open_at(AT_FDCWD, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (!fd) {
    why = "no cache file";
    return std::nullopt;
  }
  struct stat st = sys::stat_fd(fd->get());
  if (!S_ISREG(st.st_mode) || st.st_uid != ::geteuid() || (st.st_mode & 022) != 0) {
    why = "not a private file of uid " + std::to_string(::geteuid());
    return std::nullopt;
  }
  std::optional<Record> record;
  try {
    record = parse_record(sys::read_all(fd->get(), max_record_bytes));
  } catch (const std::exception&) {
  }
  if (!record) {
    why = "malformed";
    return std::nullopt;
  }
  why = why_stale(*record, inputs, identify);
  if (!why.empty()) {
    return std::nullopt;
  }
  return std::move(record->payload);
}

bool store(const std::string& file, const Inputs& inputs, const std::vector<std::string>& paths,
           const std::string& payload, std::string& why) {
  Record record{inputs, {}, payload};
  int64_t now = now_ns();
  std::set<std::string> seen;
  for (const auto& path : paths) {
    if (!seen.insert(path).second) {
      continue;
    }
    record.files.push_back(identify(path));
    if (!is_settled(record.files.back(), now)) {
      why = "`" + path + "` changed just now";
      return false;
    }
  }
  std::string tmp = file + ".tmp" + std::to_string(::getpid());
  try {
    auto out = sys::open_path(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    sys::write_all(out.get(), format_record(record));
  } catch (const std::exception& e) {
    ::unlink(tmp.c_str());
    why = e.what();
    return false;
  }
  if (::rename(tmp.c_str(), file.c_str()) != 0) {
    why = file + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

}  // namespace cexec::factcache
