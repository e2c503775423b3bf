#!/usr/bin/env bash
# run_build.sh: what `cexec build` costs over squashing by hand, on the debootstrap example
# (examples/bookworm-python.def: Debian bookworm minbase plus vim, curl, dev libraries, NumPy,
# SciPy, pip; needs the Debian mirror).
#
#   A  cexec build --sandbox TREE DEF   bootstrap (debootstrap), %post (apt-get), %test: the tree
#   B  cexec build IMG TREE             the same tree as SPEC: copy, metadata, mksquashfs, digest
#   C  mksquashfs TREE PLAIN -comp zstd plain squashing of the same tree, nothing else
#
# B against C is the overhead cexec adds to squashing (copying the tree into the build sandbox,
# /.cexec/ metadata, the namespace, the sha256 digest); A + B is the whole build from the
# definition file. Prints the machine, per-stage times (cexec build -v) and a markdown table.
# Usage: benchmarks/run_build.sh [--user NAME] [--build-dir DIR] [--no-build] [--def FILE]
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${CEXEC_BUILD_DIR:-$repo/build}
def=$repo/examples/bookworm-python.def
as_user=""
do_build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --user) as_user=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --no-build) do_build=0; shift ;;
    --def) def=$(realpath "$2"); shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "run_build.sh: unknown option $1" >&2; exit 64 ;;
  esac
done

if [ "$do_build" = 1 ]; then
  cmake -S "$repo" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  ninja -C "$build_dir" cexec >/dev/null
fi

work=$(mktemp -d /tmp/cexec-bench-build.XXXXXX)
cleanup() {
  # A tree built by an unprivileged user may hold read-only folders; its owner removes it.
  chmod -R u+w "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
chmod 0755 "$work"
cp "$build_dir/cexec" "$work/cexec"
cp "$def" "$work/example.def"
mkdir "$work/out"
as() {
  if [ -n "$as_user" ]; then
    setpriv --reuid="$as_user" --regid="$(id -g "$as_user")" --clear-groups env HOME="$work/out" "$@"
  else
    "$@"
  fi
}
[ -n "$as_user" ] && chown "$as_user" "$work/out"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", b - a}'; }

echo "== machine"
echo "date:      $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "cpus:      $(nproc) ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
echo "memory:    $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
echo "kernel:    $(uname -r)"
echo "cexec:     $("$work/cexec" --version)"
echo "mksquashfs: $(mksquashfs -version 2>&1 | head -1)"
echo "user:      ${as_user:-$(id -un)}"
echo "tmp fs:    $(df -hT "$work" | awk 'NR==2 {print $2, $3 " size"}')"

echo "== A: cexec build --sandbox (bootstrap, post, test)"
t0=$(now)
as "$work/cexec" build -v --sandbox "$work/out/tree" "$work/example.def" 2> "$work/a.log"
t1=$(now)
grep -E '^cexec build: step' "$work/a.log"

echo "== B: cexec build IMG TREE (copy, metadata, squash, digest)"
t2=$(now)
as "$work/cexec" build -v "$work/out/cexec.img" "$work/out/tree" 2> "$work/b.log" > "$work/b.digest"
t3=$(now)
grep -E '^cexec build: step' "$work/b.log"
cat "$work/b.digest"

echo "== C: mksquashfs TREE -comp zstd"
t4=$(now)
as mksquashfs "$work/out/tree" "$work/out/plain.img" -comp zstd -noappend -quiet -no-progress >/dev/null
t5=$(now)

a=$(elapsed "$t0" "$t1"); b=$(elapsed "$t2" "$t3"); c=$(elapsed "$t4" "$t5")
squash=$(awk '/step squash:/ {print $5}' "$work/b.log")
bootstrap_copy=$(awk '/step bootstrap:/ {print $5}' "$work/b.log")
cleanup_b=$(awk '/step cleanup:/ {print $5}' "$work/b.log")
digest_b=$(awk '/step digest:/ {print $5}' "$work/b.log")
size_b=$(stat -c %s "$work/out/cexec.img"); size_c=$(stat -c %s "$work/out/plain.img")
tree=$(du -sb "$work/out/tree" | cut -f1)
echo "== results"
printf '| what | time (s) | image size (bytes) |\n| --- | ---: | ---: |\n'
printf '| A: cexec build --sandbox from the definition (bootstrap + %%post + %%test) | %.1f | tree %s |\n' "$a" "$tree"
printf '| B: cexec build IMG TREE, total | %.1f | %s |\n' "$b" "$size_b"
printf '| &nbsp;&nbsp;of which copying the tree into the sandbox | %.1f | |\n' "$bootstrap_copy"
printf '| &nbsp;&nbsp;of which mksquashfs in the sandbox | %.1f | |\n' "$squash"
printf '| &nbsp;&nbsp;of which removing the work tree | %.1f | |\n' "$cleanup_b"
printf '| &nbsp;&nbsp;of which the sha256 digest | %.1f | |\n' "$digest_b"
printf '| C: plain mksquashfs -comp zstd of the same tree | %.1f | %s |\n' "$c" "$size_c"
printf '| B / C | %sx | %+d bytes |\n' "$(awk -v b="$b" -v c="$c" 'BEGIN {printf "%.2f", b / c}')" "$((size_b - size_c))"
