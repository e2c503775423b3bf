#include "base/payload_env.hpp"

#include <algorithm>
#include <span>

namespace cexec {

namespace {

bool contains(std::span<const std::string_view> list, std::string_view name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

constexpr std::string_view env_prefix = "CEXEC_ENV_";

}  // namespace

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
    set_env_var(env, std::move(name), std::move(value));
  }
  set_env_var(env, "PATH", default_path);

  auto apply = [&](const EnvList& deltas) {
    for (const auto& [k, v] : deltas) {
      set_env_var(env, k, expand_env_value(v, env));
    }
  };
  apply(in.image);
  apply_env_ops(env, in.injected);
  apply(from_prefix);
  for (const auto& file : in.env_files) {
    apply(file.second);
  }
  for (const auto& item : in.cli) {
    size_t eq = item.find('=');
    if (eq == std::string::npos || !is_valid_env_name(item.substr(0, eq))) {
      return Failure{ErrorKind::usage, "--env `" + item + "`: expected NAME=VALUE"};
    }
    set_env_var(env, item.substr(0, eq), expand_env_value(item.substr(eq + 1), env));
  }
  apply_env_ops(env, in.rank);
  set_env_var(env, "CEXEC_CONTAINER", "1");
  set_env_var(env, "CEXEC_IMAGE", in.image_path);
  return env;
}


bool is_launcher_variable(std::string_view name) {
  for (auto prefix : launcher_env_prefixes) {
    if (name.starts_with(prefix)) {
      return true;
    }
  }
  return false;
}

}  // namespace cexec
