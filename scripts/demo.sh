#!/usr/bin/env bash
# scripts/demo.sh — `make demo`: a guided tour of a local raft_ext cluster.
#
# On the cluster scripts/raftctl manages (one is created when there is none):
# creates a table through raft_submit, writes on a follower, shows the rows on
# every node, shows now(), random(), a serial column and gen_random_uuid()
# equal on every node, a local write refused, a consistency check passing,
# kills the leader with SIGKILL, shows the new leader and how long
# the cluster was without one, writes again, restarts the old leader and shows
# it catch up.  Every step says what it does and shows the command it runs.
#
# Environment: RAFT_CLUSTER_DIR and the other raftctl settings; DEMO_DELAY
# (seconds to pause between steps; default 1 on a terminal, 0 otherwise);
# NO_COLOR=1 for plain output.
set -uo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RAFTCTL=$ROOT/scripts/raftctl
export RAFTCTL_NAME=${RAFTCTL_NAME:-scripts/raftctl}
TABLE=raft_demo

B='' D='' G='' Y='' R='' C='' N=''
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ] && [ "${TERM:-dumb}" != dumb ] && [ "$(tput colors 2>/dev/null || echo 0)" -ge 8 ]; then
	B=$'\033[1m' D=$'\033[2m' G=$'\033[32m' Y=$'\033[33m' R=$'\033[31m' C=$'\033[36m' N=$'\033[0m'
fi
if [ -t 1 ]; then DELAY=${DEMO_DELAY:-1}; else DELAY=${DEMO_DELAY:-0}; fi

STEP=0
step() {
	STEP=$((STEP + 1))
	[ "$STEP" -gt 1 ] && sleep "$DELAY"
	printf '\n%s== %d. %s ==%s\n' "$B$C" "$STEP" "$*" "$N"
}
say() { printf '%s\n' "$*"; }
good() { printf '%s%s%s\n' "$G" "$*" "$N"; }
fail() {
	printf '%sdemo: %s%s\n' "$R" "$*" "$N" >&2
	exit 1
}
# show the command as one would type it, then run it
run() {
	local a shown=$RAFTCTL_NAME
	for a in "$@"; do
		case "$a" in *[[:space:]\']*) shown+=" \"$a\"" ;; *) shown+=" $a" ;; esac
	done
	printf '%s$ %s%s\n' "$D" "$shown" "$N"
	"$RAFTCTL" "$@"
}
ms_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", (b - a) * 1000 + 0.5 }'; }

# The value of raft_status column $2 on node $1.
status_field() {
	"$RAFTCTL" psql "$1" -XAtq -c "SELECT $2 FROM raft_status" 2>/dev/null
}

show_rows_everywhere() {
	local i
	for ((i = 1; i <= NODES; i++)); do
		printf '%snode %d:%s ' "$B" "$i" "$N"
		if out=$("$RAFTCTL" psql "$i" -XAtq -F ' ' -c "SELECT string_agg(format('(%s, %s, written via node %s)', id, fruit, written_via), '  ' ORDER BY id) FROM $TABLE" 2>&1); then
			printf '%s\n' "${out:-(no rows)}"
		else
			printf '%sunreachable%s\n' "$Y" "$N"
		fi
	done
}

# ---------------------------------------------------------------------------
printf '%sraft_ext demo%s: several PostgreSQL servers, one replicated database (cluster directory %s).\n' "$B" "$N" "${RAFT_CLUSTER_DIR:-/tmp/raft_ext-cluster}"

step "The cluster"
if ! "$RAFTCTL" exists; then
	say "There is no cluster yet: creating three nodes on 127.0.0.1 (PostgreSQL servers with raft_ext preloaded)."
	run create 3 || fail "could not create the cluster (is raft_ext built and installed? make cluster does both)"
else
	say "Using the existing cluster; starting any node that is down and waiting for a leader."
	run start || fail "the cluster has no leader"
fi
NODES=$("$RAFTCTL" status --no-color | grep -c '^[0-9]')
[ "$NODES" -ge 3 ] || fail "the demo needs at least 3 nodes (this cluster has $NODES): $RAFTCTL_NAME destroy, then make demo"
run status
LEADER=$("$RAFTCTL" leader --wait 30) || fail "no agreed leader"
FOLLOWER=1
[ "$LEADER" = 1 ] && FOLLOWER=2
say "Node $LEADER is the leader; the others are followers. Every node runs a Raft worker; a statement"
say "submitted with raft_submit() is appended to the Raft log, replicated to a majority, then applied"
say "by every node in log order."

step "Create a table through raft_submit (on the leader, node $LEADER)"
run submit "$LEADER" "DROP TABLE IF EXISTS $TABLE" >/dev/null || fail "raft_submit failed"
run submit "$LEADER" "CREATE TABLE $TABLE (id int PRIMARY KEY, fruit text NOT NULL, written_via int NOT NULL)" ||
	fail "raft_submit failed"
say "The CREATE TABLE is log entry number log_index above: it now exists on every node."

step "Write on a follower (node $FOLLOWER)"
say "A follower forwards the statement to the leader and returns once the entry is applied locally."
run submit "$FOLLOWER" "INSERT INTO $TABLE VALUES (1, 'apple', $FOLLOWER), (2, 'banana', $FOLLOWER)" || fail "raft_submit on a follower failed"

step "The rows, read on every node"
"$RAFTCTL" wait-caught-up 30 >/dev/null || fail "the nodes did not catch up"
show_rows_everywhere

step "Identical replicas: now(), random(), serial and gen_random_uuid() on every node"
say "The leader stamps every entry with its clock, and every node applies it with that time;"
say "random() and gen_random_uuid() are seeded per entry; sequences are kept in step."
run submit "$LEADER" "DROP TABLE IF EXISTS ${TABLE}_same" >/dev/null || fail "raft_submit failed"
run submit "$LEADER" "CREATE TABLE ${TABLE}_same (id serial PRIMARY KEY, at timestamptz DEFAULT now(), r float8 DEFAULT random(), u uuid DEFAULT gen_random_uuid(), v text)" >/dev/null ||
	fail "raft_submit failed"
run submit "$FOLLOWER" "INSERT INTO ${TABLE}_same (v) VALUES ('a'), ('b')" || fail "raft_submit failed"
"$RAFTCTL" wait-caught-up 30 >/dev/null || fail "the nodes did not catch up"
for ((i = 1; i <= NODES; i++)); do
	printf '%snode %d:%s
' "$B" "$i" "$N"
	"$RAFTCTL" psql "$i" -XAtq -F ' | ' -c "SELECT id, at, round(r::numeric, 6), u, v FROM ${TABLE}_same ORDER BY id" |
		sed 's/^/  /'
done
for ((i = 1; i <= NODES; i++)); do
	"$RAFTCTL" psql "$i" -XAtq -c "SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM ${TABLE}_same t"
done | sort -u | awk 'END { exit !(NR == 1) }' && good "The same rows, to the microsecond and the last digit, on every node."

step "Only the log writes: a local write on a follower is refused"
run psql "$FOLLOWER" -X -c "INSERT INTO $TABLE VALUES (99, 'local', $FOLLOWER)" 2>&1 | sed 's/^/  /'
say "(SQLSTATE 25006 for every role, superusers too; SET raft_ext.local_writes = on is the logged escape hatch.)"

step "A consistency check: every node checksums every table at the same log index"
CHECK=$("$RAFTCTL" psql "$FOLLOWER" -XAtq -c "SELECT raft_verify()") || fail "raft_verify() failed"
say "raft_verify() appended the check at log index $CHECK; every node's result comes back through the log."
for _ in $(seq 1 100); do
	pending=$("$RAFTCTL" psql "$LEADER" -XAtq -c "SELECT count(*) FROM raft_consistency WHERE log_index = $CHECK AND consistent IS NULL")
	[ "$pending" = 0 ] && break
	sleep 0.1
done
run psql "$LEADER" -X -c "SELECT table_name, node_id, checksum, consistent FROM raft_consistency WHERE log_index = $CHECK ORDER BY 1, 2"
[ "$("$RAFTCTL" psql "$LEADER" -XAtq -c "SELECT bool_and(consistent) FROM raft_consistency WHERE log_index = $CHECK")" = t ] &&
	good "Every table is the same on every node." || fail "the consistency check did not pass"

step "Crash the leader (kill -9 of node $LEADER's postmaster and all its processes)"
OLD_TERM=$(status_field "$LEADER" term)
say "The followers stop hearing heartbeats; after an election timeout one of them asks for votes."
say "Sessions on the survivors poll raft_status every 20 ms to time the election."
out=$(run kill "$LEADER" --time)
rc=$?
printf '%s\n' "$out" | grep -v '^#'
[ "$rc" -eq 0 ] || fail "no new leader"
NEW_LEADER=$(sed -n 's/.*new_leader=\([0-9]*\).*/\1/p' <<<"$out")
ELECTED_MS=$(sed -n 's/.*elected_ms=\([0-9]*\).*/\1/p' <<<"$out")
good "New leader: node $NEW_LEADER (term $(status_field "$NEW_LEADER" term), was $OLD_TERM). The cluster was without a leader for $ELECTED_MS ms."
run status

step "Write while the old leader is down"
W=$NEW_LEADER
for ((i = 1; i <= NODES; i++)); do
	if [ "$i" != "$LEADER" ] && [ "$i" != "$NEW_LEADER" ]; then W=$i; break; fi
done
say "Two nodes of three are a majority: writes go on. This one is submitted on node $W."
T0=$EPOCHREALTIME
run submit "$W" "INSERT INTO $TABLE VALUES (3, 'cherry', $W)" || fail "the write after the failover failed"
say "(acknowledged in $(ms_since "$T0") ms, psql start-up included)"

step "Restart the old leader (node $LEADER) and watch it catch up"
say "It comes back as a follower, learns the new term, and receives the entries it missed."
T0=$EPOCHREALTIME
run start "$LEADER" || fail "node $LEADER did not restart"
T_UP=$EPOCHREALTIME
"$RAFTCTL" wait-caught-up 60 >/dev/null || fail "node $LEADER did not catch up"
good "Node $LEADER caught up $(ms_since "$T_UP") ms after it accepted connections ($(ms_since "$T0") ms after the start command)."
run status
say
show_rows_everywhere
for ((i = 1; i <= NODES; i++)); do
	status_field "$i" last_applied
done | sort -u | awk 'END { exit !(NR == 1) }' && good "Every node has applied the same log index and holds the same rows."

step "Done"
say "The cluster is still running. Try:"
say "  $RAFTCTL_NAME watch            # live view; in another terminal: $RAFTCTL_NAME kill leader"
say "  $RAFTCTL_NAME psql 1           # then: SELECT * FROM raft_submit('INSERT INTO $TABLE VALUES (4, ''kiwi'', 1)');"
say "  make cluster-stop              # stop and remove the cluster"
