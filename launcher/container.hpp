// The privileged sequence: executes a LaunchPlan in kernel order. On return the calling process
// is inside the new user and mount namespaces, rooted in the image; the per-rank steps (pipeline.cpp)
// then set cwd and environment, drop capabilities and exec.
#pragma once

#include "log.hpp"
#include "plan.hpp"

namespace cexec {

class SquashfsServer;

// `server` serves the image when it is a SquashFS (it is null for a directory image).
void enter_container(const LaunchPlan& plan, Log& log, SquashfsServer* server);

}  // namespace cexec
