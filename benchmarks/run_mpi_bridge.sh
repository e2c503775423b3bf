#!/usr/bin/env bash
# run_mpi_bridge.sh: the MPI bridge benchmark (issue 5). Ping-pong latency and bandwidth from 8 B
# to 4 MiB and an allreduce (bench_mpi_sweep.c), two ranks under mpirun, three variants run
# interleaved round by round so that other load falls on each alike:
#   native    mpirun -np 2 bench                                      (the host's Open MPI)
#   image     mpirun -np 2 cexec --mpi=image mpi.sqfs bench           (the image's own Open MPI copy)
#   injected  mpirun -np 2 cexec --mpi=host nompi.sqfs bench          (the host's MPI injected into an image without MPI)
# Prints the median over rounds of each figure (each figure is itself the best of short windows).
# Usage: benchmarks/run_mpi_bridge.sh [ROUNDS (default 5)] [WINDOWS (default 10)]
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${CEXEC_BUILD_DIR:-$repo/build}
rounds=${1:-5}
windows=${2:-10}
work=$(mktemp -d /tmp/cexec-bridge-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 0755 "$work"

mpicc -O2 -o "$work/bench" "$repo/benchmarks/bench_mpi_sweep.c"
"$repo/tests/mpi/make_mpi_image.sh" "$build/tests/mpi_probe" "$work" >/dev/null
"$repo/tests/mpi/make_bridge_images.sh" "$build/tests/mpi_probe" "$repo" "$work" >/dev/null

mpirun=(mpirun -np 2 --oversubscribe)
[ "$(id -u)" -eq 0 ] && mpirun+=(--allow-run-as-root)
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r), $(mpirun --version | head -1)"
for ((r = 1; r <= rounds; ++r)); do
  "${mpirun[@]}" "$work/bench" "$windows" > "$work/native.$r"
  CEXEC_LINGER=0 "${mpirun[@]}" "$build/cexec" --mpi=image "$work/mpi.sqfs" "$work/bench" "$windows" > "$work/image.$r"
  CEXEC_LINGER=0 "${mpirun[@]}" "$build/cexec" --mpi=host "$work/nompi.sqfs" "$work/bench" "$windows" > "$work/injected.$r"
done

median() { sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }
printf '\n| message | latency native (us) | image MPI | injected | bandwidth native (MB/s) | image MPI | injected |\n|---|---|---|---|---|---|---|\n'
for bytes in $(awk '$1=="sweep" {print $2}' "$work/native.1"); do
  row="| $bytes B"
  for col in 3 4; do
    for v in native image injected; do
      row+=" | $(cat "$work/$v".* | awk -v b="$bytes" -v c="$col" '$1=="sweep" && $2==b {print $c}' | median)"
    done
  done
  echo "$row |"
done
printf '\n| allreduce | native (us) | image MPI | injected |\n|---|---|---|---|\n'
for bytes in $(awk '$1=="allreduce" {print $2}' "$work/native.1"); do
  row="| $bytes B"
  for v in native image injected; do
    row+=" | $(cat "$work/$v".* | awk -v b="$bytes" '$1=="allreduce" && $2==b {print $3}' | median)"
  done
  echo "$row |"
done
