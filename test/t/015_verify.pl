# 015_verify.pl — trust, but verify (issue #13): raft_verify() checks every
# table of the replicated database at the same log index on every node and
# says which table differs on which node; outcome checks stop a node whose
# outcome of an entry differs from the leader's ("diverged").
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use RaftCluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

my $t_start = time;
my $c = RaftCluster->new(nodes => 3);
my ($leader) = $c->wait_for_leader(timeout => 30);
ok($leader, 'a leader is elected') or RaftCluster::stop_here('no leader');
my ($f1, $f2) = $c->followers($leader);

$c->submit_ok($leader, q{CREATE TABLE t (id int PRIMARY KEY, v text, at timestamptz DEFAULT now())});
$c->submit_ok($leader, q{CREATE TABLE u (id int PRIMARY KEY)});
$c->submit_ok($f1, q{INSERT INTO t (id, v) SELECT g, 'row ' || g FROM generate_series(1, 500) g});

# Wait until every node has answered check $idx; returns the rows.
sub check_rows
{
	my ($node, $idx) = @_;
	my $rows;
	for (1 .. 100)
	{
		$rows = $c->query($node, qq{SELECT table_name, node_id, checksum, coalesce(consistent::text, 'pending')
			FROM raft_consistency WHERE log_index = $idx ORDER BY table_name, node_id});
		last if $rows ne '' && $rows !~ /pending/;
		sleep 0.1;
	}
	return $rows;
}

# ---------------------------------------------------------------------
# Every node agrees
# ---------------------------------------------------------------------
my $idx = $c->query($f2, 'SELECT raft_verify()');
like($idx, qr/^\d+$/, 'raft_verify() on a follower returns the check\'s log index');
my $rows = check_rows($leader, $idx);
my @r = split /\n/, $rows;
is(scalar @r, 6, 'two tables, three nodes: six rows') or diag $rows;
unlike($rows, qr/\|(?:false|pending)$/m, 'every table consistent at that index') or diag $rows;
ok(scalar $c->wait_contents_equal(qq{SELECT table_name, node_id, checksum, consistent FROM raft_consistency
	WHERE log_index = $idx ORDER BY 1, 2}), 'every node shows the same results');
my $st = $c->status($f1);
is($st->{last_check_index}, $idx, 'raft_status shows the last check');
is($st->{last_check_consistent}, 1, '... consistent') or diag explain $st;

# ---------------------------------------------------------------------
# The check runs beside applying, in a worker of its own, on the
# database exactly as of its entry: a session on one follower holds a lock
# on u until a row written after the check has been applied there; the
# check's worker waits on that lock while the apply worker goes on (an
# apply that took the checksums itself would wait for ever), and the check
# then finds every table consistent (its snapshot came before the row).
# ---------------------------------------------------------------------
my $holder = $c->start_script($f1, q{
SET raft_ext.local_writes = on;
BEGIN;
LOCK TABLE u IN ACCESS EXCLUSIVE MODE;
DO $$
BEGIN
	FOR i IN 1 .. 600 LOOP
		EXIT WHEN EXISTS (SELECT 1 FROM t WHERE id = 9999);
		PERFORM pg_sleep(0.1);
	END LOOP;
END $$;
SELECT count(*) FROM t WHERE id = 9999;
COMMIT;
});
my $locked = 0;
for (1 .. 100)
{
	$locked = $c->query($f1, q{SELECT count(*) FROM pg_locks
		WHERE relation = 'u'::regclass AND mode = 'AccessExclusiveLock' AND granted});
	last if $locked;
	sleep 0.1;
}
ok($locked, 'a session on a follower holds a lock on u');
$idx = $c->query($leader, 'SELECT raft_verify()');
my $waiting = '';
for (1 .. 100)
{
	$waiting = $c->query($f1, q{SELECT wait_event_type FROM pg_stat_activity
		WHERE backend_type = 'raft_ext verify worker'});
	last if $waiting eq 'Lock';
	sleep 0.1;
}
is($waiting, 'Lock', "that follower's check waits for the lock in a worker of its own");
my $w9999 = $c->submit_ok($leader, q{INSERT INTO t (id, v) VALUES (9999, 'after the check')});
ok(defined $c->wait_applied_everywhere($w9999->{log_index}, timeout => 30),
	'meanwhile every node applies a later entry, that follower too');
my $held = $c->finish_script($holder, 60);
like($held->{out}, qr/^1$/, 'the lock holder saw the row and let go') or diag explain $held;
$rows = check_rows($leader, $idx);
@r = split /\n/, $rows;
is(scalar @r, 6, 'the check then completes on every node') or diag $rows;
unlike($rows, qr/\|(?:false|pending)$/m,
	'every table consistent: each node checked the database as of the check\'s entry') or diag $rows;

# Checks among a stream of writes (so that later entries are applied in
# the same batch as a check's): every one consistent.
$c->submit_ok($leader, q{CREATE TABLE s (client int, n int, PRIMARY KEY (client, n))});
my @writers = map {
	my $k = $_;
	$c->start_script($k == 2 ? $f2 : $leader, join('', map { "SELECT log_index FROM raft_submit('INSERT INTO s VALUES ($k, $_)');\n" } 1 .. 150))
} 1 .. 3;
my @checks;
for (1 .. 5)
{
	sleep 0.2;
	push @checks, $c->query($f1, 'SELECT raft_verify()');
}
my @done = map { $c->finish_script($_, 120) } @writers;
is(join(',', map { $_->{ret} } @done), '0,0,0', 'three writers, 450 writes') or diag explain \@done;
my $bad = '';
for my $ci (@checks)
{
	my $cr = check_rows($leader, $ci);
	$bad .= "check $ci:\n$cr\n" if $cr eq '' || $cr =~ /\|(?:false|pending)$/m || (split /\n/, $cr) != 9;
}
is($bad, '', 'five checks taken among the writes: every table consistent at each');

# ---------------------------------------------------------------------
# A node that cannot check says why
# ---------------------------------------------------------------------
my $f2id = $c->id_of($f2);
$f2->append_conf('postgresql.conf', "max_worker_processes = 3\n");
$c->stop_node($f2);
$c->start_node($f2);
my $bgw = $c->query($f2, q{SELECT count(*) FROM pg_stat_activity WHERE backend_type IN
	('raft_ext raft worker', 'raft_ext apply worker', 'logical replication launcher')});
$idx = $c->query($leader, 'SELECT raft_verify()');
my $problem;
my $cst;
for (1 .. 100)
{
	$cst = $c->status($leader);
	$problem = $cst->{last_check_problem};
	last if ($cst->{last_check_index} // 0) == $idx && defined $problem;
	sleep 0.1;
}
like($problem // '', qr/node $f2id not checked: no background worker slot was free on this node \(max_worker_processes\)/,
	"a node without a free worker slot answers 'not checked' and raft_status says why ($bgw workers running there)")
  or diag explain $cst;
ok(!defined $cst->{last_check_consistent}, '... and the check is not called consistent') or diag explain $cst;
$f2->append_conf('postgresql.conf', "max_worker_processes = 8\n");
$c->stop_node($f2);
$c->start_node($f2);

# ---------------------------------------------------------------------
# A row changed on one node through the escape hatch is found
# ---------------------------------------------------------------------
$c->query($f1, q{SET raft_ext.local_writes = on; UPDATE t SET v = 'changed here' WHERE id = 7});
$idx = $c->query($leader, 'SELECT raft_verify()');
$rows = check_rows($leader, $idx);
like($rows, qr/^public\.t\|\d\|[^|]+\|false$/m, 'the changed table is reported inconsistent') or diag $rows;
like($rows, qr/^public\.u\|\d\|[^|]+\|true$/m, 'the others are not');
my $fid = $c->id_of($f1);
$problem = undef;
for (1 .. 50)
{
	$problem = $c->status($leader)->{last_check_problem};
	last if defined $problem;
	sleep 0.1;
}
like($problem // '', qr/public\.t differs on node $fid\b/, 'raft_status names the table and the node');
$c->query($f1, q{SET raft_ext.local_writes = on; UPDATE t SET v = 'row 7' WHERE id = 7});

# ---------------------------------------------------------------------
# An entry whose outcome differs on one node: that node stops, diverged
# ---------------------------------------------------------------------
$c->query($f2, q{SET raft_ext.local_writes = on; INSERT INTO u VALUES (5)});
my $r5 = $c->submit_ok($leader, q{INSERT INTO u VALUES (5)});
my $state = '';
for (1 .. 100)
{
	$state = $c->status($f2)->{apply_worker_state} // '';
	last if $state eq 'diverged';
	sleep 0.1;
}
is($state, 'diverged', 'the node whose outcome differs says diverged');
my $err = $c->status($f2)->{last_apply_error} // '';
like($err, qr/diverged at log entry $r5->{log_index}: here error 23505, on the leader INSERT 1/,
	'with the first differing entry and both outcomes') or diag $err;
my $stuck = $c->status($f2)->{last_applied};
my $w = $c->submit_ok($leader, q{INSERT INTO u VALUES (6)});
ok(defined $c->wait_applied_everywhere($w->{log_index}, nodes => [ $leader, $f1 ]),
	'the others go on');
sleep 1;
ok($c->status($f2)->{last_applied} <= $stuck + 1, 'the diverged node does not apply anything more')
  or diag explain $c->status($f2);
is($c->status($leader)->{apply_worker_state}, 'running', 'the leader is not diverged');

# ---------------------------------------------------------------------
# The periodic check
# ---------------------------------------------------------------------
for my $n ($leader, $f1)
{
	$c->query($n, q{ALTER SYSTEM SET raft_ext.verify_interval = '1s'});
	$c->query($n, q{SELECT pg_reload_conf()});
}
my $before = $c->query($leader, 'SELECT count(*) FROM raft_ext.consistency_check');
my $after = $before;
for (1 .. 60)
{
	$after = $c->query($leader, 'SELECT count(*) FROM raft_ext.consistency_check');
	last if $after > $before + 1;
	sleep 0.1;
}
ok($after > $before + 1, "raft_ext.verify_interval appends checks by itself ($before, then $after)");

note sprintf('015 total %.1f s', time - $t_start);
done_testing();
