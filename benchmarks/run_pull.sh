#!/usr/bin/env bash
# run_pull.sh: `cexec pull` from a local registry against `skopeo copy` of the same image.
#
# A local docker-registry (distribution 2.8, 127.0.0.1, storage in a temporary folder) holds an
# image of a busybox layer and two layers of random data (--mib MiB each, default 64: incompressible,
# so the transfer and the digest checks dominate). Per round, interleaved:
#   A  cexec pull OUT REF with an empty cache (download, verify, apply the layers, mksquashfs)
#   B  cexec pull --force OUT REF again (warm cache: apply the layers and mksquashfs only)
#   C  skopeo copy docker://REF oci:DIR (download and verify only, into an OCI layout)
#   D  skopeo copy docker://REF docker-archive:FILE, then cexec build OUT FILE (the same result as
#      A by hand: download with skopeo, import the archive)
# A's download share is the sum of its per-blob times (cexec pull -v). Every command runs under
# `timeout` (--timeout seconds, default 300); a run that times out or fails is discarded and
# counted. Prints the machine, its load, each round and a markdown table of medians and ratios.
# Usage: benchmarks/run_pull.sh [--build-dir DIR] [--rounds N] [--mib N] [--timeout S]
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${CEXEC_BUILD_DIR:-$repo/build}
rounds=3
mib=64
limit=300
as_user=""
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --mib) mib=$2; shift 2 ;;
    --timeout) limit=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "run_pull.sh: unknown option $1" >&2; exit 64 ;;
  esac
done
# shellcheck source=common.sh
. "$repo/benchmarks/common.sh"
for tool in docker-registry skopeo; do
  command -v "$tool" >/dev/null || { echo "run_pull.sh: $tool missing (scripts/setup.sh installs it)" >&2; exit 69; }
done

work=$(mktemp -d /tmp/cexec-bench-pull.XXXXXX)
registry_pid=""
cleanup() {
  if [ -n "$registry_pid" ]; then
    kill "$registry_pid" 2>/dev/null || true
    wait "$registry_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
export TMPDIR=$work
cexec=$build_dir/cexec

# The registry, on a port nothing uses.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$work/registry.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/storage
http:
  addr: 127.0.0.1:$port
YAML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break
  sleep 0.1
done
ref=127.0.0.1:$port/bench/app:v1

# The image: busybox, then two layers of random data; pushed with skopeo (which gzips the layers).
mkdir -p "$work/l0/bin" "$work/l1/data" "$work/l2/data" "$work/img"
cp /bin/busybox "$work/l0/bin/" && ln -s busybox "$work/l0/bin/sh"
head -c "$((mib << 20))" /dev/urandom > "$work/l1/data/a"
head -c "$((mib << 20))" /dev/urandom > "$work/l2/data/b"
diff_ids=""
for i in 0 1 2; do
  tar -C "$work/l$i" -cf "$work/img/layer$i.tar" .
  diff_ids="$diff_ids${diff_ids:+,}\"sha256:$(sha256sum "$work/img/layer$i.tar" | cut -c1-64)\""
done
printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"]},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
  "$diff_ids" > "$work/img/config.json"
printf '[{"Config":"config.json","Layers":["layer0.tar","layer1.tar","layer2.tar"]}]' > "$work/img/manifest.json"
tar -C "$work/img" -cf "$work/image.tar" manifest.json config.json layer0.tar layer1.tar layer2.tar
skopeo copy -q --dest-tls-verify=false "docker-archive:$work/image.tar" "docker://$ref"
rm -rf "$work/img" "$work/l0" "$work/l1" "$work/l2" "$work/image.tar"

describe_machine
echo "skopeo:    $(skopeo --version)"
echo "registry:  $(docker-registry --version 2>&1 | head -1) on 127.0.0.1:$port"
echo "image:     busybox + 2 x $mib MiB random data (gzip layers as skopeo pushed them)"
describe_load
echo

discarded=0
# timed NAME CMD...: appends the seconds to $work/NAME.times, or counts a discard.
timed() {
  local name=$1
  shift
  local t0 t1
  t0=$(date +%s.%N)
  if timeout "$limit" "$@" >"$work/last.out" 2>"$work/last.err"; then
    t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc >> "$work/$name.times"
  else
    echo "  $name: failed or timed out (discarded): $(tail -1 "$work/last.err")"
    discarded=$((discarded + 1))
  fi
}

for r in $(seq "$rounds"); do
  rm -rf "$work/cache" "$work/out.img" "$work/oci" "$work/archive.tar"
  export CEXEC_CACHE_DIR=$work/cache
  timed A "$cexec" pull -v "$work/out.img" "docker://$ref"
  awk '/: downloaded \(/ {gsub(/[^0-9.]/, "", $(NF-1)); s += $(NF-1)} END {print s}' "$work/last.err" >> "$work/A_download.times"
  timed B "$cexec" pull --force "$work/out.img" "docker://$ref"
  timed C skopeo copy -q --src-tls-verify=false "docker://$ref" "oci:$work/oci:v1"
  rm -rf "$work/out.img"
  timed D sh -c "skopeo copy -q --src-tls-verify=false docker://$ref docker-archive:$work/archive.tar:bench/app:v1 && \
    $cexec build -q $work/out.img $work/archive.tar"
  echo "round $r: A $(tail -1 "$work/A.times" 2>/dev/null) s (download $(tail -1 "$work/A_download.times") s), B $(tail -1 "$work/B.times" 2>/dev/null) s, C $(tail -1 "$work/C.times" 2>/dev/null) s, D $(tail -1 "$work/D.times" 2>/dev/null) s"
done
describe_load

median() { sort -n "$work/$1.times" 2>/dev/null | awk '{v[NR] = $1} END {if (NR) printf "%.2f", v[int((NR + 1) / 2)]; else print "n/a"}'; }
all() { paste -sd, "$work/$1.times" 2>/dev/null | sed 's/,/, /g'; }
a=$(median A); b=$(median B); c=$(median C); d=$(median D); ad=$(median A_download)
echo
echo "| what | median (s) | rounds (s) |"
echo "| --- | ---: | --- |"
echo "| A: \`cexec pull\`, empty cache | $a | $(all A) |"
echo "| &nbsp;&nbsp;of which downloading and verifying the 4 blobs | $ad | $(all A_download) |"
echo "| B: \`cexec pull\`, warm cache | $b | $(all B) |"
echo "| C: \`skopeo copy\` to an OCI layout | $c | $(all C) |"
echo "| D: \`skopeo copy\` to a docker archive + \`cexec build\` of it | $d | $(all D) |"
echo "| A download / C | $(echo "scale=2; $ad / $c" | bc)x | |"
echo "| A / D | $(echo "scale=2; $a / $d" | bc)x | |"
echo
echo "discarded runs: $discarded"
