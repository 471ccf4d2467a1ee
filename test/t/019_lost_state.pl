# 019_lost_state.pl — a node never rejoins as someone it is not (issue
# #14): a follower whose raft_ext state is dropped and created again while
# its tables keep their rows refuses to vote or apply and says why; a data
# directory that belongs to another node is refused; the documented repairs
# bring it back: a physical copy of a healthy node with its own identity
# file, and (issue #15) one command on the node, raft_install_snapshot(N),
# which installs a member's database and Raft state online.
use strict;
use warnings;
use File::Copy;
use File::Path qw(rmtree);
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
my ($f, $x) = $c->followers($leader);
my ($fid, $xid) = ($c->id_of($f), $c->id_of($x));

$c->submit_ok($leader, q{CREATE TABLE t (id int)});   # no key: a row applied twice shows
my $w = $c->submit_ok($leader, q{INSERT INTO t SELECT generate_series(1, 3)});
ok(defined $c->wait_applied_everywhere($w->{log_index}, timeout => 30), 'three rows everywhere');
ok(-f $f->data_dir . '/raft_ext_identity', 'every node keeps an identity file in its data directory');

sub wait_state
{
	my ($node, $want) = @_;
	my $st;
	for (1 .. 100)
	{
		$st = $c->status($node);
		last if $st && ($st->{worker_state} // '') eq $want;
		sleep 0.1;
	}
	return $st // {};
}

# ---------------------------------------------------------------------
# DROP EXTENSION / CREATE EXTENSION on a follower: its log, term and vote
# are gone, its tables are not.
# ---------------------------------------------------------------------
$c->query($f, q{SET raft_ext.local_writes = on; DROP EXTENSION raft_ext CASCADE; CREATE EXTENSION raft_ext});
my $st = wait_state($f, 'state lost');
is($st->{worker_state}, 'state lost', 'the follower whose extension was re-created says its state is lost') or diag explain $st;
like($st->{last_apply_error} // '', qr/Raft state was lost: raft_ext's tables are new.*Rebuild this node from a copy of a healthy one/,
	'raft_status says why, and the fix');
like($c->log_tail($f), qr/node $fid does not take part in the cluster: this node's Raft state was lost/, 'so does the server log');

$w = $c->submit_ok($leader, q{INSERT INTO t VALUES (4)});
ok(defined $c->wait_applied_everywhere($w->{log_index}, timeout => 30, nodes => [ $leader, $x ]),
	'the others go on');

# It does not vote: with the leader stopped, the other follower cannot be
# elected by the lost node's vote (which, with its term and vote gone, it
# would give in a term it may already have voted in).
$c->stop_node($leader);
my @l = $c->wait_for_leader(timeout => 3, nodes => [ $x, $f ]);
ok(!@l, 'with the leader down, no leader: the lost node does not vote');
$c->start_node($leader);
($leader) = $c->wait_for_leader(timeout => 30, nodes => [ $leader, $x ]);
ok($leader, 'a leader again once the old leader is back');
$w = $c->submit_ok($leader, q{INSERT INTO t VALUES (5)});
ok(defined $c->wait_applied_everywhere($w->{log_index}, timeout => 30, nodes => [ $leader, $x ]),
	'writes go on');
sleep 1;
is($c->query($f, q{SELECT count(*) || ',' || count(DISTINCT id) FROM t}), '3,3',
	'the lost node applied nothing again after the leader change (no row twice, nothing new)');

# ---------------------------------------------------------------------
# A data directory that belongs to another node.
# ---------------------------------------------------------------------
$c->stop_node($f);
my $conf = $f->data_dir . '/postgresql.conf';
my $saved = PostgreSQL::Test::Utils::tempdir('conf') . '/postgresql.conf';
copy($conf, $saved) or die;
$f->append_conf('postgresql.conf', "raft_ext.node_id = $xid\n");
$c->start_node($f);
$st = wait_state($f, 'state lost');
like($st->{last_apply_error} // '', qr/this data directory holds the Raft state of node $fid, but this server is configured as node $xid/,
	'a server configured as another member refuses that data directory') or diag explain $st;
$c->stop_node($f);
copy($saved, $conf) or die;

# ---------------------------------------------------------------------
# The repair: a copy of a healthy node (the other follower, stopped for
# the copy) with the node's own configuration and its own identity file
# put back: the node adopts the copy, with a vote floor at the highest term
# it ever reached, so it may start at once.
# ---------------------------------------------------------------------
my $identity = PostgreSQL::Test::Utils::tempdir('identity') . '/raft_ext_identity';
copy($f->data_dir . '/raft_ext_identity', $identity) or die;
my ($old_high) = PostgreSQL::Test::Utils::slurp_file($identity) =~ /^high_term (\d+)$/m;
ok(defined $old_high, "the lost node's identity file says the highest term it reached ($old_high)");
$c->stop_node($x);
rmtree($f->data_dir);
system('cp', '-a', $x->data_dir, $f->data_dir) == 0 or die 'copy failed';
copy($saved, $conf) or die;
copy($identity, $f->data_dir . '/raft_ext_identity') or die;
unlink($f->data_dir . '/postmaster.pid');
$c->start_node($x);
$c->start_node($f);
$st = wait_state($f, 'running');
is($st->{worker_state}, 'running', 'the rebuilt node runs');
like($c->log_tail($f), qr/node $fid adopts the Raft state in this data directory \(a copy of another node, at term \d+\); it will not vote in any term up to $old_high/,
	'it adopted the copy, with a vote floor at its highest term');
($leader) = $c->wait_for_leader(timeout => 30);
ok($leader, 'a leader');
$w = $c->submit_ok($f, q{INSERT INTO t VALUES (6)});
ok(defined $c->wait_applied_everywhere($w->{log_index}, timeout => 30), 'it takes part again');
ok(scalar $c->wait_contents_equal(q{SELECT * FROM t ORDER BY id}), 'same rows everywhere');

# ---------------------------------------------------------------------
# A node restored from an old copy of its own data directory carries its
# old identity along: the leader notices its log went back.
# ---------------------------------------------------------------------
($leader) = $c->wait_for_leader(timeout => 30);
my ($g) = $c->followers($leader);
my $gid = $c->id_of($g);
my $old = PostgreSQL::Test::Utils::tempdir('old_copy') . '/pgdata';
$c->stop_node($g);
system('cp', '-a', $g->data_dir, $old) == 0 or die 'copy failed';
$c->start_node($g);
$w = $c->submit_ok($leader, q{INSERT INTO t SELECT generate_series(7, 9)});
ok(defined $c->wait_applied_everywhere($w->{log_index}, timeout => 30), 'three more rows everywhere');
$c->stop_node($g);
rmtree($g->data_dir);
system('cp', '-a', $old, $g->data_dir) == 0 or die 'restore failed';
$c->start_node($g);
my $seen = 0;
for (1 .. 100)
{
	$seen = $c->log_tail($leader) =~ /node ${gid}'s log went back: it had acknowledged entries up to \d+ and now holds \d+/;
	last if $seen;
	sleep 0.1;
}
ok($seen, "the leader reports that node ${gid}'s log went back");
ok(defined $c->wait_applied_everywhere($w->{log_index}, timeout => 30), 'and catches it up');
ok(scalar $c->wait_contents_equal(q{SELECT * FROM t ORDER BY id}), 'same rows everywhere');

# ---------------------------------------------------------------------
# The one-command repair: the same loss on a running follower, repaired
# online by raft_install_snapshot(N): it takes the member's database and
# Raft state in one transaction, and its Raft worker, restarted, adopts
# them with a vote floor at the highest term it ever reached.
# ---------------------------------------------------------------------
($leader) = $c->wait_for_leader(timeout => 30);
($f) = $c->followers($leader);
$fid = $c->id_of($f);
my $lid = $c->id_of($leader);
($old_high) = PostgreSQL::Test::Utils::slurp_file($f->data_dir . '/raft_ext_identity') =~ /^high_term (\d+)$/m;
$c->query($f, q{SET raft_ext.local_writes = on; DROP EXTENSION raft_ext CASCADE; CREATE EXTENSION raft_ext});
$st = wait_state($f, 'state lost');
is($st->{worker_state}, 'state lost', 'a running follower whose extension was re-created says its state is lost')
  or diag explain $st;
like($st->{last_apply_error} // '', qr/raft_install_snapshot/, 'and names the one-command repair');
my ($ret, $out, $err) = $c->psql($f, 'SELECT raft_install_snapshot()');
like($err, qr/no leader is known/, 'without a leader of its own, it must be told whom to copy');
($ret, $out, $err) = $c->psql($f, "SELECT raft_install_snapshot($lid)", timeout => 60);
is($ret, 0, "raft_install_snapshot($lid) on the lost node") or diag $err;
like($out, qr/^\d+$/, "it returns the copy's index ($out)");
$st = wait_state($f, 'running');
is($st->{worker_state}, 'running', 'the repaired node runs again');
like($c->log_tail($f, 20000), qr/node $fid adopts the Raft state in this data directory \(a copy of another node, at term \d+\); it will not vote in any term up to $old_high/,
	'its Raft worker adopted the copied state, with a vote floor at its highest term');
($leader) = $c->wait_for_leader(timeout => 30);
$w = $c->submit_ok($leader, q{INSERT INTO t VALUES (10)});
ok(defined $c->wait_applied_everywhere($w->{log_index}, timeout => 30), 'it takes part again');
ok(scalar $c->wait_contents_equal(q{SELECT * FROM t ORDER BY id}), 'same rows everywhere, none applied twice');

note sprintf('019 total %.1f s', time - $t_start);
done_testing();
