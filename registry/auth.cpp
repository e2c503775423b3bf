#include "auth.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>

namespace cexec::registry {

namespace {

constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// "https://host:port/v1/" → "host:port".
std::string key_registry(std::string_view key) {
  if (size_t scheme = key.find("://"); scheme != std::string_view::npos) {
    key.remove_prefix(scheme + 3);
  }
  key = key.substr(0, key.find('/'));
  return lower(key);
}

bool same_registry(std::string_view key, std::string_view registry) {
  std::string k = key_registry(key);
  std::string r = lower(registry);
  if (k == r) {
    return true;
  }
  // Docker Hub is stored under index.docker.io (the v1 address) but served from registry-1.
  auto hub = [](const std::string& s) { return s == "index.docker.io" || s == "registry-1.docker.io" || s == "docker.io"; };
  return hub(k) && hub(r);
}

void skip_blanks(std::string_view& s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == ',')) {
    s.remove_prefix(1);
  }
}

// A token or a quoted string (with backslash escapes).
std::optional<std::string> read_value(std::string_view& s) {
  std::string out;
  if (!s.empty() && s.front() == '"') {
    for (size_t i = 1; i < s.size(); ++i) {
      if (s[i] == '\\' && i + 1 < s.size()) {
        out += s[++i];
      } else if (s[i] == '"') {
        s.remove_prefix(i + 1);
        return out;
      } else {
        out += s[i];
      }
    }
    return std::nullopt;  // unterminated
  }
  size_t end = s.find_first_of(", \t");
  out = s.substr(0, end);
  s = end == std::string_view::npos ? std::string_view{} : s.substr(end);
  return out;
}

}  // namespace

std::string base64_encode(std::string_view data) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : data) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += alphabet[(acc >> bits) & 63];
    }
  }
  if (bits > 0) {
    out += alphabet[(acc << (6 - bits)) & 63];
  }
  while (out.size() % 4 != 0) {
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  while (!text.empty() && (text.back() == '=' || text.back() == '\n')) {
    text.remove_suffix(1);
  }
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    size_t v = alphabet.find(c);
    if (v == std::string_view::npos) {
      return std::nullopt;
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

std::string url_encode(std::string_view text) {
  constexpr std::string_view hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

Result<std::optional<Credentials>> find_credentials(std::string_view auth_json, std::string_view registry) {
  auto doc = nlohmann::json::parse(auth_json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Failure{ErrorKind::config, "is not a JSON object"};
  }
  auto auths = doc.find("auths");
  if (auths == doc.end()) {
    return std::optional<Credentials>{};
  }
  if (!auths->is_object()) {
    return Failure{ErrorKind::config, "\"auths\" is not an object"};
  }
  for (const auto& [key, entry] : auths->items()) {
    if (!same_registry(key, registry)) {
      continue;
    }
    auto auth = entry.is_object() ? entry.find("auth") : entry.end();
    if (auth == entry.end() || !auth->is_string()) {
      continue;  // an entry kept by a credential helper: nothing cexec can use
    }
    auto decoded = base64_decode(auth->get<std::string>());
    size_t colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos) {
      return Failure{ErrorKind::config, "the \"auth\" of `" + key + "` is not base64 of USER:PASSWORD"};
    }
    return std::optional<Credentials>{Credentials{decoded->substr(0, colon), decoded->substr(colon + 1)}};
  }
  return std::optional<Credentials>{};
}

std::optional<Challenge> parse_challenge(std::string_view header) {
  skip_blanks(header);
  size_t space = header.find_first_of(" \t");
  Challenge c;
  c.scheme = lower(header.substr(0, space));
  if (c.scheme.empty()) {
    return std::nullopt;
  }
  header = space == std::string_view::npos ? std::string_view{} : header.substr(space);
  for (skip_blanks(header); !header.empty(); skip_blanks(header)) {
    size_t eq = header.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return std::nullopt;
    }
    std::string key = lower(header.substr(0, eq));
    header.remove_prefix(eq + 1);
    auto value = read_value(header);
    if (!value) {
      return std::nullopt;
    }
    c.params[key] = *value;
  }
  return c;
}

std::string token_url(const Challenge& challenge, std::string_view scope) {
  std::string url = challenge.params.count("realm") ? challenge.params.at("realm") : "";
  char sep = url.find('?') == std::string::npos ? '?' : '&';
  if (auto s = challenge.params.find("service"); s != challenge.params.end()) {
    url += sep + std::string("service=") + url_encode(s->second);
    sep = '&';
  }
  auto own = challenge.params.find("scope");
  url += sep + std::string("scope=") + url_encode(own != challenge.params.end() ? own->second : std::string(scope));
  return url;
}

Result<std::string> parse_token_response(std::string_view json) {
  auto doc = nlohmann::json::parse(json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Failure{ErrorKind::setup_failed, "the token endpoint's answer is not a JSON object"};
  }
  for (const char* key : {"token", "access_token"}) {
    if (auto t = doc.find(key); t != doc.end() && t->is_string() && !t->get<std::string>().empty()) {
      return t->get<std::string>();
    }
  }
  return Failure{ErrorKind::setup_failed, "the token endpoint's answer holds no token"};
}

}  // namespace cexec::registry
