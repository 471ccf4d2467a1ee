# test/perl/RaftCluster.pm — a cluster of PostgreSQL servers running raft_ext,
# for the multi-node TAP tests in test/t/.
#
# Builds N PostgreSQL::Test::Cluster nodes listening on 127.0.0.1 (the test
# harness itself talks to them over their private Unix sockets), writes each
# node's raft_ext settings (node_id, peers, database, timing), starts them,
# runs CREATE EXTENSION raft_ext on each, and offers the helpers the tests
# share: waiting for an agreed leader, submitting statements and classifying
# their outcome (ok / error / outcome unknown), waiting for apply, comparing
# table contents on every node, and crashing (kill -9 of the postmaster and
# all its children), pausing (SIGSTOP) and resuming nodes.
#
# Node ids are 1..N; node($id) returns the PostgreSQL::Test::Cluster object.
# Membership changes (raft_add_node / raft_remove_node): new_node creates a
# server that joins (raft_ext.join = on, the next id, or a wiped node again),
# retire_node takes one out; nodes that are not members (joining, removed)
# are left out of running_nodes, and so out of wait_for_leader,
# table_contents_equal and the other "every node" helpers, until
# set_member says they are members.
# Everything here only uses the public SQL contract of raft_ext: raft_submit,
# raft_status, raft_peers, raft_barrier and the raft_ext.* settings.
#
# The servers refuse to run as root: run the tests as an ordinary user (the
# build runs them as postgres).

package RaftCluster;

use strict;
use warnings;

use Carp;
use File::Basename;
use File::Path ();
use File::Spec;
use POSIX ();
use JSON::PP;
use Test::More;
use Time::HiRes qw(usleep time);
use Time::Local ();

BEGIN
{
	# Find the PostgreSQL 15 binaries even when PATH only has Debian's
	# wrappers (or nothing at all).
	my $bindir = $ENV{PG_BINDIR};
	if (!$bindir)
	{
		for my $cand ('/usr/lib/postgresql/15/bin')
		{
			$bindir = $cand if -x "$cand/postgres";
		}
		if (!$bindir)
		{
			my $b = `pg_config --bindir 2>/dev/null`;
			chomp $b;
			$bindir = $b if $b && -d $b;
		}
	}
	$ENV{PATH} = "$bindir:$ENV{PATH}" if $bindir;

	# PostgreSQL::Test::Cluster::init runs "$PG_REGRESS --config-auth".
	if (!$ENV{PG_REGRESS})
	{
		my $libdir = `pg_config --pkglibdir 2>/dev/null`;
		chomp $libdir;
		for my $cand ("$libdir/pgxs/src/test/regress/pg_regress",
			'/usr/lib/postgresql/15/lib/pgxs/src/test/regress/pg_regress')
		{
			if (-x $cand) { $ENV{PG_REGRESS} = $cand; last; }
		}
	}

	# PostgreSQL::Test::Utils puts tmp_check (data directories, logs) under
	# $TESTDIR, or the current directory.  Default to test/ when writable,
	# else a directory of our own under /tmp.
	if (!$ENV{TESTDIR})
	{
		my $testdir = File::Spec->rel2abs(dirname(__FILE__) . '/..');
		if (-w $testdir)
		{
			$ENV{TESTDIR} = $testdir;
		}
		else
		{
			$ENV{TESTDIR} = "/tmp/raft_ext_tap_$<";
			mkdir $ENV{TESTDIR};
		}
	}

	# Keep polling helpers of the framework from waiting 3 minutes.
	$ENV{PG_TEST_TIMEOUT_DEFAULT} //= 60;
}

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;

# Somewhat slower than the extension's defaults (150/300/50 ms), for a
# loaded 2-core machine running up to five servers.  (Not slower still: as
# of this writing, an election_timeout_min of 300 or more stops the server
# from starting; 001_election.pl checks that separately.)
our %DEFAULT_TIMING = (
	election_timeout_min => 250,
	election_timeout_max => 500,
	heartbeat_interval   => 50,
);

my @all_clusters;

=pod

=head1 RaftCluster->new(%params)

  nodes         number of nodes (default 3)
  name          prefix of the node names (default 'node')
  timing        hashref overriding %DEFAULT_TIMING (undef value: leave unset)
  peer_user     login role in the peers' connection strings (default: the
                OS user, the bootstrap superuser)
  peer_password password for that role (default none)
  peer_format   'uri' (default) or 'kv' for key=value connection strings
  peer_conninfo if set, a sub ($cluster, $from_node, $to_node) returning the
                connection string $from_node uses to reach $to_node (its
                own entry included); each node then gets its own
                raft_ext.peers (peer_user, peer_password and peer_format
                are not used).  $cluster->peer_port($to_node) is the port
                to use (the proxy's, with proxy => 1)
  conf          extra postgresql.conf text for every node
  hba           if set, the whole pg_hba.conf of every node
  pre_sql       SQL run on every node before CREATE EXTENSION
  preload       put raft_ext in shared_preload_libraries (default 1; 0 and
                extension_sql are only for trying the helpers without it)
  extension_sql SQL that creates the extension (default CREATE EXTENSION)
  start         start the nodes and create the extension (default 1)
  proxy         put a RaftProxy (test/perl/RaftProxy.pm) in front of every
                node: the peers reach each other through it, so a test can
                black-hole a node ($c->proxy($node)->blackhole) without root;
                the tests' own connections (Unix sockets) are not affected

=cut

sub new
{
	my ($class, %p) = @_;

	BAIL_OUT("PostgreSQL refuses to run as root: run the TAP tests as an ordinary user (e.g. postgres)")
	  if $> == 0;

	my $self = bless {
		n             => $p{nodes} // 3,
		name          => $p{name} // 'node',
		timing        => { %DEFAULT_TIMING, %{ $p{timing} // {} } },
		peer_user     => $p{peer_user} // (getpwuid($>))[0],
		peer_password => $p{peer_password},
		peer_format   => $p{peer_format} // 'uri',
		peer_conninfo_sub => $p{peer_conninfo},
		conf          => $p{conf} // '',
		hba           => $p{hba},
		pre_sql       => $p{pre_sql},
		preload       => $p{preload} // 1,
		extension_sql => $p{extension_sql} // 'CREATE EXTENSION raft_ext',
		nodes         => [],
		paused        => {},
		json          => JSON::PP->new->allow_nonref,
		proxies       => {},
	}, $class;
	push @all_clusters, $self;

	for my $id (1 .. $self->{n})
	{
		my $node = PostgreSQL::Test::Cluster->new("$self->{name}$id");
		$node->{_raft_id} = $id;
		push @{ $self->{nodes} }, $node;
	}
	# initdb once; the other nodes start from a copy of that data directory
	# (initdb is the slowest step of setting up a node).
	my ($first, @rest) = @{ $self->{nodes} };
	$first->init;
	for my $node (@rest)
	{
		mkdir $node->backup_dir;
		mkdir $node->archive_dir;
		system('cp', '-a', $first->data_dir, $node->data_dir) == 0
		  or die "cannot copy " . $first->data_dir . " to " . $node->data_dir;
		$node->adjust_conf('postgresql.conf', 'port', $node->port);
	}
	if ($p{proxy})
	{
		require RaftProxy;
		$self->{proxies}{ $_->{_raft_id} } = RaftProxy->new(target_port => $_->port)
		  for @{ $self->{nodes} };
	}
	$self->_write_conf($_) for @{ $self->{nodes} };
	if ($p{start} // 1)
	{
		$self->start_all;
		$self->create_extension;
	}
	return $self;
}

# The port the peers reach a node on (its proxy's, with proxy => 1).
sub peer_port
{
	my ($self, $node) = @_;
	my $proxy = $self->{proxies}{ $node->{_raft_id} };
	return $proxy ? $proxy->port : $node->port;
}

# One member's connection string, as the peers use it (as $from uses it,
# when the cluster has a peer_conninfo sub).
sub peer_conninfo
{
	my ($self, $node, $from) = @_;
	return $self->{peer_conninfo_sub}->($self, $from, $node)
	  if $self->{peer_conninfo_sub};
	my $user = $self->{peer_user};
	my $pw   = $self->{peer_password};
	my $port = $self->peer_port($node);
	if ($self->{peer_format} eq 'kv')
	{
		my $s = "host=127.0.0.1 port=$port dbname=postgres user=$user";
		$s .= " password=$pw" if defined $pw;
		return $s;
	}
	my $auth = defined $pw ? "$user:$pw" : $user;
	return "postgresql://$auth\@127.0.0.1:$port/postgres";
}

# raft_ext.peers of node $from (the same on every node without a
# peer_conninfo sub).
sub peers_setting
{
	my ($self, $from) = @_;
	return join(',',
		map { $_->{_raft_id} . '=' . $self->peer_conninfo($_, $from) }
		  @{ $self->{nodes} });
}

# Options (for new_node): peers (raft_ext.peers instead of every node's),
# extra (more postgresql.conf text for this node only).
sub _write_conf
{
	my ($self, $node, %o) = @_;
	my $id    = $node->{_raft_id};
	my $peers = $o{peers} // $self->peers_setting($node);
	my $conf  = <<"EOC";

# Added by RaftCluster.pm
listen_addresses = '127.0.0.1'
${\ ($self->{preload} ? "shared_preload_libraries = 'raft_ext'" : '')}
raft_ext.node_id = $id
raft_ext.peers = '$peers'
raft_ext.database = 'postgres'
log_statement = 'none'
shared_buffers = 16MB
max_connections = 60
EOC
	for my $k (sort keys %{ $self->{timing} })
	{
		my $v = $self->{timing}{$k};
		$conf .= "raft_ext.$k = $v\n" if defined $v;
	}
	$conf .= $self->{conf} . "\n";
	$conf .= $o{extra} . "\n" if defined $o{extra};
	$node->append_conf('postgresql.conf', $conf);

	if (defined $self->{hba})
	{
		my $f = $node->data_dir . '/pg_hba.conf';
		open my $fh, '>', $f or die "cannot write $f: $!";
		print $fh $self->{hba};
		close $fh;
		chmod 0600, $f;
	}
	return;
}

=pod

=head1 Nodes

=cut

sub nodes { return @{ $_[0]->{nodes} }; }
# The RaftProxy in front of a node (clusters made with proxy => 1).
sub proxy { my ($self, $node) = @_; return $self->{proxies}{ $node->{_raft_id} }; }
sub node  { my ($self, $id) = @_; return $self->{nodes}[ $id - 1 ]; }
sub id_of { my ($self, $node) = @_; return $node->{_raft_id}; }

sub is_running
{
	my ($self, $node) = @_;
	return defined $node->{_pid} && !$self->{paused}{ $node->{_raft_id} };
}

# Nodes up and not paused (members only: see new_node / set_member).
sub running_nodes
{
	my ($self) = @_;
	return grep { $self->is_running($_) && $self->is_member($_) } @{ $self->{nodes} };
}

# Whether the tests count the node as a member (every node of the bootstrap
# configuration, until retire_node; a node from new_node once set_member).
sub is_member
{
	my ($self, $node) = @_;
	return !$self->{out}{ $node->{_raft_id} };
}

sub set_member
{
	my ($self, $node, $member) = @_;
	if ($member // 1) { delete $self->{out}{ $node->{_raft_id} }; }
	else { $self->{out}{ $node->{_raft_id} } = 1; }
	return;
}

# Members (see is_member), running or not.
sub members
{
	my ($self) = @_;
	return grep { $self->is_member($_) } @{ $self->{nodes} };
}

sub start_node
{
	my ($self, $node) = @_;
	my $ok = $node->start(fail_ok => 1);
	if (!$ok)
	{
		my $log = slurp_file($node->logfile);
		$log = substr($log, -4000) if length($log) > 4000;
		die "could not start node " . $node->name . ":\n$log\n";
	}
	return;
}

sub start_all
{
	my ($self) = @_;
	$self->start_node($_) for grep { !defined $_->{_pid} } $self->members;
	return;
}

# CREATE EXTENSION on every running node.  When the extension puts its
# functions and views in a schema that is not on the default search_path,
# add that schema to the database's search_path so that the tests can use
# the unqualified names of the contract.
sub create_extension
{
	my ($self) = @_;
	$self->create_extension_on($_) for $self->running_nodes;
	return;
}

# The same on one node.
sub create_extension_on
{
	my ($self, $node) = @_;
	$node->safe_psql('postgres', $self->{pre_sql}) if $self->{pre_sql};
	$node->safe_psql('postgres', $self->{extension_sql});
	my $schema = $node->safe_psql('postgres',
		q{SELECT n.nspname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		  WHERE p.proname = 'raft_submit' LIMIT 1});
	if ($schema ne '' && $schema ne 'public')
	{
		$node->safe_psql('postgres',
			qq{ALTER DATABASE postgres SET search_path = "\$user", public, "$schema"});
	}
	return;
}

sub stop_node
{
	my ($self, $node, $mode) = @_;
	$self->resume($node) if $self->{paused}{ $node->{_raft_id} };
	if (!$node->stop($mode // 'fast', fail_ok => 1))
	{
		# Not a reason to abort the whole prove run (the framework would
		# BAIL_OUT): the node probably died on its own.
		fail("stop " . $node->name . " (" . ($mode // 'fast') . "): pg_ctl stop failed; log tail:\n"
			  . $self->log_tail($node));
		$node->{_pid} = undef;
	}
	return;
}

# Process ids of a node: the postmaster first, then its children.
sub node_pids
{
	my ($self, $node) = @_;
	my $pidfile = $node->data_dir . '/postmaster.pid';
	open my $fh, '<', $pidfile or return ();
	my $pm = <$fh>;
	close $fh;
	chomp $pm;
	return () unless $pm =~ /^\d+$/;
	my @children;
	opendir my $dh, '/proc' or die "cannot read /proc: $!";
	for my $p (readdir $dh)
	{
		next unless $p =~ /^\d+$/;
		open my $sfh, '<', "/proc/$p/stat" or next;
		my $stat = <$sfh>;
		close $sfh;
		next unless defined $stat;
		my $rest = substr($stat, rindex($stat, ')') + 2);
		my (undef, $ppid) = split / /, $rest;
		push @children, $p if defined $ppid && $ppid == $pm;
	}
	closedir $dh;
	return ($pm, @children);
}

sub _alive
{
	my ($pid) = @_;
	open my $fh, '<', "/proc/$pid/stat" or return 0;
	my $stat = <$fh>;
	close $fh;
	return 0 unless defined $stat;
	my $state = (split / /, substr($stat, rindex($stat, ')') + 2))[0];
	return $state ne 'Z' && $state ne 'X';
}

# A crash of the whole server: SIGKILL to the postmaster and to every child
# at once (killing the postmaster alone would leave the raft worker and the
# backends running for a while).  Returns the time of the SIGKILL.
sub kill9
{
	my ($self, $node) = @_;
	# Freeze the postmaster first so that it cannot fork a child we would
	# miss, then kill everything.
	my ($pm) = $self->node_pids($node);
	kill 'STOP', $pm if $pm;
	my @pids = $self->node_pids($node);
	note "kill -9 " . $node->name . " (pids @pids)";
	my $killed_at = time;
	kill 'KILL', @pids if @pids;
	kill 'CONT', @pids if $self->{paused}{ $node->{_raft_id} };
	my $deadline = time + 20;
	while (grep { _alive($_) } @pids)
	{
		die "processes of " . $node->name . " survive SIGKILL"
		  if time > $deadline;
		usleep(20_000);
	}
	# Dead but maybe not yet reaped: a zombie postmaster still "exists"
	# for kill(pid, 0), and the next postmaster would refuse its lock files.
	# Wait a little for the reaper, then remove the lock files ourselves
	# (every process of the node is dead).
	$deadline = time + 3;
	while (grep { -e "/proc/$_" } @pids)
	{
		last if time > $deadline;
		usleep(20_000);
	}
	unlink $node->data_dir . '/postmaster.pid';
	unlink $node->host . '/.s.PGSQL.' . $node->port . '.lock'
	  if $node->host =~ m{^/};
	delete $self->{paused}{ $node->{_raft_id} };
	$node->{_pid} = undef;
	return $killed_at;
}

# SIGSTOP the postmaster and all its children: the node freezes as a whole.
sub pause
{
	my ($self, $node) = @_;
	my @pids = $self->node_pids($node);
	die "no processes for " . $node->name unless @pids;
	note "SIGSTOP " . $node->name . " (pids @pids)";
	kill 'STOP', @pids;
	$self->{paused}{ $node->{_raft_id} } = \@pids;
	return;
}

sub resume
{
	my ($self, $node) = @_;
	my $pids = delete $self->{paused}{ $node->{_raft_id} } or return;
	note "SIGCONT " . $node->name;
	kill 'CONT', @$pids;
	return;
}

=pod

=head1 Queries

=cut

# Run SQL, return (ret, stdout, stderr); never dies on SQL errors.
sub psql
{
	my ($self, $node, $sql, %p) = @_;
	my $connstr = $node->connstr('postgres');
	$connstr .= " user=$p{user}" if $p{user};
	my ($ret, $out, $err);
	my $timed_out = 0;
	eval {
		($ret, $out, $err) = $node->psql(
			'postgres', $sql,
			connstr      => $connstr,
			extra_params => [ '-v', 'VERBOSITY=verbose' ],
			timeout      => $p{timeout} // 60,
			timed_out    => \$timed_out);
		1;
	} or do {
		return (-1, '', "psql failed: $@");
	};
	return (-1, $out // '', "psql timed out: " . ($err // '')) if $timed_out;
	return ($ret, $out, $err);
}

# Run SQL and return its output; dies on error.
sub query
{
	my ($self, $node, $sql, %p) = @_;
	my ($ret, $out, $err) = $self->psql($node, $sql, %p);
	croak "query on " . $node->name . " failed ($ret): $err\nSQL: $sql" if $ret != 0;
	return $out;
}

sub _sqlstate
{
	my ($err) = @_;
	return $1 if defined $err && $err =~ /(?:ERROR|FATAL):\s+([0-9A-Z]{5}):/;
	return undef;
}

# The node's raft_status row as a hashref (undef when it cannot be read).
sub status
{
	my ($self, $node) = @_;
	return undef unless $self->is_running($node);
	my ($ret, $out, $err) =
	  $self->psql($node, 'SELECT row_to_json(s) FROM raft_status s', timeout => 10);
	if ($ret != 0 || $out eq '')
	{
		$self->{last_status_error} = $node->name . ": $err";
		return undef;
	}
	my $row = eval { $self->{json}->decode((split /\n/, $out)[0]) };
	return $row;
}

sub peers
{
	my ($self, $node) = @_;
	my $out = $self->query($node,
		'SELECT row_to_json(p) FROM raft_peers p ORDER BY node_id');
	return [ map { $self->{json}->decode($_) } grep { $_ ne '' } split /\n/, $out ];
}

sub _lid
{
	my ($s) = @_;
	my $l = $s->{leader_id};
	return (defined $l && $l ne '' && $l != 0) ? $l : 0;
}

# Poll raft_status on the given nodes (default: all running nodes) until
# they all report the same term and the same leader, and that leader is
# among them and says it is leader.  Returns ($leader_node, $term, $elapsed)
# or () on timeout (after printing the last statuses).
sub wait_for_leader
{
	my ($self, %p) = @_;
	my $timeout = $p{timeout} // 30;
	my @nodes   = $p{nodes} ? @{ $p{nodes} } : $self->running_nodes;
	my $t0      = time;
	my %st;
	while (1)
	{
		%st = ();
		my $complete = 1;
		for my $n (@nodes)
		{
			my $s = $self->status($n);
			if (!$s) { $complete = 0; last; }
			$st{ $n->{_raft_id} } = $s;
		}
		if ($complete)
		{
			my @leaders = grep { ($st{$_}{role} // '') eq 'leader' } keys %st;
			my %terms = map { ($st{$_}{term} // -1) => 1 } keys %st;
			my %lids  = map { _lid($st{$_}) => 1 } keys %st;
			if (   @leaders == 1
				&& keys(%terms) == 1
				&& keys(%lids) == 1
				&& (keys %lids)[0] == $leaders[0])
			{
				my $leader = $self->node($leaders[0]);
				$self->{leader} = $leader;
				return ($leader, $st{ $leaders[0] }{term}, time - $t0);
			}
		}
		last if time - $t0 > $timeout;
		usleep(50_000);
	}
	return () if $p{quiet};
	diag "no agreed leader after ${timeout}s; last statuses:";
	for my $id (sort keys %st)
	{
		diag "  node $id: " . $self->{json}->canonical->encode($st{$id});
	}
	diag "  last status error: $self->{last_status_error}"
	  if $self->{last_status_error};
	return ();
}

# The leader as last seen by wait_for_leader (re-checked).
sub leader
{
	my ($self) = @_;
	my ($l) = $self->wait_for_leader;
	return $l;
}

sub followers
{
	my ($self, $leader) = @_;
	$leader //= $self->leader;
	return grep { $_ != $leader } $self->running_nodes;
}

sub _quote
{
	my ($s) = @_;
	$s =~ s/'/''/g;
	return "'$s'";
}

# Submit one statement through raft_submit on $node.  Returns a hashref:
#   outcome   'ok' | 'error' (definitely not applied) | 'unknown'
#             (SQLSTATE 40003, or the connection broke mid-statement)
#             | 'noconnect' (never reached the server)
#   log_index, term, command_tag, rows  (on ok)
#   sqlstate, error  (otherwise)
#   elapsed   seconds
# Options: statement_timeout (default '20s'), user.
sub submit
{
	my ($self, $node, $sql, %p) = @_;
	my $st = $p{statement_timeout} // '20s';
	my $script =
	    "SET statement_timeout = '$st';\n"
	  . "SELECT * FROM raft_submit(" . _quote($sql) . ");\n";
	my $t0 = time;
	my ($ret, $out, $err) =
	  $self->psql($node, $script, user => $p{user}, timeout => $p{timeout} // 120);
	my %r = (elapsed => time - $t0, node => $node->name);
	if ($ret == 0)
	{
		my @f = split /\|/, (split /\n/, $out)[-1] // '', -1;
		%r = (%r, outcome => 'ok', log_index => $f[0], term => $f[1],
			command_tag => $f[2], rows => $f[3]);
		return \%r;
	}
	$r{error}    = $err;
	$r{sqlstate} = _sqlstate($err);
	if (defined $r{sqlstate})
	{
		$r{outcome} = $r{sqlstate} eq '40003' ? 'unknown' : 'error';
	}
	elsif ($err =~ /server closed the connection|connection to server was lost|terminating connection|no connection to the server|psql timed out/)
	{
		$r{outcome} = 'unknown';
	}
	elsif ($err =~ /could not connect|Connection refused|No such file or directory|connection to server .* failed/)
	{
		$r{outcome} = 'noconnect';
	}
	else
	{
		$r{outcome} = 'unknown';
	}
	return \%r;
}

# Submit and assert success; returns the result hashref.
sub submit_ok
{
	my ($self, $node, $sql, $name, %p) = @_;
	my $r = $self->submit($node, $sql, %p);
	ok($r->{outcome} eq 'ok', $name // "raft_submit on " . $node->name . ": $sql")
	  or diag "outcome $r->{outcome}: " . ($r->{error} // '');
	return $r;
}

sub barrier
{
	my ($self, $node, %p) = @_;
	return $self->query($node, 'SELECT raft_barrier()', %p);
}

# Wait until every running node (or the given ones) has last_applied >= $index.
sub wait_applied_everywhere
{
	my ($self, $index, %p) = @_;
	my $timeout = $p{timeout} // 60;
	my @nodes = $p{nodes} ? @{ $p{nodes} } : $self->running_nodes;
	my $t0 = time;
	my %last;
	while (1)
	{
		my $all = 1;
		for my $n (@nodes)
		{
			my $s = $self->status($n);
			$last{ $n->name } = $s ? $s->{last_applied} : 'unreadable';
			$all = 0 unless $s && defined $s->{last_applied} && $s->{last_applied} >= $index;
		}
		return time - $t0 if $all;
		if (time - $t0 > $timeout)
		{
			diag "last_applied did not reach $index in ${timeout}s: "
			  . join(', ', map { "$_=$last{$_}" } sort keys %last);
			return undef;
		}
		usleep(50_000);
	}
}

# The leader's commit_index, then wait for it everywhere.
sub wait_caught_up
{
	my ($self, %p) = @_;
	my ($leader) = $self->wait_for_leader(%p) or return undef;
	my $s = $self->status($leader) or return undef;
	return $self->wait_applied_everywhere($s->{commit_index}, %p);
}

# Run $query on every running node (or the given ones); returns
# ($equal, $content_of_first, {name => content}).
sub table_contents_equal
{
	my ($self, $query, %p) = @_;
	my @nodes = $p{nodes} ? @{ $p{nodes} } : $self->running_nodes;
	my %c;
	for my $n (@nodes)
	{
		my ($ret, $out, $err) = $self->psql($n, $query);
		$c{ $n->name } = $ret == 0 ? $out : "ERROR: $err";
	}
	my @v = values %c;
	my $equal = !grep { $_ ne $v[0] } @v;
	if (!$equal && !$p{quiet})
	{
		diag "contents differ for: $query";
		for my $name (sort keys %c)
		{
			my $s = $c{$name};
			$s = substr($s, 0, 500) . '...' if length($s) > 500;
			diag "  $name: $s";
		}
	}
	return wantarray ? ($equal, $c{ $nodes[0]->name }, \%c) : $equal;
}

# Poll $cond->() until it holds or $timeout seconds (default 30) passed:
# 1 if it held, 0 if not.
sub wait_until
{
	my ($self, $cond, $timeout) = @_;
	my $t0 = time;
	while (time - $t0 < ($timeout // 30))
	{
		return 1 if $cond->();
		usleep(100_000);
	}
	return 0;
}

# Poll table_contents_equal until equal (contents may lag on followers).
sub wait_contents_equal
{
	my ($self, $query, %p) = @_;
	my $timeout = $p{timeout} // 30;
	my $t0 = time;
	while (1)
	{
		my ($eq, $first, $all) = $self->table_contents_equal($query, %p, quiet => 1);
		return wantarray ? ($eq, $first, $all) : $eq if $eq;
		if (time - $t0 > $timeout)
		{
			return $self->table_contents_equal($query, %p);
		}
		usleep(100_000);
	}
}

# Run several psql scripts at once, each on its own connection, each
# statement its own implicit transaction.  $jobs = [[$node, $script], ...].
# Returns a list of {ret, out, err} (ret -1: timed out and killed).
sub run_scripts_parallel
{
	my ($self, $jobs, %p) = @_;
	my @bg = map { $self->start_script($_->[0], $_->[1], %p) } @$jobs;
	return map { $self->finish_script($_, $p{timeout}) } @bg;
}

# Start one psql script in the background, output to files; returns a job
# for finish_script.  Options: user, on_error_stop (default 1).
sub start_script
{
	my ($self, $node, $script, %p) = @_;
	my $dir = PostgreSQL::Test::Utils::tempdir('script');
	my $f = "$dir/script.sql";
	open my $fh, '>', $f or die "cannot write $f: $!";
	print $fh $script;
	close $fh;
	my $connstr = $node->connstr('postgres');
	$connstr .= " user=$p{user}" if $p{user};
	my @cmd = ('psql', '-XAtq', '-v', 'VERBOSITY=verbose',
		(($p{on_error_stop} // 1) ? ('-v', 'ON_ERROR_STOP=1') : ()),
		'-d', $connstr, '-f', $f);
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		open STDIN,  '<', '/dev/null';
		open STDOUT, '>', "$f.out";
		open STDERR, '>', "$f.err";
		exec @cmd or POSIX::_exit(127);
	}
	return { pid => $pid, f => $f, t0 => time };
}

# Wait for a background script; returns {ret, out, err, elapsed}.
sub finish_script
{
	my ($self, $job, $timeout) = @_;
	my $deadline = $job->{t0} + ($timeout // 300);
	my $ret;
	while (1)
	{
		my $r = waitpid($job->{pid}, POSIX::WNOHANG());
		if ($r == $job->{pid}) { $ret = $? >> 8; last; }
		if (time > $deadline)
		{
			kill 'KILL', $job->{pid};
			waitpid($job->{pid}, 0);
			$ret = -1;
			last;
		}
		usleep(20_000);
	}
	return {
		ret     => $ret,
		out     => slurp_file("$job->{f}.out"),
		err     => ($ret == -1 ? "timed out\n" : '') . slurp_file("$job->{f}.err"),
		elapsed => time - $job->{t0},
	};
}

# Time (epoch seconds) of the last line of the node's server log matching
# $re, from the log line's own timestamp (log_line_prefix '%m ...', UTC);
# undef if none.  For measuring, e.g., when a node became leader without the
# latency of status polling.
sub log_time_of_last
{
	my ($self, $node, $re) = @_;
	my $log = eval { slurp_file($node->logfile) } // '';
	my $when;
	for my $line (split /\n/, $log)
	{
		next unless $line =~ $re;
		next unless $line =~ /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(\.\d+)? (\w+)/;
		next unless $8 eq 'UTC' || $8 eq 'GMT';
		$when = Time::Local::timegm($6, $5, $4, $3, $2 - 1, $1) + ($7 // 0);
	}
	return $when;
}

# Log excerpt of a node, for diagnostics.
sub log_tail
{
	my ($self, $node, $bytes) = @_;
	my $log = slurp_file($node->logfile);
	$bytes //= 3000;
	return length($log) > $bytes ? substr($log, -$bytes) : $log;
}

# Give up on the rest of a test file (not on the whole prove run, as
# BAIL_OUT would).
sub stop_here
{
	my ($why) = @_;
	diag "giving up on this test file: $why";
	done_testing();
	exit 1;
}

=pod

=head1 Membership

  $c->new_node(%p)     a server to be added to the cluster with raft_add_node:
                       initdb, the cluster's settings plus raft_ext.join = on,
                       started, CREATE EXTENSION.  Returns the node object; it
                       is not counted as a member (running_nodes) until
                       set_member.
      id        its id: one more than the highest so far (the default)
      node      instead of id: an existing node, stopped, whose data
                directory is removed and made again (same id, same port)
      peers     arrayref of ids for its raft_ext.peers (default: the
                members and itself; [] for an empty list)
      join      raft_ext.join (default 1)
      conf      more postgresql.conf text for this node
      start     start it and create the extension (default 1)
  $c->add_member($node, %p)    SELECT raft_add_node(id, conninfo) on via
                       (default: the leader); conninfo: the node's peer
                       connection string.  Returns call()'s hashref.
  $c->remove_member($id_or_node, %p)   SELECT raft_remove_node(id), the same way
  $c->call($node, $sql, %p)    one statement returning one value, as
                       {ok, value, sqlstate, error, elapsed}; options user,
                       statement_timeout (default 30s), retry (seconds to
                       retry while it fails with 55000: a change in progress,
                       the leader not ready)
  $c->membership($node)        {id => {membership, pending}} from raft_peers
                       (undef when it cannot be read)
  $c->wait_membership(%p)      until node id is want ('voter', 'learner' or
                       'absent') in raft_peers of on (a node; default the
                       current leader, found again each time), committed
                       (membership_pending false) unless pending_ok; returns
                       the seconds waited, undef after timeout (default 60)
  $c->retire_node($node, wipe => 0|1)  stop it, no longer a member; wipe:
                       remove its data directory too

=cut

sub new_node
{
	my ($self, %p) = @_;
	my $node = $p{node};
	if ($node)
	{
		croak "new_node: " . $node->name . " is still running" if defined $node->{_pid};
		File::Path::rmtree($node->data_dir);
		$node->init;
	}
	else
	{
		my $next = scalar(@{ $self->{nodes} }) + 1;
		my $id = $p{id} // $next;
		croak "new_node: the next id is $next (not $id)" unless $id == $next;
		$node = PostgreSQL::Test::Cluster->new("$self->{name}$id");
		$node->{_raft_id} = $id;
		push @{ $self->{nodes} }, $node;
		$node->init;
	}
	my $id = $node->{_raft_id};
	$self->{out}{$id} = 1;
	delete $self->{paused}{$id};
	my @ids = $p{peers}
	  ? @{ $p{peers} }
	  : ((map { $_->{_raft_id} } grep { $_ != $node } $self->members), $id);
	my %seen;
	my $peers = join(',',
		map { "$_=" . $self->peer_conninfo($self->node($_), $node) }
		  grep { !$seen{$_}++ } sort { $a <=> $b } @ids);
	my $extra = '';
	$extra .= "raft_ext.join = on\n" if $p{join} // 1;
	$extra .= $p{conf} . "\n" if defined $p{conf};
	$self->_write_conf($node, peers => $peers, extra => $extra);
	if ($p{start} // 1)
	{
		$self->start_node($node);
		$self->create_extension_on($node);
	}
	return $node;
}

sub call
{
	my ($self, $node, $sql, %p) = @_;
	my $st = $p{statement_timeout} // '30s';
	my $t0 = time;
	my $deadline = $t0 + ($p{retry} // 0);
	my %r;
	while (1)
	{
		my ($ret, $out, $err) = $self->psql($node, "SET statement_timeout = '$st';\n$sql;\n",
			user => $p{user}, timeout => $p{timeout} // 120);
		%r = (node => $node->name);
		if ($ret == 0)
		{
			%r = (%r, ok => 1, value => (split /\n/, $out)[-1]);
		}
		else
		{
			%r = (%r, ok => 0, error => $err, sqlstate => _sqlstate($err));
		}
		last if $r{ok} || ($r{sqlstate} // '') ne '55000' || time >= $deadline;
		$r{retries}++;
		usleep(300_000);
	}
	$r{elapsed} = time - $t0;
	return \%r;
}

sub add_member
{
	my ($self, $node, %p) = @_;
	my $via = $p{via} // $self->leader;
	my $conninfo = $p{conninfo} // $self->peer_conninfo($node, $via);
	return $self->call($via,
		"SELECT raft_add_node($node->{_raft_id}, " . _quote($conninfo) . ")", %p);
}

sub remove_member
{
	my ($self, $which, %p) = @_;
	my $id = ref $which ? $which->{_raft_id} : $which;
	my $via = $p{via} // $self->leader;
	return $self->call($via, "SELECT raft_remove_node($id)", %p);
}

sub membership
{
	my ($self, $node) = @_;
	my ($ret, $out, $err) = $self->psql($node,
		q{SELECT node_id, membership, membership_pending FROM raft_peers ORDER BY node_id},
		timeout => 10);
	if ($ret != 0)
	{
		$self->{last_status_error} = $node->name . ": $err";
		return undef;
	}
	my %m;
	for my $line (grep { $_ ne '' } split /\n/, $out)
	{
		my ($id, $kind, $pending) = split /\|/, $line, -1;
		$m{$id} = { membership => $kind, pending => ($pending eq 't' ? 1 : 0) };
	}
	return \%m;
}

sub wait_membership
{
	my ($self, %p) = @_;
	my $id = ref $p{id} ? $p{id}{_raft_id} : $p{id};
	my $want = $p{want} // 'voter';
	my $timeout = $p{timeout} // 60;
	my $t0 = time;
	my ($last, $on);
	while (1)
	{
		$on = $p{on};
		($on) = $self->wait_for_leader(timeout => 5, quiet => 1) unless $on;
		if ($on && $self->is_running($on))
		{
			my $m = $self->membership($on);
			if ($m)
			{
				$last = join(' ', map { "$_:$m->{$_}{membership}" . ($m->{$_}{pending} ? '(pending)' : '') }
					  sort { $a <=> $b } keys %$m);
				my $e = $m->{$id};
				my $done =
				    $want eq 'absent' ? !$e
				  : ($e && $e->{membership} eq $want && (!$e->{pending} || $p{pending_ok}));
				return time - $t0 if $done;
			}
		}
		last if time - $t0 > $timeout;
		usleep(100_000);
	}
	diag "node $id is not $want within ${timeout}s in raft_peers of "
	  . ($on ? $on->name : 'a leader (none found)') . ": " . ($last // 'unreadable');
	return undef;
}

sub retire_node
{
	my ($self, $node, %p) = @_;
	$self->stop_node($node) if defined $node->{_pid};
	$self->set_member($node, 0);
	File::Path::rmtree($node->data_dir) if $p{wipe};
	return;
}

# Before PostgreSQL::Test::Cluster's END block stops the nodes: resume
# paused ones (a stopped postmaster would make pg_ctl stop time out), and
# forget nodes whose postmaster died on its own (pg_ctl stop would fail and
# the framework would BAIL_OUT of the whole prove run), saying so.
END
{
	my $exit = $?;
	for my $c (@all_clusters)
	{
		for my $id (keys %{ $c->{paused} })
		{
			kill 'CONT', @{ $c->{paused}{$id} };
		}
		$c->{paused} = {};
		for my $node (@{ $c->{nodes} })
		{
			my $pid = $node->{_pid};
			next unless defined $pid;
			next if _alive($pid);
			diag "node " . $node->name . " (postmaster $pid) died during the test; log tail:\n"
			  . eval { $c->log_tail($node, 2000) };
			$node->{_pid} = undef;
			$exit ||= 1;
		}
	}
	$? = $exit;
}

1;
