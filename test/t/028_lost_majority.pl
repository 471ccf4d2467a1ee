# 028_lost_majority.pl — a majority lost for good, and the way out:
# raft_force_single_node().  Three nodes with data; two are stopped and their
# data directories removed; the survivor cannot elect a leader and its writes
# time out; a non-superuser may not force (42501); the superuser's
# raft_force_single_node() makes the survivor the only voter: it becomes
# leader alone, keeps the old data and takes writes; removing it, the last
# voter, is refused (22023); then two fresh servers (one whose raft_ext.peers
# lists only the survivor) are added with raft_add_node and end with
# identical tables.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use RaftCluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

my $c = RaftCluster->new(nodes => 3, pre_sql => q{CREATE ROLE nosuper LOGIN});
my ($leader) = $c->wait_for_leader(timeout => 30);
ok($leader, 'a leader is elected') or RaftCluster::stop_here('no leader');

my $CONTENTS = q{SELECT count(*), coalesce(sum(k), 0), md5(coalesce(string_agg(k || ':' || v, ',' ORDER BY k), '')) FROM t};
my $OLD = q{SELECT count(*), md5(string_agg(k || ':' || v, ',' ORDER BY k)) FROM t WHERE k <= 1000};

$c->submit_ok($leader, q{CREATE TABLE t (k int PRIMARY KEY, v text NOT NULL)});
$c->submit_ok($leader, q{INSERT INTO t SELECT g, 'before ' || g FROM generate_series(1, 300) g ORDER BY g});
my $f = ($c->followers($leader))[0];
$c->submit_ok($f, q{INSERT INTO t SELECT g, 'before ' || g FROM generate_series(301, 1000) g ORDER BY g});
ok(defined $c->wait_caught_up(timeout => 60), 'the three nodes caught up');
ok(scalar $c->wait_contents_equal($CONTENTS, timeout => 30), 'the same table on the three nodes');

# The survivor is a follower: the leader is among the lost.
my $s = $f;
my $sid = $c->id_of($s);
my $old = $c->query($s, $OLD);
is((split /\|/, $old)[0], 1000, 'the survivor holds the 1000 rows');
for my $n (grep { $_ != $s } $c->nodes)
{
	$c->retire_node($n, wipe => 1);
	ok(!-e $n->data_dir, $n->name . ' stopped, its data directory removed');
}

note 'the survivor alone';
sleep 3;
my ($l) = $c->wait_for_leader(nodes => [$s], timeout => 3, quiet => 1);
ok(!$l, 'the survivor cannot elect itself');
my $r = $c->submit($s, q{INSERT INTO t VALUES (2001, 'no majority')}, statement_timeout => '3s');
ok($r->{outcome} ne 'ok' && ($r->{sqlstate} // '') =~ /^(57014|40003)$/,
	'a write times out (' . ($r->{sqlstate} // $r->{outcome}) . ')') or diag $r->{error} // 'it succeeded';

$r = $c->call($s, q{SELECT raft_force_single_node()}, user => 'nosuper');
is($r->{sqlstate}, '42501', 'raft_force_single_node() as a non-superuser: 42501') or diag $r->{error} // 'it succeeded';

my ($ret, $out, $err) = $c->psql($s, q{SELECT raft_force_single_node()});
is($ret, 0, 'raft_force_single_node() as superuser') or diag $err;
like($out, qr/^\d+$/m, "it returns a log index ($out)");
note "its messages: $err" if $err ne '';
my $t0 = time;
($l) = $c->wait_for_leader(nodes => [$s], timeout => 30);
ok($l && $l == $s, 'the survivor becomes leader alone');
note sprintf 'leader %.1f s after forcing', time - $t0;
is($c->query($s, q{SELECT string_agg(node_id || ':' || membership || ':' || membership_pending, ',' ORDER BY node_id) FROM raft_peers}),
	"$sid:voter:false", 'raft_peers: the survivor, the only voter (committed)');
$c->submit_ok($s, q{INSERT INTO t VALUES (2002, 'alone')}, 'the survivor takes writes');
is($c->query($s, $OLD), $old, 'the old data is intact');

$r = $c->remove_member($s, via => $s);
is($r->{sqlstate}, '22023', 'removing the last voter is refused: 22023') or diag $r->{error} // 'it succeeded';

note 'fresh servers added to the survivor';
# the first lists the survivor and itself in raft_ext.peers, the second
# only the survivor (both allowed for a joining node: raft_ext.peers is its
# address book until it has a configuration); should that one not
# become a voter, it is taken out again and a third one (listing the
# members) is added instead, so that the cluster gets its three members
my $added = 0;
for my $k (1 .. 3)
{
	last if $added == 2;
	$t0 = time;
	my $empty = $k == 2;
	my $n = $c->new_node($empty ? (peers => [ $c->id_of($s) ]) : ());
	my $id = $c->id_of($n);
	my $what = $empty ? ' (raft_ext.peers: the survivor only)' : '';
	$r = $c->add_member($n, via => $s, retry => 30);
	ok($r->{ok}, "raft_add_node($id)$what") or diag $r->{error};
	if (!ok(defined $c->wait_membership(on => $s, id => $id, want => 'voter', timeout => 90),
		"node $id$what becomes a voter"))
	{
		diag "node $id: raft_status " . $c->{json}->canonical->encode($c->status($n) // {});
		my $rr = $c->remove_member($n, via => $s, retry => 30);
		diag "taken out again: " . ($rr->{ok} ? "raft_remove_node($id) = $rr->{value}" : $rr->{error});
		$c->retire_node($n);
		next;
	}
	note sprintf 'node %d made and added in %.1f s', $id, time - $t0;
	$c->set_member($n, 1);
	$c->submit_ok($n, "INSERT INTO t VALUES (${\ (3000 + $k)}, 'through node $id')", "a write through node $id");
	ok(defined $c->wait_caught_up(timeout => 90), "node $id caught up");
	$added++;
}
is($added, 2, 'two fresh servers were added') or RaftCluster::stop_here('the cluster did not get three members');
($l) = $c->wait_for_leader(timeout => 30);
ok($l, 'the three members agree on a leader: ' . ($l ? $l->name : 'none'));
is($c->query($l, q{SELECT string_agg(node_id || ':' || membership, ',' ORDER BY node_id) FROM raft_peers}),
	join(',', map { $c->id_of($_) . ':voter' } sort { $c->id_of($a) <=> $c->id_of($b) } $c->running_nodes),
	'raft_peers of the leader: three voters');
ok(scalar $c->wait_contents_equal($CONTENTS, timeout => 60), 'the same table on the three members');
is($c->query($_, $OLD), $old, $_->name . ' holds the old data') for $c->running_nodes;

done_testing();
