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

