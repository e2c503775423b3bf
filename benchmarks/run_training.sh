#!/usr/bin/env bash
# run_training.sh: the training benchmark of the main-job issue (issue 8).
#
# Training throughput (samples/s, as train.py measures it: training-loop time only, after the
# imports and the rendezvous) of examples/pytorch-ddp/train.py natively on the host (Debian's
# python3-torch installed there) against inside cexec (the example image, scripts/example-image.sh),
# with 1, 2 and 4 ranks under `mpirun --oversubscribe`. Variants alternate within each round so
# that other load on the machine falls on both alike; medians per variant, paired ratios per round.
# Also the wall time of each whole run (interpreter start, imports, rendezvous, training).
# Natively the framework variables come from a one-line `sh -c` wrapper (what jobs do without cexec);
# inside cexec they come from cexec itself. Both use one thread per rank (train.py's default).
# Every run has a time limit (--timeout S, default 300); a run that exceeds it or fails is reported
# as discarded on stderr and left out of the medians. --pinned adds a third variant, cexec with
# --cpu-bind=cores (ranks pinned, shared when they outnumber the cores), to compare the binding
# decision of cpu-bind=auto (docs/placement.md) with the layout it rejects. --cexec PATH uses that
# binary instead of build/cexec.
#   benchmarks/run_training.sh [--rounds N] [--epochs N] [--ranks "1 2 4"] [--timeout S] [--pinned] [--cexec PATH]
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
rounds=5
epochs=20
ranks_list="1 2 4"
run_timeout=300
variants="native cexec"
cexec_bin=$repo/build/cexec
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --epochs) epochs=$2; shift 2 ;;
    --ranks) ranks_list=$2; shift 2 ;;
    --timeout) run_timeout=$2; shift 2 ;;
    --pinned) variants="native cexec pinned"; shift ;;
    --cexec) cexec_bin=$(realpath "$2"); shift 2 ;;
    *) echo "run_training: unknown option $1" >&2; exit 64 ;;
  esac
done

need=""
# libopenblas0-pthread: the image's apt resolution picks OpenBLAS for libblas.so.3, while a host
# that already has the reference libblas3 keeps it; torch's small matrix products are about twice
# as fast with OpenBLAS, so without it the comparison would measure BLAS, not the container.
for p in python3-torch python3-sklearn python3-numpy libopenblas0-pthread; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need="$need $p"
done
if [ -n "$need" ]; then
  echo "run_training: installing$need on the host (the native side)" >&2
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null
fi
[ -x "$cexec_bin" ] || ./scripts/build.sh build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
img=$(scripts/example-image.sh examples/pytorch-ddp/pytorch.def "$cexec_bin")

work=$(mktemp -d /tmp/cexec-bench-training.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp examples/pytorch-ddp/train.py "$work/"
root_flag=(); [ "$(id -u)" -eq 0 ] && root_flag=(--allow-run-as-root)

echo "# machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/Mem:/ {print $2}') GiB," \
  "$(. /etc/os-release; echo "$PRETTY_NAME"), kernel $(uname -r), $(mpirun --version | head -1), torch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)')"
echo "# BLAS: native $(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3), in the image $("$cexec_bin" --no-share "$img" readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3)"
echo "# image: $img ($(du -h "$img" | cut -f1)); cexec $("$cexec_bin" --version | cut -d' ' -f2); $rounds rounds, $epochs epochs; load at start: $(cut -d' ' -f1-3 /proc/loadavg)"

run_one() {  # variant ranks -> "samples_per_s wall_s", or "discarded" (time limit or failure)
  local variant=$1 n=$2 out t0 t1 rc=0
  t0=$(date +%s.%N)
  if [ "$variant" = native ]; then
    # What a job does without cexec: translate Open MPI's variables for torch.distributed.
    out=$(cd "$work" && MASTER_PORT=$((20000 + RANDOM % 10000)) timeout -k 10 "$run_timeout" mpirun "${root_flag[@]}" -np "$n" --oversubscribe -x MASTER_PORT \
      sh -c 'RANK=$OMPI_COMM_WORLD_RANK WORLD_SIZE=$OMPI_COMM_WORLD_SIZE LOCAL_RANK=$OMPI_COMM_WORLD_LOCAL_RANK LOCAL_WORLD_SIZE=$OMPI_COMM_WORLD_LOCAL_SIZE MASTER_ADDR=127.0.0.1 exec /usr/bin/python3 train.py --epochs '"$epochs") || rc=$?
  else
    local bind=()
    [ "$variant" = pinned ] && bind=(--cpu-bind=cores)
    out=$(cd "$work" && timeout -k 10 "$run_timeout" mpirun "${root_flag[@]}" -np "$n" --oversubscribe "$cexec_bin" "${bind[@]}" "$img" python3 train.py --epochs "$epochs") || rc=$?
  fi
  t1=$(date +%s.%N)
  local tp
  tp=$(sed -n 's/^throughput \([0-9]*\) samples.*/\1/p' <<<"$out")
  if [ "$rc" -ne 0 ] || ! grep -q "ranks agree on the model: yes" <<<"$out"; then
    echo "run_training: $variant -np $n: discarded (exit $rc$([ "$rc" -eq 124 ] && echo ", over the ${run_timeout} s limit"))" >&2
    echo "discarded"
    return
  fi
  echo "$tp $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo
header="| ranks | native samples/s (median) | cexec samples/s (median) | ratio of medians | paired ratios (min–max) | native run wall s | cexec run wall s |"
sep="|---|---|---|---|---|---|---|"
if [ "$variants" != "native cexec" ]; then
  header="$header pinned samples/s (median) | pinned / native |"; sep="$sep---|---|"
fi
echo "$header"
echo "$sep"
for n in $ranks_list; do
  for v in $variants; do : > "$work/$v.$n"; done
  : > "$work/ratio.$n"
  for r in $(seq "$rounds"); do
    # Rotate which variant goes first, so drift in the machine's load cancels.
    order=$(echo $variants | awk -v r="$r" '{ for (i = 0; i < NF; i++) printf "%s ", $((i + r - 1) % NF + 1) }')
    declare -A got=()
    for v in $order; do
      read -r tp wall < <(run_one "$v" "$n")
      got[$v]=$tp
      [ "$tp" = discarded ] && continue
      echo "$tp $wall" >> "$work/$v.$n"
      echo "  round $r ranks $n $v: $tp samples/s, run $wall s" >&2
    done
    if [ "${got[native]}" != discarded ] && [ "${got[cexec]}" != discarded ]; then
      awk -v a="${got[native]}" -v b="${got[cexec]}" 'BEGIN { printf "%.3f\n", b / a }' >> "$work/ratio.$n"
    fi
    unset got
  done
  nt=$(cut -d' ' -f1 "$work/native.$n" | median); ct=$(cut -d' ' -f1 "$work/cexec.$n" | median)
  nw=$(cut -d' ' -f2 "$work/native.$n" | median); cw=$(cut -d' ' -f2 "$work/cexec.$n" | median)
  rmin=$(sort -n "$work/ratio.$n" | head -1); rmax=$(sort -n "$work/ratio.$n" | tail -1)
  line="| $n | $nt | $ct | $(awk -v a="$nt" -v b="$ct" 'BEGIN { printf "%.3f", b / a }')x | $rmin–$rmax | $nw | $cw |"
  if [ "$variants" != "native cexec" ]; then
    pt=$(cut -d' ' -f1 "$work/pinned.$n" | median)
    line="$line $pt | $(awk -v a="$nt" -v b="$pt" 'BEGIN { printf "%.3f", b / a }')x |"
  fi
  echo "$line"
done
