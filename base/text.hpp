// Line-based text, the one way every parser here reads it (env files, cexec.conf, mpi.conf, the GPU
// lists, definition files, labels, /etc/subuid, tool output). Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cexec {

// Takes the first line off `text` and returns it without its '\n' (the last line needs none).
// Loop `while (!text.empty()) { auto line = next_line(text); ... }`: a trailing "\n" ends the text
// without an empty last line.
inline std::string_view next_line(std::string_view& text) {
  size_t nl = text.find('\n');
  std::string_view line = text.substr(0, nl);
  text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
  return line;
}

// `s` without the blanks around it: spaces and tabs, and trailing CRs (a file written with CRLF line
// ends). The one rule for line-based text: env files here, cexec.conf, mpi.conf, definition files.
std::string_view trim_blanks(std::string_view s);

// The parts of `text` between `sep`s, empty ones left out: a PATH-like list ("a::b:" gives a, b; an
// empty element would mean "." to the loader and the shell) or the lines of a command's output.
std::vector<std::string> split_nonempty(std::string_view text, char sep);

}  // namespace cexec
