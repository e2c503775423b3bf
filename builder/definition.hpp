// Definition files (Apptainer/Singularity format, the subset cexec builds): a header of `Key: value`
// lines, then %sections. Parsing is pure: every problem is a Failure naming FILE:LINE.
#pragma once

#include "base/error.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cexec::build {

enum class Bootstrap { debootstrap, directory, localimage, docker_archive, oci_archive, docker };

const char* bootstrap_name(Bootstrap b);

// A scriptlet section (%setup, %post, %test, %runscript): its text and the interpreter that runs it
// (`%post -c /bin/bash`; /bin/sh by default).
struct Script {
  std::string body;
  std::string interpreter = "/bin/sh";
  int line = 0;  // the section's header line
  bool operator==(const Script&) const = default;
};

// One %files line: a host path (relative to the definition file's folder, globs allowed) and where
// it goes in the image (the same path when omitted).
struct FileCopy {
  std::string source;
  std::string destination;
  int line = 0;
  bool operator==(const FileCopy&) const = default;
};

using Label = std::pair<std::string, std::string>;

struct Definition {
  std::string origin;  // the file name used in messages
  std::string text;    // the whole file, stored in the image as /.cexec/definition
  Bootstrap bootstrap = Bootstrap::directory;
  std::string from;        // directory, localimage, docker-archive, oci-archive; docker: a registry reference
  std::string os_version;  // debootstrap: the suite (bookworm)
  std::string mirror_url;  // debootstrap
  std::vector<std::string> include;  // debootstrap: extra packages
  std::optional<Script> setup, post, test, runscript;
  std::vector<FileCopy> files;
  std::optional<std::string> environment;  // NAME=VALUE lines, already validated
  std::optional<std::string> help;
  std::vector<Label> labels;
};

inline constexpr const char* default_debian_mirror = "http://deb.debian.org/debian";

// Parses a definition file. `origin` names it in errors ("FILE:LINE: ...").
Result<Definition> parse_definition(std::string_view text, std::string_view origin);

// The first line (1-based) that is not UTF-8 text (invalid UTF-8 or a NUL byte), if any.
std::optional<int> try_find_non_text_line(std::string_view text);

// Label names: letters, digits and `._-/:` (OCI and Apptainer labels such as org.opencontainers.image.title).
bool is_valid_label_name(std::string_view name);

}  // namespace cexec::build
