# test/perl/RaftProxy.pm — a TCP relay in front of one node, in a process of
# its own, that a test can turn into a black hole and back without root.
#
#   my $p = RaftProxy->new(target_port => $node->port);   # listens on $p->port
#   $p->blackhole;   # the node vanishes from the network, as seen through $p:
#                    #  - established connections go silent both ways: nothing
#                    #    is relayed, nothing is closed (the bytes wait in the
#                    #    kernel's buffers, as in a partition that drops
#                    #    packets and TCP retransmits them);
#                    #  - new connections get no SYN-ACK: the listen queue is
#                    #    shrunk to nothing and filled, so Linux drops SYNs and
#                    #    connect() waits through its retransmissions
#   $p->heal;        # relays again (buffered bytes flow), accepts again
#   $p->stop;
#
# Only 127.0.0.1 is used.  Without root this is the closest thing to a
# network partition a test can make; the chaos suite (real namespaces and
# nftables, as root) does the real thing.
package RaftProxy;

use strict;
use warnings;

use Carp;
use IO::Select;
use IO::Socket::INET;
use POSIX ();
use Socket qw(SOMAXCONN);
use Time::HiRes qw(usleep);

sub new
{
	my ($class, %p) = @_;
	my $target = $p{target_port} or croak "target_port needed";
	my $listen = IO::Socket::INET->new(
		LocalAddr => '127.0.0.1',
		LocalPort => $p{port} // 0,
		Listen    => SOMAXCONN,
		ReuseAddr => 1,
		Proto     => 'tcp') or croak "RaftProxy: cannot listen: $!";
	my $self = bless { port => $listen->sockport, target => $target }, $class;
	my $pid = fork();
	croak "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		_run($listen, $target);
		POSIX::_exit(0);
	}
	close $listen;
	$self->{pid} = $pid;
	return $self;
}

sub port { return $_[0]->{port}; }

sub blackhole { my ($self) = @_; kill 'USR1', $self->{pid}; usleep(100_000); }
sub heal      { my ($self) = @_; kill 'USR2', $self->{pid}; usleep(100_000); }

sub stop
{
	my ($self) = @_;
	return unless $self->{pid};
	kill 'TERM', $self->{pid};
	waitpid($self->{pid}, 0);
	delete $self->{pid};
}

sub DESTROY { $_[0]->stop; }

# The relay loop (child process).
sub _run
{
	my ($listen, $target) = @_;
	my $hole = 0;
	my $want;
	my $stop = 0;
	local $SIG{USR1} = sub { $want = 1 };
	local $SIG{USR2} = sub { $want = 0 };
	local $SIG{TERM} = sub { $stop = 1 };
	my %peer;     # fileno => the socket it is relayed to
	my %sock;     # fileno => socket
	my $filler;
	my $filler_port = 0;
	my $sel = IO::Select->new($listen);

	while (!$stop)
	{
		if (defined $want && $want != $hole)
		{
			$hole = $want;
			if ($hole)
			{
				# a listen queue of nothing, already full: SYNs are dropped
				listen($listen, 0);
				$filler = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
					PeerPort => $listen->sockport, Proto => 'tcp', Blocking => 0);
				$filler_port = $filler ? $filler->sockport : 0;
			}
			else
			{
				listen($listen, SOMAXCONN);
				close $filler if $filler;
				$filler = undef;
			}
		}
		if ($hole)
		{
			usleep(20_000);
			next;
		}
		my @ready = $sel->can_read(0.05);
		for my $s (@ready)
		{
			if ($s == $listen)
			{
				my $c = $listen->accept or next;
				if ($filler_port && $c->peerport == $filler_port)
				{
					close $c;
					next;
				}
				my $t = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
					PeerPort => $target, Proto => 'tcp');
				if (!$t) { close $c; next; }
				$peer{ fileno $c } = $t;
				$peer{ fileno $t } = $c;
				$sock{ fileno $c } = $c;
				$sock{ fileno $t } = $t;
				$sel->add($c, $t);
				next;
			}
			my $buf;
			my $n = sysread($s, $buf, 65536);
			my $o = $peer{ fileno $s };
			if (!$n)
			{
				for my $x ($s, $o)
				{
					next unless $x;
					$sel->remove($x);
					delete $peer{ fileno $x };
					delete $sock{ fileno $x };
					close $x;
				}
				next;
			}
			my $off = 0;
			while ($off < $n)
			{
				my $w = syswrite($o, $buf, $n - $off, $off);
				last unless defined $w;
				$off += $w;
			}
		}
	}
}

1;
