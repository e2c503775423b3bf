// The node instance: every cexec of one job on one node enters one shared container (one user and
// mount namespace, one image mount, one FUSE server), so that the ranks can use cross-memory attach
// and the image is decompressed once.
//
// Coordination uses only what the kernel releases by itself:
//   - the instance's name is an abstract unix socket (no file); binding it is the lock;
//   - the keeper process, detached, owns the socket, holds the namespaces (as descriptors) and,
//     for a SquashFS image, is the FUSE server; it builds the container in a short-lived child;
//   - joiners connect, are identified by SO_PEERCRED and tracked with pidfds, and receive the two
//     namespace descriptors, which they setns() into;
//   - when the last member has exited and the linger has passed, the keeper closes its socket and
//     its namespace descriptors; the kernel then dismantles the container once nothing uses it.
// A keeper that dies during setup drops the socket: waiting joiners see the connection close and
// the next one takes over. See docs/node-instance.md.
#pragma once

#include "instance_key.hpp"
#include "base/log.hpp"
#include "plan.hpp"

#include <string>

namespace cexec {

struct JoinOutcome {
  bool joined = false;   // in the instance's namespaces
  bool created = false;  // this process spawned the keeper
  int attempts = 0;
  std::string refused;   // not joined: another user holds the name (why, for the warning)
};

// On return with `joined`, the calling process is in the instance's user and mount namespaces,
// rooted in the image. Errors of the instance's setup come back as the same Error every rank
// would have got. A name held by another user is never joined: `refused` says so.
JoinOutcome join_node_instance(const LaunchPlan& plan, const InstanceKey& key, Log& log);

}  // namespace cexec
