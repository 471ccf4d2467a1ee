# 013_session_state.pl — nothing one log entry leaves in the apply worker's
# session changes the outcome of a later entry, whether the entries were
# applied in one batch or the worker restarted between them (issue #20).
#
# Part 1, batching: a follower is stopped while a series of entries is
# submitted, each pair testing one kind of session state (a cursor, a
# session-level advisory lock, a statement prepared from a function, a large
# object descriptor, currval/lastval, the random seed, a custom setting, a
# session-level SET); the leader and the other follower apply them one by
# one as they commit, the restarted follower catches up with all of them in
# batches.  Every node must record the same outcome for every entry and hold
# the same rows.
# Part 2, restarts: the same kinds of state created by one entry, then a
# follower restarted, then an entry that reads the state.
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

$c->submit_ok($leader, 'CREATE TABLE t (k text, v text)');
$c->submit_ok($leader, 'CREATE SEQUENCE s');
$c->submit_ok($leader, 'SELECT lo_create(4242)');
ok(defined $c->wait_caught_up, 'set-up applied everywhere');

# Submit and return the log index whatever the outcome (ok or the
# statement's own error, which is an outcome too).
sub submit_entry
{
	my ($node, $sql) = @_;
	my $r = $c->submit($node, $sql);
	my $index = $r->{log_index};
	if (!defined $index && ($r->{error} // '') =~ /applied as Raft log entry (\d+)/)
	{
		$index = $1;
	}
	ok(defined $index, "appended: $sql") or diag explain $r;
	return $index // 0;
}

# Outcomes of entries >= $from, compared on every node.
sub outcomes_equal
{
	my ($from, $name) = @_;
	my $q = "SELECT log_index, coalesce(sqlstate, 'ok'), coalesce(command_tag, ''), "
	  . "coalesce(rows::text, ''), coalesce(message, '') FROM raft_ext.outcome "
	  . "WHERE log_index >= $from ORDER BY log_index";
	my ($eq, $first) = $c->wait_contents_equal($q, timeout => 30);
	ok($eq, $name);
	return $first;
}

# ---------------------------------------------------------------------
# Part 1: batching
# ---------------------------------------------------------------------
$c->stop_node($f1);
my @pairs = (
	[ 'cursor',
	  'DECLARE c3 CURSOR FOR SELECT g FROM generate_series(1, 5) g',
	  'FETCH 2 FROM c3' ],
	[ 'advisory lock',
	  'SELECT pg_advisory_lock(42)',
	  q{INSERT INTO t SELECT 'advisory unlock', pg_advisory_unlock(42)::text} ],
	# PostgreSQL refuses PREPARE in a security-restricted operation (42501):
	# checked here so that the day it does not, this test says so
	[ 'prepared statement',
	  q{DO $$BEGIN EXECUTE 'PREPARE p1 AS SELECT 1'; END$$},
	  q{DO $$BEGIN EXECUTE 'EXECUTE p1'; END$$} ],
	[ 'large object descriptor',
	  'SELECT lo_open(4242, 262144)',
	  q{INSERT INTO t SELECT 'lo fd', lo_open(4242, 262144)::text} ],
	[ 'random seed',
	  'SELECT setseed(0.5)',
	  q{INSERT INTO t SELECT 'random', random()::text} ],
	[ 'currval',
	  q{SELECT nextval('s')},
	  q{INSERT INTO t SELECT 'currval', currval('s')::text} ],
	[ 'lastval',
	  q{SELECT nextval('s')},
	  q{INSERT INTO t SELECT 'lastval', lastval()::text} ],
	[ 'custom setting',
	  q{SET myapp.x = 'a'},
	  q{INSERT INTO t SELECT 'custom setting', coalesce(current_setting('myapp.x', true), '<null>')} ],
	[ 'session SET',
	  'SET extra_float_digits = 0',
	  q{INSERT INTO t SELECT 'float', (0.1::float8 + 0.2::float8)::text} ],
);
my $first;
for my $p (@pairs)
{
	my ($what, $make, $read) = @$p;
	my $i = submit_entry($leader, $make);
	$first //= $i;
	submit_entry($f2, $read);
}
$c->start_node($f1);
ok(defined $c->wait_caught_up(timeout => 60), 'the stopped follower caught up');
my $out = outcomes_equal($first, 'batching: every node recorded the same outcome for every entry');
note $out;
ok(scalar $c->wait_contents_equal('SELECT k, v FROM t ORDER BY k, v'), 'batching: identical rows on every node');

# What every node must have recorded (no state survived its entry).
my %got = map { my @f = split /\|/; ($f[0] => \@f) } split /\n/, $out;
like($out, qr/\|34000\|/, 'FETCH from a cursor of an earlier entry fails: cursor does not exist');
like($out, qr/\|42501\|[^\n]*PREPARE/, 'PREPARE from a function is refused (security-restricted operation)');
like($out, qr/\|26000\|/, 'EXECUTE of a statement prepared by an earlier entry fails: does not exist');
like($out, qr/\|55000\|[^\n]*currval/, 'currval of a sequence used by an earlier entry fails: not yet defined');
like($out, qr/\|55000\|[^\n]*lastval/, 'lastval after an earlier entry fails: not yet defined');
is($c->query($leader, q{SELECT v FROM t WHERE k = 'advisory unlock'}), 'false',
	'a session-level advisory lock does not outlive its entry');
is($c->query($leader, q{SELECT v FROM t WHERE k = 'lo fd'}), '0',
	'a large object descriptor does not outlive its entry');
is($c->query($leader, q{SELECT v FROM t WHERE k = 'custom setting'}), '',
	'a custom setting named by an earlier entry is known, and empty, on every node');

# ---------------------------------------------------------------------
# Part 2: a follower restarted between the entry that makes the state and
# the one that reads it
# ---------------------------------------------------------------------
my @restart_pairs = (
	[ 'currval',
	  q{SELECT nextval('s')},
	  q{INSERT INTO t SELECT 'currval after restart', currval('s')::text} ],
	[ 'lastval',
	  q{SELECT nextval('s')},
	  q{INSERT INTO t SELECT 'lastval after restart', lastval()::text} ],
	[ 'random seed',
	  'SELECT setseed(0.25)',
	  q{INSERT INTO t SELECT 'random after restart', random()::text} ],
	[ 'custom setting',
	  q{SET myapp.y = 'b'},
	  q{INSERT INTO t SELECT 'custom after restart', coalesce(current_setting('myapp.y', true), '<null>')} ],
	[ 'session SET',
	  q{SET datestyle = 'SQL, DMY'},
	  q{INSERT INTO t SELECT 'datestyle after restart', current_setting('datestyle')} ],
);
my $first2;
for my $p (@restart_pairs)
{
	my ($what, $make, $read) = @$p;
	my $i = submit_entry($leader, $make);
	$first2 //= $i;
	ok(defined $c->wait_applied_everywhere($i), "$what: made everywhere");
	$c->stop_node($f1);
	$c->start_node($f1);
	submit_entry($leader, $read);
	ok(defined $c->wait_caught_up(timeout => 60), "$what: read everywhere after restarting node " . $c->id_of($f1));
}
outcomes_equal($first2, 'restarts: every node recorded the same outcome for every entry');
ok(scalar $c->wait_contents_equal('SELECT k, v FROM t ORDER BY k, v'), 'restarts: identical rows on every node');
is($c->query($f1, q{SELECT v FROM t WHERE k = 'custom after restart'}), '',
	'a restarted node knows the custom settings earlier entries named');

# A statement's notices reach the client through a follower too (the
# leader's outcome carries them).
{
	my ($ret, $out, $err) = $c->psql($f2,
		q{SELECT command_tag FROM raft_submit($q$DO $b$BEGIN RAISE NOTICE 'said on entry'; END$b$$q$)});
	is($ret, 0, 'a DO block submitted on a follower');
	like($err, qr/NOTICE:\s+(?:00000: )?said on entry/, 'its NOTICE reached the follower\'s client');
}

note sprintf('013 total %.1f s', time - $t_start);
done_testing();
