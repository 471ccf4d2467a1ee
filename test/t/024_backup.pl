# 024_backup.pl — backups (issue 18): a pg_dump of the replicated database
# restores into a plain PostgreSQL server (raft_ext's entries left out of the
# restore list) and into a new raft_ext cluster (restored on every node
# through the write guard's escape hatch, then raft_verify(), and new writes,
# sequences included, agree everywhere); none of raft_ext's own tables
# travels in the dump.  A pg_basebackup of a live follower starts as a plain
# server that holds the data (and dumps the same as the cluster), and
# rebuilds a node whose disk was lost (README, "Backups").
use strict;
use warnings;
use File::Copy;
use File::Path qw(rmtree);
use FindBin;
use lib "$FindBin::RealBin/../perl";
use IPC::Run;
use RaftCluster;
use RaftSession;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::RecursiveCopy;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

my $t_start = time;
my $dir = PostgreSQL::Test::Utils::tempdir('backup');

# A command's (success, stdout, stderr), with extra environment variables.
sub run_cmd
{
	my ($cmd, %env) = @_;
	local @ENV{ keys %env } = values %env;
	my ($out, $err) = ('', '');
	my $ok = IPC::Run::run($cmd, '<', \undef, '>', \$out, '2>', \$err);
	return ($ok, $out, $err);
}

sub conn { my ($node) = @_; return ('-h', $node->host, '-p', $node->port); }

# raft_verify() on $node: 'true:N' once every node has answered and all of
# its N rows (tables x nodes) agree.
sub verified
{
	my ($c, $node) = @_;
	my $idx = $c->query($node, 'SELECT raft_verify()');
	my $r = '';
	for (1 .. 150)
	{
		$r = $c->query($node, qq{SELECT coalesce(bool_and(consistent)::text, 'pending') || ':' || count(*)
			FROM raft_consistency WHERE log_index = $idx});
		last if $r !~ /^pending/;
		sleep 0.1;
	}
	return $r;
}

my $items_q = q{SELECT id, name, at, tag FROM items ORDER BY id};
my $seqs_q = q{SELECT 'items_id_seq', last_value, is_called FROM items_id_seq
	UNION ALL SELECT 'tickets', last_value, is_called FROM tickets};

# ---------------------------------------------------------------------
# The cluster, its data written through the log
# ---------------------------------------------------------------------
my $c = RaftCluster->new(nodes => 3, conf => "wal_level = replica\nmax_wal_senders = 4\n");
my ($leader) = $c->wait_for_leader(timeout => 30);
ok($leader, 'a leader is elected') or RaftCluster::stop_here('no leader');
my ($f, $x) = $c->followers($leader);

$c->query($_, 'CREATE ROLE app LOGIN') for $c->nodes;    # roles are not replicated
$c->submit_ok($leader, q{CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL,
	at timestamptz DEFAULT now(), tag uuid DEFAULT gen_random_uuid())});
$c->submit_ok($leader, q{CREATE SEQUENCE tickets START 1000});
$c->submit_ok($f, q{INSERT INTO items (name) SELECT 'item ' || g FROM generate_series(1, 5) g ORDER BY g});
$c->submit_ok($x, q{INSERT INTO items (name) VALUES ('O''Brien')});
$c->submit_ok($x, q{SELECT nextval('tickets'), nextval('tickets')});
$c->submit_ok($leader, q{GRANT SELECT ON items TO app});
$c->submit_ok($leader, q{GRANT EXECUTE ON FUNCTION raft_submit(text) TO app});
ok(defined $c->wait_caught_up, 'every node applied everything');
my ($eq, $items) = $c->wait_contents_equal($items_q);
ok($eq, 'six rows, the same on every node');
my ($seq_eq, $seqs) = $c->wait_contents_equal($seqs_q);
like($seqs, qr/^items_id_seq\|6\|t\ntickets\|1001\|t$/, 'the sequences, the same on every node') or diag $seqs;

# ---------------------------------------------------------------------
# pg_dump of a follower: the user's objects, CREATE EXTENSION raft_ext and
# the grants on its functions, and no row of raft_ext's own tables
# ---------------------------------------------------------------------
my $dump = "$dir/app.dump";
my ($ok, $out, $err) = run_cmd([ 'pg_dump', conn($f), '-Fc', '-f', "$dir/lin.dump", 'postgres' ],
	PGOPTIONS => '-c raft_ext.read_consistency=linearizable');
ok(!$ok && $err =~ /raft_ext.read_consistency = linearizable needs READ COMMITTED/,
	'pg_dump in a session with linearizable reads is refused (its transaction is REPEATABLE READ)') or diag $err;
($ok, $out, $err) = run_cmd([ 'pg_dump', conn($f), '-Fc', '-f', $dump, 'postgres' ],
	PGOPTIONS => '-c raft_ext.read_consistency=local');
ok($ok, 'pg_dump -Fc of a follower, with read_consistency = local') or diag $err;
($ok, my $toc) = run_cmd([ 'pg_restore', '-l', $dump ]);
like($toc, qr/ EXTENSION - raft_ext /, 'the dump creates the extension');
like($toc, qr/ ACL public FUNCTION raft_submit\(sql text\) /, 'and holds the grants made on its functions');
like($toc, qr/ TABLE DATA public items /, "and the user's tables");
unlike($toc, qr/TABLE DATA raft_ext /, "but no row of raft_ext's own tables (no pg_extension_config_dump)");
my ($roles_ok, $roles) = run_cmd([ 'pg_dumpall', conn($f), '--roles-only' ]);
ok($roles_ok && $roles =~ /CREATE ROLE app;/, 'pg_dumpall --roles-only: the roles, which no database dump holds');
PostgreSQL::Test::Utils::append_to_file("$dir/roles.sql", $roles);

# ---------------------------------------------------------------------
# pg_basebackup of a live follower, started as a plain PostgreSQL server
# ---------------------------------------------------------------------
$x->backup('live');
my $copy = PostgreSQL::Test::Cluster->new('from_backup');
$copy->init_from_backup($x, 'live');
$copy->append_conf('postgresql.conf', "shared_preload_libraries = ''");
$copy->start;
is($copy->safe_psql('postgres', $items_q), $items, 'a base backup of a follower, started without raft_ext: the same rows');
($ok, my $copy_sql, $err) = run_cmd([ 'pg_dump', conn($copy), 'postgres' ]);
($ok, my $live_sql) = run_cmd([ 'pg_restore', '-f', '-', $dump ]);
s/^\\(?:un)?restrict .*$//mg for ($copy_sql, $live_sql);
ok($copy_sql eq $live_sql && $copy_sql =~ /COPY public.items/,
	'pg_dump of it gives what pg_dump of the cluster gave (so the restores below apply to it)');
is($copy->safe_psql('postgres', q{INSERT INTO items (name) VALUES ('local') RETURNING id}), '7',
	'there it is a plain server: no write guard');
$copy->stop;

# ---------------------------------------------------------------------
# Restore into a plain PostgreSQL server: raft_ext's entries out of the
# list (the extension, its comment, the grants on its objects)
# ---------------------------------------------------------------------
my $plain = PostgreSQL::Test::Cluster->new('plain');
$plain->init;
$plain->start;
run_cmd([ 'psql', '-X', '-q', conn($plain), '-d', 'postgres', '-f', "$dir/roles.sql" ]);
# README, "Backups": the restore list without raft_ext's entries
($ok, $out, $err) = run_cmd([ 'bash', '-c', "pg_restore -l '$dump' | grep -v -E "
	  . q{' raft_ext( |$)|(FUNCTION|PROCEDURE|TABLE) raft_(submit|submit_once|query|query_once|outcome|barrier|verify|transfer_leadership|skip_entry|status|peers|consistency)[ (]'}
	  . " >'$dir/plain.list'" ]);
my @left_out = grep { my $l = $_; !grep { $_ eq $l } split /\n/, PostgreSQL::Test::Utils::slurp_file("$dir/plain.list") }
  split /\n/, $toc;
is(join('; ', map { s/^\d+; \d+ \d+ //r } @left_out),
	'EXTENSION - raft_ext ; COMMENT - EXTENSION raft_ext ; ACL public FUNCTION raft_submit(sql text) postgres',
	'the list leaves out raft_ext, its comment and the grant on its function, nothing else');
($ok, $out, $err) = run_cmd([ 'pg_restore', conn($plain), '-d', 'postgres', '--exit-on-error',
	'--single-transaction', '-L', "$dir/plain.list", $dump ]);
ok($ok, 'pg_restore -L into a plain server: no error') or diag $err;
is($plain->safe_psql('postgres', $items_q), $items, 'the same rows');
is($plain->safe_psql('postgres', q{SELECT count(*) FROM pg_extension WHERE extname = 'raft_ext'}),
	'0', 'no raft_ext there');
is($plain->safe_psql('postgres', q{SELECT has_table_privilege('app', 'items', 'SELECT')}), 't',
	"the user's own grants restored");
is($plain->safe_psql('postgres', q{INSERT INTO items (name) VALUES ('plain') RETURNING id}), '7',
	'the serial goes on from the dumped sequence');
# Unfiltered, on a server where raft_ext is installed but not preloaded:
# the extension is created, and does nothing.
$plain->safe_psql('postgres', 'CREATE DATABASE unfiltered');
($ok, $out, $err) = run_cmd([ 'pg_restore', conn($plain), '-d', 'unfiltered', '--exit-on-error',
	'--single-transaction', $dump ]);
ok($ok, 'the whole dump restores where raft_ext is installed but not preloaded') or diag $err;
is($plain->safe_psql('unfiltered', $items_q), $items, '... the same rows');
my ($ret, $o, $e) = $plain->psql('unfiltered', q{SELECT raft_submit('SELECT 1')});
like($e, qr/raft_ext is not loaded through shared_preload_libraries/, '... and an inert extension');
$plain->stop;

# ---------------------------------------------------------------------
# Disaster recovery of one node whose disk was lost (identity file and
# all): a base backup of a live follower, the node's own configuration,
# and an identity file naming the node, with high_term the highest term
# of the surviving nodes.
# ---------------------------------------------------------------------
my $fid = $c->id_of($f);
my $conf = $f->data_dir . '/postgresql.conf';
my $saved_conf = "$dir/postgresql.conf.$fid";
copy($conf, $saved_conf) or die;
my $w = $c->submit_ok($leader, q{INSERT INTO items (name) VALUES ('after the backup')});
$c->kill9($f);
rmtree($f->data_dir);
PostgreSQL::Test::RecursiveCopy::copypath($x->backup_dir . '/live', $f->data_dir);
chmod 0700, $f->data_dir;
copy($saved_conf, $conf) or die;
my ($high) = sort { $b <=> $a } map { $c->status($_)->{term} } ($leader, $x);
# README, "Backups": the identity file of a node whose disk is gone
($ok, $out, $err) = run_cmd([ 'bash', '-c', 'set -e; cd "$PGDATA"; '
	  . q{cluster_id=$(awk '$1 == "cluster_id" {print $2}' raft_ext_identity); }
	  . qq{printf 'raft_ext identity 1\\nnode_id %s\\ncluster_id %s\\nincarnation %s\\nhigh_term %s\\n' }
	  . qq{$fid "\$cluster_id" "\$(openssl rand -hex 8)" $high >raft_ext_identity} ],
	PGDATA => $f->data_dir);
ok($ok, 'an identity file written for the lost node') or diag $err;
note PostgreSQL::Test::Utils::slurp_file($f->data_dir . '/raft_ext_identity');
$c->start_node($f);
my $st;
for (1 .. 100)
{
	$st = $c->status($f);
	last if $st && $st->{worker_state} eq 'running';
	sleep 0.1;
}
is($st->{worker_state}, 'running', 'the rebuilt node runs') or diag explain $st;
like($c->log_tail($f), qr/node $fid adopts the Raft state in this data directory \(a copy of another node, at term \d+\); it will not vote in any term up to $high/,
	'it adopted the copy, with a vote floor at the surviving nodes\' highest term');
$w = $c->submit_ok($f, q{INSERT INTO items (name) VALUES ('through the rebuilt node')});
ok(defined $c->wait_applied_everywhere($w->{log_index}, timeout => 30), 'it caught up and takes part');
ok(scalar $c->wait_contents_equal($items_q), 'the same rows on every node');
is(verified($c, $leader), 'true:3', 'raft_verify(): consistent on every node');

# ---------------------------------------------------------------------
# Restore into a new raft_ext cluster: on every node, before it takes
# writes, as a superuser with raft_ext.local_writes = on
# ---------------------------------------------------------------------
my $n = RaftCluster->new(nodes => 3, name => 'new');
my ($nl) = $n->wait_for_leader(timeout => 30);
ok($nl, 'the new cluster elects a leader') or RaftCluster::stop_here('no leader');
sub restore_cmd
{
	my ($node) = @_;
	return [ 'pg_restore', conn($node), '-d', 'postgres', '--exit-on-error', '--single-transaction', $dump ];
}
for my $node ($n->nodes)
{
	run_cmd([ 'psql', '-X', '-q', conn($node), '-d', 'postgres', '-f', "$dir/roles.sql" ]);
}
($ok, $out, $err) = run_cmd(restore_cmd($nl));
ok(!$ok && $err =~ /cannot run CREATE EXTENSION directly in database "postgres": it is replicated by raft_ext/,
	'without the escape hatch the write guard refuses the restore') or diag $err;
is($n->query($nl, q{SELECT to_regclass('items') IS NULL}), 't', '... and nothing of it is left (one transaction)');
for my $node ($n->nodes)
{
	($ok, $out, $err) = run_cmd(restore_cmd($node),
		PGOPTIONS => '-c raft_ext.local_writes=on');
	ok($ok, 'pg_restore on ' . $node->name . ' with raft_ext.local_writes = on') or diag $err;
}
is(($n->table_contents_equal($items_q))[1], $items, 'every node of the new cluster holds the dumped rows');
ok(scalar $n->table_contents_equal($items_q), '... the same on every node');
ok(scalar $n->table_contents_equal($seqs_q), 'the sequences too');
is(verified($n, $nl), 'true:3', 'raft_verify(): consistent on every node');
is($n->query($nl, q{SELECT has_function_privilege('app', 'raft_submit(text)', 'EXECUTE')}), 't',
	'the grants on raft_ext\'s functions came along');

# The apply worker puts a sequence back to its recorded state
# (raft_ext.sequence_state) before it retries an entry; the restore, a
# local write, recorded none.  ANALYZE through the log (what a restore
# wants anyway) is a utility statement: applying it, every node records
# every sequence's state, at the same entry.
my $rec_q = q{SELECT c.relname, s.last_value, s.is_called FROM raft_ext.sequence_state s
	JOIN pg_class c ON c.oid = s.seqrelid ORDER BY 1};
$w = $n->submit_ok($nl, q{ANALYZE});
ok(defined $n->wait_applied_everywhere($w->{log_index}, timeout => 30), 'ANALYZE through the log, applied everywhere');
my ($rec_eq, $rec) = $n->table_contents_equal($rec_q);
is($rec, "items_id_seq|6|t\ntickets|1001|t",
	'every node recorded the restored sequences\' state (raft_ext.sequence_state)');

# The first entry that draws from a restored sequence fails on one follower
# (a local session holds a lock it needs; lock_timeout) and is retried
# there: the retry draws the same values as the other nodes did.
my ($nf, $ng) = $n->followers($nl);
$n->query($ng, q{ALTER SYSTEM SET lock_timeout = '200ms'});
$n->query($ng, q{SELECT pg_reload_conf()});
my $lock = RaftSession->new($ng);
is($lock->query(q{BEGIN; LOCK TABLE items IN ACCESS EXCLUSIVE MODE; SELECT 'locked'}, timeout => 10)->{out},
	'locked', 'a local session on a follower holds a lock the next entry needs');
my $retries0 = $n->status($ng)->{apply_retries} // 0;
$w = $n->submit_ok($nf, q{SELECT nextval('tickets'); INSERT INTO items (name) VALUES ('new cluster')});
my $retried = 0;
for (1 .. 100)
{
	$retried = ($n->status($ng)->{apply_retries} // 0) > $retries0 + 1 and last;
	sleep 0.1;
}
ok($retried, 'the follower retried the entry');
$lock->query('COMMIT', timeout => 10);
$lock->close;
$n->query($ng, q{ALTER SYSTEM RESET lock_timeout});
$n->query($ng, q{SELECT pg_reload_conf()});
ok(defined $n->wait_applied_everywhere($w->{log_index}, timeout => 30), 'and applied it once the lock was gone');
is($n->query($nf, q{SELECT max(id) FROM items}), '7', 'the serial goes on from the dumped sequence');
my ($t_eq, $t) = $n->wait_contents_equal(q{SELECT last_value FROM tickets});
ok($t_eq && $t eq '1002', 'nextval through the log goes on from the dumped sequence, the same on every node')
  or diag $t;

# Entries applied by a follower in one batch with an outcome check that
# covers them (the follower was paused meanwhile): it applies them together,
# not again one by one (the check sees the outcomes recorded before it in
# its batch).
my $log_from = -s $ng->logfile;
$n->pause($ng);
$w = $n->submit_ok($nf, q{INSERT INTO items (name) VALUES ('while paused')});
my $r = $n->query($nl, q{SELECT v FROM raft_query('SELECT nextval(''tickets'')') AS r(v bigint)});
is($r, '1003', 'raft_query: nextval through the log');
my $checked = 0;
for (1 .. 100)
{
	$checked = $n->query($nl, qq{SELECT count(*) FROM raft_ext.log
		WHERE index > $w->{log_index} AND get_byte(payload, 0) = ascii('R') AND get_byte(payload, 1) = ascii('C')});
	last if $checked;
	sleep 0.1;
}
ok($checked, 'the leader appended an outcome check of them while a follower was paused');
$n->resume($ng);
$n->stop_node($nf);
$n->start_node($nf);
$w = $n->submit_ok($nl, q{INSERT INTO items (name) VALUES ('after a restart')});
ok(defined $n->wait_caught_up(timeout => 30), 'every node applied everything, the paused and the restarted one too');
ok(scalar $n->wait_contents_equal($items_q), 'the same rows on every node');
my ($s_eq, $s) = $n->wait_contents_equal($seqs_q);
ok($s_eq, 'the same sequences on every node');
like($s, qr/^items_id_seq\|9\|t\ntickets\|1003\|t$/, '... where the writes left them') or diag $s;
is(verified($n, $nl), 'true:3', 'raft_verify(): consistent on every node');
my @fallbacks = grep { /applying log entries \d+\.\.\d+ together failed/ }
  split /\n/, substr(PostgreSQL::Test::Utils::slurp_file($ng->logfile), $log_from);
is(join("\n", @fallbacks), '', 'the paused follower applied no batch again one entry at a time');
is($n->query($nl, q{SELECT count(*) FROM raft_ext.outcome WHERE command_tag = 'GRANT'}), '0',
	"the new cluster's raft_ext tables hold only its own entries");

note sprintf('024 total %.1f s', time - $t_start);
done_testing();
