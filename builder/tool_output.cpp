#include "tool_output.hpp"

namespace cexec::build {

namespace {

// debootstrap's "I: Retrieving Release", "... InRelease", "... Packages" are the indexes, not packages.
bool is_index(std::string_view what) {
  return what.starts_with("Release") || what.starts_with("InRelease") || what.starts_with("Packages");
}

}  // namespace

void ToolOutput::feed(std::string_view bytes) {
  for (;;) {
    auto nl = bytes.find('\n');
    if (nl == std::string_view::npos) {
      _partial.append(bytes);
      // A tool that never ends its lines (a progress bar) must not grow this without bound.
      if (_partial.size() > 64 * 1024) {
        line(_partial);
        _partial.clear();
      }
      return;
    }
    _partial.append(bytes.substr(0, nl));
    line(_partial);
    _partial.clear();
    bytes.remove_prefix(nl + 1);
  }
}

void ToolOutput::finish() {
  if (!_partial.empty()) {
    line(_partial);
    _partial.clear();
  }
}

void ToolOutput::line(std::string_view l) {
  // Progress bars redraw with '\r': the line is what was drawn last.
  if (auto cr = l.find_last_of('\r'); cr != std::string_view::npos && cr + 1 < l.size()) {
    l.remove_prefix(cr + 1);
  }
  ++_lines;
  if (l.starts_with("I: Retrieving ") && !is_index(l.substr(14))) {
    ++_retrieved;
  } else if (l.starts_with("Get:")) {
    ++_retrieved;
  } else if (l.starts_with("I: Configuring ") || l.starts_with("Setting up ")) {
    ++_installed;
  }
  // A failure shows the tail on the terminal: a line is cut at 1000 bytes there.
  _tail.emplace_back(l.substr(0, 1000));
  if (_tail.size() > _tail_max) {
    _tail.pop_front();
  }
}

std::string ToolOutput::summary() const {
  if (_lines == 0) {
    return "no output";
  }
  std::string out;
  if (_retrieved > 0) {
    out += std::to_string(_retrieved) + (_retrieved == 1 ? " package" : " packages") + " retrieved, ";
  }
  if (_installed > 0) {
    out += std::to_string(_installed) + (_retrieved == 0 ? (_installed == 1 ? " package set up, " : " packages set up, ") : " set up, ");
  }
  return out + std::to_string(_lines) + (_lines == 1 ? " line" : " lines");
}

std::string ToolOutput::tail() const {
  std::string out;
  for (const auto& l : _tail) {
    out += l + "\n";
  }
  return out;
}

}  // namespace cexec::build
