// Reads, once, every host fact the plan depends on: environment, user and groups, cwd, the admin
// config, --env-file contents and the image's kind. The only impure input step before the plan.
#pragma once

#include "base/environment.hpp"
#include "options.hpp"
#include "plan.hpp"

namespace cexec {

// The admin configuration: CEXEC_CONFIG, else /etc/cexec/cexec.conf, else the built-in defaults
// (when that file does not exist). Throws a config Error when it is unsafely owned or malformed.
Config load_config(const Environ& environ);

HostFacts gather_host_facts(const LaunchOptions& options, const Environ& environ);

// Refuses to run when installed setuid or setgid: cexec is designed to need no privilege, and a
// privileged install would let users mount and bind with the owner's rights.
void refuse_privileged_install();

}  // namespace cexec
