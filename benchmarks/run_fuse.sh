#!/usr/bin/env bash
# run_fuse.sh: the SquashFS server under concurrent readers (issue 14), against the same tree as a
# directory image.
#
# Takes a SquashFS image with Python and numpy (default: the PyTorch example image that
# scripts/example-image.sh caches under /var/cache/cexec-examples; --image PATH for another),
# unpacks the same tree next to it as a directory image, and times with bench_jobs, interleaved,
# for N readers (--ranks, default 1,2,8,32), all inside one container:
#   files  N processes each read the first 16 MiB of a distinct large file of the image
#   numpy  N processes run `python3 -c 'import numpy'` at once
#   torch  N processes run `python3 -c 'import torch'` at once (only with --torch: slow)
# Each workload runs on: dir (the directory image), sqfs (a fresh FUSE mount every run: each run
# is a private container, --no-share, with its own server, so every block is decompressed again;
# the image file itself stays in the host's page cache), sqfs-warm (every run joins one node
# instance, as the ranks of a job do: the mount and its page cache stay between runs) and, as root, both again after dropping the page
# cache (`-cold`: sync; echo 3 > /proc/sys/vm/drop_caches inside the timed command, the same cost
# for both). --baseline CEXEC adds the sqfs variant with another cexec binary (e.g. the previous
# server, one lock around libsquashfuse). Every run has a time-out; failed and timed-out runs are
# counted by bench_jobs. See benchmarks/README.md.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${CEXEC_BUILD_DIR:-$repo/build}
do_build=1
ranks="1,2,8,32"
reps=3
timeout=300
workloads="files,numpy"
cold=1
baseline=""
image=""

usage() {
  cat <<EOF
Usage: benchmarks/run_fuse.sh [OPTIONS]

  --image PATH       a SquashFS image with python3 and numpy (default: the cached PyTorch example)
  --ranks LIST       reader counts (default $ranks)
  --reps N           interleaved repetitions per count and variant (default $reps)
  --timeout S        seconds before a run counts as hung (default $timeout)
  --torch            also the \`import torch\` storm (minutes per round on 2 cores)
  --no-cold          skip the dropped-page-cache variants (they need root)
  --baseline CEXEC   also time the SquashFS variants with this cexec binary
  --build-dir DIR    where cexec and bench_jobs are built (default \$CEXEC_BUILD_DIR or build/)
  --no-build         use the binaries already in the build directory
EOF
}

while (($#)); do
  case $1 in
    --image) image=$2; shift 2 ;;
    --ranks) ranks=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --torch) workloads="$workloads,torch"; shift ;;
    --no-cold) cold=0; shift ;;
    --baseline) baseline=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --no-build) do_build=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run_fuse.sh: unknown argument \`$1'" >&2; usage >&2; exit 64 ;;
  esac
done

die() {
  echo "run_fuse.sh: $*" >&2
  exit 1
}

if ((do_build)); then
  if [[ ! -f $build_dir/build.ninja ]]; then
    cmake -S "$repo" -B "$build_dir" -G Ninja -DCEXEC_BUILD_TESTS=OFF >/dev/null
  fi
  ninja -C "$build_dir" cexec bench_jobs >/dev/null
fi
[[ -x $build_dir/cexec && -x $build_dir/benchmarks/bench_jobs ]] || die "no cexec or bench_jobs in $build_dir"
if [[ -z $image ]]; then
  image=$(ls -t /var/cache/cexec-examples/*/pytorch.img 2>/dev/null | head -1) ||
    true
  [[ -n $image ]] || die "no --image and no cached PyTorch example image (scripts/example-image.sh examples/pytorch-ddp/pytorch.def)"
fi
command -v unsquashfs >/dev/null || die "unsquashfs not found (Debian: squashfs-tools)"
if ((cold)) && [[ $(id -u) != 0 ]]; then
  echo "run_fuse.sh: not root: no cold-cache variants" >&2
  cold=0
fi

# describe_machine, describe_load (they read $repo, $build_dir and $as_user).
# shellcheck source=benchmarks/common.sh
. "$repo/benchmarks/common.sh"
as_user=""

tmp=$(mktemp -d /tmp/cexec-fuse-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
chmod 0755 "$tmp"
mkdir -p "$tmp/bin"
cp "$build_dir/cexec" "$build_dir/benchmarks/bench_jobs" "$tmp/bin/"
[[ -z $baseline ]] || cp "$baseline" "$tmp/bin/cexec-baseline"
cp "$image" "$tmp/image.sqfs"  # the page cache then holds one copy, the same for every variant
unsquashfs -q -n -d "$tmp/rootfs" "$tmp/image.sqfs" >/dev/null
chmod 0755 "$tmp/rootfs"

# The N largest files of the tree, for the distinct-files workload (paths inside the container).
(cd "$tmp/rootfs" && find . -xdev -type f -size +16M -printf '%s %P\n' | sort -rn | head -32 | cut -d' ' -f2- |
  sed 's|^|/|') >"$tmp/large-files"
[[ $(wc -l <"$tmp/large-files") -ge 8 ]] || die "the image has fewer than 8 files over 16 MiB"

# The storm: N readers at once inside one container (the script is read from the host's /tmp).
cat >"$tmp/storm.sh" <<'EOF'
#!/bin/sh
# storm.sh N files|numpy|torch LIST: N processes at once, then wait for all.
n=$1 what=$2 list=$3 i=0
while [ "$i" -lt "$n" ]; do
  case $what in
    files) head -c 16777216 "$(sed -n "$((i % $(wc -l <"$list") + 1))p" "$list")" >/dev/null & ;;
    numpy) python3 -c 'import numpy' & ;;
    torch) python3 -c 'import torch' & ;;
  esac
  i=$((i + 1))
done
wait
EOF
cat >"$tmp/cold.sh" <<'EOF'
#!/bin/sh
# cold.sh COMMAND...: drop the page cache, then run COMMAND.
sync
echo 3 >/proc/sys/vm/drop_caches
exec "$@"
EOF
chmod 0755 "$tmp/storm.sh" "$tmp/cold.sh"

describe_machine
echo "== images"
echo "squashfs:  $image ($(stat -c %s "$tmp/image.sqfs") bytes, $(unsquashfs -s "$tmp/image.sqfs" | sed -n 's/^Compression //p'))"
echo "directory: the same tree unpacked ($(du -sh "$tmp/rootfs" | cut -f1))"
echo "large files for the files workload: $(wc -l <"$tmp/large-files") (first 16 MiB of each)"
echo

status=0
for what in ${workloads//,/ }; do
  storm="sh $tmp/storm.sh {N} $what $tmp/large-files"
  # --no-share: a private container with its own FUSE server every run (a node instance could
  # outlive its run for a moment and be joined by the next, with its page cache warm).
  variants=("dir=$tmp/bin/cexec --no-share $tmp/rootfs $storm"
    "sqfs=$tmp/bin/cexec --no-share $tmp/image.sqfs $storm")
  [[ -z $baseline ]] || variants+=("sqfs-baseline=$tmp/bin/cexec-baseline --no-share $tmp/image.sqfs $storm")
  # The steady state of a job: every run joins one node instance (its FUSE mount and page cache
  # stay; the linger keeps the instance between runs).
  variants+=("sqfs-warm=env CEXEC_LINGER=60 $tmp/bin/cexec --instance fuse-warm-$$ $tmp/image.sqfs $storm")
  [[ -z $baseline ]] ||
    variants+=("sqfs-warm-baseline=env CEXEC_LINGER=60 $tmp/bin/cexec-baseline --instance fuse-warmb-$$ $tmp/image.sqfs $storm")
  if ((cold)); then
    variants+=("dir-cold=$tmp/cold.sh $tmp/bin/cexec --no-share $tmp/rootfs $storm"
      "sqfs-cold=$tmp/cold.sh $tmp/bin/cexec --no-share $tmp/image.sqfs $storm")
  fi
  echo "== $what: N readers at once in one container (time-out $timeout s per run)"
  describe_load
  (cd "$tmp" && env CEXEC_LINGER=0 "$tmp/bin/bench_jobs" --reps "$reps" --warmup 1 --ranks "$ranks" \
    --timeout "$timeout" --fail-pattern "cexec: " "${variants[@]}") || status=1
  echo
done
sleep 62  # the warm variants' linger
echo "== end"
describe_load
exit $status
