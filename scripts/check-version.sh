#!/usr/bin/env bash
# scripts/check-version.sh (make check-version): raft_ext's version is written
# in one place, default_version in raft_ext.control; everything else that names
# it must agree, and this says where it does not:
#   - an install script for that version exists (raft_ext--V.sql or an update
#     script raft_ext--X--V.sql), so CREATE EXTENSION can reach it;
#   - debian/changelog's newest entry is V (the package's version: the package
#     is native, its version is the extension's);
#   - every postgresql-15-raft-ext_X_ that README.md names has X = V.
# Ends with "version: N passed, N failed" (make test sums such lines); --quiet
# prints only what disagrees (scripts/build-deb.sh refuses to build then).
# Exit 0 when everything agrees.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
quiet=
[ "${1:-}" = --quiet ] && quiet=1

passed=0
failed=0
ok() { passed=$((passed + 1)); [ -n "$quiet" ] || echo "ok: $*"; }
bad() { failed=$((failed + 1)); echo "version: FAIL: $*" >&2; }

# The one place.
V=$(sed -n "s/^[[:space:]]*default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" "$ROOT/raft_ext.control")
if [[ "$V" =~ ^[0-9]+(\.[0-9]+)*$ ]]; then
	ok "raft_ext.control: default_version = '$V'"
else
	bad "raft_ext.control: no default_version = 'N.N' line (found '${V}')"
fi

if [ -n "$V" ] && compgen -G "$ROOT/raft_ext--$V.sql" >/dev/null ||
	compgen -G "$ROOT/raft_ext--*--$V.sql" >/dev/null; then
	ok "an install or update script leads to $V"
else
	bad "neither raft_ext--$V.sql nor raft_ext--*--$V.sql exists"
fi

# The newest changelog entry's version: dpkg-parsechangelog when dpkg-dev is
# there, else the first line's "(VERSION)" (the same thing for this file).
if command -v dpkg-parsechangelog >/dev/null 2>&1; then
	dv=$(dpkg-parsechangelog -l "$ROOT/debian/changelog" -S Version)
else
	dv=$(sed -n '1s/^[^ ]* (\([^)]*\)).*/\1/p' "$ROOT/debian/changelog")
fi
if [ "$dv" = "$V" ]; then
	ok "debian/changelog: $dv"
else
	bad "debian/changelog's newest entry is '$dv', raft_ext.control says '$V': add an entry," \
		"e.g. dch -c debian/changelog -v $V -D bookworm 'raft_ext $V'"
fi

# README.md's install commands name the package file.
mapfile -t named < <(grep -o 'postgresql-15-raft-ext_[^_ `]*_' "$ROOT/README.md" | sort -u)
if [ ${#named[@]} -eq 0 ]; then
	bad "README.md names no postgresql-15-raft-ext_${V}_ package file"
elif [ ${#named[@]} -eq 1 ] && [ "${named[0]}" = "postgresql-15-raft-ext_${V}_" ]; then
	ok "README.md: ${named[0]}"
else
	bad "README.md names ${named[*]}; raft_ext.control says $V (edit README.md)"
fi

[ -n "$quiet" ] || echo "version: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
