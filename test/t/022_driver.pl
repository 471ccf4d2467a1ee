# 022_driver.pl — real clients (issue #16, part 7): a libpq program that
# speaks the extended protocol (Parse/Bind/Execute, bound parameters, as
# drivers and ORMs do), psycopg2, and pgbench -M prepared, all through
# transparent mode (raft_ext.route_writes) and raft_submit's parameters, on
# the leader and on followers; every node must end with the same tables.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use RaftCluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $t_start = time;
my $src     = "$FindBin::RealBin/../driver";

# the libpq client, built here with the system's compiler and libpq
my $bin = PostgreSQL::Test::Utils::tempdir('driver') . '/route_client';
my $pg_config = $ENV{PG_CONFIG} // 'pg_config';
chomp(my $inc    = `$pg_config --includedir`);
chomp(my $libdir = `$pg_config --libdir`);
system('cc', '-Wall', '-Werror', "-I$inc", '-o', $bin, "$src/route_client.c", "-L$libdir", '-lpq') == 0
  or BAIL_OUT('cannot build test/driver/route_client.c');
my $have_psycopg2 = system('/usr/bin/python3', '-c', 'import psycopg2') == 0;

my $c = RaftCluster->new(nodes => 3);
my ($leader) = $c->wait_for_leader(timeout => 30);
ok($leader, 'a leader is elected') or RaftCluster::stop_here('no leader');
my ($f1, $f2) = $c->followers($leader);

sub dsn { my ($node) = @_; return 'host=' . $node->host . ' port=' . $node->port . ' dbname=postgres'; }

sub run
{
	my (@cmd) = @_;
	my ($out, $err) = run_command(\@cmd);
	diag $err if $err ne '';
	return $out eq '' ? '' : "$out\n";	# run_command chomps
}

# ---------------------------------------------------------------------
# The extended protocol: PQprepare / PQexecPrepared / PQexecParams, on a
# follower and on the leader
# ---------------------------------------------------------------------
$c->submit_ok($leader, q{CREATE TABLE drv (who text, n int, doc jsonb, PRIMARY KEY (who, n))});
for my $case ([ $f1, 'f1' ], [ $leader, 'ld' ])
{
	my ($node, $who) = @$case;
	my @lines = split /\n/, run($bin, dsn($node), $who);
	my $where = $node == $leader ? 'the leader' : 'a follower';
	is_deeply([ @lines[ 2 .. 7 ] ],
		[ map { "INSERT 0 1|$who,$_," . ($_ < 6 ? "$who-$_" : 'NULL') } 1 .. 6 ],
		"on $where: six prepared INSERT ... RETURNING, each its tag and its row") or diag explain \@lines;
	is($lines[8], 'UPDATE 6', "on $where: UPDATE with bound parameters reports its row count");
	like($lines[9], qr/^DELETE 2\|1[56]\|1[56]$/, "on $where: DELETE ... RETURNING");
	is($lines[10], 'ERROR 23505', "on $where: the statement's own error, with its SQLSTATE");
	is($lines[12], 'ERROR 25001', "on $where: a write in a transaction block is refused");
	is($lines[14], "INSERT 0 1|$who,20,NULL", "on $where: a pipeline's first write is routed");
	like($lines[15], qr/^ERROR 25001$/, "on $where: ... its second, before the same Sync, is refused");
	is($lines[16], 'SELECT 5|11|12|13|14|20', "on $where: the rows as applied");
}
ok(scalar $c->wait_contents_equal(q{SELECT * FROM drv ORDER BY who, n}), 'the same rows on every node');
is($c->query($f2, q{SELECT count(*) FROM drv}), '10', '... 2 x 5 of them');

# ---------------------------------------------------------------------
# pgbench -M prepared, plain INSERTs through transparent mode, on a follower
# ---------------------------------------------------------------------
$c->submit_ok($leader, q{CREATE TABLE pb (client int, n int, PRIMARY KEY (client, n))});
my $script = PostgreSQL::Test::Utils::tempdir('pgbench') . '/insert.sql';
open my $fh, '>', $script or die;
print $fh "\\set n :n + 1\nINSERT INTO pb (client, n) VALUES (:client_id, :n);\n";
close $fh;
{
	local $ENV{PGOPTIONS} = '-c raft_ext.route_writes=on';
	my ($out, $err) = run_command([ 'pgbench', '-n', '-M', 'prepared', '-f', $script, '-c', '4', '-t', '25',
		'-D', 'n=0', '-h', $f2->host, '-p', $f2->port, 'postgres' ]);
	like($out, qr/number of transactions actually processed: 100\/100/, 'pgbench -M prepared: 100 routed INSERTs')
	  or diag "$out\n$err";
	unlike($out . $err, qr/number of failed transactions: [1-9]/, '... none failed');
}
ok(scalar $c->wait_contents_equal(q{SELECT count(*), sum(n), count(DISTINCT client) FROM pb}), 'the same rows on every node');
is($c->query($leader, q{SELECT count(*) FROM pb}), '100', '... all 100 of them');

# ---------------------------------------------------------------------
# psycopg2: raft_submit's parameters, raft_query's RETURNING, transparent
# mode, a request id retried after the leader was killed
# ---------------------------------------------------------------------
SKIP:
{
	skip 'python3-psycopg2 is not installed (scripts/install-deps.sh installs it)', 11 unless $have_psycopg2;
	my @py = ('/usr/bin/python3', "$src/session.py");
	is(run(@py, dsn($leader), 'setup'), "setup: CREATE TABLE\n", 'psycopg2: the table');
	is(run(@py, dsn($f1), 'params'), <<'EOF', 'psycopg2 on a follower: parameters and RETURNING');
raft_submit: INSERT 1
raft_query RETURNING: [(2, '100.50'), (3, '0')]
raft_query UPDATE RETURNING: 100.00
raft_submit NULL: UPDATE 1
EOF
	my $transparent = <<'EOF';
transparent: INSERT 0 1 rowcount=1 returning=(True, 5.25)
transparent: UPDATE 1 rowcount=1
transparent: read back 10.50
transparent: in a transaction: ERROR 25001: raft_ext.route_writes cannot route a write inside a transaction block
EOF
	is(run(@py, dsn($f2), 'transparent', 'carol'), $transparent, 'psycopg2 on a follower: transparent mode');
	is(run(@py, dsn($leader), 'transparent', 'dave'), $transparent, 'psycopg2 on the leader: transparent mode');
	my $first = run(@py, dsn($f1), 'once', 'bob-bonus-1');
	like($first, qr/^raft_submit_once: entry (\d+): UPDATE 1$/, 'psycopg2: a request id, applied');
	my ($idx) = $first =~ /entry (\d+)/;
	$c->kill9($leader);
	my ($new) = $c->wait_for_leader(timeout => 30, nodes => [ $f1, $f2 ]);
	ok($new, 'a new leader after kill -9 of the old one');
	is(run(@py, dsn($f2), 'once', 'bob-bonus-1'), "raft_submit_once: entry $idx: UPDATE 1\n",
		'psycopg2: the same request id retried after the failover gets the original outcome');
	$c->start_node($leader);
	$c->wait_caught_up(timeout => 60);
	my ($eq, $rows) = $c->wait_contents_equal(q{SELECT name, balance, opened, doc, photo FROM account ORDER BY name});
	ok($eq, 'psycopg2: the same accounts on every node');
	is($c->query($leader, q{SELECT balance FROM account WHERE name = 'bob'}), '10',
		'the bonus was applied once');
	is($c->query($f2, q{SELECT count(*) FROM account WHERE name = $$O'Reilly; DROP TABLE account; --$$
		AND balance = 1234567890.0000000001 AND opened = '2024-02-29 23:59:59.5+00'
		AND doc = '{"tags": ["a", null, 3]}' AND photo = '\x0001ff'}), '1',
		'every value exactly as the application bound it');
	is(run(@py, dsn($f2), 'check'), run(@py, dsn($leader), 'check'), 'psycopg2 reads the same on two nodes');
}

note sprintf('022 total %.1f s', time - $t_start);
done_testing();
