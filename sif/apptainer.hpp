// Apptainer/Singularity metadata inside an image root (/.singularity.d/), mapped onto what cexec
// honours for its own images (/.cexec/, docs/image-format.md):
//   - /.singularity.d/env/*.sh, in name order, are scripts Apptainer sources before every action.
//     cexec evaluates their simple assignments only: `NAME=VALUE` or `export NAME=VALUE` at the top
//     level (not inside if/case/for/while/functions), VALUE unquoted, 'single-quoted' (literal) or
//     "double-quoted" with $NAME / ${NAME} references; a value with command substitution, `${NAME:-x}`
//     forms or several words is skipped (docs/sif.md).
//   - /.singularity.d/runscript is what `run` executes (directly when executable, else with /bin/sh).
//   - /.singularity.d/labels.json (a JSON object of strings) and runscript.help feed `cexec inspect`.
// Only used when the image has no /.cexec/ file of the same role.
#pragma once

#include "base/environment.hpp"
#include "base/error.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cexec::sif {

// Paths relative to the image root.
inline constexpr const char* apptainer_env_dir = ".singularity.d/env";
inline constexpr const char* apptainer_runscript = ".singularity.d/runscript";
inline constexpr const char* apptainer_labels = ".singularity.d/labels.json";
inline constexpr const char* apptainer_help = ".singularity.d/runscript.help";

// The simple assignments of one env script, as /.cexec/environment lines (parse_env_text's format).
std::string assignments_from_script(std::string_view script);

// Whether a file of the env directory is sourced (Apptainer sources *.sh).
bool is_env_script(std::string_view name);

// A JSON object of labels as /.cexec/labels lines (NAME=VALUE); names outside the labels
// alphabet and non-string values are skipped, line breaks in values become spaces.
Result<std::string> labels_from_json(std::string_view json, std::string_view origin);

// Inside the container root: the environment of /.singularity.d/env/*.sh, or nullopt when the
// image has no such directory.
std::optional<EnvList> read_apptainer_environment();

// Inside the container root: the argv that runs /.singularity.d/runscript, or nullopt.
std::optional<std::vector<std::string>> apptainer_runscript_argv();

}  // namespace cexec::sif
