#!/usr/bin/env bash
# bench/run.sh — `make bench`: what raft_ext costs, measured against what one
# would use instead, in one run on one machine.
#
#  1. Throughput: the same single-row INSERT (pgbench -n -f, a custom script;
#     every transaction inserts a new row) at 1, 8 and 32 clients against
#       (a) plain    one PostgreSQL server
#       (b) syncrep  PostgreSQL's synchronous streaming replication: a primary
#                    and two standbys (pg_basebackup -R), synchronous_standby_names
#                    = 'ANY 1 (s1, s2)', synchronous_commit = remote_apply
#       (c) raft     a three-node raft_ext cluster (scripts/raftctl), each
#                    transaction SELECT raft_submit('INSERT ...') on the leader
#       (d) raft-route  transparent mode, on (c)'s cluster and leader: the plain
#                    INSERT of (a), sent with pgbench -M prepared (extended
#                    protocol, bound parameters) and PGOPTIONS='-c
#                    raft_ext.route_writes=on', so each one goes through the log
#     tps, average and 99th-percentile latency (from pgbench's per-transaction
#     log), and the tps ratios (c)/(a), (c)/(b) and (d)/(c) (what the
#     transparent mode's convenience costs).  After every run the rows it
#     inserted are counted (for (d) on every node): as many as pgbench's
#     transactions, or the run fails.
#  2. Failover: rounds of kill -9 of the raft leader under a steady write load
#     (psql loops, each write a new connection to the nodes in turn); per round
#     the election time, the time from the kill to the next acknowledged write
#     committed by the new leader, and acknowledged / failed / outcome-unknown
#     writes; then every node must hold the same rows, every acknowledged write
#     included and no failed one.
#  3. Catch-up: a follower stopped while N entries are committed, restarted:
#     the time until it has applied them all.
#  4. Consistency check: raft_verify() over a table of BENCH_VERIFY_MB MB: the
#     rate every node hashes at, and the throughput of the (c) workload (8
#     clients) while checks run back to back, as a ratio to without.
#  5. Reads: what raft_ext.read_consistency = linearizable costs (every
#     read-only transaction's first read of a replicated table waits for a
#     ReadIndex barrier, a round trip to the leader): a point SELECT by primary
#     key (pgbench -M prepared, \gset: a transaction that finds no row fails)
#     on a follower of the raft cluster, and on the leader, with
#     read_consistency = local and = linearizable in turn; tps, average latency
#     and the ratio linearizable / local per client count.  Runs after part 1,
#     on the cluster of (c) or (d).
#  6. Log size: what a long history costs, with compaction
#     (raft_ext.log_keep_entries) and without (0).  For each setting of
#     BENCH_LOG_KEEP a fresh three-node cluster (its own, after the others'
#     servers are stopped) is written BENCH_LOG_ENTRIES entries in steps (the
#     (c) workload, pgbench -t with BENCH_LOG_CLIENTS clients; the history
#     grows from one count to the next); at each count, once every node has
#     applied everything and compaction has settled: the rows of raft_ext.log
#     and its size on disk (pg_total_relation_size) on a follower, the
#     resident memory of its Raft worker (/proc/PID/status of the process
#     titled "raft_ext raft worker": RssAnon, its own memory, where the log
#     is; VmRSS, which adds the shared memory it touched, RssShmem, and
#     mapped files), then that follower is restarted (pg_ctl stop -m fast,
#     start) and timed until its Raft worker has loaded the log (the time of
#     its "node N started: ..., M log entries" line, M reported too) and
#     until it serves: raft_status.worker_state = 'running' and last_applied
#     at the leader's commit index; then its new Raft worker's memory.
#     Ratios of each setting to 0 (never compact) at the same count.
#  7. Throughput while compaction runs: on a fresh three-node cluster, the (c)
#     workload (BENCH_COMPACT_CLIENTS clients on the leader, BENCH_DURATION s a
#     run) with raft_ext.log_keep_entries = 0 (quiet: nothing is removed) and
#     = BENCH_COMPACT_KEEP (a small keep: compaction entries remove rows of
#     raft_ext.log throughout the run), set with ALTER SYSTEM and a reload on
#     every node; before a compacting run the log is first brought down to
#     about 2 x keep, so the run sees steady compaction, not the backlog of
#     the quiet run before it, and before every run each node's raft_ext.log
#     is vacuumed (no run pays for the one before's deletes).
#     BENCH_COMPACT_RUNS runs of each, alternating
#     which goes first; tps and p99 (medians over the runs), the ratio
#     compacting / quiet, and how many rows the leader removed during each run.
#  8. Throughput while a member is added (when scripts/raftctl has `add`): a
#     fresh three-node cluster (log_keep_entries = 0: a new member needs the
#     whole log) with BENCH_ADD_HISTORY entries of history, the (c) workload
#     running for BENCH_ADD_RUN s, `raftctl add` (a fourth node: data
#     directory, start, CREATE EXTENSION, raft_add_node, caught up, voter)
#     started BENCH_ADD_QUIET s in; tps and p99 from pgbench's per-transaction
#     log in the quiet window before the add, during it and after it, how long
#     the add took, and the run's rows counted on the leader and the new node.
#  9. Snapshot install (when the extension has raft_install_snapshot): a
#     fresh three-node cluster whose replicated database holds about
#     BENCH_SNAPSHOT_MB MB (a pgbench_accounts-like table, written through the
#     log, so every node builds its own copy; vacuumed and checkpointed
#     before anything is measured); SELECT raft_install_snapshot() on a
#     follower (an online copy of the leader at its applied index, inside
#     the running server) is timed, then, as the baseline in the same run,
#     pg_basebackup of the same member (-X stream -c fast: README's physical
#     copy) into a scratch directory; BENCH_SNAPSHOT_RUNS runs of both,
#     alternating which goes first; MB/s of each (medians) over the same MB
#     (the replicated database's tables with their indexes) and the ratio
#     online / physical; after each install the follower must have caught up
#     with the same rows as the leader.
#
# The report (markdown, machine described) goes to
# bench/results/<date>-<host>.md with a PNG plot (gnuplot) and the raw numbers
# (.tsv) beside it.
#
# Usage: bench/run.sh            the full benchmark (about 20 minutes)
#        bench/run.sh --smoke    a few seconds of each part; checks the report is
#                                well formed (make bench-smoke, part of make test)
#        bench/run.sh --check REPORT.md   only check a report
#
# Environment (defaults: full run / --smoke):
#   BENCH_DURATION=20/2        seconds per pgbench run
#   BENCH_CLIENTS="1 8 32"/1   client counts
#   BENCH_JOBS=2               pgbench -j
#   BENCH_RUNS=1               runs of each configuration (the median is reported)
#   BENCH_WARMUP=3/0           seconds of warm-up before each configuration's runs
#   BENCH_CONFIGS="plain syncrep raft raft-route"   empty: none (then parts 2-5, which
#                              need (c), are skipped too; part 6 has its own clusters)
#   BENCH_FAILOVER_ROUNDS=5/1  0 skips the failover part
#   BENCH_FAILOVER_WRITERS=2   concurrent write loops during the failover rounds
#   BENCH_STATEMENT_TIMEOUT=5s statement_timeout of the failover writes
#   BENCH_CATCHUP_ENTRIES=100000/160   0 skips the catch-up part
#   BENCH_VERIFY_MB=64/1       data checked by the consistency-check part
#                              (raft_verify); 0 skips it
#   BENCH_FOLLOWER_CLIENTS="1 8"/1     client counts of (c) with the clients on a
#                                      follower (forwarded writes); empty skips it
#   BENCH_READ_CLIENTS="1 8"/1         client counts of the read part; empty skips it
#   BENCH_READ_NODES="follower leader" where the read part's clients connect; empty
#                                      skips it
#   BENCH_READ_ROWS=10000/1000         rows the read part's SELECT picks from
#   BENCH_LOG_ENTRIES="20000 100000"/2000   history sizes of the log-size part, ascending
#                              (1000000: 4-6 min a setting on 2 cores); empty skips it
#   BENCH_LOG_KEEP="0 10000"/"0 500"  raft_ext.log_keep_entries settings it compares, a
#                              fresh cluster each; 0 never compacts (the ratios' base)
#   BENCH_LOG_CLIENTS=32/8     pgbench clients writing its history
#   BENCH_COMPACT_KEEP=500     the compacting run's raft_ext.log_keep_entries; 0 or
#                              empty skips the compaction part
#   BENCH_COMPACT_RUNS=3/1     runs of each setting (medians reported)
#   BENCH_COMPACT_CLIENTS=8/4  its pgbench clients
#   BENCH_ADD=1                0 skips the member-add part (skipped anyway when
#                              raftctl has no add command)
#   BENCH_ADD_HISTORY=20000/500  entries written before the add's run
#   BENCH_ADD_RUN=60/15        seconds of the write run during which the node is added
#                              (an add that outlasts it is measured up to the run's end, and
#                              the report says so)
#   BENCH_ADD_QUIET=10/3       seconds into that run when raftctl add starts
#   BENCH_ADD_CLIENTS=8/4      its pgbench clients
#   BENCH_SNAPSHOT_MB=64/2     size of the snapshot part's database; 0 skips the part
#                              (skipped anyway when the extension has no raft_install_snapshot)
#   BENCH_SNAPSHOT_RUNS=3/1    runs of each copy (medians reported)
#   BENCH_SNAPSHOT_TIMEOUT=300 statement_timeout of raft_install_snapshot(), seconds
#   BENCH_PORT_BASE=25510/25560 (a) base, (b) base+10..12, (c) base+21..23, (6) base+31..33,
#                              (7), (8) and (9) base+41..44;
#                              below Linux's ephemeral range (32768-60999), so no
#                              client connection of the run can hold a server's port
#   BENCH_OUT=bench/results (smoke: a scratch directory)
#   BENCH_PLOT=1/0             draw the PNG (gnuplot; installed with apt-get as root)
#   BENCH_KEEP=0               keep the scratch directory (data, logs)
#   BENCH_EXTRA_CONF           postgresql.conf lines for every server
#   RAFT_ELECTION_TIMEOUT_MIN/MAX, RAFT_HEARTBEAT_INTERVAL: raft_ext timing (see raftctl)
set -uo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RAFTCTL=$ROOT/scripts/raftctl
export RAFTCTL_NAME=scripts/raftctl
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
export PGBIN
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGSERVICE PGOPTIONS PGTARGETSESSIONATTRS 2>/dev/null || true

MODE=full
CHECK_FILE=
case "${1:-}" in
--smoke) MODE=smoke ;;
--check)
	MODE=check
	CHECK_FILE=${2:?--check needs a report file}
	;;
-h | --help)
	sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
	exit 0
	;;
'') ;;
*) echo "bench/run.sh: unknown argument $1 (--smoke, --check FILE, --help)" >&2; exit 2 ;;
esac

if [ "$MODE" = smoke ]; then
	DURATION=${BENCH_DURATION:-2}
	CLIENTS=${BENCH_CLIENTS:-1}
	WARMUP=${BENCH_WARMUP:-0}
	FO_ROUNDS=${BENCH_FAILOVER_ROUNDS:-1}
	FO_WRITERS=${BENCH_FAILOVER_WRITERS:-1}
	FO_STEADY=${BENCH_FAILOVER_STEADY:-0.5}
	FO_AFTER=0.2 FO_SETTLE=0.2
	CATCHUP=${BENCH_CATCHUP_ENTRIES:-160}
	VERIFY_MB=${BENCH_VERIFY_MB:-1}
	FOLLOWER_CLIENTS=${BENCH_FOLLOWER_CLIENTS-1}
	READ_CLIENTS=${BENCH_READ_CLIENTS-1}
	READ_ROWS=${BENCH_READ_ROWS:-1000}
	LOG_ENTRIES=${BENCH_LOG_ENTRIES-2000}
	LOG_KEEP=${BENCH_LOG_KEEP-0 500}
	LOG_CLIENTS=${BENCH_LOG_CLIENTS:-8}
	COMPACT_RUNS=${BENCH_COMPACT_RUNS:-1}
	COMPACT_CLIENTS=${BENCH_COMPACT_CLIENTS:-4}
	ADD_HISTORY=${BENCH_ADD_HISTORY:-500}
	ADD_RUN_S=${BENCH_ADD_RUN:-15}
	ADD_QUIET_S=${BENCH_ADD_QUIET:-3}
	ADD_CLIENTS=${BENCH_ADD_CLIENTS:-4}
	SNAP_MB=${BENCH_SNAPSHOT_MB:-2}
	SNAP_RUNS=${BENCH_SNAPSHOT_RUNS:-1}
	PORT_BASE=${BENCH_PORT_BASE:-25560}
	PLOT=${BENCH_PLOT:-0}
	export RAFT_WAIT_TIMEOUT=${RAFT_WAIT_TIMEOUT:-20}
	WAIT_S=20
else
	DURATION=${BENCH_DURATION:-20}
	CLIENTS=${BENCH_CLIENTS:-1 8 32}
	WARMUP=${BENCH_WARMUP:-3}
	FO_ROUNDS=${BENCH_FAILOVER_ROUNDS:-5}
	FO_WRITERS=${BENCH_FAILOVER_WRITERS:-2}
	FO_STEADY=${BENCH_FAILOVER_STEADY:-1.5}
	FO_AFTER=1 FO_SETTLE=0.5
	CATCHUP=${BENCH_CATCHUP_ENTRIES:-100000}
	VERIFY_MB=${BENCH_VERIFY_MB:-64}
	FOLLOWER_CLIENTS=${BENCH_FOLLOWER_CLIENTS-1 8}
	READ_CLIENTS=${BENCH_READ_CLIENTS-1 8}
	READ_ROWS=${BENCH_READ_ROWS:-10000}
	LOG_ENTRIES=${BENCH_LOG_ENTRIES-20000 100000}
	LOG_KEEP=${BENCH_LOG_KEEP-0 10000}
	LOG_CLIENTS=${BENCH_LOG_CLIENTS:-32}
	COMPACT_RUNS=${BENCH_COMPACT_RUNS:-3}
	COMPACT_CLIENTS=${BENCH_COMPACT_CLIENTS:-8}
	ADD_HISTORY=${BENCH_ADD_HISTORY:-20000}
	ADD_RUN_S=${BENCH_ADD_RUN:-60}
	ADD_QUIET_S=${BENCH_ADD_QUIET:-10}
	ADD_CLIENTS=${BENCH_ADD_CLIENTS:-8}
	SNAP_MB=${BENCH_SNAPSHOT_MB:-64}
	SNAP_RUNS=${BENCH_SNAPSHOT_RUNS:-3}
	PORT_BASE=${BENCH_PORT_BASE:-25510}
	PLOT=${BENCH_PLOT:-1}
	WAIT_S=60
fi
JOBS=${BENCH_JOBS:-2}
RUNS=${BENCH_RUNS:-1}
CONFIGS=${BENCH_CONFIGS-plain syncrep raft raft-route}
READ_NODES=${BENCH_READ_NODES-follower leader}
STMT_TIMEOUT=${BENCH_STATEMENT_TIMEOUT:-5s}
CATCHUP_TIMEOUT=${BENCH_CATCHUP_TIMEOUT:-900}
COMPACT_KEEP=${BENCH_COMPACT_KEEP-500}
[ "$COMPACT_KEEP" = 0 ] && COMPACT_KEEP=
ADD=${BENCH_ADD:-1}
SNAP_TIMEOUT=${BENCH_SNAPSHOT_TIMEOUT:-300}
PAYLOAD='raft_ext bench payload 0123456789'

PORT_PLAIN=$PORT_BASE
PORT_PRIMARY=$((PORT_BASE + 10))
PORT_RAFT=$((PORT_BASE + 21))
PORT_LOG=$((PORT_BASE + 31))
PORT_XC=$((PORT_BASE + 41))

label_of() {
	case "$1" in
	plain) echo "(a) plain" ;;
	syncrep) echo "(b) sync rep" ;;
	raft) echo "(c) raft_ext" ;;
	raft-follower) echo "(c) raft_ext, clients on a follower" ;;
	raft-route) echo "(d) raft_ext transparent mode" ;;
	logsize) echo "log size: the history's writes" ;;
	compact-quiet) echo "raft_ext, log_keep_entries = 0" ;;
	compact-busy) echo "raft_ext, log_keep_entries = $COMPACT_KEEP" ;;
	add-history) echo "member add: the history's writes" ;;
	read-*-*) local x=${1#read-}; echo "reads on the ${x%-*}, read_consistency = ${x##*-}" ;;
	*) echo "$1" ;;
	esac
}

# ---------------------------------------------------------------------------
# The report checker (also used by --smoke)

TABLE_HEADER='| configuration | clients | tps | avg latency (ms) | p99 latency (ms) |'
ROUTE_RATIO_HEADER='(d)/(c) transparent mode |'
READS_SECTION='## Reads: raft_ext.read_consistency'

check_report() { # FILE [CONFIGS] [NEED_FAILOVER] [NEED_CATCHUP] [NEED_FOLLOWER] [NEED_VERIFY] [NEED_READS] [NEED_LOG] [NEED_COMPACT] [NEED_ADD] [NEED_SNAPSHOT]
	local f=$1 cfgs=${2-plain syncrep raft raft-route} need_fo=${3:-0} need_cu=${4:-0} need_fw=${5:-0} need_ve=${6:-0} need_rd=${7:-0} need_lg=${8:-0} need_cp=${9:-0} need_ad=${10:-0} need_sn=${11:-0} c label rows bad=0 node keep
	[ -s "$f" ] || { echo "check: $f is missing or empty"; return 1; }
	[ -z "$cfgs" ] || grep -qF "$TABLE_HEADER" "$f" || { echo "check: no throughput table header in $f"; bad=1; }
	grep -q '^| PostgreSQL |' "$f" || { echo "check: the machine is not described (no PostgreSQL row)"; bad=1; }
	for c in $cfgs; do
		label=$(label_of "$c")
		rows=$(awk -F'|' -v l="$label" '
			{ for (i = 2; i <= NF; i++) gsub(/^ +| +$/, "", $i) }
			$2 == l && $3 ~ /^[0-9]+$/ && $4 ~ /^[0-9]+(\.[0-9]+)?$/ && $4 + 0 > 0 { n++ }
			END { print n + 0 }' "$f")
		if [ "$rows" -eq 0 ]; then
			echo "check: no row with a numeric tps for $label"
			bad=1
		fi
	done
	# (d)/(c): the last column of the ratio table
	if [[ " $cfgs " == *" raft "* && " $cfgs " == *" raft-route "* ]] && ! awk -F'|' -v h="$ROUTE_RATIO_HEADER" '
		index($0, h) { s = 1; next } s && !/^\|/ { s = 0 }
		s { v = $(NF - 1); gsub(/ /, "", v); if (v ~ /^[0-9]+(\.[0-9]+)?$/ && v + 0 > 0) ok = 1 }
		END { exit !ok }' "$f"; then
		echo "check: no numeric (d)/(c) ratio"
		bad=1
	fi
	if [ "$need_rd" = 1 ]; then
		grep -qF "$READS_SECTION" "$f" || { echo "check: no read-consistency section"; bad=1; }
		# | node | clients | local tps | local avg | linearizable tps | linearizable avg | ratio |
		for node in ${READ_NODES:-follower}; do
			awk -F'|' -v s0="$READS_SECTION" -v node="$node" '
				index($0, s0) == 1 { s = 1; next } /^## / { s = 0 }
				{ for (i = 2; i <= NF; i++) gsub(/^ +| +$/, "", $i) }
				s && NF == 9 && $2 == node && $3 ~ /^[0-9]+$/ {
					good = 1
					for (i = 4; i <= 8; i++) if ($i !~ /^[0-9]+(\.[0-9]+)?$/ || $i + 0 <= 0) good = 0
					if (good) ok = 1
				}
				END { exit !ok }' "$f" || { echo "check: no read-consistency row with numbers for the $node"; bad=1; }
		done
	fi
	if [ "$need_lg" = 1 ]; then
		grep -qF "$LOG_SECTION" "$f" || { echo "check: no log-size section"; bad=1; }
		# | written | keep | index | rows | MB | RssAnon | VmRSS | RssShmem | stop | up | loaded at | serving | loaded | RssAnon after |
		for keep in $LOG_KEEP; do
			for c in $LOG_ENTRIES; do
				awk -F'|' -v s0="$LOG_SECTION" -v h="$LOG_TABLE_HEADER" -v keep="$keep" -v n="$c" '
					index($0, s0) == 1 { s = 1; next } /^## / { s = 0 }
					s && index($0, h) == 1 { t = 1; next } s && t && !/^\|/ { t = 0 }
					{ for (i = 2; i <= NF; i++) gsub(/^ +| +$/, "", $i) }
					t && NF == 16 && $3 == keep && $2 ~ /^[0-9]+$/ && $2 + 0 >= n + 0 && !(n in seen) {
						seen[n] = 1
						good = $4 ~ /^[0-9]+$/ && $5 ~ /^[0-9]+$/ && $5 + 0 > 0 && $14 ~ /^[0-9]+ \(from [0-9]+\)$/
						for (i = 6; i <= 13; i++) if ($i !~ /^[0-9]+(\.[0-9]+)?$/) good = 0
						if ($6 + 0 <= 0 || $7 + 0 <= 0 || $13 + 0 <= 0 || $15 !~ /^[0-9]+(\.[0-9]+)?$/) good = 0
						# never compacting keeps every entry; compacting keeps fewer than were written
						if (keep == 0 && $5 + 0 < $2 + 0) good = 0
						if (keep > 0 && $5 + 0 >= $2 + 0) good = 0
						if (good) ok = 1
					}
					END { exit !ok }' "$f" || { echo "check: no log-size row with numbers for $c entries, log_keep_entries $keep"; bad=1; }
			done
			if [ "$keep" != 0 ] && [[ " $LOG_KEEP " == *" 0 "* ]] && ! awk -F'|' -v h="$LOG_RATIO_HEADER" -v keep="$keep" '
				index($0, h) == 1 { s = 1; next } s && !/^\|/ { s = 0 }
				{ for (i = 2; i <= NF; i++) gsub(/^ +| +$/, "", $i) }
				s && $3 == keep { good = 1; for (i = 4; i <= 9; i++) if ($i !~ /^[0-9]+(\.[0-9]+)?$/ || $i + 0 <= 0) good = 0; if (good) ok = 1 }
				END { exit !ok }' "$f"; then
				echo "check: no numeric log-size ratio for log_keep_entries $keep"
				bad=1
			fi
		done
	fi
	if [ "$need_cp" = 1 ]; then
		grep -qF "$COMPACT_SECTION" "$f" || { echo "check: no compaction-throughput section"; bad=1; }
		# | keep | runs | tps | avg | p99 | removed | rows at the end |: keep 0 removes nothing, the other keeps removing
		awk -F'|' -v s0="$COMPACT_SECTION" -v h="$COMPACT_TABLE_HEADER" '
			index($0, s0) == 1 { s = 1; next } /^## / { s = 0 }
			s && index($0, h) == 1 { t = 1; next } s && t && !/^\|/ { t = 0 }
			{ for (i = 2; i <= NF; i++) gsub(/^ +| +$/, "", $i) }
			t && NF == 9 && $2 ~ /^[0-9]+$/ {
				keep = $2 + 0
				good = $3 ~ /^[0-9]+$/ && $3 + 0 > 0 && $7 ~ /^[0-9]+$/ && $8 ~ /^[0-9]+$/
				for (i = 4; i <= 6; i++) if ($i !~ /^[0-9]+(\.[0-9]+)?$/ || $i + 0 <= 0) good = 0
				if (keep == 0 && $7 + 0 != 0) good = 0
				if (keep > 0 && ($7 + 0 <= 0 || $8 + 0 > 2 * keep + 200)) good = 0
				if (good) ok[keep == 0 ? "quiet" : "busy"] = 1
			}
			END { exit !(ok["quiet"] && ok["busy"]) }' "$f" || { echo "check: no compaction-throughput rows with numbers for both settings (or the compacting runs removed nothing)"; bad=1; }
		grep -Eq '^\(ii\)/\(i\) compacting / quiet: tps [0-9]+\.[0-9]+, p99 [0-9]+\.[0-9]+$' "$f" || { echo "check: no numeric compacting / quiet ratio"; bad=1; }
	fi
	if [ "$need_ad" = 1 ]; then
		grep -qF "$ADD_SECTION" "$f" || { echo "check: no member-add section"; bad=1; }
		grep -Eq '^during the add / quiet: tps [0-9]+\.[0-9]+$' "$f" || { echo "check: no numeric during-the-add / quiet ratio"; bad=1; }
		grep -Eq '^raftctl add: node 4 a voter after .*\(equal\)' "$f" || { echo "check: no member-add result with the rows equal"; bad=1; }
	fi
	if [ "$need_sn" = 1 ]; then
		grep -qF "$SNAP_SECTION" "$f" || { echo "check: no snapshot-install section"; bad=1; }
		grep -Eq '^snapshot install: [0-9]+(\.[0-9]+)? MB .* in [0-9]+\.[0-9]+ s \([0-9]+(\.[0-9]+)? MB/s\); pg_basebackup .* in [0-9]+\.[0-9]+ s \([0-9]+(\.[0-9]+)? MB/s' "$f" ||
			{ echo "check: no snapshot-install result with numbers"; bad=1; }
		grep -Eq '^online / physical: [0-9]+\.[0-9]+$' "$f" || { echo "check: no numeric online / physical ratio"; bad=1; }
		grep -Eq '^raft_install_snapshot\(\) returned log entry [0-9]+.*\(equal\)' "$f" || { echo "check: no snapshot-install result with the rows equal"; bad=1; }
	fi
	if [ "$need_fo" = 1 ] && ! grep -Eq '^kill → next acknowledged write: median [0-9]+ ms, worst [0-9]+ ms' "$f"; then
		echo "check: no failover summary with numbers"
		bad=1
	fi
	if [ "$need_fo" = 1 ] && grep -q 'INCONSISTENT' "$f"; then
		echo "check: the failover rounds found an inconsistency"
		bad=1
	fi
	if [ "$need_ve" = 1 ] && ! grep -Eq '^consistency check: [0-9.]+ MB in every node.s tables checked in [0-9.]+ s \([0-9]+ MB/s' "$f"; then
		echo "check: no consistency-check result with numbers"
		bad=1
	fi
	if [ "$need_cu" = 1 ] && ! grep -Eq '^catch-up: [0-9]+ entries applied in [0-9.]+ s' "$f"; then
		echo "check: no catch-up result with numbers"
		bad=1
	fi
	if [ "$need_fw" = 1 ] && ! awk '/^## Writes submitted on a follower/ { s = 1; next } /^## / { s = 0 }
		s && /^\| [0-9]+ \| [0-9]+(\.[0-9]+)? \|/ && $4 + 0 > 0 { ok = 1 } END { exit !ok }' FS=' ' "$f"; then
		echo "check: no follower-writes row with a numeric tps"
		bad=1
	fi
	[ "$bad" -eq 0 ] && echo "check: $f is well formed"
	return "$bad"
}

if [ "$MODE" = check ]; then
	check_report "$CHECK_FILE" "$CONFIGS"
	exit $?
fi

# ---------------------------------------------------------------------------
# Scratch directory, servers' OS user, clean-up

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*"; }
err() { printf '[%(%H:%M:%S)T] ERROR: %s\n' -1 "$*" >&2; }

if [ "$(id -u)" -eq 0 ]; then
	OWNER=${RAFT_PG_USER:-postgres}
	id "$OWNER" >/dev/null 2>&1 || { err "running as root, but there is no '$OWNER' user to run PostgreSQL as"; exit 1; }
else
	OWNER=$(id -un)
fi
SU=$OWNER # the bootstrap superuser initdb creates
DB=postgres

[ -x "$PGBIN/pgbench" ] && [ -x "$PGBIN/initdb" ] || { err "PostgreSQL 15 not found in $PGBIN"; exit 1; }

W=${BENCH_WORKDIR:-$(mktemp -d /tmp/raft_ext-bench.XXXXXX)} || exit 1
mkdir -p "$W"
chmod 0755 "$W"
[ "$(id -u)" -eq 0 ] && chown "$OWNER:" "$W"
mkdir -p "$W/pgbench" "$W/logs" "$W/failover"
[ "$(id -u)" -eq 0 ] && chown "$OWNER:" "$W/logs"

export RAFT_CLUSTER_DIR=$W/raft RAFT_BASE_PORT=$PORT_RAFT
STARTED=()
WRITERS=()
FAILED_PARTS=()
START_TIME=$SECONDS
LOAD_START=$(cut -d" " -f1-3 /proc/loadavg 2>/dev/null)

as_owner() {
	if [ "$(id -u)" -eq 0 ] && [ "$OWNER" != root ]; then
		(cd / && runuser -u "$OWNER" -- "$@")
	else
		(cd / && "$@")
	fi
}

pid_of_datadir() {
	local pid
	[ -r "$1/postmaster.pid" ] || return 1
	read -r pid <"$1/postmaster.pid" || return 1
	[ -n "$pid" ] && [ -r "/proc/$pid/stat" ] && ! grep -q ') Z' "/proc/$pid/stat" && echo "$pid"
}

stop_writers() {
	local p
	touch "$W/failover/stop" 2>/dev/null
	for p in "${WRITERS[@]}"; do
		wait "$p" 2>/dev/null
	done
	WRITERS=()
	rm -f "$W/failover/stop"
}

cleanup() {
	local rc=$? d pm f
	trap - EXIT INT TERM
	if [ "${#WRITERS[@]}" -gt 0 ]; then
		touch "$W/failover/stop" 2>/dev/null
		kill "${WRITERS[@]}" 2>/dev/null
		wait 2>/dev/null
	fi
	for d in "${STARTED[@]}"; do
		if pm=$(pid_of_datadir "$d"); then
			# shellcheck disable=SC2046
			as_owner "$PGBIN/pg_ctl" -D "$d" -m immediate -w -t 20 -s stop >/dev/null 2>&1 ||
				kill -9 "$pm" $(ps -o pid= --ppid "$pm") 2>/dev/null
		fi
	done
	if [ -f "$W/raft/cluster.env" ]; then
		for f in "$W"/raft/node*/server.log; do
			[ -f "$f" ] && cp "$f" "$W/logs/raft-$(basename "$(dirname "$f")").log"
		done
		"$RAFTCTL" destroy >/dev/null 2>&1 || err "raftctl destroy failed for $W/raft"
	fi
	for f in "$W"/raftlog-*/cluster.env "$W"/raftx-*/cluster.env; do
		[ -f "$f" ] && log_cluster_destroy "$(dirname "$f")"
	done
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		log "scratch directory kept: $W"
	elif [ "$rc" -ne 0 ] || [ "${#FAILED_PARTS[@]}" -gt 0 ]; then
		# keep the logs for a post-mortem, drop the data
		rm -rf "$W"/template "$W"/plain "$W"/primary "$W"/s1 "$W"/s2 "$W/raft" "$W/snapshot-basebackup"
		log "logs kept in $W (data removed)"
	else
		rm -rf "$W"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'err "interrupted"; exit 130' INT
trap 'err "terminated"; exit 143' TERM

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

q() { # PORT SQL: run SQL, unaligned tuples only, stop on error
	"$PGBIN/psql" -XAtq -v ON_ERROR_STOP=1 -d "host=127.0.0.1 port=$1 user=$SU dbname=$DB connect_timeout=10" -c "$2"
}

# ---------------------------------------------------------------------------
# Plain servers for (a) and (b)

COMMON_CONF="max_connections = 100
max_wal_size = 4GB
checkpoint_timeout = 30min
log_line_prefix = '%m [%p] %q%a '
${BENCH_EXTRA_CONF:-}"

make_template() {
	[ -f "$W/template/PG_VERSION" ] && return 0
	log "initdb (one template data directory, copied for every server)"
	as_owner "$PGBIN/initdb" -D "$W/template" -U "$SU" -A trust -E UTF8 --locale=C -N \
		>"$W/logs/initdb.log" 2>&1 || { cat "$W/logs/initdb.log" >&2; err "initdb failed"; return 1; }
}

new_datadir() { # DIR PORT
	local d=$1 port=$2
	port_free "$port" || { err "port $port on 127.0.0.1 is in use (set BENCH_PORT_BASE)"; return 1; }
	as_owner cp -a "$W/template" "$d" || return 1
	cat >>"$d/postgresql.conf" <<EOF

# ---- bench/run.sh ----
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$d'
$COMMON_CONF
EOF
	cat >"$d/pg_hba.conf" <<EOF
local   all             all                     trust
host    all             all     127.0.0.1/32    trust
local   replication     all                     trust
host    replication     all     127.0.0.1/32    trust
EOF
}

start_server() { # DIR NAME
	STARTED+=("$1")
	as_owner "$PGBIN/pg_ctl" -D "$1" -l "$W/logs/$2.log" -w -t 120 -s start || {
		err "$2 did not start:"
		tail -n 20 "$W/logs/$2.log" >&2
		return 1
	}
}

stop_server() { # DIR
	pid_of_datadir "$1" >/dev/null || return 0
	as_owner "$PGBIN/pg_ctl" -D "$1" -m fast -w -t 120 -s stop
}

CREATE_TABLE="CREATE TABLE bench_insert (run bigint NOT NULL, client int NOT NULL, n bigint NOT NULL, payload text NOT NULL, PRIMARY KEY (run, client, n))"

setup_plain() {
	make_template && new_datadir "$W/plain" "$PORT_PLAIN" && start_server "$W/plain" plain &&
		q "$PORT_PLAIN" "$CREATE_TABLE" && TARGET_PORT=$PORT_PLAIN
}
teardown_plain() { stop_server "$W/plain"; }

setup_syncrep() {
	local s port i n
	make_template && new_datadir "$W/primary" "$PORT_PRIMARY" || return 1
	cat >>"$W/primary/postgresql.conf" <<EOF
synchronous_standby_names = 'ANY 1 (s1, s2)'
synchronous_commit = remote_apply
EOF
	start_server "$W/primary" primary || return 1
	# both base backups at once, then both standbys
	local bpids=()
	for s in s1 s2; do
		as_owner "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$PORT_PRIMARY" -U "$SU" -D "$W/$s" -R -X stream -c fast \
			>"$W/logs/basebackup-$s.log" 2>&1 &
		bpids+=($!)
	done
	i=0
	for s in s1 s2; do
		wait "${bpids[$i]}" || { cat "$W/logs/basebackup-$s.log" >&2; err "pg_basebackup $s failed"; return 1; }
		i=$((i + 1))
		port=$((PORT_PRIMARY + i))
		port_free "$port" || { err "port $port in use"; return 1; }
		cat >>"$W/$s/postgresql.conf" <<EOF
# ---- standby $s ----
port = $port
unix_socket_directories = '$W/$s'
EOF
		echo "primary_conninfo = 'host=127.0.0.1 port=$PORT_PRIMARY user=$SU application_name=$s'" >>"$W/$s/postgresql.auto.conf"
		start_server "$W/$s" "$s" || return 1
	done
	for ((n = 0; n < 600; n++)); do
		[ "$(q "$PORT_PRIMARY" "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming' AND sync_state IN ('quorum', 'sync')" 2>/dev/null)" = 2 ] && break
		sleep 0.1
	done
	[ "$n" -lt 600 ] || { err "the standbys did not start streaming"; return 1; }
	SYNCREP_INFO=$(q "$PORT_PRIMARY" "SELECT string_agg(application_name || ' ' || state || ' ' || sync_state, ', ' ORDER BY application_name) FROM pg_stat_replication")
	log "synchronous replication: $SYNCREP_INFO"
	q "$PORT_PRIMARY" "$CREATE_TABLE" && TARGET_PORT=$PORT_PRIMARY
}
teardown_syncrep() { stop_server "$W/s1"; stop_server "$W/s2"; stop_server "$W/primary"; }

RAFT_OK=0
RAFT_LEADER=
setup_raft() {
	local new=0
	make_template || return 1
	if [ -f "$W/raft/cluster.env" ]; then
		"$RAFTCTL" start >/dev/null || return 1
	else
		new=1
		log "raftctl create 3 (ports $PORT_RAFT..$((PORT_RAFT + 2)))"
		RAFT_INITDB_TEMPLATE=$W/template RAFT_EXTRA_CONF=$COMMON_CONF \
			"$RAFTCTL" create 3 >"$W/logs/raftctl-create.log" 2>&1 || {
			cat "$W/logs/raftctl-create.log" >&2
			err "raftctl create failed"
			return 1
		}
		q "$PORT_RAFT" "SELECT 1" >/dev/null || return 1
	fi
	RAFT_LEADER=$("$RAFTCTL" leader --wait 30) || { err "no raft leader"; return 1; }
	log "raft_ext leader: node $RAFT_LEADER"
	# (c) and (d) share the cluster and its table
	if [ "$new" = 1 ]; then
		"$RAFTCTL" submit "$RAFT_LEADER" "$CREATE_TABLE" >/dev/null || { err "raft_submit(CREATE TABLE) failed"; return 1; }
	fi
	TARGET_PORT=$((PORT_RAFT + RAFT_LEADER - 1))
}
teardown_raft() { :; } # kept for the failover and catch-up parts

# (d): the same cluster (created here when (c) did not run), its leader
setup_raft_route() { setup_raft; }
teardown_raft_route() { :; }

# ---------------------------------------------------------------------------
# pgbench

SCRIPT_PLAIN=$W/insert.sql
SCRIPT_RAFT=$W/insert-raft.sql
SCRIPT_READ=$W/select.sql
READ_RUN=-1 # the read part's rows: bench_insert (run -1, client 0, n 1..READ_ROWS)
cat >"$SCRIPT_PLAIN" <<EOF
\\set n :n + 1
INSERT INTO bench_insert (run, client, n, payload) VALUES (:run, :client_id, :n, '$PAYLOAD');
EOF
cat >"$SCRIPT_RAFT" <<EOF
\\set n :n + 1
SELECT raft_submit('INSERT INTO bench_insert (run, client, n, payload) VALUES (:run, :client_id, :n, ''$PAYLOAD'')');
EOF
# \gset: a transaction whose SELECT finds no row is an error (the client aborts)
cat >"$SCRIPT_READ" <<EOF
\set k random(1, $READ_ROWS)
SELECT payload FROM bench_insert WHERE run = $READ_RUN AND client = 0 AND n = :k \gset
EOF

# workload CONFIG: sets WL_SCRIPT, WL_OPTS (more pgbench options) and
# WL_PGOPTIONS (the sessions' settings) for a configuration
workload() {
	WL_SCRIPT=$SCRIPT_PLAIN WL_OPTS=() WL_PGOPTIONS=
	case "$1" in
	raft | raft-follower | catchup | logsize | compact-* | add-history) WL_SCRIPT=$SCRIPT_RAFT ;;
	raft-route) WL_OPTS=(-M prepared) WL_PGOPTIONS='-c raft_ext.route_writes=on' ;;
	read-*-local | read-*-linearizable)
		WL_SCRIPT=$SCRIPT_READ WL_OPTS=(-M prepared) WL_PGOPTIONS="-c raft_ext.read_consistency=${1##*-}"
		;;
	esac
}

# count_rows PORT RUN: the rows a run inserted, as the node at PORT has them
count_rows() { q "$1" "SELECT count(*) FROM bench_insert WHERE run = $2"; }

RUN_SEQ=0
RUN_BASE=$(date +%s)
# run_pgbench CONFIG CLIENTS RUN_NO [-T SECONDS | -t TX]: appends a line to
# $W/results.tsv: config clients run tps avg_ms p99_ms transactions note
#
# The rows a write run inserted are counted afterwards on the node it ran on
# (for (d), after every node has applied the log, on every node): fewer than
# pgbench's transactions, or more, fail the run, as does pgbench's non-zero
# exit (a client aborted on an error): a write that failed, or was never
# made, must not pass for a fast one.
run_pgbench() {
	local cfg=$1 c=$2 r=$3 dir out tps n stats note='' run rows port i
	shift 3
	RUN_SEQ=$((RUN_SEQ + 1))
	run=$((RUN_BASE * 1000 + RUN_SEQ))
	dir=$W/pgbench/$cfg-c$c-r$r-$RUN_SEQ
	mkdir -p "$dir"
	workload "$cfg"
	(cd "$dir" && PGOPTIONS=$WL_PGOPTIONS "$PGBIN/pgbench" -n -f "$WL_SCRIPT" "${WL_OPTS[@]}" -c "$c" -j "$JOBS" "$@" \
		-D run=$run -D n=0 --log --log-prefix=tx \
		-h 127.0.0.1 -p "$TARGET_PORT" -U "$SU" "$DB" >out 2>err)
	local rc=$?
	out=$dir/out
	tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time).*/\1/p' "$out")
	n=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$out")
	if [ "$rc" -ne 0 ]; then
		note="pgbench exit $rc: $(grep -m1 -i 'error\|abort' "$dir/err" | cut -c1-160)"
		err "$(label_of "$cfg"), $c clients: $note"
	fi
	if [ "$WL_SCRIPT" != "$SCRIPT_READ" ] && [ -n "$n" ]; then
		port=$TARGET_PORT
		if [ "$cfg" = raft-route ]; then
			"$RAFTCTL" wait-caught-up "$WAIT_S" >/dev/null 2>&1 || note+="${note:+; }the nodes did not catch up within $WAIT_S s"
			port="$PORT_RAFT $((PORT_RAFT + 1)) $((PORT_RAFT + 2))"
		fi
		for i in $port; do
			rows=$(count_rows "$i" "$run" 2>&1)
			if [ "$rows" != "$n" ]; then
				note+="${note:+; }rows of the run on port $i: ${rows:0:120}, transactions: $n"
				err "$(label_of "$cfg"), $c clients: rows of the run on port $i: ${rows:0:160}, pgbench's transactions: $n"
			fi
		done
	fi
	# Per-transaction log: client tx_no latency_us script_no epoch epoch_us
	stats=$(cat "$dir"/tx.* 2>/dev/null | awk '$3 ~ /^[0-9]+$/ { print $3 }' | sort -n |
		awk '{ v[NR] = $1; s += $1 } END {
			if (NR == 0) { print "- -"; exit }
			k = int(NR * 0.99); if (k < NR * 0.99) k++; if (k < 1) k = 1
			printf "%.3f %.3f\n", s / NR / 1000, v[k] / 1000 }')
	rm -f "$dir"/tx.*
	[ -n "$tps" ] || tps=-
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$cfg" "$c" "$r" "$tps" "${stats% *}" "${stats#* }" "${n:-0}" "$note" >>"$W/results.tsv"
	log "$(label_of "$cfg"), $c client(s), run $r: tps $tps, avg ${stats% *} ms, p99 ${stats#* } ms${note:+ ($note)}"
	[ "$tps" != - ] && [ -z "$note" ]
}

warm_up() { # CONFIG CLIENTS: WARMUP seconds of the configuration's workload, not measured
	workload "$1"
	(cd "$W/pgbench" && PGOPTIONS=$WL_PGOPTIONS "$PGBIN/pgbench" -n -f "$WL_SCRIPT" "${WL_OPTS[@]}" \
		-c "$2" -j "$JOBS" -T "$WARMUP" -D run=0 -D n="$RANDOM$RANDOM" \
		-h 127.0.0.1 -p "$TARGET_PORT" -U "$SU" "$DB" >/dev/null 2>&1)
}

bench_config() {
	local cfg=$1 r c warm=8
	log "== $(label_of "$cfg") =="
	if ! "setup_${cfg//-/_}"; then
		err "$(label_of "$cfg"): set-up failed"
		FAILED_PARTS+=("$cfg set-up")
		for c in $CLIENTS; do printf '%s\t%s\t1\t-\t-\t-\t0\tset-up failed\n' "$cfg" "$c" >>"$W/results.tsv"; done
		"teardown_${cfg//-/_}" 2>/dev/null
		return 1
	fi
	if [ "$WARMUP" -gt 0 ]; then
		for c in $CLIENTS; do [ "$c" -lt "$warm" ] && warm=$c; done
		warm_up "$cfg" "$warm"
	fi
	for ((r = 1; r <= RUNS; r++)); do
		for c in $CLIENTS; do
			run_pgbench "$cfg" "$c" "$r" -T "$DURATION" || FAILED_PARTS+=("$cfg c=$c")
		done
	done
	[ "$cfg" = raft ] && [ -n "$FOLLOWER_CLIENTS" ] && bench_follower
	"teardown_${cfg//-/_}"
}

# The same workload with the clients connected to a follower: raft_submit
# forwards each statement to the leader and returns once the follower has
# applied it too.
bench_follower() {
	local leader_port=$TARGET_PORT follower=$((RAFT_LEADER % 3 + 1)) r c
	TARGET_PORT=$((PORT_RAFT + follower - 1))
	log "== (c) raft_ext, clients on follower node $follower =="
	for ((r = 1; r <= RUNS; r++)); do
		for c in $FOLLOWER_CLIENTS; do
			run_pgbench raft-follower "$c" "$r" -T "$DURATION" || FAILED_PARTS+=("raft-follower c=$c")
		done
	done
	TARGET_PORT=$leader_port
}

# ---------------------------------------------------------------------------
# Reads: raft_ext.read_consistency = local against linearizable, a point
# SELECT on a follower (a ReadIndex round trip to the leader before each
# transaction's first read) and on the leader (which confirms it still
# leads), both modes in turn at each client count

READS_DONE=0
bench_reads() {
	local leader lport node port r c mode rows
	leader=$("$RAFTCTL" leader --wait 30) || { err "reads: no leader"; return 1; }
	lport=$((PORT_RAFT + leader - 1))
	log "== reads: raft_ext.read_consistency local / linearizable, $READ_ROWS rows =="
	q "$lport" "SELECT raft_submit('INSERT INTO bench_insert SELECT $READ_RUN, 0, g, ''$PAYLOAD'' FROM generate_series(1, $READ_ROWS) g ON CONFLICT DO NOTHING')" >/dev/null ||
		{ err "reads: cannot insert the rows"; return 1; }
	"$RAFTCTL" wait-caught-up "$WAIT_S" >/dev/null || { err "reads: the nodes did not catch up"; return 1; }
	READS_DONE=1
	for node in $READ_NODES; do
		case "$node" in
		leader) port=$lport ;;
		follower) port=$((PORT_RAFT + leader % 3)) ;; # node leader % 3 + 1
		*) err "reads: unknown node '$node' (follower, leader)"; return 1 ;;
		esac
		rows=$(count_rows "$port" "$READ_RUN")
		[ "$rows" = "$READ_ROWS" ] || { err "reads: the $node (port $port) has ${rows:-?} of the $READ_ROWS rows"; return 1; }
		TARGET_PORT=$port
		log "reads on the $node (port $port)"
		[ "$WARMUP" -gt 0 ] && warm_up "read-$node-local" "${READ_CLIENTS##* }"
		for ((r = 1; r <= RUNS; r++)); do
			for c in $READ_CLIENTS; do
				for mode in local linearizable; do
					run_pgbench "read-$node-$mode" "$c" "$r" -T "$DURATION" || FAILED_PARTS+=("reads $node $mode c=$c")
				done
			done
		done
	done
}

# ---------------------------------------------------------------------------
# Consistency check (raft_verify): how fast every node checksums, and what
# the writes lose while checks run back to back

VERIFY_LINE=
VERIFY_DETAIL=
bench_verify() {
	local leader port rows t0 idx secs mb tps_quiet tps_busy pending verifier
	leader=$("$RAFTCTL" leader --wait 30) || { err "verify: no leader"; return 1; }
	port=$((PORT_RAFT + leader - 1))
	TARGET_PORT=$port
	log "== consistency check over ${VERIFY_MB} MB =="
	# about 1 kB a row; inserted by the entries themselves (every node builds its own copy)
	rows=$((VERIFY_MB * 1024))
	q "$port" "SELECT raft_submit('CREATE TABLE bench_verify (id int PRIMARY KEY, pad text)')" >/dev/null || return 1
	local chunk=20000 i=1
	while [ "$i" -le "$rows" ]; do
		PGOPTIONS="-c statement_timeout=0" q "$port" "SELECT raft_submit('INSERT INTO bench_verify SELECT g, repeat(md5(g::text), 31) FROM generate_series($i, $((i + chunk - 1 < rows ? i + chunk - 1 : rows))) g')" >/dev/null || return 1
		i=$((i + chunk))
	done
	"$RAFTCTL" wait-caught-up 120 >/dev/null || { err "verify: not caught up"; return 1; }
	mb=$(q "$port" "SELECT round(sum(pg_table_size(c.oid)) / 1048576.0, 1) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname = 'public'")
	t0=$EPOCHREALTIME
	idx=$(q "$port" "SELECT raft_verify()") || return 1
	for _ in $(seq 1 $((WAIT_S * 20))); do
		pending=$(q "$port" "SELECT count(*) FILTER (WHERE consistent IS NOT TRUE) + (count(*) = 0)::int FROM raft_consistency WHERE log_index = $idx")
		[ "$pending" = 0 ] && break
		sleep 0.05
	done
	secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
	[ "$pending" = 0 ] || { err "verify: the check did not complete, or found differences"; return 1; }
	VERIFY_LINE="consistency check: $mb MB in every node's tables checked in $secs s ($(awk -v m="$mb" -v s="$secs" 'BEGIN { printf "%.0f", m / s }') MB/s, every node at once), every table consistent"
	# the (c) workload, 8 clients, quiet and then with checks back to back
	tps_quiet=$(cd "$W/pgbench" && "$PGBIN/pgbench" -n -f "$SCRIPT_RAFT" -c 8 -j "$JOBS" -T "$DURATION" \
		-D run=$((RUN_BASE * 1000 + 900001)) -D n=0 -h 127.0.0.1 -p "$port" -U "$SU" "$DB" 2>/dev/null |
		sed -n 's/^tps = \([0-9.]*\) (without initial connection time).*/\1/p')
	(
		while [ ! -e "$W/verify-stop" ]; do
			PGOPTIONS="-c statement_timeout=0" q "$port" "SELECT raft_verify()" >/dev/null 2>&1
			sleep 0.2
		done
	) &
	verifier=$!
	tps_busy=$(cd "$W/pgbench" && "$PGBIN/pgbench" -n -f "$SCRIPT_RAFT" -c 8 -j "$JOBS" -T "$DURATION" \
		-D run=$((RUN_BASE * 1000 + 900002)) -D n=0 -h 127.0.0.1 -p "$port" -U "$SU" "$DB" 2>/dev/null |
		sed -n 's/^tps = \([0-9.]*\) (without initial connection time).*/\1/p')
	touch "$W/verify-stop"
	wait "$verifier"
	VERIFY_DETAIL="writes (raft_submit INSERT, 8 clients, $DURATION s) while consistency checks of the ${mb} MB ran back to back: ${tps_busy:-?} tps, against ${tps_quiet:-?} tps without: ratio $(awk -v a="${tps_busy:-0}" -v b="${tps_quiet:-0}" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')"
	log "$VERIFY_LINE"
	log "$VERIFY_DETAIL"
	q "$port" "SELECT raft_submit('DROP TABLE bench_verify')" >/dev/null
}

# ---------------------------------------------------------------------------
# Failover

# writer ROUND W: one write per new connection, to the nodes in turn (a libpq
# multi-host string: a node that is down is skipped at connect time), until
# $W/failover/stop exists.  One line per write:
#   id start end outcome term port detail
writer() {
	local round=$1 w=$2 k=0 id out rc t0 t1 outcome term port detail a b c hosts ports
	local logf=$W/failover/round$round-writer$w.log
	: >"$logf"
	while [ ! -e "$W/failover/stop" ]; do
		id=$((round * 100000000 + w * 10000000 + k))
		a=$((PORT_RAFT + (k + w) % 3)) b=$((PORT_RAFT + (k + w + 1) % 3)) c=$((PORT_RAFT + (k + w + 2) % 3))
		hosts=127.0.0.1,127.0.0.1,127.0.0.1 ports=$a,$b,$c
		t0=$EPOCHREALTIME
		out=$(PGOPTIONS="-c statement_timeout=$STMT_TIMEOUT" timeout 30 "$PGBIN/psql" -XAtq -v ON_ERROR_STOP=1 -v VERBOSITY=verbose \
			-d "host=$hosts port=$ports user=$SU dbname=$DB connect_timeout=2" \
			-c "SELECT s.term, inet_server_port() FROM raft_submit('INSERT INTO bench_failover VALUES ($id, $round, $w)') s" 2>&1)
		rc=$?
		t1=$EPOCHREALTIME
		term=- port=- detail=-
		if [ "$rc" -eq 0 ] && [[ "$out" =~ ^([0-9]+)\|([0-9]+) ]]; then
			outcome=ack term=${BASH_REMATCH[1]} port=${BASH_REMATCH[2]}
		elif [ "$rc" -eq 124 ]; then
			outcome=unknown detail=client-timeout
		elif [[ "$out" == "psql: error: connection to server"* ]]; then
			# never connected (every node refused, or was starting up): nothing was sent
			outcome=failed detail=no-connection
		elif [[ "$out" == *"ERROR:  40003"* ]]; then
			outcome=unknown detail=40003
		elif [[ "$out" == *"server closed the connection"* || "$out" == *"connection to server was lost"* ||
			"$out" == *"terminating connection"* || "$out" == *"no connection to the server"* ||
			"$out" == *"SSL SYSCALL"* || "$out" == *"FATAL:"* ]]; then
			outcome=unknown detail=connection-lost
		elif [[ "$out" =~ ERROR:\ \ ([0-9A-Z]{5}): ]]; then
			outcome=failed detail=${BASH_REMATCH[1]}
		elif [[ "$out" == *"could not connect"* || "$out" == *"Connection refused"* || "$out" == *"connection to server at"*"failed"* ]]; then
			outcome=failed detail=no-connection
		else
			outcome=unknown detail=unclassified
		fi
		printf '%s %s %s %s %s %s %s\n' "$id" "${t0/,/.}" "${t1/,/.}" "$outcome" "$term" "$port" "$detail" >>"$logf"
		if [ "$outcome" != ack ]; then
			printf '%s\n' "--- $id: $out" >>"$logf.errors"
		fi
		k=$((k + 1))
	done
}

FO_ROWS=()
FO_NEXT_ACK=()
FO_ELECTED=()
FO_ONE_WRITE=()
FO_TOTAL_ACK=0 FO_TOTAL_FAILED=0 FO_TOTAL_UNKNOWN=0 FO_TOTAL_UNKNOWN_APPLIED=0
FO_INCONSISTENT=0

bench_failover() {
	local round leader old_term out kill_epoch new_leader elected deadline next_ack steady w i port logs
	local acked failed unknown unknown_applied identical missing failed_present nodes_equal
	log "== failover: $FO_ROUNDS round(s) of kill -9 of the leader under $FO_WRITERS write loop(s) =="
	[ -f "$W/raft/cluster.env" ] || { err "failover: no raft cluster"; return 1; }
	"$RAFTCTL" submit 1 "CREATE TABLE bench_failover (id bigint PRIMARY KEY, round int NOT NULL, writer int NOT NULL)" >/dev/null ||
		{ err "failover: cannot create the table"; return 1; }
	for ((round = 1; round <= FO_ROUNDS; round++)); do
		out=$("$RAFTCTL" wait-caught-up "$WAIT_S") || { err "round $round: the cluster did not catch up"; return 1; }
		leader=${out%% *}
		old_term=$(q "$((PORT_RAFT + leader - 1))" "SELECT term FROM raft_status") || return 1
		for ((w = 0; w < FO_WRITERS; w++)); do
			writer "$round" "$w" &
			WRITERS+=($!)
		done
		sleep "$FO_STEADY"
		out=$("$RAFTCTL" kill "$leader" --time 2>&1)
		printf '%s\n' "$out" >"$W/failover/round$round-kill.txt"
		kill_epoch=$(sed -n 's/.*kill_epoch=\([0-9.]*\).*/\1/p' <<<"$out")
		new_leader=$(sed -n 's/.*new_leader=\([0-9a-z]*\).*/\1/p' <<<"$out")
		elected=$(sed -n 's/.*elected_ms=\([0-9a-z]*\).*/\1/p' <<<"$out")
		[ -n "$kill_epoch" ] || { err "round $round: kill failed: $out"; stop_writers; return 1; }
		# the next acknowledged write committed by a new leader (a term above the old one)
		deadline=$((SECONDS + 30))
		next_ack=
		while [ -z "$next_ack" ] && [ "$SECONDS" -lt "$deadline" ]; do
			sleep 0.05
			next_ack=$(cat "$W"/failover/round"$round"-writer*.log | awk -v k="$kill_epoch" -v t="$old_term" '
				$4 == "ack" && $5 > t && $3 > k { d = ($3 - k) * 1000; if (m == "" || d < m) m = d }
				END { if (m != "") printf "%d", m + 0.5 }')
		done
		# the baseline for next ack: how long one write took before the kill
		steady=$(cat "$W"/failover/round"$round"-writer*.log | awk -v k="$kill_epoch" '
			$4 == "ack" && $3 < k { printf "%.1f\n", ($3 - $2) * 1000 }' | median | awk '$1 != "-" { printf "%d", $1 + 0.5 }')
		sleep "$FO_AFTER"
		"$RAFTCTL" start "$leader" >/dev/null || { err "round $round: node $leader did not restart"; stop_writers; return 1; }
		sleep "$FO_SETTLE"
		stop_writers
		"$RAFTCTL" wait-caught-up "$((WAIT_S * 2))" >/dev/null || { err "round $round: the cluster did not catch up after the restart"; return 1; }
		# Verify: the same rows on every node, every acknowledged write present, no failed one.
		logs=$W/failover/round$round
		cat "$logs"-writer*.log >"$logs.all"
		awk '$4 == "ack" { print $1 }' "$logs.all" | sort >"$logs.acked"
		awk '$4 == "failed" { print $1 }' "$logs.all" | sort >"$logs.failed"
		awk '$4 == "unknown" { print $1 }' "$logs.all" | sort >"$logs.unknown"
		acked=$(wc -l <"$logs.acked") failed=$(wc -l <"$logs.failed") unknown=$(wc -l <"$logs.unknown")
		nodes_equal=1
		for ((i = 1; i <= 3; i++)); do
			port=$((PORT_RAFT + i - 1))
			q "$port" "SELECT id FROM bench_failover WHERE round = $round" | sort >"$logs.node$i" ||
				{ nodes_equal=0; err "round $round: cannot read node $i"; }
			[ "$i" -gt 1 ] && ! cmp -s "$logs.node1" "$logs.node$i" && nodes_equal=0
		done
		missing=$(comm -23 "$logs.acked" "$logs.node1" | wc -l)
		failed_present=$(comm -12 "$logs.failed" "$logs.node1" | wc -l)
		unknown_applied=$(comm -12 "$logs.unknown" "$logs.node1" | wc -l)
		identical=yes
		[ "$nodes_equal" -eq 1 ] || identical=NO
		if [ "$nodes_equal" -ne 1 ] || [ "$missing" -ne 0 ] || [ "$failed_present" -ne 0 ]; then
			FO_INCONSISTENT=$((FO_INCONSISTENT + 1))
			err "round $round: INCONSISTENT: nodes equal=$nodes_equal, acknowledged missing=$missing, failed present=$failed_present"
		fi
		FO_TOTAL_ACK=$((FO_TOTAL_ACK + acked)) FO_TOTAL_FAILED=$((FO_TOTAL_FAILED + failed))
		FO_TOTAL_UNKNOWN=$((FO_TOTAL_UNKNOWN + unknown)) FO_TOTAL_UNKNOWN_APPLIED=$((FO_TOTAL_UNKNOWN_APPLIED + unknown_applied))
		FO_NEXT_ACK+=("${next_ack:-none}")
		FO_ELECTED+=("${elected:-none}")
		[ -n "$steady" ] && FO_ONE_WRITE+=("$steady")
		FO_ROWS+=("| $round | $leader | ${new_leader:-none} | ${elected:-none} | ${next_ack:-none (30 s)} | ${steady:--} | $acked | $failed | $unknown ($unknown_applied applied) | $identical | $((acked - missing))/$acked | $failed_present |")
		log "round $round: killed node $leader, new leader ${new_leader:-none} elected after ${elected:-?} ms, next acknowledged write after ${next_ack:-none} ms; writes: $acked acknowledged, $failed failed, $unknown unknown; nodes identical: $identical, acknowledged missing: $missing"
	done
	[ "$FO_INCONSISTENT" -eq 0 ]
}

# ---------------------------------------------------------------------------
# Catch-up

CATCHUP_LINE=
CATCHUP_DETAIL=
bench_catchup() {
	local leader follower c per lport fport before commit t0 t_up t1 applied n rows_l rows_f commit_s out
	log "== catch-up: a follower stopped while $CATCHUP entries are committed =="
	[ -f "$W/raft/cluster.env" ] || { err "catch-up: no raft cluster"; return 1; }
	out=$("$RAFTCTL" wait-caught-up "$WAIT_S") || return 1
	leader=${out%% *}
	follower=1
	[ "$leader" = 1 ] && follower=2
	lport=$((PORT_RAFT + leader - 1)) fport=$((PORT_RAFT + follower - 1))
	before=$(q "$fport" "SELECT last_applied FROM raft_status") || return 1
	"$RAFTCTL" stop "$follower" >/dev/null || return 1
	c=8
	[ "$CATCHUP" -lt 8 ] && c=$CATCHUP
	per=$(((CATCHUP + c - 1) / c))
	TARGET_PORT=$lport
	t0=$EPOCHREALTIME
	run_pgbench catchup "$c" 1 -t "$per" || { err "catch-up: the writes failed"; return 1; }
	commit_s=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	commit=$(q "$lport" "SELECT commit_index FROM raft_status") || return 1
	t0=$EPOCHREALTIME
	"$RAFTCTL" start "$follower" >/dev/null || return 1
	t_up=$EPOCHREALTIME
	n=0
	while :; do
		applied=$(q "$fport" "SELECT last_applied FROM raft_status" 2>/dev/null)
		[ -n "$applied" ] && [ "$applied" -ge "$commit" ] && break
		n=$((n + 1))
		if [ "$(awk -v a="$t_up" -v b="$EPOCHREALTIME" 'BEGIN { print int(b - a) }')" -ge "$CATCHUP_TIMEOUT" ]; then
			err "catch-up: node $follower applied ${applied:-?} of $commit after $CATCHUP_TIMEOUT s"
			return 1
		fi
		sleep 0.05
	done
	t1=$EPOCHREALTIME
	rows_l=$(q "$lport" "SELECT count(*) FROM bench_insert")
	rows_f=$(q "$fport" "SELECT count(*) FROM bench_insert")
	local behind=$((commit - before)) secs total rate
	secs=$(awk -v a="$t_up" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	total=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	rate=$(awk -v n="$behind" -v s="$secs" 'BEGIN { if (s > 0) printf "%d", n / s; else print "-" }')
	CATCHUP_LINE="catch-up: $behind entries applied in $secs s after the restarted node accepted connections ($total s from the start command; $rate entries/s)"
	CATCHUP_DETAIL="node $follower stopped at last_applied $before; $((c * per)) entries committed by the two others in $commit_s s (pgbench -c $c -t $per, raft_submit INSERT); leader commit_index $commit; rows: leader $rows_l, restarted node $rows_f$([ "$rows_l" = "$rows_f" ] && echo ' (equal)' || echo ' (DIFFERENT)')"
	log "$CATCHUP_LINE"
	log "$CATCHUP_DETAIL"
	[ "$rows_l" = "$rows_f" ]
}

# ---------------------------------------------------------------------------
# Log size: the Raft worker's memory and a restart against the history's
# length, with compaction (raft_ext.log_keep_entries) and without

LOG_SECTION='## Log size: memory and restart'
LOG_TABLE_HEADER='| entries written | log_keep_entries | last log index | raft_ext.log rows | raft_ext.log size (MB) | Raft worker RssAnon (MB) | Raft worker VmRSS (MB) | of which RssShmem (MB) | stop (s) | start → accepting connections (s) | start → log loaded (s) | start → serving (s) | entries loaded at start | RssAnon after the restart (MB) |'
LOG_RATIO_HEADER='| entries written | log_keep_entries | log rows / 0 | log size / 0 | RssAnon / 0 | start → log loaded / 0 | start → serving / 0 | RssAnon after the restart / 0 |'

# the log part's clusters: raftctl on $W/raftlog-KEEP (ports PORT_LOG..+2)
lctl() { RAFT_CLUSTER_DIR=$LOG_DIR RAFT_BASE_PORT=$PORT_LOG "$RAFTCTL" "$@"; }

log_cluster_destroy() { # DIR: keep the servers' logs, remove the rest
	local d=$1 f
	for f in "$d"/node*/server.log; do
		[ -f "$f" ] && cp "$f" "$W/logs/$(basename "$d")-$(basename "$(dirname "$f")").log"
	done
	RAFT_CLUSTER_DIR=$d "$RAFTCTL" destroy >/dev/null 2>&1 || err "raftctl destroy failed for $d"
}

# raft_worker_pid DATADIR: the node's Raft worker (its process title)
raft_worker_pid() {
	local pm
	pm=$(pid_of_datadir "$1") || return 1
	ps -o pid=,args= --ppid "$pm" | awk '/raft_ext raft worker/ { print $1; found = 1; exit } END { exit !found }'
}

# worker_mem PID: "RssAnon VmRSS RssShmem" in MB (/proc/PID/status)
worker_mem() {
	awk '$1 ~ /^(VmRSS|RssAnon|RssShmem):$/ { v[$1] = $2 }
		END { if (!("RssAnon:" in v)) exit 1; printf "%.1f %.1f %.1f\n", v["RssAnon:"] / 1024, v["VmRSS:"] / 1024, v["RssShmem:"] / 1024 }' "/proc/$1/status"
}

# log_state PORT: "commit_index last_applied log_start_index worker_state"
log_state() {
	q "$1" "SELECT s.commit_index, s.last_applied, a.log_start_index, s.worker_state FROM raft_status s, raft_ext.apply_state a" 2>/dev/null | tr '|' ' '
}

# log_settle LEADER_PORT: every node has applied the leader's commit index,
# and where each node's log starts has not moved for a second: the compaction
# entries the writes triggered are all applied.  (The commit index itself
# never rests: an idle leader still appends an outcome check a second.)
log_settle() {
	local lport=$1 deadline=$((SECONDS + WAIT_S * 3)) all cur prev='' since=$EPOCHREALTIME commit p ok
	while :; do
		commit=$(log_state "$lport" | awk '{ print $1 }')
		all=$(for p in $PORT_LOG $((PORT_LOG + 1)) $((PORT_LOG + 2)); do log_state "$p"; echo; done)
		ok=$(awk -v c="${commit:-x}" 'NF { n++; if (c == "x" || $2 < c + 0 || $4 != "running") bad = 1 } END { print (n == 3 && !bad) ? 1 : 0 }' <<<"$all")
		cur=$(awk 'NF { printf "%s ", $3 }' <<<"$all")
		if [ "$cur" != "$prev" ] || [ "$ok" != 1 ]; then
			prev=$cur since=$EPOCHREALTIME
		elif awk -v a="$since" -v b="$EPOCHREALTIME" 'BEGIN { exit !(b - a >= 1) }'; then
			return 0
		fi
		[ "$SECONDS" -lt "$deadline" ] || { err "log size: the nodes did not settle within $((WAIT_S * 3)) s (leader's commit index ${commit:-?}; commit, applied, log start, worker: $(awk 'NF' <<<"$all" | tr '\n' ';'))"; return 1; }
		sleep 0.1
	done
}

# bench_log_keep KEEP: a fresh cluster with raft_ext.log_keep_entries = KEEP,
# its history written up to each of LOG_ENTRIES in turn, measured at each
bench_log_keep() {
	local keep=$1 leader lport follower fport fdata count written=0 delta per c=$LOG_CLIENTS
	local pid mem mem2 rows t0 t_stop t_up t1 line loaded load_s idx lstart commit applied wstate stop_s up_s serve_s
	LOG_DIR=$W/raftlog-$keep
	log "== log size: raft_ext.log_keep_entries = $keep, histories of $LOG_ENTRIES entries =="
	RAFT_INITDB_TEMPLATE=$W/template RAFT_EXTRA_CONF="$COMMON_CONF
raft_ext.log_keep_entries = $keep" lctl create 3 >"$W/logs/raftctl-create-log$keep.log" 2>&1 || {
		cat "$W/logs/raftctl-create-log$keep.log" >&2
		err "log size: raftctl create failed"
		return 1
	}
	leader=$(lctl leader --wait 30) || { err "log size: no leader"; return 1; }
	lctl submit "$leader" "$CREATE_TABLE" >/dev/null || { err "log size: raft_submit(CREATE TABLE) failed"; return 1; }
	for count in $LOG_ENTRIES; do
		leader=$(lctl leader --wait 30) || { err "log size: no leader"; return 1; }
		lport=$((PORT_LOG + leader - 1))
		follower=$((leader % 3 + 1))
		fport=$((PORT_LOG + follower - 1)) fdata=$LOG_DIR/node$follower/data
		delta=$((count - written))
		if [ "$delta" -gt 0 ]; then
			[ "$delta" -lt "$LOG_CLIENTS" ] && c=$delta || c=$LOG_CLIENTS
			per=$(((delta + c - 1) / c))
			TARGET_PORT=$lport
			run_pgbench logsize "$c" 1 -t "$per" || { err "log size: the writes failed"; return 1; }
			written=$((written + c * per))
		fi
		log_settle "$lport" || return 1
		# the rows, and the table's size on disk with its index and TOAST (dead rows until a vacuum)
		rows=$(q "$fport" "SELECT count(*) || ' ' || round(pg_total_relation_size('raft_ext.log') / 1048576.0, 1) FROM raft_ext.log") || return 1
		read -r idx _ lstart _ <<<"$(log_state "$fport")"
		pid=$(raft_worker_pid "$fdata") && mem=$(worker_mem "$pid") || { err "log size: no Raft worker process under node $follower's postmaster"; return 1; }
		# the restart: stop -m fast, start, serving
		t0=$EPOCHREALTIME
		lctl stop "$follower" >/dev/null || { err "log size: node $follower did not stop"; return 1; }
		t_stop=$EPOCHREALTIME
		lctl start "$follower" >/dev/null || { err "log size: node $follower did not start"; return 1; }
		t_up=$EPOCHREALTIME
		while :; do
			read -r _ applied _ wstate <<<"$(log_state "$fport")"
			commit=$(log_state "$lport" | awk '{ print $1 }')
			[ "${wstate:-}" = running ] && [ -n "$commit" ] && [ "${applied:-0}" -ge "$commit" ] && break
			if awk -v a="$t_up" -v b="$EPOCHREALTIME" -v m="$CATCHUP_TIMEOUT" 'BEGIN { exit !(b - a >= m) }'; then
				err "log size: node $follower not serving $CATCHUP_TIMEOUT s after its start (worker ${wstate:-?}, applied ${applied:-?} of ${commit:-?})"
				return 1
			fi
			sleep 0.02
		done
		t1=$EPOCHREALTIME
		line=$(grep "raft_ext: node $follower started:" "$LOG_DIR/node$follower/server.log" | tail -n 1)
		loaded=$(sed -n 's/.*, \([0-9]*\) log entries (from index \([0-9]*\)).*/\1 (from \2)/p' <<<"$line")
		# when the Raft worker had loaded its log: the line's time (log_line_prefix %m)
		load_s=$(date -d "$(awk '{ print $1, $2, $3 }' <<<"$line")" +%s.%N 2>/dev/null |
			awk -v a="$t_stop" '$1 > a { printf "%.2f", $1 - a; ok = 1 } END { if (!ok) print "-" }')
		mem2=-
		pid=$(raft_worker_pid "$fdata") && mem2=$(worker_mem "$pid" | awk '{ print $1 }')
		stop_s=$(awk -v a="$t0" -v b="$t_stop" 'BEGIN { printf "%.2f", b - a }')
		up_s=$(awk -v a="$t_stop" -v b="$t_up" 'BEGIN { printf "%.2f", b - a }')
		serve_s=$(awk -v a="$t_stop" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
		# count keep written index rows size_mb rssanon vmrss shmem stop up load serve loaded rssanon_after log_start
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$count" "$keep" "$written" "$idx" ${rows} \
			${mem} "$stop_s" "$up_s" "$load_s" "$serve_s" "${loaded:--}" "$mem2" "$lstart" >>"$W/logsize.tsv"
		log "log size: $written entries written, log_keep_entries $keep: last index $idx, raft_ext.log rows and MB $rows (from index $((lstart + 1))) on node $follower; its Raft worker RssAnon/VmRSS/RssShmem ${mem// //} MB; restart: stop $stop_s s, accepting connections after $up_s s, log loaded after $load_s s, serving after $serve_s s; loaded ${loaded:-?} entries; RssAnon after $mem2 MB"
	done
	log_cluster_destroy "$LOG_DIR"
}

bench_logsize() {
	local keep rc=0
	make_template || return 1
	: >"$W/logsize.tsv"
	# the other parts' servers would compete for the two cores and the disk
	[ -f "$W/raft/cluster.env" ] && "$RAFTCTL" stop >/dev/null 2>&1
	for keep in $LOG_KEEP; do
		bench_log_keep "$keep" || { rc=1; FAILED_PARTS+=("log size, log_keep_entries $keep"); }
		[ -f "$W/raftlog-$keep/cluster.env" ] && log_cluster_destroy "$W/raftlog-$keep"
	done
	return "$rc"
}

# ---------------------------------------------------------------------------
# Throughput while compaction runs, and while a member is added: each on a
# fresh three-node cluster of its own (raftctl on $W/raftx-NAME, ports
# PORT_X..PORT_X+3), the other parts' servers stopped

xctl() { RAFT_CLUSTER_DIR=$X_DIR RAFT_BASE_PORT=$PORT_X "$RAFTCTL" "$@"; }

# x_cluster NAME KEEP: the cluster, its leader's node number in X_LEADER,
# TARGET_PORT the leader's port, bench_insert created
x_cluster() {
	local name=$1 keep=$2
	make_template || return 1
	[ -f "$W/raft/cluster.env" ] && "$RAFTCTL" stop >/dev/null 2>&1
	X_DIR=$W/raftx-$name
	log "raftctl create 3 for \"$name\" (ports $PORT_X..$((PORT_X + 2)), raft_ext.log_keep_entries = $keep)"
	RAFT_INITDB_TEMPLATE=$W/template RAFT_EXTRA_CONF="$COMMON_CONF
raft_ext.log_keep_entries = $keep" xctl create 3 >"$W/logs/raftctl-create-$name.log" 2>&1 || {
		cat "$W/logs/raftctl-create-$name.log" >&2
		err "$name: raftctl create failed"
		return 1
	}
	X_LEADER=$(xctl leader --wait 30) || { err "$name: no leader"; return 1; }
	xctl submit "$X_LEADER" "$CREATE_TABLE" >/dev/null || { err "$name: raft_submit(CREATE TABLE) failed"; return 1; }
	TARGET_PORT=$((PORT_X + X_LEADER - 1))
}

# x_set_keep KEEP: raft_ext.log_keep_entries on every node (ALTER SYSTEM, a
# reload), until every node's new sessions show it
x_set_keep() {
	local i port n
	for i in 1 2 3; do
		port=$((PORT_X + i - 1))
		q "$port" "ALTER SYSTEM SET raft_ext.log_keep_entries = $1" && q "$port" "SELECT pg_reload_conf()" >/dev/null || return 1
	done
	for i in 1 2 3; do
		port=$((PORT_X + i - 1))
		for ((n = 0; n < 100; n++)); do
			[ "$(q "$port" "SHOW raft_ext.log_keep_entries")" = "$1" ] && break
			sleep 0.05
		done
		[ "$n" -lt 100 ] || { err "node $i does not show raft_ext.log_keep_entries = $1"; return 1; }
	done
	sleep 0.2 # the workers reload at their next loop
}

# x_log PORT: "log_start_index rows_of_raft_ext.log last_applied"
x_log() { q "$1" "SELECT a.log_start_index, (SELECT count(*) FROM raft_ext.log), s.last_applied FROM raft_ext.apply_state a, raft_status s" | tr '|' ' '; }

# x_compacted KEEP: wait (bounded) until every node's log holds at most
# 2 x KEEP + 100 entries.  The leader decides on compaction after it applies
# entries: an idle cluster is nudged with a write now and then.
X_NUDGE=0
x_compacted() {
	local keep=$1 deadline=$((SECONDS + WAIT_S * 3)) i st all start rows applied
	while :; do
		all=1 st=
		for i in 1 2 3; do
			read -r start rows applied <<<"$(x_log $((PORT_X + i - 1)))"
			st+="node $i: log from $((${start:-0} + 1)), $rows rows, applied ${applied:-?}; "
			[ -n "$applied" ] && [ $((applied - start)) -le $((2 * keep + 100)) ] || all=0
		done
		[ "$all" = 1 ] && return 0
		[ "$SECONDS" -lt "$deadline" ] || { err "compaction did not catch up within $((WAIT_S * 3)) s: $st"; return 1; }
		X_NUDGE=$((X_NUDGE + 1))
		q "$TARGET_PORT" "SELECT raft_submit('INSERT INTO bench_insert VALUES (-2, 0, $X_NUDGE, ''nudge'')')" >/dev/null
		sleep 0.3
	done
}

# one measured run of the compaction part; appends to $W/compact.tsv:
#   keep run removed_during_the_run log_rows_at_the_end
x_compact_run() { # KEEP RUN
	local keep=$1 r=$2 cfg=compact-quiet s0 s1 rows i
	[ "$keep" -gt 0 ] && cfg=compact-busy
	x_set_keep "$keep" || return 1
	if [ "$keep" -gt 0 ]; then x_compacted "$keep" || return 1; fi
	# every run starts from vacuumed tables: none pays for the deletes of the one before
	for i in 1 2 3; do
		PGOPTIONS="-c statement_timeout=0" q $((PORT_X + i - 1)) "VACUUM raft_ext.log" && q $((PORT_X + i - 1)) "CHECKPOINT" || return 1
	done
	read -r s0 _ <<<"$(x_log "$TARGET_PORT")"
	run_pgbench "$cfg" "$X_CLIENTS" "$r" -T "$DURATION" || return 1
	read -r s1 rows _ <<<"$(x_log "$TARGET_PORT")"
	printf '%s\t%s\t%s\t%s\n' "$keep" "$r" "$((s1 - s0))" "$rows" >>"$W/compact.tsv"
	log "log_keep_entries $keep, run $r: the leader removed $((s1 - s0)) log rows during the run; $rows rows at its end"
}

bench_compaction() {
	local r rc=0
	log "== throughput while compaction runs: log_keep_entries 0 and $COMPACT_KEEP, $X_CLIENTS clients, $COMPACT_RUNS run(s) each =="
	: >"$W/compact.tsv"
	PORT_X=$PORT_XC
	x_cluster compact 0 || return 1
	[ "$WARMUP" -gt 0 ] && warm_up compact-quiet "$X_CLIENTS"
	# runs alternate which setting goes first: a drift over the part (the
	# table grows) does not favour either
	for ((r = 1; r <= COMPACT_RUNS; r++)); do
		if [ $((r % 2)) = 1 ]; then
			x_compact_run 0 "$r" && x_compact_run "$COMPACT_KEEP" "$r" || { rc=1; break; }
		else
			x_compact_run "$COMPACT_KEEP" "$r" && x_compact_run 0 "$r" || { rc=1; break; }
		fi
	done
	COMPACT_DONE=1
	log_cluster_destroy "$X_DIR"
	return "$rc"
}

# The member-add part: a fresh cluster (log_keep_entries = 0: a new member
# needs the whole log, there are no snapshots yet) with ADD_HISTORY entries,
# the (c) workload running for ADD_RUN_S seconds, raftctl add after
# ADD_QUIET_S; tps and p99 in the quiet window (from 1 s after the start to
# the add), during the add, and after it, from pgbench's per-transaction log.
ADD_LINE=
ADD_DETAIL=
ADD_CUT=0
ADD_ROWS=()
bench_addnode() {
	local dir run per c=$X_CLIENTS t_start t_a0 t_a1 pid rc out voter n rows4 rowsl wname wa wb history
	log "== throughput while a member is added: $ADD_HISTORY entries of history, $X_CLIENTS clients for $ADD_RUN_S s, raftctl add after $ADD_QUIET_S s =="
	PORT_X=$PORT_XC
	x_cluster add 0 || return 1
	if [ "$ADD_HISTORY" -gt 0 ]; then
		per=$(((ADD_HISTORY + c - 1) / c))
		run_pgbench add-history "$c" 1 -t "$per" || { err "add: the history's writes failed"; return 1; }
	fi
	xctl wait-caught-up "$WAIT_S" >/dev/null || { err "add: the cluster did not catch up"; return 1; }
	history=$(q "$TARGET_PORT" "SELECT commit_index FROM raft_status")
	RUN_SEQ=$((RUN_SEQ + 1))
	run=$((RUN_BASE * 1000 + RUN_SEQ))
	dir=$W/pgbench/add-$RUN_SEQ
	mkdir -p "$dir"
	t_start=$EPOCHREALTIME
	(cd "$dir" && "$PGBIN/pgbench" -n -f "$SCRIPT_RAFT" -c "$c" -j "$JOBS" -T "$ADD_RUN_S" \
		-D run=$run -D n=0 --log --log-prefix=tx -h 127.0.0.1 -p "$TARGET_PORT" -U "$SU" "$DB" >out 2>err) &
	pid=$!
	sleep "$ADD_QUIET_S"
	t_a0=$EPOCHREALTIME
	out=$(RAFT_INITDB_TEMPLATE=$W/template RAFT_WAIT_TIMEOUT=$((WAIT_S * 2)) timeout $((WAIT_S * 4)) \
		env RAFT_CLUSTER_DIR="$X_DIR" RAFT_BASE_PORT="$PORT_X" "$RAFTCTL" add 2>&1)
	rc=$?
	t_a1=$EPOCHREALTIME
	printf '%s\n' "$out" >"$W/logs/raftctl-add.log"
	wait "$pid"
	local prc=$?
	[ "$rc" = 0 ] || { err "add: raftctl add failed (exit $rc): $(tail -n 3 <<<"$out")"; return 1; }
	[ "$prc" = 0 ] || err "add: pgbench exit $prc: $(grep -m1 -i 'error\|abort' "$dir/err" | cut -c1-160)"
	voter=$(sed -n 's/.*a voter \(.*\) after the start.*/\1/p' <<<"$out" | tail -n 1)
	n=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$dir/out")
	# every node, the new one included, holds the run's rows
	out=$(xctl wait-caught-up "$WAIT_S") || { err "add: the four nodes did not catch up"; return 1; }
	rowsl=$(count_rows "$TARGET_PORT" "$run") rows4=$(count_rows $((PORT_X + 3)) "$run")
	# windows: [start + 1 s, add), [add start, add end), [add end, end of the run],
	# each cut at the run's end (its last transaction's)
	# tx log: client tx_no latency_us script_no epoch epoch_us (the transaction's end)
	ADD_ROWS=()
	local w t_end
	t_end=$(cat "$dir"/tx.* 2>/dev/null | awk '{ t = $5 + $6 / 1e6; if (t > m) m = t } END { printf "%.6f", m }')
	clip_end() { awk -v a="$1" -v b="$t_end" 'BEGIN { printf "%.6f", (a < b) ? a : b }'; }
	ADD_CUT=$(awk -v a="$t_a1" -v b="$t_end" 'BEGIN { print (a > b) ? 1 : 0 }')
	for w in "quiet (before the add)|$(awk -v a="$t_start" 'BEGIN { printf "%.3f", a + 1 }')|$(clip_end "$t_a0")" \
		"during raftctl add|$t_a0|$(clip_end "$t_a1")" \
		"after the add (4 members)|$t_a1|$t_end"; do
		IFS='|' read -r wname wa wb <<<"$w"
		ADD_ROWS+=("| $wname | $(cat "$dir"/tx.* 2>/dev/null | awk -v a="$wa" -v b="$wb" '
			{ t = $5 + $6 / 1e6 } t >= a && t < b { print $3 }' | sort -n | awk -v a="$wa" -v b="$wb" '
			{ v[NR] = $1; s += $1 }
			END {
				d = b - a
				if (NR == 0 || d <= 0) { printf "%.1f | 0 | - | -", (d > 0 ? d : 0); exit }
				k = int(NR * 0.99); if (k < NR * 0.99) k++; if (k < 1) k = 1
				printf "%.1f | %d | %.1f | %.3f", d, NR, NR / d, v[k] / 1000 }') |")
	done
	rm -f "$dir"/tx.*
	ADD_LINE="raftctl add: node 4 a voter after ${voter:-?} (raftctl's own figure), the whole command $(awk -v a="$t_a0" -v b="$t_a1" 'BEGIN { printf "%.1f", b - a }') s; the run's rows: leader $rowsl, node 4 $rows4, pgbench's transactions ${n:-?}$([ "$rowsl" = "$rows4" ] && [ "$rowsl" = "$n" ] && echo ' (equal)' || echo ' (DIFFERENT)')"
	[ "$ADD_CUT" = 1 ] && ADD_LINE+="; the add outlasted the write run (BENCH_ADD_RUN): its window is cut at the run's end"
	ADD_DETAIL="the leader's commit index ${history:-?} before the run; $c clients on the leader (node $X_LEADER) for $ADD_RUN_S s, raftctl add started $ADD_QUIET_S s in; pgbench exit $prc"
	log "$ADD_LINE"
	printf '%s\n' "${ADD_ROWS[@]}" | while read -r l; do log "add window $l"; done
	log_cluster_destroy "$X_DIR"
	[ "$rowsl" = "$rows4" ] && [ "$rowsl" = "$n" ] && [ "$prc" = 0 ]
}

raftctl_has_add() { "$RAFTCTL" help 2>/dev/null | grep -Eq '^ *raftctl add( |$)'; }

# The snapshot part: a fresh cluster (ports PORT_X..PORT_X+2) whose database
# holds about SNAP_MB MB; raft_install_snapshot() on a follower, then
# pg_basebackup of the same member (the leader), both timed.
SNAP_SECTION='## Snapshot install'
SNAP_LINE=
SNAP_RATIO=
SNAP_DETAIL=
SNAP_STATE=off
# snapshot_online RUN: raft_install_snapshot() on the follower (SNAP_FPORT), timed;
# the follower then caught up with the leader (SNAP_LPORT) before the next copy
snapshot_online() {
	local r=$1 t0 idx rc secs n commit applied
	# the previous install's writes are not this one's to flush
	q "$SNAP_FPORT" "CHECKPOINT" || return 1
	t0=$EPOCHREALTIME
	idx=$(PGOPTIONS="-c statement_timeout=${SNAP_TIMEOUT}s" timeout $((SNAP_TIMEOUT + 30)) "$PGBIN/psql" -XAtq -v ON_ERROR_STOP=1 -v VERBOSITY=verbose \
		-d "host=127.0.0.1 port=$SNAP_FPORT user=$SU dbname=$DB connect_timeout=10" -c "SELECT raft_install_snapshot()" 2>"$W/logs/snapshot-install.err")
	rc=$?
	secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
	if [ "$rc" -ne 0 ] || ! [[ "$idx" =~ ^[0-9]+$ ]]; then
		err "snapshot: raft_install_snapshot() on port $SNAP_FPORT failed (exit $rc): $(head -c 400 "$W/logs/snapshot-install.err")"
		return 1
	fi
	for ((n = 0; n < WAIT_S * 10; n++)); do
		commit=$(q "$SNAP_LPORT" "SELECT commit_index FROM raft_status" 2>/dev/null)
		applied=$(q "$SNAP_FPORT" "SELECT last_applied FROM raft_status WHERE worker_state = 'running' AND apply_worker_state = 'running'" 2>/dev/null)
		[ -n "$commit" ] && [ -n "$applied" ] && [ "$applied" -ge "$commit" ] && break
		sleep 0.1
	done
	printf '%s\t%s\t%s\n' "$r" "$secs" "$idx" >>"$W/snapshot-online.tsv"
	log "snapshot install, run $r: raft_install_snapshot() returned log entry $idx after $secs s"
}

# snapshot_physical RUN: pg_basebackup of the leader into a scratch directory, timed
snapshot_physical() {
	local r=$1 bb=$W/snapshot-basebackup t0 secs bb_mb
	rm -rf "$bb"
	t0=$EPOCHREALTIME
	as_owner "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$SNAP_LPORT" -U "$SU" -D "$bb" -X stream -c fast >"$W/logs/snapshot-basebackup.log" 2>&1 ||
		{ err "snapshot: pg_basebackup failed: $(tail -n 3 "$W/logs/snapshot-basebackup.log")"; rm -rf "$bb"; return 1; }
	secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
	bb_mb=$(du -sk "$bb" | awk '{ printf "%.1f", $1 / 1024 }')
	rm -rf "$bb"
	printf '%s\t%s\t%s\n' "$r" "$secs" "$bb_mb" >>"$W/snapshot-physical.tsv"
	log "snapshot install, run $r: pg_basebackup copied $bb_mb MB in $secs s"
}

bench_snapshot() {
	local lport fport follower rows chunk i r mb secs idx bb_secs bb_mb line sums_l sums_f state applied commit n
	log "== snapshot install: a follower copies the leader's database (about $SNAP_MB MB) with raft_install_snapshot(), against pg_basebackup =="
	PORT_X=$PORT_XC
	x_cluster snapshot 0 || return 1
	lport=$TARGET_PORT
	if [ "$(q "$lport" "SELECT count(*) FROM pg_proc WHERE proname = 'raft_install_snapshot'")" = 0 ]; then
		SNAP_STATE=no-function
		log "snapshot install: skipped, the installed raft_ext has no raft_install_snapshot()"
		log_cluster_destroy "$X_DIR"
		return 0
	fi
	SNAP_STATE=ran
	follower=$((X_LEADER % 3 + 1))
	fport=$((PORT_X + follower - 1))
	SNAP_LPORT=$lport SNAP_FPORT=$fport
	# pgbench_accounts' shape: about 6,600 rows a MB with the primary key;
	# written by the entries themselves, 50,000 rows an entry
	rows=$((SNAP_MB * 6600))
	q "$lport" "SELECT raft_submit('CREATE TABLE bench_snapshot (aid int PRIMARY KEY, bid int NOT NULL, abalance int NOT NULL, filler char(84))')" >/dev/null ||
		{ err "snapshot: cannot create the table"; return 1; }
	chunk=50000 i=1
	while [ "$i" -le "$rows" ]; do
		PGOPTIONS="-c statement_timeout=0" q "$lport" "SELECT raft_submit('INSERT INTO bench_snapshot SELECT g, (g - 1) / 100000 + 1, 0, '''' FROM generate_series($i, $((i + chunk - 1 < rows ? i + chunk - 1 : rows))) g')" >/dev/null ||
			{ err "snapshot: the rows could not be written"; return 1; }
		i=$((i + chunk))
	done
	xctl wait-caught-up "$((WAIT_S * 2))" >/dev/null || { err "snapshot: the cluster did not catch up"; return 1; }
	# neither copy pays for hint bits or a checkpoint backlog
	for i in 1 2 3; do
		PGOPTIONS="-c statement_timeout=0" q $((PORT_X + i - 1)) "VACUUM (ANALYZE) bench_snapshot" && q $((PORT_X + i - 1)) "CHECKPOINT" ||
			{ err "snapshot: VACUUM / CHECKPOINT failed on node $i"; return 1; }
	done
	mb=$(q "$lport" "SELECT round(sum(pg_total_relation_size(c.oid)) / 1048576.0, 1) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'raft_ext') AND n.nspname !~ '^pg_'") || return 1
	: >"$W/snapshot-online.tsv"
	: >"$W/snapshot-physical.tsv"
	for ((r = 1; r <= SNAP_RUNS; r++)); do
		if [ $((r % 2)) = 1 ]; then
			snapshot_online "$r" && snapshot_physical "$r" || return 1
		else
			snapshot_physical "$r" && snapshot_online "$r" || return 1
		fi
	done
	# the follower took part again, with the leader's rows
	for ((n = 0; n < WAIT_S * 10; n++)); do
		commit=$(q "$lport" "SELECT commit_index FROM raft_status" 2>/dev/null)
		read -r state applied <<<"$(q "$fport" "SELECT replace(worker_state || '/' || apply_worker_state, ' ', '_'), last_applied FROM raft_status" 2>/dev/null | tr '|' ' ')"
		[ "${state:-}" = running/running ] && [ -n "$commit" ] && [ "${applied:-0}" -ge "$commit" ] && break
		sleep 0.1
	done
	sums_l=$(q "$lport" "SELECT count(*) || ' rows, sum ' || sum(aid::bigint) FROM bench_snapshot")
	sums_f=$(q "$fport" "SELECT count(*) || ' rows, sum ' || sum(aid::bigint) FROM bench_snapshot")
	# snapshot-online.tsv: run seconds index; snapshot-physical.tsv: run seconds MB
	secs=$(awk -F'\t' '{ print $2 }' "$W/snapshot-online.tsv" | median)
	idx=$(awk -F'\t' 'END { print $3 }' "$W/snapshot-online.tsv")
	bb_secs=$(awk -F'\t' '{ print $2 }' "$W/snapshot-physical.tsv" | median)
	bb_mb=$(awk -F'\t' '{ print $3 }' "$W/snapshot-physical.tsv" | median)
	line=$(grep "raft_ext: node $follower installed a snapshot" "$X_DIR/node$follower/server.log" | tail -n 1 | sed 's/.*raft_ext: node/node/')
	SNAP_LINE="snapshot install: $mb MB (the replicated database's tables and their indexes) installed on a follower with raft_install_snapshot() in $(fmt "$secs" 2) s ($(awk -v m="$mb" -v s="$secs" 'BEGIN { printf "%.1f", (s > 0) ? m / s : 0 }') MB/s); pg_basebackup of the same member (the leader), the same MB in $(fmt "$bb_secs" 2) s ($(awk -v m="$mb" -v s="$bb_secs" 'BEGIN { printf "%.1f", (s > 0) ? m / s : 0 }') MB/s; it copied $bb_mb MB, the whole data directory with its WAL: $(awk -v m="$bb_mb" -v s="$bb_secs" 'BEGIN { printf "%.1f", (s > 0) ? m / s : 0 }') MB/s of files)$([ "$SNAP_RUNS" -gt 1 ] && echo "; medians of $SNAP_RUNS runs")"
	SNAP_RATIO="online / physical: $(awk -v a="$secs" -v b="$bb_secs" 'BEGIN { if (a > 0) printf "%.2f", b / a; else print "-" }')"
	SNAP_DETAIL="raft_install_snapshot() returned log entry $idx (the last run); node $follower's server log: ${line:-(no line)}; afterwards it was ${state:-?} at last_applied ${applied:-?} (the leader's commit index ${commit:-?}); bench_snapshot on the leader: $sums_l, on node $follower: $sums_f$([ -n "$sums_l" ] && [ "$sums_l" = "$sums_f" ] && echo ' (equal)' || echo ' (DIFFERENT)'). Each run (online s, physical s): $(paste "$W/snapshot-online.tsv" "$W/snapshot-physical.tsv" | awk -F'\t' '{ printf "%s%s: %.2f, %.2f", (NR > 1 ? "; " : ""), $1, $2, $5 }')"
	log "$SNAP_LINE"
	log "$SNAP_RATIO"
	log "$SNAP_DETAIL"
	log_cluster_destroy "$X_DIR"
	[ -n "$sums_l" ] && [ "$sums_l" = "$sums_f" ] && [ "${state:-}" = running/running ]
}

# ---------------------------------------------------------------------------
# Report

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# metric CONFIG CLIENTS COLUMN: the median over runs (column 4 tps, 5 avg, 6 p99)
metric() {
	awk -F'\t' -v c="$1" -v n="$2" -v k="$3" '$1 == c && $2 == n && $k != "-" { print $k }' "$W/results.tsv" | median
}

fmt() { # NUMBER DECIMALS
	case "$1" in '' | - | *[!0-9.]*) echo "-" ;; *) printf "%.${2}f" "$1" ;; esac
}

ratio() {
	case "$1$2" in *-* | '') echo "-" ;; *) awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }' ;; esac
}

# the log-size part's section (logsize.tsv: count keep written index rows
# size_mb rssanon vmrss shmem stop up load serve loaded rssanon_after log_start)
write_log_section() {
	local t=$W/logsize.tsv
	echo "$LOG_SECTION"
	echo
	echo "For each raft_ext.log_keep_entries setting ($LOG_KEEP; 0 never compacts) a fresh three-node cluster, the other parts' servers stopped, is written a history of raft_submit INSERTs ((c)'s workload, pgbench -t, $LOG_CLIENTS clients), in steps up to each count ($LOG_ENTRIES). At each count, once every node has applied the leader's commit index and where each node's log starts has not moved for a second (the compaction entries applied): the rows of raft_ext.log on a follower, its size on disk (pg_total_relation_size: heap, index and TOAST; deleted rows count until a vacuum) and the resident memory of its Raft worker (/proc/PID/status: RssAnon is the process's own memory, where the in-memory log is; VmRSS adds the mapped files and RssShmem, the shared memory — shared_buffers, raft_ext's queues — it has touched, which is not its own). Then that follower is restarted: pg_ctl stop -m fast, start, and polled every 20 ms until it serves (raft_status.worker_state = 'running', last_applied at the leader's commit index); *entries loaded* is from its log line \"raft_ext: node N started: ..., M log entries (from index I)\", *log loaded* that line's time (the Raft worker has read its log); RssAnon after is its new Raft worker's, once serving. One run per point."
	echo
	if [ ! -s "$t" ]; then
		echo "log size: not measured (see the log)"
		echo
		return
	fi
	echo "$LOG_TABLE_HEADER"
	echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $3, $2, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15 }' "$t"
	echo
	if [[ " $LOG_KEEP " == *" 0 "* ]] && [ -n "$(awk -F'\t' '$2 != 0' "$t")" ]; then
		echo "Each setting against 0 (never compact) at the same count (below 1: compaction makes it smaller / faster):"
		echo
		echo "$LOG_RATIO_HEADER"
		echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
		awk -F'\t' '
			function r(a, b) { return (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b + 0 > 0) ? sprintf("%.2f", a / b) : "-" }
			$2 == 0 { rows[$1] = $5; size[$1] = $6; anon[$1] = $7; load[$1] = $12; serve[$1] = $13; after[$1] = $15; next }
			{ k[++n] = $0 }
			END {
				for (i = 1; i <= n; i++) {
					split(k[i], f, "\t")
					if (!(f[1] in rows)) continue
					printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", f[3], f[2], r(f[5], rows[f[1]]), r(f[6], size[f[1]]), r(f[7], anon[f[1]]), r(f[12], load[f[1]]), r(f[13], serve[f[1]]), r(f[15], after[f[1]])
				}
			}' "$t"
		echo
	fi
}

# the compaction part's section (compact.tsv: keep run removed rows_at_the_end;
# results.tsv: compact-quiet / compact-busy)
COMPACT_SECTION='## Throughput while compaction runs'
COMPACT_TABLE_HEADER='| raft_ext.log_keep_entries | runs | tps | avg latency (ms) | p99 latency (ms) | log rows removed during a run | raft_ext.log rows at its end |'
write_compact_section() {
	local cfg keep tq tb pq pb r
	echo "$COMPACT_SECTION"
	echo
	echo "One fresh three-node cluster; (c)'s workload (raft_submit INSERT, $COMPACT_CLIENTS clients on the leader, pgbench -T $DURATION) with raft_ext.log_keep_entries = 0 (nothing is removed) and = $COMPACT_KEEP (the leader posts a compaction entry every $((COMPACT_KEEP / 4 > 0 ? COMPACT_KEEP / 4 : 1)) applied entries or so, and every node deletes those rows of raft_ext.log in log order while the writes go on), set with ALTER SYSTEM and a reload on every node. Before each compacting run the log is brought down to about 2 x $COMPACT_KEEP entries, so the run measures steady compaction, not the quiet run's backlog; before every run each node's raft_ext.log is vacuumed (VACUUM, CHECKPOINT), so that no run pays for the deletes of the run before it. $COMPACT_RUNS run(s) of each, alternating which goes first; medians over the runs. *removed*: how far the leader's log start moved during the run."
	echo
	if [ ! -s "$W/compact.tsv" ]; then
		echo "throughput while compaction runs: not measured (see the log)"
		echo
		return
	fi
	echo "$COMPACT_TABLE_HEADER"
	echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	for keep in 0 "$COMPACT_KEEP"; do
		cfg=compact-quiet
		[ "$keep" != 0 ] && cfg=compact-busy
		echo "| $keep | $(awk -F'\t' -v k="$keep" '$1 == k' "$W/compact.tsv" | wc -l) | $(fmt "$(metric "$cfg" "$COMPACT_CLIENTS" 4)" 1) | $(fmt "$(metric "$cfg" "$COMPACT_CLIENTS" 5)" 3) | $(fmt "$(metric "$cfg" "$COMPACT_CLIENTS" 6)" 3) | $(awk -F'\t' -v k="$keep" '$1 == k { print $3 }' "$W/compact.tsv" | median | awk '$1 != "-" { printf "%d", $1 + 0.5 }') | $(awk -F'\t' -v k="$keep" '$1 == k { print $4 }' "$W/compact.tsv" | median | awk '$1 != "-" { printf "%d", $1 + 0.5 }') |"
	done
	echo
	tq=$(metric compact-quiet "$COMPACT_CLIENTS" 4) tb=$(metric compact-busy "$COMPACT_CLIENTS" 4)
	pq=$(metric compact-quiet "$COMPACT_CLIENTS" 6) pb=$(metric compact-busy "$COMPACT_CLIENTS" 6)
	echo "(ii)/(i) compacting / quiet: tps $(ratio "$tb" "$tq"), p99 $(ratio "$pb" "$pq")"
	echo
	echo "Each run: $(for r in $(seq 1 "$COMPACT_RUNS"); do
		printf 'run %s: keep 0 %s tps p99 %s ms, keep %s %s tps p99 %s ms, %s rows removed; ' "$r" \
			"$(fmt "$(awk -F'\t' -v r="$r" '$1 == "compact-quiet" && $3 == r { print $4 }' "$W/results.tsv")" 1)" \
			"$(fmt "$(awk -F'\t' -v r="$r" '$1 == "compact-quiet" && $3 == r { print $6 }' "$W/results.tsv")" 3)" "$COMPACT_KEEP" \
			"$(fmt "$(awk -F'\t' -v r="$r" '$1 == "compact-busy" && $3 == r { print $4 }' "$W/results.tsv")" 1)" \
			"$(fmt "$(awk -F'\t' -v r="$r" '$1 == "compact-busy" && $3 == r { print $6 }' "$W/results.tsv")" 3)" \
			"$(awk -F'\t' -v r="$r" -v k="$COMPACT_KEEP" '$1 == k && $2 == r { print $3 }' "$W/compact.tsv")"
	done | sed 's/; $//')"
	echo
}

write_snapshot_section() {
	echo "$SNAP_SECTION"
	echo
	if [ "$SNAP_STATE" = no-function ]; then
		echo "Not measured: the installed raft_ext has no raft_install_snapshot()."
		echo
		return
	fi
	echo "A fresh three-node cluster whose replicated database holds a pgbench_accounts-like table of about $SNAP_MB MB (written through the log in entries of 50,000 rows, so every node built its own copy; then VACUUM and CHECKPOINT on every node). Timed, one after the other: SELECT raft_install_snapshot() on a follower (the leader's database copied online at the leader's applied index, inside the running server: pg_dump of the schema, COPY of every table, indexes built, in one transaction), then pg_basebackup of the same member (the leader) into a scratch directory (-X stream -c fast, as README's physical copy; fsynced). $SNAP_RUNS run(s) of both, alternating which goes first (after each install the follower catches up before the next copy); medians. MB/s over the same MB for both (the tables of the replicated database with their indexes and TOAST); the ratio is the online install's rate over the physical copy's (below 1: slower)."
	echo
	echo "${SNAP_LINE:-snapshot install: not measured (see the log)}"
	echo
	[ -n "$SNAP_RATIO" ] && echo "$SNAP_RATIO" && echo
	[ -n "$SNAP_DETAIL" ] && echo "$SNAP_DETAIL" && echo
}

ADD_SECTION='## Throughput while a member is added'
ADD_TABLE_HEADER='| window | length (s) | transactions | tps | p99 latency (ms) |'
write_add_section() {
	local v tq ta
	echo "$ADD_SECTION"
	echo
	if [ "$ADD_STATE" = no-raftctl-add ]; then
		echo "Not measured: scripts/raftctl has no add command."
		echo
		return
	fi
	echo "A fresh three-node cluster (raft_ext.log_keep_entries = 0: a new member receives the whole log) with $ADD_HISTORY entries of history; (c)'s workload ($ADD_CLIENTS clients on the leader, pgbench -T $ADD_RUN_S) running while \`raftctl add\` makes a fourth node (data directory copied from a template, started, CREATE EXTENSION, raft_add_node on the leader, caught up from the log as a learner, promoted to voter), started $ADD_QUIET_S s into the run. Per window, from pgbench's per-transaction log (by each transaction's end time): the quiet window is from 1 s after the start to the add. One run."
	echo
	if [ "${#ADD_ROWS[@]}" -eq 0 ]; then
		echo "throughput while a member is added: not measured (see the log)"
		echo
		return
	fi
	echo "$ADD_TABLE_HEADER"
	echo "| --- | ---: | ---: | ---: | ---: |"
	for v in "${ADD_ROWS[@]}"; do echo "$v"; done
	echo
	tq=$(printf '%s\n' "${ADD_ROWS[0]}" | awk -F'|' '{ gsub(/ /, "", $5); print $5 }')
	ta=$(printf '%s\n' "${ADD_ROWS[1]}" | awk -F'|' '{ gsub(/ /, "", $5); print $5 }')
	echo "during the add / quiet: tps $(ratio "$ta" "$tq")"
	echo
	echo "${ADD_LINE:-raftctl add: not measured}"
	echo
	[ -n "$ADD_DETAIL" ] && echo "$ADD_DETAIL" && echo
}

write_report() {
	local f=$1 cfg c tps avg p99 cpu mem kernel os pgv commit host dirty n v
	host=$(hostname -s 2>/dev/null || hostname)
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
	kernel=$(uname -sr)
	os=$(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-}")
	pgv=$("$PGBIN/postgres" --version)
	commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
	dirty=$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo " (with uncommitted changes)")
	{
		echo "# raft_ext benchmark — $(date -u '+%Y-%m-%d %H:%M UTC') — $host"
		echo
		echo "$([ "$MODE" = smoke ] && echo 'SMOKE RUN (tiny durations; numbers not meaningful). ')Produced by \`bench/run.sh\`$([ "$MODE" = smoke ] && echo ' --smoke'); all configurations ran in the same run on this machine."
		echo
		echo "## Machine"
		echo
		echo "| | |"
		echo "| --- | --- |"
		echo "| host | $host |"
		echo "| CPU | ${cpu:-unknown}, $(nproc) cores (nproc) |"
		echo "| memory | $mem |"
		echo "| kernel | $kernel |"
		echo "| OS | ${os:-unknown} |"
		echo "| PostgreSQL | $pgv |"
		echo "| raft_ext | git $commit$dirty |"
		echo "| storage | $(df -hT "$W" 2>/dev/null | awk 'NR == 2 { print $2 " on " $7 }') |"
		echo "| load average (1, 5, 15 min) | before the bench: ${LOAD_START:-?}; at the end: $(cut -d" " -f1-3 /proc/loadavg 2>/dev/null) |"
		echo
		if awk -v l="${LOAD_START%% *}" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
			echo "**The machine was busy before the bench started (load average ${LOAD_START%% *} on $(nproc) cores): other work competed with these measurements.**"
			echo
		fi
		echo "## Settings"
		echo
		echo "- workload: one single-row INSERT per transaction (pgbench -n -f, unique key (run, client, n) from pgbench's :client_id and a per-client counter), payload '$PAYLOAD'"
		[ -n "$CONFIGS" ] && echo "- pgbench -T $DURATION -j $JOBS, clients: $CLIENTS; $RUNS run(s) per point$([ "$RUNS" -gt 1 ] && echo ', median reported'); warm-up $WARMUP s; latency from pgbench's per-transaction log (--log)"
		echo "- every server: PostgreSQL defaults (fsync on, synchronous_commit on, shared_buffers 128MB) plus: $(grep -v '^log_line_prefix\|^$' <<<"$COMMON_CONF" | tr '\n' ';' | sed 's/;$//; s/;/; /g')"
		[[ " $CONFIGS " == *" syncrep "* ]] && echo "- (b): primary + 2 standbys (pg_basebackup -R), synchronous_standby_names = 'ANY 1 (s1, s2)', synchronous_commit = remote_apply${SYNCREP_INFO:+ ($SYNCREP_INFO)}"
		[[ " $CONFIGS " == *" raft "* ]] && echo "- (c): 3 nodes (scripts/raftctl), raft_ext.election_timeout_min/max = ${RAFT_ELECTION_TIMEOUT_MIN:-150}/${RAFT_ELECTION_TIMEOUT_MAX:-300} ms, heartbeat_interval = ${RAFT_HEARTBEAT_INTERVAL:-50} ms; the clients connect to the leader; each transaction is SELECT raft_submit('INSERT ...')"
		[[ " $CONFIGS " == *" raft-route "* ]] && echo "- (d): the same cluster and leader as (c); each transaction is (a)'s plain INSERT, sent with pgbench -M prepared (extended protocol, bound parameters) in sessions with raft_ext.route_writes = on (PGOPTIONS), so the server submits it through the log; after each run its rows were counted on every node"
		echo
		echo "## Throughput and latency"
		echo
		echo "$TABLE_HEADER"
		echo "| --- | ---: | ---: | ---: | ---: |"
		for cfg in $CONFIGS; do
			for c in $CLIENTS; do
				tps=$(metric "$cfg" "$c" 4) avg=$(metric "$cfg" "$c" 5) p99=$(metric "$cfg" "$c" 6)
				echo "| $(label_of "$cfg") | $c | $(fmt "$tps" 1) | $(fmt "$avg" 3) | $(fmt "$p99" 3) |"
			done
		done
		[ -z "$CONFIGS" ] && echo && echo "No configuration ran (BENCH_CONFIGS is empty)."
		echo
		if [[ " $CONFIGS " == *" raft "* ]]; then
			local route=0
			[[ " $CONFIGS " == *" raft-route "* ]] && route=1
			echo "raft_ext's throughput relative to the others (tps ratio; above 1 means raft_ext is faster)$([ "$route" = 1 ] && echo '; (d)/(c): the transparent mode against raft_submit on the same cluster, what the convenience costs'):"
			echo
			echo "| clients | (c)/(a) plain | (c)/(b) sync rep |$([ "$route" = 1 ] && echo " $ROUTE_RATIO_HEADER")"
			echo "| ---: | ---: | ---: |$([ "$route" = 1 ] && echo ' ---: |')"
			for c in $CLIENTS; do
				echo "| $c | $(ratio "$(metric raft "$c" 4)" "$(metric plain "$c" 4)") | $(ratio "$(metric raft "$c" 4)" "$(metric syncrep "$c" 4)") |$([ "$route" = 1 ] && echo " $(ratio "$(metric raft-route "$c" 4)" "$(metric raft "$c" 4)") |")"
			done
			echo
		fi
		if [[ " $CONFIGS " == *" raft "* ]] && [ -n "$FOLLOWER_CLIENTS" ]; then
			echo "## Writes submitted on a follower"
			echo
			echo "The same raft_submit workload with the clients connected to a follower, which forwards each statement to the leader and answers once it has applied the entry itself; the last column compares with (c) on the leader at the same client count."
			echo
			echo "| clients | tps | avg latency (ms) | p99 latency (ms) | tps / (c) on the leader |"
			echo "| ---: | ---: | ---: | ---: | ---: |"
			for c in $FOLLOWER_CLIENTS; do
				tps=$(metric raft-follower "$c" 4) avg=$(metric raft-follower "$c" 5) p99=$(metric raft-follower "$c" 6)
				echo "| $c | $(fmt "$tps" 1) | $(fmt "$avg" 3) | $(fmt "$p99" 3) | $(ratio "$tps" "$(metric raft "$c" 4)") |"
			done
			echo
		fi
		if [ "$READS_DONE" = 1 ] && [ -n "$READ_CLIENTS" ]; then
			echo "$READS_SECTION"
			echo
			echo "A point SELECT by primary key on the raft_ext cluster (one of $READ_ROWS rows of bench_insert, pgbench -M prepared, a read-only autocommit transaction; \\gset, so a transaction that finds no row fails), with the sessions' raft_ext.read_consistency = local (what the node has applied) and = linearizable (each transaction's first read of a replicated table waits for a ReadIndex barrier: the leader confirms it still leads and names its commit index, and the node applies up to it; on a follower a round trip to the leader). Both modes in turn at each client count, $DURATION s each; the last column is the linearizable tps as a fraction of the local one."
			echo
			echo "| node | clients | local tps | local avg latency (ms) | linearizable tps | linearizable avg latency (ms) | linearizable / local (tps) |"
			echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
			for v in $READ_NODES; do
				for c in $READ_CLIENTS; do
					tps=$(metric "read-$v-local" "$c" 4)
					n=$(metric "read-$v-linearizable" "$c" 4)
					echo "| $v | $c | $(fmt "$tps" 1) | $(fmt "$(metric "read-$v-local" "$c" 5)" 3) | $(fmt "$n" 1) | $(fmt "$(metric "read-$v-linearizable" "$c" 5)" 3) | $(ratio "$n" "$tps") |"
				done
			done
			echo
		fi
		n=$(awk -F'\t' '$8 != "" && $1 != "catchup"' "$W/results.tsv" | wc -l)
		if [ "$n" -gt 0 ]; then
			echo "Problems during the runs:"
			echo
			awk -F'\t' '$8 != "" && $1 != "catchup" { printf "- %s, %s clients, run %s: %s\n", $1, $2, $3, $8 }' "$W/results.tsv"
			echo
		fi
		[ -n "${PLOT_FILE:-}" ] && echo "![throughput and p99 latency]($(basename "$PLOT_FILE"))" && echo
		if [ "$FO_ROUNDS" -gt 0 ] && [[ " $CONFIGS " == *" raft "* ]]; then
			echo "## Failover"
			echo
			echo "$FO_ROUNDS round(s): kill -9 of the leader (postmaster and all its processes) while $FO_WRITERS loop(s) write (each write a new psql connection, to the nodes in turn, statement_timeout $STMT_TIMEOUT); the old leader is restarted after the next acknowledged write, then the rows are compared."
			echo "*elected*: from the kill to the first node seeing itself leader (raft_status polled every 20 ms on the survivors); *next ack*: from the kill to the first acknowledged write committed in a later term (client-side, psql start-up included); *one write*: the median time one acknowledged write took before the kill (psql start-up, connection, raft_submit), the floor under *next ack*."
			echo
			echo "| round | killed | new leader | elected (ms) | kill → next ack (ms) | one write before the kill (ms) | acknowledged | failed | outcome unknown | nodes identical | acknowledged present | failed present |"
			echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |"
			for v in "${FO_ROWS[@]}"; do echo "$v"; done
			echo
			local nums
			nums=$(printf '%s\n' "${FO_NEXT_ACK[@]}" | grep -E '^[0-9]+$')
			if [ -n "$nums" ] && [ "$(grep -c . <<<"$nums")" -eq "${#FO_NEXT_ACK[@]}" ]; then
				echo "kill → next acknowledged write: median $(median <<<"$nums" | awk '{ printf "%d", $1 + 0.5 }') ms, worst $(sort -n <<<"$nums" | tail -n 1) ms (over ${#FO_NEXT_ACK[@]} kills)"
			else
				echo "kill → next acknowledged write: not measured in every round (${FO_NEXT_ACK[*]:-no round ran})"
			fi
			echo
			nums=$(printf '%s\n' "${FO_ELECTED[@]}" | grep -E '^[0-9]+$')
			[ -n "$nums" ] && echo "election: median $(median <<<"$nums" | awk '{ printf "%d", $1 + 0.5 }') ms, worst $(sort -n <<<"$nums" | tail -n 1) ms" && echo
			[ "${#FO_ONE_WRITE[@]}" -gt 0 ] &&
				echo "one write before the kills (the same client, same run): median $(printf '%s\n' "${FO_ONE_WRITE[@]}" | median | awk '{ printf "%d", $1 + 0.5 }') ms" && echo
			echo "writes: $FO_TOTAL_ACK acknowledged, $FO_TOTAL_FAILED failed, $FO_TOTAL_UNKNOWN outcome unknown ($FO_TOTAL_UNKNOWN_APPLIED of them applied)"
			echo
			if [ "$FO_INCONSISTENT" -eq 0 ] && [ "${#FO_ROWS[@]}" -eq "$FO_ROUNDS" ]; then
				echo "After every round all nodes held the same rows, every acknowledged write was present and no failed write was."
			elif [ "$FO_INCONSISTENT" -gt 0 ]; then
				echo "**INCONSISTENT in $FO_INCONSISTENT round(s)**: see the table."
			else
				echo "Only ${#FO_ROWS[@]} of $FO_ROUNDS rounds completed."
			fi
			echo
		fi
		if [ "$VERIFY_MB" -gt 0 ] && [[ " $CONFIGS " == *" raft "* ]]; then
			echo "## Consistency check"
			echo
			echo "${VERIFY_LINE:-consistency check: not measured (see the log)}"
			echo
			[ -n "$VERIFY_DETAIL" ] && echo "$VERIFY_DETAIL" && echo
		fi
		if [ "$CATCHUP" -gt 0 ] && [[ " $CONFIGS " == *" raft "* ]]; then
			echo "## Catch-up"
			echo
			echo "${CATCHUP_LINE:-catch-up: not measured (see the log)}"
			echo
			[ -n "$CATCHUP_DETAIL" ] && echo "$CATCHUP_DETAIL" && echo
		fi
		[ -n "$LOG_ENTRIES" ] && [ -n "$LOG_KEEP" ] && write_log_section
		[ "$COMPACT_DONE" = 1 ] && write_compact_section
		[ "$ADD_STATE" != off ] && write_add_section
		[ "$SNAP_STATE" != off ] && write_snapshot_section
		if [ "${#FAILED_PARTS[@]}" -gt 0 ]; then
			echo "## Failures"
			echo
			printf -- '- %s\n' "${FAILED_PARTS[@]}"
			echo
		fi
		echo "Raw numbers: $(basename "${f%.md}").tsv (config, clients, run, tps, avg ms, p99 ms, transactions, note). Total bench time: $((SECONDS - START_TIME)) s."
	} >"$f"
}

ensure_gnuplot() {
	command -v gnuplot >/dev/null 2>&1 && return 0
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		log "installing gnuplot-nox for the plot"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends gnuplot-nox >"$W/logs/apt.log" 2>&1 ||
			{ apt-get update -q >>"$W/logs/apt.log" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends gnuplot-nox >>"$W/logs/apt.log" 2>&1; }
	fi
	command -v gnuplot >/dev/null 2>&1 || { err "gnuplot is missing (apt-get install gnuplot-nox): no plot"; return 1; }
}

plot() { # PNG
	local png=$1 dat=$W/plot.dat cfg c col=2 tps_plot='' p99_plot='' title
	{
		printf 'clients'
		for cfg in $CONFIGS; do printf '\t%s_tps\t%s_p99' "$cfg" "$cfg"; done
		printf '\n'
		for c in $CLIENTS; do
			printf '%s' "$c"
			for cfg in $CONFIGS; do
				printf '\t%s\t%s' "$(metric "$cfg" "$c" 4 | sed 's/^-$/NaN/')" "$(metric "$cfg" "$c" 6 | sed 's/^-$/NaN/')"
			done
			printf '\n'
		done
	} >"$dat"
	for cfg in $CONFIGS; do
		title=$(label_of "$cfg")
		tps_plot+="${tps_plot:+, }'$dat' using $col:xtic(1) title '$title'"
		p99_plot+="${p99_plot:+, }'$dat' using $((col + 1)):xtic(1) title '$title'"
		col=$((col + 2))
	done
	gnuplot <<EOF 2>"$W/logs/gnuplot.log"
set terminal pngcairo size 1200,480 font 'sans,10' noenhanced
set output '$png'
set datafile missing 'NaN'
set datafile separator '\t'
set key autotitle columnhead
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set grid ytics
set key top left
set xlabel 'clients'
set multiplot layout 1,2 title 'raft_ext benchmark, $(hostname -s 2>/dev/null), $(nproc) cores — single-row INSERT'
set title 'throughput (higher is better)'
set ylabel 'transactions per second'
set yrange [0:*]
plot $tps_plot
set title '99th-percentile latency (lower is better)'
set ylabel 'ms'
plot $p99_plot
unset multiplot
EOF
}

# ---------------------------------------------------------------------------
# Main

log "bench/run.sh ($MODE): configurations: $CONFIGS; clients: $CLIENTS; $DURATION s each, $RUNS run(s); scratch: $W"
: >"$W/results.tsv"
for cfg in $CONFIGS; do
	case "$cfg" in plain | syncrep | raft | raft-route) ;; *) err "unknown configuration $cfg (plain, syncrep, raft, raft-route)"; exit 2 ;; esac
done
prev=0
for v in $LOG_ENTRIES; do
	case "$v" in '' | *[!0-9]*) err "BENCH_LOG_ENTRIES: $v is not a number"; exit 2 ;; esac
	[ "$v" -gt "$prev" ] || { err "BENCH_LOG_ENTRIES must be ascending and above 0 ($LOG_ENTRIES)"; exit 2; }
	prev=$v
done
for v in $LOG_KEEP; do
	case "$v" in '' | *[!0-9]*) err "BENCH_LOG_KEEP: $v is not a number (0: never compact)"; exit 2 ;; esac
done
for v in "${COMPACT_KEEP:-1}" "$COMPACT_RUNS" "$COMPACT_CLIENTS" "$ADD_HISTORY" "$ADD_RUN_S" "$ADD_QUIET_S" "$ADD_CLIENTS" "$SNAP_MB" "$SNAP_RUNS" "$SNAP_TIMEOUT"; do
	case "$v" in '' | *[!0-9]*) err "BENCH_COMPACT_* / BENCH_ADD_* / BENCH_SNAPSHOT_*: $v is not a number"; exit 2 ;; esac
done
RAFT_UP=0
for cfg in $CONFIGS; do
	if bench_config "$cfg"; then
		[ "$cfg" = raft ] && RAFT_OK=1
		[ "$cfg" = raft ] || [ "$cfg" = raft-route ] && RAFT_UP=1
	fi
done

# the read part: on whichever of (c) and (d) set the cluster up
if [ "$RAFT_UP" = 1 ] && [ -n "$READ_CLIENTS" ] && [ -n "$READ_NODES" ]; then
	bench_reads || FAILED_PARTS+=("reads")
fi

if [ "$RAFT_OK" = 1 ]; then
	if [ "$VERIFY_MB" -gt 0 ]; then
		bench_verify || FAILED_PARTS+=("consistency check")
	fi
	if [ "$FO_ROUNDS" -gt 0 ]; then
		bench_failover || FAILED_PARTS+=("failover")
		stop_writers
	fi
	if [ "$CATCHUP" -gt 0 ]; then
		bench_catchup || FAILED_PARTS+=("catch-up")
	fi
fi

# the log-size part: its own clusters, whatever ran before
if [ -n "$LOG_ENTRIES" ] && [ -n "$LOG_KEEP" ]; then
	bench_logsize
fi

# throughput while compaction runs, while a member is added: their own clusters
COMPACT_DONE=0
if [ -n "$COMPACT_KEEP" ]; then
	X_CLIENTS=$COMPACT_CLIENTS
	bench_compaction || FAILED_PARTS+=("throughput while compaction runs")
fi
ADD_STATE=off
if [ "$ADD" = 1 ]; then
	if raftctl_has_add; then
		X_CLIENTS=$ADD_CLIENTS
		ADD_STATE=ran
		bench_addnode || FAILED_PARTS+=("throughput while a member is added")
	else
		ADD_STATE=no-raftctl-add
		log "member add: skipped, scripts/raftctl has no add command"
	fi
fi

# the snapshot install: its own cluster
if [ "$SNAP_MB" -gt 0 ]; then
	bench_snapshot || FAILED_PARTS+=("snapshot install")
fi

# stop every server before writing the report
for d in "$W/plain" "$W/s1" "$W/s2" "$W/primary"; do stop_server "$d" >/dev/null 2>&1; done

if [ "$MODE" = smoke ]; then
	OUT=${BENCH_OUT:-$W/results}
else
	OUT=${BENCH_OUT:-$ROOT/bench/results}
fi
mkdir -p "$OUT"
BASE=$OUT/$(date -u +%Y-%m-%d-%H%M)-$(hostname -s 2>/dev/null || echo host)
PLOT_FILE=
if [ "$PLOT" = 1 ] && [ -n "$CONFIGS" ] && ensure_gnuplot; then
	if plot "$BASE.png" && [ -s "$BASE.png" ]; then
		PLOT_FILE=$BASE.png
	else
		err "gnuplot failed: $(head -n 5 "$W/logs/gnuplot.log")"
	fi
fi
{
	printf 'config\tclients\trun\ttps\tavg_ms\tp99_ms\ttransactions\tnote\n'
	cat "$W/results.tsv"
} >"$BASE.tsv"
write_report "$BASE.md"
log "report: $BASE.md${PLOT_FILE:+, plot: $PLOT_FILE}"

rc=0
if [ "$MODE" = smoke ]; then
	cat "$BASE.md"
	need_fo=0 need_cu=0
	[[ " $CONFIGS " == *" raft "* ]] && [ "$FO_ROUNDS" -gt 0 ] && need_fo=1
	[[ " $CONFIGS " == *" raft "* ]] && [ "$CATCHUP" -gt 0 ] && need_cu=1
	need_fw=0
	[[ " $CONFIGS " == *" raft "* ]] && [ -n "$FOLLOWER_CLIENTS" ] && need_fw=1
	need_ve=0
	[[ " $CONFIGS " == *" raft "* ]] && [ "$VERIFY_MB" -gt 0 ] && need_ve=1
	need_rd=0
	[[ " $CONFIGS " == *" raft "* || " $CONFIGS " == *" raft-route "* ]] && [ -n "$READ_CLIENTS" ] && [ -n "$READ_NODES" ] && need_rd=1
	need_lg=0
	[ -n "$LOG_ENTRIES" ] && [ -n "$LOG_KEEP" ] && need_lg=1
	need_cp=0
	[ -n "$COMPACT_KEEP" ] && need_cp=1
	need_ad=0
	[ "$ADD_STATE" = ran ] && need_ad=1
	need_sn=0
	[ "$SNAP_STATE" = ran ] && need_sn=1
	check_report "$BASE.md" "$CONFIGS" "$need_fo" "$need_cu" "$need_fw" "$need_ve" "$need_rd" "$need_lg" "$need_cp" "$need_ad" "$need_sn" || rc=1
	[ "$PLOT" = 1 ] && [ -n "$CONFIGS" ] && [ -z "$PLOT_FILE" ] && { echo "check: no plot"; rc=1; }
fi
if [ "${#FAILED_PARTS[@]}" -gt 0 ]; then
	err "failed: ${FAILED_PARTS[*]}"
	rc=1
fi
log "done in $((SECONDS - START_TIME)) s"
exit "$rc"
