# 005_restart_all.pl — restart the whole cluster (two nodes with an
# immediate stop, i.e. crash recovery, the leader with a fast stop): term, vote and log survive on
# every node, all data is intact, the next term is higher than any before,
# and new writes work.
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
for my $i (0 .. 4)
{
	my $node = ($leader, $f1, $f2)[ $i % 3 ];
	my ($a, $b) = ($i * 10 + 1, $i * 10 + 10);
	$c->submit_ok($node, "INSERT INTO kv SELECT g, 'row ' || g FROM generate_series($a, $b) g");
}
ok(defined $c->wait_caught_up, 'caught up before the restart');
my $q = q{SELECT count(*), sum(k), md5(string_agg(k || ':' || v, ',' ORDER BY k)) FROM kv};
my ($eq, $sum_before) = $c->table_contents_equal($q);
ok($eq, 'identical before the restart');
my %before = map { $c->id_of($_) => $c->status($_) } $c->nodes;
my $max_term = (sort { $b <=> $a } map { $_->{term} } values %before)[0];

# A node flushes what it has applied within 10 ms of going idle (apply
# commits asynchronously): crash the followers soon after that, well
# before the WAL writer would have flushed it (up to 3 x wal_writer_delay).
sleep 0.05;

# Followers first (crash-like), then the leader: once a follower is gone
# nothing changes any more (no writes; with pre-vote and check-quorum the
# lone leader may step down but keeps its term, vote and log), so the
# snapshot above stays what each node must come back with.
$c->stop_node($f1, 'immediate');
$c->stop_node($f2, 'immediate');
$c->stop_node($leader, 'fast');

# Each node alone: it cannot win an election (and with pre-vote does not
# even raise its term), so its durable hard state and log are what they were.
for my $node ($c->nodes)
{
	my $id = $c->id_of($node);
	$c->start_node($node);
	my $s;
	my $t0 = time;
	while (time - $t0 < 10)
	{
		$s = $c->status($node);
		last if $s && ($s->{term} // 0) > 0 && ($s->{last_log_index} // 0) > 0;
		sleep 0.05;
	}
	my $b = $before{$id};
	ok($s, "node$id: raft_status readable after restart") or $s = {};
	cmp_ok($s->{term} // 0, '>=', $b->{term}, "node$id: term did not go back ($b->{term})");
	if (($s->{term} // 0) == $b->{term})
	{
		is($s->{voted_for} // 0, $b->{voted_for} // 0, "node$id: vote in term $b->{term} survived");
	}
	else
	{
		ok(1, "node$id: term moved on ($s->{term}) while alone: vote check not applicable");
	}
	# (>=: the leader may have appended an outcome check after the snapshot)
	cmp_ok($s->{last_log_index} // 0, '>=', $b->{last_log_index}, "node$id: last_log_index survived");
	is($s->{last_log_term}, $b->{last_log_term}, "node$id: last_log_term survived");
	isnt($s->{role}, 'leader', "node$id: alone, it is not leader");
	is($c->query($node, $q), $sum_before, "node$id: applied data intact locally");
	$c->stop_node($node, 'fast');
}

# All together again.
my $t0 = time;
$c->start_all;
my ($l2, $term2, $el) = $c->wait_for_leader(timeout => 30);
ok($l2, 'a leader after restarting the whole cluster');
note sprintf('leader node%d in term %d %.2f s after restarting all', $c->id_of($l2), $term2, time - $t0);
cmp_ok($term2, '>', $max_term, "new term $term2 is higher than every term before ($max_term)");
ok(defined $c->wait_caught_up, 'caught up after the restart');
ok(scalar $c->table_contents_equal($q), 'identical contents after the restart');
is($c->query($l2, $q), $sum_before, 'all data intact');
for my $node ($c->nodes)
{
	my $id = $c->id_of($node);
	cmp_ok($c->status($node)->{last_log_index}, '>=', $before{$id}{last_log_index}, "node$id: log not shorter");
}

my ($g1) = $c->followers($l2);
my $w = $c->submit_ok($g1, q{INSERT INTO kv VALUES (1000, 'after full restart')});
is($w->{term}, $term2, 'new write in the new term');
ok(defined $c->wait_caught_up, 'caught up after the new write');
ok(scalar $c->table_contents_equal($q), 'identical contents at the end');
is($c->query($leader, 'SELECT count(*) FROM kv'), '51', 'fifty-one rows');

note sprintf('005 total %.1f s', time - $t_start);
done_testing();
