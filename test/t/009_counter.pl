# 009_counter.pl — exactly-once under failures.  `UPDATE counter SET n =
# n + 1` is submitted 200 times one by one, round robin over the live nodes
# (so most go through follower forwarding), plus two concurrent bursts:
# the leader is killed (-9) twice while statements are in flight, once under
# a session connected to the leader itself, once under a session whose
# statements a follower forwards; the killed node is restarted later.  Each
# submission is counted as acknowledged, failed (an error other than 40003:
# must not be applied) or unknown (40003 or a broken connection).  At the
# end every node has the same n and acked <= n <= acked + unknown: no lost
# acknowledged update, no double apply, no applied "failure".
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use RaftCluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

my $TOTAL = 200;
my $UPD   = 'UPDATE counter SET n = n + 1 WHERE id = 1';

my $t_start = time;
my $c = RaftCluster->new(nodes => 3);
my ($leader) = $c->wait_for_leader(timeout => 30);
ok($leader, 'a leader is elected') or RaftCluster::stop_here('no leader');
$c->submit_ok($leader, 'CREATE TABLE counter (id int PRIMARY KEY, n bigint NOT NULL)');
$c->submit_ok($leader, 'INSERT INTO counter VALUES (1, 0)');

my %count = (ok => 0, failed => 0, unknown => 0, sent => 0);
my %codes;

sub account_one
{
	my ($r) = @_;
	$count{sent}++;
	if ($r->{outcome} eq 'ok')
	{
		$count{ok}++;
		$count{bad_rows}++ unless ($r->{rows} // '') eq '1';
	}
	elsif ($r->{outcome} eq 'unknown')
	{
		$count{unknown}++;
		$codes{ $r->{sqlstate} // 'connection' }++;
	}
	else
	{
		# 'error' (an SQLSTATE other than 40003) or 'noconnect'.
		$count{failed}++;
		$codes{ $r->{sqlstate} // $r->{outcome} }++;
	}
	return;
}

# A background psql session of $n submissions; the leader is killed while
# it runs.  With ON_ERROR_STOP the session ends at its first error; without,
# every statement runs and each error is counted by its SQLSTATE.
sub burst_with_leader_kill
{
	my ($node, $leader, $n, $stop_on_error) = @_;
	my $script = "SET statement_timeout = '10s';\n"
	  . ("SELECT rows FROM raft_submit('$UPD');\n" x $n);
	my $job = $c->start_script($node, $script, on_error_stop => $stop_on_error);
	sleep 0.5;
	my $t0 = time;
	$c->kill9($leader);
	my $r = $c->finish_script($job, 600);
	my $acked = () = $r->{out} =~ /^1$/mg;
	my @errs = $r->{err} =~ /ERROR:\s+([0-9A-Z]{5}):/g;
	# psql's own connection lost (exit code 2), not an error message that
	# quotes a server-to-server connection failure.
	my $conn_lost = $r->{ret} == 2 || $r->{err} =~ /^psql:.*error: connection to server was lost/m;
	my ($unknown, $failed) = (0, 0);
	for my $e (@errs)
	{
		$codes{$e}++;
		$e eq '40003' ? $unknown++ : $failed++;
	}
	if ($conn_lost)
	{
		$unknown++;
		$codes{connection}++;
	}
	# With ON_ERROR_STOP, statements after the first error were never sent.
	my $sent = $stop_on_error ? $acked + $unknown + $failed : $n;
	note sprintf('burst on %s: %d sent, %d acknowledged, %d unknown, %d failed; psql exit %d; leader killed %.1f s into the burst',
		$node->name, $sent, $acked, $unknown, $failed, $r->{ret}, 0.5);
	ok($stop_on_error || $acked + $unknown + $failed == $n,
		'every statement of the burst has an outcome')
	  or diag $r->{err};
	ok($stop_on_error || !$conn_lost, 'the follower session survived the leader crash');
	$count{ok}      += $acked;
	$count{unknown} += $unknown;
	$count{failed}  += $failed;
	$count{sent}    += $sent;
	return;
}

my $killed;
my $rr = 0;
my $t_loop = time;
for my $i (1 .. $TOTAL)
{
	if ($i == 50)
	{
		# Kill 1: the leader, under a session connected to it.
		my ($l) = $c->wait_for_leader(timeout => 30);
		burst_with_leader_kill($l, $l, 300, 1);
		$killed = $l;
	}
	elsif ($i == 90 || $i == 170)
	{
		$c->start_node($killed);
		undef $killed;
	}
	elsif ($i == 130)
	{
		# Kill 2: the leader, under a session on a follower (forwarding).
		my ($l) = $c->wait_for_leader(timeout => 30);
		my ($f) = $c->followers($l);
		burst_with_leader_kill($f, $l, 150, 0);
		$killed = $l;
	}
	my @run = $c->running_nodes;
	my $node = $run[ $rr++ % @run ];
	account_one($c->submit($node, $UPD, statement_timeout => '8s'));
}
note sprintf('%d sequential submissions and two bursts in %.1f s', $TOTAL, time - $t_loop);
$c->start_node($killed) if $killed;

note sprintf('sent %d: %d acknowledged, %d failed, %d outcome unknown; errors: %s',
	$count{sent}, $count{ok}, $count{failed}, $count{unknown},
	join(', ', map { "$_ x$codes{$_}" } sort keys %codes));
ok(!$count{bad_rows}, 'every acknowledged UPDATE reported 1 row');
cmp_ok($count{ok}, '>=', $TOTAL * 0.5, 'most submissions were acknowledged despite two leader crashes');

my ($l) = $c->wait_for_leader(timeout => 30);
ok($l, 'a leader at the end with all three up');
$c->barrier($l);
ok(defined $c->wait_caught_up(timeout => 60), 'every node caught up');
my ($eq, $n) = $c->table_contents_equal('SELECT n FROM counter WHERE id = 1');
ok($eq, 'every node has the same counter');
note "counter = $n";
cmp_ok($n, '>=', $count{ok}, "no acknowledged update lost (n=$n >= acknowledged $count{ok})");
cmp_ok($n, '<=', $count{ok} + $count{unknown},
	"no double apply and no applied failure (n=$n <= acknowledged $count{ok} + unknown $count{unknown})");

note sprintf('009 total %.1f s', time - $t_start);
done_testing();
