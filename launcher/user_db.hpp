// /etc/passwd and /etc/group for inside the container: the image's entries plus the calling user
// and their groups (pure). Host files are never copied wholesale.
#pragma once

#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace cexec {

struct UserEntry {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string gecos;
  std::string home;
  std::string shell;
};

struct GroupEntry {
  std::string name;
  gid_t gid = 0;
};

// Image lines with the user's name or uid are replaced by the user's entry, appended last.
std::string make_passwd(std::string_view image_passwd, const UserEntry& user);

// Image lines with any of the groups' names or gids are replaced by those groups, each listing the
// user as a member.
std::string make_group(std::string_view image_group, const std::vector<GroupEntry>& groups,
                       std::string_view user_name);


}  // namespace cexec
