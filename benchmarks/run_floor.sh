#!/usr/bin/env bash
# run_floor.sh: cexec's per-rank path against its floor (issue 14).
#
# Builds cexec, the floor program (benchmarks/floor/floor.c: a static binary that only execs its
# arguments), mpi_probe, bench_launch and bench_jobs; builds the MPI test image
# (tests/mpi/make_mpi_image.sh) in a fresh temporary directory as a SquashFS and as a directory;
# prints the machine and runs, each part interleaved:
#   1. `mpirun -np N --oversubscribe X /bin/true` for X = nothing (bare), floor, cexec IMG;
#   2. repeated single launches: bare, floor, cexec IMG reusing its node instance, cexec DIR
#      (directory image), a first SquashFS launch (a fresh instance each run) and ch-run IMG;
#      with cexec's -v step breakdown;
#   3. where a joining rank's time goes: `strace -c -f` and `perf stat` of one reused launch.
# Every job runs under a time-out; runs that time out or fail are counted and reported by
# bench_jobs. Runs as the invoking user (root on the test machines). See benchmarks/README.md.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${CEXEC_BUILD_DIR:-$repo/build}
as_user=""
do_build=1
parts="mpirun,launch,trace"
ranks="16,64"
reps=10
timeout=30
launch_runs=200
breakdown_runs=50
baseline=""

usage() {
  cat <<EOF
Usage: benchmarks/run_floor.sh [OPTIONS]

  --parts LIST          which parts, comma-separated: mpirun, launch, trace (default $parts)
  --ranks LIST          rank counts for the mpirun part (default $ranks)
  --reps N              interleaved repetitions per rank count and variant (default $reps)
  --timeout S           seconds before an mpirun job counts as hung (default $timeout)
  --launch-runs N       runs of each command in the single-launch part (default $launch_runs)
  --breakdown-runs N    runs of each cexec -v command for its step breakdown (default $breakdown_runs)
  --baseline CEXEC      also time this cexec binary (e.g. the previous version) as cexec-baseline
  --build-dir DIR       where to build (default \$CEXEC_BUILD_DIR or build/; needs CEXEC_BUILD_TESTS=ON
                        for mpi_probe, which the script turns on when it configures)
  --no-build            use the binaries already in the build directory
EOF
}

while (($#)); do
  case $1 in
    --parts) parts=$2; shift 2 ;;
    --ranks) ranks=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --launch-runs) launch_runs=$2; shift 2 ;;
    --breakdown-runs) breakdown_runs=$2; shift 2 ;;
    --baseline) baseline=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --no-build) do_build=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run_floor.sh: unknown argument \`$1'" >&2; usage >&2; exit 64 ;;
  esac
done

die() {
  echo "run_floor.sh: $*" >&2
  exit 1
}

has_part() {
  [[ ,$parts, == *,$1,* ]]
}

if ((do_build)); then
  if [[ ! -f $build_dir/build.ninja ]] || ! grep -q '^CEXEC_BUILD_TESTS:BOOL=ON' "$build_dir/CMakeCache.txt"; then
    cmake -S "$repo" -B "$build_dir" -G Ninja -DCEXEC_BUILD_TESTS=ON >/dev/null
  fi
  ninja -C "$build_dir" cexec floor mpi_probe bench_launch bench_jobs >/dev/null
fi
for b in cexec tests/mpi_probe benchmarks/floor benchmarks/bench_launch benchmarks/bench_jobs; do
  [[ -x $build_dir/$b ]] || die "no $b in $build_dir (build with CEXEC_BUILD_TESTS=ON, or drop --no-build)"
done
for tool in mpirun ch-run mksquashfs strace; do
  command -v $tool >/dev/null || die "$tool not found (Debian: openmpi-bin, charliecloud-runtime, squashfs-tools, strace)"
done

# describe_machine, describe_load (they read $repo, $build_dir and $as_user).
# shellcheck source=benchmarks/common.sh
. "$repo/benchmarks/common.sh"

run_user=$(id -un)
run_home=$(getent passwd "$run_user" | cut -d: -f6)

# Runs a benchmark program from the temp dir with a clean set of launcher variables (the job
# identity must come from mpirun, or for single launches from the parent pid).
as_bench_user() {
  local -a prefix=(env -u SLURM_JOB_ID -u SLURM_STEP_ID -u PMIX_NAMESPACE -u OMPI_MCA_ess_base_jobid -u PMI_PORT
    -u CEXEC_LINGER "USER=$run_user" "LOGNAME=$run_user" "HOME=$run_home")
  if [[ $(id -u) == 0 ]]; then
    prefix+=(OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1)
  fi
  (cd "$tmp" && "${prefix[@]}" "$@")
}

ch_storage=/var/tmp/$run_user.ch
ch_storage_existed=0
[[ -e $ch_storage ]] && ch_storage_existed=1
cleanup() {
  rm -rf "$tmp"
  if ((!ch_storage_existed)); then
    rmdir "$ch_storage/mnt" "$ch_storage" 2>/dev/null || true
  fi
}
tmp=$(mktemp -d /tmp/cexec-floor-bench.XXXXXX)
trap cleanup EXIT
chmod 0755 "$tmp"

mkdir -p "$tmp/bin"
cp "$build_dir/cexec" "$build_dir/tests/mpi_probe" "$build_dir/benchmarks/floor" "$build_dir/benchmarks/bench_launch" \
  "$build_dir/benchmarks/bench_jobs" "$tmp/bin/"
[[ -z $baseline ]] || cp "$baseline" "$tmp/bin/cexec-baseline"
chmod -R a+rX "$tmp/bin"
cexec=$tmp/bin/cexec
floor=$tmp/bin/floor
img=$tmp/mpi.sqfs
dir=$tmp/mpi-rootfs

describe_machine
sh "$repo/tests/mpi/make_mpi_image.sh" "$tmp/bin/mpi_probe" "$tmp" >/dev/null
echo "== images"
echo "squashfs:  $img ($(stat -c %s "$img") bytes, zstd; host Open MPI closure, busybox, mpi_probe)"
echo "directory: $dir (the same tree)"
echo
status=0

if has_part mpirun; then
  mpirun_n="mpirun --oversubscribe --mca orte_abort_on_non_zero_status 0 -np {N}"
  echo "== 1. mpirun -np N ... /bin/true: bare, the floor program, cexec (time-out $timeout s per job)"
  describe_load
  extra=()
  [[ -z $baseline ]] || extra=("cexec-baseline=$mpirun_n $tmp/bin/cexec-baseline $img /bin/true")
  as_bench_user "$tmp/bin/bench_jobs" --reps "$reps" --warmup 1 --ranks "$ranks" --timeout "$timeout" \
    --fail-pattern "cexec: " \
    "bare=$mpirun_n /bin/true" \
    "floor=$mpirun_n $floor /bin/true" \
    "cexec=$mpirun_n $cexec $img /bin/true" \
    "cexec-dir=$mpirun_n $cexec $dir /bin/true" "${extra[@]}" || status=1
  echo
fi

if has_part launch; then
  echo "== 2. repeated single launches (cexec: reused instance, default linger; cexec-first: a fresh"
  echo "   --instance per run with CEXEC_LINGER=0, i.e. a first SquashFS launch)"
  describe_load
  as_bench_user "$tmp/bin/bench_launch" --runs "$launch_runs" --warmup 5 --breakdown-runs "$breakdown_runs" \
    --env cexec-first:CEXEC_LINGER=0 \
    --versus cexec,bare --versus cexec,floor --versus cexec-dir,bare --versus cexec-first,ch-run \
    --breakdown cexec --breakdown cexec-dir --breakdown cexec-first \
    "bare=/bin/true" \
    "floor=$floor /bin/true" \
    "cexec=$cexec $img /bin/true" \
    "cexec-dir=$cexec $dir /bin/true" \
    "cexec-first=$cexec --instance floor-$$-{run} $img /bin/true" \
    "ch-run=$(command -v ch-run) $img -- /bin/true" ${baseline:+"cexec-baseline=$tmp/bin/cexec-baseline $img /bin/true"} || status=1
  echo
fi

if has_part trace; then
  echo "== 3. one joining launch traced (the instance exists: a warm-up launch ran just before)"
  # One job identity for all of them (strace and perf are the parents, so the parent pid would
  # differ), given the way a launcher does, so that cexec's argument fast path is what is traced.
  job=(env "SLURM_JOB_ID=floor$$" SLURM_STEP_ID=0 CEXEC_LINGER=30)
  as_bench_user "${job[@]}" "$cexec" "$img" /bin/true
  echo "-- strace -c -f (system calls of cexec and its children up to the payload's exit)"
  as_bench_user "${job[@]}" strace -c -f -o "$tmp/strace.txt" "$cexec" "$img" /bin/true || status=1
  head -30 "$tmp/strace.txt"
  if command -v perf >/dev/null; then
    echo "-- perf stat -r 50 (software events; hardware counters are not exposed on virtual machines)"
    as_bench_user "${job[@]}" perf stat -r 50 -e task-clock,page-faults,context-switches,cpu-migrations \
      "$cexec" "$img" /bin/true 2>&1 >/dev/null | sed -n '/Performance/,$p' || true
    as_bench_user perf stat -r 50 -e task-clock,page-faults,context-switches,cpu-migrations \
      "$floor" /bin/true 2>&1 >/dev/null | sed -n '/Performance/,$p' || true
  fi
  echo
fi

sleep 32  # the linger of the reused instances
echo "== end"
describe_load
exit $status
