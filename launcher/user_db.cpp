#include "user_db.hpp"
#include "base/text.hpp"

#include <algorithm>

namespace cexec {

namespace {

// Field `index` of a colon-separated line, or "" when missing.
std::string_view field(std::string_view line, size_t index) {
  for (size_t i = 0; i < index; ++i) {
    size_t pos = line.find(':');
    if (pos == std::string_view::npos) {
      return {};
    }
    line.remove_prefix(pos + 1);
  }
  return line.substr(0, line.find(':'));
}

template <typename Keep>
std::string filter_lines(std::string_view text, Keep keep) {
  std::string out;
  while (!text.empty()) {
    std::string_view line = next_line(text);
    if (!line.empty() && keep(line)) {
      out.append(line);
      out += '\n';
    }
  }
  return out;
}

}  // namespace

std::string make_passwd(std::string_view image_passwd, const UserEntry& u) {
  std::string uid = std::to_string(u.uid);
  std::string out = filter_lines(image_passwd, [&](std::string_view line) {
    return field(line, 0) != u.name && field(line, 2) != uid;
  });
  out += u.name + ":x:" + uid + ":" + std::to_string(u.gid) + ":" + u.gecos + ":" + u.home + ":" + u.shell + "\n";
  return out;
}

std::string make_group(std::string_view image_group, const std::vector<GroupEntry>& groups,
                       std::string_view user_name) {
  std::string out = filter_lines(image_group, [&](std::string_view line) {
    return std::none_of(groups.begin(), groups.end(), [&](const GroupEntry& g) {
      return field(line, 0) == g.name || field(line, 2) == std::to_string(g.gid);
    });
  });
  for (const auto& g : groups) {
    out += g.name + ":x:" + std::to_string(g.gid) + ":" + std::string(user_name) + "\n";
  }
  return out;
}


}  // namespace cexec
