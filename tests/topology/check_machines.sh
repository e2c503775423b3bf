#!/bin/sh
# The loader's reading of each stored topology must equal the checked-in Machine text that the
# golden plans are computed from (tests/topology/machines/). Usage: check_machines.sh BUILD/cexec
set -eu
cexec=$1
here=$(cd "$(dirname "$0")" && pwd)
status=0
for xml in "$here"/xml/*.xml; do
  name=$(basename "$xml" .xml)
  if ! "$cexec" plan --topology "$xml" --machine | diff -u "$here/machines/$name.machine" -; then
    echo "FAIL: $name: the loader's model differs from machines/$name.machine" >&2
    status=1
  fi
done
exit $status
