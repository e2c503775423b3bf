#!/bin/sh
# Regenerates tests/topology/machines/*.machine (cexec's model of each stored topology) and
# tests/topology/golden/CASE.txt (`cexec plan` for each line of cases.txt).
# Usage: tests/topology/make_golden.sh BUILD/cexec [TOPOLOGY_DIR]
# Review the diff against the answer key in TOPOLOGY_DIR/README.md before committing it.
set -eu
cexec=$(realpath "$1")
topologies=${2:-$(cd "$(dirname "$0")" && pwd)/xml}
here=$(cd "$(dirname "$0")" && pwd)
for xml in "$topologies"/*.xml; do
  name=$(basename "$xml" .xml)
  "$cexec" plan --topology "$xml" --machine > "$here/machines/$name.machine"
done
grep -v '^#' "$here/cases.txt" | while read -r case topo ranks rest; do
  [ -n "$case" ] || continue
  envs=""
  args=""
  for word in $rest; do
    case "$word" in
      env=*) envs="$envs ${word#env=}" ;;
      *) args="$args --$word" ;;
    esac
  done
  # shellcheck disable=SC2086
  env -i $envs "$cexec" plan --topology "$topologies/$topo.xml" --ranks "$ranks" $args > "$here/golden/$case.txt"
done
echo "wrote $(ls "$here/golden" | wc -l) golden plans and $(ls "$here/machines" | wc -l) machines"
