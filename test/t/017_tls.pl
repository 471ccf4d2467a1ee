# 017_tls.pl — the peers talk over TLS with client certificates, for real.
# The test makes a CA, a server certificate per node (for 127.0.0.1 and
# localhost) and a client certificate per node whose CN is that node's peer
# login role raft_node<k>.  Every node has ssl = on; pg_hba.conf lets the
# three peer roles in over TCP only with TLS and a valid client certificate
# (hostssl ... cert clientcert=verify-full) and rejects every other TCP
# connection; node k reaches every peer as raft_node<k> with
# sslmode=verify-full, the CA and its own client certificate.
#
# Checked: a leader is elected and writes (on the leader and forwarded by a
# follower) replicate to all three; raft_peers on the leader shows every peer
# connected; on every node the peers' stream backends are TLS with the
# client DN /CN=raft_node<k> of the node that opened them, and no TCP
# connection is without TLS; a plain TCP connection is refused by pg_hba, a
# TLS one without a client certificate is refused, so is one whose
# certificate names another role; kill -9 of the leader: a new leader is
# elected over TLS, a write replicates to the survivors, and the old node
# restarts and catches up.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use RaftCluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run ();
use Time::HiRes qw(time sleep);

my $t_start = time;
my $N = 3;

# ---------- certificates ----------

my $certdir = PostgreSQL::Test::Utils::tempdir('tls');

# Our own minimal openssl configuration: does not depend on the system's
# openssl.cnf.
my $cnf = "$certdir/openssl.cnf";
open my $cfh, '>', $cnf or die "cannot write $cnf: $!";
print $cfh <<'EOC';
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ server ]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
[ client ]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
EOC
close $cfh;

sub openssl
{
	my @cmd = ('openssl', @_);
	my ($out, $err);
	IPC::Run::run(\@cmd, '<', \undef, '>', \$out, '2>', \$err)
	  or die "@cmd failed: $err";
	return;
}

sub new_key
{
	my ($file) = @_;
	openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', $file);
	# The server refuses a key file others can read; so does libpq.
	chmod 0600, $file or die "chmod $file: $!";
	return;
}

my $serial = 1;
# A certificate for $cn signed by the CA, with the extensions of $section.
sub new_cert
{
	my ($base, $cn, $section) = @_;
	new_key("$base.key");
	openssl('req', '-new', '-config', $cnf, '-key', "$base.key", '-subj', "/CN=$cn",
		'-out', "$base.csr");
	openssl('x509', '-req', '-in', "$base.csr", '-CA', "$certdir/ca.crt",
		'-CAkey', "$certdir/ca.key", '-set_serial', $serial++, '-days', '2',
		'-extfile', $cnf, '-extensions', $section, '-out', "$base.crt");
	return;
}

new_key("$certdir/ca.key");
openssl('req', '-new', '-x509', '-config', $cnf, '-key', "$certdir/ca.key",
	'-subj', '/CN=raft_ext test CA', '-days', '2', '-extensions', 'v3_ca',
	'-out', "$certdir/ca.crt");
for my $k (1 .. $N)
{
	new_cert("$certdir/server$k", "node$k", 'server');
	new_cert("$certdir/client$k", "raft_node$k", 'client');
}
note sprintf('certificates made in %.2f s', time - $t_start);

# ---------- the cluster ----------

my $roles = join(',', map { "raft_node$_" } 1 .. $N);
# The harness connects over the Unix socket (trust).  Over TCP only the
# peers' roles, only with TLS and a client certificate whose CN is the role.
my $hba = <<"EOH";
local all all trust
hostssl all $roles 127.0.0.1/32 cert clientcert=verify-full
host all all 127.0.0.1/32 reject
EOH

my $c = RaftCluster->new(
	nodes         => $N,
	hba           => $hba,
	start         => 0,
	pre_sql       => join('', map { "CREATE ROLE raft_node$_ LOGIN;\n" } 1 .. $N),
	peer_conninfo => sub {
		my ($cluster, $from, $to) = @_;
		my $k = $cluster->id_of($from);
		return sprintf('host=127.0.0.1 port=%d dbname=postgres user=raft_node%d '
			  . 'sslmode=verify-full sslrootcert=%s sslcert=%s sslkey=%s',
			$cluster->peer_port($to), $k, "$certdir/ca.crt",
			"$certdir/client$k.crt", "$certdir/client$k.key");
	});
for my $node ($c->nodes)
{
	my $k = $c->id_of($node);
	$node->append_conf('postgresql.conf', <<"EOC");
ssl = on
ssl_cert_file = '$certdir/server$k.crt'
ssl_key_file = '$certdir/server$k.key'
ssl_ca_file = '$certdir/ca.crt'
raft_ext.peer_roles = '1=raft_node1, 2=raft_node2, 3=raft_node3'
EOC
}
$c->start_all;
$c->create_extension;

# The grants the peers' roles need (README, "The peers' login roles"), made
# on each node through the write guard's escape hatch: the nodes cannot talk
# before they exist.
my $grants = "SET raft_ext.local_writes = on;\nGRANT USAGE ON SCHEMA raft_ext TO $roles;\n"
  . "GRANT EXECUTE ON PROCEDURE raft_ext.deliver_stream() TO $roles;\n"
  . "GRANT EXECUTE ON FUNCTION raft_ext.deliver(bytea) TO $roles;\n"
  . "GRANT EXECUTE ON FUNCTION raft_ext.forward_submit(bytea, integer, bigint) TO $roles;\n";
$c->query($_, $grants) for $c->nodes;

note 'node1 reaches node2 with: '
  . $c->query($c->node(1), q{SELECT conninfo FROM raft_peers WHERE node_id = 2});

my ($leader, $term, $el) = $c->wait_for_leader(timeout => 30);
ok($leader, 'a leader is elected with the peers on TLS and client certificates')
  or RaftCluster::stop_here('no leader');
note sprintf('leader node%d after %.2f s (since the start of the test: %.2f s)',
	$c->id_of($leader), $el, time - $t_start);

# raft_peers: every other member connected.  A node's raft_peers shows its
# own outgoing connections only, so every node is asked: a node that cannot
# reach the others (say, refused by their pg_hba) still shows as connected
# on the leader, which reaches it.
sub all_connected
{
	my ($node, $timeout) = @_;
	my $t0 = time;
	my $peers;
	while (1)
	{
		$peers = $c->peers($node);
		my $ok = @$peers == $N && !grep { !$_->{is_self} && !$_->{connected} } @$peers;
		return 1 if $ok;
		last if time - $t0 > $timeout;
		sleep 0.1;
	}
	diag 'raft_peers on ' . $node->name . ': '
	  . join('; ', map { "$_->{node_id}: connected=" . ($_->{connected} ? 't' : 'f')
		  . ' last_error=' . ($_->{last_error} // '') } @$peers);
	return 0;
}
ok(all_connected($leader, 20), 'raft_peers on the leader shows every peer connected');
ok(all_connected($_, 20), 'raft_peers on ' . $_->name . ' (follower) shows every peer connected')
  for $c->followers($leader);

# Writes on the leader and through a follower (forwarded to the leader over
# a TLS connection of its own).
my ($f1, $f2) = $c->followers($leader);
$c->submit_ok($leader, 'CREATE TABLE kv (k int PRIMARY KEY, v text NOT NULL)');
$c->submit_ok($leader, q{INSERT INTO kv VALUES (1, 'on the leader')});
$c->submit_ok($f1, q{INSERT INTO kv VALUES (2, 'through a follower')});
my $q = q{SELECT k, v FROM kv ORDER BY k};
my ($eq, $rows) = $c->wait_contents_equal($q);
ok($eq, 'the writes replicate to all three nodes');
is($rows, "1|on the leader\n2|through a follower", 'with the expected contents');

# ---------- the peers' connections are TLS with the right client DN ----------

# On node j: one stream backend from every other node k, as raft_node<k>,
# application_name 'raft_ext node k', ssl = true, client DN /CN=raft_node<k>.
my $streams_sql = q{
	SELECT a.usename || '|' || a.application_name || '|' || s.ssl || '|'
	       || coalesce(s.client_dn, '') || '|' || coalesce(s.version, '')
	FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
	WHERE a.usename LIKE 'raft_node%' AND a.application_name LIKE 'raft_ext node %'
	ORDER BY a.usename};
sub check_streams
{
	my ($nodes, $timeout) = @_;
	for my $node (@$nodes)
	{
		my $j = $c->id_of($node);
		my @others = grep { $_ != $j } map { $c->id_of($_) } @$nodes;
		my $want = join("\n", map { "raft_node$_|raft_ext node $_|true|/CN=raft_node$_" } @others);
		my ($got, $t0) = ('', time);
		while (time - $t0 < $timeout)
		{
			$got = $c->query($node, $streams_sql);
			last if join("\n", map { s/\|[^|]*$//r } split /\n/, $got) eq $want;
			sleep 0.1;
		}
		is(join("\n", map { s/\|[^|]*$//r } split /\n/, $got), $want,
			$node->name . ': the peers\' streams are TLS, each with the client certificate of the node that opened it');
		note $node->name . ": $_" for split /\n/, $got;
	}
	return;
}
check_streams([ $c->nodes ], 20);

# Whatever else comes in over TCP (the forwarded raft_submit of the
# follower) is TLS too, as a peer role whose certificate names it.
for my $node ($c->nodes)
{
	is($c->query($node, q{
		SELECT count(*) FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
		WHERE a.client_addr IS NOT NULL
		  AND (NOT s.ssl OR s.client_dn IS DISTINCT FROM '/CN=' || a.usename)}), '0',
		$node->name . ': no TCP connection without TLS or with a certificate of another role');
}

# ---------- what is refused ----------

# Connect with psql to $node with the given extra conninfo; returns
# (exit code, stdout, stderr).
sub try_connect
{
	my ($node, $extra) = @_;
	my $conninfo = sprintf('host=127.0.0.1 port=%d dbname=postgres connect_timeout=10 %s',
		$node->port, $extra);
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'psql', '-XAtq', '-d', $conninfo, '-c', 'SELECT current_user' ],
		'<', \undef, '>', \$out, '2>', \$err);
	chomp $out;
	return ($? >> 8, $out, $err);
}
my $target = $c->node(1);
my $ca  = "sslrootcert=$certdir/ca.crt";
my $cc1 = "sslcert=$certdir/client1.crt sslkey=$certdir/client1.key";
# Not existing: libpq then sends no client certificate.
my $nocert = "sslcert=$certdir/none.crt sslkey=$certdir/none.key";

my ($ret, $out, $err) = try_connect($target, "user=raft_node1 sslmode=verify-full $ca $cc1");
is("$ret|$out", '0|raft_node1', 'control: TLS with node1\'s client certificate as raft_node1 is let in')
  or diag $err;
($ret, $out, $err) = try_connect($target, "user=raft_node1 sslmode=disable $cc1");
isnt($ret, 0, 'a plain TCP connection (sslmode=disable) is refused');
like($err, qr/pg_hba\.conf rejects connection for host "127\.0\.0\.1", user "raft_node1", database "postgres", no encryption/,
	'... by the pg_hba reject line');
($ret, $out, $err) = try_connect($target, "user=raft_node1 sslmode=verify-full $ca $nocert");
isnt($ret, 0, 'a TLS connection without a client certificate is refused');
like($err, qr/connection requires a valid client certificate/, '... for want of a client certificate');
($ret, $out, $err) = try_connect($target, "user=raft_node2 sslmode=verify-full $ca $cc1");
isnt($ret, 0, 'a TLS connection as raft_node2 with node1\'s certificate is refused');
like($err, qr/certificate authentication failed for user "raft_node2"/, '... by certificate authentication');
($ret, $out, $err) = try_connect($target, "user=postgres sslmode=verify-full $ca $cc1");
isnt($ret, 0, 'the superuser over TLS with a valid certificate is refused');
like($err, qr/pg_hba\.conf rejects connection for host "127\.0\.0\.1", user "postgres", database "postgres", SSL encryption/,
	'... by the pg_hba reject line');

# ---------- failover over TLS ----------

ok(defined $c->wait_caught_up, 'all caught up before the crash');
my $old_id = $c->id_of($leader);
my $t0 = $c->kill9($leader);
my ($new, $term2) = $c->wait_for_leader(timeout => 30);
ok($new, 'a new leader is elected after kill -9 of the leader')
  or RaftCluster::stop_here('no new leader');
note sprintf('node%d leader in term %d, %.2f s after kill -9 of node%d',
	$c->id_of($new), $term2, time - $t0, $old_id);
isnt($c->id_of($new), $old_id, 'the new leader is another node');
cmp_ok($term2, '>', $term, 'in a higher term');
my ($other) = grep { $_ != $new } $c->running_nodes;
$c->submit_ok($new, q{INSERT INTO kv VALUES (3, 'after the crash, new leader')});
$c->submit_ok($other, q{INSERT INTO kv VALUES (4, 'after the crash, through the follower')});
($eq, $rows) = $c->wait_contents_equal($q);
ok($eq, 'the writes after the crash replicate to both survivors');
like($rows, qr/^3\|after the crash, new leader\n4\|after the crash, through the follower$/m,
	'with the new rows');

# The old node restarts, reconnects over TLS both ways and catches up.
$t0 = time;
$c->start_node($leader);
($eq, $rows) = $c->wait_contents_equal($q, timeout => 30);
ok($eq, 'the restarted node catches up: identical contents on all three');
is(scalar(split /\n/, $rows), 4, 'four rows');
note sprintf('node%d restarted and caught up in %.2f s', $old_id, time - $t0);
my ($l3) = $c->wait_for_leader(timeout => 20);
ok($l3, 'all three agree on a leader after the restart');
ok(all_connected($_, 20), 'raft_peers on ' . $_->name . ' shows every peer connected again')
  for $c->nodes;
check_streams([ $c->nodes ], 20);

note sprintf('017 total %.1f s', time - $t_start);
done_testing();
