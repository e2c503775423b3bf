#include "cli_fast.hpp"

namespace cexec {

bool is_verb(const std::string& s) {
  for (const char* verb : {"exec", "run", "shell", "build", "pull", "inspect", "run-help", "plan", "mpi", "check", "cache"}) {
    if (s == verb) {
      return true;
    }
  }
  return false;
}

std::optional<LaunchOptions> try_plain_exec(const std::vector<std::string>& args) {
  if (args.size() < 2 || args[0].empty() || args[0][0] == '-' || is_verb(args[0]) || args[1].empty() ||
      args[1][0] == '-') {
    return std::nullopt;
  }
  LaunchOptions o;
  o.verb = Verb::exec;
  o.image = args[0];
  o.command.assign(args.begin() + 1, args.end());
  return o;
}

}  // namespace cexec
