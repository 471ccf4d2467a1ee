# 006_catchup.pl — a follower is stopped while 2000 entries are committed
# by the other two (submitted from 8 concurrent sessions, half of them
# through the live follower); restarted, it catches up (batched, pipelined
# AppendEntries) to identical contents.  Throughput and catch-up time are
# printed.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use RaftCluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

my $N        = 2000;
my $SESSIONS = 8;

my $t_start = time;
my $c = RaftCluster->new(nodes => 3);
my ($leader, $term) = $c->wait_for_leader(timeout => 30);
ok($leader, 'a leader is elected') or RaftCluster::stop_here('no leader');
my ($lag, $live) = $c->followers($leader);

$c->submit_ok($leader, 'CREATE TABLE big (k int PRIMARY KEY, v text NOT NULL)');
ok(defined $c->wait_caught_up, 'caught up before stopping a follower');
my $lag_before = $c->status($lag)->{last_applied};
$c->stop_node($lag, 'fast');

# Each statement is its own implicit transaction (raft_submit refuses to
# run inside a transaction block).
my @jobs;
my $per = $N / $SESSIONS;
for my $s (0 .. $SESSIONS - 1)
{
	my $script = "SET statement_timeout = '60s';\n";
	for my $k ($s * $per + 1 .. ($s + 1) * $per)
	{
		$script .= "SELECT log_index FROM raft_submit('INSERT INTO big VALUES ($k, md5(${k}::text))');\n";
	}
	push @jobs, [ ($s % 2 ? $live : $leader), $script ];
}
my $t0 = time;
my @res = $c->run_scripts_parallel(\@jobs, timeout => 300);
my $took = time - $t0;
my $acked = 0;
my $max_index = 0;
for my $r (@res)
{
	for my $line (split /\n/, $r->{out})
	{
		next unless $line =~ /^(\d+)$/;
		$acked++;
		$max_index = $1 if $1 > $max_index;
	}
}
is(scalar(grep { $_->{ret} != 0 } @res), 0, 'every session ran without error')
  or diag join("\n", map { $_->{err} } grep { $_->{ret} != 0 } @res);
is($acked, $N, "$N entries acknowledged with one follower down");
note sprintf('%d raft_submit calls from %d sessions in %.2f s: %.0f entries/s',
	$acked, $SESSIONS, $took, $acked / ($took || 1));
is($c->query($live, 'SELECT count(*) FROM big'), $N, 'the live follower applied them all')
  if defined $c->wait_applied_everywhere($max_index, timeout => 60);

# The lagging follower comes back and catches up.
$t0 = time;
$c->start_node($lag);
my $caught = $c->wait_applied_everywhere($max_index, timeout => 120);
ok(defined $caught, sprintf('the restarted follower caught up from index %d to %d', $lag_before, $max_index));
note sprintf('catch-up of %d entries took %.2f s after restart', $max_index - $lag_before, time - $t0);
my $q = q{SELECT count(*), sum(k), md5(string_agg(k || ':' || v, ',' ORDER BY k)) FROM big};
ok(scalar $c->table_contents_equal($q), 'identical contents on every node');
is($c->query($lag, 'SELECT count(*) FROM big'), $N, "the restarted follower has all $N rows");
# Catching up, the follower applies outcome checks in the same batches as
# entries they cover: it must find their outcomes, and not say "diverged"
# (the chaos suite found it did: src/apply.c records a batch's outcomes
# before an outcome check).
is(join(',', map { $c->status($_)->{apply_worker_state} } $c->nodes), 'running,running,running',
	'no node says diverged after the catch-up');
is($c->query($lag, q{SELECT coalesce(last_apply_error, '') FROM raft_status}), '',
	'... nor has an apply error');

my ($l2, $term2) = $c->wait_for_leader(timeout => 30);
is($c->id_of($l2), $c->id_of($leader), 'the leader is unchanged by the catch-up');
$c->submit_ok($lag, q{INSERT INTO big VALUES (0, 'after catch-up')});
ok(defined $c->wait_caught_up, 'caught up after one more write');
ok(scalar $c->table_contents_equal($q), 'identical contents at the end');

note sprintf('006 total %.1f s', time - $t_start);
done_testing();
