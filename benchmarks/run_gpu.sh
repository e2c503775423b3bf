#!/bin/sh
# GPU injection cost, side by side: launches of the same image with the fake NVIDIA driver tree
# (tests/gpu/make_gpu_fixtures.sh: 5 libraries, 2 binaries, 3 ICD files, a socket) and with a
# GPU-less host root, alternating, as private containers (--no-share: every launch pays the
# discovery a node instance pays once). Prints the medians of the `gpu-discovery` step and of the
# time to exec. Needs a test build (CEXEC_TEST_HOOKS) and a staged e2e directory.
#   benchmarks/run_gpu.sh STAGE [ROUNDS]
set -eu
stage=$1
rounds=${2:-15}
cexec="$stage/bin/cexec"
img="$stage/images/gpu.sqfs"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
i=0
while [ "$i" -lt "$rounds" ]; do
  for host in nvidia-host no-gpu-host; do
    CEXEC_LINGER=0 CEXEC_TEST_GPU_ROOT="$stage/gpu/$host" "$cexec" exec -v --no-share "$img" true 2>&1 |
      awk -v h="$host" -v d="$tmp" '
        /step gpu-discovery:/ { print $(NF-1) >> (d "/" h ".discovery") }
        /exec .* after/ { print $(NF-1) >> (d "/" h ".exec") }'
  done
  i=$((i + 1))
done
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for host in nvidia-host no-gpu-host; do
  printf '%-12s gpu-discovery %6.2f ms   exec after %6.2f ms   (median of %s)\n' "$host" \
    "$(median "$tmp/$host.discovery")" "$(median "$tmp/$host.exec")" "$rounds"
done
