#!/bin/sh
# A one-node SLURM cluster for the tests, from Debian's slurm-wlm and munge, in DIR:
#   cluster.sh start DIR   generates a munge key and slurm.conf, starts munged, slurmctld, slurmd,
#                          and waits until the node is idle
#   cluster.sh stop DIR    stops the daemons and removes DIR
# Use it with SLURM_CONF=DIR/slurm.conf. Needs root (slurmd runs jobs as their users).
set -eu
cmd=$1
dir=$2
host=$(hostname -s)

stop() {
  for pidfile in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munged.pid"; do
    if [ -f "$pidfile" ]; then
      kill "$(cat "$pidfile")" 2>/dev/null || true
    fi
  done
  # Wait for them to go, so no daemon outlives the test run.
  for _ in $(seq 50); do
    alive=0
    for pidfile in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munged.pid"; do
      if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        alive=1
      fi
    done
    [ $alive -eq 0 ] && break
    sleep 0.1
  done
}

if [ "$cmd" = stop ]; then
  stop
  rm -rf "$dir"
  exit 0
fi

rm -rf "$dir"
mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
chmod 0755 "$dir" "$dir/spool"
chown munge:munge "$dir/munge"
chmod 0700 "$dir/munge"
dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
chown munge:munge "$dir/munge/munge.key"
chmod 0400 "$dir/munge/munge.key"
# munged drops to the munge user; -f accepts the test's directories.
setpriv --reuid=munge --regid=munge --clear-groups munged -f --key-file="$dir/munge/munge.key" \
  --socket="$dir/munge/munge.socket" --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" \
  --seed-file="$dir/munge/munged.seed"
cp "$dir/munge/munged.pid" "$dir/munged.pid"
chmod 0755 "$dir/munge"   # clients (every job user) must reach the socket

port=$((20000 + $$ % 20000))
cat > "$dir/slurm.conf" <<CONF
ClusterName=cexectest
SlurmctldHost=$host
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$port
SlurmdPort=$((port + 1))
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
# The node claims 16 CPUs whatever it has, so that a 4- or 16-task step fits on a 2-core machine.
SlurmdParameters=config_overrides
SchedulerType=sched/builtin
NodeName=$host CPUs=16 State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:8
CONF
chmod 0644 "$dir/slurm.conf"
export SLURM_CONF="$dir/slurm.conf"
slurmctld -f "$dir/slurm.conf"
slurmd -f "$dir/slurm.conf"
for _ in $(seq 100); do
  if sinfo -h -o %t 2>/dev/null | grep -q idle; then
    exit 0
  fi
  sleep 0.2
done
echo "cluster.sh: the node did not become idle; logs:" >&2
tail -n 20 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
stop
exit 1
