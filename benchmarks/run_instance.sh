#!/usr/bin/env bash
# run_instance.sh: the benchmarks of the node-instance issue (issue 3).
#
# Builds cexec, mpi_probe, bench_launch and bench_jobs, builds the MPI test image (the host's Open
# MPI closure + mpi_probe, tests/mpi/make_mpi_image.sh) in a fresh temporary directory, prints the
# machine, and runs three parts, each interleaved so that other load falls on every variant alike:
#   1. startup scaling: `mpirun -np N cexec IMG /bin/true` for N = 1..64, against bare mpirun,
#      `cexec --no-share`, `ch-run --join` and plain `ch-run`; then a -v pass for where time goes;
#   2. repeated single launches: `cexec IMG /bin/true` reusing the instance within the linger,
#      a creating launch, and `--no-share`, against a bare exec; with the -v step breakdown;
#   3. intra-node MPI: 8-byte latency and 4 MiB bandwidth between two ranks, native against cexec
#      (shared) and `--no-share` (under a time-out: it may hang without cross-memory attach), with
#      mpi_probe and with bench_pingpong (the same, in short windows: best and median window).
# Runs as the invoking user (root on the test machines); --user NAME measures as NAME via setpriv.
# See benchmarks/README.md.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${CEXEC_BUILD_DIR:-$repo/build}
as_user=""
do_build=1
parts="scaling,launch,mpi"
ranks="1,2,4,8,16,32,64"
reps=10
scaling_linger=1
verbose_reps=3
scaling_timeout=30
launch_runs=200
breakdown_runs=50
mpi_reps=15
noshare_reps=2
noshare_timeout=20

usage() {
  cat <<EOF
Usage: benchmarks/run_instance.sh [OPTIONS]

  --parts LIST          which parts, comma-separated: scaling, launch, mpi (default $parts)
  --ranks LIST          rank counts for the scaling part (default $ranks)
  --reps N              interleaved repetitions per rank count and variant (default $reps)
  --linger S            CEXEC_LINGER for the scaling runs (default $scaling_linger s; see README)
  --verbose-reps N      repetitions of the -v pass of the scaling part (default $verbose_reps)
  --scaling-timeout S   seconds before a scaling run counts as hung (default $scaling_timeout)
  --launch-runs N       runs of each command in the repeated-launch part (default $launch_runs)
  --breakdown-runs N    runs of each cexec -v command for its step breakdown (default $breakdown_runs)
  --mpi-reps N          runs of each MPI variant that does not hang (default $mpi_reps)
  --noshare-reps N      runs of the plain --no-share MPI variant (default $noshare_reps)
  --noshare-timeout S   seconds before a plain --no-share MPI run counts as hung (default $noshare_timeout)
  --user NAME           measure as NAME (e.g. nobody) via setpriv; needs root
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
    --linger) scaling_linger=$2; shift 2 ;;
    --verbose-reps) verbose_reps=$2; shift 2 ;;
    --scaling-timeout) scaling_timeout=$2; shift 2 ;;
    --launch-runs) launch_runs=$2; shift 2 ;;
    --breakdown-runs) breakdown_runs=$2; shift 2 ;;
    --mpi-reps) mpi_reps=$2; shift 2 ;;
    --noshare-reps) noshare_reps=$2; shift 2 ;;
    --noshare-timeout) noshare_timeout=$2; shift 2 ;;
    --user) as_user=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --no-build) do_build=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run_instance.sh: unknown argument \`$1'" >&2; usage >&2; exit 64 ;;
  esac
done

die() {
  echo "run_instance.sh: $*" >&2
  exit 1
}

has_part() {
  [[ ,$parts, == *,$1,* ]]
}

build_binaries() {
  # mpi_probe is a test target: configure with the tests on.
  if [[ ! -f $build_dir/build.ninja ]] || ! grep -q '^CEXEC_BUILD_TESTS:BOOL=ON' "$build_dir/CMakeCache.txt"; then
    cmake -S "$repo" -B "$build_dir" -G Ninja -DCEXEC_BUILD_TESTS=ON >/dev/null
  fi
  ninja -C "$build_dir" cexec mpi_probe bench_launch bench_jobs bench_pingpong >/dev/null
}

# other_load, describe_machine, describe_load (they read $repo, $build_dir and $as_user).
# shellcheck source=benchmarks/common.sh
. "$repo/benchmarks/common.sh"

# Runs a benchmark program as the measuring user from the temp dir (bound by cexec as /tmp, so no
# extra cwd bind), with a clean set of launcher variables: the job identity must come from mpirun
# (or, for single launches, from the parent pid), never from an outer job the script runs in.
as_bench_user() {
  local -a prefix=(env -u SLURM_JOB_ID -u SLURM_STEP_ID -u PMIX_NAMESPACE -u OMPI_MCA_ess_base_jobid -u PMI_PORT
    -u CEXEC_LINGER "USER=$run_user" "LOGNAME=$run_user" "HOME=$run_home")
  if [[ -z $as_user && $(id -u) == 0 ]]; then
    prefix+=(OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1)
  fi
  if [[ -n $as_user ]]; then
    prefix=(setpriv "--reuid=$as_user" "--regid=$as_group" --clear-groups "${prefix[@]}")
  fi
  (cd "$tmp" && "${prefix[@]}" "$@")
}

# Processes of this benchmark still alive (zombies awaiting init are not counted): cexec's keepers
# and FUSE servers run $tmp/bin/cexec; payloads carry CEXEC_IMAGE=$img; ch-run and native ranks
# run from $tmp/bin or /usr/bin/ch-run with our image in their arguments.
leftovers() {
  local dir pid state exe
  for dir in /proc/[0-9]*; do
    pid=${dir#/proc/}
    state=$(awk '{print $3}' "$dir/stat" 2>/dev/null) || continue
    [[ $state == Z || -z $state ]] && continue
    exe=$(readlink "$dir/exe" 2>/dev/null) || exe=""
    if [[ $exe == "$tmp"/* ]] || grep -qzx "CEXEC_IMAGE=$img" "$dir/environ" 2>/dev/null ||
      grep -qzF "$img" "$dir/cmdline" 2>/dev/null; then
      echo "$pid $(cat "$dir/comm" 2>/dev/null) state $state exe ${exe:-?}"
    fi
  done
}

report_leftovers() {
  local when=$1 found line
  found=$(leftovers)
  if [[ -n $found ]]; then
    echo "leftovers $when:"
    while IFS= read -r line; do
      echo "  $line"
    done <<<"$found"
    leftover_seen=1
  else
    echo "leftovers $when: none (zombies awaiting init not counted)"
  fi
}

if ((do_build)); then
  build_binaries
fi
for b in cexec tests/mpi_probe benchmarks/bench_launch benchmarks/bench_jobs benchmarks/bench_pingpong; do
  [[ -x $build_dir/$b ]] || die "no $b in $build_dir (build with CEXEC_BUILD_TESTS=ON, or drop --no-build)"
done
for tool in mpirun ch-run mksquashfs; do
  command -v $tool >/dev/null || die "$tool not found (Debian: openmpi-bin, charliecloud-runtime, squashfs-tools)"
done
if [[ ! -x /bin/busybox ]] || ldd /bin/busybox >/dev/null 2>&1; then
  die "/bin/busybox missing or dynamic (Debian: busybox-static)"
fi

run_user=${as_user:-$(id -un)}
run_home=$(getent passwd "$run_user" | cut -d: -f6)
if [[ -n $as_user ]]; then
  (($(id -u) == 0)) || die "--user needs root (it switches users with setpriv)"
  as_group=$(id -gn "$as_user")
  # Both launchers mount the SquashFS with FUSE as that user. Stock distros ship /dev/fuse 0666;
  # these machines had 0600, which fails with "failed to open /dev/fuse: Permission denied".
  if [[ $(stat -c %a /dev/fuse) != 666 ]]; then
    echo "run_instance.sh: chmod 0666 /dev/fuse (was $(stat -c %a /dev/fuse)) so $as_user can use FUSE" >&2
    chmod 0666 /dev/fuse
  fi
fi

# ch-run mounts a SquashFS on /var/tmp/$USER.ch/mnt, creating it; remove it afterwards only if it
# is ours (rmdir removes nothing but empty directories).
ch_storage=/var/tmp/$run_user.ch
ch_storage_existed=0
[[ -e $ch_storage ]] && ch_storage_existed=1

cleanup() {
  rm -rf "$tmp"
  if ((!ch_storage_existed)); then
    rmdir "$ch_storage/mnt" "$ch_storage" 2>/dev/null || true
  fi
}
tmp=$(mktemp -d /tmp/cexec-instance-bench.XXXXXX)
trap cleanup EXIT
chmod 0755 "$tmp"  # the measuring user must reach the images and binaries

# Copies of the binaries, readable by the measuring user wherever the build directory lives.
mkdir -p "$tmp/bin" "$tmp/hostbin"
cp "$build_dir/cexec" "$build_dir/tests/mpi_probe" "$build_dir/benchmarks/bench_launch" \
  "$build_dir/benchmarks/bench_jobs" "$build_dir/benchmarks/bench_pingpong" "$tmp/bin/"
cp /bin/busybox "$tmp/hostbin/true"  # busybox picks its applet from argv[0]'s name
chmod -R a+rX "$tmp/bin" "$tmp/hostbin"
cexec=$tmp/bin/cexec
img=$tmp/mpi.sqfs
chrun=$(command -v ch-run)

describe_machine
sh "$repo/tests/mpi/make_mpi_image.sh" "$tmp/bin/mpi_probe" "$tmp" >/dev/null
rm -rf "$tmp/mpi-rootfs"
echo "== image"
echo "squashfs:  $img ($(stat -c %s "$img") bytes, zstd; host Open MPI closure, busybox, mpi_probe)"
echo

leftover_seen=0
status=0

if has_part scaling; then
  mpirun_n="mpirun --oversubscribe --mca orte_abort_on_non_zero_status 0 -np {N}"
  echo "== 1. startup scaling: mpirun -np N ... /bin/true (CEXEC_LINGER=$scaling_linger)"
  describe_load
  as_bench_user env "CEXEC_LINGER=$scaling_linger" "$tmp/bin/bench_jobs" --reps "$reps" --warmup 1 \
    --ranks "$ranks" --timeout "$scaling_timeout" --fail-pattern "]: error: " --fail-pattern "cexec: " --may-fail ch-run-join \
    "bare=$mpirun_n /bin/true" \
    "cexec=$mpirun_n $cexec $img /bin/true" \
    "cexec-noshare=$mpirun_n $cexec --no-share $img /bin/true" \
    "ch-run-join=$mpirun_n $chrun --join $img -- /bin/true" \
    "ch-run=$mpirun_n $chrun $img -- /bin/true" || status=1
  echo
  echo "== 1b. startup scaling with cexec -v: where the time goes"
  echo "(cexec-v-linger0 passes CEXEC_LINGER=0 to the ranks with mpirun -x)"
  describe_load
  verbose_ranks=$(tr ',' '\n' <<<"$ranks" | sort -n | tail -2 | paste -sd,)
  as_bench_user env "CEXEC_LINGER=$scaling_linger" "$tmp/bin/bench_jobs" --reps "$verbose_reps" --warmup 0 \
    --ranks "$verbose_ranks" --timeout "$scaling_timeout" --fail-pattern "cexec: " \
    "bare=$mpirun_n /bin/true" \
    "cexec-v=$mpirun_n $cexec -v $img /bin/true" \
    "cexec-noshare-v=$mpirun_n $cexec -v --no-share $img /bin/true" \
    "cexec-v-linger0=$mpirun_n -x CEXEC_LINGER=0 $cexec -v $img /bin/true" || status=1
  sleep $((${scaling_linger%.*} + 2))
  report_leftovers "after the scaling part (after the linger)"
  echo
fi

if has_part launch; then
  echo "== 2. repeated single launches (default linger; cexec-create: a fresh --instance per run, CEXEC_LINGER=0)"
  describe_load
  as_bench_user "$tmp/bin/bench_launch" --runs "$launch_runs" --warmup 5 --breakdown-runs "$breakdown_runs" \
    --env cexec-create:CEXEC_LINGER=0 \
    --versus cexec,bare --versus cexec,bare-busybox --versus cexec-version,bare --versus cexec,cexec-version \
    --versus cexec,cexec-noshare --versus cexec-create,cexec-noshare \
    --breakdown cexec --breakdown cexec-create --breakdown cexec-noshare \
    "bare=/bin/true" \
    "bare-busybox=$tmp/hostbin/true" \
    "cexec-version=$cexec --version" \
    "cexec=$cexec $img /bin/true" \
    "cexec-create=$cexec --instance bench-$$-{run} $img /bin/true" \
    "cexec-noshare=$cexec --no-share $img /bin/true" || status=1
  sleep 5  # the default linger (3 s) of the reused instance
  report_leftovers "after the repeated launches (after the linger)"
  echo
fi

if has_part mpi; then
  nocma="--mca btl_vader_single_copy_mechanism none"
  echo "== 3. intra-node MPI between two ranks (mpi_probe bench)"
  echo "(-nocma: Open MPI told not to use cross-memory attach: $nocma)"
  describe_load
  as_bench_user "$tmp/bin/bench_jobs" --reps "$mpi_reps" --warmup 1 --timeout 180 \
    --metric latency_8B_us --metric bandwidth_4MiB_MBps \
    "native=mpirun -np 2 $tmp/bin/mpi_probe bench" \
    "cexec=mpirun -np 2 $cexec $img mpi_probe bench" \
    "native-nocma=mpirun $nocma -np 2 $tmp/bin/mpi_probe bench" \
    "cexec-noshare-nocma=mpirun $nocma -np 2 $cexec --no-share $img mpi_probe bench" || status=1
  echo
  echo "== 3b. the same, measured in short windows (bench_pingpong: best and median window)"
  echo "(bench_pingpong runs from the host's /tmp inside the container, against the image's Open MPI)"
  describe_load
  as_bench_user "$tmp/bin/bench_jobs" --reps "$mpi_reps" --warmup 1 --timeout 180 \
    --metric latency_8B_us_best --metric latency_8B_us_median \
    --metric bandwidth_4MiB_MBps_best --metric bandwidth_4MiB_MBps_median \
    "native=mpirun -np 2 $tmp/bin/bench_pingpong" \
    "cexec=mpirun -np 2 $cexec $img $tmp/bin/bench_pingpong" \
    "native-nocma=mpirun $nocma -np 2 $tmp/bin/bench_pingpong" \
    "cexec-noshare-nocma=mpirun $nocma -np 2 $cexec --no-share $img $tmp/bin/bench_pingpong" || status=1
  echo
  echo "== 3c. plain --no-share (each rank its own user namespace; time-out ${noshare_timeout} s)"
  describe_load
  as_bench_user "$tmp/bin/bench_jobs" --reps "$noshare_reps" --warmup 0 --timeout "$noshare_timeout" \
    --metric latency_8B_us --metric bandwidth_4MiB_MBps --fail-pattern "CMA" --may-fail cexec-noshare \
    "native=mpirun -np 2 $tmp/bin/mpi_probe bench" \
    "cexec-noshare=mpirun -np 2 $cexec --no-share $img mpi_probe bench" || true
  sleep 5
  report_leftovers "after the MPI part (after the linger)"
  echo
fi

echo "== end"
describe_load
if ((leftover_seen)); then
  echo "run_instance.sh: processes were left behind (see above)" >&2
  status=1
fi
exit $status
