#!/bin/sh
# Builds the e2e suite's images and support files into STAGE (world-readable, so the unprivileged
# run can use them). Run as root by the CTest fixture `e2e_images`.
#   STAGE/bin/{cexec,e2e_tests,build_tests,soak_tests,registry_tests,probe}   copies of the binaries under test
#   STAGE/bin/cexec-suid                a setuid-root copy (cexec must refuse to run)
#   STAGE/lib/cexec_spank.so, STAGE/bin/cexec-spank-exec  the SPANK plugin (spank/, where it is built)
# CEXEC_E2E_CEXEC=PATH tests an installed cexec instead of the build's (the tests run PATH itself;
# the setuid copy is made from it).
#   STAGE/images/rootfs/                directory image: busybox, probe, setuid probe, /.cexec metadata
#   STAGE/images/image.sqfs             the same as SquashFS (zstd)
#   STAGE/images/plain.sqfs             no /.cexec metadata
#   STAGE/images/devices.sqfs           image.sqfs plus a device node (1:3, mode 0666) at /opt/null-device
#   STAGE/images/other.sqfs             image.sqfs with another /etc/image-marker ("the other image")
#   STAGE/images/{truncated,corrupt}.sqfs, notimage.txt, unreadable.sqfs
#   STAGE/images/mpi.sqfs               Open MPI closure plus mpi_probe (node-instance tests)
#   STAGE/images/{nompi,mpich,oldglibc}.sqfs  MPI bridge images (tests/mpi/make_bridge_images.sh)
#   STAGE/images/*.sif, app-partition.sqfs  SIF files (tests/sif/make_sif_images.sh)
#   STAGE/configs/*.conf                admin configs (root-owned, and deliberately unsafe ones)
set -eu
build=$1
stage=$2
rm -rf "$stage"
mkdir -p "$stage/bin" "$stage/images" "$stage/configs" "$stage/topology"
chmod 0755 "$stage" "$stage/bin" "$stage/images" "$stage/configs" "$stage/topology"
cp "$(dirname "$0")/../topology/xml/dgx-a100.xml" "$stage/topology/"
chmod 0644 "$stage/topology/dgx-a100.xml"
cp "$build/cexec" "$build/tests/e2e_tests" "$build/tests/mpi_tests" "$build/tests/slurm_tests" \
  "$build/tests/cluster_tests" "$build/tests/build_tests" "$build/tests/isolation_tests" "$build/tests/fault_tests" \
  "$build/tests/soak_tests" "$build/tests/speed_tests" "$build/tests/probe" "$(dirname "$0")/../cluster/cluster.sh" \
  "$stage/bin/"
cexec_under_test=${CEXEC_E2E_CEXEC:-$build/cexec}
[ -x "$cexec_under_test" ] || { echo "make_images: no cexec at $cexec_under_test" >&2; exit 1; }
cp "$cexec_under_test" "$stage/bin/cexec-suid"
# The SPANK plugin, its helper and its tests (spank/, built where <slurm/spank.h> is).
if [ -f "$build/cexec_spank.so" ]; then
  mkdir -p "$stage/lib"
  chmod 0755 "$stage/lib"
  cp "$build/cexec_spank.so" "$stage/lib/"
  cp "$build/cexec-spank-exec" "$stage/bin/"
fi
cp "$build/tests/spank_tests" "$stage/bin/"
# The registry tests (registry_tests.cpp), where this build has them.
if [ -x "$build/tests/registry_tests" ]; then
  cp "$build/tests/registry_tests" "$stage/bin/"
fi
chmod 4755 "$stage/bin/cexec-suid"

root="$stage/images/rootfs"
mkdir -p "$root/bin" "$root/etc" "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/var/tmp" \
  "$root/home" "$root/opt" "$root/.cexec" "$root/data"
cp /bin/busybox "$root/bin/busybox"
for applet in sh ls cat id echo env pwd touch mkdir true false sleep readlink grep kill stat wc; do
  ln -s busybox "$root/bin/$applet"
done
cp "$build/tests/probe" "$root/bin/probe"
cp "$build/tests/probe" "$root/bin/probe-suid"
chown 0:0 "$root/bin/probe-suid"
chmod 4755 "$root/bin/probe-suid"
printf 'not a program\n' > "$root/bin/not-executable"
chmod 0644 "$root/bin/not-executable"
printf 'root:x:0:0:root:/root:/bin/sh\nimageuser:x:4242:4242::/home/imageuser:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\nimagegroup:x:4242:\n' > "$root/etc/group"
printf 'in the image\n' > "$root/etc/image-marker"
# Symlinks a bind destination must not escape through.
ln -s ../../../.. "$root/escape"
ln -s /etc "$root/etc-link"
printf '# image environment\nIMAGE_VAR=from-image\nLAYERED=image\nPATH=/opt/bin:$PATH\n' > "$root/.cexec/environment"
printf '#!/bin/sh\necho "runscript:$*"\n' > "$root/.cexec/runscript"
chmod 0755 "$root/.cexec/runscript"
chmod -R a+rX "$root"

mksquashfs "$root" "$stage/images/image.sqfs" -comp zstd -quiet -noappend >/dev/null
mkdir -p "$stage/images/plain"
cp -a "$root/." "$stage/images/plain/"
rm -rf "$stage/images/plain/.cexec"
mksquashfs "$stage/images/plain" "$stage/images/plain.sqfs" -comp zstd -quiet -noappend >/dev/null
rm -rf "$stage/images/plain"
mksquashfs "$root" "$stage/images/devices.sqfs" -comp zstd -quiet -noappend -p "opt/null-device c 0666 0 0 1 3" >/dev/null
mkdir -p "$stage/images/other"
cp -a "$root/." "$stage/images/other/"
printf 'the other image\n' > "$stage/images/other/etc/image-marker"
mksquashfs "$stage/images/other" "$stage/images/other.sqfs" -comp zstd -quiet -noappend >/dev/null
rm -rf "$stage/images/other"

size=$(stat -c %s "$stage/images/image.sqfs")
head -c $((size / 2)) "$stage/images/image.sqfs" > "$stage/images/truncated.sqfs"
# A valid superblock over garbage tables: only mounting can tell.
cp "$stage/images/image.sqfs" "$stage/images/corrupt.sqfs"
head -c $((size - 200)) /dev/zero | tr '\000' '\377' |
  dd of="$stage/images/corrupt.sqfs" bs=4096 seek=96 oflag=seek_bytes conv=notrunc status=none
printf 'this is not an image\n' > "$stage/images/notimage.txt"
cp "$stage/images/image.sqfs" "$stage/images/unreadable.sqfs"
chmod 0000 "$stage/images/unreadable.sqfs"
chmod 0644 "$stage/images/"*.sqfs "$stage/images/notimage.txt"
chmod 0000 "$stage/images/unreadable.sqfs"

# The fake GPU driver trees and the GPU images (tests/gpu/make_gpu_fixtures.sh).
if [ -x "$build/tests/gpu_tests" ]; then
  cp "$build/tests/gpu_tests" "$stage/bin/"
  "$(dirname "$0")/../gpu/make_gpu_fixtures.sh" "$build" "$stage"
fi

# The MPI image: the host's Open MPI closure and mpi_probe (tests/mpi/make_mpi_image.sh).
"$(dirname "$0")/../mpi/make_mpi_image.sh" "$build/tests/mpi_probe" "$stage/images"
# The MPI bridge's images: no MPI, MPICH, an old glibc (tests/mpi/make_bridge_images.sh).
"$(dirname "$0")/../mpi/make_bridge_images.sh" "$build/tests/mpi_probe" "$(dirname "$0")/../.." "$stage/images"

# The SIF images, written with sylabs' SIF library (tests/sif/make_sif_images.sh).
"$(dirname "$0")/../sif/make_sif_images.sh" "$build" "$stage"

cfg="$stage/configs"
printf '# test config\nbind = /etc/hostname:/cfg/hostname:ro\ndeny-destination = /opt\nmax-binds = 3\n' > "$cfg/site.conf"
printf 'allow-writable-tmpfs = no\nallow-writable = no\n' > "$cfg/no-writable.conf"
printf 'bind = /etc/hostname:/cfg/hostname\nthis line is wrong\n' > "$cfg/malformed.conf"
printf 'max-binds = 8\n' > "$cfg/group-writable.conf"
printf 'max-binds = 8\n' > "$cfg/not-root.conf"
chmod 0644 "$cfg"/*.conf
chmod 0664 "$cfg/group-writable.conf"
chown 65534:65534 "$cfg/not-root.conf"
