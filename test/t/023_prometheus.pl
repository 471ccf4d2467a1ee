# 023_prometheus.pl — monitoring/queries.yaml with the real Prometheus
# postgres_exporter, and monitoring/alerts.yml with promtool.
#
# A three-node cluster; the exporter (Debian's prometheus-postgres-exporter)
# runs against the leader as a login role that has only pg_monitor, with
# --extend.query-path=monitoring/queries.yaml, on a free loopback port.
# Checked: every metric of the query file is in its /metrics with its type;
# node_id, role, term, commit/applied/last-log index, apply lag and the
# message counters equal what raft_status says at the same time (after a
# quiet period; counters between two readings); one series per peer, each
# connected, with the match index and contact age raft_peers gives; the last
# consistency check; a follower stopped: the leader's exporter shows that
# peer disconnected within seconds.  Then promtool check rules on
# monitoring/alerts.yml and promtool test rules on monitoring/alerts_test.yml
# (synthetic series: the alerts fire as they should).
#
# Skipped when the exporter or promtool is not installed
# (scripts/install-deps.sh installs both).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use RaftCluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Spec;
use HTTP::Tiny;
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(time sleep);

my $root = File::Spec->rel2abs("$FindBin::RealBin/../..");
my $queries = "$root/monitoring/queries.yaml";
my $alerts = "$root/monitoring/alerts.yml";
my $alerts_test = "$root/monitoring/alerts_test.yml";

sub find_binary
{
	my ($env, @names) = @_;
	return $ENV{$env} if $ENV{$env} && -x $ENV{$env};
	for my $name (@names)
	{
		for my $dir (split(/:/, $ENV{PATH} // ''), '/usr/bin', '/usr/local/bin')
		{
			return "$dir/$name" if $dir ne '' && -x "$dir/$name";
		}
	}
	return undef;
}

my $exporter = find_binary('POSTGRES_EXPORTER', 'prometheus-postgres-exporter', 'postgres_exporter');
my $promtool = find_binary('PROMTOOL', 'promtool');
plan skip_all => 'prometheus-postgres-exporter is not installed (Debian package prometheus-postgres-exporter; scripts/install-deps.sh installs it)'
  unless $exporter;
plan skip_all => 'promtool is not installed (Debian package prometheus; scripts/install-deps.sh installs it)'
  unless $promtool;

my $exporter_pid;
my $exporter_log;

sub stop_exporter
{
	return unless $exporter_pid;
	kill 'TERM', $exporter_pid;
	my $deadline = time + 10;
	while (waitpid($exporter_pid, POSIX::WNOHANG()) == 0)
	{
		if (time > $deadline)
		{
			kill 'KILL', $exporter_pid;
			waitpid($exporter_pid, 0);
			last;
		}
		sleep 0.05;
	}
	$exporter_pid = undef;
	return;
}

# Runs before the cluster's END blocks (this one is compiled after them):
# never leave the exporter listening, whatever happens.
END
{
	my $exit = $?;
	stop_exporter();
	$? = $exit;
}
$SIG{INT} = $SIG{TERM} = sub { stop_exporter(); exit 1; };

sub free_port
{
	my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'tcp', Listen => 1)
	  or die "cannot bind a loopback port: $!";
	my $port = $s->sockport;
	close $s;
	return $port;
}

my $c = RaftCluster->new(nodes => 3);
my ($leader) = $c->wait_for_leader(timeout => 30);
ok($leader, 'a leader is elected') or RaftCluster::stop_here('no leader');
my $leader_id = $c->id_of($leader);
my @followers = $c->followers($leader);

$c->submit_ok($leader, q{CREATE TABLE t (id int PRIMARY KEY, v text)});
$c->submit_ok($followers[0], q{INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 100) g});
my $check = $c->query($leader, 'SELECT raft_verify()');

# The exporter's role: pg_monitor and nothing else (README: GRANT pg_monitor
# TO ops).  Roles are per server, not replicated.
$c->query($leader, q{CREATE ROLE ops LOGIN; GRANT pg_monitor TO ops});

my $port = free_port();
$exporter_log = PostgreSQL::Test::Utils::tempdir('exporter') . '/exporter.log';
my $dsn = 'host=' . $leader->host . ' port=' . $leader->port . ' dbname=postgres user=ops sslmode=disable';
my @cmd = ($exporter, "--web.listen-address=127.0.0.1:$port", "--extend.query-path=$queries",
	'--disable-default-metrics', '--disable-settings-metrics', '--log.level=info');
note "DATA_SOURCE_NAME='$dsn' @cmd";
$exporter_pid = fork();
die "fork: $!" unless defined $exporter_pid;
if ($exporter_pid == 0)
{
	$ENV{DATA_SOURCE_NAME} = $dsn;
	open STDIN, '<', '/dev/null';
	open STDOUT, '>', $exporter_log;
	open STDERR, '>&', \*STDOUT;
	exec @cmd or POSIX::_exit(127);
}

my $http = HTTP::Tiny->new(timeout => 10);
my $url = "http://127.0.0.1:$port/metrics";

# Parse the text exposition format: {name}{canonical labels} = value, and
# the TYPE of every metric.
sub scrape
{
	my $res = $http->get($url);
	return undef unless $res->{success};
	my (%v, %type);
	for my $line (split /\n/, $res->{content})
	{
		if ($line =~ /^# TYPE (\S+) (\S+)/) { $type{$1} = $2; next; }
		next if $line =~ /^#/ || $line !~ /\S/;
		next unless $line =~ /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
		my ($name, $labels, $value) = ($1, $2 // '', $3);
		my %l;
		while ($labels =~ /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g) { $l{$1} = $2; }
		my $key = join(',', map { "$_=$l{$_}" } sort grep { $_ ne 'server' } keys %l);
		$v{$name}{$key} = $value;
	}
	return { values => \%v, type => \%type, text => $res->{content} };
}

# The one sample of $name whose labels include %want (undef if none).
sub sample
{
	my ($m, $name, %want) = @_;
	my $series = $m->{values}{$name} or return undef;
	my @hits;
	for my $key (keys %$series)
	{
		my %l = map { split /=/, $_, 2 } split /,/, $key;
		push @hits, $series->{$key}
		  unless grep { !defined $l{$_} || $l{$_} ne $want{$_} } keys %want;
	}
	return @hits == 1 ? $hits[0] : undef;
}

my $m;
my $t0 = time;
while (time - $t0 < 30)
{
	$m = scrape();
	last if $m && $m->{values}{raft_ext_term};
	if (waitpid($exporter_pid, POSIX::WNOHANG()) == $exporter_pid)
	{
		$exporter_pid = undef;
		last;
	}
	sleep 0.2;
}
ok($m && $m->{values}{raft_ext_term}, "the exporter serves raft_ext metrics on 127.0.0.1:$port")
  or do {
	my $log = PostgreSQL::Test::Utils::slurp_file($exporter_log);
	diag "exporter log (end):\n" . (length($log) > 3000 ? substr($log, -3000) : $log);
	diag "last /metrics:\n" . ($m ? $m->{text} : '(none)');
	RaftCluster::stop_here('no metrics');
  };

# ---------------------------------------------------------------------
# Every metric of the query file, with its type
# ---------------------------------------------------------------------
my %types = (
	raft_ext_worker_running             => 'gauge',
	raft_ext_apply_worker_running       => 'gauge',
	raft_ext_has_leader                 => 'gauge',
	raft_ext_term                       => 'gauge',
	raft_ext_commit_index               => 'gauge',
	raft_ext_last_log_index             => 'gauge',
	raft_ext_last_log_term              => 'gauge',
	raft_ext_last_applied_index         => 'gauge',
	raft_ext_apply_lag_entries          => 'gauge',
	raft_ext_apply_diverged             => 'gauge',
	raft_ext_needs_snapshot             => 'gauge',
	raft_ext_snapshot_installing        => 'gauge',
	raft_ext_apply_stalled              => 'gauge',
	raft_ext_apply_stalled_seconds      => 'gauge',
	raft_ext_apply_retries_total        => 'counter',
	raft_ext_messages_received_total    => 'counter',
	raft_ext_messages_dropped_total     => 'counter',
	raft_ext_messages_refused_total     => 'counter',
	raft_ext_role                       => 'gauge',
	raft_ext_consistency_check_consistent        => 'gauge',
	raft_ext_consistency_check_timestamp_seconds => 'gauge',
	raft_ext_consistency_check_log_index         => 'gauge',
	raft_ext_peer_connected             => 'gauge',
	raft_ext_peer_last_contact_seconds  => 'gauge',
	raft_ext_peer_match_index           => 'gauge',
	raft_ext_peer_messages_sent_total   => 'counter',
	raft_ext_peer_messages_dropped_total => 'counter',
);

# Wait for the check's result to be complete on the leader, then a quiet
# period: no entry is appended (the outcome check after the last write comes
# within raft_ext.outcome_check_interval, 1 s).
for (1 .. 100)
{
	last if $c->query($leader, "SELECT coalesce(last_check_consistent::text, '') FROM raft_status") ne '';
	sleep 0.1;
}
ok(defined $c->wait_caught_up(timeout => 30), 'every node caught up');

# Read raft_status and raft_peers, scrape, read them again, until nothing
# but the message counters moved in between.
sub moved
{
	my ($b, $a, $pb, $pa) = @_;
	return 1 if grep { ($b->{$_} // '') ne ($a->{$_} // '') }
	  qw(term role commit_index last_applied last_log_index last_log_term);
	my %mb = map { $_->{node_id} => ($_->{match_index} // '') } @$pb;
	return scalar grep { $mb{ $_->{node_id} } ne ($_->{match_index} // '') } @$pa;
}
my ($before, $after, $peers_before, $peers_after);
for my $try (1 .. 20)
{
	sleep 1.5;
	$before = $c->status($leader);
	$peers_before = $c->peers($leader);
	$m = scrape();
	$peers_after = $c->peers($leader);
	$after = $c->status($leader);
	last if $m && !moved($before, $after, $peers_before, $peers_after);
	note "try $try: raft_status or raft_peers moved during the scrape";
}

my @missing = grep { !$m->{values}{$_} } sort keys %types;
is("@missing", '', 'every metric of monitoring/queries.yaml is exported') or diag $m->{text};
my @wrong = grep { ($m->{type}{$_} // '') ne $types{$_} } sort keys %types;
is("@wrong", '', 'each with its type (gauge, counter)') or diag $m->{text};
my @other = grep { /^raft_ext_/ && !$types{$_} } sort keys %{ $m->{values} };
is("@other", '', 'and no other raft_ext metric (no column left untyped)');

my %self = (node_id => $leader_id);
is(sample($m, 'raft_ext_worker_running', %self), 1, 'raft_ext_worker_running{node_id} is 1');
is(sample($m, 'raft_ext_apply_worker_running', %self), 1, 'raft_ext_apply_worker_running is 1');
is(sample($m, 'raft_ext_has_leader', %self), 1, 'raft_ext_has_leader is 1');
for my $role ('follower', 'pre-candidate', 'candidate', 'leader')
{
	is(sample($m, 'raft_ext_role', %self, role => $role), $role eq 'leader' ? 1 : 0,
		"raft_ext_role{role=\"$role\"} is " . ($role eq 'leader' ? 1 : 0));
}
for ([ raft_ext_term => 'term' ], [ raft_ext_commit_index => 'commit_index' ],
	[ raft_ext_last_log_index => 'last_log_index' ], [ raft_ext_last_log_term => 'last_log_term' ],
	[ raft_ext_last_applied_index => 'last_applied' ])
{
	my ($name, $col) = @$_;
	is(sample($m, $name, %self), $after->{$col}, "$name is raft_status.$col ($after->{$col})");
}
is(sample($m, 'raft_ext_apply_lag_entries', %self), $after->{commit_index} - $after->{last_applied},
	'raft_ext_apply_lag_entries is commit_index - last_applied');
is(sample($m, 'raft_ext_apply_diverged', %self), 0, 'raft_ext_apply_diverged is 0');
is(sample($m, 'raft_ext_apply_stalled', %self), 0, 'raft_ext_apply_stalled is 0');
is(sample($m, 'raft_ext_apply_stalled_seconds', %self), 0, 'raft_ext_apply_stalled_seconds is 0');
is(sample($m, 'raft_ext_apply_retries_total', %self), $after->{apply_retries}, 'raft_ext_apply_retries_total');
for my $col (qw(messages_received messages_dropped messages_refused))
{
	my $v = sample($m, "raft_ext_${col}_total", %self);
	ok(defined $v && $v >= $before->{$col} && $v <= $after->{$col},
		"raft_ext_${col}_total between two readings of raft_status ($before->{$col} <= "
		  . ($v // 'undef') . " <= $after->{$col})");
}
cmp_ok($after->{messages_received}, '>', 0, '(the leader did receive messages)');

is(sample($m, 'raft_ext_consistency_check_consistent', %self), 1, 'raft_ext_consistency_check_consistent is 1');
is(sample($m, 'raft_ext_consistency_check_log_index', %self), $check, "raft_ext_consistency_check_log_index is the check's entry ($check)");
my $check_at = $c->query($leader, 'SELECT extract(epoch FROM last_check_at) FROM raft_status');
my $ts = sample($m, 'raft_ext_consistency_check_timestamp_seconds', %self);
ok(defined $ts && abs($ts - $check_at) < 0.001, "raft_ext_consistency_check_timestamp_seconds is last_check_at ($check_at)");

# Per peer
my @peer_ids = map { $c->id_of($_) } @followers;
is(join(',', sort map { /peer_id=(\d+)/ ? $1 : '?' } keys %{ $m->{values}{raft_ext_peer_connected} }),
	join(',', sort @peer_ids), 'one raft_ext_peer_connected series per other member, none for itself');
for my $p (@{$peers_after})
{
	next if $p->{is_self};
	my %pl = (%self, peer_id => $p->{node_id});
	my ($pb) = grep { $_->{node_id} == $p->{node_id} } @$peers_before;
	is(sample($m, 'raft_ext_peer_connected', %pl), 1, "raft_ext_peer_connected{peer_id=\"$p->{node_id}\"} is 1");
	is(sample($m, 'raft_ext_peer_match_index', %pl), $p->{match_index},
		"raft_ext_peer_match_index{peer_id=\"$p->{node_id}\"} is raft_peers.match_index ($p->{match_index})");
	my $age = sample($m, 'raft_ext_peer_last_contact_seconds', %pl);
	ok(defined $age && $age >= 0 && $age < 2, "raft_ext_peer_last_contact_seconds{peer_id=\"$p->{node_id}\"} is small (" . ($age // 'undef') . ')');
	for my $col (qw(messages_sent messages_dropped))
	{
		my $v = sample($m, "raft_ext_peer_${col}_total", %pl);
		ok(defined $v && $v >= $pb->{$col} && $v <= $p->{$col},
			"raft_ext_peer_${col}_total{peer_id=\"$p->{node_id}\"} between two readings of raft_peers ($pb->{$col} <= "
			  . ($v // 'undef') . " <= $p->{$col})");
	}
}
note "raft_ext metrics from the leader (node $leader_id):\n"
  . join("\n", grep { /^(?:raft_ext_|pg_up|pg_exporter_last_scrape_duration_seconds)/ } split /\n/, $m->{text});

# The followers keep a connection to every peer too (so that
# RaftExtPeerDisconnected, on any node's view, means what it says).
for my $f (@followers)
{
	my @down = grep { !$_->{is_self} && !$_->{connected} } @{ $c->peers($f) };
	is(scalar @down, 0, 'follower ' . $c->id_of($f) . ': raft_peers shows every peer connected')
	  or diag explain $c->peers($f);
}

# ---------------------------------------------------------------------
# A follower stops: the leader's exporter shows it disconnected
# ---------------------------------------------------------------------
my $gone = $followers[1];
my $gone_id = $c->id_of($gone);
my $stayed_id = $c->id_of($followers[0]);
$c->stop_node($gone, 'immediate');
my $t_stop = time;
my $seen;
while (time - $t_stop < 15)
{
	$m = scrape();
	$seen = $m ? sample($m, 'raft_ext_peer_connected', %self, peer_id => $gone_id) : undef;
	last if defined $seen && $seen == 0;
	sleep 0.2;
}
is($seen, 0, "node $gone_id stopped: raft_ext_peer_connected{peer_id=\"$gone_id\"} is 0 on the leader");
note sprintf('seen %.1f s after the stop', time - $t_stop);
is(sample($m, 'raft_ext_peer_connected', %self, peer_id => $stayed_id), 1, "node $stayed_id still connected");
is(sample($m, 'raft_ext_role', %self, role => 'leader'), 1, 'the leader is still leader (2 of 3)');
my $peer_row = (grep { $_->{node_id} == $gone_id } @{ $c->peers($leader) })[0];
is($peer_row->{connected}, 0, 'as raft_peers says');

stop_exporter();
my $log = PostgreSQL::Test::Utils::slurp_file($exporter_log);
unlike($log, qr/level=(?:warn|error)|err=/, "the exporter's log has no error (no query of the file failed)")
  or diag $log;
note "exporter log:\n$log";

# ---------------------------------------------------------------------
# The alerting rules
# ---------------------------------------------------------------------
my ($out, $rc);
$out = `'$promtool' check rules '$alerts' 2>&1`;
$rc = $?;
is($rc, 0, 'promtool check rules monitoring/alerts.yml') or diag $out;
like($out, qr/SUCCESS: \d+ rules found/, '... SUCCESS') or diag $out;
note $out;
# promtool test rules reads the rule files named in the test file relative to it
$out = `cd '$root/monitoring' && '$promtool' test rules alerts_test.yml 2>&1`;
$rc = $?;
is($rc, 0, 'promtool test rules monitoring/alerts_test.yml: the alerts fire on synthetic series') or diag $out;
like($out, qr/SUCCESS/, '... SUCCESS') or diag $out;
note $out;

done_testing();
