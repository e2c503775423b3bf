#!/bin/sh
# The whole test suite: installs what it needs, builds cexec normally and with AddressSanitizer +
# UndefinedBehaviorSanitizer, and runs every tier (unit; e2e as root and as the user nobody) on both.
# The real debootstrap build (label `debootstrap`, a few minutes, needs the Debian mirror) runs in
# the normal build only: under the sanitizers it would test the same code again, much slower.
# The same holds for the training tests (label `training`: PyTorch in the example image under
# mpirun and SLURM). Last, the Debian package is built, installed, tested and purged.
set -eu
cd "$(dirname "$0")/.."
./scripts/setup.sh

# Under CI any skipped test counts as a failure; the suite has none, and keeps it that way.
export CEXEC_MUST_WORK=1

# Test builds compile in the test hooks (CEXEC_TEST_HOOKS: the fake GPU driver root); builds for
# installing (scripts/build.sh alone) never have them. The real-GPU checks (label `gpu`) run only
# where a GPU is: `ctest -L '^gpu$'` there, or tests/gpu/run_gpu_checks.sh (docs/gpu.md).
./scripts/build.sh build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCEXEC_TEST_HOOKS=ON -DCEXEC_WERROR=ON
if nvidia-smi -L >/dev/null 2>&1; then
  echo "test: nvidia-smi works here: the real-GPU checks (label gpu) run too, and must pass"
  export CEXEC_REQUIRE_GPU=1
  (cd build && ctest --output-on-failure)
else
  echo "test: no working nvidia-smi: the real-GPU checks (label gpu) cannot run on this machine"
  (cd build && ctest --output-on-failure -LE '^gpu$')
fi

./scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=Debug -DCEXEC_SANITIZE=ON -DCEXEC_TEST_HOOKS=ON -DCEXEC_WERROR=ON
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ctest --output-on-failure -LE 'debootstrap|training|^gpu$')

# Every parser of untrusted text under libFuzzer (Clang, ASan + UBSan), 15 s per target from its
# seed corpus; any crash, leak, hang or sanitizer report fails (tests/fuzz/README.md).
./scripts/fuzz.sh --time 15

# The Debian package: built, installed with apt-get, the e2e suite run against /usr/bin/cexec,
# purged, nothing left (docs/packaging.md).
./scripts/test-package.sh build
echo "test: all tiers passed (normal and sanitizer builds, fuzzing, the installed package)"
