# test/perl/RaftSession.pm — one long-lived psql session on a node, for TAP
# tests that need a backend to keep its state between statements (a cached
# forward connection, a backend pid to cancel or terminate) and to run a
# statement in the background while the test does something else.
#
#   my $s = RaftSession->new($node);             # psql -XAtq, VERBOSITY=verbose
#   my $pid = $s->query('SELECT pg_backend_pid()')->{out};
#   my $r = $s->query("SELECT ...", timeout => 10);   # {out, err, elapsed, timed_out}
#   my $job = $s->start("SELECT ...");            # returns at once
#   ... do something ...
#   my $r = $s->wait($job, timeout => 5);         # {out, err, elapsed, timed_out, alive}
#   $s->close;
#
# Each statement is followed by "\echo" of a marker; output up to the marker
# is the statement's.  When the server ends the session (FATAL), psql exits:
# wait() then returns with alive => 0.
package RaftSession;

use strict;
use warnings;

use Carp;
use IPC::Run ();
use Time::HiRes qw(time usleep);

sub new
{
	my ($class, $node, %p) = @_;
	my $connstr = $node->connstr('postgres');
	$connstr .= " user=$p{user}" if $p{user};
	my $self = bless { in => '', out => '', err => '', n => 0, node => $node }, $class;
	$self->{h} = IPC::Run::start(
		[ 'psql', '-XAtq', '-v', 'VERBOSITY=verbose', '-d', $connstr ],
		'<', \$self->{in}, '>', \$self->{out}, '2>', \$self->{err});
	return $self;
}

# Send $sql (one or more statements, ';'-terminated) and a marker; returns a job.
sub start
{
	my ($self, $sql) = @_;
	my $n = ++$self->{n};
	my $marker = "__raft_session_done_${n}__";
	$self->{out} = '';
	$self->{err} = '';
	$sql .= ';' unless $sql =~ /;\s*$/;
	$self->{in} .= "$sql\n\\echo $marker\n";
	# IPC::Run writes stdin only while pumping: hand it all to psql now
	my $until = time + 10;
	while (length $self->{in} && time < $until && $self->{h}->pumpable)
	{
		eval { $self->{h}->pump_nb; 1 } or last;
		usleep(1_000) if length $self->{in};
	}
	return { marker => $marker, t0 => time };
}

# Wait for a job: until its marker is printed, psql exits, or the timeout.
sub wait
{
	my ($self, $job, %p) = @_;
	my $deadline = $job->{t0} + ($p{timeout} // 60);
	my $alive = 1;
	my $done = 0;
	while (time < $deadline)
	{
		if (!$self->{h}->pumpable)
		{
			$alive = 0;
			last;
		}
		eval { $self->{h}->pump_nb; 1 } or do { $alive = 0; last; };
		if ($self->{out} =~ /\Q$job->{marker}\E/)
		{
			$done = 1;
			last;
		}
		usleep(10_000);
	}
	my $elapsed = time - $job->{t0};
	# stderr is unbuffered and written before the marker: one more read
	eval { $self->{h}->pump_nb } if $alive;
	(my $out = $self->{out}) =~ s/\Q$job->{marker}\E\n?//;
	chomp $out;
	return {
		out       => $out,
		err       => $self->{err},
		elapsed   => $elapsed,
		timed_out => !$done && $alive,
		alive     => $alive,
	};
}

sub query
{
	my ($self, $sql, %p) = @_;
	return $self->wait($self->start($sql), %p);
}

# SQLSTATE of the (first) error in a result's stderr, or undef.
sub sqlstate
{
	my ($r) = @_;
	return $1 if defined $r->{err} && $r->{err} =~ /(?:ERROR|FATAL):\s+([0-9A-Z]{5}):/;
	return undef;
}

sub close
{
	my ($self) = @_;
	return unless $self->{h};
	$self->{in} .= "\\q\n";
	eval { $self->{h}->finish; 1 } or eval { $self->{h}->kill_kill };
	delete $self->{h};
}

sub DESTROY
{
	my ($self) = @_;
	eval { $self->{h}->kill_kill } if $self->{h};
}

1;
