#!/usr/bin/env bash
# run-test-cluster.sh: cexec-scaling on the SLURM cluster of namespace nodes (tests/cluster/cluster.sh,
# started and stopped here; root), as an admin would run it on a real cluster: inside an allocation
# (salloc on the head node), with the image of benchmarks/admin/cexec-scaling.def (built once, cached
# by the definition file's hash: scripts/example-image.sh) as both --image and --app-image.
#   benchmarks/admin/run-test-cluster.sh [--nodes N] [--cpus C] [--cexec PATH] -- --out DIR [cexec-scaling options]
# e.g. benchmarks/admin/run-test-cluster.sh --nodes 2 -- --out /var/tmp/report --quick
# The nodes share this machine's cores: every node's ranks compete for the same CPUs.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
nodes=2
cpus=8
cexec=${CEXEC:-$repo/build/cexec}
while (($#)); do
  case $1 in
    --nodes) nodes=$2; shift 2 ;;
    --cpus) cpus=$2; shift 2 ;;
    --cexec) cexec=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "run-test-cluster.sh: unknown argument \`$1' (cexec-scaling's options go after --)" >&2; exit 64 ;;
  esac
done
(($(id -u) == 0)) || { echo "run-test-cluster.sh: needs root (the cluster's slurmd runs as root)" >&2; exit 1; }
[[ -x $cexec ]] || { echo "run-test-cluster.sh: no cexec at $cexec (build it, or --cexec PATH)" >&2; exit 1; }
# shellcheck source=benchmarks/common.sh
. "$repo/benchmarks/common.sh"

img=$("$repo/scripts/example-image.sh" "$repo/benchmarks/admin/cexec-scaling.def" "$cexec")
# Every node sees the stage at the same path (their /tmp is private; the stage is shared into it).
make_cluster_stage cexec-admin-bench "$cexec"
mkdir -p "$tmp/work"
start_test_cluster "$nodes" "$tmp" --cpus "$cpus"
# The nodes' ranks share this machine's cores: Open MPI ranks that poll for messages without ever
# yielding starve each other (a collective of 8 ranks on 2 cores took minutes). Natively and in the
# container alike (srun passes the variable to every rank, cexec into the container).
export OMPI_MCA_mpi_yield_when_idle=1
# salloc runs cexec-scaling on the head node with the allocation's SLURM_* variables, as on a login node.
$login salloc -N "$nodes" --ntasks-per-node="$cpus" --time=60 \
  "$repo/benchmarks/admin/cexec-scaling" --cexec "$tmp/bin/cexec" --image "$img" --app-image "$img" \
  --work "$tmp/work" "$@"
