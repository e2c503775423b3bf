# Shared by the benchmark scripts (sourced, bash): what machine and what load a run had.
# describe_machine reads $repo, $build_dir, $as_user (empty: the invoking user) and $busybox
# (default /bin/busybox).

# The five processes using the most CPU over one second (top's second frame: its first counts
# from each process's start), so that a reader knows what else ran on the machine.
other_load() {
  top -b -n 2 -d 1 -w 200 | awk '/^top -/ {frame++}
    frame == 2 && $1 ~ /^[0-9]+$/ && $12 != "top" && shown++ < 5 {printf "           %5s%% cpu  pid %-7s %s\n", $9, $1, $12}'
}

describe_machine() {
  echo "== machine"
  echo "date:      $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "cpus:      $(nproc) ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'))"
  echo "memory:    $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "kernel:    $(uname -srm)"
  # shellcheck source=/dev/null
  echo "os:        $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "cexec:     $("$build_dir/cexec" --version) ($build_dir/cexec, source $(git -C "$repo" describe --always --dirty 2>/dev/null || echo unknown))"
  echo "mpirun:    $(mpirun --version 2>&1 | head -1) ($(command -v mpirun))"
  # ch-run refuses to start without $USER, even for --version.
  echo "ch-run:    $(USER=${USER:-root} ch-run --version 2>&1) ($(command -v ch-run))"
  echo "busybox:   $("${busybox:-/bin/busybox}" 2>&1 | head -1)"
  echo "measuring: ${as_user:-$(id -un)} (uid $(id -u ${as_user:+"$as_user"}))"
  echo
}

describe_load() {
  echo "load:      $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min); busiest other processes:"
  other_load
}


# The SLURM cluster of namespace nodes (tests/cluster/cluster.sh, docs/cluster.md; root) for the
# multi-node benchmarks (run_cluster.sh, admin/run-test-cluster.sh) and the admin benchmarks' test.
# start_test_cluster NODES SHARE [cluster.sh up options]: starts NODES compute nodes and a head node
# in /run/cexec-bench-cluster-PID, SHARE (a folder under /tmp) shared into every node's private
# /tmp; sets $cluster and $login (a command prefix that runs a command on the head node, where
# users call srun, sbatch and salloc). stop_test_cluster (from an EXIT trap) takes it down and
# returns 1 when `down` found something left behind. Needs $repo.
start_test_cluster() {
  local nodes=$1 share=$2
  shift 2
  cluster=/run/cexec-bench-cluster-$$
  "$repo/tests/cluster/cluster.sh" up "$cluster" --nodes "$nodes" --share "$share" "$@"
  login="$repo/tests/cluster/cluster.sh exec $cluster head"
}

stop_test_cluster() {
  [[ -n ${cluster:-} && -d $cluster ]] || return 0
  if ! "$repo/tests/cluster/cluster.sh" down "$cluster"; then
    echo "stop_test_cluster: the cluster left something behind" >&2
    return 1
  fi
}

# make_cluster_stage NAME CEXEC: the folder to give start_test_cluster as SHARE, $tmp
# (/tmp/NAME.XXXXXX, 0755, with bin/cexec a copy of CEXEC), and an EXIT trap that stops the cluster
# and removes $tmp, keeping the exit status (1 when the cluster left something behind).
make_cluster_stage() {
  tmp=$(mktemp -d "/tmp/$1.XXXXXX")
  trap remove_cluster_stage EXIT
  chmod 0755 "$tmp"
  mkdir -p "$tmp/bin"
  cp "$2" "$tmp/bin/cexec"
}

remove_cluster_stage() {
  local rc=$?
  stop_test_cluster || rc=1
  rm -rf "$tmp"
  exit $rc
}
