// The payload's environment, built from ordered deltas (pure). Precedence, lowest first:
//   1. the host environment minus the deny-list (or, with --cleanenv, only the minimal set)
//   2. PATH defaults to the standard system PATH
//   3. the image's environment (/.cexec/environment)
//   4. the node instance's injected operations (/.cexec/host/environment: MPI bridge, GPU driver)
//   5. CEXEC_ENV_NAME=VAL from the host environment
//   6. --env-file files, in order
//   7. --env KEY=VAL, in order
//   8. per-rank operations (placement, framework variables), mostly "only when unset"
//   9. CEXEC_CONTAINER=1 and CEXEC_IMAGE=<image path>, always
// Values in 3-6 may reference variables set so far as $NAME or ${NAME}; "\$" is a literal "$".
#pragma once

#include "base/environment.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cexec {

// Host variables never passed: they name host files that mean nothing (or harm) inside the image.
inline constexpr std::string_view env_deny_list[] = {"LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "PATH"};
// The only host variables --cleanenv keeps.
inline constexpr std::string_view env_clean_keep[] = {"HOME", "USER", "LOGNAME", "TERM", "LANG", "LC_ALL", "TZ"};

struct EnvInputs {
  std::vector<std::string> host;  // "NAME=VALUE" as in environ
  EnvList image;                  // from the image, unexpanded
  std::vector<std::pair<std::string, EnvList>> env_files;  // path and its entries, unexpanded
  std::vector<std::string> cli;   // --env values, "NAME=VALUE"
  std::vector<EnvOp> injected;    // from the node instance, right after the image's environment
  std::vector<EnvOp> rank;        // this rank's own values, after --env
  bool cleanenv = false;
  std::string image_path;
};

Result<EnvList> assemble_environment(const EnvInputs& in);

// The variables cexec passes into the container whatever --cleanenv says: the launchers' and the
// interconnects' own (PMIx, PMI, Open MPI, SLURM, UCX, libfabric).
inline constexpr std::string_view launcher_env_prefixes[] = {"PMIX_", "PMI_", "OMPI_", "SLURM_", "UCX_", "FI_",
                                                             "MPI_LOCALRANKID", "MPI_LOCALNRANKS"};
bool is_launcher_variable(std::string_view name);


}  // namespace cexec
