// The parts of apptainer.hpp that read the container's root (called after pivot_root).
#include "apptainer.hpp"

#include "base/sys/syscalls.hpp"

#include <unistd.h>

namespace cexec::sif {

std::optional<EnvList> read_apptainer_environment() {
  std::string dir = std::string("/") + apptainer_env_dir;
  auto names = sys::try_list_directory(dir);
  if (!names) {
    return std::nullopt;
  }
  std::string text;
  for (const std::string& name : *names) {
    if (!is_env_script(name)) {
      continue;
    }
    if (auto script = sys::try_read_file(dir + "/" + name, 1 << 20)) {
      text += assignments_from_script(*script);
    }
  }
  return value_or_throw(parse_env_text(text, dir));
}

std::optional<std::vector<std::string>> apptainer_runscript_argv() {
  std::string runscript = std::string("/") + apptainer_runscript;
  auto st = sys::try_stat(runscript);
  if (!st || !S_ISREG(st->st_mode)) {
    return std::nullopt;
  }
  if (::access(runscript.c_str(), X_OK) == 0) {
    return std::vector<std::string>{runscript};
  }
  return std::vector<std::string>{"/bin/sh", runscript};
}

}  // namespace cexec::sif
