// Bind specifications: "SRC[:DST[:ro|rw]]", several per argument separated by commas
// (the Apptainer -B syntax). Pure.
#pragma once

#include "base/mount_op.hpp"

#include "base/error.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace cexec {

struct BindSpec {
  std::string source;       // as written; relative sources are resolved against the cwd later
  std::string destination;  // absolute path inside the container; empty means "same as source"
  bool read_only = false;
  bool operator==(const BindSpec&) const = default;
};

// Parses one -B argument or a CEXEC_BIND value (a comma-separated list).
Result<std::vector<BindSpec>> parse_bind_specs(std::string_view text);

// Checks a container-side path: absolute and without ".." components. Returns the reason, or "".
std::string destination_problem(std::string_view destination);

// "/a//b/./c/" -> "/a/b/c"; keeps ".." (callers reject it first).
std::string normalize_path(std::string_view path);


}  // namespace cexec
