// The admin configuration (/etc/cexec/cexec.conf), parsed as pure text. Format: one
// "key = value" per line; '#' starts a comment (a whole line or the rest of one). Keys (the
// commented sample dist/cexec.conf, installed as /etc/cexec/cexec.conf, documents each):
//   bind = SPEC                  a default bind added to every container (Apptainer "bind path")
//   deny-destination = PATH      users may not bind onto PATH or below it (repeatable)
//   allow-writable-tmpfs = yes|no
//   allow-writable = yes|no      whether -w/--writable may be used on directory images
//   max-binds = N                limit on user binds (-B and CEXEC_BIND together)
//   instance-linger = SECONDS    how long a node instance outlives its last member (default 3)
//   registry-shared-cache = DIR  a read-only blob cache searched before the user's (cexec pull)
//   insecure-registry = HOST[:PORT]  a registry reached over plain HTTP (repeatable; loopback always is)
#pragma once

#include "base/trusted_file.hpp"

#include "bind_spec.hpp"
#include "base/error.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace cexec {

inline constexpr const char* default_config_path = "/etc/cexec/cexec.conf";

struct Config {
  std::vector<BindSpec> binds;
  std::vector<std::string> deny_destinations;
  bool allow_writable_tmpfs = true;
  bool allow_writable = true;
  unsigned max_binds = 256;
  double instance_linger = 3.0;
  std::string registry_shared_cache;             // "" when none
  std::vector<std::string> insecure_registries;
  std::string origin;  // where it came from ("built-in defaults" or a path)
};

Result<Config> parse_config(std::string_view text, std::string_view origin);

// A duration in seconds, 0 to 86400 ("2", "0.5").
std::optional<double> parse_seconds(std::string_view text);

// The deny-destination rule: a user bind may land neither on a denied path or below it, nor above
// it (which would hide it). Returns the reason, or "".
std::string denied_destination_problem(std::string_view destination, const Config& config);

}  // namespace cexec
