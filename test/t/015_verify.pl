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
# A row changed on one node through the escape hatch is found
# ---------------------------------------------------------------------
$c->query($f1, q{SET raft_ext.local_writes = on; UPDATE t SET v = 'changed here' WHERE id = 7});
$idx = $c->query($leader, 'SELECT raft_verify()');
$rows = check_rows($leader, $idx);
like($rows, qr/^public\.t\|\d\|[^|]+\|false$/m, 'the changed table is reported inconsistent') or diag $rows;
like($rows, qr/^public\.u\|\d\|[^|]+\|true$/m, 'the others are not');
my $fid = $c->id_of($f1);
my $problem;
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
