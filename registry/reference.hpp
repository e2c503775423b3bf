// Image references as `cexec pull` and `cexec build` take them: docker://[HOST[:PORT]/]REPO[:TAG|@DIGEST].
// Docker's rules decide what the first component is: a host when it holds a '.' or a ':' or is
// `localhost`, else a Docker Hub repository (`ubuntu` is registry-1.docker.io/library/ubuntu). Pure.
#pragma once

#include "base/error.hpp"

#include <string>
#include <string_view>

namespace cexec::registry {

inline constexpr std::string_view reference_prefix = "docker://";
inline constexpr const char* docker_hub_host = "registry-1.docker.io";

struct Reference {
  std::string registry;    // "host" or "host:port", as the API is reached
  std::string repository;  // "library/ubuntu", "team/app"
  std::string tag;         // "latest" when neither was given; empty with a digest (which wins)
  std::string digest;      // "sha256:<64 hex>" or empty
  bool operator==(const Reference&) const = default;

  std::string host() const;  // registry without the port
  std::string text() const;  // "docker://registry/repository:tag" or "...@digest"
  std::string tag_or_digest() const { return digest.empty() ? tag : digest; }
};

// True for a SPEC that names a registry image (starts with docker://).
bool is_registry_reference(std::string_view spec);

// Parses the reference, with or without the docker:// prefix.
Result<Reference> parse_reference(std::string_view text);

// "sha256:" and 64 lowercase hex digits (the only algorithm cexec verifies).
bool is_valid_digest(std::string_view digest);

// Hosts cexec talks plain HTTP to without being told: localhost and the loopback addresses
// (as Docker does); others only when the admin lists them (`insecure-registry` in cexec.conf).
bool is_loopback_host(std::string_view host);

}  // namespace cexec::registry
