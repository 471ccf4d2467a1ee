# 004_quorum.pl — with one of three nodes down the cluster still takes
# writes (on the leader and through the remaining follower); the second
# follower is killed under a stream of writes, and with two down
# raft_submit fails with a clear error (SQLSTATE, 40003 if the outcome is
# unknown) within statement_timeout; after the two restart, every node ends
# identical: an outcome-unknown write is everywhere or nowhere, and every
# acknowledged write is there.
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
my ($leader, $term) = $c->wait_for_leader(timeout => 30);
ok($leader, 'a leader is elected') or RaftCluster::stop_here('no leader');
my ($f1, $f2) = $c->followers($leader);

$c->submit_ok($leader, 'CREATE TABLE kv (k int PRIMARY KEY, v text NOT NULL)');
$c->submit_ok($leader, q{INSERT INTO kv VALUES (1, 'all up')});
ok(defined $c->wait_caught_up, 'caught up');

# One of three down.
$c->stop_node($f1, 'immediate');
my $r = $c->submit_ok($leader, q{INSERT INTO kv VALUES (2, 'one down, leader')}, 'write on the leader with one node down');
$c->submit_ok($f2, q{INSERT INTO kv VALUES (3, 'one down, follower')}, 'write through the remaining follower with one node down');
is($c->query($f2, 'SELECT count(*) FROM kv'), '3', 'the remaining follower has the writes');

# Two of three down: no majority.  A stream of submissions runs on the
# leader while the second follower is killed, so that one is in flight
# (appended, perhaps replicated, not known to be committed) at that moment.
my $stream = "SET statement_timeout = '3s';\n";
$stream .= "SELECT log_index FROM raft_submit('INSERT INTO kv VALUES ($_, ''stream'')');\n"
  for 1001 .. 9000;    # far more than can commit before the kill below
my $job = $c->start_script($leader, $stream);
sleep 0.7;
$c->kill9($f2);
my $sr = $c->finish_script($job, 120);
my @stream_acked = $sr->{out} =~ /^(\d+)$/mg;
my ($stream_err) = $sr->{err} =~ /ERROR:\s+([0-9A-Z]{5}):/;
note sprintf('stream during the loss of the majority: %d acknowledged, then %s',
	scalar(@stream_acked), ($sr->{err} =~ s/\n/ /gr));
cmp_ok(scalar(@stream_acked), '>', 0, 'the stream had acknowledged writes before the majority was lost');
ok(defined $stream_err, 'the stream then stopped on an error with an SQLSTATE')
  or diag $sr->{err};
my $stream_last_k = 1000 + @stream_acked;
my $stream_pending_k = $stream_last_k + 1;    # the one that failed or is unknown
my $stream_failed_definitely = defined $stream_err && $stream_err ne '40003';
$stream_err //= 'no error';

my @unknown;
for my $try ([ q{INSERT INTO kv VALUES (100, 'no quorum')}, '3s' ],
	[ q{UPDATE kv SET v = 'no quorum' WHERE k = 1}, '2s' ])
{
	my ($sql, $st) = @$try;
	my $secs = $st =~ s/s$//r;
	my $u = $c->submit($leader, $sql, statement_timeout => $st);
	note sprintf('without a majority: %s after %.2f s: %s', $u->{outcome},
		$u->{elapsed}, ($u->{error} // '') =~ s/\n/ /gr);
	isnt($u->{outcome}, 'ok', "no majority: '$sql' is not acknowledged");
	ok(defined $u->{sqlstate}, 'the error carries an SQLSTATE (not a broken connection)');
	cmp_ok($u->{elapsed}, '<', $secs + 5, "it errors within statement_timeout $st (plus slack)");
	if (($u->{sqlstate} // '') eq '40003')
	{
		like($u->{error}, qr/unknown/i, '40003 says the outcome is unknown');
	}
	else
	{
		ok(1, "error $u->{sqlstate}: treated as not applied");
	}
	push @unknown, $u;
}
my $s = $c->status($leader);
note "lone node status: " . join(', ', map { "$_=" . ($s->{$_} // 'null') } sort keys %$s) if $s;

# Restart both: the cluster converges, nothing half-applied.
$c->start_node($f1);
$c->start_node($f2);
my ($l2, $term2) = $c->wait_for_leader(timeout => 30);
ok($l2, 'a leader after the two nodes restart');
$c->submit_ok($f1, q{INSERT INTO kv VALUES (4, 'after restart')});
ok(defined $c->wait_caught_up(timeout => 60), 'every node caught up');
my $q = q{SELECT k, v FROM kv ORDER BY k};
ok(scalar $c->table_contents_equal($q), 'identical contents on every node');
my @k100 = map { $c->query($_, 'SELECT count(*) FROM kv WHERE k = 100') } $c->nodes;
ok((!grep { $_ ne $k100[0] } @k100), 'the outcome-unknown INSERT is on every node or on none');
my @k1 = map { $c->query($_, 'SELECT v FROM kv WHERE k = 1') } $c->nodes;
ok((!grep { $_ ne $k1[0] } @k1), 'the outcome-unknown UPDATE is on every node or on none');
note "outcome-unknown writes ended: INSERT " . ($k100[0] ? 'applied' : 'not applied')
  . ", UPDATE " . ($k1[0] eq 'no quorum' ? 'applied' : 'not applied');
is($c->query($l2, 'SELECT count(*) FROM kv WHERE k IN (1, 2, 3, 4)'), '4', 'every acknowledged write survived');
is($c->query($l2, "SELECT count(*) FROM kv WHERE k BETWEEN 1001 AND $stream_last_k"), scalar(@stream_acked),
	'every acknowledged write of the stream survived');
my @pend = map { $c->query($_, "SELECT count(*) FROM kv WHERE k = $stream_pending_k") } $c->nodes;
ok((!grep { $_ ne $pend[0] } @pend), "the stream's last write ($stream_err) is on every node or on none");
is($pend[0], '0', "the stream's last write, reported as failed ($stream_err), was not applied")
  if $stream_failed_definitely;
is($c->query($l2, "SELECT count(*) FROM kv WHERE k > $stream_pending_k AND k > 1000"), '0',
	'nothing after it was applied');
note "the stream's last write ($stream_err) ended " . ($pend[0] ? 'applied' : 'not applied');
# A write reported as a definite failure (an error other than 40003) must
# really not have been applied.
if ($unknown[0]{outcome} eq 'error')
{
	is($k100[0], '0', "the INSERT reported as failed ($unknown[0]{sqlstate}) was not applied");
}
if ($unknown[1]{outcome} eq 'error')
{
	isnt($k1[0], 'no quorum', "the UPDATE reported as failed ($unknown[1]{sqlstate}) was not applied");
}

note sprintf('004 total %.1f s', time - $t_start);
done_testing();
