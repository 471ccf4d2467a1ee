#!/usr/bin/env bash
# bench/ab.sh — A/B throughput of two builds of raft_ext, measured in the same
# run on the same machine: what a change on the write or apply path reports
# (README, "Performance").
#
# Usage: bench/ab.sh [options] REF_A REF_B
#   REF_A, REF_B  git revisions (e.g. origin/main and HEAD), or WORKTREE for
#                 the current working tree with its uncommitted changes
#   -r ROUNDS     rounds (default 3): each round runs both builds, A then B
#                 in odd rounds and B then A in even ones, so a drift of the
#                 machine's speed does not favour one
#   -c CLIENTS    client counts (default "1 8 32")
#   -t SECONDS    seconds per pgbench run (default 10)
#   -w SECONDS    warm-up before each build's runs (default 2)
#
# Each build is compiled in a scratch directory, installed (make install: run
# as root, or as a user who may write PostgreSQL's directories), and gets a
# fresh three-node cluster (scripts/raftctl create 3, ports 25581..25583)
# per round; the workload is bench/run.sh's: one single-row INSERT per
# transaction through SELECT raft_submit(...) on the leader, pgbench -n -j 2.
# Prints, per client count, the median tps of each build over the rounds and
# B/A; the raw numbers go to the scratch directory (kept, path printed).
# Noise on a shared 2-core VM is about ±10%: use several rounds and compare
# ratios, never figures of different runs.
set -uo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
ROUNDS=3
CLIENTS="1 8 32"
SECS=10
WARM=2
while getopts "r:c:t:w:" o; do
	case $o in
	r) ROUNDS=$OPTARG ;;
	c) CLIENTS=$OPTARG ;;
	t) SECS=$OPTARG ;;
	w) WARM=$OPTARG ;;
	*) sed -n '2,26p' "$0"; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 2 ] || { sed -n '2,26p' "$0"; exit 2; }

W=$(mktemp -d /tmp/raft_ext-ab.XXXXXX)
chmod 755 "$W"
echo "ab: scratch directory $W"

# prepare NAME REF: a buildable copy of REF in $W/NAME
prepare() {
	local name=$1 ref=$2
	mkdir -p "$W/$name"
	if [ "$ref" = WORKTREE ]; then
		tar -C "$ROOT" --exclude=./.git --exclude='*.o' --exclude='*.so' --exclude=./test/build \
			--exclude=./test/build-san --exclude=./tmp_check --exclude=./tmp_regress -cf - . |
			tar -C "$W/$name" -xf -
	else
		git -C "$ROOT" archive "$ref" | tar -C "$W/$name" -xf - || return 1
	fi
	(cd "$W/$name" && make -s >/dev/null 2>"$W/$name.build.log") || {
		echo "ab: build of $ref failed: see $W/$name.build.log" >&2
		return 1
	}
	echo "ab: $name = $ref ($(git -C "$ROOT" rev-parse --short "$ref" 2>/dev/null || echo 'working tree'))"
}
prepare A "$1" || exit 1
prepare B "$2" || exit 1

cat >"$W/insert-raft.sql" <<'EOF'
\set n :n + 1
SELECT raft_submit('INSERT INTO bench_insert (run, client, n, payload) VALUES (:run, :client_id, :n, ''0123456789012345678901234567890123456789012345678901234567890123'')');
EOF

export RAFT_CLUSTER_DIR=$W/cluster RAFT_BASE_PORT=25581
run_build() {
	local name=$1 round=$2 ctl leader port c tps
	ctl=$W/$name/scripts/raftctl
	(cd "$W/$name" && make -s install >/dev/null 2>&1) || { echo "ab: install of $name failed" >&2; return 1; }
	"$ctl" destroy >/dev/null 2>&1
	"$ctl" create 3 >"$W/$name.create.log" 2>&1 || { echo "ab: cluster for $name failed: $W/$name.create.log" >&2; return 1; }
	leader=$("$ctl" leader)
	port=$((RAFT_BASE_PORT + leader - 1))
	"$ctl" submit "$leader" "CREATE TABLE bench_insert (run bigint, client int, n bigint, payload text, PRIMARY KEY (run, client, n))" >/dev/null
	"$PGBIN/pgbench" -h 127.0.0.1 -p "$port" -U postgres -n -f "$W/insert-raft.sql" -D run=0 -D n=0 \
		-c 4 -j 2 -T "$WARM" postgres >/dev/null 2>"$W/$name.pgbench.err"
	for c in $CLIENTS; do
		tps=$("$PGBIN/pgbench" -h 127.0.0.1 -p "$port" -U postgres -n -f "$W/insert-raft.sql" \
			-D run="$round$c" -D n=0 -c "$c" -j 2 -T "$SECS" postgres 2>>"$W/$name.pgbench.err" |
			awk '/^tps = / { print $3; exit }')
		printf '%s\t%s\t%s\t%s\n' "$name" "$round" "$c" "${tps:-0}" >>"$W/results.tsv"
		printf 'ab: round %s %s c=%s %s tps\n' "$round" "$name" "$c" "${tps:-0}"
	done
	"$ctl" destroy >/dev/null 2>&1
}

for r in $(seq 1 "$ROUNDS"); do
	if [ $((r % 2)) -eq 1 ]; then order="A B"; else order="B A"; fi
	for b in $order; do run_build "$b" "$r" || exit 1; done
done

echo
echo "median tps over $ROUNDS round(s), $SECS s per run (A = $1, B = $2):"
printf '%8s %10s %10s %8s\n' clients A B B/A
for c in $CLIENTS; do
	a=$(awk -v c="$c" '$1 == "A" && $3 == c { print $4 }' "$W/results.tsv" | sort -n |
		awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
	b=$(awk -v c="$c" '$1 == "B" && $3 == c { print $4 }' "$W/results.tsv" | sort -n |
		awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
	printf '%8s %10.0f %10.0f %8.2f\n' "$c" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN { print (a > 0) ? b / a : 0 }')"
done
echo "raw numbers: $W/results.tsv"
