#!/bin/sh
# Installs every Debian package that cexec's build, tests, demo and benchmarks need, and makes
# /dev/fuse usable by ordinary users. Idempotent, and quick when everything is already in place.
set -eu

# clang and libfuzzer-14-dev build the fuzz targets (scripts/fuzz.sh) and the Clang builds
# (scripts/check-builds.sh). help2man writes the man pages; bash-completion and lmod let the tests check the installed
# completion and modulefiles; debhelper and lintian build and check the Debian package.
# libcurl4-openssl-dev gives curl's headers (cexec loads libcurl4 at run time for registry pulls);
# docker-registry, skopeo, umoci and apache2-utils (htpasswd) are the registry tests' real registry,
# pusher, image assembler and password file maker (tests/e2e/registry_tests.cpp, benchmarks/run_pull.sh).
# python3-matplotlib (python3-pil with it) draws the admin scaling report's plots and checks them;
# hpcc is the native side of its application part (benchmarks/admin/, README "Scaling benchmarks").
# mpich and libmpich-dev (the MPI bridge's MPICH tests) install next to Open MPI without changing
# what mpirun, mpicc and libmpi.so resolve to: Debian's alternatives rank Open MPI (50) above MPICH
# (40), and MPICH's commands keep their own names (mpiexec.hydra, mpicc.mpich, mpichversion).
# golang-go and golang-github-sylabs-sif-dev build tests/sif/make_sif.go, which writes the SIF test
# images with sylabs' own SIF library (offline, GOPATH mode); e2fsprogs makes the ext3 partition.
packages="build-essential cmake ninja-build pkg-config git util-linux iproute2
  libcli11-dev libboost-test-dev libcap-dev libfuse3-dev fuse3 libsquashfuse-dev squashfuse
  zlib1g-dev liblzma-dev liblzo2-dev liblz4-dev libzstd-dev libbz2-dev
  libarchive-dev libseccomp-dev nlohmann-json3-dev nettle-dev
  libcurl4-openssl-dev docker-registry skopeo umoci apache2-utils
  squashfs-tools debootstrap busybox-static charliecloud-runtime hyperfine
  openmpi-bin libopenmpi-dev slurm-wlm libslurm-dev munge
  libhwloc-dev libnuma-dev
  libelf-dev mpich libmpich-dev
  help2man bash-completion lmod debhelper lintian
  clang libfuzzer-14-dev
  python3-matplotlib python3-pil hpcc
  golang-go golang-github-sylabs-sif-dev e2fsprogs"

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi

missing=""
for p in $packages; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
if [ -n "$missing" ]; then
  echo "setup: installing$missing"
  $sudo apt-get update -qq
  # shellcheck disable=SC2086
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# Stock Debian ships /dev/fuse as 0666: FUSE confines what an unprivileged mount can do, and
# cexec mounts SquashFS images through it inside a user namespace. Some VMs and containers create
# the node 0600, which locks ordinary users out, so restore the distribution default.
if [ -c /dev/fuse ] && [ "$(stat -c %a /dev/fuse)" != "666" ]; then
  echo "setup: chmod 0666 /dev/fuse (distribution default; unprivileged SquashFS mounts need it)"
  $sudo chmod 0666 /dev/fuse
fi
