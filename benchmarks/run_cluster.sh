#!/usr/bin/env bash
# run_cluster.sh: the benchmarks of the multi-node issue, on the SLURM cluster of namespace nodes
# (tests/cluster/cluster.sh, started and stopped here; root).
#   1. startup across nodes: `srun -N k --ntasks-per-node=r cexec IMG true` against the bare
#      `srun ... true`, for k = 1..NODES and each r, interleaved (bench_jobs), as ratios;
#   2. where the time goes: the same with cexec -v, split into the per-node instance creation
#      (MPI and GPU discovery included) and the per-rank join (bench_jobs' -v statistics);
#   3. MPI between two nodes: 8-byte latency and 4 MiB bandwidth over the veth, native mpi_probe
#      against the same in the container (host MPI injected), interleaved; only the ratio means
#      anything (the "network" is one kernel's memory).
# Every run has a time-out; bench_jobs reports failed and timed-out runs, which are not counted.
# The nodes share this machine's cores: every node's ranks compete for the same 2 CPUs.
# See benchmarks/README.md; results in benchmarks/RESULTS.md ("Multi-node").
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${CEXEC_BUILD_DIR:-$repo/build}
as_user=""
do_build=1
nodes=4
per_node="1,2,8"
reps=10
verbose_reps=3
timeout=60
mpi_reps=10

usage() {
  cat <<EOF
Usage: benchmarks/run_cluster.sh [OPTIONS]   (as root: it starts slurmd in namespace nodes)

  --nodes N          compute nodes; k runs over 1..N (default $nodes)
  --per-node LIST    ranks per node, comma-separated (default $per_node)
  --reps N           interleaved repetitions per point and variant (default $reps)
  --verbose-reps N   repetitions of the -v pass (default $verbose_reps)
  --timeout S        seconds before a run counts as hung (default $timeout)
  --mpi-reps N       repetitions of each MPI variant (default $mpi_reps)
  --build-dir DIR    where to build (default \$CEXEC_BUILD_DIR or build/)
  --no-build         use the binaries already in the build directory
EOF
}

while (($#)); do
  case $1 in
    --nodes) nodes=$2; shift 2 ;;
    --per-node) per_node=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --verbose-reps) verbose_reps=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --mpi-reps) mpi_reps=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --no-build) do_build=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run_cluster.sh: unknown argument \`$1'" >&2; usage >&2; exit 64 ;;
  esac
done

die() {
  echo "run_cluster.sh: $*" >&2
  exit 1
}
(($(id -u) == 0)) || die "needs root (the cluster's slurmd runs as root)"
# shellcheck source=benchmarks/common.sh
. "$repo/benchmarks/common.sh"

if ((do_build)); then
  if [[ ! -f $build_dir/build.ninja ]]; then
    cmake -S "$repo" -B "$build_dir" -G Ninja >/dev/null
  fi
  ninja -C "$build_dir" cexec mpi_probe bench_jobs >/dev/null
fi
for b in cexec tests/mpi_probe benchmarks/bench_jobs; do
  [[ -x $build_dir/$b ]] || die "no $b in $build_dir (drop --no-build)"
done

# The stage every node sees: /tmp is private to each node, so it is shared into them by path.
tmp=$(mktemp -d /tmp/cexec-cluster-bench.XXXXXX)
cleanup() {
  stop_test_cluster || true
  rm -rf "$tmp"
}
trap cleanup EXIT
chmod 0755 "$tmp"
mkdir -p "$tmp/bin"
cp "$build_dir/cexec" "$build_dir/tests/mpi_probe" "$build_dir/benchmarks/bench_jobs" "$tmp/bin/"
cexec=$tmp/bin/cexec
img=$tmp/mpi.sqfs

describe_machine
sh "$repo/tests/mpi/make_mpi_image.sh" "$tmp/bin/mpi_probe" "$tmp" >/dev/null
rm -rf "$tmp/mpi-rootfs"
echo "== image"
echo "squashfs:  $img ($(stat -c %s "$img") bytes; host Open MPI closure, busybox, mpi_probe)"
start_test_cluster "$nodes" "$tmp" --cpus 8
echo "slurm:     $($login srun --version) (slurmctld on the head node, one slurmd per node; SlurmdTimeout 10 s)"
echo

ks=$(seq -s, 1 "$nodes")
status=0

echo "== 1. startup across nodes: srun -N k --ntasks-per-node=r [cexec IMG] true, k = $ks"
for r in ${per_node//,/ }; do
  echo "-- r = $r ranks per node ({N} = k nodes)"
  describe_load
  srun_n="$login srun --overcommit -N {N} --ntasks-per-node=$r"
  "$tmp/bin/bench_jobs" --reps "$reps" --warmup 1 --ranks "$ks" --timeout "$timeout" --fail-pattern "cexec: " \
    "bare=$srun_n true" \
    "cexec=$srun_n $cexec $img true" || status=1
  echo
done

echo "== 2. where the time goes: cexec -v, r = 8 (instances created per node, joins per rank)"
describe_load
srun_n="$login srun --overcommit -N {N} --ntasks-per-node=8"
"$tmp/bin/bench_jobs" --reps "$verbose_reps" --warmup 0 --ranks "1,$nodes" --timeout "$timeout" \
  --fail-pattern "cexec: " \
  "bare=$srun_n true" \
  "cexec-v=$srun_n $cexec -v $img true" || status=1
echo

echo "== 3. MPI between two nodes (one rank each): mpi_probe bench, native against cexec"
describe_load
srun_2="$login srun -N 2 --ntasks-per-node=1 --mpi=pmix"
"$tmp/bin/bench_jobs" --reps "$mpi_reps" --warmup 1 --timeout 180 \
  --metric latency_8B_us --metric bandwidth_4MiB_MBps \
  "native=$srun_2 $tmp/bin/mpi_probe bench" \
  "cexec=$srun_2 $cexec $img mpi_probe bench" || status=1
exit $status
