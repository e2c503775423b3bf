// What `cexec build` says about the tools it runs (debootstrap, the %setup/%post/%test scripts and
// the apt or dnf inside them) without printing their thousands of lines: the lines are counted and
// the package events recognised, for one progress line per phase. Pure.
#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>

namespace cexec::build {

class ToolOutput {
 public:
  explicit ToolOutput(size_t tail_lines = 20) : _tail_max(tail_lines) {}

  // Feeds output as it arrives; lines may be split across calls.
  void feed(std::string_view bytes);
  // Takes a last line without a newline as a line.
  void finish();

  size_t lines() const { return _lines; }
  size_t retrieved() const { return _retrieved; }  // debootstrap "I: Retrieving PKG", apt "Get:N ..."
  size_t installed() const { return _installed; }  // debootstrap "I: Configuring PKG", apt "Setting up PKG"
  // "87 packages retrieved, 80 set up, 1234 lines", or "3 lines", or "no output".
  std::string summary() const;
  // The last lines (at most the constructor's count), each ending with '\n'.
  std::string tail() const;

 private:
  void line(std::string_view l);

  size_t _tail_max;
  std::string _partial;
  std::deque<std::string> _tail;
  size_t _lines = 0;
  size_t _retrieved = 0;
  size_t _installed = 0;
};

}  // namespace cexec::build
