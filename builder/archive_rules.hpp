// Rules for the members of tar archives cexec unpacks (docker save / OCI layouts and their layers),
// pure so they can be tested on names alone: which names are acceptable, and what the whiteout
// files of the OCI image-spec (layer.md, "Whiteouts") ask for.
#pragma once

#include "base/error.hpp"

#include <string>
#include <string_view>

namespace cexec::build {

// "./usr//bin/" → "usr/bin"; "." or "./" → "" (the root itself). Absolute names and names with a
// ".." component are refused, naming the member.
Result<std::string> normalize_member_path(std::string_view name);

enum class WhiteoutKind {
  none,    // an ordinary member
  remove,  // ".wh.NAME": delete NAME (from the layers below)
  opaque,  // ".wh..wh..opq": hide everything the layers below put in this directory
};

struct Whiteout {
  WhiteoutKind kind = WhiteoutKind::none;
  std::string target;  // remove: the path to delete; opaque: the directory ("" for the root)
  bool operator==(const Whiteout&) const = default;
};

// `path` is already normalized.
Whiteout classify_member(std::string_view path);

// Where a digest ("sha256:<64 hex>") lives in an OCI image layout; anything else is refused, so a
// crafted digest cannot name a path outside the layout.
Result<std::string> blob_path(std::string_view digest);

}  // namespace cexec::build
