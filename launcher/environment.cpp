#include "environment.hpp"

#include "launch_context.hpp"

#include <algorithm>

namespace cexec {

namespace {

void set_var(EnvList& env, std::string name, std::string value) {
  auto it = std::find_if(env.begin(), env.end(), [&](const EnvVar& v) { return v.first == name; });
  if (it != env.end()) {
    it->second = std::move(value);
  } else {
    env.emplace_back(std::move(name), std::move(value));
  }
}

std::string strip_quotes(std::string_view v) {
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) {
    return std::string(v.substr(1, v.size() - 2));
  }
  return std::string(v);
}

bool contains(std::span<const std::string_view> list, std::string_view name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

constexpr std::string_view env_prefix = "CEXEC_ENV_";

}  // namespace

bool is_valid_env_name(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

Result<EnvList> parse_env_text(std::string_view text, std::string_view origin) {
  EnvList out;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
      line.remove_prefix(1);
    }
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) {
      line.remove_suffix(1);
    }
    if (line.empty() || line.front() == '#') {
      continue;
    }
    if (line.starts_with("export ")) {
      line.remove_prefix(7);
    }
    size_t eq = line.find('=');
    std::string_view name = line.substr(0, eq);
    if (eq == std::string_view::npos || !is_valid_env_name(name)) {
      return Failure{ErrorKind::usage, std::string(origin) + ":" + std::to_string(line_no) +
                                           ": expected NAME=VALUE, got `" + std::string(line) + "`"};
    }
    out.emplace_back(std::string(name), strip_quotes(line.substr(eq + 1)));
  }
  return out;
}

std::string expand_env_value(std::string_view value, const EnvList& env) {
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c == '\\' && i + 1 < value.size() && value[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    if (c != '$' || i + 1 >= value.size()) {
      out += c;
      continue;
    }
    size_t start = i + 1;
    bool braced = value[start] == '{';
    if (braced) {
      ++start;
    }
    size_t end = start;
    while (end < value.size() && is_valid_env_name(value.substr(start, end - start + 1))) {
      ++end;
    }
    if (end == start || (braced && (end >= value.size() || value[end] != '}'))) {
      out += c;  // not a reference: keep the "$" literally
      continue;
    }
    out += env_lookup(env, value.substr(start, end - start));
    i = braced ? end : end - 1;
  }
  return out;
}

std::string_view env_lookup(const EnvList& env, std::string_view name, std::string_view fallback) {
  for (const auto& [k, v] : env) {
    if (k == name) {
      return v;
    }
  }
  return fallback;
}

Result<EnvList> assemble_environment(const EnvInputs& in) {
  EnvList env;
  EnvList from_prefix;
  for (const auto& entry : in.host) {
    size_t eq = entry.find('=');
    if (eq == std::string::npos) {
      continue;
    }
    std::string name = entry.substr(0, eq);
    std::string value = entry.substr(eq + 1);
    if (name.starts_with(env_prefix) && name.size() > env_prefix.size()) {
      std::string inner = name.substr(env_prefix.size());
      if (!is_valid_env_name(inner)) {
        return Failure{ErrorKind::usage, name + ": `" + inner + "` is not a valid variable name"};
      }
      from_prefix.emplace_back(std::move(inner), value);
      continue;
    }
    if (name.starts_with("CEXEC_") || contains(env_deny_list, name)) {
      continue;  // cexec's own controls and host-only linker/PATH settings stay outside
    }
    if (in.cleanenv && !contains(env_clean_keep, name) && !is_launcher_variable(name)) {
      continue;
    }
    set_var(env, std::move(name), std::move(value));
  }
  set_var(env, "PATH", default_path);

  auto apply = [&](const EnvList& deltas) {
    for (const auto& [k, v] : deltas) {
      set_var(env, k, expand_env_value(v, env));
    }
  };
  apply(in.image);
  apply(from_prefix);
  for (const auto& file : in.env_files) {
    apply(file.second);
  }
  for (const auto& item : in.cli) {
    size_t eq = item.find('=');
    if (eq == std::string::npos || !is_valid_env_name(item.substr(0, eq))) {
      return Failure{ErrorKind::usage, "--env `" + item + "`: expected NAME=VALUE"};
    }
    set_var(env, item.substr(0, eq), expand_env_value(item.substr(eq + 1), env));
  }
  set_var(env, "CEXEC_CONTAINER", "1");
  set_var(env, "CEXEC_IMAGE", in.image_path);
  return env;
}

std::vector<std::string> to_environ(const EnvList& env) {
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [k, v] : env) {
    out.push_back(k + "=" + v);
  }
  return out;
}

}  // namespace cexec
