// The image metadata cexec build writes under /.cexec/ (docs/image-format.md), rendered from a
// definition file or an OCI/Docker image config; and the labels file's syntax. Pure.
#pragma once

#include "base/error.hpp"
#include "definition.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cexec::build {

// What goes into /.cexec/: each file is written when its value is set and kept from the base image
// (localimage) otherwise. Labels are merged: the base's, then these, later names replacing earlier.
struct ImageMetadata {
  std::optional<std::string> environment;  // file content
  std::optional<std::string> runscript;    // file content, with its #! line
  std::optional<std::string> help;
  std::optional<std::string> definition;
  std::vector<Label> labels;
  bool operator==(const ImageMetadata&) const = default;
};

// `NAME=VALUE` lines; VALUE runs to the end of the line and is taken verbatim.
std::string render_labels(const std::vector<Label>& labels);
Result<std::vector<Label>> parse_labels_text(std::string_view text, std::string_view origin);
// `base` with `overrides` applied in order: a name already present keeps its place and takes the new value.
std::vector<Label> merge_labels(std::vector<Label> base, const std::vector<Label>& overrides);

// "#!INTERPRETER\n" + body.
std::string render_script(const Script& script);

// One environment-file line for a literal value: `$` and `\` are escaped so no expansion happens,
// and quotes are added when the value would otherwise lose its own. Fails on a newline in the value.
Result<std::string> render_env_line(std::string_view name, std::string_view value);

// `'...'` for /bin/sh, quoting embedded single quotes.
std::string shell_quote(std::string_view s);

// The metadata a definition file contributes (labels from %labels only; build labels are added by the plan).
ImageMetadata metadata_from_definition(const Definition& def);

}  // namespace cexec::build
