// `cexec build`: executes a BuildPlan stage by stage (bootstrap, %setup, %files, %post, metadata,
// %test, squash), each inside the build sandbox. Work happens in a hidden folder next to OUT; OUT
// appears only by rename once everything succeeded, so a failed build never leaves a partial image.
#pragma once

#include "build_plan.hpp"

#include <string>
#include <vector>

namespace cexec::build {

// Returns cexec's exit status: 0, or the status of a failing %setup, %post or %test. Other
// failures throw Error. `host_env` is the caller's environment ("NAME=VALUE").
int run_build(const BuildPlan& plan, const std::vector<std::string>& host_env);

// "sha256:..." of a file's content.
std::string file_digest(const std::string& path);

}  // namespace cexec::build
