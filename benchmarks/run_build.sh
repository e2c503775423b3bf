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
# definition file. B and C alternate --rounds times (default 3) so that load from elsewhere hits
# both alike; the table gives each round and the medians. Prints the machine and its load, per-stage
# times (cexec build -v) and a markdown table.
# Usage: benchmarks/run_build.sh [--user NAME] [--build-dir DIR] [--no-build] [--def FILE] [--rounds N]
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${CEXEC_BUILD_DIR:-$repo/build}
def=$repo/examples/bookworm-python.def
as_user=""
do_build=1
rounds=3
while [ $# -gt 0 ]; do
  case "$1" in
    --user) as_user=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --no-build) do_build=0; shift ;;
    --def) def=$(realpath "$2"); shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
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
echo "load:      $(cut -d" " -f1-3 /proc/loadavg)"

echo "== A: cexec build --sandbox (bootstrap, post, test)"
t0=$(now)
as "$work/cexec" build -v --sandbox "$work/out/tree" "$work/example.def" 2> "$work/a.log"
t1=$(now)
grep -E '^cexec build: step' "$work/a.log"

step() { awk -v name="$1:" '$3 == "step" && $4 == name {print $5}' "$2"; }
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
: > "$work/b.times"; : > "$work/c.times"; : > "$work/squash.times"; : > "$work/copy.times"
: > "$work/cleanup.times"; : > "$work/digest.times"
for round in $(seq "$rounds"); do
  echo "== round $round/$rounds, B: cexec build IMG TREE (copy, metadata, squash, cleanup, digest)"
  rm -f "$work/out/cexec.img"
  t2=$(now)
  as "$work/cexec" build -v "$work/out/cexec.img" "$work/out/tree" 2> "$work/b.log" > "$work/b.digest"
  t3=$(now)
  grep -E '^cexec build: step' "$work/b.log"
  cat "$work/b.digest"
  elapsed "$t2" "$t3" >> "$work/b.times"; echo >> "$work/b.times"
  for s in squash bootstrap cleanup digest; do
    f=$s; [ "$s" = bootstrap ] && f=copy
    step "$s" "$work/b.log" >> "$work/$f.times"
  done
  echo "== round $round/$rounds, C: mksquashfs TREE -comp zstd"
  t4=$(now)
  as mksquashfs "$work/out/tree" "$work/out/plain.img" -comp zstd -noappend -quiet -no-progress >/dev/null
  t5=$(now)
  elapsed "$t4" "$t5" >> "$work/c.times"; echo >> "$work/c.times"
  echo "B $(tail -1 "$work/b.times") s, C $(tail -1 "$work/c.times") s; load $(cut -d' ' -f1-3 /proc/loadavg)"
done

a=$(elapsed "$t0" "$t1")
b=$(median < "$work/b.times"); c=$(median < "$work/c.times")
size_b=$(stat -c %s "$work/out/cexec.img"); size_c=$(stat -c %s "$work/out/plain.img")
tree=$(du -sb "$work/out/tree" | cut -f1)
list() { paste -sd' ' "$1"; }
echo "== results (medians of $rounds rounds; each round in brackets)"
printf '| what | time (s) | image size (bytes) |\n| --- | ---: | ---: |\n'
printf '| A: cexec build --sandbox from the definition (bootstrap + %%post + %%test) | %.1f | tree %s |\n' "$a" "$tree"
printf '| B: cexec build IMG TREE, total | %.1f [%s] | %s |\n' "$b" "$(list "$work/b.times")" "$size_b"
printf '| &nbsp;&nbsp;copying the tree into the sandbox | %.1f | |\n' "$(median < "$work/copy.times")"
printf '| &nbsp;&nbsp;mksquashfs in the sandbox | %.1f [%s] | |\n' "$(median < "$work/squash.times")" "$(list "$work/squash.times")"
printf '| &nbsp;&nbsp;removing the work tree | %.1f | |\n' "$(median < "$work/cleanup.times")"
printf '| &nbsp;&nbsp;the sha256 digest | %.1f | |\n' "$(median < "$work/digest.times")"
printf '| C: plain mksquashfs -comp zstd of the same tree | %.1f [%s] | %s |\n' "$c" "$(list "$work/c.times")" "$size_c"
printf '| B / C | %sx | %+d bytes |\n' "$(awk -v b="$b" -v c="$c" 'BEGIN {printf "%.2f", b / c}')" "$((size_b - size_c))"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
