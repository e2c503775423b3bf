#include "base/text.hpp"

namespace cexec {

std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::vector<std::string> split_nonempty(std::string_view text, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t at = text.find(sep, start);
    std::string_view part = text.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start);
    if (!part.empty()) {
      out.emplace_back(part);
    }
    if (at == std::string_view::npos) {
      break;
    }
    start = at + 1;
  }
  return out;
}

}  // namespace cexec
