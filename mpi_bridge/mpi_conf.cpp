#include "mpi_conf.hpp"

#include "base/environment.hpp"
#include "abi.hpp"

namespace cexec::mpi_bridge {

namespace {

bool is_clean_absolute(std::string_view p) {
  return p.starts_with('/') && p.find("/../") == std::string_view::npos && !p.ends_with("/..") &&
         p.find('\0') == std::string_view::npos;
}

}  // namespace

Result<MpiConf> parse_mpi_conf(std::string_view text, std::string_view origin) {
  MpiConf conf;
  size_t line_no = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line = text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    start = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    auto bad = [&](const std::string& why) {
      return Failure{ErrorKind::config, std::string(origin) + ":" + std::to_string(line_no) + ": " + why};
    };
    if (auto hash = line.find('#'); hash != std::string_view::npos) {
      line = line.substr(0, hash);
    }
    line = trim_blanks(line);
    if (line.empty()) {
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return bad("expected `key = value`");
    }
    std::string key(trim_blanks(line.substr(0, eq)));
    std::string value(trim_blanks(line.substr(eq + 1)));
    if (value.empty()) {
      return bad("`" + key + "` has no value");
    }
    if (key == "library" || key == "dependency" || key == "plugin-dir") {
      if (!is_clean_absolute(value)) {
        return bad(key + " `" + value + "`: not an absolute path without ..");
      }
      (key == "library" ? conf.libraries : key == "dependency" ? conf.dependencies : conf.plugin_dirs).push_back(value);
    } else if (key == "bind") {
      size_t colon = value.find(':');
      std::string src = value.substr(0, colon);
      std::string dst = colon == std::string::npos ? src : value.substr(colon + 1);
      if (!is_clean_absolute(src) || !is_clean_absolute(dst) || dst == "/") {
        return bad("bind `" + value + "`: expected SRC[:DST], absolute paths without .., DST not /");
      }
      conf.binds.emplace_back(src, dst);
    } else if (key == "env") {
      size_t e = value.find('=');
      std::string name = value.substr(0, e);
      if (e == std::string::npos || !is_valid_env_name(name)) {
        return bad("env `" + value + "`: expected NAME=VALUE");
      }
      conf.env.emplace_back(name, value.substr(e + 1));
    } else if (key == "version") {
      if (!parse_version(value)) {
        return bad("version `" + value + "`: expected numbers separated by dots");
      }
      conf.version = value;
    } else {
      return bad("unknown key `" + key + "` (library, dependency, plugin-dir, bind, env, version)");
    }
  }
  if (conf.libraries.empty()) {
    return Failure{ErrorKind::config, std::string(origin) + ": no `library = PATH` line (the MPI library to inject)"};
  }
  return conf;
}

}  // namespace cexec::mpi_bridge
