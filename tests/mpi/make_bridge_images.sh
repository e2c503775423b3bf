#!/bin/sh
# Builds the MPI bridge's test images (issue 5) into OUT_DIR:
#   nompi.sqfs      mpi_probe (built against Open MPI) and glibc only: no MPI library at all, so
#                   without the bridge it fails with the loader's error
#   mpich.sqfs      mpi_probe_mpich (built with Debian's mpicc.mpich) and the closure of MPICH's
#                   libmpich.so.12, as an image carrying its own MPICH would
#   oldglibc/       a root whose libc.so.6 is a small library that defines only GLIBC_2.2.5 and
#                   GLIBC_2.17 (built here with a version script): an image with an "old" glibc.
#                   The bridge reads its version definitions with libelf; nothing from it runs.
#   make_bridge_images.sh MPI_PROBE_OPENMPI SOURCE_DIR OUT_DIR
set -eu
probe=$1
src=$2
out=$3
lib=/usr/lib/x86_64-linux-gnu

skeleton() {
  root=$1
  rm -rf "$root"
  mkdir -p "$root/usr/bin" "$root$lib" "$root/usr/lib64" "$root/etc" "$root/proc" "$root/sys" "$root/dev" \
    "$root/tmp" "$root/var/tmp" "$root/home" "$root/root" "$root/run"
  ln -s usr/bin "$root/bin"
  ln -s usr/lib "$root/lib"
  ln -s usr/lib64 "$root/lib64"
  cp /bin/busybox "$root/usr/bin/busybox"
  for applet in sh ls cat id echo env true false sleep readlink grep wc; do
    ln -s busybox "$root/usr/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\n' > "$root/etc/passwd"
  printf 'root:x:0:\n' > "$root/etc/group"
  : > "$root/etc/hosts"
  : > "$root/etc/resolv.conf"
}

# Copies the shared objects ELF files need (ldd on the host), except those matching $2.
copy_closure() {
  root=$1
  exclude=$2
  shift 2
  for elf in "$@"; do
    ldd "$elf" 2>/dev/null | awk '/=> \// {print $3} /^\t\/.*ld-linux/ {print $1}'
  done | sort -u | grep -Ev "$exclude" | while read -r so; do
    # The real file under its own name (libmpich.so.12.2.2: the version cexec reads) and the soname as a link.
    real=$(readlink -f "$so")
    [ -e "$root$lib/$(basename "$real")" ] || cp "$real" "$root$lib/$(basename "$real")"
    [ "$(basename "$real")" = "$(basename "$so")" ] || ln -sf "$(basename "$real")" "$root$lib/$(basename "$so")"
  done
  ln -sf ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$root/usr/lib64/ld-linux-x86-64.so.2"
}

finish() {
  root=$1
  image=$2
  ldconfig -r "$root" 2>/dev/null || true
  chmod -R a+rX "$root"
  mksquashfs "$root" "$image" -comp zstd -quiet -noappend >/dev/null
  chmod 0644 "$image"
}

# 1. No MPI: glibc's libraries only (libc, libm, the loader), the probe needing libmpi.so.40.
root="$out/nompi-rootfs"
skeleton "$root"
cp "$probe" "$root/usr/bin/mpi_probe"
printf 'nompi image\n' > "$root/etc/image-marker"
copy_closure "$root" 'lib(mpi|open-|hwloc|event|pmix|ucp|ucs|uct|ucm|z\.|udev|ltdl|numa|fabric|ibverbs|rdma|psm|efa|nl-|cap|gcc_s|stdc)' "$probe"
finish "$root" "$out/nompi.sqfs"

# 2. An image carrying MPICH (Debian's libmpich.so.12 and its closure).
if command -v mpicc.mpich >/dev/null 2>&1; then
  root="$out/mpich-rootfs"
  skeleton "$root"
  mpicc.mpich -O2 -o "$root/usr/bin/mpi_probe" "$src/tests/mpi/mpi_probe.c"
  printf 'mpich image\n' > "$root/etc/image-marker"
  [ -d $lib/ucx ] && cp -a $lib/ucx "$root$lib/"
  copy_closure "$root" '^$' "$root/usr/bin/mpi_probe" $(find "$root$lib" -name '*.so*' -type f)
  finish "$root" "$out/mpich.sqfs"
fi

# 3. An "old glibc" image: libc.so.6 defines GLIBC_2.2.5 and GLIBC_2.17 only.
root="$out/oldglibc-rootfs"
skeleton "$root"
cp "$probe" "$root/usr/bin/mpi_probe"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf 'int old_a(void) { return 1; }\nint old_b(void) { return 2; }\n' > "$work/c.c"
printf 'GLIBC_2.2.5 { global: old_a; local: *; };\nGLIBC_2.17 { global: old_b; } GLIBC_2.2.5;\n' > "$work/c.map"
cc -shared -nostdlib -fPIC -Wl,-soname,libc.so.6 -Wl,--version-script="$work/c.map" -o "$root$lib/libc.so.6" "$work/c.c"
# The rest of glibc's libraries as the same stand-in (only their version definitions are read).
for so in libm.so.6 libpthread.so.0 libdl.so.2 librt.so.1 libutil.so.1 libresolv.so.2 ld-linux-x86-64.so.2; do
  cp "$root$lib/libc.so.6" "$root$lib/$so"
done
printf 'old glibc image\n' > "$root/etc/image-marker"
finish "$root" "$out/oldglibc.sqfs"
