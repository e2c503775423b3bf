#!/bin/sh
# GPU support on a real NVIDIA GPU (ctest label `gpu`), as one short script that fits a
# 15-minute GPU lease: builds what it needs (a directory image with the host's glibc, the dlopen
# probe, a CUDA program when nvcc is there), then checks, through the cexec under test:
#   1. `nvidia-smi -L` inside equals the host's;
#   2. the probe inside loads the injected libcuda.so.1 and sees the host's devices and version;
#   3. a CUDA program built on the host runs inside and prints the right result (needs nvcc);
#   4. `cexec check --gpu` reports the driver version nvidia-smi reports;
#   5. two ranks under mpirun each get their planned GPU (CUDA_VISIBLE_DEVICES; needs mpirun).
# Usage: tests/gpu/run_gpu_checks.sh [BUILD_DIR]      (default: build)
# Exit: 0 all passed; 1 a check failed; 77 not run (nvidia-smi does not work here), which
# CEXEC_REQUIRE_GPU=1 turns into 1 (a GPU CI job sets it: a lost GPU must not pass silently).
set -u
cd "$(dirname "$0")/../.."
build=${1:-build}
cexec="$(cd "$build" && pwd)/cexec"
src=tests/gpu

if ! host_list=$(nvidia-smi -L 2>&1) || [ -z "$host_list" ]; then
  echo "not run: no GPU (nvidia-smi -L does not work here: $host_list)"
  [ "${CEXEC_REQUIRE_GPU:-0}" = 1 ] && exit 1
  exit 77
fi
[ -x "$cexec" ] || { echo "FAIL: no cexec at $cexec (build it first: scripts/build.sh $build)"; exit 1; }

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

work=$(mktemp -d /tmp/cexec-gpu-checks-XXXXXX)
chmod 0755 "$work"
trap 'rm -rf "$work"' EXIT
img="$work/image"
mkdir -p "$img/usr/bin" "$img/usr/lib/x86_64-linux-gnu" "$img/usr/lib64" "$img/etc" "$img/proc" "$img/sys" \
  "$img/dev" "$img/tmp" "$img/var/tmp" "$img/home" "$img/root" "$img/run"
ln -s usr/bin "$img/bin"
ln -s usr/lib "$img/lib"
ln -s usr/lib64 "$img/lib64"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$img/etc/passwd"
printf 'root:x:0:\n' > "$img/etc/group"

# The image's own programs and the host glibc closure they (and the injected nvidia-smi) need.
probe="$build/tests/gpu_probe"
if [ ! -x "$probe" ]; then
  probe="$work/gpu_probe"
  cc -O2 -o "$probe" "$src/gpu_probe.c" || { echo "FAIL: cannot compile gpu_probe"; exit 1; }
fi
cp "$probe" "$img/usr/bin/gpu_probe"
if command -v busybox >/dev/null 2>&1; then  # a shell, for script stand-ins (the fake driver's nvidia-smi)
  cp "$(command -v busybox)" "$img/usr/bin/busybox"
  ln -s busybox "$img/usr/bin/sh"
fi
programs="$probe $(command -v nvidia-smi)"
cuda_expected=""
if command -v nvcc >/dev/null 2>&1; then
  cat > "$work/vecadd.cu" <<'CU'
#include <cstdio>
__global__ void add(const float* a, const float* b, float* c, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) c[i] = a[i] + b[i];
}
int main() {
  const int n = 1 << 20;
  float *a, *b, *c;
  if (cudaMallocManaged(&a, n * sizeof(float)) != cudaSuccess) { std::printf("cuda error: %s\n", cudaGetErrorString(cudaGetLastError())); return 1; }
  cudaMallocManaged(&b, n * sizeof(float));
  cudaMallocManaged(&c, n * sizeof(float));
  for (int i = 0; i < n; ++i) { a[i] = i; b[i] = 2.0f * i; }
  add<<<(n + 255) / 256, 256>>>(a, b, c, n);
  cudaError_t err = cudaDeviceSynchronize();
  if (err != cudaSuccess) { std::printf("cuda error: %s\n", cudaGetErrorString(err)); return 1; }
  double sum = 0;
  for (int i = 0; i < n; ++i) sum += c[i];
  std::printf("vecadd sum=%.0f\n", sum);
  return 0;
}
CU
  if nvcc -O2 -o "$work/vecadd" "$work/vecadd.cu" 2>"$work/nvcc.log"; then
    cp "$work/vecadd" "$img/usr/bin/vecadd"
    programs="$programs $work/vecadd"
    cuda_expected=$(awk 'BEGIN { n = 1048576; printf "vecadd sum=%.0f", 3 * n * (n - 1) / 2 }')
  else
    fail "nvcc could not build the CUDA program: $(tail -3 "$work/nvcc.log")"
  fi
else
  echo "note: no nvcc here; check 3 (a CUDA program) is left out"
fi
for p in $programs; do
  ldd "$p" 2>/dev/null | awk '/=> \// {print $3} /^\t\/.*ld-linux/ {print $1}'
done | sort -u | while read -r lib; do
  case "$(basename "$lib")" in libcuda.so*|libnvidia-*) continue ;; esac  # the driver comes from the host, injected
  cp -L "$lib" "$img/usr/lib/x86_64-linux-gnu/$(basename "$lib")"
done
ln -sf ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$img/usr/lib64/ld-linux-x86-64.so.2"
chmod -R a+rX "$img"

# 1. nvidia-smi -L inside equals the host's.
inside=$("$cexec" exec "$img" nvidia-smi -L 2>&1)
[ "$inside" = "$host_list" ] && pass "nvidia-smi -L inside equals the host's" ||
  fail "nvidia-smi -L inside: [$inside], host: [$host_list]"

# 2. The probe loads the injected libcuda and sees every host GPU.
count=$(printf '%s\n' "$host_list" | grep -c '^GPU ')
out=$("$cexec" exec "$img" gpu_probe 2>&1)
case "$out" in
  "libcuda=/.cexec/host/gpu/lib/libcuda.so.1 "*"devices=$count "*) pass "probe: $out" ;;
  *) fail "probe (expected libcuda from /.cexec/host/gpu/lib and devices=$count): $out" ;;
esac

# 3. A CUDA program built on the host runs inside.
if [ -n "$cuda_expected" ]; then
  out=$("$cexec" exec "$img" vecadd 2>&1)
  [ "$out" = "$cuda_expected" ] && pass "CUDA program: $out" || fail "CUDA program printed [$out], expected [$cuda_expected]"
fi

# 4. cexec check --gpu reports the driver nvidia-smi reports.
driver=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -1)
out=$("$cexec" check --gpu "$img" 2>&1)
printf '%s\n' "$out" | grep -q "^nvidia: driver $driver " && pass "check --gpu: driver $driver" ||
  fail "check --gpu does not report driver $driver: $out"

# 5. Two ranks each get their planned GPU (the topology plan sets CUDA_VISIBLE_DEVICES).
if command -v mpirun >/dev/null 2>&1; then
  as_root=""
  [ "$(id -u)" = 0 ] && as_root="--allow-run-as-root"
  out=$(mpirun $as_root --oversubscribe -np 2 "$cexec" exec "$img" gpu_probe 2>&1)
  v0=$(printf '%s\n' "$out" | sed -n 's/.* visible=//p' | sed -n 1p)
  v1=$(printf '%s\n' "$out" | sed -n 's/.* visible=//p' | sed -n 2p)
  if [ -z "$v0" ] || [ -z "$v1" ] || [ "$v0" = unset ] || [ "$v1" = unset ]; then
    fail "ranks did not get a planned CUDA_VISIBLE_DEVICES: $out"
  elif [ "$count" -ge 2 ] && [ "$v0" = "$v1" ]; then
    fail "two ranks got the same GPU ($v0) on a host with $count GPUs: $out"
  elif [ "$(printf '%s\n' "$out" | grep -c 'devices=1 ')" != 2 ]; then
    fail "each rank should see exactly one GPU: $out"
  else
    pass "two ranks: CUDA_VISIBLE_DEVICES=$v0 and $v1"
  fi
else
  echo "note: no mpirun here; check 5 (two ranks) is left out"
fi

[ "$failures" = 0 ] && { echo "gpu checks: all passed"; exit 0; }
echo "gpu checks: $failures failed"
exit 1
