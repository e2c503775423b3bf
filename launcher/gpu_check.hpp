// `cexec check --gpu [IMAGE]`: what GPU discovery finds on this host, with versions, what a launch
// would inject and where, and (with IMAGE) the image's CUDA runtime against the driver.
#pragma once

#include "options.hpp"

namespace cexec {

int run_gpu_check(const CheckOptions& options, char** environ);

}  // namespace cexec
