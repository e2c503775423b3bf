#include "base/path_walk.hpp"

#include "base/sys/syscalls.hpp"

#include <deque>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cexec {

namespace {

void push_components(std::deque<std::string>& pending, std::string_view path, bool front) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t pos = path.find('/', start);
    auto part = path.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start);
    if (!part.empty() && part != ".") {
      parts.emplace_back(part);
    }
    if (pos == std::string_view::npos) {
      break;
    }
    start = pos + 1;
  }
  if (front) {
    pending.insert(pending.begin(), parts.begin(), parts.end());
  } else {
    pending.insert(pending.end(), parts.begin(), parts.end());
  }
}

}  // namespace

std::string join_components(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) {
    out += "/" + p;
  }
  return out.empty() ? "/" : out;
}

sys::Fd create_missing_directories(int rootfd, const WalkResult& w, size_t leave) {
  // join_components() gives "/a/b": an absolute path would make openat ignore rootfd.
  std::string existing = w.existing.empty() ? "." : join_components(w.existing).substr(1);
  sys::Fd at = sys::open_at(rootfd, existing, O_PATH | O_DIRECTORY | O_NOFOLLOW);
  for (size_t i = 0; i + leave < w.missing.size(); ++i) {
    sys::mkdir_at(at.get(), w.missing[i], 0755);
    at = sys::open_at(at.get(), w.missing[i], O_PATH | O_DIRECTORY | O_NOFOLLOW);
  }
  return at;
}

WalkResult walk_in_root(int rootfd, std::string_view path) {
  WalkResult r;
  std::deque<std::string> pending;
  push_components(pending, path, false);
  std::vector<sys::Fd> stack;
  stack.push_back(sys::open_at(rootfd, ".", O_PATH | O_DIRECTORY));
  int links = 0;
  while (!pending.empty()) {
    std::string name = std::move(pending.front());
    pending.pop_front();
    if (name == "..") {
      if (stack.size() == 1) {
        r.status = WalkStatus::escapes;
        return r;
      }
      stack.pop_back();
      r.existing.pop_back();
      continue;
    }
    auto next = sys::try_open_at(stack.back().get(), name, O_PATH | O_NOFOLLOW);
    if (!next) {
      r.status = WalkStatus::missing;
      r.missing.push_back(name);
      for (auto& rest : pending) {
        if (rest == "..") {
          r.status = WalkStatus::escapes;
          return r;
        }
        r.missing.push_back(rest);
      }
      return r;
    }
    struct stat st = sys::stat_fd(next->get());
    if (S_ISLNK(st.st_mode)) {
      if (++links > 40) {
        r.status = WalkStatus::too_many_links;
        return r;
      }
      auto target = sys::try_readlink_at(next->get(), "");
      if (!target) {
        r.status = WalkStatus::missing;
        return r;
      }
      if (target->starts_with('/')) {
        stack.resize(1);
        r.existing.clear();
      }
      push_components(pending, *target, true);
      continue;
    }
    if (!pending.empty() && !S_ISDIR(st.st_mode)) {
      r.status = WalkStatus::not_directory;
      r.existing.push_back(name);
      return r;
    }
    stack.push_back(std::move(*next));
    r.existing.push_back(name);
  }
  r.status = WalkStatus::found;
  r.fd = std::move(stack.back());
  return r;
}

}  // namespace cexec
