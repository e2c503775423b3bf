#!/bin/sh
# A multi-node SLURM cluster on one machine, for the tests and for trying cexec by hand (root).
# Every node is a network namespace (a veth into a bridge that lives in a namespace of its own, so
# the cluster's addresses exist nowhere else), a UTS namespace (hostname nodeK) and a mount namespace
# (private /tmp and /dev/shm, a generated /etc/hosts naming every node), held by one long-lived
# process; each compute node runs its own slurmd, the head node (also the login node) slurmctld.
# One munged serves all of them through its socket in DIR. The host's paths are the cluster's shared
# filesystem, except /tmp: name the /tmp paths every node must see with --share.
#
#   cluster.sh up DIR [--nodes N] [--gpu-nodes K] [--gpu-root ROOT] [--cpus C] [--share PATH]...
#                     [--plugstack FILE]
#       start N compute nodes node1..nodeN (default 4, or $CEXEC_CLUSTER_NODES) and the head node;
#       node1..nodeK (default 0) are GPU nodes: Gres=gpu:2 with device files ROOT/dev/nvidia[0-1]
#       (a fake driver tree, tests/gpu/make_gpu_fixtures.sh) and CEXEC_TEST_GPU_ROOT=ROOT in their
#       tasks' environment (TaskProlog); waits until every node is idle. DIR must not be under /tmp.
#       --plugstack FILE (absolute): slurm.conf's PlugStackConfig, the SPANK plugins' plugstack.conf
#       (docs/spank.md). srun and slurmstepd read it at every step, so a change to FILE holds from
#       the next step on; without it SLURM reads its default /etc/slurm/plugstack.conf, if any.
#       This machine's hwloc topology shows no GPU: jobs that test GPU placement name an hwloc
#       capture of a GPU node (CEXEC_TOPOLOGY, --topology).
#   cluster.sh down DIR           kill everything in the nodes' namespaces, remove them and DIR,
#                                 then check that nothing remains (exit 1 naming what does)
#   cluster.sh exec DIR NODE CMD...   run CMD on NODE (head, node1, ...) with SLURM_CONF set, in the
#                                     current folder when NODE sees it
#   cluster.sh kill-node DIR NODE     NODE dies: its link goes down, then every process in its
#                                     namespaces (slurmd, slurmstepd, tasks, cexec) gets SIGKILL
#   cluster.sh revive DIR NODE        link up, slurmd again; waits until NODE is idle
#   cluster.sh procs DIR NODE         list the processes of NODE ("PID COMM", one per line)
set -eu

usage() { echo "usage: cluster.sh up|down|exec|kill-node|revive|procs DIR ..." >&2; exit 64; }
[ $# -ge 2 ] || usage
cmd=$1
dir=$2
shift 2
case "$dir" in
  /*) ;;
  *) echo "cluster.sh: $dir: DIR must be absolute" >&2; exit 64 ;;
esac

# The namespace prefix is stored in DIR so that every later call finds the same names.
tag() { cat "$dir/tag"; }
nodes() { cat "$dir/nodes.list"; }
holder() { cat "$dir/nodes/$1/holder.pid"; }

# PIDs whose network namespace is NODE's (all of a node's processes: nothing leaves its netns).
node_pids() {
  ns=/run/netns/$(tag)-$1
  [ -e "$ns" ] || return 0
  want=$(stat -L -c %i "$ns")
  for p in /proc/[0-9]*; do
    got=$(stat -L -c %i "$p/ns/net" 2>/dev/null) || continue
    [ "$got" = "$want" ] && echo "${p#/proc/}"
  done
  return 0
}

# SIGKILL every process of NODE but its holder (the node's namespaces stay, as a powered-off
# machine keeps its disks); `down` kills the holder too.
kill_node() {
  keep=$(cat "$dir/nodes/$1/holder.pid" 2>/dev/null || true)
  [ "${2:-}" != all ] || keep=""
  # Again while any remain: a process may fork while a pass runs (slurmstepd, a FUSE server).
  for _ in 1 2 3 4 5; do
    pids=$(node_pids "$1" | grep -v -x -F "${keep:-none}" || true)
    [ -n "$pids" ] || break
    # shellcheck disable=SC2086
    kill -9 $pids 2>/dev/null || true
    sleep 0.2
  done
}

in_node() {
  node=$1
  shift
  # The caller's folder when the node sees it (the shared filesystem), else /, as ssh would.
  exec nsenter -t "$(holder "$node")" --net --uts --ipc --mount env SLURM_CONF="$dir/slurm.conf" \
    sh -c 'cd "$1" 2>/dev/null || cd /; shift; exec "$@"' sh "$PWD" "$@"
}

down() {
  [ -f "$dir/tag" ] || { rm -rf "$dir"; return 0; }
  t=$(tag)
  inodes=""
  for n in $(nodes 2>/dev/null) head br; do
    [ ! -e "/run/netns/$t-$n" ] || inodes="$inodes $(stat -L -c %i "/run/netns/$t-$n")"
  done
  for n in $(nodes 2>/dev/null) head; do
    kill_node "$n" all
  done
  munged=$(cat "$dir/munge/munged.pid" 2>/dev/null || true)
  [ -z "$munged" ] || kill "$munged" 2>/dev/null || true
  for n in $(nodes 2>/dev/null) head br; do
    ip netns del "$t-$n" 2>/dev/null || true
  done
  for _ in $(seq 50); do
    [ -n "$munged" ] && kill -0 "$munged" 2>/dev/null || break
    sleep 0.1
  done
  # Anything else still reading DIR (a daemon of an earlier, interrupted start).
  for p in /proc/[0-9]*; do
    [ "${p#/proc/}" != $$ ] || continue
    if tr '\0' ' ' < "$p/cmdline" 2>/dev/null | grep -q -F -- "$dir/"; then
      kill -9 "${p#/proc/}" 2>/dev/null || true
    fi
  done
  sleep 0.1
  left=$(leftovers "$t" "$inodes")
  rm -rf "$dir"
  if [ -n "$left" ]; then
    echo "cluster.sh: left behind after down:" >&2
    echo "$left" >&2
    return 1
  fi
}

# What remains of the cluster with tag T and namespace inodes I: its named namespaces, processes in
# its network namespaces, daemons reading DIR.
leftovers() {
  ip netns list 2>/dev/null | awk -v t="$1-" 'index($1, t) == 1 { print "netns " $1 }'
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    [ "$pid" != $$ ] || continue
    got=$(stat -L -c %i "$p/ns/net" 2>/dev/null) || continue
    for i in $2; do
      [ "$got" != "$i" ] || echo "process $pid $(cat "$p/comm" 2>/dev/null) (in a node's network namespace)"
    done
    if tr '\0' ' ' < "$p/cmdline" 2>/dev/null | grep -q -F -- "$dir/"; then
      echo "process $pid $(cat "$p/comm" 2>/dev/null) (uses $dir)"
    fi
  done
  for f in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}'); do
    case "$f" in v-head*|v-node*) echo "link $f in the host's namespace" ;; esac
  done
  return 0
}

case "$cmd" in
  down) down; exit $? ;;
  exec) [ $# -ge 2 ] || usage; in_node "$@" ;;
  kill-node)
    # Power loss: the link goes first, so that peers see no FIN or RST, only silence.
    [ $# -eq 1 ] || usage
    ip -n "$(tag)-$1" link set eth0 down
    kill_node "$1"
    exit 0 ;;
  revive)
    [ $# -eq 1 ] || usage
    ip -n "$(tag)-$1" link set eth0 up
    nsenter -t "$(holder "$1")" --net --uts --ipc --mount slurmd -f "$dir/slurm.conf"
    for _ in $(seq 300); do
      state=$(nsenter -t "$(holder head)" --net --uts --ipc --mount env SLURM_CONF="$dir/slurm.conf" \
        sinfo -h -n "$1" -o %t 2>/dev/null || true)
      [ "$state" != idle ] || exit 0
      sleep 0.2
    done
    echo "cluster.sh: $1 did not come back (state $state)" >&2
    exit 71 ;;
  procs)
    [ $# -eq 1 ] || usage
    for p in $(node_pids "$1"); do echo "$p $(cat "/proc/$p/comm" 2>/dev/null)"; done
    exit 0 ;;
  up) ;;
  *) usage ;;
esac

n=${CEXEC_CLUSTER_NODES:-4}
gpu_nodes=0
gpu_root=""
cpus=8
shares=""
plugstack=""
while [ $# -gt 0 ]; do
  case "$1" in
    --nodes) n=$2; shift 2 ;;
    --gpu-nodes) gpu_nodes=$2; shift 2 ;;
    --gpu-root) gpu_root=$2; shift 2 ;;
    --cpus) cpus=$2; shift 2 ;;
    --share) shares="$shares $2"; shift 2 ;;
    --plugstack) plugstack=$2; shift 2 ;;
    *) usage ;;
  esac
done
case "$dir" in
  /tmp|/tmp/*) echo "cluster.sh: $dir: every node has a private /tmp; put DIR elsewhere" >&2; exit 64 ;;
esac
case "$n" in ''|*[!0-9]*) echo "cluster.sh: --nodes $n: not a number" >&2; exit 64 ;; esac
[ "$n" -ge 1 ] && [ "$n" -le 200 ] || { echo "cluster.sh: --nodes $n: between 1 and 200" >&2; exit 64; }
case "$plugstack" in
  ''|/*) ;;
  *) echo "cluster.sh: --plugstack $plugstack: must be absolute" >&2; exit 64 ;;
esac
if [ -n "$plugstack" ] && [ ! -r "$plugstack" ]; then
  echo "cluster.sh: --plugstack $plugstack: not readable" >&2
  exit 66
fi
if [ "$gpu_nodes" -gt 0 ] && [ ! -e "$gpu_root/dev/nvidia0" ]; then
  echo "cluster.sh: --gpu-root $gpu_root: no dev/nvidia0 there (tests/gpu/make_gpu_fixtures.sh makes one)" >&2
  exit 66
fi
[ ! -e "$dir" ] || { echo "cluster.sh: $dir exists (cluster.sh down $dir first)" >&2; exit 73; }
for tool in ip nsenter unshare slurmctld slurmd munged; do
  command -v "$tool" >/dev/null || { echo "cluster.sh: $tool: not installed (iproute2, util-linux, slurm-wlm, munge)" >&2; exit 69; }
done

# A failed start leaves nothing behind.
trap 'status=$?; [ $status -eq 0 ] || { echo "cluster.sh: start failed; logs in:" >&2; tail -n 5 "$dir"/*.log "$dir"/nodes/*/*.log >&2 2>/dev/null; down; }' EXIT

t="cx$$"
mkdir -p "$dir/state" "$dir/munge" "$dir/nodes/head"
chmod 0755 "$dir"
echo "$t" > "$dir/tag"
seq 1 "$n" | sed 's/^/node/' > "$dir/nodes.list"

addr() {  # head 10.77.0.1, nodeK 10.77.(K/200).(10 + K%200)
  case "$1" in
    head) echo 10.77.0.1 ;;
    *) k=${1#node}; echo "10.77.$((k / 200)).$((10 + k % 200))" ;;
  esac
}
{
  echo "127.0.0.1 localhost"
  for name in head $(nodes); do echo "$(addr "$name") $name"; done
} > "$dir/hosts"
chmod 0644 "$dir/hosts"

# The network: a bridge in a namespace of its own, one veth per node into it.
ip netns add "$t-br"
ip -n "$t-br" link set lo up
ip -n "$t-br" link add br0 type bridge
ip -n "$t-br" link set br0 up
for name in head $(nodes); do
  mkdir -p "$dir/nodes/$name/spool"
  chmod 0755 "$dir/nodes/$name"
  ip netns add "$t-$name"
  ip -n "$t-br" link add "v-$name" type veth peer name eth0 netns "$t-$name"
  ip -n "$t-br" link set "v-$name" master br0 up
  ip -n "$t-$name" addr add "$(addr "$name")/16" dev eth0
  ip -n "$t-$name" link set eth0 up
  ip -n "$t-$name" link set lo up
done

# Each node's holder: enters the netns, unshares UTS and mount, names itself, mounts its private
# /tmp and /dev/shm (after binding the shared /tmp paths aside, then moving them back in place) and
# its /etc/hosts, then sleeps until `down`. `nsenter --net=/run/netns/...`, not `ip netns exec`:
# the latter remounts /sys and slurmd then finds no /sys/fs/cgroup.
for name in head $(nodes); do
  nd="$dir/nodes/$name"
  cat > "$nd/holder.sh" <<HOLDER
set -eu
hostname $name
i=0
for p in $shares; do
  mkdir -p "$nd/share\$i"; mount --bind "\$p" "$nd/share\$i"; i=\$((i + 1))
done
mount -t tmpfs -o mode=1777,size=4g tmpfs /tmp
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
i=0
for p in $shares; do
  mkdir -p "\$p"; mount --move "$nd/share\$i" "\$p"; i=\$((i + 1))
done
mount --bind "$dir/hosts" /etc/hosts
echo ready > "$nd/holder.ready"
exec sleep 2147483647
HOLDER
  nsenter --net="/run/netns/$t-$name" unshare --uts --ipc --mount --propagation private sh "$nd/holder.sh" \
    > "$nd/holder.log" 2>&1 &
  echo $! > "$nd/holder.pid"
done
for name in head $(nodes); do
  for _ in $(seq 100); do
    [ -f "$dir/nodes/$name/holder.ready" ] && break
    sleep 0.05
  done
  [ -f "$dir/nodes/$name/holder.ready" ] || { echo "cluster.sh: node $name did not start" >&2; exit 71; }
done

# munge: one daemon, as the munge user, its socket in DIR (outside every node's private /tmp).
chown munge:munge "$dir/munge"
chmod 0700 "$dir/munge"
dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
chown munge:munge "$dir/munge/munge.key"
chmod 0400 "$dir/munge/munge.key"
setpriv --reuid=munge --regid=munge --clear-groups munged -f --key-file="$dir/munge/munge.key" \
  --socket="$dir/munge/munge.socket" --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" \
  --seed-file="$dir/munge/munged.seed"
chmod 0755 "$dir/munge"   # every job user must reach the socket

# GPU nodes get their device files in gres.conf and the driver root in their tasks' environment,
# through a TaskProlog as a site would set a variable per node.
gres_lines=""
: > "$dir/gres.conf"
for k in $(seq 1 "$gpu_nodes"); do
  echo "NodeName=node$k Name=gpu File=$gpu_root/dev/nvidia[0-1]" >> "$dir/gres.conf"
  echo "export CEXEC_TEST_GPU_ROOT=$gpu_root" > "$dir/nodes/node$k/task-env"
done
cat > "$dir/task_prolog.sh" <<PROLOG
#!/bin/sh
f="$dir/nodes/\$(hostname)/task-env"
[ ! -r "\$f" ] || cat "\$f"
PROLOG
chmod 0755 "$dir/task_prolog.sh"
chmod 0644 "$dir/gres.conf"

{
  cat <<CONF
ClusterName=cexec
SlurmctldHost=head($(addr head))
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/nodes/%n/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/nodes/%n/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/nodes/%n/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
TaskProlog=$dir/task_prolog.sh
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
GresTypes=gpu
ReturnToService=2
# A dead node is noticed within seconds, not SLURM's default 5 minutes.
SlurmdTimeout=10
MessageTimeout=5
KillWait=5
InactiveLimit=0
# One failed task ends its step (what MPI sites set): the other ranks would wait for it forever.
KillOnBadExit=1
# Every node claims $cpus CPUs whatever the machine has, so that 8 ranks per node fit on 2 cores.
SlurmdParameters=config_overrides
SchedulerType=sched/builtin
CONF
  [ -z "$plugstack" ] || echo "PlugStackConfig=$plugstack"
  for k in $(seq 1 "$n"); do
    gres=""
    [ "$k" -gt "$gpu_nodes" ] || gres=" Gres=gpu:2"
    echo "NodeName=node$k NodeAddr=$(addr "node$k") CPUs=$cpus$gres State=UNKNOWN"
  done
  echo "PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:8"
} > "$dir/slurm.conf"
chmod 0644 "$dir/slurm.conf"

export SLURM_CONF="$dir/slurm.conf"
nsenter -t "$(holder head)" --net --uts --ipc --mount slurmctld -f "$dir/slurm.conf"
for name in $(nodes); do
  nsenter -t "$(holder "$name")" --net --uts --ipc --mount slurmd -f "$dir/slurm.conf"
done
for _ in $(seq 300); do
  idle=$(nsenter -t "$(holder head)" --net --uts --ipc --mount sinfo -h -N -o '%N %t' 2>/dev/null | awk '$2 == "idle"' | wc -l)
  if [ "$idle" -eq "$n" ]; then
    trap - EXIT
    echo "cluster.sh: $n nodes idle (head $(addr head); slurm.conf $dir/slurm.conf)"
    exit 0
  fi
  sleep 0.2
done
echo "cluster.sh: the nodes did not become idle:" >&2
nsenter -t "$(holder head)" --net --uts --ipc --mount sinfo -N >&2 || true
exit 71
