# 010_five_nodes.pl — five nodes (peers given as key=value connection
# strings): two followers killed (-9), writes still work with 3 of 5; the
# leader killed too (2 of 5 left), writes fail with a clear error; the
# three restart and all five converge to identical contents with every
# acknowledged write, the outcome-unknown one everywhere or nowhere.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use RaftCluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

my $t_start = time;
my $c = RaftCluster->new(nodes => 5, peer_format => 'kv');
my ($leader, $term, $el) = $c->wait_for_leader(timeout => 30);
ok($leader, 'five nodes elect a leader') or RaftCluster::stop_here('no leader');
note sprintf('leader node%d after %.2f s', $c->id_of($leader), $el);
my @f = $c->followers($leader);
is(scalar @f, 4, 'four followers');

$c->submit_ok($leader, 'CREATE TABLE kv (k int PRIMARY KEY, v text NOT NULL)');
$c->submit_ok($f[0], q{INSERT INTO kv VALUES (1, 'five up')});
ok(defined $c->wait_caught_up, 'caught up on all five');

# Two followers down: 3 of 5 is a majority.
$c->kill9($f[0]);
$c->kill9($f[1]);
$c->submit_ok($leader, q{INSERT INTO kv VALUES (2, 'three up, leader')}, 'write on the leader with 3 of 5 up');
$c->submit_ok($f[2], q{INSERT INTO kv VALUES (3, 'three up, follower')}, 'write through a follower with 3 of 5 up');
my ($l2) = $c->wait_for_leader(timeout => 10);
is($c->id_of($l2), $c->id_of($leader), 'the leader kept its place');

# The leader down too: 2 of 5.
$c->kill9($leader);
my $u = $c->submit($f[2], q{INSERT INTO kv VALUES (100, 'two up')}, statement_timeout => '3s');
note sprintf('with 2 of 5 up: %s after %.2f s: %s', $u->{outcome}, $u->{elapsed}, ($u->{error} // '') =~ s/\n/ /gr);
isnt($u->{outcome}, 'ok', 'no write with 2 of 5 up');
ok(defined $u->{sqlstate}, 'a clear error with an SQLSTATE');
cmp_ok($u->{elapsed}, '<', 8, 'within statement_timeout (3 s) plus slack');
my @s = grep { $_ } map { $c->status($_) } $c->running_nodes;
is(scalar(grep { $_->{role} eq 'leader' } @s), 0, 'no leader among the two survivors');

# Restart the three.
my $t0 = time;
$c->start_node($_) for ($f[0], $f[1], $leader);
my ($l3, $term3, $el3) = $c->wait_for_leader(timeout => 30);
ok($l3, 'all five agree on a leader after the restart');
note sprintf('leader node%d in term %d, %.2f s after restarting three nodes', $c->id_of($l3), $term3, time - $t0);
cmp_ok($term3, '>', $term, 'in a higher term');
$c->submit_ok($f[3], q{INSERT INTO kv VALUES (4, 'all back')});
ok(defined $c->wait_caught_up(timeout => 60), 'all five caught up');
my $q = q{SELECT k, v FROM kv ORDER BY k};
ok(scalar $c->table_contents_equal($q), 'identical contents on all five');
is($c->query($l3, 'SELECT count(*) FROM kv WHERE k IN (1, 2, 3, 4)'), '4', 'every acknowledged write is there');
my @k100 = map { $c->query($_, 'SELECT count(*) FROM kv WHERE k = 100') } $c->nodes;
ok((!grep { $_ ne $k100[0] } @k100), 'the unacknowledged write is on every node or none');
is($k100[0], '0', 'a write reported as failed was not applied') if $u->{outcome} eq 'error';

note sprintf('010 total %.1f s', time - $t_start);
done_testing();
