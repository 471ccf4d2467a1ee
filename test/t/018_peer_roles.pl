# 018_peer_roles.pl — a peer can only speak for itself (issue #14): with
# raft_ext.peer_roles, a message is accepted only from the member whose
# login role its connection authenticated as.  The attack of the issue:
# whoever may call raft_ext.deliver on one node forges "the leader, this
# term" AppendEntries carrying SQL; it must not be appended, committed or
# applied anywhere.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use RaftCluster;
use RaftWire;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

my $t_start = time;
my $c = RaftCluster->new(nodes => 3, start => 0,
	pre_sql => join('', map { "CREATE ROLE raft_node$_ LOGIN SUPERUSER;\n" } 1 .. 3)
	  . "CREATE ROLE mallory LOGIN;\n");
# node k logs in to every peer as raft_node<k>; every node maps the roles
for my $node ($c->nodes)
{
	my $k = $c->id_of($node);
	my $peers = join(',', map { $c->id_of($_) . '=host=127.0.0.1 port=' . $_->port . " dbname=postgres user=raft_node$k" } $c->nodes);
	$node->append_conf('postgresql.conf', "raft_ext.peers = '$peers'\nraft_ext.peer_roles = '1=raft_node1, 2=raft_node2, 3=raft_node3'\n");
}
$c->start_all;
$c->create_extension;
$c->query($_, q{SET raft_ext.local_writes = on; GRANT USAGE ON SCHEMA raft_ext TO mallory; GRANT EXECUTE ON FUNCTION raft_ext.deliver(bytea) TO mallory; GRANT EXECUTE ON PROCEDURE raft_ext.deliver_stream() TO mallory})
  for $c->nodes;

my ($leader) = $c->wait_for_leader(timeout => 30);
ok($leader, 'a leader is elected with every member speaking as its own role') or RaftCluster::stop_here('no leader');
my ($f, $x) = $c->followers($leader);
my ($lid, $fid, $xid) = map { $c->id_of($_) } ($leader, $f, $x);
$c->submit_ok($leader, q{CREATE TABLE t (id int PRIMARY KEY)});
my $w = $c->submit_ok($x, q{INSERT INTO t VALUES (1)});
ok(defined $c->wait_applied_everywhere($w->{log_index}, timeout => 30), 'writes replicate');
my $streams = $c->query($leader, q{SELECT string_agg(usename, ',' ORDER BY usename) FROM pg_stat_activity WHERE query LIKE 'CALL raft_ext.deliver_stream()%'});
is($streams, join(',', map { "raft_node$_" } sort grep { $_ != $lid } 1 .. 3), "the leader's peer streams come from the other members' roles");

my $cluster_id = $c->query($f, RaftWire::cluster_id_sql());

sub refused { return $c->status($f)->{messages_refused}; }

sub deliver_as
{
	my ($role, $bytes) = @_;
	return $c->psql($f, 'SELECT raft_ext.deliver(' . RaftWire::bytea($bytes) . ')', user => $role);
}

# A control: a vote request node x may send (lower term, so it changes
# nothing), delivered as x's own role, is taken (not refused).
my $st = $c->status($f);
my $vote = sub {
	my ($from) = @_;
	RaftWire::request_vote(cluster_id => $cluster_id, from => $from, to => $fid, term => 1,
		last_index => 0, last_term => 0);
};
my $before = refused();
my ($ret, $out, $err) = deliver_as("raft_node$xid", $vote->($xid));
is($ret, 0, "node ${xid}'s role delivers a message from node $xid") or diag $err;
sleep 0.5;
is(refused(), $before, '... and it is not refused');

# The same message claiming to come from the leader: refused, counted.
($ret, $out, $err) = deliver_as("raft_node$xid", $vote->($lid));
is($ret, 0, 'deliver returns at once (it does not look at the bytes)');
my $r;
for (1 .. 50) { $r = refused(); last if $r > $before; sleep 0.1; }
is($r, $before + 1, "a message claiming node $lid on node ${xid}'s role is refused and counted");

# The attack: "the leader, this term" AppendEntries carrying SQL that the
# follower would commit and apply at once.
$st = $c->status($f);
my $forged = RaftWire::append_entries(cluster_id => $cluster_id, from => $lid, to => $fid,
	term => $st->{term}, prev_index => $st->{last_log_index}, prev_term => $st->{last_log_term},
	commit => $st->{last_log_index} + 1,
	entries => [ { term => $st->{term}, data => RaftWire::statement_payload('postgres', 'INSERT INTO t VALUES (666)') } ]);
$before = refused();
($ret, $out, $err) = deliver_as("raft_node$xid", $forged);
is($ret, 0, 'a forged AppendEntries is handed over');
for (1 .. 50) { $r = refused(); last if $r > $before; sleep 0.1; }
is($r, $before + 1, '... and refused');
sleep 0.5;
is($c->query($f, 'SELECT count(*) FROM t WHERE id = 666'), '0', 'nothing of it was applied');
is($c->query($f, q{SELECT count(*) FROM raft_ext.log WHERE encode(payload, 'escape') LIKE '%VALUES (666)%'}), '0',
	'nor appended');
like($c->log_tail($f), qr/refused a message that says it comes from node $lid on a connection of node ${xid}'s role/,
	'the server log says what was refused');

# A member's own role with a term beyond the bound (2^62 - 1): refused by
# the decoder, nothing changes (a term near 2^64 would wrap at the next
# increment).
$st = $c->status($f);
$before = refused();
($ret, $out, $err) = deliver_as("raft_node$xid", RaftWire::request_vote(cluster_id => $cluster_id,
	from => $xid, to => $fid, term => '9223372036854775808', last_index => 1000000, last_term => '9223372036854775808',
	transfer => 1));
is($ret, 0, 'a vote request with term 2^63 is handed over');
for (1 .. 50) { $r = refused(); last if $r > $before; sleep 0.1; }
is($r, $before + 1, '... refused');
my $after = $c->status($f);
is($after->{term}, $st->{term}, '... and the term is unchanged');
is($after->{voted_for}, $st->{voted_for}, '... and so is the vote');

# A role that speaks for no member cannot deliver at all.
($ret, $out, $err) = deliver_as('mallory', $vote->($xid));
like($err, qr/42501: raft_ext: role "mallory" does not speak for any member/, 'a role not in raft_ext.peer_roles: 42501');
($ret, $out, $err) = $c->psql($f, 'CALL raft_ext.deliver_stream()', user => 'mallory');
like($err, qr/42501: raft_ext: role "mallory" does not speak for any member/, '... for the stream too');

# Malformed settings are refused.
for my $bad ('1=a, 1=b', '1=a, 2=a', 'x=a', '1=', '1=a 2=b')
{
	($ret, $out, $err) = $c->psql($f, "ALTER SYSTEM SET raft_ext.peer_roles = '$bad'");
	like($err, qr/invalid value for parameter "raft_ext.peer_roles"/, "raft_ext.peer_roles = '$bad' is refused");
}

# The cluster is intact: a write after all this is applied everywhere, and
# every node holds the same rows.
$w = $c->submit_ok($f, q{INSERT INTO t VALUES (2)});
ok(defined $c->wait_applied_everywhere($w->{log_index}, timeout => 30), 'the cluster goes on');
ok(scalar $c->wait_contents_equal(q{SELECT * FROM t ORDER BY id}), 'same rows everywhere');

note sprintf('018 total %.1f s', time - $t_start);
done_testing();
