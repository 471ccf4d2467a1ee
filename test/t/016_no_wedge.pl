# 016_no_wedge.pl — nothing one client can submit wedges the cluster
# (issue #14): an error the statement raises is its outcome whatever
# SQLSTATE it chose; a statement that runs too long is stopped by
# raft_ext.apply_timeout, the same way on every node; what is only one
# node's business (a lock a local session holds, an operator's cancel of
# that node's apply worker) stalls or retries that node alone, and the
# outcome ends up the same everywhere.
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
my $dir = PostgreSQL::Test::Utils::tempdir('no_wedge');

$c->submit_ok($leader, q{CREATE TABLE t (id int PRIMARY KEY, v text)});

my $outcomes = q{SELECT log_index, coalesce(sqlstate, 'ok'), coalesce(message, command_tag) FROM raft_ext.outcome ORDER BY 1};

sub not_stalled
{
	my @bad;
	for my $n ($c->nodes)
	{
		my $s = $c->status($n);
		push @bad, $n->name . ': ' . ($s->{last_apply_error} // '?')
		  if !$s || defined $s->{apply_stalled_since};
	}
	return join('; ', @bad);
}

# ---------------------------------------------------------------------
# Errors the statement raises with codes that, raised by the server,
# would be the node's: each is the entry's outcome, and apply goes on.
# ---------------------------------------------------------------------
for my $code (qw(53100 53200 40001 40P01 55P03 XX000 XX001 58030 57P01 57014 08006))
{
	my $r = $c->submit($f1, qq{DO \$x\$BEGIN RAISE EXCEPTION 'says the statement' USING ERRCODE = '$code'; END\$x\$});
	is($r->{sqlstate} // $r->{outcome}, $code, "RAISE ... ERRCODE '$code' through a follower: the client gets $code")
	  or diag $r->{error};
}
# the same from a PL/pgSQL function the statement calls
$c->submit_ok($leader, q{CREATE FUNCTION oom() RETURNS int LANGUAGE plpgsql AS $f$BEGIN RAISE EXCEPTION 'says the function' USING ERRCODE = '53200'; END$f$});
my $r = $c->submit($leader, q{INSERT INTO t VALUES (oom(), 'never')});
is($r->{sqlstate} // $r->{outcome}, '53200', 'a function raising 53200: the outcome');
my $w = $c->submit_ok($f2, q{INSERT INTO t VALUES (1, 'after the raises')});
ok(defined $c->wait_applied_everywhere($w->{log_index}, timeout => 30), 'every node applied the next write');
is(not_stalled(), '', 'no node is stalled');
ok(scalar $c->wait_contents_equal($outcomes), 'every node recorded the same outcomes');

# ---------------------------------------------------------------------
# raft_ext.apply_timeout: a statement that never ends is stopped on every
# node; that is its outcome.
# ---------------------------------------------------------------------
my ($ret, $out, $err) = $c->psql($f1, q{SET raft_ext.apply_timeout = '1s';
SELECT log_index FROM raft_submit('DO $$BEGIN LOOP END LOOP; END$$')});
like($err, qr/57014: canceling statement due to raft_ext.apply_timeout \(1000 ms\)/,
	'an endless loop ends with 57014 after raft_ext.apply_timeout') or diag $err;
$w = $c->submit_ok($leader, q{INSERT INTO t VALUES (2, 'after the loop')});
ok(defined $c->wait_applied_everywhere($w->{log_index}, timeout => 30), 'apply goes on everywhere');
is(not_stalled(), '', 'no node is stalled');
ok(scalar $c->wait_contents_equal($outcomes), 'the timeout is the same outcome on every node');

# ---------------------------------------------------------------------
# A lock a session on one follower holds: that follower waits, then
# stalls (retrying) when the entry's time is up, alone; the others go on;
# once the session lets go, the entry applies there with the same outcome.
# ---------------------------------------------------------------------
my $release = "$dir/release";
my $holder = $c->start_script($f2, qq{
BEGIN;
LOCK TABLE t IN ACCESS EXCLUSIVE MODE;
DO \$\$
BEGIN
	FOR i IN 1 .. 1200 LOOP
		EXIT WHEN (pg_stat_file('$release', true)).size IS NOT NULL;
		PERFORM pg_sleep(0.05);
	END LOOP;
END \$\$;
COMMIT;
});
my $locked = 0;
for (1 .. 100)
{
	$locked = $c->query($f2, q{SELECT count(*) FROM pg_locks WHERE relation = 't'::regclass AND mode = 'AccessExclusiveLock' AND granted});
	last if $locked;
	sleep 0.1;
}
ok($locked, 'a session on a follower holds a lock on t');
($ret, $out, $err) = $c->psql($leader, q{SET raft_ext.apply_timeout = '500ms';
SELECT log_index FROM raft_submit('INSERT INTO t VALUES (3, ''behind the lock'')')});
is($ret, 0, 'the write succeeds (the leader is not blocked)') or diag $err;
my $idx = (split /\n/, $out)[-1];
my $st;
for (1 .. 200)
{
	$st = $c->status($f2);
	last if defined $st->{apply_stalled_since};
	sleep 0.1;
}
like($st->{last_apply_error} // '', qr/waited longer than raft_ext.apply_timeout \(500 ms\) for a lock a session on this node holds/,
	'that follower stalls on the entry, saying why') or diag explain $st;
ok(defined $c->wait_applied_everywhere($idx, timeout => 30, nodes => [ $leader, $f1 ]), 'the other nodes applied it');
open my $fh, '>', $release or die; close $fh;
my $held = $c->finish_script($holder, 60);
is($held->{ret}, 0, 'the session let go') or diag explain $held;
ok(defined $c->wait_applied_everywhere($idx, timeout => 30), 'then that follower applies it too');
ok(scalar $c->wait_contents_equal(q{SELECT * FROM t ORDER BY id}), 'same rows everywhere');
ok(scalar $c->wait_contents_equal($outcomes), 'same outcomes everywhere');
is(not_stalled(), '', 'no node is stalled any more');

# ---------------------------------------------------------------------
# An operator cancels one follower's apply worker while it runs an entry:
# that node retries it (the cancel is not an outcome).
# ---------------------------------------------------------------------
my $retries = $c->status($f1)->{apply_retries};
my $long = $c->start_script($leader, q{SELECT log_index FROM raft_submit('INSERT INTO t SELECT 4, count(*)::text FROM generate_series(1, 30000000)')});
my $cancelled = 0;
for (1 .. 300)
{
	$cancelled = $c->query($f1, q{SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity
		WHERE backend_type = 'raft_ext apply worker' AND query LIKE '%generate_series(1, 30000000)%' AND state = 'active'});
	last if $cancelled;
	sleep 0.05;
}
ok($cancelled, "the follower's apply worker was cancelled while it ran the entry");
my $done = $c->finish_script($long, 120);
is($done->{ret}, 0, 'the write succeeded') or diag explain $done;
$idx = (split /\n/, $done->{out})[-1];
ok(defined $c->wait_applied_everywhere($idx, timeout => 60), 'every node applied it');
ok($c->status($f1)->{apply_retries} > $retries, 'the cancelled follower retried it');
ok(scalar $c->wait_contents_equal(q{SELECT * FROM t ORDER BY id}), 'same rows everywhere');
ok(scalar $c->wait_contents_equal($outcomes), 'same outcomes everywhere');

# ---------------------------------------------------------------------
# raft_skip_entry: an operator ends an entry that runs on every node (here
# a loop given ten minutes), through the log; every node records the same
# outcome and goes on.
# ---------------------------------------------------------------------
$c->query($leader, q{CREATE ROLE ops LOGIN; CREATE ROLE nobody LOGIN}) ;
$c->query($_, q{CREATE ROLE ops LOGIN; CREATE ROLE nobody LOGIN}) for ($f1, $f2);
$c->submit_ok($leader, q{GRANT EXECUTE ON FUNCTION raft_skip_entry(bigint) TO ops});
my $spinner = $c->start_script($f1, q{SET raft_ext.apply_timeout = '10min';
SELECT log_index FROM raft_submit('DO $$BEGIN LOOP END LOOP; END$$');}, on_error_stop => 0);
my $running = '';
for (1 .. 200)
{
	$running = join(',', map { $c->query($_, q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'raft_ext apply worker' AND query LIKE '%LOOP END LOOP%' AND state = 'active'}) } $c->nodes);
	last if $running eq '1,1,1';
	sleep 0.05;
}
is($running, '1,1,1', 'an endless loop runs on every node');
my $stuck = $c->status($leader)->{last_applied} + 1;
($ret, $out, $err) = $c->psql($leader, 'SELECT raft_skip_entry(1)', user => 'ops');
like($err, qr/55000: raft_skip_entry: log entry 1 is already applied on the leader/, 'an applied entry cannot be skipped');
($ret, $out, $err) = $c->psql($leader, 'SELECT raft_skip_entry(' . ($stuck + 1000) . ')', user => 'ops');
like($err, qr/55000: raft_skip_entry: log entry \d+ is not committed/, 'nor one not committed');
($ret, $out, $err) = $c->psql($f2, "SELECT raft_skip_entry($stuck)", user => 'nobody');
like($err, qr/42501/, 'nor by a role without the grant');
($ret, $out, $err) = $c->psql($f2, "SELECT raft_skip_entry($stuck)", user => 'ops');
is($ret, 0, "raft_skip_entry($stuck) through a follower, by a granted role") or diag $err;
my $decision = $out;
my $sp = $c->finish_script($spinner, 60);
like($sp->{err}, qr/57000: log entry $stuck was skipped by operator/, 'the waiting client gets 57000, skipped by operator') or diag explain $sp;
ok(defined $c->wait_applied_everywhere($decision, timeout => 30), 'every node applied the decision');
ok(scalar $c->wait_contents_equal(qq{SELECT sqlstate, message, detail FROM raft_ext.outcome WHERE log_index = $stuck}),
	'the same outcome on every node');
my $sk = join('|', map { my $s = $c->status($_); ($s->{last_skipped_index} // '') . ',' . ($s->{last_skipped_by} // '') } $c->nodes);
is($sk, join('|', ("$stuck,ops") x 3), 'raft_status shows what was skipped and by whom, on every node');
$w = $c->submit_ok($leader, q{INSERT INTO t VALUES (5, 'after the skip')});
ok(defined $c->wait_applied_everywhere($w->{log_index}, timeout => 30), 'apply goes on everywhere');
is(not_stalled(), '', 'no node is stalled');
ok(scalar $c->wait_contents_equal($outcomes), 'same outcomes everywhere');

note sprintf('016 total %.1f s', time - $t_start);
done_testing();
