#!/bin/sh
# Builds the libFuzzer targets (tests/fuzz/, Clang with ASan + UBSan) and runs each on a scratch
# copy of its seed corpus (tests/fuzz/corpus/TARGET, never modified). One line per target with the
# executions, coverage and what it found; exits 1 when any target crashed, leaked, timed out or
# tripped a sanitizer (the input is kept under BUILD/crashes/TARGET/, reproduce it with
# `BUILD/fuzz/fuzz_TARGET FILE`).
# Usage: scripts/fuzz.sh [--time SECONDS] [--runs N] [--jobs J] [--build DIR] [TARGET...]
#   --time 15 (the default; CI), --runs 1000000 (benchmarks/run_fuzz.sh; with --time, whichever
#   comes first); --jobs runs J targets at once (default 1).
set -eu
cd "$(dirname "$0")/.."
limit=""
jobs=1
build=build-fuzz
while [ $# -gt 0 ]; do
  case $1 in
    --time) limit="$limit -max_total_time=$2"; shift 2 ;;
    --runs) limit="$limit -runs=$2"; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    -*) echo "fuzz: unknown option $1" >&2; exit 64 ;;
    *) break ;;
  esac
done
targets="$*"
limit=${limit:--max_total_time=15}
if [ -z "$targets" ]; then
  targets=$(sed -n 's/^set(fuzz_targets \(.*\))$/\1/p' tests/fuzz/CMakeLists.txt)
fi
for t in $targets; do
  [ -d "tests/fuzz/corpus/$t" ] || { echo "fuzz: no target $t (tests/fuzz/corpus/$t missing)" >&2; exit 64; }
done

mkdir -p "$build"
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCEXEC_FUZZ=ON \
  -DCEXEC_BUILD_TESTS=OFF -DCEXEC_BUILD_BENCHMARKS=OFF -DCEXEC_WERROR=ON >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log"; exit 1; }
ninja -C "$build" -j"${CEXEC_BUILD_JOBS:-2}" fuzz_targets >"$build/build.log" 2>&1 || { tail -40 "$build/build.log"; exit 1; }

scratch=$(mktemp -d /tmp/cexec-fuzz-XXXXXX)
trap 'rm -rf "$scratch"' EXIT INT TERM

run_one() {  # TARGET: prints its line, returns non-zero when it found something
  t=$1
  rm -rf "$build/crashes/$t"
  mkdir -p "$scratch/$t" "$build/crashes/$t"
  log="$build/crashes/$t.log"
  # -rss_limit_mb and -timeout turn memory blow-ups and hangs into findings too.
  if "$build/fuzz/fuzz_$t" $limit -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
      -artifact_prefix="$build/crashes/$t/" "$scratch/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
    status=ok
  else
    status=FOUND
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -1)
  found=$(ls "$build/crashes/$t" | wc -l)
  echo "fuzz: $t: $status, ${runs:-0} runs (${speed:-0}/s), ${cov:-no coverage line}, $found finding(s) (log: $log)"
  [ "$status" = ok ] && [ "$found" -eq 0 ]
}

failed=0
if [ "$jobs" -le 1 ]; then
  for t in $targets; do
    run_one "$t" || failed=1
  done
else
  # J at a time; each writes its line into its own file, printed in order.
  set -- $targets
  while [ $# -gt 0 ]; do
    pids=""
    batch=""
    i=0
    while [ $# -gt 0 ] && [ $i -lt "$jobs" ]; do
      (run_one "$1" >"$scratch/$1.line"; echo $? >"$scratch/$1.rc") &
      pids="$pids $!"
      batch="$batch $1"
      i=$((i + 1))
      shift
    done
    wait $pids
    for t in $batch; do
      cat "$scratch/$t.line"
      [ "$(cat "$scratch/$t.rc")" = 0 ] || failed=1
    done
  done
fi
exit $failed
