// The verbs: one entry point each, one file each (launcher/commands/), called by main() with the
// parsed options and the environment captured once. Each returns cexec's exit status or throws Error
// (main turns it into one line and its exit code, docs/exit-codes in README.md).
#pragma once

#include "base/environment.hpp"
#include "options.hpp"

namespace cexec {

// `cexec [exec|run|shell] IMAGE ...`: the container pipeline (pipeline.cpp). On success the process
// has become the payload and this never returns.
int run_container(const LaunchOptions& options, const Environ& environ);
// `cexec build OUT SPEC` (build.cpp): reads the facts the build plan needs, plans, runs the builder.
int run_build(const BuildOptions& options, const Environ& environ);
// `cexec inspect IMAGE` and `cexec run-help IMAGE` (inspect.cpp): the image's metadata, read
// without mounting.
int run_inspect(const InspectOptions& options);
// `cexec cache list|clean` (cache.cpp): the registry layer cache.
int run_cache(const CacheOptions& options, const Environ& environ);
// `cexec check [--json]` (check.cpp) and `cexec check --gpu [IMAGE]` (check_gpu.cpp).
int run_check(const CheckOptions& options, const Environ& environ);
int run_gpu_check(const CheckOptions& options, const Environ& environ);
// `cexec mpi check IMAGE` (mpi_check.cpp): the MPI bridge's preflight; 0 when compatible.
int run_mpi_check(const MpiCheckOptions& options, const Environ& environ);
// `cexec plan` (plan.cpp): the placement plan for a job, printed.
int run_plan(const PlanOptions& options, const Environ& environ);

}  // namespace cexec
