#!/usr/bin/env bash
# run_sif.sh: the launch time of a SIF file against the same SquashFS as a plain file (issue 17).
#
# Builds a tiny busybox root filesystem, squashes it (zstd), and wraps that very SquashFS into a SIF
# with sylabs' SIF library (tests/sif/make_sif.go; Debian golang-go + golang-github-sylabs-sif-dev),
# so the two images differ only by the SIF header, descriptors and partition offset. Then times,
# interleaved (bench_launch), every run under `timeout 20`:
#   bare /bin/true | cexec IMG.sqfs /bin/true | cexec IMG.sif /bin/true      (node instance, joined)
#                  | cexec --no-share IMG.sqfs | cexec --no-share IMG.sif    (own FUSE server each run)
# and prints the SIF/SquashFS ratios from per-round paired differences. Prints the machine first.
# A run that fails or times out stops the measurement (bench_launch exits non-zero): no number is
# reported from a broken run, and the output says so.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${CEXEC_BUILD_DIR:-$repo/build}
runs=200
warmup=5
as_user=""

usage() {
  echo "Usage: benchmarks/run_sif.sh [--runs N] [--warmup N] [--user NAME] [--build-dir DIR]"
}

while (($#)); do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --user) as_user=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run_sif.sh: unknown argument \`$1'" >&2; usage >&2; exit 64 ;;
  esac
done

die() {
  echo "run_sif.sh: $*" >&2
  exit 1
}

[[ -x $build_dir/cexec && -x $build_dir/benchmarks/bench_launch ]] ||
  die "no cexec or bench_launch in $build_dir (ninja -C $build_dir cexec bench_launch)"
command -v go >/dev/null || die "go not found (Debian: golang-go)"
[[ -d /usr/share/gocode/src/github.com/sylabs/sif ]] || die "sylabs' SIF library not found (Debian: golang-github-sylabs-sif-dev)"
busybox=$(command -v busybox) || die "busybox not found (Debian: busybox-static)"

# shellcheck source=benchmarks/common.sh
. "$repo/benchmarks/common.sh"

tmp=$(mktemp -d /tmp/cexec-bench-sif.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
chmod 0755 "$tmp"

mkdir -p "$tmp/gopath/src/github.com/sylabs/sif"
ln -s /usr/share/gocode/src/github.com/sylabs/sif "$tmp/gopath/src/github.com/sylabs/sif/v2"
GO111MODULE=off GOPATH="$tmp/gopath:/usr/share/gocode" GOCACHE="$tmp/gopath/cache" \
  go build -o "$tmp/make_sif" "$repo/tests/sif/make_sif.go"

root=$tmp/rootfs
mkdir -p "$root"/{bin,etc,proc,sys,dev,tmp,home,mnt,run,root,var/tmp}
cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/true"
ln -s busybox "$root/bin/sh"
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
: >"$root/etc/hosts"
: >"$root/etc/resolv.conf"
: >"$root/etc/localtime"
chmod -R a+rX "$root"
mksquashfs "$root" "$tmp/image.sqfs" -comp zstd -noappend -all-root -quiet -no-progress >/dev/null
"$tmp/make_sif" -out "$tmp/image.sif" -partition "$tmp/image.sqfs"
chmod 0644 "$tmp/image.sqfs" "$tmp/image.sif"

describe_machine
describe_load
echo "== images"
echo "squashfs: $tmp/image.sqfs ($(stat -c %s "$tmp/image.sqfs") bytes, zstd)"
echo "sif:      $tmp/image.sif ($(stat -c %s "$tmp/image.sif") bytes, the same SquashFS as primary partition)"
echo

t="timeout -k 2 20"
commands=(
  "bare=$t /bin/true"
  "cexec-sqfs=$t $build_dir/cexec $tmp/image.sqfs /bin/true"
  "cexec-sif=$t $build_dir/cexec $tmp/image.sif /bin/true"
  "private-sqfs=$t $build_dir/cexec --no-share $tmp/image.sqfs /bin/true"
  "private-sif=$t $build_dir/cexec --no-share $tmp/image.sif /bin/true"
)
prefix=()
if [[ -n $as_user ]]; then
  prefix=(setpriv "--reuid=$as_user" "--regid=$(id -g "$as_user")" --clear-groups env "HOME=$tmp")
fi
echo "== launch time (every run under: $t)"
if ! (cd "$tmp" && "${prefix[@]}" "$build_dir/benchmarks/bench_launch" --runs "$runs" --warmup "$warmup" \
  --versus cexec-sif,cexec-sqfs --versus private-sif,private-sqfs "${commands[@]}"); then
  echo "run_sif.sh: a run failed or timed out: measurement discarded" >&2
  exit 1
fi
