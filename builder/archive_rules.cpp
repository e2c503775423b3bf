#include "archive_rules.hpp"

#include <algorithm>

namespace cexec::build {

Result<std::string> normalize_member_path(std::string_view name) {
  auto refuse = [&](const char* why) {
    return Failure{ErrorKind::image_invalid, "archive member `" + std::string(name) + "`: " + why};
  };
  if (name.starts_with('/')) {
    return refuse("absolute path refused");
  }
  std::string out;
  std::string_view rest = name;
  while (!rest.empty()) {
    size_t slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    if (part.empty() || part == ".") {
      continue;
    }
    if (part == "..") {
      return refuse("`..` component refused");
    }
    if (!out.empty()) {
      out += '/';
    }
    out += part;
  }
  return out;
}

Whiteout classify_member(std::string_view path) {
  constexpr std::string_view prefix = ".wh.";
  constexpr std::string_view opaque_marker = ".wh..wh..opq";
  size_t slash = path.rfind('/');
  std::string_view dir = slash == std::string_view::npos ? std::string_view{} : path.substr(0, slash);
  std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  if (base == opaque_marker) {
    return Whiteout{WhiteoutKind::opaque, std::string(dir)};
  }
  if (base.starts_with(prefix) && base.size() > prefix.size()) {
    std::string target = dir.empty() ? std::string() : std::string(dir) + "/";
    return Whiteout{WhiteoutKind::remove, target + std::string(base.substr(prefix.size()))};
  }
  return Whiteout{};
}

Result<std::string> blob_path(std::string_view digest) {
  constexpr std::string_view algo = "sha256:";
  std::string_view hex = digest.substr(std::min(digest.size(), algo.size()));
  bool ok = digest.starts_with(algo) && hex.size() == 64 &&
            std::all_of(hex.begin(), hex.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
  if (!ok) {
    return Failure{ErrorKind::image_invalid, "unsupported or malformed digest `" + std::string(digest) + "`"};
  }
  return "blobs/sha256/" + std::string(hex);
}

}  // namespace cexec::build
