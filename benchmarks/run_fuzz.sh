#!/bin/sh
# The full fuzzing run (issue 18): every libFuzzer target for 10^6 executions (or RUNS), with the
# machine described, for benchmarks/RESULTS.md "Fuzzing". Each target has a time limit of its own
# (CEXEC_FUZZ_TARGET_SECONDS, default 1800 s) so that a slow target cannot hold the run forever; a target
# stopped by it reports fewer runs, which the table shows.
# Usage: benchmarks/run_fuzz.sh [RUNS] [JOBS]
set -eu
cd "$(dirname "$0")/.."
repo=$(pwd)
build_dir=${CEXEC_BUILD_DIR:-build}  # describe_machine names this build's cexec
. benchmarks/common.sh
runs=${1:-1000000}
jobs=${2:-1}
describe_machine
describe_load
echo "clang:     $(clang --version | head -1)"
echo "fuzz: $runs executions per target, $jobs at a time"
start=$(date +%s)
set +e
timeout 14400 ./scripts/fuzz.sh --runs "$runs" --time "${CEXEC_FUZZ_TARGET_SECONDS:-1800}" --jobs "$jobs" --build build-fuzz
rc=$?
set -e
echo "fuzz: whole run $(($(date +%s) - start)) s, exit $rc"
exit $rc
