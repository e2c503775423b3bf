// Registry authentication, pure: credentials from a Docker-style auth file (~/.docker/config.json,
// $DOCKER_CONFIG/config.json or $REGISTRY_AUTH_FILE: "auths" → host → "auth": base64(user:password)),
// the WWW-Authenticate challenge of a 401 answer (Bearer with realm/service/scope, or Basic), the
// token endpoint's URL and its JSON answer.
#pragma once

#include "base/error.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace cexec::registry {

struct Credentials {
  std::string user;
  std::string password;
  bool operator==(const Credentials&) const = default;
};

// The entry for `registry` ("host[:port]") in an auth file's JSON. Keys may be written as the bare
// registry, with a scheme, or with a path ("https://index.docker.io/v1/" for Docker Hub). nullopt
// when the file has no entry; a Failure when the file or the entry is malformed.
Result<std::optional<Credentials>> find_credentials(std::string_view auth_json, std::string_view registry);

struct Challenge {
  std::string scheme;                         // "bearer" or "basic" (lowercased)
  std::map<std::string, std::string> params;  // keys lowercased: realm, service, scope...
};

// One WWW-Authenticate header value; nullopt when it cannot be parsed.
std::optional<Challenge> parse_challenge(std::string_view header);

// The token request for a Bearer challenge: realm?service=...&scope=... (values URL-encoded).
// `scope` is used when the challenge names none.
std::string token_url(const Challenge& challenge, std::string_view scope);

// The token in the token endpoint's JSON answer ("token", or OAuth2's "access_token").
Result<std::string> parse_token_response(std::string_view json);

std::string base64_encode(std::string_view data);
std::optional<std::string> base64_decode(std::string_view text);
std::string url_encode(std::string_view text);

}  // namespace cexec::registry
