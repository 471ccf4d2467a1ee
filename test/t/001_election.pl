# 001_election.pl — three nodes elect exactly one leader; every node agrees
# on the term and the leader; the leader sees every member connected in
# raft_peers; the leadership is stable while nothing fails.  Also: a
# one-node cluster elects itself, and non-default timing settings start.
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
note sprintf('cluster of 3 up and extension created in %.1f s', time - $t_start);

my ($leader, $term, $elapsed) = $c->wait_for_leader(timeout => 30);
ok($leader, 'a leader is elected') or RaftCluster::stop_here('no leader');
my $lid = $c->id_of($leader);
note sprintf('leader node%d elected in term %d, %.2f s after CREATE EXTENSION', $lid, $term, $elapsed);

my @st = map { $c->status($_) } $c->nodes;
is(scalar(grep { $_->{role} eq 'leader' } @st), 1, 'exactly one node is leader');
is_deeply([ map { $_->{node_id} } @st ], [ 1, 2, 3 ], 'raft_status.node_id is the configured raft_ext.node_id');
is_deeply([ map { $_->{term} } @st ], [ ($term) x 3 ], 'all nodes are in the same term');
is_deeply([ map { $_->{leader_id} } @st ], [ ($lid) x 3 ], 'all nodes name the same leader');
is_deeply([ sort map { $_->{role} } grep { $_->{node_id} != $lid } @st ],
	[ 'follower', 'follower' ], 'the two others are followers');
is($st[ $lid - 1 ]{voted_for}, $lid, 'the leader voted for itself in its term');
ok($term >= 1, 'term is at least 1');

# raft_peers on the leader: one row per member, every other member connected.
my ($peers, $all_connected);
my $t0 = time;
while (time - $t0 < 20)
{
	$peers = $c->peers($leader);
	$all_connected = @$peers == 3
	  && !grep { !$_->{is_self} && !$_->{connected} } @$peers;
	last if $all_connected;
	sleep 0.1;
}
is(scalar(@$peers), 3, 'raft_peers on the leader has one row per member');
ok($all_connected, 'raft_peers on the leader shows every other member connected')
  or diag explain $peers;
is_deeply([ map { $_->{node_id} } @$peers ], [ 1, 2, 3 ], 'raft_peers lists members 1, 2, 3');
is_deeply([ map { $_->{node_id} } grep { $_->{is_self} } @$peers ], [$lid],
	'exactly the leader itself is is_self');

# Followers' match_index reaches the leader's last log index.
my $last = $c->status($leader)->{last_log_index};
my $matched;
$t0 = time;
while (time - $t0 < 20)
{
	$peers = $c->peers($leader);
	$matched = !grep { !$_->{is_self} && ($_->{match_index} // -1) < $last } @$peers;
	last if $matched;
	sleep 0.1;
}
ok($matched, "every follower's match_index reaches the leader's last_log_index ($last)")
  or diag explain $peers;

# Stable while nothing fails: same leader and term a few election timeouts later.
sleep 2.5;
my ($leader2, $term2) = $c->wait_for_leader(timeout => 10);
ok($leader2 && $c->id_of($leader2) == $lid, 'the same leader 2.5 s later');
is($term2, $term, 'no new term without a failure');

# A one-node peers list is a valid cluster that elects itself; and election
# timeouts above the defaults (min 400 > max's default 300) are accepted.
my $solo = RaftCluster->new(nodes => 1, name => 'solo', start => 0,
	timing => { election_timeout_min => 400, election_timeout_max => 800, heartbeat_interval => 100 });
my $started = $solo->node(1)->start(fail_ok => 1);
ok($started, 'a node with election_timeout_min 400 / max 800 / heartbeat 100 starts')
  or diag $solo->log_tail($solo->node(1), 1500);
if ($started)
{
	$solo->create_extension;
	my ($sl, $sterm, $sel) = $solo->wait_for_leader(timeout => 20);
	ok($sl, 'a one-node cluster elects itself');
	note sprintf('one-node cluster leader after %.2f s', $sel // -1);
	my $r = $solo->submit_ok($solo->node(1), 'CREATE TABLE solo_t (k int)') if $sl;
}

note sprintf('001 total %.1f s', time - $t_start);
done_testing();
