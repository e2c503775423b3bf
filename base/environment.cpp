#include "base/environment.hpp"
#include "base/text.hpp"

#include <algorithm>

namespace cexec {

namespace {

std::string strip_quotes(std::string_view v) {
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) {
    return std::string(v.substr(1, v.size() - 2));
  }
  return std::string(v);
}

}  // namespace

void set_env_var(EnvList& env, std::string name, std::string value) {
  auto it = std::find_if(env.begin(), env.end(), [&](const EnvVar& v) { return v.first == name; });
  if (it != env.end()) {
    it->second = std::move(value);
  } else {
    env.emplace_back(std::move(name), std::move(value));
  }
}

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
    std::string_view line = next_line(text);
    ++line_no;
    line = trim_blanks(line);
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


std::optional<std::string_view> try_environ_value(const std::vector<std::string>& environ, std::string_view name) {
  for (const auto& e : environ) {
    if (e.size() > name.size() + 1 && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=') {
      return std::string_view(e).substr(name.size() + 1);
    }
  }
  return std::nullopt;
}

void apply_env_ops(EnvList& env, const std::vector<EnvOp>& ops) {
  for (const auto& op : ops) {
    std::string_view current = env_lookup(env, op.name);
    bool present = std::any_of(env.begin(), env.end(), [&](const EnvVar& v) { return v.first == op.name; });
    switch (op.kind) {
      case EnvOpKind::set:
        set_env_var(env, op.name, op.value);
        break;
      case EnvOpKind::set_default:
        if (!present) {
          set_env_var(env, op.name, op.value);
        }
        break;
      case EnvOpKind::prepend_path:
        set_env_var(env, op.name, current.empty() ? op.value : op.value + ":" + std::string(current));
        break;
    }
  }
}

namespace {

constexpr std::pair<EnvOpKind, std::string_view> env_op_words[] = {
    {EnvOpKind::set, "set"}, {EnvOpKind::set_default, "default"}, {EnvOpKind::prepend_path, "prepend"}};

}  // namespace

Result<std::string> format_env_ops(const std::vector<EnvOp>& ops) {
  std::string out;
  for (const auto& op : ops) {
    if (!is_valid_env_name(op.name)) {
      return Failure{ErrorKind::internal, "environment operation on `" + op.name + "`: not a valid variable name"};
    }
    if (op.value.find('\n') != std::string::npos) {
      return Failure{ErrorKind::internal, "environment operation on `" + op.name + "`: value holds a newline"};
    }
    for (const auto& [kind, word] : env_op_words) {
      if (kind == op.kind) {
        out += std::string(word) + " " + op.name + "=" + op.value + "\n";
      }
    }
  }
  return out;
}

Result<std::vector<EnvOp>> parse_env_ops(std::string_view text, std::string_view origin) {
  std::vector<EnvOp> ops;
  size_t line_no = 0;
  while (!text.empty()) {
    std::string_view line = next_line(text);
    ++line_no;
    if (line.empty()) {
      continue;
    }
    auto bad = [&](const std::string& why) {
      return Failure{ErrorKind::internal, std::string(origin) + ":" + std::to_string(line_no) + ": " + why};
    };
    size_t space = line.find(' ');
    size_t eq = line.find('=');
    if (space == std::string_view::npos || eq == std::string_view::npos || eq < space) {
      return bad("expected `set|default|prepend NAME=VALUE`");
    }
    std::string_view word = line.substr(0, space);
    std::string name(line.substr(space + 1, eq - space - 1));
    if (!is_valid_env_name(name)) {
      return bad("`" + name + "` is not a valid variable name");
    }
    auto known = std::find_if(std::begin(env_op_words), std::end(env_op_words),
                              [&](const auto& w) { return w.second == word; });
    if (known == std::end(env_op_words)) {
      return bad("unknown operation `" + std::string(word) + "`");
    }
    ops.push_back(EnvOp{known->first, std::move(name), std::string(line.substr(eq + 1))});
  }
  return ops;
}

std::vector<std::string> to_environ(const EnvList& env) {
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [k, v] : env) {
    out.push_back(k + "=" + v);
  }
  return out;
}

std::optional<std::string_view> environ_entry(const std::vector<std::string>& environ, std::string_view name) {
  for (const auto& e : environ) {
    if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=') {
      return std::string_view(e).substr(name.size() + 1);
    }
  }
  return std::nullopt;
}

std::string environ_value(const std::vector<std::string>& environ, std::string_view name) {
  return std::string(try_environ_value(environ, name).value_or(""));
}

Environ capture_environ(char** envp) {
  Environ out;
  for (char** e = envp; e != nullptr && *e != nullptr; ++e) {
    out.emplace_back(*e);
  }
  return out;
}

}  // namespace cexec
