#include "reference.hpp"

#include <algorithm>

namespace cexec::registry {

namespace {

bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// One path component: [a-z0-9]+ joined by '.', '_', "__" or runs of '-'.
bool is_valid_component(std::string_view c) {
  if (c.empty() || !is_lower_alnum(c.front()) || !is_lower_alnum(c.back())) {
    return false;
  }
  for (size_t i = 0; i < c.size(); ++i) {
    char ch = c[i];
    if (is_lower_alnum(ch) || ch == '-') {
      continue;
    }
    if (ch != '.' && ch != '_') {
      return false;
    }
    if (!is_lower_alnum(c[i + 1]) && !(ch == '_' && c[i + 1] == '_' && is_lower_alnum(c[i + 2]))) {
      return false;  // a separator must be followed by an alphanumeric ("__" counts as one)
    }
    if (ch == '_' && c[i + 1] == '_') {
      ++i;
    }
  }
  return true;
}

bool is_valid_repository(std::string_view repo) {
  if (repo.empty() || repo.size() > 255) {
    return false;
  }
  size_t start = 0;
  while (true) {
    size_t slash = repo.find('/', start);
    if (!is_valid_component(repo.substr(start, slash == std::string_view::npos ? slash : slash - start))) {
      return false;
    }
    if (slash == std::string_view::npos) {
      return true;
    }
    start = slash + 1;
  }
}

bool is_valid_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128 || tag.front() == '.' || tag.front() == '-') {
    return false;
  }
  return std::all_of(tag.begin(), tag.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
  });
}

bool is_valid_registry(std::string_view reg) {
  if (reg.empty() || reg.size() > 255) {
    return false;
  }
  size_t colon = reg.rfind(':');
  std::string_view host = reg.substr(0, colon);
  if (colon != std::string_view::npos) {
    std::string_view port = reg.substr(colon + 1);
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return false;
    }
  }
  return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
  }) && host.front() != '-' && host.front() != '.';
}

Failure bad(std::string_view text, const std::string& why) {
  return Failure{ErrorKind::usage, "image reference `" + std::string(text) + "`: " + why};
}

}  // namespace

bool is_registry_reference(std::string_view spec) {
  return spec.starts_with(reference_prefix);
}

bool is_valid_digest(std::string_view digest) {
  return digest.size() == 71 && digest.starts_with("sha256:") && is_hex(digest.substr(7));
}

bool is_loopback_host(std::string_view host) {
  return host == "localhost" || host == "127.0.0.1" || host.starts_with("127.") || host == "::1";
}

std::string Reference::host() const {
  return registry.substr(0, registry.rfind(':'));
}

std::string Reference::text() const {
  return std::string(reference_prefix) + registry + "/" + repository + (digest.empty() ? ":" + tag : "@" + digest);
}

Result<Reference> parse_reference(std::string_view text) {
  std::string_view rest = text;
  if (rest.starts_with(reference_prefix)) {
    rest.remove_prefix(reference_prefix.size());
  }
  if (rest.empty()) {
    return bad(text, "no repository named");
  }
  Reference ref;
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    ref.digest = rest.substr(at + 1);
    rest = rest.substr(0, at);
    if (!is_valid_digest(ref.digest)) {
      return bad(text, "the digest must be sha256: and 64 lowercase hex digits");
    }
  }
  size_t slash = rest.find('/');
  std::string_view first = rest.substr(0, slash);
  bool has_host = slash != std::string_view::npos &&
                  (first.find('.') != std::string_view::npos || first.find(':') != std::string_view::npos || first == "localhost");
  std::string_view path = rest;
  if (has_host) {
    ref.registry = first;
    path = rest.substr(slash + 1);
    if (!is_valid_registry(ref.registry)) {
      return bad(text, "`" + ref.registry + "` is not a host[:port]");
    }
  } else {
    ref.registry = docker_hub_host;
  }
  size_t colon = path.rfind(':');
  if (colon != std::string_view::npos && path.find('/', colon) == std::string_view::npos) {
    ref.tag = path.substr(colon + 1);
    path = path.substr(0, colon);
    if (!is_valid_tag(ref.tag)) {
      return bad(text, "tag `" + ref.tag + "` is not valid (letters, digits, '_', '.', '-'; at most 128)");
    }
  }
  ref.repository = path;
  if (!is_valid_repository(ref.repository)) {
    return bad(text, "repository `" + ref.repository + "` is not valid (lowercase letters, digits, separators . _ - and /)");
  }
  if (!has_host && ref.repository.find('/') == std::string::npos) {
    ref.repository = "library/" + ref.repository;  // Docker Hub's official images
  }
  if (!ref.digest.empty()) {
    ref.tag.clear();  // the digest names the image; a tag beside it is only a hint
  } else if (ref.tag.empty()) {
    ref.tag = "latest";
  }
  return ref;
}

}  // namespace cexec::registry
