# 007_pause.pl — a follower frozen (SIGSTOP of its postmaster and every
# child) for 2 s, then resumed: the leader keeps committing with the other
# follower meanwhile; after the paused node rejoins there is no new election
# (same leader, same term on every node) and it catches up.
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
my $lid = $c->id_of($leader);
my ($paused, $other) = $c->followers($leader);

$c->submit_ok($leader, 'CREATE TABLE kv (k int PRIMARY KEY, v text NOT NULL)');
ok(defined $c->wait_caught_up, 'caught up before the pause');
# Settle: the term must be stable before we measure anything.
sleep 1;
($leader, $term) = $c->wait_for_leader(timeout => 10);
is($c->id_of($leader), $lid, 'leader stable before the pause');

my $t0 = time;
$c->pause($paused);
$c->submit_ok($leader, q{INSERT INTO kv VALUES (1, 'during pause, leader')});
$c->submit_ok($other, q{INSERT INTO kv VALUES (2, 'during pause, follower')});
my $left = 2 - (time - $t0);
sleep $left if $left > 0;
$c->resume($paused);
note sprintf('node%d paused for %.2f s', $c->id_of($paused), time - $t0);

# Several election timeouts for the resumed node to misbehave, if it will.
sleep 3;
my ($l2, $term2) = $c->wait_for_leader(timeout => 10);
ok($l2, 'all three agree on a leader after the resume');
is($c->id_of($l2), $lid, 'the same leader');
is($term2, $term, 'the same term: the paused node did not cause an election');
my @terms = map { $c->status($_)->{term} } $c->nodes;
is_deeply(\@terms, [ ($term) x 3 ], 'every node is still in the term from before the pause');

my $w = $c->submit_ok($paused, q{INSERT INTO kv VALUES (3, 'through the resumed node')});
ok(defined $c->wait_caught_up, 'the resumed node caught up');
ok(scalar $c->table_contents_equal(q{SELECT k, v FROM kv ORDER BY k}), 'identical contents on every node');
is($c->query($paused, 'SELECT count(*) FROM kv'), '3', 'the resumed node has the writes made while it was frozen');
my ($l3, $term3) = $c->wait_for_leader(timeout => 10);
is($term3, $term, 'still no new term at the end');

note sprintf('007 total %.1f s', time - $t_start);
done_testing();
