#include "bind_spec.hpp"

namespace cexec {

namespace {

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    size_t pos = text.find(sep, start);
    parts.push_back(text.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos) {
      return parts;
    }
    start = pos + 1;
  }
}

Result<BindSpec> parse_one(std::string_view item) {
  auto bad = [&](const std::string& why) {
    return Failure{ErrorKind::usage, "bind spec `" + std::string(item) + "`: " + why};
  };
  auto fields = split(item, ':');
  if (fields.size() > 3) {
    return bad("too many ':' fields (expected SRC[:DST[:ro|rw]])");
  }
  BindSpec spec;
  spec.source = std::string(fields[0]);
  if (spec.source.empty()) {
    return bad("empty source");
  }
  if (fields.size() >= 2) {
    if (fields[1].empty()) {
      return bad("empty destination");
    }
    spec.destination = normalize_path(fields[1]);
    if (auto why = destination_problem(fields[1]); !why.empty()) {
      return bad(why);
    }
  }
  if (fields.size() == 3) {
    if (fields[2] == "ro") {
      spec.read_only = true;
    } else if (fields[2] != "rw") {
      return bad("unknown option `" + std::string(fields[2]) + "` (expected ro or rw)");
    }
  }
  return spec;
}

}  // namespace

std::string destination_problem(std::string_view destination) {
  if (destination.empty() || destination.front() != '/') {
    return "destination `" + std::string(destination) + "` is not an absolute path";
  }
  for (auto part : split(destination, '/')) {
    if (part == "..") {
      return "destination `" + std::string(destination) + "` contains `..` and could escape the image root";
    }
  }
  return "";
}

std::string normalize_path(std::string_view path) {
  std::string out;
  for (auto part : split(path, '/')) {
    if (part.empty() || part == ".") {
      continue;
    }
    out += '/';
    out += part;
  }
  if (out.empty()) {
    return path.starts_with('/') ? "/" : ".";
  }
  if (!path.starts_with('/')) {
    out.erase(0, 1);
  }
  return out;
}

Result<std::vector<BindSpec>> parse_bind_specs(std::string_view text) {
  std::vector<BindSpec> specs;
  for (auto item : split(text, ',')) {
    if (item.empty()) {
      return Failure{ErrorKind::usage, "bind spec `" + std::string(text) + "`: empty entry in list"};
    }
    auto one = parse_one(item);
    if (!one) {
      return one.failure();
    }
    specs.push_back(std::move(one).value());
  }
  return specs;
}

}  // namespace cexec
