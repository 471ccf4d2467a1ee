#!/usr/bin/env bash
# scripts/test-deb.sh (make deb-test; step 6b of make test): the Debian package,
# installed for real.  As root:
#
#   1. builds it (scripts/build-deb.sh: dpkg-buildpackage, lintian), or takes
#      DEB=path/to/postgresql-15-raft-ext_V_ARCH.deb, and checks its name and fields;
#   2. removes the extension's files that `make install` left (they belong to
#      no package), so that only the package's files can be used;
#   3. apt-get install ./the.deb; the files are the package's (dpkg -L, dpkg -S,
#      dpkg --verify) and nothing else of raft_ext is installed;
#   4. scripts/raftctl create 3: a loopback cluster from the installed files
#      only; each node's postmaster has the package's raft_ext.so mapped and
#      its extension is at the version; a table and rows through raft_submit
#      (leader and follower), the same rows on every node; raftctl destroy;
#   5. apt-get remove: the package is gone and so are its files;
#   6. make install from this tree again, so that later tests (and other
#      people's, on a shared machine) find the extension installed as before.
#
# The same restoration (destroy the cluster, remove the package, make install)
# runs on any exit, failure or signal included.  Ends with the line
# "deb: N passed, N failed" (make test sums such lines).  Not root: prints
# "deb: SKIP ..." and exits 77.
#
# It replaces the installed extension for a minute: on a machine shared with
# other test runs, hold their lock around it (e.g. flock FILE make deb-test).
# Environment: DEB (a .deb to test instead of building one), DEB_TEST_PORT
# (first of three ports on 127.0.0.1, default 55651), PG_CONFIG, MAKE.
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PKG=postgresql-15-raft-ext
PORT=${DEB_TEST_PORT:-55651}
MAKE=${MAKE:-make}
if [ -z "${PG_CONFIG:-}" ]; then
	PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deb: SKIP: installing a package needs root"
	exit 77
fi

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok $((passed + failed)) - $*"; }
bad() { failed=$((failed + 1)); echo "not ok $((passed + failed)) - $*"; }
# check DESCRIPTION COMMAND...: one test, passed when COMMAND succeeds
check() {
	local what=$1; shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}
# Stop here (the EXIT trap restores the machine and prints the closing line).
give_up() { bad "$*"; exit 1; }

V=$(sed -n "s/^[[:space:]]*default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" "$ROOT/raft_ext.control")
ARCH=$(dpkg --print-architecture)
PKGLIB=$("$PG_CONFIG" --pkglibdir)
EXTDIR=$("$PG_CONFIG" --sharedir)/extension
# apt-get and dpkg wait for another apt's lock this long, not forever
APT=(apt-get -y -q --no-install-recommends -o DPkg::Lock::Timeout=120)
# run_apt LOGNAME ARGS...: apt-get, its output in a log that is shown when it fails
run_apt() {
	local log=$WORK/apt-$1.log; shift
	if "${APT[@]}" "$@" </dev/null >"$log" 2>&1; then return 0; fi
	cat "$log"
	return 1
}
export DEBIAN_FRONTEND=noninteractive

WORK=$(mktemp -d /tmp/raft_ext-deb-test.XXXXXX)
# The servers' OS user (postgres) must reach the cluster directory inside, and
# apt's _apt user must read the .deb copied here.
chmod 755 "$WORK"
export RAFT_CLUSTER_DIR=$WORK/cluster RAFT_BASE_PORT=$PORT RAFT_WAIT_TIMEOUT=60
RAFTCTL=("$ROOT/scripts/raftctl")

# What the exit has to undo.
cluster_made=0
tree_files_removed=0
restored=0

# The extension's files in PostgreSQL's directories (whoever installed them).
installed_files() {
	compgen -G "$PKGLIB/raft_ext*" || true
	compgen -G "$EXTDIR/raft_ext*" || true
}
pkg_status() { dpkg-query -W -f '${db:Status-Status}' "$PKG" 2>/dev/null || true; }

restore() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	if [ "$cluster_made" -eq 1 ] && "${RAFTCTL[@]}" exists >/dev/null 2>&1; then
		if [ "$failed" -ne 0 ]; then
			for log in "$RAFT_CLUSTER_DIR"/node*/server.log; do
				[ -f "$log" ] || continue
				echo "---- last lines of $log ----"
				tail -n 20 "$log"
			done
		fi
		"${RAFTCTL[@]}" destroy >/dev/null 2>&1 || echo "deb: raftctl destroy failed" >&2
	fi
	if [ "$(pkg_status)" = installed ]; then
		echo "deb: removing $PKG"
		"${APT[@]}" remove "$PKG" </dev/null >/dev/null 2>&1 || dpkg -r "$PKG" >/dev/null 2>&1
	fi
	if [ "$tree_files_removed" -eq 1 ] && [ "$restored" -eq 0 ]; then
		echo "deb: make install (restoring the tree's build)"
		"$MAKE" -s -C "$ROOT" --no-print-directory PG_CONFIG="$PG_CONFIG" install ||
			echo "deb: make install FAILED: the extension is not installed" >&2
	fi
	rm -rf "$WORK"
	[ "$rc" -eq 0 ] && [ "$failed" -ne 0 ] && rc=1
	echo "deb: $passed passed, $failed failed"
	exit "$rc"
}
trap restore EXIT
trap 'give_up "interrupted"' INT TERM

# ---------------------------------------------------------------------------
# 1. the package
if [ -n "${DEB:-}" ]; then
	echo "deb: testing $DEB"
else
	bash "$ROOT/scripts/build-deb.sh" || give_up "make deb (scripts/build-deb.sh)"
	DEB=$ROOT/build/deb/${PKG}_${V}_${ARCH}.deb
fi
[ -f "$DEB" ] || give_up "no package file $DEB"
check "file name ${PKG}_${V}_${ARCH}.deb (version from raft_ext.control)" \
	test "$(basename "$DEB")" = "${PKG}_${V}_${ARCH}.deb"
check "dpkg-deb: Package $PKG, Version $V, Architecture $ARCH" \
	test "$(dpkg-deb -f "$DEB" Package Version Architecture | tr '\n' ' ')" = \
	"Package: $PKG Version: $V Architecture: $ARCH "
cp "$DEB" "$WORK/" && chmod 644 "$WORK/$(basename "$DEB")"
DEB=$WORK/$(basename "$DEB")

# ---------------------------------------------------------------------------
# 2. only the package's files: away with what make install left
if [ "$(pkg_status)" = installed ]; then
	echo "deb: $PKG is installed already (an earlier run that did not finish?): removing it first"
	run_apt remove-first remove "$PKG" || give_up "apt-get remove of the already installed $PKG"
fi
tree_files_removed=1
mapfile -t leftovers < <(installed_files)
for f in "${leftovers[@]}"; do
	# a file some package owns is not ours to delete
	if dpkg -S "$f" >/dev/null 2>&1; then give_up "$f belongs to $(dpkg -S "$f" 2>/dev/null)"; fi
	rm -f "$f"
done
echo "deb: removed ${#leftovers[@]} file(s) of make install from $PKGLIB and $EXTDIR"
check "no raft_ext file left in $PKGLIB, $EXTDIR before the install" test -z "$(installed_files)"

# ---------------------------------------------------------------------------
# 3. apt-get install ./the.deb
echo "deb: apt-get install $DEB"
run_apt install install "$DEB" || give_up "apt-get install $DEB"
check "dpkg: $PKG $V installed" \
	test "$(dpkg-query -W -f '${db:Status-Status} ${Version}' "$PKG")" = "installed $V"
listed=$(dpkg -L "$PKG")
expect=("$PKGLIB/raft_ext.so" "$EXTDIR/raft_ext.control")
for f in "$ROOT"/raft_ext--*.sql; do expect+=("$EXTDIR/$(basename "$f")"); done
missing=()
for f in "${expect[@]}"; do grep -qxF "$f" <<<"$listed" || missing+=("$f"); done
check "dpkg -L lists raft_ext.so, raft_ext.control and the $((${#expect[@]} - 2)) SQL scripts" \
	test ${#missing[@]} -eq 0
[ ${#missing[@]} -eq 0 ] || echo "  missing: ${missing[*]}"
echo "  dpkg -L $PKG (extension files):"
grep -E "^($PKGLIB|$EXTDIR)/raft_ext" <<<"$listed" | sed 's/^/    /'
notours=()
mapfile -t now < <(installed_files)
for f in "${now[@]}"; do
	[ "$(dpkg -S "$f" 2>/dev/null | cut -d: -f1)" = "$PKG" ] || notours+=("$f")
done
check "dpkg -S: all ${#now[@]} raft_ext files there belong to $PKG" \
	test ${#now[@]} -eq ${#expect[@]} -a ${#notours[@]} -eq 0
check "dpkg --verify $PKG: the files are the package's, unchanged" \
	test -z "$(dpkg --verify "$PKG" 2>&1)"
check "the installed raft_ext.control says default_version '$V'" \
	grep -qx "default_version = '$V'" "$EXTDIR/raft_ext.control"

# ---------------------------------------------------------------------------
# 4. a cluster from the installed files (nothing is built or installed from
#    here on, until the package is removed)
cluster_made=1
echo "deb: raftctl create 3 (127.0.0.1:$PORT-$((PORT + 2)))"
if ! timeout -k 10 150 "${RAFTCTL[@]}" create 3 >"$WORK/create.log" 2>&1; then
	cat "$WORK/create.log"
	give_up "raftctl create 3 from the installed package"
fi
ok "raftctl create 3: three nodes, a leader, CREATE EXTENSION raft_ext"
for i in 1 2 3; do
	pid=$(head -n 1 "$RAFT_CLUSTER_DIR/node$i/data/postmaster.pid" 2>/dev/null || true)
	check "node $i: the postmaster has $PKGLIB/raft_ext.so (the package's) mapped" \
		grep -q " $PKGLIB/raft_ext.so\$" "/proc/${pid:-0}/maps"
	check "node $i: extension raft_ext at version $V" \
		test "$("${RAFTCTL[@]}" psql "$i" -XAtc "SELECT extversion FROM pg_extension WHERE extname = 'raft_ext'")" = "$V"
done
submit() { timeout -k 5 60 "${RAFTCTL[@]}" submit "$@" >/dev/null; }
check "raft_submit on the leader: CREATE TABLE" \
	submit leader "CREATE TABLE deb_check (id int PRIMARY KEY, v text)"
check "raft_submit on a follower: INSERT two rows" \
	submit follower "INSERT INTO deb_check VALUES (1, 'one'), (2, 'two')"
check "raft_submit on the leader: INSERT a row" \
	submit leader "INSERT INTO deb_check VALUES (3, 'package $V')"
timeout -k 5 60 "${RAFTCTL[@]}" wait-caught-up 30 >/dev/null || echo "deb: wait-caught-up timed out"
for i in 1 2 3; do
	rows=$("${RAFTCTL[@]}" psql "$i" -XAtc "SELECT string_agg(id || '=' || v, ',' ORDER BY id) FROM deb_check" 2>&1 || true)
	check "node $i has the three rows (got: $rows)" test "$rows" = "1=one,2=two,3=package $V"
done
"${RAFTCTL[@]}" destroy >/dev/null || give_up "raftctl destroy"
cluster_made=0
check "raftctl destroy: the cluster directory is gone" test ! -e "$RAFT_CLUSTER_DIR"

# ---------------------------------------------------------------------------
# 5. apt-get remove
echo "deb: apt-get remove $PKG"
run_apt remove remove "$PKG" || give_up "apt-get remove $PKG"
check "dpkg: $PKG no longer installed" test "$(pkg_status)" != installed
check "no raft_ext file left in $PKGLIB, $EXTDIR" test -z "$(installed_files)"

# ---------------------------------------------------------------------------
# 6. the tree's build again
"$MAKE" -s -C "$ROOT" --no-print-directory PG_CONFIG="$PG_CONFIG" install ||
	give_up "make install from $ROOT"
restored=1
tree_build_installed() {
	test -f "$PKGLIB/raft_ext.so" -a -f "$EXTDIR/raft_ext.control" &&
		! dpkg -S "$PKGLIB/raft_ext.so" >/dev/null 2>&1
}
check "make install: raft_ext.so and raft_ext.control are back (owned by no package)" tree_build_installed
