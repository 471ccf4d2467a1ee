# 002_replication.pl — writes through raft_submit on the leader and on
# followers (forwarded) reach every node in the same order; a follower reads
# its own write; raft_barrier makes a plain SELECT see every acknowledged
# write; a statement's own error (unique violation) comes back with its
# SQLSTATE and detail and leaves the same state everywhere; a syntax error is
# refused before anything is appended.
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

my $r = $c->submit_ok($leader, 'CREATE TABLE kv (k int PRIMARY KEY, v text NOT NULL)');
like($r->{command_tag}, qr/^CREATE TABLE$/, 'command_tag of DDL');
cmp_ok($r->{log_index}, '>', 0, 'log_index is positive');
is($r->{term}, $term, 'entry carries the current term');

my $r1 = $c->submit_ok($leader, q{INSERT INTO kv VALUES (1, 'on leader')});
# The tag without its counts ("INSERT") or as on the wire ("INSERT 0 1"):
# the count is in rows either way.
like($r1->{command_tag}, qr/^INSERT( 0 1)?$/, 'command_tag of INSERT on the leader');
is($r1->{rows}, 1, 'rows of INSERT');
cmp_ok($r1->{log_index}, '>', $r->{log_index}, 'log_index increases');

my $r2 = $c->submit_ok($f1, q{INSERT INTO kv VALUES (2, 'via follower one')});
like($r2->{command_tag}, qr/^INSERT( 0 1)?$/, 'INSERT on a follower is forwarded and succeeds');
is($r2->{rows}, 1, 'rows of the forwarded INSERT');
cmp_ok($r2->{log_index}, '>', $r1->{log_index}, 'forwarded entry comes after');
is($c->query($f1, 'SELECT v FROM kv WHERE k = 2'), 'via follower one',
	'the submitting follower reads its own write right after raft_submit returns');

my $r3 = $c->submit_ok($f2, q{INSERT INTO kv VALUES (3, 'via follower two')});
my $r4 = $c->submit_ok($f1, q{UPDATE kv SET v = v || '!' WHERE k <= 3});
like($r4->{command_tag}, qr/^UPDATE( 3)?$/, 'UPDATE command_tag');
is($r4->{rows}, 3, 'UPDATE rows');
my $r5 = $c->submit_ok($f2, q{INSERT INTO kv SELECT g, 'bulk ' || g FROM generate_series(10, 109) g});
is($r5->{rows}, 100, 'multi-row INSERT reports 100 rows');

# ReadIndex barrier: a plain SELECT on a follower right after it sees all.
$c->barrier($f1);
is($c->query($f1, 'SELECT count(*) FROM kv'), '103', 'after raft_barrier, a follower sees every acknowledged write');
$c->barrier($leader);
is($c->query($leader, 'SELECT count(*) FROM kv'), '103', 'after raft_barrier, the leader sees every acknowledged write');

ok(defined $c->wait_applied_everywhere($r5->{log_index}), 'every node applied up to the last write');
my $q = q{SELECT k, v FROM kv ORDER BY k};
ok(scalar $c->table_contents_equal($q), 'identical table contents on every node');
is($c->query($f2, 'SELECT v FROM kv WHERE k = 1'), 'on leader!', 'order of INSERT then UPDATE respected on a follower');

# A statement's own error: the caller gets it with SQLSTATE and detail.
my $d = $c->submit($f2, q{INSERT INTO kv VALUES (1, 'duplicate via follower')});
is($d->{outcome}, 'error', 'duplicate key through a follower fails');
is($d->{sqlstate}, '23505', 'with SQLSTATE 23505');
like($d->{error}, qr/duplicate key value violates unique constraint "kv_pkey"/, 'original message');
like($d->{error}, qr/Key \(k\)=\(1\) already exists/, 'original detail');
my $d2 = $c->submit($leader, q{INSERT INTO kv VALUES (2, 'duplicate on leader')});
is($d2->{sqlstate}, '23505', 'duplicate key on the leader: 23505');

# A failing entry mid-batch is recorded the same everywhere; apply goes on.
my $r6 = $c->submit_ok($leader, q{INSERT INTO kv VALUES (4, 'after errors')});
ok(defined $c->wait_applied_everywhere($r6->{log_index}), 'apply goes on after failed entries, on every node');
ok(scalar $c->table_contents_equal($q), 'identical contents after the failed statements');
is($c->query($f1, q{SELECT string_agg(v, ',' ORDER BY k) FROM kv WHERE k <= 4}),
	'on leader!,via follower one!,via follower two!,after errors', 'failed statements changed nothing');
my @applied = map { $c->status($_)->{last_applied} } $c->nodes;
is_deeply([@applied], [ ($applied[0]) x 3 ], 'last_applied equal on every node');

# Syntax errors are refused before anything is appended.  (The leader's own
# periodic entries — outcome checks, outcome retention — may be appended
# meanwhile: count statement entries, payload kind 'RX'.)
my $statements = q{SELECT count(*) FROM raft_ext.log WHERE substring(payload from 1 for 2) = '\x5258'::bytea};
my $before = $c->query($leader, $statements);
my $s = $c->submit($f1, 'INSERT INTO kv VALUS (5)');
is($s->{sqlstate}, '42601', 'syntax error refused with 42601');
is($c->query($leader, $statements), $before, 'nothing appended for a syntax error');

# Garbage on the peers' transport: a raw client speaks the protocol a peer
# speaks (CALL raft_ext.deliver_stream(), then CopyData messages) and sends
# bytes that are no Raft message, an empty message, then CopyDone.  The
# stream must carry on past them and end normally, the node count them, and
# the cluster not notice.
sub pg_msg { my ($type, $body) = @_; return $type . pack('N', 4 + length $body) . $body; }

sub pg_read_msg
{
	my ($sock) = @_;
	my $hdr = '';
	while (length $hdr < 5) { my $n = sysread($sock, $hdr, 5 - length $hdr, length $hdr); return () unless $n; }
	my ($type, $len) = unpack('a N', $hdr);
	my $body = '';
	while (length $body < $len - 4) { my $n = sysread($sock, $body, $len - 4 - length $body, length $body); return () unless $n; }
	return ($type, $body);
}

# Read messages until one of the wanted types; returns (type, body) or () on EOF.
sub pg_read_until
{
	my ($sock, $want) = @_;
	while (my ($type, $body) = pg_read_msg($sock))
	{
		return ($type, $body) if index($want, $type) >= 0;
	}
	return ();
}

{
	use IO::Socket::INET;
	my $target = $f1;
	my $st0 = $c->status($target);
	my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $target->port, Proto => 'tcp')
	  or die "cannot connect: $!";
	my $startup = pack('N', 196608) . "user\0" . getpwuid($<) . "\0database\0postgres\0\0";
	syswrite($sock, pack('N', 4 + length $startup) . $startup);
	my ($t) = pg_read_until($sock, 'ZE');
	is($t, 'Z', 'raw client: connected');
	syswrite($sock, pg_msg('Q', "CALL raft_ext.deliver_stream()\0"));
	($t) = pg_read_until($sock, 'GE');
	is($t, 'G', 'raw client: CALL raft_ext.deliver_stream() answers CopyInResponse');
	syswrite($sock, pg_msg('d', 'not a raft message') . pg_msg('d', '') . pg_msg('d', "RF\x01\x02garbage")
		  . pg_msg('c', ''));
	my ($t2, $b2) = pg_read_until($sock, 'CE');
	is($t2, 'C', 'raw client: the stream ends normally at CopyDone after the garbage')
	  or diag("got $t2: $b2");
	($t) = pg_read_until($sock, 'Z');
	is($t, 'Z', 'raw client: ready for the next query');
	syswrite($sock, pg_msg('X', ''));
	close $sock;
	my $st1;
	my $t0 = time;
	while (time - $t0 < 10)
	{
		$st1 = $c->status($target);
		last if $st1->{messages_refused} >= $st0->{messages_refused} + 2;
		sleep 0.05;
	}
	cmp_ok($st1->{messages_refused}, '>=', $st0->{messages_refused} + 2, 'the undecodable messages were refused');
	cmp_ok($st1->{messages_dropped}, '>=', $st0->{messages_dropped} + 1, 'the empty message was dropped');
	my $r7 = $c->submit_ok($target, q{INSERT INTO kv VALUES (7, 'after garbage')});
	ok(defined $c->wait_applied_everywhere($r7->{log_index}), 'the cluster goes on after garbage on a stream');
}

note sprintf('002 total %.1f s', time - $t_start);
done_testing();
