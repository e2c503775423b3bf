#!/bin/sh
# Builds cexec (and its tests) with -Werror in every configuration a user or a distribution is
# likely to use, with GCC and with Clang: Release, RelWithDebInfo, Debug, and Debian's default
# hardening flags from dpkg-buildflags (CMAKE_BUILD_TYPE=None, as debhelper configures). Prints one
# line per build and exits non-zero if any build fails or warns.
# Usage: scripts/check-builds.sh [WORK_DIR [NAME...]]   (default build-matrix/, where each build keeps
# its log; NAMEs such as clang-Release or gcc-dpkg-buildflags pick builds, default all eight)
set -eu
cd "$(dirname "$0")/.."
work=${1:-build-matrix}
[ $# -gt 0 ] && shift
only="$*"
mkdir -p "$work"
jobs=${CEXEC_BUILD_JOBS:-2}
failed=0

build() {  # NAME CC CXX BUILD_TYPE [CFLAGS CXXFLAGS LDFLAGS]
  name=$1 cc=$2 cxx=$3 type=$4
  if [ -n "$only" ] && ! echo " $only " | grep -q " $name "; then
    return 0
  fi
  dir="$work/$name"
  log="$work/$name.log"
  rm -rf "$dir"
  if env CC="$cc" CXX="$cxx" CFLAGS="${5:-}" CXXFLAGS="${6:-}" LDFLAGS="${7:-}" \
      cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" -DCEXEC_WERROR=ON >"$log" 2>&1 &&
    ninja -C "$dir" -j"$jobs" -k 0 >>"$log" 2>&1; then
    warnings=$(grep -c 'warning:' "$log" || true)
    echo "check-builds: $name: ok ($warnings warnings)"
  else
    echo "check-builds: $name: FAILED (log: $log)"
    grep -E 'error:|warning:' "$log" | sort -u | head -20 | sed 's/^/  /'
    failed=1
  fi
}

for compiler in gcc clang; do
  if [ "$compiler" = gcc ]; then cc=gcc cxx=g++; else cc=clang cxx=clang++; fi
  for type in Release RelWithDebInfo Debug; do
    build "$compiler-$type" "$cc" "$cxx" "$type"
  done
  # debhelper's cmake build system passes CPPFLAGS inside CFLAGS and CXXFLAGS (CMake reads no CPPFLAGS).
  cppflags=$(dpkg-buildflags --get CPPFLAGS)
  build "$compiler-dpkg-buildflags" "$cc" "$cxx" None \
    "$(dpkg-buildflags --get CFLAGS) $cppflags" "$(dpkg-buildflags --get CXXFLAGS) $cppflags" \
    "$(dpkg-buildflags --get LDFLAGS)"
done
exit $failed
