#!/bin/bash
# The main job, for now: set up, build cexec, build a small demo SquashFS image, and run commands in
# it as the calling user (and, when run as root, also as the unprivileged user nobody).
set -eu
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

work=$(mktemp -d /tmp/cexec-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 0755 "$work"
root="$work/rootfs"
cexec="$work/cexec"
cp build/cexec "$cexec"   # a copy every user can execute, whatever the checkout's permissions

echo "== building a demo image: busybox, a runscript and an environment in /.cexec/"
mkdir -p "$root/bin" "$root/etc" "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/home" "$root/.cexec"
cp /bin/busybox "$root/bin/"
for a in sh ls cat id echo env uname grep touch wc head true; do ln -s busybox "$root/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\n' > "$root/etc/group"
printf 'PRETTY_NAME="cexec demo (busybox)"\n' > "$root/etc/os-release"
printf 'GREETING=hello from the image\n' > "$root/.cexec/environment"
printf '#!/bin/sh\necho "$GREETING; runscript args: $*"\n' > "$root/.cexec/runscript"
chmod 0755 "$root/.cexec/runscript"
mksquashfs "$root" "$work/demo.sqfs" -comp zstd -quiet -noappend >/dev/null
ls -l "$work/demo.sqfs"

mkdir -p "$work/data"
echo "a file from the host" > "$work/data/note.txt"
chmod -R a+rX "$work"

show() {
  printf '$'; printf ' %q' "$@"; echo
  "$@" || echo "(exit status $?)"
}

demo_as_caller() {
  show "$cexec" exec "$work/demo.sqfs" sh -c 'id; cat /etc/os-release; echo "CEXEC_CONTAINER=$CEXEC_CONTAINER"'
  show "$cexec" run "$work/demo.sqfs" one two
  show "$cexec" -B "$work/data:/data:ro" "$work/demo.sqfs" cat /data/note.txt
  show "$cexec" "$work/demo.sqfs" touch /not-allowed
  show "$cexec" --writable-tmpfs "$work/demo.sqfs" sh -c 'touch /allowed && ls -l /allowed'
  show "$cexec" "$work/demo.sqfs" grep -E 'Cap(Eff|Bnd)|NoNewPrivs' /proc/self/status
  show "$cexec" -v "$work/rootfs" true
}

echo "== as $(id -un)"
demo_as_caller
if [ "$(id -u)" -eq 0 ]; then
  echo "== as nobody (unprivileged)"
  show setpriv --reuid=nobody --regid=nogroup --clear-groups "$cexec" "$work/demo.sqfs" sh -c 'id; ls /'
  show setpriv --reuid=nobody --regid=nogroup --clear-groups "$cexec" run "$work/demo.sqfs" as nobody
fi
