# 026_compaction.pl — a bounded log (issue #15, first part): applied entries
# that every member holds are removed from raft_ext.log and from memory,
# keeping raft_ext.log_keep_entries; a member that is down holds removal
# back and catches up from the log when it returns; a node restarts from a
# compacted log.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use RaftCluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

my $KEEP = 50;
my $c = RaftCluster->new(nodes => 3, conf => "raft_ext.log_keep_entries = $KEEP\n");
my ($leader) = $c->wait_for_leader(timeout => 30);
ok($leader, 'a leader is elected') or RaftCluster::stop_here('no leader');
my ($f1, $f2) = $c->followers($leader);

$c->submit_ok($leader, q{CREATE TABLE t (k int PRIMARY KEY)});

# n statements through raft_submit, one implicit transaction each
sub write_rows
{
	my ($node, $from, $to) = @_;
	my $script = "SET statement_timeout = '30s';\n";
	$script .= "SELECT log_index FROM raft_submit('INSERT INTO t VALUES ($_)');\n" for $from .. $to;
	my ($ret, $out, $err) = $c->psql($node, $script, timeout => 180);
	is($ret, 0, "rows $from..$to written through " . $node->name) or diag $err;
	return (split /\n/, $out)[-1];
}

sub log_start { my ($n) = @_; return $c->query($n, q{SELECT log_start_index FROM raft_ext.apply_state}); }
sub log_rows  { my ($n) = @_; return $c->query($n, q{SELECT count(*) FROM raft_ext.log}); }


my $last = write_rows($leader, 1, 300);
ok(defined $c->wait_applied_everywhere($last, timeout => 60), 'applied everywhere');
ok($c->wait_until(sub { !grep { log_start($_) < $last - 2 * $KEEP } $c->nodes }, 30),
	'every node removed the old entries') or diag join ', ', map { log_start($_) } $c->nodes;
for my $n ($c->nodes)
{
	my $start = log_start($n);
	my ($min, $rows) = split /\|/, $c->query($n, q{SELECT min(index), count(*) FROM raft_ext.log});
	is($min, $start + 1, $n->name . ': raft_ext.log starts right after log_start_index');
	cmp_ok($rows, '<=', 2 * $KEEP + 10, $n->name . ": at most about 2 x log_keep_entries rows ($rows)");
}
ok(scalar $c->table_contents_equal(q{SELECT count(*), sum(k) FROM t}), 'the same rows everywhere');

# A follower down holds removal back: what it lacks stays in the others' logs.
my $f2_has = $c->status($f2)->{last_log_index};
$c->stop_node($f2);
$last = write_rows($leader, 301, 600);
ok(defined $c->wait_applied_everywhere($last, timeout => 60, nodes => [ $leader, $f1 ]), 'the two others applied them');
sleep 2;	# compaction entries would have been posted and applied by now
cmp_ok(log_start($leader), '<=', $f2_has, "the leader kept every entry the stopped follower lacks (from $f2_has on)");
cmp_ok(log_start($f1), '<=', $f2_has, '... and so did the other follower');

$c->start_node($f2);
ok(defined $c->wait_applied_everywhere($last, timeout => 60), 'the follower came back and caught up from the log');
ok($c->wait_until(sub { log_start($leader) > $f2_has }, 30), 'then removal went on');
ok(scalar $c->table_contents_equal(q{SELECT count(*), sum(k) FROM t}), 'the same rows everywhere');

# A node restarts from its compacted log, and the cluster goes on.
my $start = log_start($leader);
$c->stop_node($leader);
$c->start_node($leader);
ok($c->wait_for_leader(timeout => 30), 'a leader after the restart');
like(slurp_file($leader->logfile), qr/log entries \(from index @{[ $start + 1 ]}\)/,
	'the restarted node loaded its log from where it was compacted');
($leader) = $c->wait_for_leader(timeout => 30);
$last = write_rows($leader, 601, 700);
ok(defined $c->wait_applied_everywhere($last, timeout => 60), 'more writes applied everywhere');
is($c->query($f1, q{SELECT count(*) FROM t}), '700', 'all 700 rows');
ok(scalar $c->table_contents_equal(q{SELECT count(*), sum(k) FROM t}), 'the same rows everywhere');
done_testing();
