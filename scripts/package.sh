#!/bin/sh
# Builds the Debian package (debian/, dpkg-buildpackage) from this tree and checks it with
# lintian. The tree's files (tracked and untracked, not ignored) are copied to a temporary
# directory first, so that the build leaves nothing in the checkout or its parent.
# Usage: scripts/package.sh [OUT_DIR]   (default dist-out/): cexec_VERSION_ARCH.deb lands there,
# with the .buildinfo, .changes, the debug symbols package and lintian.txt.
set -eu
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-dist-out}")
version=$(sed -n 's/^project(cexec VERSION \([0-9.]*\) .*/\1/p' CMakeLists.txt)
changelog_version=$(dpkg-parsechangelog -S Version)
if [ "$version" != "$changelog_version" ]; then
  echo "package: CMakeLists.txt says $version but debian/changelog says $changelog_version" >&2
  exit 1
fi
commit=$(git describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)

work=$(mktemp -d /tmp/cexec-package.XXXXXX)
trap 'rm -rf "$work"' EXIT
src="$work/cexec-$version"
mkdir "$src"
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$src"

echo "package: building cexec $version ($commit) in $src"
(cd "$src" && CEXEC_COMMIT=$commit dpkg-buildpackage -b -us -uc -j"${CEXEC_BUILD_JOBS:-2}" >"$work/build.log" 2>&1) || {
  tail -40 "$work/build.log" >&2
  echo "package: dpkg-buildpackage failed (log above)" >&2
  exit 1
}
mkdir -p "$out"
rm -f "$out"/cexec_* "$out"/cexec-dbgsym_*
cp "$work"/cexec_* "$work"/cexec-dbgsym_* "$out/" 2>/dev/null || cp "$work"/cexec_* "$out/"
cp "$work/build.log" "$out/build.log"
deb=$(ls "$out"/cexec_"$version"_*.deb)
echo "package: $deb"

# lintian: every tag it reports must be explained in docs/packaging.md (tag names listed there).
lintian --info --display-info --pedantic "$out"/cexec_"$version"_*.changes >"$out/lintian.txt" 2>&1 || true
unexplained=""
for tag in $(sed -n 's/^[EWIPX]: cexec[^:]*: \([a-z0-9-]*\).*/\1/p' "$out/lintian.txt" | sort -u); do
  grep -qE "\`$tag[\` ]" docs/packaging.md || unexplained="$unexplained $tag"
done
if [ -n "$unexplained" ]; then
  cat "$out/lintian.txt" >&2
  echo "package: lintian tags not explained in docs/packaging.md:$unexplained" >&2
  exit 1
fi
echo "package: lintian: $(grep -c '^[EWIPX]: ' "$out/lintian.txt" || true) tags, each explained in docs/packaging.md"
