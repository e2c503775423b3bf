#!/bin/sh
# The training tests' fixture (CTest `training_image`, run as root after `e2e_images`): builds the
# PyTorch example image, or reuses it from the cache keyed by its definition file's hash
# (scripts/example-image.sh: /var/cache/cexec-examples/<sha256>/pytorch.img, outside the checkout,
# kept between CI runs), and stages it with the example's files, world-readable:
#   STAGE/training/{pytorch.img -> cache, train.py, train.sbatch, allreduce.py}
#   STAGE/bin/training_tests
set -eu
src=$1
build=$2
stage=$3
mkdir -p "$stage/training"
chmod 0755 "$stage/training"
img=$("$src/scripts/example-image.sh" "$src/examples/pytorch-ddp/pytorch.def" "$stage/bin/cexec")
ln -sfn "$img" "$stage/training/pytorch.img"
cp "$src/examples/pytorch-ddp/train.py" "$src/examples/pytorch-ddp/train.sbatch" "$src/examples/mpi4py/allreduce.py" \
  "$stage/training/"
chmod 0644 "$stage/training/"*.py "$stage/training/train.sbatch"
cp "$build/tests/training_tests" "$stage/bin/"
