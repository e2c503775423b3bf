#!/bin/sh
# Makes the SIF test images with sylabs' SIF library (tests/sif/make_sif.go, Debian's
# golang-github-sylabs-sif-dev built offline in GOPATH mode), called by tests/e2e/make_images.sh.
#   STAGE/images/app.sif            an Apptainer-style image: /.singularity.d/{env/*.sh,runscript,
#                                   runscript.help,labels.json}, a definition-file and a JSON labels
#                                   object, the SquashFS as primary system partition (amd64)
#   STAGE/images/app-partition.sqfs the same SquashFS as a plain file
#   STAGE/images/mpi.sif            mpi.sqfs as a SIF (mpi_tests' node-instance case)
#   STAGE/images/{ext3,encrypted,arm64}.sif  primary partition ext3 / encrypted SquashFS / for arm64
#   STAGE/images/{truncated,short-header,corrupt}.sif  cut in half / 100 bytes / descriptor count 2^64-1
#   STAGE/images/dir.sif/           an empty directory named like a SIF
set -eu
build=$1
stage=$2
here=$(cd "$(dirname "$0")" && pwd)
images=$stage/images
cp "$build/tests/sif_tests" "$stage/bin/"
if ! command -v go >/dev/null || [ ! -d /usr/share/gocode/src/github.com/sylabs/sif ]; then
  echo "make_sif_images: golang-go or golang-github-sylabs-sif-dev missing: no SIF images (scripts/setup.sh installs them)" >&2
  exit 0
fi
gopath=$stage/gopath
mkdir -p "$gopath/src/github.com/sylabs/sif"
ln -sfn /usr/share/gocode/src/github.com/sylabs/sif "$gopath/src/github.com/sylabs/sif/v2"
GO111MODULE=off GOPATH="$gopath:/usr/share/gocode" GOCACHE="$gopath/cache" \
  go build -o "$stage/bin/make_sif" "$here/make_sif.go"
rm -rf "$gopath"

root=$stage/sif-root
rm -rf "$root"
mkdir -p "$root"
cp -a "$images/rootfs/." "$root/"
rm -rf "$root/.cexec"
meta=$root/.singularity.d
mkdir -p "$meta/env" "$meta/actions" "$meta/libs"
printf '#!/bin/sh\n# Copyright (c) Contributors to the Apptainer project\n' > "$meta/env/01-base.sh"
cat > "$meta/env/10-docker2singularity.sh" <<'SH'
#!/bin/sh
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
export SIF_DEFAULTED="${SIF_DEFAULTED:-not-evaluated}"
SH
cat > "$meta/env/90-environment.sh" <<'SH'
#!/bin/sh
# Custom environment shell code should follow
export SIF_VAR=from-sif
export SIF_REF="$SIF_VAR/ref"
SIF_LITERAL='literal $HOME'
SH
cat > "$meta/env/99-base.sh" <<'SH'
#!/bin/sh
if [ -z "$LD_LIBRARY_PATH" ]; then
    LD_LIBRARY_PATH="/.singularity.d/libs"
else
    LD_LIBRARY_PATH="$LD_LIBRARY_PATH:/.singularity.d/libs"
fi
PS1="Apptainer> "
export LD_LIBRARY_PATH PS1
SH
printf 'not sourced: not a .sh file\nexport SIF_NOT_SOURCED=1\n' > "$meta/env/README"
printf '#!/bin/sh\n\necho "sif-runscript:$*"\n' > "$meta/runscript"
printf 'Runs the SIF test payload.\n' > "$meta/runscript.help"
printf '{\n  "org.label-schema.schema-version": "1.0",\n  "MAINTAINER": "cexec tests"\n}\n' > "$meta/labels.json"
chmod 0755 "$meta/env/"*.sh "$meta/runscript"
printf 'sif image\n' > "$root/etc/image-marker"
chmod -R a+rX "$root"
mksquashfs "$root" "$images/app-partition.sqfs" -comp gzip -quiet -noappend -all-root >/dev/null
rm -rf "$root"

printf 'Bootstrap: docker\nFrom: busybox\n\n%%environment\n    export SIF_VAR=from-sif\n\n%%runscript\n    echo "sif-runscript:$*"\n' \
  > "$stage/sif.def"
printf '{"org.label-schema.usage": "cexec run app.sif", "cexec.test.descriptor": "from the labels object"}' \
  > "$stage/sif-labels.json"
make_sif="$stage/bin/make_sif"
"$make_sif" -out "$images/app.sif" -partition "$images/app-partition.sqfs" -deffile "$stage/sif.def" \
  -labels "$stage/sif-labels.json"
"$make_sif" -out "$images/mpi.sif" -partition "$images/mpi.sqfs"
"$make_sif" -out "$images/encrypted.sif" -partition "$images/app-partition.sqfs" -fs encrypted
"$make_sif" -out "$images/arm64.sif" -partition "$images/app-partition.sqfs" -arch arm64
truncate -s 4M "$stage/ext3.img"
mke2fs -q -t ext3 -J size=1 -F "$stage/ext3.img" >/dev/null
"$make_sif" -out "$images/ext3.sif" -partition "$stage/ext3.img" -fs ext3
rm -f "$stage/sif.def" "$stage/sif-labels.json" "$stage/ext3.img"

size=$(stat -c %s "$images/app.sif")
head -c $((size / 2)) "$images/app.sif" > "$images/truncated.sif"
head -c 100 "$images/app.sif" > "$images/short-header.sif"
cp "$images/app.sif" "$images/corrupt.sif"
printf '\377\377\377\377\377\377\377\377' | dd of="$images/corrupt.sif" bs=1 seek=88 conv=notrunc status=none
chmod 0644 "$images/"*.sif "$images/app-partition.sqfs"
mkdir -p "$images/dir.sif"
chmod 0755 "$images/dir.sif"
