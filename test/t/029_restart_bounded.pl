# 029_restart_bounded.pl — with compaction, restarting a node after a long
# history costs what it costs after a short one: the node loads at most
# about 2 x raft_ext.log_keep_entries entries, whatever the history.
#
# A 3-node cluster (log_keep_entries = KEEP, 1000) is written 1,000 entries,
# a follower is restarted (stop, start) and timed from the start to serving
# (raft_status names a leader, last_applied is back at the leader's commit
# index, and a raft_submit through it works); then the history grows to
# 200,000 entries, compaction catches up everywhere and the same follower is
# restarted and timed again.
#
# What is asserted strictly is the mechanism: each restart's start-up line
# "raft_ext: node N started: ..., M log entries (from index I)" shows
# M <= 2 x KEEP + slack, the second one with I > 190,000, and raft_ext.log
# holds as few rows on every node.  The time ratio (after 200k / after 1k) is
# reported, and only loosely bounded (< 4): noise on a shared machine cannot
# fail it, a restart that reloads the whole history would.
#
# Every log entry is one raft_submit of one INSERT (pgbench -n -f, -t
# bounded, 8 clients, under a time limit).  About 90 s on a 2-core machine.
#
# With raft_ext.log_keep_entries = 0 (never compact) in the cluster's
# configuration instead, the mechanism's assertions fail (checked by hand).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use RaftCluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run ();
use Time::HiRes qw(time sleep);

my $KEEP    = 1000;
my $SMALL   = 1_000;
my $LARGE   = 200_000;
my $CLIENTS = 8;
my $LIMIT   = 2 * $KEEP + 100;   # rows / entries loaded: 2 x keep + slack
my $t_begin = time;

my $c = RaftCluster->new(nodes => 3, conf => "raft_ext.log_keep_entries = $KEEP\n");
my ($leader) = $c->wait_for_leader(timeout => 30);
ok($leader, 'a leader is elected') or RaftCluster::stop_here('no leader');
my ($f) = $c->followers($leader);
my $fid = $c->id_of($f);

$c->submit_ok($leader, q{CREATE TABLE t (c int NOT NULL, v int NOT NULL)});

my $dir = PostgreSQL::Test::Utils::tempdir('bench');
my $script = "$dir/insert.sql";
open my $fh, '>', $script or die "cannot write $script: $!";
print $fh "SELECT raft_submit('INSERT INTO t VALUES (:client_id, 1)');\n";
close $fh;

my $rows_expected = 0;

# write $n entries through the leader, one raft_submit each: pgbench -t
# (bounded count), killed after $timeout seconds (bounded time)
sub write_entries
{
	my ($n, $timeout) = @_;
	my ($l) = $c->wait_for_leader(timeout => 30) or return 0;
	my $per = int(($n + $CLIENTS - 1) / $CLIENTS);
	my ($out, $err) = ('', '');
	my $t0 = time;
	my $ok = eval {
		IPC::Run::run(
			[ 'pgbench', '-n', '-f', $script, '-c', $CLIENTS, '-j', 2, '-t', $per,
			  '-h', $l->host, '-p', $l->port, 'postgres' ],
			'<', \undef, '>', \$out, '2>', \$err,
			IPC::Run::timeout($timeout));
	};
	my $done = ($out =~ /number of transactions actually processed: (\d+)/) ? $1 : 0;
	my $tps = ($out =~ /tps = ([\d.]+) \(without/) ? $1 : '?';
	$rows_expected += $done;
	ok($ok && $done == $per * $CLIENTS,
		sprintf('%d entries written through %s (%d clients x %d, %.1f s, %s tps)',
			$done, $l->name, $CLIENTS, $per, time - $t0, $tps))
	  or diag "pgbench: " . ($@ || '') . "\n$err\n" . substr($out, -1000);
	return $done;
}

sub leader_commit
{
	my ($l) = $c->wait_for_leader(timeout => 30) or return undef;
	my $s = $c->status($l) or return undef;
	return $s->{commit_index};
}

sub log_start { my ($n) = @_; return $c->query($n, q{SELECT log_start_index FROM raft_ext.apply_state}); }


# every node has applied the leader's commit index, and where each node's
# log starts is within about 2 x keep of what it applied
sub settle
{
	my ($what) = @_;
	my $commit = leader_commit();
	ok(defined $commit && defined $c->wait_applied_everywhere($commit, timeout => 60),
		"$what: applied everywhere (commit index " . ($commit // '?') . ')');
	my %last;
	my $ok = $c->wait_until(
		sub {
			my $all = 1;
			for my $n ($c->nodes)
			{
				my ($applied, $start) = split /\|/,
				  $c->query($n, q{SELECT s.last_applied, a.log_start_index FROM raft_status s, raft_ext.apply_state a});
				$last{ $n->name } = "applied $applied, log from " . ($start + 1);
				$all = 0 if $applied - $start > $LIMIT;
			}
			return $all;
		},
		30);
	ok($ok, "$what: compaction caught up everywhere (log_start_index within 2 x keep + slack of last_applied)")
	  or diag join '; ', map { "$_: $last{$_}" } sort keys %last;
	for my $n ($c->nodes)
	{
		my $rows = $c->query($n, q{SELECT count(*) FROM raft_ext.log});
		cmp_ok($rows, '<=', $LIMIT, "$what: " . $n->name . " has $rows rows in raft_ext.log (at most 2 x $KEEP + slack)");
	}
	return $commit;
}

# stop and start the follower; seconds from the start to serving, and the
# start-up line's (entries loaded, first index)
sub restart_follower
{
	my ($what) = @_;
	my $re = qr/raft_ext: node $fid started: .*, (\d+) log entries \(from index (\d+)\)/;
	my @m = slurp_file($f->logfile) =~ /$re/g;
	my $before = @m;	# two captures a line
	$c->stop_node($f);
	my $t0 = time;
	$c->start_node($f);
	my $t_up = time;
	my ($status, $commit);
	my $serving = $c->wait_until(
		sub {
			# the leader's commit index (whoever leads among the others)
			$commit = undef;
			for my $n (grep { $_ != $f } $c->nodes)
			{
				my $s = $c->status($n);
				$commit = $s->{commit_index} if $s && ($s->{role} // '') eq 'leader';
			}
			$status = $c->status($f);
			return $status && defined $commit
			  && ($status->{worker_state} // '') eq 'running'
			  && RaftCluster::_lid($status) != 0
			  && $status->{last_applied} >= $commit;
		},
		60);
	ok($serving, "$what: the follower serves again (leader known, applied up to the leader's commit index)")
	  or diag "status: " . JSON::PP->new->canonical->encode($status // {}) . ", leader's commit index " . ($commit // '?');
	my $r = $c->submit($f, "INSERT INTO t VALUES (0, 0)");
	is($r->{outcome}, 'ok', "$what: a raft_submit through the restarted follower works")
	  or diag $r->{error};
	$rows_expected++ if $r->{outcome} eq 'ok';
	my $t1 = time;

	@m = slurp_file($f->logfile) =~ /$re/g;
	my ($loaded, $from) = @m > $before ? @m[-2, -1] : (undef, undef);
	ok(defined $loaded, "$what: the start-up line is in the server log")
	  or return ($t1 - $t0, undef, undef);
	diag sprintf('%s: start -> accepting connections %.2f s, start -> serving %.2f s; loaded %d log entries (from index %d)',
		$what, $t_up - $t0, $t1 - $t0, $loaded, $from);
	return ($t1 - $t0, $loaded, $from);
}

# -- 1,000 entries
write_entries($SMALL, 60);
settle('after 1,000 entries');
my ($t_small, $loaded_small, $from_small) = restart_follower('restart after 1,000 entries');
cmp_ok($loaded_small // 1e9, '<=', $LIMIT, "after 1,000: the restarted node loaded at most 2 x $KEEP + slack entries");

# -- 200,000 entries
my $commit = leader_commit() // 0;
write_entries($LARGE - $commit, 240) if $commit < $LARGE;
$commit = settle('after 200,000 entries');
cmp_ok($commit // 0, '>=', $LARGE, "the history is $LARGE entries long");
my ($t_large, $loaded_large, $from_large) = restart_follower('restart after 200,000 entries');
cmp_ok($loaded_large // 1e9, '<=', $LIMIT, "after 200,000: the restarted node loaded at most 2 x $KEEP + slack entries");
cmp_ok($from_large // 0, '>', 190_000, 'after 200,000: its log starts above index 190,000');

# the time: reported, loosely bounded
my $ratio = $t_small > 0 ? $t_large / $t_small : 0;
diag sprintf('start -> serving: %.2f s after 1,000 entries, %.2f s after 200,000: ratio %.2f', $t_small, $t_large, $ratio);
cmp_ok($ratio, '<', 4, 'restart after 200,000 entries takes less than 4 x the restart after 1,000');

# nothing lost
ok(defined $c->wait_caught_up(timeout => 60), 'caught up everywhere');
ok(scalar $c->wait_contents_equal(q{SELECT count(*) FROM t}), 'the same rows everywhere');
is($c->query($leader, q{SELECT count(*) FROM t}), $rows_expected, "every row written is there ($rows_expected)");
diag sprintf('total time %.0f s', time - $t_begin);
done_testing();
