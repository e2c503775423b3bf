#include "record.hpp"

#include "base/sha256.hpp"

#include <charconv>

namespace cexec::factcache {

namespace {

constexpr std::string_view magic = "cexec-factcache 1\n";
constexpr int64_t settle_ns = 2'000'000'000;

// Paths and values may hold any byte but newline must not end a field: escape `%` and control bytes.
std::string escape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '%' || c < 0x20 || c == 0x7f) {
      constexpr char digits[] = "0123456789abcdef";
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::optional<std::string> unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    unsigned value = 0;
    if (i + 2 >= s.size()) {
      return std::nullopt;
    }
    auto [end, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, value, 16);
    if (ec != std::errc() || end != s.data() + i + 3) {
      return std::nullopt;
    }
    out += static_cast<char>(value);
    i += 2;
  }
  return out;
}

// Splits off the next space-separated field of `line`.
std::string_view next_field(std::string_view& line) {
  size_t sp = line.find(' ');
  std::string_view field = line.substr(0, sp);
  line = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
  return field;
}

template <typename T>
bool parse_number(std::string_view text, T& value) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

std::optional<FileIdentity> parse_file_line(std::string_view line) {
  FileIdentity f;
  std::string_view exists = next_field(line);
  if (exists != "1" && exists != "0") {
    return std::nullopt;
  }
  f.exists = exists == "1";
  if (!parse_number(next_field(line), f.dev) || !parse_number(next_field(line), f.ino) ||
      !parse_number(next_field(line), f.size) || !parse_number(next_field(line), f.mtime_ns) ||
      !parse_number(next_field(line), f.ctime_ns) || !parse_number(next_field(line), f.mode)) {
    return std::nullopt;
  }
  auto path = unescape(line);
  if (!path || path->empty()) {
    return std::nullopt;
  }
  f.path = std::move(*path);
  return f;
}

std::string body_of(const Record& record) {
  std::string body(magic);
  for (const auto& [name, value] : record.inputs) {
    body += "input " + escape(name) + " " + escape(value) + "\n";
  }
  for (const auto& f : record.files) {
    body += "file " + std::string(f.exists ? "1" : "0") + " " + std::to_string(f.dev) + " " + std::to_string(f.ino) + " " +
            std::to_string(f.size) + " " + std::to_string(f.mtime_ns) + " " + std::to_string(f.ctime_ns) + " " +
            std::to_string(f.mode) + " " + escape(f.path) + "\n";
  }
  body += "payload " + std::to_string(record.payload.size()) + "\n" + record.payload + "\n";
  return body;
}

}  // namespace

std::string format_record(const Record& record) {
  std::string body = body_of(record);
  return body + "sha256 " + sha256_hex(body) + "\n";
}

std::optional<Record> parse_record(std::string_view text) {
  size_t sum_at = text.rfind("sha256 ");
  if (!text.starts_with(magic) || sum_at == std::string_view::npos || !text.ends_with('\n') ||
      text.substr(sum_at + 7, text.size() - sum_at - 8) != sha256_hex(text.substr(0, sum_at))) {
    return std::nullopt;
  }
  Record record;
  std::string_view rest = text.substr(magic.size(), sum_at - magic.size());
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) {
      return std::nullopt;
    }
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl + 1);
    std::string_view kind = next_field(line);
    if (kind == "input") {
      auto name = unescape(next_field(line));
      auto value = unescape(line);
      if (!name || !value) {
        return std::nullopt;
      }
      record.inputs.emplace_back(std::move(*name), std::move(*value));
    } else if (kind == "file") {
      auto file = parse_file_line(line);
      if (!file) {
        return std::nullopt;
      }
      record.files.push_back(std::move(*file));
    } else if (kind == "payload") {
      size_t size = 0;
      if (!parse_number(line, size) || size + 1 != rest.size() || !rest.ends_with('\n')) {
        return std::nullopt;
      }
      record.payload = std::string(rest.substr(0, size));
      return record;
    } else {
      return std::nullopt;
    }
  }
  return std::nullopt;  // no payload
}

std::string why_stale(const Record& stored, const Inputs& inputs,
                      const std::function<FileIdentity(const std::string&)>& identify) {
  if (stored.inputs != inputs) {
    return "its inputs differ";
  }
  for (const auto& f : stored.files) {
    if (identify(f.path) != f) {
      return "`" + f.path + "` changed";
    }
  }
  return "";
}

bool is_settled(const FileIdentity& file, int64_t now_ns) {
  return !file.exists || (now_ns - file.mtime_ns >= settle_ns && now_ns - file.ctime_ns >= settle_ns);
}

}  // namespace cexec::factcache
