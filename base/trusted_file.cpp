#include "base/trusted_file.hpp"

#include <sys/stat.h>

namespace cexec {

std::string config_ownership_problem(std::string_view path, uid_t owner, mode_t mode, std::optional<uid_t> unmapped_owner) {
  std::string p(path);
  if (!S_ISREG(mode)) {
    return "config file `" + p + "` is not a regular file";
  }
  if (owner != 0 && owner != unmapped_owner) {
    return "config file `" + p + "` is not owned by root";
  }
  if ((mode & (S_IWGRP | S_IWOTH)) != 0) {
    return "config file `" + p + "` is group- or world-writable";
  }
  return "";
}

}  // namespace cexec
