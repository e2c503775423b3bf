#!/bin/sh
# Builds an example's image once and reuses it: prints the image's path on stdout, building it
# first (progress on stderr) when the cache has none for this definition file.
#   scripts/example-image.sh DEF [CEXEC]        e.g. examples/pytorch-ddp/pytorch.def build/cexec
# The cache is keyed by the SHA-256 of the definition file, outside the checkout, so CI runs and
# every checkout on the machine share it, and editing the file means a new build:
#   CACHE/<sha256 of DEF>/<DEF's name>.img
# CACHE is $CEXEC_EXAMPLE_CACHE if set, else /var/cache/cexec-examples for root (folders 0755,
# images 0644, so the unprivileged test runs can read them), else ~/.cache/cexec-examples.
# Concurrent callers wait on a lock (flock) instead of building twice.
set -eu
def=$1
cexec=${2:-build/cexec}
[ -f "$def" ] || { echo "example-image: $def: no such definition file" >&2; exit 66; }
name=$(basename "$def" .def)
hash=$(sha256sum "$def" | cut -c1-64)
if [ -n "${CEXEC_EXAMPLE_CACHE:-}" ]; then
  cache=$CEXEC_EXAMPLE_CACHE
elif [ "$(id -u)" -eq 0 ]; then
  cache=/var/cache/cexec-examples
else
  cache=${XDG_CACHE_HOME:-$HOME/.cache}/cexec-examples
fi
dir=$cache/$hash
img=$dir/$name.img
mkdir -p "$dir"
chmod 0755 "$cache" "$dir" 2>/dev/null || true

exec 9>"$dir/.lock"
flock 9
if [ -f "$img" ]; then
  echo "example-image: reusing $img (built from $def, sha256 $(echo "$hash" | cut -c1-12))" >&2
else
  echo "example-image: building $img from $def (first time for this definition; a few minutes)" >&2
  start=$(date +%s)
  # stdout of cexec build is the digest line; the progress goes to stderr. lz4, not the default
  # zstd: squashing the PyTorch image's 2 GiB tree takes 20 s instead of 11 min here, for a file
  # 1.6x larger (0.9 GB against 0.58 GB) that also decompresses faster.
  "$cexec" build --compression lz4 "$img" "$def" >&2
  chmod 0644 "$img"
  echo "example-image: built in $(( $(date +%s) - start )) s: $(du -h "$img" | cut -f1) $img" >&2
fi
echo "$img"
