#include "definition.hpp"

#include "base/environment.hpp"

#include <algorithm>
#include <cctype>

namespace cexec::build {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// Splits on spaces and tabs; a token may be "double" or 'single' quoted to hold spaces.
Result<std::vector<std::string>> split_words(std::string_view s, const std::string& where) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == ' ' || s[i] == '\t') {
      ++i;
      continue;
    }
    std::string word;
    if (s[i] == '"' || s[i] == '\'') {
      char q = s[i];
      size_t end = s.find(q, i + 1);
      if (end == std::string_view::npos) {
        return Failure{ErrorKind::usage, where + ": unterminated quote"};
      }
      word = std::string(s.substr(i + 1, end - i - 1));
      i = end + 1;
    } else {
      size_t end = s.find_first_of(" \t", i);
      word = std::string(s.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i));
      i = end == std::string_view::npos ? s.size() : end;
    }
    out.push_back(std::move(word));
  }
  return out;
}

struct Section {
  std::string name;
  std::vector<std::string> args;
  int line = 0;
  std::string body;
  int body_line = 0;  // line number of the body's first line
};

constexpr std::string_view script_sections[] = {"setup", "post", "test", "runscript"};
constexpr std::string_view other_sections[] = {"files", "environment", "labels", "help"};

bool is_known_section(std::string_view name) {
  return std::find(std::begin(script_sections), std::end(script_sections), name) != std::end(script_sections) ||
         std::find(std::begin(other_sections), std::end(other_sections), name) != std::end(other_sections);
}

// A section starts at a line whose first non-blank character is `%` followed by a letter.
std::optional<std::string_view> try_section_header(std::string_view line) {
  std::string_view t = trim_blanks(line);
  if (t.size() >= 2 && t[0] == '%' && std::isalpha(static_cast<unsigned char>(t[1]))) {
    return t.substr(1);
  }
  return std::nullopt;
}

Result<bool> apply_header_line(Definition& def, std::string_view line, const std::string& where, bool seen_bootstrap) {
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    return Failure{ErrorKind::usage, where + ": expected `Keyword: value` in the header, got `" + std::string(line) + "`"};
  }
  std::string key = lower(trim_blanks(line.substr(0, colon)));
  std::string value(trim_blanks(line.substr(colon + 1)));
  if (value.empty()) {
    return Failure{ErrorKind::usage, where + ": `" + std::string(trim_blanks(line.substr(0, colon))) + ":` needs a value"};
  }
  if (key == "bootstrap") {
    if (seen_bootstrap) {
      return Failure{ErrorKind::usage, where + ": Bootstrap given twice"};
    }
    std::string v = lower(value);
    if (v == "debootstrap") {
      def.bootstrap = Bootstrap::debootstrap;
    } else if (v == "directory") {
      def.bootstrap = Bootstrap::directory;
    } else if (v == "localimage") {
      def.bootstrap = Bootstrap::localimage;
    } else if (v == "docker-archive") {
      def.bootstrap = Bootstrap::docker_archive;
    } else if (v == "oci-archive") {
      def.bootstrap = Bootstrap::oci_archive;
    } else if (v == "docker") {
      def.bootstrap = Bootstrap::docker;  // From: a registry image (registry/reference.hpp)
    } else {
      return Failure{ErrorKind::usage, where + ": unsupported Bootstrap `" + value +
                                           "` (cexec builds from debootstrap, directory, localimage, docker-archive, "
                                           "oci-archive, docker)"};
    }
  } else if (key == "from") {
    def.from = value;
  } else if (key == "osversion") {
    def.os_version = value;
  } else if (key == "mirrorurl") {
    def.mirror_url = value;
  } else if (key == "include") {
    std::string v = value;
    std::replace(v.begin(), v.end(), ',', ' ');
    auto words = split_words(v, where);
    if (!words) {
      return words.failure();
    }
    def.include.insert(def.include.end(), words.value().begin(), words.value().end());
  } else {
    return Failure{ErrorKind::usage, where + ": unknown header keyword `" + std::string(trim_blanks(line.substr(0, colon))) +
                                         "` (known: Bootstrap, From, OSVersion, MirrorURL, Include)"};
  }
  return true;
}

// Which header keywords each bootstrap takes; anything else is an error rather than silently ignored.
Result<bool> check_header(Definition& def, const std::string& origin, int bootstrap_line, bool seen_bootstrap,
                          const std::vector<std::pair<std::string, int>>& keys) {
  if (!seen_bootstrap) {
    return Failure{ErrorKind::usage, origin + ":1: missing `Bootstrap:` header (debootstrap, directory, localimage, "
                                              "docker-archive or oci-archive)"};
  }
  bool is_debootstrap = def.bootstrap == Bootstrap::debootstrap;
  for (const auto& [key, line] : keys) {
    bool debootstrap_key = key == "osversion" || key == "mirrorurl" || key == "include";
    if ((debootstrap_key && !is_debootstrap) || (key == "from" && is_debootstrap)) {
      return Failure{ErrorKind::usage, origin + ":" + std::to_string(line) + ": keyword not used by `Bootstrap: " +
                                           bootstrap_name(def.bootstrap) + "`"};
    }
  }
  std::string where = origin + ":" + std::to_string(bootstrap_line);
  if (is_debootstrap) {
    if (def.os_version.empty()) {
      return Failure{ErrorKind::usage, where + ": Bootstrap: debootstrap needs `OSVersion:` (for example bookworm)"};
    }
    if (def.mirror_url.empty()) {
      def.mirror_url = default_debian_mirror;
    }
  } else if (def.from.empty()) {
    return Failure{ErrorKind::usage, where + ": Bootstrap: " + bootstrap_name(def.bootstrap) + " needs `From:`"};
  }
  return true;
}

Result<Script> make_script(const Section& s, const std::string& origin) {
  Script script;
  script.body = s.body;
  script.line = s.line;
  std::string where = origin + ":" + std::to_string(s.line);
  if (s.args.size() == 2 && s.args[0] == "-c") {
    if (!s.args[1].starts_with('/')) {
      return Failure{ErrorKind::usage, where + ": %" + s.name + " -c needs an absolute interpreter path"};
    }
    script.interpreter = s.args[1];
  } else if (!s.args.empty()) {
    return Failure{ErrorKind::usage, where + ": %" + s.name + " takes no arguments but `-c INTERPRETER`"};
  }
  return script;
}

template <typename F>
Result<bool> for_each_content_line(const Section& s, F&& f) {
  std::string_view body = s.body;
  int line_no = s.body_line;
  while (!body.empty()) {
    size_t nl = body.find('\n');
    std::string_view line = trim_blanks(body.substr(0, nl));
    body = nl == std::string_view::npos ? std::string_view{} : body.substr(nl + 1);
    if (!line.empty() && line.front() != '#') {
      if (auto r = f(line, line_no); !r) {
        return r;
      }
    }
    ++line_no;
  }
  return true;
}

Result<bool> apply_section(Definition& def, const Section& s, const std::string& origin) {
  auto at = [&](int line) { return origin + ":" + std::to_string(line); };
  bool is_script = std::find(std::begin(script_sections), std::end(script_sections), s.name) != std::end(script_sections);
  if (is_script) {
    auto script = make_script(s, origin);
    if (!script) {
      return script.failure();
    }
    std::optional<Script>& slot = s.name == "setup" ? def.setup : s.name == "post" ? def.post : s.name == "test" ? def.test : def.runscript;
    if (slot) {
      // Apptainer appends a repeated section to the earlier one.
      slot->body += script.value().body;
    } else {
      slot = std::move(script).value();
    }
    return true;
  }
  if (!s.args.empty()) {
    return Failure{ErrorKind::usage, at(s.line) + ": %" + s.name + " takes no arguments"};
  }
  if (s.name == "files") {
    return for_each_content_line(s, [&](std::string_view line, int line_no) -> Result<bool> {
      auto words = split_words(line, at(line_no));
      if (!words) {
        return words.failure();
      }
      const auto& w = words.value();
      if (w.empty() || w.size() > 2) {
        return Failure{ErrorKind::usage, at(line_no) + ": %files lines are `SOURCE [DESTINATION]`"};
      }
      std::string dst = w.size() == 2 ? w[1] : w[0];
      if (!dst.starts_with('/')) {
        dst = "/" + dst;  // relative destinations are taken from the image root
      }
      def.files.push_back(FileCopy{w[0], dst, line_no});
      return true;
    });
  }
  if (s.name == "environment") {
    // Validated here, against the definition file's own line numbers.
    auto env = parse_env_text(std::string(static_cast<size_t>(s.body_line - 1), '\n') + s.body, origin);
    if (!env) {
      return Failure{ErrorKind::usage, env.failure().message +
                                           " (cexec takes %environment as NAME=VALUE lines, optionally with `export `)"};
    }
    def.environment = def.environment.value_or("") + s.body;
    return true;
  }
  if (s.name == "labels") {
    return for_each_content_line(s, [&](std::string_view line, int line_no) -> Result<bool> {
      size_t sep = line.find_first_of(" \t");
      std::string name(line.substr(0, sep));
      std::string value(sep == std::string_view::npos ? std::string_view{} : trim_blanks(line.substr(sep)));
      if (!is_valid_label_name(name) || value.empty()) {
        return Failure{ErrorKind::usage, at(line_no) + ": %labels lines are `NAME VALUE`, got `" + std::string(line) + "`"};
      }
      def.labels.emplace_back(std::move(name), std::move(value));
      return true;
    });
  }
  def.help = def.help.value_or("") + s.body;  // %help
  return true;
}

}  // namespace

const char* bootstrap_name(Bootstrap b) {
  switch (b) {
    case Bootstrap::debootstrap: return "debootstrap";
    case Bootstrap::directory: return "directory";
    case Bootstrap::localimage: return "localimage";
    case Bootstrap::docker_archive: return "docker-archive";
    case Bootstrap::oci_archive: return "oci-archive";
    case Bootstrap::docker: return "docker";
  }
  return "?";
}

bool is_valid_label_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '/' || c == ':';
  });
}

std::optional<int> try_find_non_text_line(std::string_view text) {
  int line = 1;
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (c == 0 || len == 0 || i + len > text.size()) {
      return line;
    }
    for (size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) >> 6) != 0x2) {
        return line;
      }
    }
    // Overlong forms and surrogates are not UTF-8 either.
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
    for (size_t k = 1; k < len; ++k) {
      cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3f);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
      return line;
    }
    line += c == '\n';
    i += len;
  }
  return std::nullopt;
}

Result<Definition> parse_definition(std::string_view text, std::string_view origin_view) {
  std::string origin(origin_view);
  if (auto bad = try_find_non_text_line(text)) {
    return Failure{ErrorKind::usage, origin + ":" + std::to_string(*bad) + ": not UTF-8 text (is this a definition file?)"};
  }
  Definition def;
  def.origin = origin;
  def.text = std::string(text);
  bool seen_bootstrap = false;
  int bootstrap_line = 1;
  std::vector<std::pair<std::string, int>> header_keys;
  std::vector<Section> sections;

  int line_no = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view raw = rest.substr(0, nl);
    std::string_view full = nl == std::string_view::npos ? rest : rest.substr(0, nl + 1);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    ++line_no;
    std::string where = origin + ":" + std::to_string(line_no);
    if (auto header = try_section_header(raw)) {
      auto words = split_words(*header, where);
      if (!words) {
        return words.failure();
      }
      Section s;
      s.name = words.value()[0];
      s.args.assign(words.value().begin() + 1, words.value().end());
      s.line = line_no;
      s.body_line = line_no + 1;
      if (!is_known_section(s.name)) {
        return Failure{ErrorKind::usage, where + ": unknown section `%" + s.name +
                                             "` (known: %setup %files %post %environment %runscript %labels %help %test)"};
      }
      sections.push_back(std::move(s));
      continue;
    }
    if (!sections.empty()) {
      sections.back().body += full;
      continue;
    }
    std::string_view line = trim_blanks(raw);
    if (line.empty() || line.front() == '#') {
      continue;
    }
    if (auto r = apply_header_line(def, line, where, seen_bootstrap); !r) {
      return r.failure();
    }
    std::string key = lower(trim_blanks(line.substr(0, line.find(':'))));
    if (key == "bootstrap") {
      seen_bootstrap = true;
      bootstrap_line = line_no;
    }
    header_keys.emplace_back(key, line_no);
  }
  if (auto r = check_header(def, origin, bootstrap_line, seen_bootstrap, header_keys); !r) {
    return r.failure();
  }
  for (const auto& s : sections) {
    if (auto r = apply_section(def, s, origin); !r) {
      return r.failure();
    }
  }
  return def;
}

}  // namespace cexec::build
