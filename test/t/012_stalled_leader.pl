# 012_stalled_leader.pl — a follower's raft_submit and raft_barrier stay
# interruptible whatever the leader does (issue #19).
#
# The leader is made to stop answering in two ways, while a follower's
# session has its forward connection to it open:
#   - paused: SIGSTOP of all its processes (its kernel still accepts
#     connections, nobody answers: what a blocking PQcancel waited on
#     forever);
#   - black-holed: every node sits behind a RaftProxy (test/perl), which
#     stops relaying and drops SYNs (what a partition or a dead host does:
#     connect() itself waits).
# In each case a raft_submit with statement_timeout = 1s returns within 3 s,
# and pg_cancel_backend() / pg_terminate_backend() of a session waiting on
# the stalled leader take effect within a second.  Then raft_barrier() on a
# follower, with the leader paused.
#
# Election timeouts are long here (1.5-3 s) so that the follower still takes
# the stalled node for the leader while each check runs.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use RaftCluster;
use RaftSession;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

my $t_start = time;
my $c = RaftCluster->new(
	nodes  => 3,
	proxy  => 1,
	timing => {
		election_timeout_min => 1500,
		election_timeout_max => 3000,
		heartbeat_interval   => 100,
	});
my ($leader) = $c->wait_for_leader(timeout => 30);
ok($leader, 'a leader is elected') or RaftCluster::stop_here('no leader');
$c->submit_ok($leader, 'CREATE TABLE tt (v text)');

my $n = 0;

# A session on a follower with its forward connection to the leader open.
# Returns ($session, $pid, $follower, $leader).
sub forward_session
{
	my ($l) = $c->wait_for_leader(timeout => 30);
	my ($f) = $c->followers($l);
	my $s = RaftSession->new($f);
	my $pid = $s->query('SELECT pg_backend_pid()', timeout => 10)->{out};
	$n++;
	my $r = $s->query("SELECT log_index FROM raft_submit('INSERT INTO tt VALUES (''open $n'')')",
		timeout => 20);
	like($r->{out}, qr/^\d+$/, "forward connection opened from node " . $c->id_of($f))
	  or diag $r->{err};
	return ($s, $pid, $f, $l);
}

# The ways a leader stops answering: [name, stall, unstall].
my @stalls = (
	[ 'paused', sub { $c->pause($_[0]) }, sub { $c->resume($_[0]) } ],
	[ 'black-holed', sub { $c->proxy($_[0])->blackhole }, sub { $c->proxy($_[0])->heal } ],
);

for my $st (@stalls)
{
	my ($how, $stall, $unstall) = @$st;

	# 1. statement_timeout
	{
		my ($s, $pid, $f, $l) = forward_session();
		$stall->($l);
		$n++;
		my $r = $s->query("SET statement_timeout = '1s'; "
			  . "SELECT * FROM raft_submit('INSERT INTO tt VALUES (''timeout $n'')')",
			timeout => 30);
		$unstall->($l);
		ok(!$r->{timed_out} && $r->{elapsed} < 3,
			sprintf('leader %s: raft_submit with statement_timeout 1s returned in %.2f s', $how, $r->{elapsed}));
		my $code = RaftSession::sqlstate($r) // 'none';
		ok($code eq '40003' || $code eq '57014',
			"leader $how: the timeout is reported as outcome unknown or not executed ($code)")
		  or diag $r->{err};
		$s->close;
	}

	# 2. pg_cancel_backend, 3. pg_terminate_backend
	for my $kill ([ 'pg_cancel_backend', 1 ], [ 'pg_terminate_backend', 0 ])
	{
		my ($fn, $survives) = @$kill;
		my ($s, $pid, $f, $l) = forward_session();
		my $log_offset = -s $l->logfile;
		$stall->($l);
		$n++;
		my $job = $s->start("SET statement_timeout = 0; "
			  . "SELECT * FROM raft_submit('INSERT INTO tt VALUES (''$fn $n'')')");
		sleep 0.5;    # well inside the wait for the leader's answer
		my $before = $s->wait($job, timeout => 0.01);
		ok($before->{timed_out}, "leader $how: the session is waiting on it before $fn");
		my $t0 = time;
		$c->query($f, "SELECT $fn($pid)");
		my $r = $s->wait($job, timeout => 30);
		my $took = time - $t0;
		$unstall->($l);
		ok(!$r->{timed_out} && $took < 1,
			sprintf('leader %s: %s took effect in %.2f s', $how, $fn, $took));
		if ($survives)
		{
			is(RaftSession::sqlstate($r), '40003',
				"leader $how: a cancelled forwarded submit is reported as outcome unknown")
			  or diag $r->{err};
			ok($r->{alive}, "leader $how: the cancelled session is still usable");

			# Dropping the connection is the cancel: once it runs again, the
			# leader's backend sees the close and stops waiting.
			my $seen = 0;
			for (1 .. 100)
			{
				$seen = $l->log_contains(qr/connection to client lost/, $log_offset) and last;
				sleep 0.1;
			}
			ok($seen, "leader $how: its forward_submit backend saw the follower hang up and ended");
		}
		else
		{
			ok(!$r->{alive}, "leader $how: the terminated session is gone");
		}
		$s->close;
	}
}

# raft_barrier on a follower while the leader is paused.
{
	my ($l) = $c->wait_for_leader(timeout => 30);
	my ($f) = $c->followers($l);
	my $s = RaftSession->new($f);
	my $pid = $s->query('SELECT pg_backend_pid()', timeout => 10)->{out};
	$c->pause($l);
	my $r = $s->query("SET statement_timeout = '1s'; SELECT raft_barrier()", timeout => 30);
	ok(!$r->{timed_out} && $r->{elapsed} < 3,
		sprintf('leader paused: raft_barrier with statement_timeout 1s returned in %.2f s', $r->{elapsed}));
	is(RaftSession::sqlstate($r), '57014', 'raft_barrier: timed out (57014)') or diag $r->{err};

	my $job = $s->start("SET statement_timeout = 0; SELECT raft_barrier()");
	sleep 0.5;
	my $t0 = time;
	$c->query($f, "SELECT pg_cancel_backend($pid)");
	$r = $s->wait($job, timeout => 30);
	ok(!$r->{timed_out} && time - $t0 < 1, 'leader paused: pg_cancel_backend of raft_barrier took effect within a second')
	  or diag explain $r;
	is(RaftSession::sqlstate($r), '57014', 'raft_barrier: cancelled (57014)') or diag $r->{err};
	$c->resume($l);
	$s->close;
}

# The cluster is fine afterwards, and every node agrees on tt.
my ($l) = $c->wait_for_leader(timeout => 30);
ok($l, 'a leader after all the stalls');
my $w = $c->submit_ok((grep { $_ != $l } $c->nodes)[0], q{INSERT INTO tt VALUES ('after')});
ok(defined $c->wait_caught_up(timeout => 30), 'every node caught up');
ok(scalar $c->wait_contents_equal('SELECT v FROM tt ORDER BY v'), 'identical contents on every node');

note sprintf('012 total %.1f s', time - $t_start);
done_testing();
