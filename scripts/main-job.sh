#!/bin/bash
# The main job: the seed's story on this machine. A scientist needs a deep-learning framework the
# cluster's OS cannot install; an image is built from a definition file and the training runs in
# it under MPI. Steps: install what is missing, build cexec, build the PyTorch example image (cached
# by the definition file's hash: rebuilt only when it changes), check MPI inside the image, then
#   mpirun -np 4 cexec pytorch.img python3 train.py
# printing each rank's placement, the training log, the final accuracy and the total time.
# Options: --ranks N (default 4), --epochs N (default 10). Exits non-zero if accuracy < 0.9.
set -euo pipefail
cd "$(dirname "$0")/.."
ranks=4
epochs=10
while [ $# -gt 0 ]; do
  case $1 in
    --ranks) ranks=$2; shift 2 ;;
    --epochs) epochs=$2; shift 2 ;;
    *) echo "main-job: unknown option $1 (use --ranks N, --epochs N)" >&2; exit 64 ;;
  esac
done
start=$(date +%s.%N)
elapsed() { awk -v s="$start" -v n="$(date +%s.%N)" 'BEGIN { printf "%.0f", n - s }'; }
step() { printf '\n== [%4s s] %s\n' "$(elapsed)" "$*"; }
show() { printf '$'; printf ' %s' "$@"; echo; "$@"; }

step "setup: Debian packages (scripts/setup.sh)"
./scripts/setup.sh

step "build cexec (scripts/build.sh)"
./scripts/build.sh build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
build/cexec --version

step "image: examples/pytorch-ddp/pytorch.def (Debian bookworm + python3-torch, sklearn, mpi4py, numpy)"
img=$(scripts/example-image.sh examples/pytorch-ddp/pytorch.def build/cexec)
echo "image: $img ($(du -h "$img" | cut -f1); cexec inspect shows its labels, definition and digest)"

mpirun_args=(-np "$ranks" --oversubscribe)
if [ "$(id -u)" -eq 0 ]; then
  mpirun_args+=(--allow-run-as-root)   # Open MPI refuses root without it
fi

step "MPI inside the image: mpi4py allreduce (examples/mpi4py/allreduce.py)"
show mpirun "${mpirun_args[@]}" build/cexec "$img" python3 examples/mpi4py/allreduce.py

step "training: PyTorch DistributedDataParallel (gloo), $ranks ranks, $epochs epochs"
log=$(mktemp /tmp/cexec-main-job.XXXXXX)
trap 'rm -f "$log"' EXIT
show mpirun "${mpirun_args[@]}" build/cexec "$img" python3 examples/pytorch-ddp/train.py --epochs "$epochs" | tee "$log"

acc=$(sed -n 's/^final test accuracy //p' "$log")
step "done"
echo "final test accuracy $acc ($ranks ranks in cexec, image $(basename "$img")), total time $(elapsed) s"
if ! awk -v a="${acc:-0}" 'BEGIN { exit !(a >= 0.9) }'; then
  echo "main-job: accuracy below 0.9" >&2
  exit 1
fi
