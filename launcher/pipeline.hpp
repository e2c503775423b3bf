// The entry pipeline: argv and environ in, an exec'd payload (or an exit status) out.
#pragma once

#include <string>
#include <vector>

namespace cexec {

// Returns only on help/version/usage output or failure (as an exit status); on success the
// process has become the payload.
int launch(const std::vector<std::string>& args, char** environ);

}  // namespace cexec
