#include "config.hpp"
#include "base/text.hpp"

#include "base/environment.hpp"

#include <charconv>
#include <sys/stat.h>

namespace cexec {

std::optional<double> parse_seconds(std::string_view text) {
  double v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || p != text.data() + text.size() || v < 0 || v > 86400) {
    return std::nullopt;
  }
  return v;
}

Result<Config> parse_config(std::string_view text, std::string_view origin) {
  Config cfg;
  cfg.origin = std::string(origin);
  size_t line_no = 0;
  while (!text.empty()) {
    std::string_view line = next_line(text);
    ++line_no;
    // '#' starts a comment anywhere, as in mpi.conf and the GPU lists (README's examples end lines
    // with one).
    line = trim_blanks(line.substr(0, line.find('#')));
    if (line.empty()) {
      continue;
    }
    auto bad = [&](const std::string& why) {
      return Failure{ErrorKind::config, std::string(origin) + ":" + std::to_string(line_no) + ": " + why};
    };
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return bad("expected `key = value`, got `" + std::string(line) + "`");
    }
    std::string_view key = trim_blanks(line.substr(0, eq));
    std::string_view value = trim_blanks(line.substr(eq + 1));
    auto parse_bool = [&](bool& out) -> std::string {
      if (value == "yes" || value == "true") {
        out = true;
      } else if (value == "no" || value == "false") {
        out = false;
      } else {
        return '`' + std::string(key) + "` must be yes or no, got `" + std::string(value) + "`";
      }
      return "";
    };
    if (key == "bind") {
      auto specs = parse_bind_specs(value);
      if (!specs) {
        return bad(specs.failure().message);
      }
      for (auto& s : specs.value()) {
        if (!s.source.starts_with('/')) {
          return bad("bind source `" + s.source + "` must be an absolute path");
        }
        cfg.binds.push_back(s);
      }
    } else if (key == "deny-destination") {
      if (auto why = destination_problem(value); !why.empty()) {
        return bad(why);
      }
      cfg.deny_destinations.push_back(normalize_path(value));
    } else if (key == "allow-writable-tmpfs") {
      if (auto why = parse_bool(cfg.allow_writable_tmpfs); !why.empty()) {
        return bad(why);
      }
    } else if (key == "allow-writable") {
      if (auto why = parse_bool(cfg.allow_writable); !why.empty()) {
        return bad(why);
      }
    } else if (key == "max-binds") {
      unsigned n = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc{} || p != value.data() + value.size()) {
        return bad("`max-binds` must be a number, got `" + std::string(value) + "`");
      }
      cfg.max_binds = n;
    } else if (key == "instance-linger") {
      auto seconds = parse_seconds(value);
      if (!seconds) {
        return bad("`instance-linger` must be a number of seconds, got `" + std::string(value) + "`");
      }
      cfg.instance_linger = *seconds;
    } else if (key == "registry-shared-cache") {
      if (!value.starts_with('/')) {
        return bad("`registry-shared-cache` must be an absolute path, got `" + std::string(value) + "`");
      }
      cfg.registry_shared_cache = value;
    } else if (key == "insecure-registry") {
      if (value.find_first_of("/ \t") != std::string_view::npos) {
        return bad("`insecure-registry` takes HOST or HOST:PORT, got `" + std::string(value) + "`");
      }
      cfg.insecure_registries.emplace_back(value);
    } else {
      return bad("unknown key `" + std::string(key) + "`");
    }
  }
  return cfg;
}

std::string denied_destination_problem(std::string_view destination, const Config& config) {
  for (const auto& denied : config.deny_destinations) {
    if (is_path_under(destination, denied) || is_path_under(denied, destination)) {
      return "destination `" + std::string(destination) + "` would cover `" + denied + "`, which " + config.origin +
             " does not allow";
    }
  }
  return "";
}


}  // namespace cexec
