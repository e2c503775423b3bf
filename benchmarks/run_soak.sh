#!/usr/bin/env bash
# run_soak.sh: the soak and load runs of the hardening issue (issue 18).
#
# Builds cexec and mpi_probe, builds the MPI test image (tests/mpi/make_mpi_image.sh) in a fresh
# temporary directory, prints the machine, and runs three parts while a sampler records, once a
# second, every cexec process of the run (its node-instance keepers `cexec-instance`, FUSE servers
# `cexec-sqfs`, launching `cexec`): uid, open descriptors and RSS, from /proc.
#   jobs:     N back-to-back `mpirun -np 8 cexec IMG ...` jobs, alternating /bin/true and
#             `mpi_probe check`; every job must pass; keeper fds and RSS by decile of the run;
#   users:    two users (root and nobody by default) x 8 concurrent mpirun jobs each, for a duration;
#             jobs completed, failures and time-outs per user;
#   launches: a shell loop of N single launches `cexec IMG /bin/true` from one shell (one job
#             identity: the parent pid), all joining one instance that the default linger keeps;
#             median/p99 per launch, the keeper's fds and RSS after the first launches and at the end.
# Every job and launch runs under a time-out (a watchdog per part); a run that outlives it is killed
# and counted as timed out (discarded), with its process tree as it stood. After each part (and the
# linger) nothing may remain: no cexec process, no new mount, no new entry in /tmp, /var/tmp or
# /dev/shm of the soak's users. See benchmarks/README.md.
set -uo pipefail
shopt -s nullglob

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${CEXEC_BUILD_DIR:-$repo/build}
as_user=""
do_build=1
parts="jobs,users,launches"
jobs=1000
ranks=8
job_timeout=30
users=""
concurrent=8
user_ranks=4
duration=600
launches=10000
launch_timeout=20
bare_launches=1000
sample_interval=1
linger=""
save_dir=""

usage() {
  cat <<EOF
Usage: benchmarks/run_soak.sh [OPTIONS]

  --parts LIST          which parts, comma-separated: jobs, users, launches (default $parts)
  --jobs N              back-to-back jobs of the jobs part (default $jobs)
  --ranks N             ranks per job of the jobs part (default $ranks)
  --job-timeout S       seconds before a job counts as hung and is killed (default $job_timeout)
  --users LIST          the users of the users part (default root,nobody as root; needs root)
  --concurrent N        concurrent jobs per user in the users part (default $concurrent)
  --user-ranks N        ranks per job of the users part (default $user_ranks)
  --duration S          seconds the users part runs (default $duration)
  --launches N          single launches of the launches part (default $launches)
  --launch-timeout S    seconds before a single launch counts as hung (default $launch_timeout)
  --bare-launches N     launches of bare /bin/true from the same loop, for reference (default $bare_launches)
  --sample-interval S   seconds between samples of the cexec processes (default $sample_interval)
  --linger S            CEXEC_LINGER for every run (default: unset, cexec's default of 3 s)
  --save DIR            keep the raw samples and per-run logs in DIR (they go with the temp dir otherwise)
  --user NAME           run the jobs and launches parts as NAME (e.g. nobody) via setpriv; needs root
  --build-dir DIR       where to build (default \$CEXEC_BUILD_DIR or build/)
  --no-build            use the binaries already in the build directory
EOF
}

while (($#)); do
  case $1 in
    --parts) parts=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --ranks) ranks=$2; shift 2 ;;
    --job-timeout) job_timeout=$2; shift 2 ;;
    --users) users=$2; shift 2 ;;
    --concurrent) concurrent=$2; shift 2 ;;
    --user-ranks) user_ranks=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --launches) launches=$2; shift 2 ;;
    --launch-timeout) launch_timeout=$2; shift 2 ;;
    --bare-launches) bare_launches=$2; shift 2 ;;
    --sample-interval) sample_interval=$2; shift 2 ;;
    --linger) linger=$2; shift 2 ;;
    --save) save_dir=$2; shift 2 ;;
    --user) as_user=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --no-build) do_build=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run_soak.sh: unknown argument \`$1'" >&2; usage >&2; exit 64 ;;
  esac
done

die() {
  echo "run_soak.sh: $*" >&2
  exit 1
}

has_part() {
  [[ ,$parts, == *,$1,* ]]
}

# other_load, describe_machine, describe_load (they read $repo, $build_dir and $as_user).
# shellcheck source=benchmarks/common.sh
. "$repo/benchmarks/common.sh"

if ((do_build)); then
  if [[ ! -f $build_dir/build.ninja ]] || ! grep -q '^CEXEC_BUILD_TESTS:BOOL=ON' "$build_dir/CMakeCache.txt"; then
    cmake -S "$repo" -B "$build_dir" -G Ninja -DCEXEC_BUILD_TESTS=ON >/dev/null || die "cmake failed"
  fi
  ninja -C "$build_dir" cexec mpi_probe >/dev/null || die "build failed"
fi
for b in cexec tests/mpi_probe; do
  [[ -x $build_dir/$b ]] || die "no $b in $build_dir (build with CEXEC_BUILD_TESTS=ON, or drop --no-build)"
done
for tool in mpirun mksquashfs setsid pgrep ps; do
  command -v $tool >/dev/null || die "$tool not found (Debian: openmpi-bin, squashfs-tools, util-linux, procps)"
done
if [[ ! -x /bin/busybox ]] || ldd /bin/busybox >/dev/null 2>&1; then
  die "/bin/busybox missing or dynamic (Debian: busybox-static)"
fi

if [[ -n $as_user ]] && (($(id -u) != 0)); then
  die "--user needs root (it switches users with setpriv)"
fi
if [[ -z $users ]]; then
  users=root,nobody
fi
if has_part users && (($(id -u) != 0)); then
  die "the users part needs root (it runs jobs as two users); leave it out with --parts jobs,launches"
fi
IFS=, read -r -a user_list <<<"$users"

# Every user that runs jobs mounts the SquashFS with FUSE as itself. Stock distros ship /dev/fuse
# 0666; these machines had 0600, which fails with "failed to open /dev/fuse: Permission denied".
if (($(id -u) == 0)) && [[ $(stat -c %a /dev/fuse) != 666 ]]; then
  echo "run_soak.sh: chmod 0666 /dev/fuse (was $(stat -c %a /dev/fuse)) so unprivileged users can use FUSE" >&2
  chmod 0666 /dev/fuse
fi

tmp=$(mktemp -d /tmp/cexec-soak.XXXXXX)
chmod 0755 "$tmp"  # the soak's users must reach the image and the binaries
sampler_pid=""
watchdog_pid=""
cleanup() {
  [[ -n $sampler_pid ]] && kill "$sampler_pid" 2>/dev/null
  [[ -n $watchdog_pid ]] && kill "$watchdog_pid" 2>/dev/null
  if [[ -n $save_dir ]]; then
    mkdir -p "$save_dir"
    cp "$samples" "$tmp/jobs.log" "$tmp/users.log" "$tmp/out/launches" "$tmp/out/bare" "$save_dir/" 2>/dev/null
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$tmp/bin" "$tmp/progress" "$tmp/timedout" "$tmp/trees" "$tmp/out"
cp "$build_dir/cexec" "$build_dir/tests/mpi_probe" "$tmp/bin/"
chmod -R a+rX "$tmp/bin"
cexec=$tmp/bin/cexec
img=$tmp/mpi.sqfs
samples=$tmp/samples

# Per user: a home and a runtime directory of its own under $tmp (XDG_RUNTIME_DIR keeps cexec's
# rendezvous secret there rather than in /dev/shm/cexec-UID, which lasts until reboot and would
# count as left behind).
declare -A user_home user_group
setup_user() {
  local u=$1 uid
  uid=$(id -u "$u") || die "no user $u"
  user_group[$u]=$(id -gn "$u")
  user_home[$u]=$tmp/home-$u
  mkdir -p "${user_home[$u]}/run"
  chown -R "$u:${user_group[$u]}" "${user_home[$u]}"
  chmod 0700 "${user_home[$u]}/run"
}
run_user=${as_user:-$(id -un)}
setup_user "$run_user"
if has_part users; then
  for u in "${user_list[@]}"; do
    [[ -n ${user_home[$u]:-} ]] || setup_user "$u"
  done
fi

# The command prefix that runs something as user $1 with a clean set of launcher variables (the job
# identity must come from mpirun, or for single launches from the parent pid, never from an outer
# job the script runs in). setpriv, setsid and env exec: the pid of the prefix is the command's.
user_prefix() {
  local u=$1
  local -a p=()
  if [[ $u != "$(id -un)" ]]; then
    p=(setpriv "--reuid=$u" "--regid=${user_group[$u]}" --clear-groups)
  fi
  p+=(env -u SLURM_JOB_ID -u SLURM_STEP_ID -u PMIX_NAMESPACE -u OMPI_MCA_ess_base_jobid -u PMI_PORT
    -u CEXEC_LINGER ${linger:+"CEXEC_LINGER=$linger"} "USER=$u" "LOGNAME=$u" "HOME=${user_home[$u]}"
    "XDG_RUNTIME_DIR=${user_home[$u]}/run" "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
  if [[ $(id -u "$u") == 0 ]]; then
    p+=(OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1)
  fi
  printf '%s\0' "${p[@]}"
}

# --- the sampler: every cexec process of this run (exe is our copy), once per interval ----------
#   K TIME PART INDEX PID UID COMM FDS RSS_KB THREADS      one line per process
#   C TIME PART INDEX KEEPERS SQFS LAUNCHING               counts
# INDEX is what the part last wrote to $tmp/phase (the job or launch number, or seconds).
sample_once() {
  local now=$EPOCHREALTIME part="-" idx=0 pid comm k v rest uid rss thr nk=0 ns=0 nc=0
  local -a fds
  read -r part idx <"$tmp/phase" 2>/dev/null
  [[ -n $part ]] || part=-  # read while the part rewrote it
  idx=${idx:-0}
  for pid in $(pgrep '^cexec'); do
    [[ /proc/$pid/exe -ef $cexec ]] || continue
    read -r comm <"/proc/$pid/comm" 2>/dev/null || continue
    uid="?" rss=0 thr=0
    while read -r k v rest; do
      case $k in
        Uid:) uid=$v ;;
        VmRSS:) rss=$v ;;
        Threads:) thr=$v ;;
      esac
    done <"/proc/$pid/status" 2>/dev/null
    fds=(/proc/"$pid"/fd/*)
    case $comm in
      cexec-instance) ((nk++)) ;;
      cexec-sqfs) ((ns++)) ;;
      *) ((nc++)) ;;
    esac
    echo "K $now $part $idx $pid $uid $comm ${#fds[@]} $rss $thr"
  done
  echo "C $now $part $idx $nk $ns $nc"
}
sampler() {
  while :; do
    sample_once
    sleep "$sample_interval"
  done >>"$samples"
}

# --- the watchdog: a run that outlives its time-out is killed ---------------------------------
# Each runner writes "INDEX PID" to $tmp/progress/NAME before waiting for PID; the watchdog
# remembers when it first saw each line, and once a line is older than the time-out it writes
# $tmp/timedout/NAME.INDEX, saves the process tree, and kills PID's process group (or PID).
descendants_tree() {
  ps -e -o pid=,ppid=,stat=,wchan:32=,etimes=,args= | awk -v root="$1" '
    { line[$1] = $0; parent[$1] = $2; kids[$2] = kids[$2] " " $1 }
    function show(p, depth,   n, i, c, pad) { if (!(p in line)) return; pad = ""; for (i = 0; i < depth; i++) pad = pad "  "; print pad line[p]
      n = split(kids[p], c, " "); for (i = 1; i <= n; i++) show(c[i], depth + 1) }
    END { show(root, 0) }'
}
watchdog() {
  local limit=$1 f name content now
  declare -A seen_line seen_at
  while :; do
    now=$SECONDS
    for f in "$tmp"/progress/*; do
      name=${f##*/}
      read -r content <"$f" 2>/dev/null || continue
      if [[ ${seen_line[$name]:-} != "$content" ]]; then
        seen_line[$name]=$content
        seen_at[$name]=$now
      elif ((now - seen_at[$name] >= limit)); then
        local idx=${content%% *} pid=${content##* }
        [[ -e $tmp/timedout/$name.$idx ]] && continue
        if kill -0 "$pid" 2>/dev/null; then
          descendants_tree "$pid" >"$tmp/trees/$name.$idx"
          : >"$tmp/timedout/$name.$idx"
          kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
          (sleep 5; kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null) &
        fi
      fi
    done
    sleep 1
  done
}
start_watchdog() {
  rm -f "$tmp"/progress/* "$tmp"/timedout/* "$tmp"/trees/*
  watchdog "$1" &
  watchdog_pid=$!
}
stop_watchdog() {
  kill "$watchdog_pid" 2>/dev/null
  wait "$watchdog_pid" 2>/dev/null
  watchdog_pid=""
}

# --- leftovers ----------------------------------------------------------------------------------
# Processes of this run (zombies awaiting init not counted): our cexec copy (launcher, keeper, FUSE
# server) or a payload with CEXEC_IMAGE=$img in its environment.
leftover_processes() {
  local dir pid state exe
  for dir in /proc/[0-9]*; do
    pid=${dir#/proc/}
    state=$(awk '{print $3}' "$dir/stat" 2>/dev/null) || continue
    [[ $state == Z || -z $state ]] && continue
    if [[ $dir/exe -ef $cexec ]] || grep -qzx "CEXEC_IMAGE=$img" "$dir/environ" 2>/dev/null; then
      exe=$(readlink "$dir/exe" 2>/dev/null) || exe=""
      echo "$pid $(cat "$dir/comm" 2>/dev/null) uid $(awk '/^Uid:/ {print $2}' "$dir/status") state $state exe ${exe:-?}"
    fi
  done
}
# Entries of /tmp, /var/tmp and /dev/shm owned by the soak's users, but not $tmp itself, the
# compiler's temporaries (ccXXXXXX.*) of a build running beside, or Open MPI's own session files
# (they belong to the MPI job, not to cexec; listed separately).
temp_entries() {
  local uids
  uids=$(for u in "$run_user" ${users:+"${user_list[@]}"}; do id -u "$u"; done | sort -u | paste -sd' ')
  find /tmp /var/tmp /dev/shm -mindepth 1 -maxdepth 1 -printf '%U %p\n' 2>/dev/null |
    awk -v uids=" $uids " -v self="$tmp" 'index(uids, " " $1 " ") && $2 != self && $2 !~ /^\/tmp\/cc[A-Za-z0-9][A-Za-z0-9][A-Za-z0-9][A-Za-z0-9][A-Za-z0-9][A-Za-z0-9]\./' | sort
}
snapshot_before() {
  temp_before=$(temp_entries)
  mounts_before=$(cut -d' ' -f4- /proc/self/mountinfo | sort)
}
leftover_seen=0
report_leftovers() {
  local when=$1 procs new_mounts new_temp line
  procs=$(leftover_processes)
  new_mounts=$(comm -13 <(echo "$mounts_before") <(cut -d' ' -f4- /proc/self/mountinfo | sort))
  new_temp=$(comm -13 <(echo "$temp_before") <(temp_entries))
  echo "leftovers $when:"
  if [[ -n $procs ]]; then
    leftover_seen=1
    while IFS= read -r line; do echo "  process: $line"; done <<<"$procs"
  else
    echo "  processes: none (zombies awaiting init not counted)"
  fi
  if [[ -n $new_mounts ]]; then
    while IFS= read -r line; do
      # Only a mount naming our image, our directory or cexec is ours; others are other tenants'.
      if [[ $line == *"$tmp"* || $line == *cexec* ]]; then
        leftover_seen=1
        echo "  mount (ours): $line"
      else
        echo "  mount (not ours: no $tmp, no cexec in it): $line"
      fi
    done <<<"$new_mounts"
  else
    echo "  mounts: none new in /proc/self/mountinfo"
  fi
  if [[ -n $new_temp ]]; then
    while IFS= read -r line; do
      case ${line##*/} in
        ompi.*|vader_segment.*|openmpi-sessions-*) echo "  temp entry (Open MPI's session files, not cexec's): $line" ;;
        cexec-[0-9]*)
          # The one host entry cexec itself makes: /dev/shm/cexec-UID, the rendezvous secret's
          # fallback place (the run gives every user an XDG_RUNTIME_DIR, so it must not appear).
          leftover_seen=1
          echo "  temp entry (cexec's): $line" ;;
        *) echo "  temp entry (new; not cexec's own kind, the machine is shared: another tenant's?): $line" ;;
      esac
    done <<<"$new_temp"
  else
    echo "  temp entries: none new in /tmp, /var/tmp, /dev/shm (owned by the soak's users)"
  fi
}

# Waits until no process of this run remains (keepers linger) or S seconds pass.
settle() {
  local i
  for ((i = 0; i < $1 * 4; i++)); do
    [[ -z $(leftover_processes) ]] && return 0
    sleep 0.25
  done
}

# --- figures ------------------------------------------------------------------------------------
# Medians and quantiles of a column of numbers on stdin.
quantiles() {
  sort -n | awk '{v[NR] = $1} END {
    if (NR == 0) { print "n 0"; exit }
    q = "50 90 99"; split(q, qs, " ")
    printf "n %d  min %.1f", NR, v[1]
    for (i = 1; i <= 3; i++) { k = int(NR * qs[i] / 100 + 0.999999); if (k < 1) k = 1; printf "  p%s %.1f", qs[i], v[k] }
    printf "  max %.1f\n", v[NR] }'
}

# Keeper descriptors and RSS by decile of PART (by INDEX out of TOTAL), from the samples; then the
# first and last decile side by side. Each row: samples of keepers, the most keepers alive at once,
# keeper fds (median, max), keeper RSS in KiB (median, max), the most launching cexec processes.
decile_table() {
  local part=$1 total=$2 uid=${3:-}
  awk -v part="$part" -v total="$total" -v uid="$uid" '
    function median(a, n,   i, j, t) { for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t } return n ? a[int((n + 1) / 2)] : 0 }
    $3 != part { next }
    { d = int($4 * 10 / total); if (d > 9) d = 9; if (d < 0) d = 0 }
    $1 == "K" && $7 == "cexec-instance" && (uid == "" || $6 == uid) {
      n[d]++; f[d, n[d]] = $8; r[d, n[d]] = $9
      if ($8 > fmax[d]) fmax[d] = $8; if ($9 > rmax[d]) rmax[d] = $9 }
    $1 == "K" && $7 == "cexec" && (uid == "" || $6 == uid) { lc[d, $2]++ }
    $1 == "C" { if ($5 > kmax[d]) kmax[d] = $5; if ($7 > cmax[d]) cmax[d] = $7 }
    END {
      printf "  %-7s %8s %8s %10s %8s %12s %10s %10s\n", "decile", "samples", "keepers", "fds med", "fds max", "RSS med KiB", "RSS max", "launching"
      for (d = 0; d < 10; d++) {
        m = n[d] + 0; delete fa; delete ra
        for (i = 1; i <= m; i++) { fa[i] = f[d, i]; ra[i] = r[d, i] }
        fm[d] = median(fa, m); rm[d] = median(ra, m)
        printf "  %-7s %8d %8d %10d %8d %12d %10d %10d\n", d + 1, m, kmax[d], fm[d], fmax[d], rm[d], rmax[d], cmax[d]
      }
      for (a = 0; a < 9 && !n[a]; a++) ;
      for (b = 9; b > 0 && !n[b]; b--) ;
      printf "  growth, last decile with samples (%d) minus first (%d): fds median %+d, max %+d; RSS median %+d KiB, max %+d KiB\n",
        b + 1, a + 1, fm[b] - fm[a], fmax[b] - fmax[a], rm[b] - rm[a], rmax[b] - rmax[a]
    }' "$samples"
}

# Timed-out runs of the current part, each with its process tree when it was stopped.
report_timeouts() {
  local f n=0
  for f in "$tmp"/timedout/*; do
    ((n++))
    echo "  timed out: ${f##*/}; its process tree when stopped (pid ppid stat wchan elapsed args):"
    sed 's/^/    /' "$tmp/trees/${f##*/}" | cut -c1-220
  done
  ((n == 0)) && echo "  timed out: none"
}

# --- setup --------------------------------------------------------------------------------------
describe_machine
sh "$repo/tests/mpi/make_mpi_image.sh" "$tmp/bin/mpi_probe" "$tmp" >/dev/null || die "make_mpi_image.sh failed"
rm -rf "$tmp/mpi-rootfs"
echo "== image"
echo "squashfs:  $img ($(stat -c %s "$img") bytes, zstd; host Open MPI closure, busybox, mpi_probe)"
echo "linger:    ${linger:-the default of 3 s}; sampler every $sample_interval s"
echo "run in:    $tmp (bound into the containers as part of the host /tmp)"
echo
echo "- start" >"$tmp/phase"
sampler &
sampler_pid=$!
status=0
mpirun_base=(mpirun --oversubscribe)

# One job: `mpirun -np R cexec IMG PAYLOAD` as user U in a session of its own, under the watchdog
# as runner NAME, job INDEX. Prints "rc seconds" and keeps the output in $tmp/out/NAME.last.
run_job() {
  local u=$1 name=$2 idx=$3 np=$4 t0 t1 rc pid
  shift 4
  local -a prefix
  mapfile -d '' -t prefix < <(user_prefix "$u")
  t0=${EPOCHREALTIME/./}
  setsid "${prefix[@]}" "${mpirun_base[@]}" -np "$np" "$cexec" "$img" "$@" </dev/null >"$tmp/out/$name.last" 2>&1 &
  pid=$!
  echo "$idx $pid" >"$tmp/progress/$name"
  wait "$pid"
  rc=$?
  t1=${EPOCHREALTIME/./}
  if [[ -e $tmp/timedout/$name.$idx ]]; then
    rc=timeout
  elif [[ $rc == 0 && $1 == mpi_probe ]] && ! grep -q "mpi_probe: check passed" "$tmp/out/$name.last"; then
    rc=no-check-line
  fi
  echo "$rc $(((t1 - t0) / 1000))"
}

# Keeps the first failure's output of a part.
keep_failure() {
  local name=$1 what=$2
  if [[ ! -e $tmp/first-failure ]]; then
    { echo "$what"; head -c 4000 "$tmp/out/$name.last"; } >"$tmp/first-failure"
  fi
}
report_first_failure() {
  if [[ -e $tmp/first-failure ]]; then
    echo "  first failure (its output, up to 4000 bytes):"
    sed 's/^/    /' "$tmp/first-failure"
    rm -f "$tmp/first-failure"
  fi
}

# --- part 1: back-to-back jobs ------------------------------------------------------------------
if has_part jobs; then
  echo "== 1. $jobs back-to-back jobs: mpirun -np $ranks cexec IMG (/bin/true | mpi_probe check), time-out ${job_timeout} s"
  describe_load
  snapshot_before
  start_watchdog "$job_timeout"
  : >"$tmp/jobs.log"
  start=$SECONDS
  for ((i = 0; i < jobs; i++)); do
    echo "jobs $i" >"$tmp/phase"
    if ((i % 2 == 0)); then
      payload=(/bin/true)
    else
      payload=(mpi_probe check)
    fi
    read -r rc ms < <(run_job "$run_user" jobs "$i" "$ranks" "${payload[@]}")
    echo "$i ${payload[0]} $rc $ms" >>"$tmp/jobs.log"
    [[ $rc != 0 && $rc != timeout ]] && keep_failure jobs "job $i (${payload[*]}): $rc"
    if ((jobs >= 10 && (i + 1) % (jobs / 10) == 0)); then
      echo "  progress: $((i + 1)) jobs, $((SECONDS - start)) s, $(awk '$3 != 0' "$tmp/jobs.log" | wc -l) not ok" >&2
    fi
  done
  elapsed=$((SECONDS - start))
  stop_watchdog
  echo "- after-jobs" >"$tmp/phase"
  for p in /bin/true mpi_probe; do
    ok=$(awk -v p=$p '$2 == p && $3 == 0' "$tmp/jobs.log" | wc -l)
    to=$(awk -v p=$p '$2 == p && $3 == "timeout"' "$tmp/jobs.log" | wc -l)
    bad=$(awk -v p=$p '$2 == p && $3 != 0 && $3 != "timeout"' "$tmp/jobs.log" | wc -l)
    echo "  payload $p: ok $ok, timed out (discarded) $to, failed $bad; wall ms of the ok jobs: $(awk -v p=$p '$2 == p && $3 == 0 {print $4}' "$tmp/jobs.log" | quantiles)"
  done
  echo "  all $jobs jobs in $elapsed s ($(awk -v n="$jobs" -v s="$elapsed" 'BEGIN {printf "%.2f", s / n}') s per job)"
  failed=$(awk '$3 != 0 && $3 != "timeout"' "$tmp/jobs.log" | wc -l)
  ((failed > 0)) && status=1
  report_first_failure
  report_timeouts
  echo "  keeper (cexec-instance) samples by decile of the jobs (keepers: most alive at once; launching: most cexec processes between start and exec):"
  decile_table jobs "$jobs"
  sleep 1
  settle 30
  report_leftovers "after the jobs part (after the linger)"
  echo
fi

# --- part 2: two users, concurrent jobs ---------------------------------------------------------
if has_part users; then
  echo "== 2. users ${users}: $concurrent concurrent jobs each (mpirun -np $user_ranks, /bin/true | mpi_probe check) for $duration s, time-out ${job_timeout} s"
  describe_load
  snapshot_before
  start_watchdog "$job_timeout"
  : >"$tmp/users.log"
  start=$SECONDS
  end=$((SECONDS + duration))
  worker() {
    local u=$1 w=$2 i=0 rc ms
    local -a payload
    while ((SECONDS < end)); do
      if (((i + w) % 2 == 0)); then payload=(/bin/true); else payload=(mpi_probe check); fi
      read -r rc ms < <(run_job "$u" "$u-$w" "$i" "$user_ranks" "${payload[@]}")
      echo "$u $w $i ${payload[0]} $rc $ms $((SECONDS - start))" >>"$tmp/users.log"
      [[ $rc != 0 && $rc != timeout ]] && keep_failure "$u-$w" "user $u worker $w job $i (${payload[*]}): $rc"
      ((i++))
    done
  }
  ( while ((SECONDS < end)); do echo "users $((SECONDS - start))" >"$tmp/phase"; sleep 1; done ) &
  ticker=$!
  workers=()
  for u in "${user_list[@]}"; do
    for ((w = 0; w < concurrent; w++)); do
      worker "$u" "$w" &
      workers+=($!)
    done
  done
  wait "${workers[@]}"
  kill "$ticker" 2>/dev/null
  wait "$ticker" 2>/dev/null
  elapsed=$((SECONDS - start))
  stop_watchdog
  echo "- after-users" >"$tmp/phase"
  echo "  ran $elapsed s (the last jobs finish after the $duration s)"
  for u in "${user_list[@]}"; do
    for p in /bin/true mpi_probe; do
      ok=$(awk -v u="$u" -v p=$p '$1 == u && $4 == p && $5 == 0' "$tmp/users.log" | wc -l)
      to=$(awk -v u="$u" -v p=$p '$1 == u && $4 == p && $5 == "timeout"' "$tmp/users.log" | wc -l)
      bad=$(awk -v u="$u" -v p=$p '$1 == u && $4 == p && $5 != 0 && $5 != "timeout"' "$tmp/users.log" | wc -l)
      echo "  user $u, payload $p: ok $ok, timed out (discarded) $to, failed $bad; wall ms of the ok jobs: $(awk -v u="$u" -v p=$p '$1 == u && $4 == p && $5 == 0 {print $6}' "$tmp/users.log" | quantiles)"
    done
  done
  failed=$(awk '$5 != 0 && $5 != "timeout"' "$tmp/users.log" | wc -l)
  ((failed > 0)) && status=1
  report_first_failure
  report_timeouts
  for u in "${user_list[@]}"; do
    echo "  user $u: keeper samples by decile of the duration:"
    decile_table users "$duration" "$(id -u "$u")"
  done
  sleep 1
  settle 30
  report_leftovers "after the users part (after the linger)"
  echo
fi

# --- part 3: single launches from one shell loop ------------------------------------------------
if has_part launches; then
  echo "== 3. $launches single launches: a shell loop of cexec IMG /bin/true (one parent: one instance), time-out ${launch_timeout} s"
  describe_load
  snapshot_before
  start_watchdog "$launch_timeout"
  # The loop runs in one bash as the measuring user, so that every launch has the same parent pid
  # (the job identity of a single launch) and joins the instance the first one created while the
  # linger keeps it. It writes "INDEX PID" for the watchdog before waiting, and a wall time (µs,
  # from EPOCHREALTIME around fork to wait) per launch. After launch 10 and after the last, it
  # snapshots the keeper: the pid, fds and RSS.
  mapfile -d '' -t prefix < <(user_prefix "$run_user")
  cat >"$tmp/loop.sh" <<'EOF'
n=$1 what=$2 cexec=$3 img=$4 tmp=$5 out=$6
keeper() {
  local pid k v rest rss=0 fds
  for pid in $(pgrep -x cexec-instance -u "$(id -u)"); do
    [[ /proc/$pid/exe -ef $cexec ]] || continue
    while read -r k v rest; do [[ $k == VmRSS: ]] && rss=$v; done </proc/$pid/status
    fds=(/proc/"$pid"/fd/*)
    echo "keeper $1: pid $pid fds ${#fds[@]} rss $rss KiB"
  done
}
shopt -s nullglob
for ((i = 0; i < n; i++)); do
  ((i % 100 == 0)) && echo "launches $i" >"$tmp/phase"
  t0=${EPOCHREALTIME/./}
  if [[ $what == cexec ]]; then
    "$cexec" "$img" /bin/true </dev/null >/dev/null 2>>"$out.err" &
  else
    /bin/true </dev/null &
  fi
  pid=$!
  echo "$i $pid" >"$tmp/progress/$what"
  wait "$pid"
  rc=$?
  t1=${EPOCHREALTIME/./}
  echo "$i $rc $((t1 - t0))"
  if [[ $what == cexec ]] && ((i == 9 || i == n - 1)); then
    keeper "after launch $((i + 1))" >>"$out.keeper"
  fi
done >"$out"
EOF
  chmod 0644 "$tmp/loop.sh"
  chown "$run_user" "$tmp/out"
  echo "launches 0" >"$tmp/phase"
  chmod 0666 "$tmp/phase"
  chmod 0777 "$tmp/progress"
  start=$SECONDS
  (cd "$tmp" && "${prefix[@]}" bash "$tmp/loop.sh" "$launches" cexec "$cexec" "$img" "$tmp" "$tmp/out/launches")
  elapsed=$((SECONDS - start))
  echo "- bare" >"$tmp/phase"
  (cd "$tmp" && "${prefix[@]}" bash "$tmp/loop.sh" "$bare_launches" bare "$cexec" "$img" "$tmp" "$tmp/out/bare")
  stop_watchdog
  echo "- after-launches" >"$tmp/phase"
  # Mark the timed-out launches (the loop saw them as killed).
  for f in "$tmp"/timedout/cexec.*; do
    echo "${f##*.}" >>"$tmp/launch-timeouts"
  done
  to=$( [[ -e $tmp/launch-timeouts ]] && wc -l <"$tmp/launch-timeouts" || echo 0)
  ok=$(awk '$2 == 0' "$tmp/out/launches" | wc -l)
  bad=$(awk '$2 != 0' "$tmp/out/launches" | wc -l)
  echo "  $launches launches in $elapsed s: ok $ok, timed out (discarded) $to, failed $((bad - to))"
  echo "  wall µs per launch (fork to wait, from the shell loop): $(awk '$2 == 0 {print $3}' "$tmp/out/launches" | quantiles)"
  echo "  bare /bin/true from the same loop, $bare_launches runs: $(awk '$2 == 0 {print $3}' "$tmp/out/bare" | quantiles)"
  echo "  by decile of the launches, median µs: $(awk -v n="$launches" '$2 == 0 {d = int($1 * 10 / n); print d, $3}' "$tmp/out/launches" |
    sort -k1,1n -k2,2n | awk '{v[$1, ++c[$1]] = $2} END {for (d = 0; d < 10; d++) printf "%d ", v[d, int((c[d] + 1) / 2)]}')"
  if [[ -s $tmp/out/launches.err ]]; then
    echo "  stderr of the launches ($(wc -l <"$tmp/out/launches.err") lines), first 10 distinct:"
    sort "$tmp/out/launches.err" | uniq -c | sort -rn | head -10 | sed 's/^/    /'
  fi
  ((bad - to > 0)) && status=1
  report_timeouts
  sed 's/^/  /' "$tmp/out/launches.keeper" 2>/dev/null
  echo "  keepers seen by the sampler: $(awk '$1 == "K" && $3 == "launches" && $7 == "cexec-instance" {print $5}' "$samples" | sort -u | wc -l) (one instance throughout: 1)"
  echo "  keeper samples by decile of the launches:"
  decile_table launches "$launches"
  sleep 1
  settle 30
  report_leftovers "after the launches part (after the linger)"
  echo
fi

kill "$sampler_pid" 2>/dev/null
wait "$sampler_pid" 2>/dev/null
sampler_pid=""
echo "== end"
describe_load
if ((leftover_seen)); then
  echo "run_soak.sh: something of the run was left behind (see above)" >&2
  status=1
fi
exit $status
