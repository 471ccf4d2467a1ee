# 008_security.pl — the peers connect as a non-superuser login role with a
# SCRAM password (pg_hba: scram-sha-256 on 127.0.0.1), holding only the
# grants on the internal entry points; the cluster works; statements are
# applied as the submitting role (its own permission error comes back, no
# superuser applies on its behalf); a role without the grants is refused
# raft_ext.deliver and raft_submit (42501); the password shows in neither
# raft_peers, pg_settings for an ordinary user, nor the server logs.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use RaftCluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

my $PW = 'Pe3rSecretXq7';
my $t_start = time;

# The harness connects over the Unix socket (trust); every TCP connection,
# i.e. every peer connection, needs a SCRAM password.
my $hba = <<'EOH';
local all all trust
host all all 127.0.0.1/32 scram-sha-256
EOH

my $c = RaftCluster->new(
	nodes         => 3,
	peer_user     => 'raft_peer',
	peer_password => $PW,
	hba           => $hba,
	conf          => "password_encryption = 'scram-sha-256'",
	pre_sql       => "CREATE ROLE raft_peer LOGIN PASSWORD '$PW';\n"
	  . "CREATE ROLE app LOGIN;\nCREATE ROLE nogrant LOGIN;\n");

# The DBA's grants to the peers' login role: usage of the extension's schema
# and EXECUTE on the internal entry points (the deliver_stream procedure,
# the deliver and forwarding functions), which the extension revokes from
# PUBLIC.  And raft_submit to the
# application role only.
# (The peers cannot talk before these grants exist, so they are made on
# each node, through the write guard's escape hatch, as the README says.)
my $grants = <<'EOS';
SET raft_ext.local_writes = on;
DO $$
DECLARE
	s name;
	f regprocedure;
BEGIN
	FOR s IN SELECT DISTINCT n.nspname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
	         JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e'
	         JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'raft_ext'
	         WHERE p.proname ~ '^deliver' OR p.proname ~ 'forward'
	LOOP
		EXECUTE format('GRANT USAGE ON SCHEMA %I TO raft_peer', s);
	END LOOP;
	FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
	         JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e'
	         JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'raft_ext'
	         WHERE p.proname ~ '^deliver' OR p.proname ~ 'forward'
	LOOP
		EXECUTE format('GRANT EXECUTE ON ROUTINE %s TO raft_peer', f);
	END LOOP;
	FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
	         JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e'
	         JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'raft_ext'
	         WHERE p.proname IN ('raft_submit', 'raft_barrier')
	LOOP
		EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO app', f);
	END LOOP;
END
$$;
EOS
$c->query($_, $grants) for $c->nodes;
note 'granted to raft_peer: ' . $c->query($c->node(1), q{
	SELECT string_agg(p.oid::regprocedure::text, ', ' ORDER BY p.proname) FROM pg_proc p
	WHERE p.pronamespace = 'raft_ext'::regnamespace AND has_function_privilege('raft_peer', p.oid, 'EXECUTE')});

is($c->query($c->node(1), q{SELECT rolsuper FROM pg_roles WHERE rolname = 'raft_peer'}), 'f',
	'the peers\' role is not a superuser');
my ($leader, $term, $el) = $c->wait_for_leader(timeout => 30);
ok($leader, 'a leader is elected with peers authenticating by SCRAM as raft_peer')
  or RaftCluster::stop_here('no leader');
note sprintf('leader after %.2f s', $el);
my ($f1, $f2) = $c->followers($leader);

# Peer connections really are raft_peer over TCP.
my $t0 = time;
my ($peer_conns, $other_tcp);
while (time - $t0 < 20)
{
	$peer_conns = $c->query($leader,
		q{SELECT count(*) FROM pg_stat_activity WHERE usename = 'raft_peer' AND client_addr IS NOT NULL});
	last if $peer_conns >= 2;
	sleep 0.1;
}
cmp_ok($peer_conns, '>=', 2, 'the leader has inbound connections from both peers as raft_peer');
$other_tcp = $c->query($leader,
	q{SELECT count(*) FROM pg_stat_activity WHERE client_addr IS NOT NULL AND usename <> 'raft_peer'});
is($other_tcp, '0', 'no peer connects as any other role');

# The peers' streams (CALL raft_ext.deliver_stream()) hold no snapshot, so
# they never hold back VACUUM however long they live.
my $with_xmin = 0;
for (1 .. 5)
{
	$with_xmin += $c->query($leader,
		q{SELECT count(*) FROM pg_stat_activity WHERE usename = 'raft_peer' AND client_addr IS NOT NULL AND backend_xmin IS NOT NULL});
	sleep 0.1;
}
is($with_xmin, 0, 'the peers\' stream backends hold no xmin');

# Writes by an ordinary role, on the leader and through a follower.
$c->submit_ok($leader, q{CREATE TABLE sec_data (k int PRIMARY KEY, who text NOT NULL DEFAULT current_user)});
$c->submit_ok($leader, q{GRANT SELECT, INSERT ON sec_data TO app});
$c->submit_ok($leader, q{CREATE TABLE secret (k int)});
my $a1 = $c->submit_ok($leader, q{INSERT INTO sec_data (k) VALUES (1)}, 'app writes on the leader', user => 'app');
my $a2 = $c->submit_ok($f1, q{INSERT INTO sec_data (k) VALUES (2)}, 'app writes through a follower', user => 'app');
ok(defined $c->wait_caught_up, 'caught up');
my $q = q{SELECT k, who FROM sec_data ORDER BY k};
my ($eq, $rows) = $c->table_contents_equal($q);
ok($eq, 'identical contents on every node');
is($rows, "1|app\n2|app", 'statements were applied as the submitting role on every node');

# The statement's own permission error comes back; nothing applied anywhere.
my $p = $c->submit($f2, q{INSERT INTO secret VALUES (1)}, user => 'app');
is($p->{sqlstate}, '42501', 'app inserting into a table it has no right on: 42501 (applied as app, not as a superuser)');
my $p2 = $c->submit($leader, q{INSERT INTO secret VALUES (2)}, user => 'app');
is($p2->{sqlstate}, '42501', 'same on the leader');
$c->submit_ok($leader, q{INSERT INTO sec_data (k) VALUES (3)}, 'apply goes on', user => 'app');
ok(defined $c->wait_caught_up, 'caught up');
is_deeply([ map { $c->query($_, 'SELECT count(*) FROM secret') } $c->nodes ], [ 0, 0, 0 ],
	'the refused statement changed nothing on any node');

# Roles without the grants.
my ($ret, $out, $err) = $c->psql($leader, q{SELECT raft_ext.deliver('\x00'::bytea)}, user => 'nogrant');
like($err, qr/ERROR:\s+42501/, 'raft_ext.deliver by a role without the grant: 42501');
($ret, $out, $err) = $c->psql($f1, q{SELECT raft_ext.deliver('\x00'::bytea)}, user => 'app');
like($err, qr/ERROR:\s+42501/, 'raft_ext.deliver by a role with only raft_submit: 42501');
($ret, $out, $err) = $c->psql($leader, q{CALL raft_ext.deliver_stream()}, user => 'nogrant');
like($err, qr/ERROR:\s+42501/, 'raft_ext.deliver_stream by a role without the grant: 42501');
my $n = $c->submit($leader, q{INSERT INTO sec_data (k) VALUES (99)}, user => 'nogrant');
is($n->{sqlstate}, '42501', 'raft_submit by a role without the grant: 42501');
$n = $c->submit($f1, q{INSERT INTO sec_data (k) VALUES (98)}, user => 'nogrant');
is($n->{sqlstate}, '42501', 'raft_submit by a role without the grant on a follower: 42501');
is($c->query($leader, 'SELECT count(*) FROM sec_data WHERE k > 3'), '0', 'nothing written by them');

# The password is masked.
my $peers_text = $c->query($leader, q{SELECT string_agg(p::text, ' ') FROM raft_peers p});
unlike($peers_text, qr/\Q$PW\E/, 'raft_peers does not show the password');
like($peers_text, qr/127\.0\.0\.1/, 'raft_peers shows the connection strings');
my $status_text = $c->query($f1, q{SELECT s::text FROM raft_status s});
unlike($status_text, qr/\Q$PW\E/, 'raft_status does not show the password');
($ret, $out, $err) = $c->psql($f1,
	q{SELECT coalesce(string_agg(setting, ','), '') FROM pg_settings WHERE name LIKE 'raft_ext.%'},
	user => 'app');
unlike($out . $err, qr/\Q$PW\E/, 'an ordinary role cannot read the password from the raft_ext settings');

# Kill a peer connection: the worker survives and the cluster goes on.
$c->query($leader, q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'raft_peer'});
$c->submit_ok($f2, q{INSERT INTO sec_data (k) VALUES (4)}, 'writes go on after pg_terminate_backend of the peers\' backends', user => 'app');
ok(defined $c->wait_caught_up, 'caught up');
ok(scalar $c->table_contents_equal($q), 'identical contents at the end');

for my $node ($c->nodes)
{
	my $log = slurp_file($node->logfile);
	unlike($log, qr/\Q$PW\E/, $node->name . ': the password is not in the server log');
}

note sprintf('008 total %.1f s', time - $t_start);
done_testing();
