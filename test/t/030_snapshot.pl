# 030_snapshot.pl — a member that was down while the log was compacted past
# what it lacks (issue #15): compaction does not wait for it beyond
# raft_ext.log_hold_entries; when it comes back its leader sends
# InstallSnapshot, it says it needs a snapshot (raft_status.worker_state,
# raft_peers.needs_snapshot on the leader) and applies nothing wrong; rebuilt
# from an online copy of the leader (pg_basebackup, its own configuration
# and identity file kept), it catches up and the tables are identical.
# The node runs with raft_ext.auto_snapshot = off: this is the physical
# path; 031_snapshot_online.pl tests the online install.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use RaftCluster;
use File::Copy qw(copy);
use File::Find ();
use File::Path qw(rmtree);
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

my ($KEEP, $HOLD) = (50, 200);
# wal_level and max_wal_senders: PostgreSQL::Test::Cluster turns streaming
# off unless asked; the copy is a pg_basebackup of a running member.
my $c = RaftCluster->new(nodes => 3,
	conf => "raft_ext.log_keep_entries = $KEEP\nraft_ext.log_hold_entries = $HOLD\n"
	  . "wal_level = replica\nmax_wal_senders = 4\n");
my ($leader) = $c->wait_for_leader(timeout => 30);
ok($leader, 'a leader is elected') or RaftCluster::stop_here('no leader');
my ($f, $other) = $c->followers($leader);
my $fid = $c->id_of($f);

$c->submit_ok($leader, q{CREATE TABLE t (k int PRIMARY KEY, v text)});

sub write_rows
{
	my ($node, $from, $to) = @_;
	my $script = "SET statement_timeout = '30s';\n";
	$script .= "SELECT log_index FROM raft_submit('INSERT INTO t VALUES ($_, ''row $_'')');\n" for $from .. $to;
	my ($ret, $out, $err) = $c->psql($node, $script, timeout => 300);
	is($ret, 0, "rows $from..$to written through " . $node->name) or diag $err;
	return (split /\n/, $out)[-1];
}


my $last = write_rows($leader, 1, 100);
ok(defined $c->wait_applied_everywhere($last, timeout => 60), 'applied everywhere');
my $f_last = $c->query($f, q{SELECT last_applied FROM raft_status});

# The follower is down while the others go far ahead.  It runs with
# raft_ext.auto_snapshot = off (from its next start): with the default it
# would install a snapshot online by itself (031_snapshot_online.pl); here
# it waits for the physical copy.
$f->append_conf('postgresql.conf', "raft_ext.auto_snapshot = off\n");
$c->stop_node($f);
my @up = ($leader, $other);
$last = write_rows($leader, 101, 700);
ok(defined $c->wait_applied_everywhere($last, timeout => 60, nodes => \@up), 'the other two applied it');
ok($c->wait_until(sub { $c->query($leader, q{SELECT log_start_index FROM raft_ext.apply_state}) > $f_last + 1 }, 60),
	"compaction went past what node $fid holds (it was more than $HOLD entries behind)")
  or diag 'log start: ' . $c->query($leader, q{SELECT log_start_index FROM raft_ext.apply_state}) . ", node $fid at $f_last";

# It comes back: told it needs a snapshot; nothing wrong applied.
$c->start_node($f);
ok($c->wait_until(sub { ($c->query($f, q{SELECT worker_state FROM raft_status}) // '') eq 'needs snapshot' }, 30),
	"node $fid says it needs a snapshot (raft_status.worker_state)")
  or diag explain $c->status($f);
like($c->log_tail($f, 50000), qr/node $fid needs a snapshot: its leader, node \d+, no longer holds the log entries it lacks/,
	'and says so in its server log, with what to do');
is($c->query($f, q{SHOW raft_ext.auto_snapshot}), 'off', "node $fid runs with raft_ext.auto_snapshot = off");
sleep 2;
is($c->query($f, q{SELECT worker_state || '/' || apply_worker_state FROM raft_status}), 'needs snapshot/running',
	'and, so, goes on needing one: it installs nothing by itself');
unlike($c->log_tail($f, 20000), qr/installed a snapshot/, 'its server log shows no install');
($leader) = $c->wait_for_leader(timeout => 30);
is($c->query($leader, "SELECT needs_snapshot FROM raft_peers WHERE node_id = $fid"), 't',
	"the leader's raft_peers shows node $fid needs a snapshot");
is($c->query($f, q{SELECT count(*) FROM t}), '100', 'it applied nothing beyond what it had');
my $w = $c->submit_ok($leader, q{INSERT INTO t VALUES (701, 'while it waits')});
ok(defined $c->wait_applied_everywhere($w->{log_index}, timeout => 30, nodes => [ $leader, $other ]),
	'the others go on');

# The snapshot: an online copy of the leader (pg_basebackup), with the
# node's own configuration and identity file put back.
$c->stop_node($f);
my $keep = PostgreSQL::Test::Utils::tempdir('keep');
copy($f->data_dir . "/$_", "$keep/$_") or die "save $_: $!" for qw(postgresql.conf raft_ext_identity);
my $t0 = time;
my $copy = PostgreSQL::Test::Utils::tempdir('copy') . '/pgdata';
my $host = $leader->host;
my $port = $leader->port;
my $rc = system("pg_basebackup -D '$copy' -h '$host' -p $port -X stream -c fast --no-sync >'$keep/basebackup.log' 2>&1");
is($rc, 0, 'pg_basebackup of the leader') or diag slurp_file("$keep/basebackup.log");
my $secs = time - $t0;
my $bytes = 0;
File::Find::find(sub { $bytes += -s $_ if -f $_ }, $copy);
diag sprintf('copy: %.1f MB in %.2f s (%.1f MB/s)', $bytes / 1e6, $secs, $bytes / 1e6 / ($secs || 1));
rmtree($f->data_dir);
system('cp', '-a', $copy, $f->data_dir) == 0 or die 'copy failed';
copy("$keep/$_", $f->data_dir . "/$_") or die "restore $_: $!" for qw(postgresql.conf raft_ext_identity);
unlink($f->data_dir . '/postmaster.pid');
chmod 0700, $f->data_dir;
$c->start_node($f);
ok($c->wait_until(sub { ($c->query($f, q{SELECT worker_state FROM raft_status}) // '') eq 'running' }, 30),
	'it no longer needs a snapshot');
like($c->log_tail($f, 20000), qr/node $fid adopts the Raft state in this data directory/,
	'it adopted the copy, as its own identity file says');
($leader) = $c->wait_for_leader(timeout => 30);
$w = $c->submit_ok($f, q{INSERT INTO t VALUES (702, 'through the rebuilt node')});
ok(defined $c->wait_applied_everywhere($w->{log_index}, timeout => 60), 'it takes part again');
ok(scalar $c->wait_contents_equal(q{SELECT * FROM t ORDER BY k}), 'the same table on every node');
is($c->query($f, q{SELECT count(*) FROM t}), '702', 'every row, once');

done_testing();
