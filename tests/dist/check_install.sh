#!/bin/bash
# The install tree (dist/CMakeLists.txt), from a built tree, as any user:
#  - `cmake --install --prefix P` puts the binary, man pages, completion, modulefiles, docs and
#    config samples under P, and the modulefiles point there; no file is setuid or setgid;
#  - with DESTDIR, everything lands below DESTDIR;
#  - every man page renders without groff warnings;
#  - Lmod loads the Lua and the Tcl modulefile: cexec and its man pages come from P, and unloading
#    restores PATH;
#  - the bash completion completes verbs, options (from the binary's own --help) and option values.
# Usage: check_install.sh BUILD_DIR. Exit 77 (skipped) when Lmod or bash-completion is missing,
# unless CEXEC_MUST_WORK=1.
set -euo pipefail
build=$1
fail() { echo "check_install: $*" >&2; exit 1; }
need() {
  if [ ! -e "$1" ]; then
    [ "${CEXEC_MUST_WORK:-}" = 1 ] && fail "$1 missing (install $2); CEXEC_MUST_WORK=1 forbids skipping"
    echo "check_install: skipped: $1 missing (install $2)"
    exit 77
  fi
}
need /usr/share/lmod/lmod/init/bash lmod
need /usr/share/bash-completion/bash_completion bash-completion

tmp=$(mktemp -d /tmp/cexec-check-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null
version=$("$prefix/bin/cexec" --version | head -1 | cut -d' ' -f2)
[ -n "$version" ] || fail "cexec --version printed no version"

for f in bin/cexec share/bash-completion/completions/cexec share/cexec/modulefiles/lmod/cexec/$version.lua \
  share/cexec/modulefiles/tcl/cexec/$version share/doc/cexec/README.md share/doc/cexec/examples/config/cexec.conf \
  share/doc/cexec/examples/config/mpi.conf.example share/doc/cexec/examples/pytorch-ddp/train.sbatch \
  share/doc/cexec/docs/mpi-bridge.md; do
  [ -f "$prefix/$f" ] || fail "not installed: $f"
done
pages="cexec cexec-exec cexec-run cexec-shell cexec-build cexec-pull cexec-cache cexec-inspect cexec-run-help cexec-check cexec-plan cexec-mpi-check"
for p in $pages; do
  page=$prefix/share/man/man1/$p.1
  [ -f "$page" ] || fail "no man page $p(1)"
  warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null || true)
  [ -z "$warnings" ] || fail "$p(1) renders with warnings: $warnings"
  head -c 400 "$page" | grep -q "^.TH ${p^^} " || fail "$p(1) has the wrong title"
done
[ -z "$(find "$prefix" -perm /6000)" ] || fail "setuid or setgid files: $(find "$prefix" -perm /6000)"
[ -e "$prefix/etc" ] && fail "a plain install wrote etc/ (only CEXEC_INSTALL_CONFIG=ON does)"

# DESTDIR: everything below it, nothing in the prefix itself, and the modulefile names the prefix.
DESTDIR=$tmp/destdir cmake --install "$build" --prefix "$tmp/system" >/dev/null
[ -x "$tmp/destdir$tmp/system/bin/cexec" ] || fail "the DESTDIR install has no bin/cexec below DESTDIR"
[ ! -e "$tmp/system" ] || fail "the DESTDIR install wrote into the prefix itself"
grep -q "\"$tmp/system/bin\"" "$tmp/destdir$tmp/system/share/cexec/modulefiles/lmod/cexec/$version.lua" ||
  fail "the DESTDIR install's modulefile does not name the prefix"

# The modulefiles under Lmod (it reads Tcl modulefiles too).
for kind in lmod tcl; do
  out=$(env -i HOME="$tmp" PATH=/usr/bin:/bin bash --norc --noprofile -c '
    set -e
    . /usr/share/lmod/lmod/init/bash
    module use "$1"
    module load cexec
    command -v cexec
    man -w cexec-exec
    case $MANPATH in *:) echo "system man pages kept" ;; *) echo "MANPATH=$MANPATH hides the system man pages" ;; esac
    module unload cexec
    [ "$(command -v cexec)" = "$2/bin/cexec" ] && echo "after unload: still $2/bin/cexec" || echo "after unload: gone"
    ' _ "$prefix/share/cexec/modulefiles/$kind" "$prefix" 2>&1) ||
    fail "module load cexec ($kind) failed: $out"
  expected="$prefix/bin/cexec
$prefix/share/man/man1/cexec-exec.1
system man pages kept
after unload: gone"
  [ "$out" = "$expected" ] || fail "module load cexec ($kind): expected
$expected
got
$out"
done

# The bash completion, with the installed cexec on PATH (options come from its --help).
complete_words() {  # WORDS... (the last one is the word being completed)
  PATH="$prefix/bin:$PATH" bash --norc --noprofile -c '
    . /usr/share/bash-completion/bash_completion
    . "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
    _cexec cexec "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    printf "%s\n" "${COMPREPLY[@]}" | LC_ALL=C sort' _ "$prefix/share/bash-completion/completions/cexec" "$@"
}
expect_completion() {  # EXPECTED -- WORDS...
  local expected=$1; shift 2
  local got
  got=$(cd "$tmp" && complete_words "$@" | tr '\n' ' ')
  [ "$got" = "$expected " ] || fail "completing \`$*\`: expected \`$expected\`, got \`$got\`"
}
expect_completion "exec" -- cexec ex
expect_completion "inspect" -- cexec insp
expect_completion "--no-framework-env --no-home --no-share" -- cexec exec --no-
expect_completion "--writable --writable-tmpfs" -- cexec -B /scratch img.sqfs --wri
expect_completion "auto none nvidia rocm" -- cexec run --gpu ""
expect_completion "check" -- cexec mpi ""
expect_completion "--help --json --mpi" -- cexec mpi check --
expect_completion "--force" -- cexec build --forc
echo "check_install: ok (prefix, DESTDIR, $(echo $pages | wc -w) man pages, Lmod lua and tcl, bash completion)"
