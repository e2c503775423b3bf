// `cexec inspect IMAGE [--json]` and `cexec run-help IMAGE`: the image's /.cexec/ metadata, its
// size and (for SquashFS files) its sha256 digest, read without mounting: a SquashFS image is read
// in-process through libsquashfuse.
#pragma once

#include "../options.hpp"

namespace cexec::build {

// Prints to stdout; returns cexec's exit status. Throws Error for a missing or invalid image.
int run_inspect(const InspectOptions& options);

}  // namespace cexec::build
