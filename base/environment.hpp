// Environment values: NAME=VALUE lists, computed operations on them (EnvOp), env-file text, and
// lookups in a captured environ. Pure. The payload's precedence is launcher/payload_env.hpp.
#pragma once

#include "base/error.hpp"
#include "base/text.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cexec {

using EnvVar = std::pair<std::string, std::string>;
using EnvList = std::vector<EnvVar>;

// The process environment as main() received it ("NAME=VALUE" strings, in order), captured once
// and passed down; nothing below main reads environ(7) itself.
using Environ = std::vector<std::string>;
Environ capture_environ(char** envp);

inline constexpr const char* default_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// One computed change to the environment (layers 4 and 8 of launcher/payload_env.hpp).
enum class EnvOpKind {
  set,           // NAME=VALUE, replacing any value
  set_default,   // NAME=VALUE only when NAME is unset at that point (never overrides the user)
  prepend_path,  // VALUE:$NAME, or VALUE when NAME is unset or empty (no empty element: that would mean ".")
};

struct EnvOp {
  EnvOpKind kind = EnvOpKind::set;
  std::string name;
  std::string value;
  bool operator==(const EnvOp&) const = default;
};

void apply_env_ops(EnvList& env, const std::vector<EnvOp>& ops);

// Sets NAME to VALUE, replacing its value in place when present, else appending it.
void set_env_var(EnvList& env, std::string name, std::string value);

// The node instance publishes its operations as text, one per line: "set NAME=VALUE",
// "default NAME=VALUE" or "prepend NAME=VALUE" (VALUE runs to the end of the line, no quoting;
// values holding a newline are refused when written).
Result<std::string> format_env_ops(const std::vector<EnvOp>& ops);
Result<std::vector<EnvOp>> parse_env_ops(std::string_view text, std::string_view origin);



// Parses KEY=VALUE lines ("export " prefix, comments, blank lines, single or double quotes allowed).
// `origin` names the file in errors ("FILE:LINE: ...").
Result<EnvList> parse_env_text(std::string_view text, std::string_view origin);

bool is_valid_env_name(std::string_view name);

// Expands $NAME and ${NAME} against `env`; unknown names expand to "".
std::string expand_env_value(std::string_view value, const EnvList& env);

// "NAME=VALUE" strings for execve.
std::vector<std::string> to_environ(const EnvList& env);

std::string_view env_lookup(const EnvList& env, std::string_view name, std::string_view fallback = "");

// The value of NAME in a captured environ ("NAME=VALUE" strings), viewing into `environ`; an
// empty value counts as unset (the first non-empty one wins).
std::optional<std::string_view> try_environ_value(const std::vector<std::string>& environ, std::string_view name);
// NAME's value even when empty (CUDA_VISIBLE_DEVICES="" means "no GPU"); nullopt only when unset.
std::optional<std::string_view> environ_entry(const std::vector<std::string>& environ, std::string_view name);
// The same as try_environ_value, as a string: "" when unset or empty.
std::string environ_value(const std::vector<std::string>& environ, std::string_view name);

}  // namespace cexec
