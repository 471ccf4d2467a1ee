#!/usr/bin/env bash
# scripts/run-tests.sh: the whole test run behind `make test` (and so CI).
#
#   1. dependencies        scripts/install-deps.sh (apt-get as root, else says what to run)
#   2. build               make (warnings are errors), then the same with CC=clang in a copy
#   3. core tests          make -k -C test check (pure Raft core: unit + simulation, plain and
#                          sanitized); each suite there ends with "N passed, N failed"
#   3b. checker tests      the chaos suite's history checkers (python3 -m unittest)
#   3c. PGXN metadata      test/check_meta.py --self-test: META.json against the Meta Spec
#   4. install             make install
#   5. pg_regress          make regresscheck: sql/*.sql against expected/*.out on a
#                          temporary instance configured by test/regress.conf
#   6. TAP                 make tapcheck: prove test/t/*.pl (PostgreSQL::Test::Cluster)
#   6b. Debian package     scripts/check-version.sh (the version agrees everywhere), then as
#                          root scripts/test-deb.sh: make deb, apt-get install of it, a cluster
#                          from the installed files only, apt-get remove, make install again;
#                          the package test is skipped (not failed) when not root
#   7. bench smoke         bench/run.sh --smoke: seconds-long runs of every part of the
#                          benchmark, checking that its report is well formed
#   8. chaos short run     the fault-injection suite's unit tests (python3 -m unittest, chaos/tests),
#                          then a ~2-minute seeded run (python3 -m chaos --mix mild): real servers in
#                          network namespaces, a partition, a kill and a pause; skipped (not failed)
#                          when not root or network namespaces are unavailable
#   9. summary             one line per suite, then the closing line "total: N passed, N failed"
#
# PostgreSQL refuses to run as root.  Steps 5 and 6 therefore run in a copy of
# the source tree under /tmp; as root that copy belongs to the postgres user
# and the two make targets run as postgres (runuser).  The copy is removed when
# everything passed and kept (its path is printed) when something failed.
#
# Exits 0 only if every suite passed and at least one test ran.
# Environment: PG_CONFIG (default PostgreSQL 15's), MAKE, PROVE_FLAGS (passed
# to prove, e.g. "-v"), KEEP_TEST_DIR=1 (keep the /tmp copy even on success).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
MAKE=${MAKE:-make}
PG_USER=postgres
START=$SECONDS

passed=0
failed=0
summary=()
WORK=

step() { printf '\n==== %s ====\n' "$*"; }

# record SUITE PASSED FAILED [NOTE]
record() {
	summary+=("$(printf '%-12s %5d passed, %3d failed%s' "$1:" "$2" "$3" "${4:+   ($4)}")")
	passed=$((passed + $2))
	failed=$((failed + $3))
}
note() { summary+=("$(printf '%-12s %s' "$1:" "$2")"); }

finish() {
	step "summary ($((SECONDS - START)) s)"
	local line
	for line in "${summary[@]}"; do echo "  $line"; done
	local rc=0
	if [ "$failed" -ne 0 ]; then
		rc=1
	elif [ "$passed" -eq 0 ]; then
		echo "  NO TEST RAN: that is not a success"
		rc=1
	fi
	if [ -n "$WORK" ] && [ -d "$WORK" ]; then
		if [ "$rc" -eq 0 ] && [ -z "${KEEP_TEST_DIR:-}" ]; then
			rm -rf "$WORK"
		else
			echo "  test copy, logs and server logs kept in $WORK"
		fi
	fi
	echo "total: $passed passed, $failed failed"
	exit "$rc"
}

# Copy the source tree (no .git, no build products) to $1.
copy_tree() {
	mkdir -p "$1"
	tar -C "$ROOT" -cf - \
		--exclude=./.git --exclude=./build --exclude=./test/build --exclude=./test/build-san \
		--exclude='*.o' --exclude='*.bc' --exclude='*.so' --exclude=./tmp_check \
		--exclude=./tmp_regress --exclude=./results --exclude=./log \
		--exclude=./regression.diffs --exclude=./regression.out . |
		tar -C "$1" -xf -
}

# Run a command in the test copy, as postgres when we are root, with a clean
# environment for PostgreSQL's clients and no jobserver from the outer make.
as_pg() {
	local envargs=(-u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u PGHOST -u PGHOSTADDR -u PGPORT
		-u PGDATABASE -u PGUSER -u PGPASSWORD -u PGSERVICE -u PGOPTIONS -u TEMP_CONFIG
		-u PG_TEST_EXTRA TMPDIR=/tmp)
	if [ "$(id -u)" -eq 0 ]; then
		(cd "$WORK/tree" && runuser -u "$PG_USER" -- env "${envargs[@]}" "$@")
	else
		(cd "$WORK/tree" && env "${envargs[@]}" "$@")
	fi
}

# Sum every "N passed, N failed" closing line (optionally "label: " before it,
# ", N skipped" after) in file $1; prints "PASSED FAILED LINES".
sum_closing_lines() {
	awk '
		/^([A-Za-z0-9_. \/-]+: *)?[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)? *$/ {
			s = $0; sub(/^[^:]*: */, "", s)
			split(s, w, /[ ,]+/); p += w[1]; f += w[3]; n++
		}
		END { printf "%d %d %d\n", p, f, n }' "$1"
}

# record_closing SUITE LOG RC WHAT [NOTE]: record what LOG's closing lines say;
# a failure too when WHAT (the command) printed none, or exited non-zero with
# no failure counted.
record_closing() {
	local p f n
	read -r p f n < <(sum_closing_lines "$2")
	if [ "$n" -eq 0 ]; then
		record "$1" "$p" 1 "$4 (exit $3) reported no 'N passed, N failed' line"
	elif [ "$3" -ne 0 ] && [ "$f" -eq 0 ]; then
		record "$1" "$p" 1 "$4 exited $3, see above"
	else
		record "$1" "$p" "$f" "${5:-}"
	fi
}

# ---------------------------------------------------------------------------
step "1. dependencies"
if ! bash "$ROOT/scripts/install-deps.sh"; then
	record deps 0 1 "missing dependencies, see above"
	finish
fi

if [ -z "${PG_CONFIG:-}" ]; then
	if [ -x /usr/lib/postgresql/15/bin/pg_config ]; then
		PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
	else
		PG_CONFIG=pg_config
	fi
fi
pgver=$("$PG_CONFIG" --version 2>/dev/null)
case "$pgver" in
"PostgreSQL 15"*) echo "using $PG_CONFIG: $pgver" ;;
*)
	echo "$PG_CONFIG is not PostgreSQL 15's pg_config (it says: ${pgver:-nothing})" >&2
	record deps 0 1 "no PostgreSQL 15 pg_config"
	finish
	;;
esac
MK=("$MAKE" --no-print-directory PG_CONFIG="$PG_CONFIG")
PG_REGRESS_LOG=log/postmaster.log

if [ "$(id -u)" -eq 0 ] && ! id "$PG_USER" >/dev/null 2>&1; then
	echo "running as root, but there is no '$PG_USER' user to run PostgreSQL as" >&2
	record deps 0 1 "no $PG_USER user"
	finish
fi

WORK=$(mktemp -d /tmp/raft_ext-test.XXXXXX) || { record setup 0 1 "mktemp failed"; finish; }
chmod 755 "$WORK"

# ---------------------------------------------------------------------------
step "2. build"
build_ok=1
if "${MK[@]}"; then
	builds="make ok"
else
	build_ok=0
	record build 0 1 "make failed, see above"
fi
if [ "$build_ok" -eq 1 ]; then
	echo "-- the same build with clang (warnings are errors), in a copy"
	copy_tree "$WORK/clang"
	if (cd "$WORK/clang" && env -u MAKEFLAGS -u MFLAGS "${MK[@]}" CC=clang); then
		builds+=", make CC=clang ok"
	else
		build_ok=0
		record build 0 1 "make CC=clang failed, see above"
	fi
	rm -rf "$WORK/clang"
fi
[ "$build_ok" -eq 1 ] && note build "$builds"

# ---------------------------------------------------------------------------
step "3. core tests (make -k -C test check)"
if [ -f test/Makefile ] && { compgen -G 'test/test_*.c' || compgen -G 'test/sim*.c'; } >/dev/null; then
	"$MAKE" -k -C test check 2>&1 | tee "$WORK/core.log"
	rc=${PIPESTATUS[0]}
	record_closing core "$WORK/core.log" "$rc" "make -k -C test check" \
		"$(sum_closing_lines "$WORK/core.log" | cut -d' ' -f3) suites"
else
	echo "no core tests: test/ has no test_*.c nor sim*.c"
	note core "no tests in test/"
fi

# ---------------------------------------------------------------------------
step "3b. chaos checker unit tests (python3 -m unittest, chaos/checker/tests)"
if compgen -G 'chaos/checker/tests/test_*.py' >/dev/null; then
	python3 -m unittest discover -s chaos/checker/tests -t . 2>&1 | tee "$WORK/checker.log"
	rc=${PIPESTATUS[0]}
	n=$(sed -n 's/^Ran \([0-9]*\) tests\{0,1\} in .*/\1/p' "$WORK/checker.log" | tail -n 1)
	bad=$(sed -n 's/^FAILED (\(.*\))$/\1/p' "$WORK/checker.log" | tr ',' '\n' |
		sed -n 's/.*=\([0-9]*\)/\1/p' | awk '{ s += $1 } END { print s + 0 }')
	if [ -z "$n" ]; then
		record checker 0 1 "unittest (exit $rc) reported no 'Ran N tests' line"
	elif [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
		record checker "$n" 1 "unittest exited $rc"
	else
		record checker $((n - bad)) "$bad"
	fi
else
	note checker "no tests in chaos/checker/tests/"
fi

# ---------------------------------------------------------------------------
step "3c. PGXN metadata (test/check_meta.py: META.json against the Meta Spec, and its self-test)"
python3 test/check_meta.py --self-test 2>&1 | tee "$WORK/meta.log"
rc=${PIPESTATUS[0]}
record_closing meta "$WORK/meta.log" "$rc" "test/check_meta.py"

# ---------------------------------------------------------------------------
step "4. install"
install_ok=0
if [ "$build_ok" -ne 1 ]; then
	echo "skipped: the build failed"
elif "${MK[@]}" install; then
	install_ok=1
else
	record install 0 1 "make install failed, see above"
fi

if [ "$install_ok" -eq 1 ]; then
	copy_tree "$WORK/tree"
	[ "$(id -u)" -eq 0 ] && chown -R "$PG_USER": "$WORK/tree"
fi

# ---------------------------------------------------------------------------
step "5. pg_regress (sql/, expected/)"
if ! compgen -G 'sql/*.sql' >/dev/null; then
	echo "no pg_regress tests: sql/ has no *.sql"
	note regress "no tests in sql/"
elif [ "$install_ok" -ne 1 ]; then
	echo "skipped: not installed"
	record regress 0 1 "not run: build or install failed"
else
	as_pg "${MK[@]}" regresscheck 2>&1 | tee "$WORK/regress.log"
	rc=${PIPESTATUS[0]}
	unset p f
	read -r p f < <(awk '
		/All [0-9]+ tests passed/ { for (i = 1; i <= NF; i++) if ($i == "All") { print $(i+1), 0; exit } }
		/[0-9]+ of [0-9]+ tests failed/ { for (i = 1; i <= NF; i++) if ($(i+1) == "of") { print $(i+2) - $i, $i; exit } }
		/[0-9]+ of [0-9]+ tests passed/ { for (i = 1; i <= NF; i++) if ($(i+1) == "of") { print $(i+2), 0; exit } }
		' "$WORK/regress.log")
	if [ -z "${p:-}" ]; then
		record regress 0 1 "pg_regress (exit $rc) did not report a result"
	elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		record regress "$p" 1 "pg_regress exited $rc"
	else
		record regress "$p" "$f"
	fi
	if [ "$rc" -ne 0 ] || [ "${f:-1}" -ne 0 ]; then
		t=$WORK/tree
		if [ -s "$t/regression.diffs" ]; then
			echo "---- regression.diffs (also copied to $ROOT/regression.diffs) ----"
			head -n 500 "$t/regression.diffs"
			cp "$t/regression.diffs" "$t/regression.out" "$ROOT/" 2>/dev/null
		fi
		if [ -f "$t/$PG_REGRESS_LOG" ]; then
			echo "---- last lines of $t/$PG_REGRESS_LOG ----"
			tail -n 40 "$t/$PG_REGRESS_LOG"
		fi
	fi
	unset p f
fi

# ---------------------------------------------------------------------------
step "6. TAP tests (test/t/*.pl)"
if ! compgen -G 'test/t/*.pl' >/dev/null; then
	echo "no TAP tests: test/t/ has no *.pl"
	note tap "no tests in test/t/"
elif [ "$install_ok" -ne 1 ]; then
	echo "skipped: not installed"
	record tap 0 1 "not run: build or install failed"
else
	as_pg "${MK[@]}" PROVE_FLAGS="${PROVE_FLAGS:-}" tapcheck 2>&1 | tee "$WORK/tap.log"
	rc=${PIPESTATUS[0]}
	files=$(sed -n 's/^Files=\([0-9]*\), Tests=.*/\1/p' "$WORK/tap.log" | tail -n 1)
	# prove's "Test Summary Report" has one "NAME.pl (Wstat: ...)" line per failed script.
	failed_scripts=$(sed -n 's/^\([^ ]*\.pl\) (Wstat: .*/\1/p' "$WORK/tap.log" | sort -u)
	bad=$(printf '%s' "$failed_scripts" | grep -c . )
	if [ -z "$files" ]; then
		record tap 0 1 "prove (exit $rc) did not report a result"
	elif [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
		record tap "$files" 1 "prove exited $rc"
	else
		record tap $((files - bad)) "$bad" "test programs"
	fi
	if [ "$rc" -ne 0 ]; then
		for name in $failed_scripts; do
			base=$(basename "$name" .pl)
			# the test's own log, then each of its servers' logs
			for log in "$WORK/tree/tmp_check/log/regress_log_$base" "$WORK/tree/tmp_check/log/${base}"_*.log; do
				[ -f "$log" ] || continue
				echo "---- last lines of $log ----"
				tail -n 60 "$log"
			done
		done
		echo "---- server logs: $WORK/tree/tmp_check/log/ ----"
		ls "$WORK/tree/tmp_check/log/" 2>/dev/null
	fi
fi

# ---------------------------------------------------------------------------
step "6b. Debian package (scripts/check-version.sh, scripts/test-deb.sh)"
bash scripts/check-version.sh 2>&1 | tee "$WORK/version.log"
rc=${PIPESTATUS[0]}
record_closing version "$WORK/version.log" "$rc" "scripts/check-version.sh"
if [ "$(id -u)" -ne 0 ]; then
	echo "skipped: installing a package needs root"
	note deb "skipped: installing a package needs root"
elif [ "$install_ok" -ne 1 ]; then
	echo "skipped: not installed"
	record deb 0 1 "not run: build or install failed"
else
	# The package replaces the installed extension for a minute; test-deb.sh puts
	# the tree's build back on any exit.  Its own waits are bounded: the timeout
	# is a last resort against a hang.
	timeout -k 30 300 env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL PG_CONFIG="$PG_CONFIG" MAKE="$MAKE" \
		bash scripts/test-deb.sh 2>&1 | tee "$WORK/deb.log"
	rc=${PIPESTATUS[0]}
	record_closing deb "$WORK/deb.log" "$rc" "scripts/test-deb.sh" \
		"make deb, apt-get install, a 3-node cluster, apt-get remove"
	# Even if it was killed before it could clean up: no package, the tree's
	# build installed, for the steps that follow.
	if [ "$(dpkg-query -W -f '${db:Status-Status}' postgresql-15-raft-ext 2>/dev/null)" = installed ]; then
		dpkg -r postgresql-15-raft-ext
	fi
	if ! "${MK[@]}" -s install; then
		record install 0 1 "make install after the package test failed"
		install_ok=0
	fi
fi

# ---------------------------------------------------------------------------
step "7. benchmark smoke run (bench/run.sh --smoke)"
if [ "$install_ok" -ne 1 ]; then
	echo "skipped: not installed"
	record bench-smoke 0 1 "not run: build or install failed"
elif bash bench/run.sh --smoke 2>&1 | tee "$WORK/bench-smoke.log"; [ "${PIPESTATUS[0]}" -eq 0 ]; then
	record bench-smoke 1 0 "report well formed"
else
	record bench-smoke 0 1 "bench/run.sh --smoke failed"
fi

# ---------------------------------------------------------------------------
step "8. fault injection: unit tests, then a short seeded run (python3 -m chaos)"
if compgen -G 'chaos/tests/test_*.py' >/dev/null; then
	python3 -m unittest discover -s chaos/tests -t . 2>&1 | tee "$WORK/chaos-unit.log"
	rc=${PIPESTATUS[0]}
	n=$(sed -n 's/^Ran \([0-9]*\) tests\{0,1\} in .*/\1/p' "$WORK/chaos-unit.log" | tail -n 1)
	bad=$(sed -n 's/^FAILED (\(.*\))$/\1/p' "$WORK/chaos-unit.log" | tr ',' '\n' |
		sed -n 's/.*=\([0-9]*\)/\1/p' | awk '{ s += $1 } END { print s + 0 }')
	if [ -z "$n" ]; then
		record chaos-unit 0 1 "unittest (exit $rc) reported no 'Ran N tests' line"
	elif [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
		record chaos-unit "$n" 1 "unittest exited $rc"
	else
		record chaos-unit $((n - bad)) "$bad"
	fi
fi
if [ "$install_ok" -ne 1 ]; then
	echo "skipped: not installed"
	record chaos 0 1 "not run: build or install failed"
else
	# Fixed seed and a mild fault mix (one partition, kill or pause at a time, 3 nodes):
	# the same run every time, real faults, nothing that takes long to heal.
	timeout -k 30 600 python3 -m chaos --time 90 --seed 20261207 --nodes 3 --mix mild \
		--results "$WORK/chaos" 2>&1 | tee "$WORK/chaos.log"
	rc=${PIPESTATUS[0]}
	if [ "$rc" -eq 77 ]; then
		note chaos "skipped: $(sed -n 's/^chaos: SKIP //p' "$WORK/chaos.log" | head -n 1)"
	elif [ "$rc" -eq 0 ]; then
		record chaos 1 0 "$(sed -n 's/^chaos: PASS \(ops=[0-9]* ok=[0-9]* fail=[0-9]* unknown=[0-9]* faults=[0-9]*\).*/\1/p' "$WORK/chaos.log")"
	else
		record chaos 0 1 "python3 -m chaos exited $rc; results in $WORK/chaos"
	fi
fi

finish
