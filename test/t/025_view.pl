# 025_view.pl — raftctl view (issue #18): one member's connection string is
# enough to see every member's state, as for a cluster on real hosts: the
# members are found through raft_peers and reached at the addresses there.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use RaftCluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $raftctl = "$FindBin::RealBin/../../scripts/raftctl";
plan skip_all => 'python3-psycopg2 is not installed (scripts/install-deps.sh installs it)'
  unless system('/usr/bin/python3', '-c', 'import psycopg2') == 0;

my $c = RaftCluster->new(nodes => 3);
my ($leader) = $c->wait_for_leader(timeout => 30);
ok($leader, 'a leader is elected') or RaftCluster::stop_here('no leader');
my ($f1, $f2) = $c->followers($leader);
$c->submit_ok($leader, q{CREATE TABLE t (x int)});
$c->wait_caught_up(timeout => 30);

sub dsn { my ($node) = @_; return 'host=' . $node->host . ' port=' . $node->port . ' dbname=postgres'; }

sub view
{
	my ($node, @args) = @_;
	my ($out, $err);
	my $rc = IPC::Run::run([ $raftctl, 'view', ref $node ? dsn($node) : $node, @args ], '>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

my $lid = $c->id_of($leader);
my ($rc, $out, $err) = view($f1);
is($rc, 0, 'from a follower\'s connection string: exit 0') or diag "$out\n$err";
my @rows = grep { /^\d+ / } split /\n/, $out;
is(scalar @rows, 3, 'one line per member');
is(scalar(grep { /^\d+\s+\S+\s+up\s/ } @rows), 3, 'every member up');
like((grep { /^$lid\s/ } @rows)[0], qr/^$lid\s+\S+\s+up\s+leader\s/, "node $lid is shown as the leader");
is(scalar(grep { /\sfollower\s/ } @rows), 2, 'two followers');
like($out, qr/^leader: node $lid \(term \d+\); 3 of 3 members up; max lag 0$/m, 'the summary line');

$c->stop_node($f2);
my $fid = $c->id_of($f2);
($rc, $out, $err) = view($leader);
is($rc, 1, 'a member down: exit 1');
like($out, qr/^$fid\s+\S+\s+down\s/m, "node $fid is shown down");
like($out, qr/^$fid\s.*leader not connected/m, '... and the leader says it has no connection to it');
like($out, qr/^leader: node $lid; 2 of 3 members up/m, 'the summary says so');

($rc, $out, $err) = view($f1, '--watch', '0.2', '--count', '2');
is(scalar(() = $out =~ /^leader: /mg), 2, '--watch --count 2: two views');

($rc, $out, $err) = view('host=127.0.0.1 port=1 dbname=postgres connect_timeout=1');
is($rc, 2, 'a first node that cannot be read: exit 2');
like($err, qr/cannot read raft_peers/, '... and says why');
done_testing();
