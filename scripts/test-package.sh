#!/bin/sh
# The Debian package end to end, as root (scripts/test.sh runs it after the test build): build it
# (scripts/package.sh, lintian included), `apt-get install ./cexec_*.deb`, check what it installed
# (no setuid or setgid file, the conffile, man pages, the modulefile under Lmod), run the e2e suite
# (e2e_root, e2e_user) against the installed /usr/bin/cexec instead of the build's, then
# `apt-get purge` and check that nothing of it is left.
# Usage: scripts/test-package.sh [TEST_BUILD_DIR]   (default build/: the e2e programs and images)
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
fail() { echo "test-package: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "must run as root (it installs and purges the package)"
[ -x "$build/tests/e2e_tests" ] || fail "no test build in $build (scripts/build.sh $build first)"

./scripts/package.sh dist-out
if dpkg-query -W -f='${Status}' cexec 2>/dev/null | grep -q 'installed'; then
  echo "test-package: purging the cexec package left installed by an earlier run"
  apt-get purge -y -qq cexec >/dev/null
fi
etc_existed=no
[ -e /etc/cexec ] && etc_existed=yes

deb=$(ls dist-out/cexec_*.deb)
echo "test-package: apt-get install ./$deb"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "./$deb" >/dev/null
files=$(dpkg -L cexec)
[ "$(command -v cexec)" = /usr/bin/cexec ] || fail "cexec on PATH is $(command -v cexec), not /usr/bin/cexec"
version=$(sed -n 's/^project(cexec VERSION \([0-9.]*\) .*/\1/p' CMakeLists.txt)
/usr/bin/cexec --version | head -1 | grep -qx "cexec $version" || fail "/usr/bin/cexec --version: $(/usr/bin/cexec --version | head -1)"
for f in $files; do
  if [ -f "$f" ] && [ -n "$(find "$f" -perm /6000)" ]; then fail "setuid or setgid file in the package: $f"; fi
done
dpkg-query -W -f='${Conffiles}\n' cexec | grep -q '^ /etc/cexec/cexec.conf ' || fail "/etc/cexec/cexec.conf is not a conffile"
[ "$(stat -c '%U %a' /etc/cexec/cexec.conf)" = "root 644" ] || fail "/etc/cexec/cexec.conf is not root-owned 0644"
[ "$(man -w cexec-exec)" = /usr/share/man/man1/cexec-exec.1.gz ] || fail "man -w cexec-exec: $(man -w cexec-exec)"
out=$(env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin bash --norc --noprofile -c '
  . /usr/share/lmod/lmod/init/bash && module use /usr/share/cexec/modulefiles/lmod && module load cexec &&
  module -t list 2>&1 | grep "^cexec/" && command -v cexec') || fail "module load cexec: $out"
echo "test-package: installed: /usr/bin/cexec $version, conffile, man pages, module $(echo "$out" | head -1)"

# The e2e suite against the installed binary (tests/e2e/harness.hpp, make_images.sh).
(cd "$build" && CEXEC_E2E_CEXEC=/usr/bin/cexec ctest --output-on-failure -R '^e2e_(root|user)$') ||
  fail "the e2e suite failed against /usr/bin/cexec"

echo "test-package: apt-get purge cexec"
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq cexec >/dev/null
[ -z "$(dpkg -L cexec 2>/dev/null)" ] || fail "dpkg -L cexec still lists files after purge"
for f in $files; do
  if [ -f "$f" ] || [ -L "$f" ]; then fail "left after purge: $f"; fi
done
if [ "$etc_existed" = no ] && [ -e /etc/cexec ]; then fail "/etc/cexec is left after purge"; fi
echo "test-package: package built, installed, tested and purged; nothing left"
