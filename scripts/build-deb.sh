#!/usr/bin/env bash
# scripts/build-deb.sh (make deb): the Debian package of raft_ext,
#   build/deb/postgresql-15-raft-ext_<version>_<arch>.deb
# built by Debian's own tooling (dpkg-buildpackage, debhelper and
# postgresql-common's pg_buildext; debian/rules), then checked with lintian.
#
# The build runs in a scratch copy of the tree under /tmp, so the work tree
# gets no build products nor debian/ leftovers, and the package holds what the
# tree holds now (committed or not), without .git or earlier build output.
# Next to the .deb, in build/deb/: its -dbgsym package (debug symbols), the
# .changes and .buildinfo, build.log and lintian.txt.
#
# Fails when the version is not the same everywhere (scripts/check-version.sh),
# when the build fails (the end of its log is printed) or when lintian reports
# an error.  Lintian's remaining tags are explained in debian/lintian-notes.
# Environment: DEB_OUT (default build/deb in the tree).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${DEB_OUT:-$ROOT/build/deb}
PKG=postgresql-15-raft-ext	# debian/control's binary package
SRCPKG=raft-ext			# and its source package, which names the .changes

for cmd in dpkg-buildpackage dh pg_buildext lintian; do
	command -v "$cmd" >/dev/null 2>&1 ||
		{ echo "deb: $cmd not found: run scripts/install-deps.sh (make deps)" >&2; exit 1; }
done
bash "$ROOT/scripts/check-version.sh" --quiet ||
	{ echo "deb: the versions disagree (above): not building" >&2; exit 1; }
V=$(sed -n "s/^[[:space:]]*default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" "$ROOT/raft_ext.control")
ARCH=$(dpkg --print-architecture)

SCRATCH=$(mktemp -d /tmp/raft_ext-deb.XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT
# dpkg-buildpackage writes its results into the parent of the source directory.
SRC=$SCRATCH/raft-ext-$V
mkdir "$SRC"
tar -C "$ROOT" -cf - \
	--exclude=./.git --exclude=./build --exclude=./test/build --exclude=./test/build-san \
	--exclude='*.o' --exclude='*.bc' --exclude='*.so' --exclude=./tmp_check \
	--exclude=./tmp_regress --exclude=./results --exclude=./log \
	--exclude=./regression.diffs --exclude=./regression.out \
	--exclude=./debian/.debhelper --exclude="./debian/$PKG" --exclude=./debian/files \
	--exclude='./debian/*.substvars' --exclude=./debian/debhelper-build-stamp . |
	tar -C "$SRC" -xf -

echo "deb: dpkg-buildpackage -us -uc -b in $SRC (log: $OUT/build.log)"
mkdir -p "$OUT"
rm -f "$OUT"/*.deb "$OUT"/*.changes "$OUT"/*.buildinfo "$OUT"/build.log "$OUT"/lintian.txt
# -us -uc: nothing to sign; -b: binary packages only (no source package to upload).
if ! (cd "$SRC" && dpkg-buildpackage -us -uc -b) >"$OUT/build.log" 2>&1; then
	tail -n 60 "$OUT/build.log" >&2
	echo "deb: dpkg-buildpackage failed (whole log: $OUT/build.log)" >&2
	exit 1
fi
mv "$SCRATCH"/*.deb "$SCRATCH"/*.changes "$SCRATCH"/*.buildinfo "$OUT"/
DEB=$OUT/${PKG}_${V}_${ARCH}.deb
[ -f "$DEB" ] || { echo "deb: the build made no $DEB" >&2; ls -l "$OUT" >&2; exit 1; }

# Lintian on the .changes: both packages and the .buildinfo.  -I --pedantic
# shows every tag (the informational ones too); only errors fail the build.
CHANGES=$OUT/${SRCPKG}_${V}_${ARCH}.changes
echo "deb: lintian -I --pedantic --fail-on error $CHANGES"
rc=0
lintian -I --pedantic --fail-on error "$CHANGES" >"$OUT/lintian.txt" 2>&1 || rc=$?
sed 's/^/  /' "$OUT/lintian.txt"
if [ "$rc" -ne 0 ]; then
	echo "deb: lintian reported errors (exit $rc)" >&2
	exit 1
fi
echo "deb: $DEB ($(stat -c %s "$DEB") bytes)"
