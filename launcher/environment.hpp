// The payload's environment, built from ordered deltas (pure). Precedence, lowest first:
//   1. the host environment minus the deny-list (or, with --cleanenv, only the minimal set)
//   2. PATH defaults to the standard system PATH
//   3. the image's environment (/.cexec/environment)
//   4. the node instance's injected operations (/.cexec/host/environment: MPI bridge, GPU driver)
//   5. CEXEC_ENV_NAME=VAL from the host environment
//   6. --env-file files, in order
//   7. --env KEY=VAL, in order
//   8. per-rank operations (placement, framework variables), mostly "only when unset"
//   9. CEXEC_CONTAINER=1 and CEXEC_IMAGE=<image path>, always
// Values in 3-6 may reference variables set so far as $NAME or ${NAME}; "\$" is a literal "$".
#pragma once

#include "error.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cexec {

using EnvVar = std::pair<std::string, std::string>;
using EnvList = std::vector<EnvVar>;

inline constexpr const char* default_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Host variables never passed: they name host files that mean nothing (or harm) inside the image.
inline constexpr std::string_view env_deny_list[] = {"LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "PATH"};
// The only host variables --cleanenv keeps.
inline constexpr std::string_view env_clean_keep[] = {"HOME", "USER", "LOGNAME", "TERM", "LANG", "LC_ALL", "TZ"};

// One computed change to the environment (layers 4 and 8 above).
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

// The node instance publishes its operations as text, one per line: "set NAME=VALUE",
// "default NAME=VALUE" or "prepend NAME=VALUE" (VALUE runs to the end of the line, no quoting;
// values holding a newline are refused when written).
Result<std::string> format_env_ops(const std::vector<EnvOp>& ops);
Result<std::vector<EnvOp>> parse_env_ops(std::string_view text, std::string_view origin);

struct EnvInputs {
  std::vector<std::string> host;  // "NAME=VALUE" as in environ
  EnvList image;                  // from the image, unexpanded
  std::vector<std::pair<std::string, EnvList>> env_files;  // path and its entries, unexpanded
  std::vector<std::string> cli;   // --env values, "NAME=VALUE"
  std::vector<EnvOp> injected;    // from the node instance, right after the image's environment
  std::vector<EnvOp> rank;        // this rank's own values, after --env
  bool cleanenv = false;
  std::string image_path;
};

// `s` without the blanks around it: spaces and tabs, and trailing CRs (a file written with CRLF line
// ends). The one rule for line-based text: env files here, cexec.conf, mpi.conf, definition files.
std::string_view trim_blanks(std::string_view s);

// The parts of `text` between `sep`s, empty ones left out: a PATH-like list ("a::b:" gives a, b; an
// empty element would mean "." to the loader and the shell) or the lines of a command's output.
std::vector<std::string> split_nonempty(std::string_view text, char sep);

// Parses KEY=VALUE lines ("export " prefix, comments, blank lines, single or double quotes allowed).
// `origin` names the file in errors ("FILE:LINE: ...").
Result<EnvList> parse_env_text(std::string_view text, std::string_view origin);

bool is_valid_env_name(std::string_view name);

// Expands $NAME and ${NAME} against `env`; unknown names expand to "".
std::string expand_env_value(std::string_view value, const EnvList& env);

Result<EnvList> assemble_environment(const EnvInputs& in);

// "NAME=VALUE" strings for execve.
std::vector<std::string> to_environ(const EnvList& env);

std::string_view env_lookup(const EnvList& env, std::string_view name, std::string_view fallback = "");

// The value of NAME in a captured environ ("NAME=VALUE" strings), viewing into `environ`; an
// empty value counts as unset (the first non-empty one wins).
std::optional<std::string_view> try_environ_value(const std::vector<std::string>& environ, std::string_view name);

}  // namespace cexec
