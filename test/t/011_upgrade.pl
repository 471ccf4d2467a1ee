# 011_upgrade.pl — a cluster whose databases still have raft_ext 1.0 (no
# raft_ext.deliver_stream, no raft_ext.custom_settings) under the current
# library: the peers cannot start their streams, raft_peers says what to do,
# the apply workers wait for the update, and after ALTER EXTENSION raft_ext
# UPDATE on every node the cluster elects a leader and replicates.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use RaftCluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

my $c = RaftCluster->new(nodes => 3, extension_sql => q{CREATE EXTENSION raft_ext VERSION '1.0'});
my $n1 = $c->node(1);
is($c->query($n1, q{SELECT extversion FROM pg_extension WHERE extname = 'raft_ext'}), '1.0',
	'the extension was created at version 1.0');

my $errors = '';
my $t0 = time;
while (time - $t0 < 20)
{
	$errors = join ' | ', grep { defined && $_ ne '' } map { $_->{last_error} } @{ $c->peers($n1) // [] };
	last if $errors =~ /ALTER EXTENSION raft_ext UPDATE/;
	sleep 0.1;
}
like($errors, qr/ALTER EXTENSION raft_ext UPDATE/, 'raft_peers tells the operator to update the extension on the peers');
is($c->query($n1, q{SELECT count(*) FROM raft_status WHERE role = 'leader'}), '0',
	'no leader while no stream can start');
is($c->query($n1, q{SELECT apply_worker_state FROM raft_status}), 'waiting for extension',
	'the apply worker waits for the update');

$c->query($_, 'ALTER EXTENSION raft_ext UPDATE') for $c->nodes;
is($c->query($n1, q{SELECT extversion FROM pg_extension WHERE extname = 'raft_ext'}),
	$c->query($n1, q{SELECT default_version FROM pg_available_extensions WHERE name = 'raft_ext'}),
	'updated to the default version');
my ($leader) = $c->wait_for_leader(timeout => 30);
ok($leader, 'a leader once every node is updated') or RaftCluster::stop_here('no leader');
my $r = $c->submit_ok($leader, 'CREATE TABLE after_update (x int)');
ok(defined $c->wait_applied_everywhere($r->{log_index}), 'replicated to every node after the update');
is($c->query($n1, q{SELECT apply_worker_state FROM raft_status}), 'running', 'the apply worker runs');

done_testing();
