# 003_failover.pl — kill -9 of the leader (postmaster and all its children,
# like a machine crash): the two others notice its connection closing and
# elect a new leader in a higher term (time printed), writes continue on the new leader and through the other
# follower, and the old leader restarts, rejoins as a follower and catches
# up to identical contents; then raft_transfer_leadership hands the
# leadership back to it (planned failover).
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
my ($old, $term) = $c->wait_for_leader(timeout => 30);
ok($old, 'a leader is elected') or RaftCluster::stop_here('no leader');
my $old_id = $c->id_of($old);
my ($f1, $f2) = $c->followers($old);

$c->submit_ok($old, 'CREATE TABLE kv (k int PRIMARY KEY, v text NOT NULL)');
$c->submit_ok($old, q{INSERT INTO kv VALUES (1, 'before crash, leader')});
$c->submit_ok($f1, q{INSERT INTO kv VALUES (2, 'before crash, follower')});
my $q = q{SELECT k, v FROM kv ORDER BY k};
ok(defined $c->wait_caught_up, 'all caught up before the crash');

my $t0 = $c->kill9($old);
my ($new, $term2) = $c->wait_for_leader(timeout => 30);
my $failover = time - $t0;
ok($new, 'a new leader is elected after kill -9 of the leader')
  or RaftCluster::stop_here('no new leader');
my $new_id = $c->id_of($new);
isnt($new_id, $old_id, 'the new leader is another node');
cmp_ok($term2, '>', $term, 'in a higher term');
note sprintf('failover: node%d killed, node%d leader in term %d; all survivors agreed %.2f s after kill -9 (observed by polling)',
	$old_id, $new_id, $term2, $failover);
my $became = $c->log_time_of_last($new, qr/raft_ext: node $new_id is the leader/);
note sprintf('failover: node%d logged becoming leader %.2f s after kill -9', $new_id, $became - $t0)
  if defined $became && $became >= $t0 - 1;
cmp_ok($failover, '<', 15, 'failover within 15 s');
# The killed server's kernel closed its sockets: a survivor must have taken
# that as the leader being gone and campaigned without waiting out its
# election timeout (raft_leader_unreachable), and said so.
my @noticed = grep { defined $c->log_time_of_last($_, qr/raft_ext: leader node $old_id closed its connection/) }
  ($f1, $f2);
ok(@noticed >= 1, 'a survivor noticed the killed leader close its connection and held an election at once')
  or diag $c->log_tail($f1);

my ($other) = grep { $_ != $new } ($f1, $f2);
$t0 = time;
my $w = $c->submit_ok($new, q{INSERT INTO kv VALUES (3, 'after crash, new leader')});
note sprintf('first write after failover took %.2f s', time - $t0);
is($w->{term}, $term2, 'written in the new term');
$c->submit_ok($other, q{INSERT INTO kv VALUES (4, 'after crash, follower')});
$c->submit_ok($other, q{UPDATE kv SET v = upper(v) WHERE k = 1});
is($c->query($other, 'SELECT count(*) FROM kv'), '4', 'the surviving follower has every write');

# The old leader restarts and catches up.
$t0 = time;
$c->start_node($old);
my ($l3, $term3) = $c->wait_for_leader(timeout => 30);
ok($l3, 'all three agree on a leader after the old leader restarts');
ok(defined $c->wait_caught_up(timeout => 60), 'the old leader catches up');
note sprintf('old leader rejoined and caught up in %.2f s', time - $t0);
ok(scalar $c->table_contents_equal($q), 'identical contents on every node, old leader included');
is($c->query($old, 'SELECT v FROM kv WHERE k = 1'), 'BEFORE CRASH, LEADER', 'old leader applied the writes it missed');
my $s = $c->status($old);
is($s->{term}, $term3, 'the old leader is in the current term');
isnt($s->{role}, 'candidate', 'the old leader is not campaigning');

# Writes through the old leader (now a follower) work.
$c->submit_ok($old, q{INSERT INTO kv VALUES (5, 'through the old leader')});
ok(defined $c->wait_caught_up, 'caught up after the last write');
ok(scalar $c->table_contents_equal($q), 'identical contents at the end');
is($c->query($f1, 'SELECT count(*) FROM kv'), '5', 'five rows');

# Planned failover: hand leadership back to the old leader, now caught up.
my ($cur, $cur_term) = $c->wait_for_leader(timeout => 10);
if ($c->id_of($cur) != $old_id)
{
	$t0 = time;
	my ($ret, $out, $err) = $c->psql($cur, "SELECT raft_transfer_leadership($old_id)");
	is($ret, 0, "raft_transfer_leadership($old_id) succeeds") or diag $err;
	my ($tl, $tterm);
	while (time - $t0 < 20)
	{
		($tl, $tterm) = $c->wait_for_leader(timeout => 10);
		last if $tl && $c->id_of($tl) == $old_id;
		sleep 0.1;
	}
	ok($tl && $c->id_of($tl) == $old_id, "node$old_id is leader after the transfer");
	cmp_ok($tterm // 0, '>', $cur_term, 'in a higher term');
	note sprintf('leadership transfer took %.2f s', time - $t0);
	$c->submit_ok($f1, q{INSERT INTO kv VALUES (6, 'after the transfer')});
	ok(defined $c->wait_caught_up, 'caught up after the transfer');
	ok(scalar $c->table_contents_equal($q), 'identical contents after the transfer');
}

note sprintf('003 total %.1f s', time - $t_start);
done_testing();
