#include "apptainer.hpp"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

namespace cexec::sif {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string_view first_word(std::string_view line) {
  size_t end = line.find_first_of(" \t;");
  return line.substr(0, end);
}

// +1 for a line that opens a compound command or function body, -1 for one that closes it.
int nesting_change(std::string_view line) {
  constexpr std::array<std::string_view, 5> openers{"if", "case", "for", "while", "until"};
  constexpr std::array<std::string_view, 4> closers{"fi", "esac", "done", "}"};
  std::string_view word = first_word(line);
  int change = 0;
  if (std::find(openers.begin(), openers.end(), word) != openers.end() || line.ends_with("{")) {
    ++change;
  }
  for (std::string_view closer : closers) {
    if (line == closer || line.ends_with(" " + std::string(closer)) || line.ends_with(";" + std::string(closer))) {
      --change;
      break;
    }
  }
  return change;
}

// Within double quotes: only $NAME and ${NAME} are understood.
bool plain_double_quoted(std::string_view v) {
  for (size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    if (c == '`' || c == '"') {
      return false;
    }
    if (c == '\\') {
      ++i;
      continue;
    }
    if (c == '$' && i + 1 < v.size()) {
      if (v[i + 1] == '(') {
        return false;
      }
      if (v[i + 1] == '{') {
        size_t close = v.find('}', i);
        if (close == std::string_view::npos || !is_valid_env_name(v.substr(i + 2, close - i - 2))) {
          return false;
        }
      }
    }
  }
  return true;
}

// The value in parse_env_text's syntax, or nullopt when it is more than cexec evaluates.
std::optional<std::string> simple_value(std::string_view v) {
  if (v.size() >= 2 && v.front() == '\'' && v.back() == '\'') {
    std::string_view inner = v.substr(1, v.size() - 2);
    if (inner.find('\'') != std::string_view::npos) {
      return std::nullopt;
    }
    std::string out = "\"";
    for (char c : inner) {
      out += c == '$' ? std::string("\\$") : std::string(1, c);
    }
    return out + "\"";
  }
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
    return plain_double_quoted(v.substr(1, v.size() - 2)) ? std::optional(std::string(v)) : std::nullopt;
  }
  if (v.find_first_of(" \t;&|<>()`\"'\\") != std::string_view::npos || !plain_double_quoted(v)) {
    return std::nullopt;
  }
  return std::string(v);
}

bool is_label_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-' || c == '/' || c == ':';
  });
}

}  // namespace

std::string assignments_from_script(std::string_view script) {
  std::string out;
  int depth = 0;
  while (!script.empty()) {
    size_t nl = script.find('\n');
    std::string_view line = trim(script.substr(0, nl));
    script = nl == std::string_view::npos ? std::string_view{} : script.substr(nl + 1);
    if (line.empty() || line.front() == '#') {
      continue;
    }
    int change = nesting_change(line);
    bool top_level = depth == 0 && change == 0;
    depth = std::max(0, depth + change);
    if (!top_level) {
      continue;
    }
    if (line.starts_with("export ")) {
      line = trim(line.substr(7));
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos || !is_valid_env_name(line.substr(0, eq))) {
      continue;
    }
    if (auto value = simple_value(line.substr(eq + 1))) {
      out += std::string(line.substr(0, eq)) + "=" + *value + "\n";
    }
  }
  return out;
}

bool is_env_script(std::string_view name) { return name.size() > 3 && name.ends_with(".sh"); }

Result<std::string> labels_from_json(std::string_view json, std::string_view origin) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Failure{ErrorKind::image_invalid, std::string(origin) + ": not a JSON object of labels"};
  }
  std::string out;
  for (const auto& [name, value] : j.items()) {
    if (!is_label_name(name) || !value.is_string()) {
      continue;
    }
    std::string v = value.get<std::string>();
    std::replace(v.begin(), v.end(), '\n', ' ');
    std::replace(v.begin(), v.end(), '\r', ' ');
    out += name + "=" + v + "\n";
  }
  return out;
}

}  // namespace cexec::sif
