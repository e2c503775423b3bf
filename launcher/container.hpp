// The privileged sequence: executes a LaunchPlan in kernel order. On return the calling process
// is inside the new user and mount namespaces, rooted in the image; the per-rank steps (pipeline.cpp)
// then set cwd and environment, drop capabilities and exec.
#pragma once

#include "base/log.hpp"
#include "node_plan.hpp"
#include "plan.hpp"

#include <functional>
#include <string>
#include <sys/types.h>

namespace cexec {

class SquashfsServer;

// `server` serves the image when it is a SquashFS (it is null for a directory image).
void enter_container(const LaunchPlan& plan, const NodeHostFacts& host, Log& log, SquashfsServer* server);

// For preflight commands (`cexec mpi check`, `cexec check --gpu`): a child process enters a private
// user namespace, mounts the image (detached) and returns fn(image root fd); nothing outlives the
// call. An Error thrown by fn reaches the caller with its kind.
std::string run_with_image_root(const LaunchPlan& plan, const std::function<std::string(int image_root)>& fn);

}  // namespace cexec
