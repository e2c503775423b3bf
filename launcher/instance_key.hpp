// The identity of a node instance (pure): two cexec processes share a container exactly when
// their keys are equal. The key covers the user, the node, the job, the image file and everything
// that changes the mount set, so two jobs or two users never share.
#pragma once

#include "launch_context.hpp"
#include "plan.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace cexec {

struct InstanceKey {
  std::string text;         // the full key, compared verbatim when joining (no hash collisions)
  std::string socket_name;  // abstract unix socket name, without the leading NUL
};

// `secret` is the user's rendezvous secret: it makes socket_name unpredictable to other users.
InstanceKey make_instance_key(std::string_view hostname, const LaunchContext& context, const ImageIdentity& image,
                              const LaunchPlan& plan, std::string_view secret);

}  // namespace cexec
