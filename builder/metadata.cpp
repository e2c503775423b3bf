#include "metadata.hpp"
#include "base/text.hpp"

#include <algorithm>

namespace cexec::build {

std::string render_labels(const std::vector<Label>& labels) {
  std::string out;
  for (const auto& [name, value] : labels) {
    std::string v = value;
    std::replace(v.begin(), v.end(), '\n', ' ');  // one line per label, whatever the source had
    out += name + "=" + v + "\n";
  }
  return out;
}

Result<std::vector<Label>> parse_labels_text(std::string_view text, std::string_view origin) {
  std::vector<Label> out;
  int line_no = 0;
  while (!text.empty()) {
    std::string_view line = next_line(text);
    ++line_no;
    if (line.empty() || line.front() == '#') {
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos || !is_valid_label_name(line.substr(0, eq))) {
      return Failure{ErrorKind::image_invalid, std::string(origin) + ":" + std::to_string(line_no) +
                                                   ": expected NAME=VALUE, got `" + std::string(line) + "`"};
    }
    out.emplace_back(std::string(line.substr(0, eq)), std::string(line.substr(eq + 1)));
  }
  return out;
}

std::vector<Label> merge_labels(std::vector<Label> base, const std::vector<Label>& overrides) {
  // A named pair, not a structured binding: Clang before 16 cannot capture bindings in a lambda.
  for (const Label& label : overrides) {
    auto it = std::find_if(base.begin(), base.end(), [&](const Label& l) { return l.first == label.first; });
    if (it != base.end()) {
      it->second = label.second;
    } else {
      base.push_back(label);
    }
  }
  return base;
}

std::string render_script(const Script& script) {
  std::string body = script.body;
  if (!body.empty() && body.back() != '\n') {
    body += '\n';
  }
  return "#!" + script.interpreter + "\n" + body;
}

Result<std::string> render_env_line(std::string_view name, std::string_view value) {
  if (value.find('\n') != std::string_view::npos) {
    return Failure{ErrorKind::image_invalid, "environment variable " + std::string(name) + " holds a newline"};
  }
  std::string escaped;
  for (char c : value) {
    if (c == '$') {
      escaped += "\\$";
    } else {
      escaped += c;
    }
  }
  // The environment-file reader strips one pair of matching outer quotes: protect a value that has them.
  bool outer_quotes = escaped.size() >= 2 && (escaped.front() == '"' || escaped.front() == '\'') &&
                      escaped.back() == escaped.front();
  if (outer_quotes) {
    char q = escaped.front() == '"' ? '\'' : '"';
    escaped = q + escaped + q;
  }
  return std::string(name) + "=" + escaped + "\n";
}

std::string shell_quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

ImageMetadata metadata_from_definition(const Definition& def) {
  ImageMetadata m;
  m.environment = def.environment;
  if (def.runscript) {
    m.runscript = render_script(*def.runscript);
  }
  m.help = def.help;
  m.definition = def.text;
  m.labels = def.labels;
  return m;
}

}  // namespace cexec::build
