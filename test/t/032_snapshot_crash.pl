# 032_snapshot_crash.pl — a server killed (kill -9, the whole server) in the
# middle of an online snapshot install (issue #15) comes back as it was — the
# install is one transaction — still needing a snapshot, installs one, and
# ends with identical tables.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use RaftCluster;
use Test::More;
use Time::HiRes qw(time sleep);

my $t_start = time;
my ($KEEP, $HOLD) = (50, 200);
my $conf = "raft_ext.log_keep_entries = $KEEP\nraft_ext.log_hold_entries = $HOLD\n";
my $c = RaftCluster->new(nodes => 3, conf => $conf);
my ($leader) = $c->wait_for_leader(timeout => 30);
ok($leader, 'a leader is elected') or RaftCluster::stop_here('no leader');


# Enough single entries that the leader compacts past HOLD (bounded: n rows).
sub write_rows
{
	my ($node, $from, $to) = @_;
	my $script = "SET statement_timeout = '30s';\n";
	$script .= "SELECT log_index FROM raft_submit('INSERT INTO small VALUES ($_)');\n" for $from .. $to;
	my ($ret, $out, $err) = $c->psql($node, $script, timeout => 300);
	is($ret, 0, "rows $from..$to written") or diag $err;
	return (split /\n/, $out)[-1];
}

my $contents = q{SELECT (SELECT string_agg(k::text, ',' ORDER BY k) FROM small) || '|' ||
  (SELECT count(*) || ':' || sum(length(pad)) || ':' || sum(k) FROM big)};

$c->submit_ok($leader, q{CREATE TABLE small (k int PRIMARY KEY)});
$c->submit_ok($leader, q{CREATE TABLE big (k int PRIMARY KEY, pad text)});
# about 20 MB: an install that takes long enough to be interrupted
$c->submit_ok($leader, q{INSERT INTO big SELECT g, repeat(md5(g::text), 3) FROM generate_series(1, 200000) g});
my $last;
my $want;

# ---------------------------------------------------------------------
# A server killed during an install.
# ---------------------------------------------------------------------
($leader) = $c->wait_for_leader(timeout => 30);
my ($f) = $c->followers($leader);
my $fid = $c->id_of($f);
$c->stop_node($f);
$last = write_rows($leader, 2 * $HOLD + 1, 4 * $HOLD);
$c->start_node($f);
my $installing = $c->wait_until(sub {
	my ($rt, $out) = $c->psql($f, q{SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'raft_ext: installing a snapshot%table public.big%'});
	$rt == 0 && $out eq '1' }, 30);
ok($installing, "node $fid is copying the big table");
$c->kill9($f);
like($c->log_tail($f, 30000), qr/installs a snapshot of its leader/, 'it had started an install');
unlike($c->log_tail($f, 30000), qr/node $fid installed a snapshot/, 'and had not finished it when it was killed');
$c->start_node($f);
ok($c->wait_until(sub { $c->log_tail($f, 60000) =~ /node $fid installed a snapshot of node \d+/ }, 90),
	'restarted, it installs the snapshot again');
$want = $c->query($leader, $contents);
ok($c->wait_until(sub { my ($rt, $out) = $c->psql($f, $contents); $rt == 0 && $out eq $want }, 60),
	'and holds the same tables as the leader');
$last = write_rows($leader, 4 * $HOLD + 1, 4 * $HOLD + 10);
ok(defined $c->wait_applied_everywhere($last, timeout => 60), 'the writes after it are applied on every node');
ok(scalar $c->wait_contents_equal($contents), 'the same tables on every node');

note sprintf('032 total %.1f s', time - $t_start);
done_testing();
