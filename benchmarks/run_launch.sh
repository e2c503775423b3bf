#!/usr/bin/env bash
# run_launch.sh: the per-launch benchmark of the core issue.
#
# Builds cexec and bench_launch, builds a tiny test image (a busybox root filesystem) in a fresh
# temporary directory as a directory and as a zstd SquashFS, and times, interleaved:
#   bare /bin/true | cexec DIR /bin/true | cexec IMG.sqfs /bin/true | ch-run DIR | ch-run IMG.sqfs
# then reruns cexec with -v for the per-step breakdown. Prints the machine first.
# Runs as the invoking user (root by default on the test machines); --user NAME measures as NAME
# through setpriv. See benchmarks/README.md.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${CEXEC_BUILD_DIR:-$repo/build}
runs=200
warmup=5
breakdown_runs=100
as_user=""
do_build=1
minimal_image=0
diagnose=0

usage() {
  cat <<EOF
Usage: benchmarks/run_launch.sh [OPTIONS]

  --runs N             measured runs of each command (default $runs)
  --warmup N           discarded warm-up rounds (default $warmup)
  --breakdown-runs N   runs of each cexec -v command for the step breakdown (default $breakdown_runs)
  --user NAME          measure as NAME (e.g. nobody) via setpriv; needs root
  --build-dir DIR      where cexec and bench_launch are built (default \$CEXEC_BUILD_DIR or build/)
  --no-build           use the binaries already in the build directory
  --minimal-image      leave /root, /var/tmp and /etc/{hosts,resolv.conf,localtime} out of the image,
                       so cexec must create them on an overlay (ch-run then skips those binds)
  --diagnose           one more interleaved run with diagnostic rows: \`cexec --version\` (process
                       start-up alone) and cexec on the SquashFS with a payload from the host's /tmp
                       (no payload pages read through FUSE)
EOF
}

while (($#)); do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --breakdown-runs) breakdown_runs=$2; shift 2 ;;
    --user) as_user=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --no-build) do_build=0; shift ;;
    --minimal-image) minimal_image=1; shift ;;
    --diagnose) diagnose=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run_launch.sh: unknown argument \`$1'" >&2; usage >&2; exit 64 ;;
  esac
done

die() {
  echo "run_launch.sh: $*" >&2
  exit 1
}

build_binaries() {
  if [[ ! -f $build_dir/build.ninja ]]; then
    cmake -S "$repo" -B "$build_dir" -G Ninja -DCEXEC_BUILD_TESTS=OFF >/dev/null
  fi
  ninja -C "$build_dir" cexec bench_launch >/dev/null
}

# A static busybox: the image must hold no host libraries, and /bin/true must exist in it.
find_static_busybox() {
  local bb
  bb=$(command -v busybox) || die "busybox not found (Debian: busybox-static)"
  if ldd "$bb" >/dev/null 2>&1; then
    die "$bb is dynamically linked; install busybox-static"
  fi
  echo "$bb"
}

# The root filesystem: busybox with `true` and `sh` links, account files, and the mount points
# both launchers bind onto (a Docker-exported image has them too).
make_rootfs() {
  local root=$1 busybox=$2
  mkdir -p "$root"/{bin,etc,proc,sys,dev,tmp,home,mnt,run}
  cp "$busybox" "$root/bin/busybox"
  ln -s busybox "$root/bin/true"
  ln -s busybox "$root/bin/sh"
  echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
  echo 'nobody:x:65534:65534:nobody:/nonexistent:/bin/sh' >>"$root/etc/passwd"
  echo 'root:x:0:' >"$root/etc/group"
  echo 'nogroup:x:65534:' >>"$root/etc/group"
  if ((!minimal_image)); then
    mkdir -p "$root"/{root,var/tmp}
    : >"$root/etc/hosts"
    : >"$root/etc/resolv.conf"
    : >"$root/etc/localtime"
  fi
  chmod -R a+rX "$root"
}

# describe_machine, describe_load (benchmarks/common.sh: they read $repo, $build_dir, $as_user, $busybox).
# shellcheck source=benchmarks/common.sh
. "$repo/benchmarks/common.sh"

# The commands to compare, as bench_launch NAME=COMMAND arguments; the first is the baseline.
launch_commands() {
  echo "bare=/bin/true"
  echo "cexec-dir=$build_dir/cexec $tmp/rootfs /bin/true"
  echo "cexec-sqfs=$build_dir/cexec $tmp/image.sqfs /bin/true"
  echo "ch-run-dir=$(command -v ch-run) $tmp/rootfs -- /bin/true"
  echo "ch-run-sqfs=$(command -v ch-run) $tmp/image.sqfs -- /bin/true"
}

diagnostic_commands() {
  echo "bare=/bin/true"
  echo "cexec-version=$build_dir/cexec --version"
  echo "cexec-dir=$build_dir/cexec $tmp/rootfs /bin/true"
  echo "cexec-sqfs=$build_dir/cexec $tmp/image.sqfs /bin/true"
  echo "cexec-sqfs-hostbin=$build_dir/cexec $tmp/image.sqfs $tmp/hostbin/true"
  echo "ch-run-sqfs=$(command -v ch-run) $tmp/image.sqfs -- /bin/true"
  echo "ch-run-sqfs-hostbin=$(command -v ch-run) $tmp/image.sqfs -- $tmp/hostbin/true"
}

# Runs bench_launch as the measuring user, from the temp dir (so no extra cwd bind is needed:
# /tmp is bound by both launchers).
bench() {
  local -a prefix=(env "USER=$run_user" "LOGNAME=$run_user" "HOME=$run_home")
  if [[ -n $as_user ]]; then
    prefix=(setpriv "--reuid=$as_user" "--regid=$as_group" --clear-groups "${prefix[@]}")
  fi
  (cd "$tmp" && "${prefix[@]}" "$build_dir/benchmarks/bench_launch" "$@")
}

if ((do_build)); then
  build_binaries
fi
[[ -x $build_dir/cexec && -x $build_dir/benchmarks/bench_launch ]] || die "no cexec or bench_launch in $build_dir"
command -v ch-run >/dev/null || die "ch-run not found (Debian: charliecloud-runtime)"
command -v mksquashfs >/dev/null || die "mksquashfs not found (Debian: squashfs-tools)"
busybox=$(find_static_busybox)

run_user=${as_user:-$(id -un)}
run_home=$(getent passwd "$run_user" | cut -d: -f6)
if [[ -n $as_user ]]; then
  (($(id -u) == 0)) || die "--user needs root (it switches users with setpriv)"
  as_group=$(id -gn "$as_user")
  # Both launchers mount the SquashFS with FUSE as that user. Stock distros ship /dev/fuse 0666;
  # these machines had 0600, which fails with "failed to open /dev/fuse: Permission denied".
  if [[ $(stat -c %a /dev/fuse) != 666 ]]; then
    echo "run_launch.sh: chmod 0666 /dev/fuse (was $(stat -c %a /dev/fuse)) so $as_user can use FUSE" >&2
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
tmp=$(mktemp -d /tmp/cexec-bench.XXXXXX)
trap cleanup EXIT
chmod 0755 "$tmp"  # the measuring user must reach the images

describe_machine
describe_load
make_rootfs "$tmp/rootfs" "$busybox"
mksquashfs "$tmp/rootfs" "$tmp/image.sqfs" -comp zstd -noappend -all-root -quiet -no-progress >/dev/null
chmod 0644 "$tmp/image.sqfs"
mkdir -p "$tmp/hostbin"
cp "$busybox" "$tmp/hostbin/true"  # busybox picks its applet from argv[0]'s name

echo "== images"
echo "directory: $tmp/rootfs ($(du -sh "$tmp/rootfs" | cut -f1), $(find "$tmp/rootfs" | wc -l) entries$( ((minimal_image)) && echo ", minimal"))"
echo "squashfs:  $tmp/image.sqfs ($(stat -c %s "$tmp/image.sqfs") bytes, zstd)"
echo

mapfile -t commands < <(launch_commands)
echo "== launch time"
bench --runs "$runs" --warmup "$warmup" --breakdown-runs "$breakdown_runs" \
  --versus cexec-dir,ch-run-dir --versus cexec-sqfs,ch-run-sqfs \
  --breakdown cexec-dir --breakdown cexec-sqfs "${commands[@]}"

if ((diagnose)); then
  mapfile -t commands < <(diagnostic_commands)
  echo
  echo "== diagnostics"
  bench --runs "$runs" --warmup "$warmup" --versus cexec-sqfs-hostbin,ch-run-sqfs-hostbin "${commands[@]}"
fi
