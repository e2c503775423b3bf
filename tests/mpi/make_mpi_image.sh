#!/bin/sh
# Builds the MPI test image: the host's Open MPI (libraries, plugins, help files, PMIx) and the
# ELF closure of everything in it, busybox, and mpi_probe, so image and host MPI match.
#   make_mpi_image.sh MPI_PROBE_BINARY OUT_DIR   ->  OUT_DIR/mpi-rootfs/ and OUT_DIR/mpi.sqfs
set -eu
probe=$1
out=$2
root="$out/mpi-rootfs"
rm -rf "$root" "$out/mpi.sqfs"
mkdir -p "$root/usr/bin" "$root/usr/lib/x86_64-linux-gnu" "$root/usr/lib64" "$root/etc" "$root/proc" \
  "$root/sys" "$root/dev" "$root/tmp" "$root/var/tmp" "$root/home" "$root/root" "$root/run"
ln -s usr/bin "$root/bin"
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"
cp /bin/busybox "$root/usr/bin/busybox"
for applet in sh ls cat id echo env true false sleep readlink grep wc; do
  ln -s busybox "$root/usr/bin/$applet"
done
cp "$probe" "$root/usr/bin/mpi_probe"
printf 'mpi image\n' > "$root/etc/image-marker"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\n' > "$root/etc/group"
: > "$root/etc/hosts"
: > "$root/etc/resolv.conf"

# The Open MPI and PMIx trees, as Debian installs them.
for tree in /usr/lib/x86_64-linux-gnu/openmpi /usr/lib/x86_64-linux-gnu/pmix2 /usr/share/openmpi \
            /usr/share/pmix /etc/openmpi /usr/lib/x86_64-linux-gnu/ucx; do
  if [ -e "$tree" ]; then
    mkdir -p "$root$(dirname "$tree")"
    cp -a "$tree" "$root$(dirname "$tree")/"
  fi
done

# Every shared object those trees and the probe need, copied under its canonical /usr path.
elves=$(mktemp)
trap 'rm -f "$elves"' EXIT
{ echo "$probe"; find "$root/usr/lib/x86_64-linux-gnu" -name '*.so*' -type f; } > "$elves"
while read -r elf; do
  ldd "$elf" 2>/dev/null | awk '/=> \// {print $3} /^\t\/.*ld-linux/ {print $1}'
done < "$elves" | sort -u | while read -r lib; do
  real=$(readlink -f "$lib")
  dest="$root/usr/lib/x86_64-linux-gnu/$(basename "$lib")"
  [ -e "$dest" ] || cp -L "$real" "$dest"
done
ln -sf ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$root/usr/lib64/ld-linux-x86-64.so.2"
ldconfig -r "$root" 2>/dev/null || true
chmod -R a+rX "$root"
mksquashfs "$root" "$out/mpi.sqfs" -comp zstd -quiet -noappend >/dev/null
chmod 0644 "$out/mpi.sqfs"
