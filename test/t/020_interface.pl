# 020_interface.pl — an interface applications can build on (issue #16):
# parameters bound on every node, through a follower too.
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
my ($leader) = $c->wait_for_leader(timeout => 30);
ok($leader, 'a leader is elected') or RaftCluster::stop_here('no leader');
my ($f1, $f2) = $c->followers($leader);

$c->submit_ok($leader, q{CREATE TABLE p (id int PRIMARY KEY, t text, ts timestamptz, j jsonb, b bytea, n numeric)});

# ---------------------------------------------------------------------
# Parameters through a follower, with settings that differ per session
# ---------------------------------------------------------------------
my ($ret, $out, $err) = $c->psql($f1, q{SET TimeZone = 'Asia/Kolkata'; SET DateStyle = 'German';
SELECT log_index FROM raft_submit('INSERT INTO p VALUES ($1, $2, $3, $4, $5, $6)',
    1, $$O'Reilly'); DROP TABLE p; --$$::text, '2024-02-29 23:59:59.5+01'::timestamptz,
    '{"k": [1, "two", null]}'::jsonb, '\x0001ff'::bytea, 1e-30::numeric)});
is($ret, 0, 'raft_submit with six parameters through a follower') or diag $err;
my $idx = (split /\n/, $out)[-1];
ok(defined $c->wait_applied_everywhere($idx, timeout => 30), 'applied everywhere');
my $w;
ok(scalar $c->wait_contents_equal(q{SELECT id, t, ts, j, b, n FROM p ORDER BY id}), 'the same row on every node');
is($c->query($f2, q{SELECT t = $$O'Reilly'); DROP TABLE p; --$$ AND ts = '2024-02-29 22:59:59.5+00' AND j = '{"k": [1, "two", null]}' AND b = '\x0001ff' AND n = 1e-30 FROM p WHERE id = 1}),
	't', 'every value exactly as the caller bound it (the text was never spliced)');

# ---------------------------------------------------------------------
# raft_query: RETURNING through a follower, and a SELECT run as an entry
# ---------------------------------------------------------------------
$c->submit_ok($leader, q{CREATE TABLE q (id serial PRIMARY KEY, v text)});
my $ids = $c->query($f2, q{SELECT string_agg(id::text, ',' ORDER BY id) FROM raft_query('INSERT INTO q (v) SELECT $1 || g FROM generate_series(1, 3) g RETURNING id', 'v') AS r(id int)});
is($ids, '1,2,3', 'the generated ids come back through a follower');
my $seen = $c->query($f1, q{SELECT string_agg(id || '=' || v, ',' ORDER BY id) FROM raft_query('SELECT id, v FROM q WHERE id >= $1', 2) AS r(id int, v text)});
is($seen, '2=v2,3=v3', 'a SELECT run as an entry returns its rows');
ok(scalar $c->wait_contents_equal(q{SELECT * FROM q ORDER BY id}), 'the same rows everywhere');

# ---------------------------------------------------------------------
# A request id retried after the leader was killed while its client waited
# (40003): applied exactly once, on every node
# ---------------------------------------------------------------------
$c->submit_ok($leader, q{CREATE TABLE counter (id int PRIMARY KEY, n int)});
$w = $c->submit_ok($leader, q{INSERT INTO counter VALUES (1, 0)});
ok(defined $c->wait_applied_everywhere($w->{log_index}, timeout => 30), 'counter everywhere');
# the leader stops in the middle: SIGSTOP, so the submission's fate is unknown to its client
$c->pause($leader);
($ret, $out, $err) = $c->psql($f1, q{SET statement_timeout = '1s';
SELECT log_index FROM raft_submit_once('bump-1', 'UPDATE counter SET n = n + 1 WHERE id = 1')});
like($err, qr/40003|57014/, 'with the leader stopped the client does not know the outcome') or diag $err;
$c->kill9($leader);
my ($new) = $c->wait_for_leader(timeout => 30, nodes => [ $f1, $f2 ]);
ok($new, 'a new leader');
my @tags;
for my $try (1 .. 3)
{
	($ret, $out, $err) = $c->psql($f2, q{SELECT log_index || ' ' || command_tag || ' ' || rows FROM raft_submit_once('bump-1', 'UPDATE counter SET n = n + 1 WHERE id = 1')});
	push @tags, $ret == 0 ? (split /\n/, $out)[-1] : "error: $err";
}
is(scalar(grep { /^\d+ UPDATE 1$/ } @tags), 3, 'three blind retries each get the outcome UPDATE 1') or diag explain \@tags;
my %idx = map { (split / /)[0] => 1 } @tags;
is(scalar keys %idx, 1, '... all of the same (original) log entry');
$c->start_node($leader);
$c->wait_caught_up(timeout => 60);
ok(scalar $c->wait_contents_equal(q{SELECT n FROM counter WHERE id = 1}), 'the same counter on every node');
is($c->query($f2, q{SELECT n FROM counter WHERE id = 1}), '1', 'applied exactly once');
is($c->query($f1, q{SELECT count(*) FROM raft_outcome('bump-1')}), '1', 'raft_outcome finds it by its request id');

# ---------------------------------------------------------------------
# raft_ext.read_consistency = linearizable: a read on a follower that has
# not applied a write acknowledged elsewhere waits for it (with 'local' it
# does not: shown first)
# ---------------------------------------------------------------------
($leader) = $c->wait_for_leader(timeout => 30);
my ($g1, $g2) = $c->followers($leader);
$c->submit_ok($leader, q{CREATE TABLE rc (id int)});
$w = $c->submit_ok($leader, q{INSERT INTO rc VALUES (1)});
ok(defined $c->wait_applied_everywhere($w->{log_index}, timeout => 30), 'rc everywhere');
my $dir = PostgreSQL::Test::Utils::tempdir('rc');
my $holder = $c->start_script($g2, qq{
BEGIN;
LOCK TABLE rc IN SHARE MODE;
DO \$\$
BEGIN
	FOR i IN 1 .. 600 LOOP
		EXIT WHEN (pg_stat_file('$dir/release', true)).size IS NOT NULL;
		PERFORM pg_sleep(0.05);
	END LOOP;
END \$\$;
COMMIT;
});
for (1 .. 100)
{
	last if $c->query($g2, q{SELECT count(*) FROM pg_locks WHERE relation = 'rc'::regclass AND mode = 'ShareLock' AND granted});
	sleep 0.1;
}
$w = $c->submit_ok($leader, q{INSERT INTO rc VALUES (2)}, 'a write acknowledged on the leader');
is($c->query($g2, q{SELECT count(*) FROM rc}), '1', "with read_consistency = local the follower's read does not see it yet");
my $reader = $c->start_script($g2, q{SET raft_ext.read_consistency = linearizable; SELECT count(*) FROM rc;});
sleep 0.5;
open my $fh, '>', "$dir/release" or die; close $fh;
my $read = $c->finish_script($reader, 60);
is($read->{out}, "2\n", 'with read_consistency = linearizable it waits for it and sees it') or diag explain $read;
$c->finish_script($holder, 60);
($ret, $out, $err) = $c->psql($g2, q{SET raft_ext.read_consistency = linearizable; BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM rc; COMMIT;});
like($err, qr/0A000: raft_ext.read_consistency = linearizable needs READ COMMITTED/, 'REPEATABLE READ is refused rather than served stale');

note sprintf('020 total %.1f s', time - $t_start);
done_testing();
