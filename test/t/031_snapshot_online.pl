# 031_snapshot_online.pl — online snapshot install (issue #15): a member
# whose leader no longer holds the entries it lacks installs, by itself and
# inside the running server, a copy of its leader's replicated database taken
# at the leader's applied index (raft_ext.auto_snapshot, default on), then
# applies the entries after it from the log; SELECT raft_install_snapshot()
# replaces a healthy node's database with a copy of the leader's or another
# member's (a repair); what it refuses; a node with
# raft_ext.auto_snapshot = off only says it needs a snapshot, until an
# operator installs one; and a fresh server added to the compacted cluster
# installs one by itself.  (030_snapshot.pl tests the physical-copy path.)
#
# "Identical" is checked on every node: each table's rows, the objects of the
# user schemas as the catalogs describe them (relations and their owners,
# grants and comments, columns and defaults, constraints, indexes, views,
# functions, triggers, types, sequences with their values), raft_verify(),
# raft_ext's outcome and request-id tables, and behaviour: a nextval, an
# identity column and a serial column used by a write after the install give
# the same values on every node.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use RaftCluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

my $t_start = time;
my ($KEEP, $HOLD) = (50, 200);
my $c = RaftCluster->new(nodes => 3,
	conf => "raft_ext.log_keep_entries = $KEEP\nraft_ext.log_hold_entries = $HOLD\n");
my ($leader) = $c->wait_for_leader(timeout => 30);
ok($leader, 'a leader is elected') or RaftCluster::stop_here('no leader');
my ($f, $g) = $c->followers($leader);
my ($fid, $gid) = ($c->id_of($f), $c->id_of($g));

# Roles are not replicated: made on every node with plain SQL.
for my $n ($c->nodes)
{
	$c->query($n, q{CREATE ROLE snap_reader NOLOGIN; CREATE ROLE snap_owner NOLOGIN; CREATE ROLE snap_plain LOGIN});
}

# ---------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------


sub worker_state
{
	my ($n) = @_;
	my $s = $c->status($n) // {};
	return ($s->{worker_state} // '?') . '/' . ($s->{apply_worker_state} // '?');
}

sub log_start { my ($n) = @_; return $c->query($n, q{SELECT log_start_index FROM raft_ext.apply_state}); }

# Filler rows, one entry each (a psql script of raft_submit calls); returns
# the last entry's log index.
my $next_filler = 1;
sub write_filler
{
	my ($node, $count) = @_;
	my ($from, $to) = ($next_filler, $next_filler + $count - 1);
	$next_filler += $count;
	my $script = "SET statement_timeout = '30s';\n";
	$script .= "SELECT log_index FROM raft_submit('INSERT INTO filler VALUES ($_)');\n" for $from .. $to;
	my ($ret, $out, $err) = $c->psql($node, $script, timeout => 120);
	is($ret, 0, "filler rows $from..$to written through " . $node->name) or diag $err;
	return (split /\n/, $out)[-1];
}

# Write (bounded) until the leader's log starts after $behind + 1: the node
# that has $behind needs a snapshot.
sub compact_past
{
	my ($behind, $who) = @_;
	my ($l) = $c->wait_for_leader(timeout => 30);
	for my $round (1 .. 8)
	{
		write_filler($l, 120);
		# (a margin: the node may have received an outcome check or two
		# after its status was read)
		return 1 if $c->wait_until(sub { log_start($l) > $behind + 30 }, 3);
	}
	diag 'log start: ' . log_start($l) . ", $who at $behind";
	return 0;
}

# the object catalogs of the user schemas, each as one text
my $USER_NS = q{n.nspname NOT IN ('pg_catalog', 'information_schema', 'raft_ext', 'pg_toast')
	AND n.nspname NOT LIKE 'pg\_temp\_%' AND n.nspname NOT LIKE 'pg\_toast\_temp\_%'};
my $USER_TABLES = q{schemaname NOT IN ('pg_catalog', 'information_schema', 'raft_ext')};
my @CATALOG = (
	[ schemas => qq{SELECT string_agg(format('%s owner %s acl %s', n.nspname, pg_get_userbyid(n.nspowner), n.nspacl), E'\\n' ORDER BY n.nspname)
		FROM pg_namespace n WHERE $USER_NS} ],
	[ relations => qq{SELECT string_agg(format('%s.%s kind %s owner %s acl %s comment %s', n.nspname, c.relname, c.relkind,
			pg_get_userbyid(c.relowner), c.relacl, obj_description(c.oid, 'pg_class')), E'\\n' ORDER BY n.nspname, c.relname)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE $USER_NS} ],
	[ columns => qq{SELECT string_agg(format('%s.%s.%s %s notnull %s identity %s default %s', n.nspname, c.relname, a.attname,
			format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity, pg_get_expr(d.adbin, d.adrelid)), E'\\n'
			ORDER BY n.nspname, c.relname, a.attnum)
		FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
		WHERE $USER_NS AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'v', 'p', 'm', 'f')} ],
	[ constraints => qq{SELECT string_agg(format('%s %s %s', c.conrelid::regclass, c.conname, pg_get_constraintdef(c.oid)), E'\\n'
			ORDER BY c.conrelid::regclass::text, c.conname)
		FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE $USER_NS} ],
	[ indexes => qq{SELECT string_agg(format('%s.%s %s', schemaname, indexname, indexdef), E'\\n' ORDER BY schemaname, indexname)
		FROM pg_indexes WHERE $USER_TABLES} ],
	[ views => qq{SELECT string_agg(format('%s.%s %s', schemaname, viewname, definition), E'\\n' ORDER BY schemaname, viewname)
		FROM pg_views WHERE $USER_TABLES} ],
	[ functions => qq{SELECT string_agg(format('%s owner %s acl %s %s', p.oid::regprocedure, pg_get_userbyid(p.proowner), p.proacl,
			pg_get_functiondef(p.oid)), E'\\n' ORDER BY p.oid::regprocedure::text)
		FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE $USER_NS} ],
	[ triggers => q{SELECT string_agg(format('%s %s %s', t.tgrelid::regclass, t.tgname, pg_get_triggerdef(t.oid)), E'\n'
			ORDER BY t.tgrelid::regclass::text, t.tgname)
		FROM pg_trigger t WHERE NOT t.tgisinternal} ],
	[ types => qq{SELECT string_agg(format('%s.%s %s %s', n.nspname, t.typname, t.typtype,
			(SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid)), E'\\n'
			ORDER BY n.nspname, t.typname)
		FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE $USER_NS AND t.typtype IN ('e', 'd')} ],
	[ sequences => qq{SELECT string_agg(format('%s.%s last %s start %s by %s', schemaname, sequencename, last_value, start_value,
			increment_by), E'\\n' ORDER BY schemaname, sequencename)
		FROM pg_sequences WHERE $USER_TABLES} ],
);
# every user table: its row count and a hash of its rows (in one query)
my $ROWS = qq{WITH t AS (
	SELECT schemaname AS s, tablename AS r,
		query_to_xml(format('SELECT count(*) AS n, md5(string_agg(t::text, E''\\n'' ORDER BY t::text)) AS h FROM %I.%I t',
			schemaname, tablename), false, true, '') AS x
	FROM pg_tables WHERE $USER_TABLES)
SELECT string_agg(format('%s.%s: %s rows %s', s, r, (xpath('/row/n/text()', x))[1], (xpath('/row/h/text()', x))[1]), E'\\n'
	ORDER BY s, r) FROM t};

# Everything the same on every node, once every node has applied what the
# leader had committed.
sub compare_all
{
	my ($what) = @_;
	my ($l) = $c->wait_for_leader(timeout => 30);
	my $commit = $c->status($l)->{commit_index};
	ok(defined $c->wait_applied_everywhere($commit, timeout => 60), "$what: every node applied entry $commit");
	my ($eq, $rows) = $c->wait_contents_equal($ROWS, timeout => 20);
	ok($eq, "$what: every table's rows identical on every node (" . scalar(split /\n/, $rows // '') . ' tables)');
	for my $cat (@CATALOG)
	{
		ok(scalar $c->wait_contents_equal($cat->[1], timeout => 10), "$what: the same $cat->[0] on every node");
	}
	ok(scalar $c->wait_contents_equal(qq{SELECT count(*), md5(string_agg(format('%s %s %s %s %s', log_index, term,
		coalesce(sqlstate, 'ok'), coalesce(message, command_tag), rows), E'\\n' ORDER BY log_index))
		FROM raft_ext.outcome WHERE log_index <= $commit}, timeout => 10),
		"$what: raft_ext.outcome identical on every node up to entry $commit");
	ok(scalar $c->wait_contents_equal(qq{SELECT string_agg(format('%s %s %s', request_id, log_index, applied_at), ',' ORDER BY request_id)
		FROM raft_ext.request_ids WHERE log_index <= $commit}, timeout => 10),
		"$what: raft_ext.request_ids identical on every node");
	ok(scalar $c->wait_contents_equal(q{SELECT (SELECT string_agg(name, ',' ORDER BY name) FROM raft_ext.custom_settings),
		(SELECT string_agg(format('%s %s %s', node_id, voter, conninfo), ',' ORDER BY node_id) FROM raft_ext.members)}, timeout => 10),
		"$what: raft_ext.custom_settings and raft_ext.members identical on every node");
	return $commit;
}

# raft_verify() on the leader: every table of every node consistent.
sub verify_consistent
{
	my ($what) = @_;
	my ($l) = $c->wait_for_leader(timeout => 30);
	my $nodes = scalar $c->running_nodes;
	my $ntab = $c->query($l, "SELECT count(*) FROM pg_tables WHERE $USER_TABLES");
	my $idx = $c->query($l, 'SELECT raft_verify()');
	my $rows = '';
	for (1 .. 150)
	{
		$rows = $c->query($l, qq{SELECT table_name, node_id, coalesce(consistent::text, 'pending')
			FROM raft_consistency WHERE log_index = $idx ORDER BY table_name, node_id});
		last if $rows ne '' && $rows !~ /pending$/m && (split /\n/, $rows) >= $ntab * $nodes;
		sleep 0.1;
	}
	is(scalar(split /\n/, $rows), $ntab * $nodes, "$what: raft_verify() (entry $idx) checked $ntab tables on $nodes nodes") or diag $rows;
	unlike($rows, qr/\|(?:false|pending)$/m, "$what: raft_verify() finds every table consistent") or diag $rows;
	return;
}

# One statement through raft_submit that must succeed (the test's name is
# the statement).
sub submit { my ($n, $sql) = @_; return $c->submit_ok($n, $sql); }

# raft_install_snapshot on $n: {ok, value, sqlstate, error, elapsed}
sub install
{
	my ($n, $arg, %p) = @_;
	return $c->call($n, 'SELECT raft_install_snapshot(' . ($arg // '') . ')',
		statement_timeout => '90s', timeout => 120, %p);
}

# ---------------------------------------------------------------------
# A rich schema, through the log
# ---------------------------------------------------------------------
submit($leader, q{CREATE TABLE items (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL,
	price numeric(10,2), created timestamptz DEFAULT now())});
submit($leader, q{COMMENT ON TABLE items IS 'the catalogue'});
submit($leader, q{INSERT INTO items (name, price) SELECT 'item ' || g, g * 1.25 FROM generate_series(1, 40) g ORDER BY g});
submit($leader, q{CREATE SCHEMA shop});
submit($leader, q{CREATE TYPE shop.status AS ENUM ('new', 'paid', 'sent')});
submit($leader, q{CREATE TABLE shop.orders (id serial PRIMARY KEY, item_id int NOT NULL REFERENCES public.items (id),
	qty int NOT NULL CHECK (qty > 0), status shop.status NOT NULL DEFAULT 'new', note text)});
submit($leader, q{CREATE INDEX orders_item_idx ON shop.orders (item_id, status)});
submit($leader, q{CREATE FUNCTION shop.fill_note() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
	IF NEW.note IS NULL THEN
		NEW.note := format('%s x item %s', NEW.qty, NEW.item_id);
	END IF;
	RETURN NEW;
END $fn$});
submit($leader, q{CREATE TRIGGER orders_fill_note BEFORE INSERT OR UPDATE ON shop.orders FOR EACH ROW EXECUTE FUNCTION shop.fill_note()});
submit($leader, q{REVOKE EXECUTE ON FUNCTION shop.fill_note() FROM PUBLIC});
submit($leader, q{INSERT INTO shop.orders (item_id, qty) SELECT 1 + g % 40, 1 + g % 5 FROM generate_series(1, 60) g ORDER BY g});
submit($leader, q{UPDATE shop.orders SET status = 'paid' WHERE id % 3 = 0});
submit($leader, q{CREATE VIEW shop.order_totals AS SELECT i.name, sum(o.qty) AS qty, count(*) AS orders
	FROM shop.orders o JOIN public.items i ON i.id = o.item_id GROUP BY i.name});
submit($leader, q{CREATE SEQUENCE shop.ticket START 1000 INCREMENT 7});
submit($leader, q{CREATE TABLE shop.tickets (no bigint PRIMARY KEY, what text NOT NULL)});
submit($leader, q{INSERT INTO shop.tickets SELECT nextval('shop.ticket'), 'ticket ' || g FROM generate_series(1, 5) g ORDER BY g});
submit($leader, q{SELECT nextval('shop.ticket')});
submit($leader, q{ALTER TABLE shop.tickets OWNER TO snap_owner});
submit($leader, q{GRANT USAGE ON SCHEMA shop TO snap_reader});
submit($leader, q{GRANT SELECT ON shop.orders, shop.order_totals TO snap_reader});
submit($leader, q{GRANT SELECT, UPDATE (name) ON public.items TO snap_reader});
# values COPY must carry exactly: tabs, newlines, backslashes, '\N' as text,
# '' against NULL, bytes, json, arrays, infinity
submit($leader, q{CREATE TABLE odd (id int PRIMARY KEY, t text, b bytea, j jsonb, a int[], ts timestamptz)});
submit($leader, q{INSERT INTO odd VALUES
	(1, E'tab\there\nnewline\r\n', '\x00ff0a5c'::bytea, '{"k": [1, "two", null]}', '{1,NULL,3}', '2026-01-01 00:00:00+00'),
	(2, '\N', NULL, 'null', '{}', NULL),
	(3, '', ''::bytea, '[]', NULL, 'infinity'),
	(4, 'back\slash "quoted" ,comma', '\x'::bytea, '"s"', '{-1}', '-infinity')});
submit($leader, q{CREATE TABLE notes (body text)});
submit($leader, q{INSERT INTO notes VALUES ('same'), ('same'), (NULL), ('other')});
submit($leader, q{CREATE TABLE doomed (k int PRIMARY KEY, v text)});
submit($leader, q{INSERT INTO doomed SELECT g, 'doomed ' || g FROM generate_series(1, 10) g});
my $w = submit($leader, q{CREATE TABLE filler (k int PRIMARY KEY)});
ok(defined $c->wait_applied_everywhere($w->{log_index}, timeout => 30), 'the schema is applied everywhere');
is($c->query($g, q{SELECT last_value FROM shop.ticket}), '1035', 'the sequence was advanced by the entries (6 nextval)');
compare_all('before anything');

# =====================================================================
# a. Automatic install: a follower down while the log was compacted past it
# =====================================================================
note sprintf('%.1f s: part a. Automatic install', time - $t_start);
my $fs = $c->status($f);
my $f_has = $fs->{last_log_index} > $fs->{last_applied} ? $fs->{last_log_index} : $fs->{last_applied};
$c->stop_node($f);
ok(compact_past($f_has, "node $fid"), "the log was compacted past what node $fid holds ($f_has)");
# while it is down: a new table, a dropped one, more rows, a request id, an error
submit($leader, q{CREATE TABLE fresh (id int PRIMARY KEY, v text)});
submit($leader, q{INSERT INTO fresh SELECT g, md5(g::text) FROM generate_series(1, 25) g});
submit($leader, q{DROP TABLE doomed});
submit($leader, q{INSERT INTO items (name, price) VALUES ('while down', 9.99)});
submit($leader, q{INSERT INTO shop.orders (item_id, qty) VALUES (41, 3)});
my ($ret, $out, $err) = $c->psql($leader, q{SELECT log_index FROM raft_submit_once('snap-req-1', 'INSERT INTO shop.orders (item_id, qty, note) VALUES (2, 7, ''once'')')});
is($ret, 0, 'raft_submit_once while the follower is down') or diag $err;
my $once_idx = (split /\n/, $out)[-1] // 0;
my $bad = $c->submit($leader, q{INSERT INTO shop.orders (item_id, qty) VALUES (1, 0)});
is($bad->{sqlstate}, '23514', 'a statement that fails its CHECK: its error is its outcome') or diag explain $bad;
my ($bad_idx) = ($bad->{error} // '') =~ /applied as Raft log entry (\d+)/;
ok($bad_idx, "... recorded as entry " . ($bad_idx // '?'));
$bad_idx //= 0;
my $old_outcomes = qq{SELECT log_index, term, command_tag, rows, sqlstate, message FROM raft_outcome(${once_idx}::bigint)
	UNION ALL SELECT log_index, term, command_tag, rows, sqlstate, message FROM raft_outcome(${bad_idx}::bigint)};
my $leader_outcomes = $c->query($leader, $old_outcomes);
like($leader_outcomes, qr/^$once_idx\|\d+\|INSERT\|1\|\|\n$bad_idx\|\d+\|[^|]*\|[^|]*\|23514\|/, 'the leader has both outcomes')
  or diag $leader_outcomes;
$w = submit($leader, q{INSERT INTO notes VALUES ('last before the start')});
my $before_start = $w->{log_index};

my $log_pos = -s $f->logfile;
my $t_install = time;
$c->start_node($f);
my %seen;
my $back = $c->wait_until(sub {
	my $s = $c->status($f) // {};
	$seen{ ($s->{worker_state} // '?') . '/' . ($s->{apply_worker_state} // '?') }++;
	return ($s->{worker_state} // '') eq 'running' && ($s->{apply_worker_state} // '') eq 'running'
	  && ($s->{last_applied} // 0) >= $before_start;
}, 60);
my $secs = time - $t_install;
ok($back, sprintf("node %d installed a snapshot by itself and caught up (%.1f s after its start)", $fid, $secs))
  or diag explain $c->status($f);
note 'states seen on the restarted node: ' . join(', ', map { "$_ x$seen{$_}" } sort keys %seen);
my $flog = substr(slurp_file($f->logfile), $log_pos);
my ($snap_src, $snap_idx, $snap_rest) =
  $flog =~ /raft_ext: node $fid installed a snapshot of node (\d+) at log entry (\d+)\b(.*)/;
ok(defined $snap_idx, 'its server log says so, with the source and the entry') or diag substr($flog, -3000);
is($snap_src, $c->id_of($leader), '... of its leader');
$snap_idx //= 0;
diag "node $fid installed a snapshot of node " . ($snap_src // '?') . " at log entry $snap_idx" . ($snap_rest // '');
cmp_ok($snap_idx, '>', $f_has + 1, 'the snapshot is beyond what the log still held for it');
cmp_ok($snap_idx, '<=', $c->status($leader)->{last_applied}, "... and no further than its leader's applied index");
unlike($flog, qr/\b(?:PANIC|TRAP)\b|server process .* was terminated/, 'no crash on the rebuilt node');
# (the copy is asked of the leader the Raft worker just heard from: a first
# attempt refused for "no leader is known" was a race, fixed)
unlike($flog, qr/did not install a snapshot/, 'the automatic install did not fail first')
  or diag join("\n", grep { /did not install a snapshot/ } split /\n/, $flog);

my $commit = compare_all("after node ${fid}'s automatic install");
verify_consistent("after node ${fid}'s automatic install");
is($c->query($f, q{SELECT to_regclass('public.doomed') IS NULL}), 't', 'the table dropped while it was down is gone from it');
is($c->query($f, q{SELECT count(*) FROM fresh}), '25', 'the table created while it was down is there with its rows');
is($c->query($f, q{SELECT has_table_privilege('snap_reader', 'shop.orders', 'SELECT')
	AND has_column_privilege('snap_reader', 'public.items', 'name', 'UPDATE')
	AND NOT has_table_privilege('snap_reader', 'public.items', 'DELETE')
	AND NOT has_function_privilege('snap_plain', 'shop.fill_note()', 'EXECUTE')}), 't', 'the grants are there');
is($c->query($f, q{SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'shop.tickets'::regclass}), 'snap_owner',
	'a table owned by another role keeps its owner');
is($c->query($f, q{SELECT count(*) FROM shop.orders WHERE note = '3 x item 41'}), '1',
	'a row the trigger filled while it was down is there');

# outcomes of entries it never applied, older than the install
is($c->query($f, $old_outcomes), $leader_outcomes, "raft_outcome() on node $fid finds the outcomes of entries from before the install");
is($c->query($f, q{SELECT log_index FROM raft_outcome('snap-req-1')}), $once_idx, '... and raft_outcome(request_id) too');
($ret, $out, $err) = $c->psql($f, q{SELECT log_index FROM raft_submit_once('snap-req-1', 'INSERT INTO shop.orders (item_id, qty, note) VALUES (2, 7, ''once'')')});
is((split /\n/, $out // '')[-1], $once_idx, 'a retry of that request id through the rebuilt node gets the original entry') or diag $err;

# writes after the install: applied on it, the sequences going on from the same values
my $last_ticket = $c->query($leader, q{SELECT last_value FROM shop.ticket});
submit($f, q{INSERT INTO shop.tickets VALUES (nextval('shop.ticket'), 'after the install')});
submit($leader, q{INSERT INTO items (name, price) VALUES ('after the install', 1)});
$w = submit($f, q{INSERT INTO shop.orders (item_id, qty) VALUES (1, 1), (2, 2)});
ok(defined $c->wait_applied_everywhere($w->{log_index}, timeout => 30), "writes after the install are applied on node $fid too");
is($c->query($f, q{SELECT no FROM shop.tickets WHERE what = 'after the install'}), $last_ticket + 7,
	'nextval on the rebuilt node goes on from the same value');
ok(scalar $c->wait_contents_equal(q{SELECT no, what FROM shop.tickets ORDER BY no}), 'the same tickets on every node');
ok(scalar $c->wait_contents_equal(q{SELECT id, name FROM items ORDER BY id}), 'the same identity values on every node');
ok(scalar $c->wait_contents_equal(q{SELECT id, item_id, qty, note FROM shop.orders ORDER BY id}), 'the same serial values on every node');
is($c->query($f, q{SELECT count(*) FROM shop.orders WHERE note = 'once'}), '1', 'the request id was applied once');

# =====================================================================
# c. Refusals
# =====================================================================
note sprintf('%.1f s: part c. Refusals', time - $t_start);
my $r = install($g, undef, user => 'snap_plain');
is($r->{sqlstate}, '42501', 'a role that is not a superuser: 42501') or diag explain $r;
submit($leader, q{GRANT EXECUTE ON FUNCTION raft_install_snapshot(integer) TO snap_plain});
$r = install($g, undef, user => 'snap_plain');
is($r->{sqlstate}, '42501', '... even granted EXECUTE on the function') or diag explain $r;
submit($leader, q{REVOKE EXECUTE ON FUNCTION raft_install_snapshot(integer) FROM snap_plain});
$r = install($g, $gid);
is($r->{sqlstate}, '22023', 'from_node = this node: 22023') or diag explain $r;
($leader) = $c->wait_for_leader(timeout => 30);
$r = install($leader);
is($r->{sqlstate}, '55000', 'no argument on the leader: 55000') or diag explain $r;
$r = install($g, 99);
is($r->{sqlstate}, '42704', 'a node that is not a member: 42704') or diag explain $r;
is(worker_state($g), 'running/running', 'the refusals changed nothing on that node');

# =====================================================================
# b. Manual repair of a healthy follower
# =====================================================================
note sprintf('%.1f s: part b. Manual repair', time - $t_start);
# node g's data made to differ, through the escape hatch
($ret, $out, $err) = $c->psql($g, q{SET raft_ext.local_writes = on;
UPDATE items SET name = 'tampered' WHERE id = 3;
DELETE FROM shop.orders WHERE id = 5;
CREATE TABLE local_junk (x int);
INSERT INTO local_junk VALUES (1)});
is($ret, 0, "node ${gid}'s tables changed locally (raft_ext.local_writes)") or diag $err;
ok(!scalar $c->table_contents_equal(q{SELECT id, name FROM items ORDER BY id}, quiet => 1), '... so they differ');

my $t0 = time;
$r = install($g);
my $src_applied = $c->status($leader)->{last_applied};
my $g_applied = $c->status($g)->{last_applied};
ok($r->{ok}, sprintf('SELECT raft_install_snapshot() on node %d (from the leader) returns (%.1f s)', $gid, time - $t0))
  or diag explain $r;
my $idx = $r->{value} // 0;
cmp_ok($idx, '>', 0, "it returns the snapshot's log index ($idx)");
cmp_ok($idx, '<=', $src_applied, "... no further than the leader's applied index at return ($src_applied)");
cmp_ok($g_applied, '>=', $idx, "node $gid has applied the snapshot's index at return ($g_applied)");
like(slurp_file($g->logfile), qr/raft_ext: node $gid installed a snapshot of node @{[ $c->id_of($leader) ]} at log entry $idx\b/,
	'its server log names the leader and the index');
is($c->query($g, q{SELECT name FROM items WHERE id = 3}), 'item 3', 'the changed row is repaired');
is($c->query($g, q{SELECT count(*) FROM shop.orders WHERE id = 5}), '1', 'the deleted row is back');
is($c->query($g, q{SELECT to_regclass('public.local_junk') IS NULL}), 't', 'the table made locally is gone');
$w = submit($g, q{INSERT INTO notes VALUES ('after the first repair')});
ok(defined $c->wait_applied_everywhere($w->{log_index}, timeout => 30), 'writes are applied everywhere after it');
compare_all("after raft_install_snapshot() on node $gid");

# From the other follower (itself rebuilt in a.), with writes going on
# through the leader meanwhile: rows with identity, serial and trigger
# values, so a sequence copied at another point than the rows would show.
($ret, $out, $err) = $c->psql($g, q{SET raft_ext.local_writes = on; UPDATE shop.orders SET qty = qty + 100 WHERE id = 7});
is($ret, 0, "node $gid changed locally again") or diag $err;
my $writes = join('', map {
	"SELECT log_index FROM raft_submit('INSERT INTO items (name, price) VALUES (''during $_'', $_)');\n"
	  . "SELECT log_index FROM raft_submit('INSERT INTO shop.orders (item_id, qty) VALUES (" . (1 + $_ % 40) . ", 1)');\n"
	  . "SELECT log_index FROM raft_submit('INSERT INTO shop.tickets VALUES (nextval(''shop.ticket''), ''during $_'')');\n"
} 1 .. 150);
my $writer = $c->start_script($leader, "SET statement_timeout = '30s';\n$writes");
sleep 0.3;
$t0 = time;
$r = install($g, $fid);
my $src2_applied = $c->status($f)->{last_applied};
ok($r->{ok}, sprintf('SELECT raft_install_snapshot(%d) on node %d, writes going on, returns (%.1f s)', $fid, $gid, time - $t0))
  or diag explain $r;
$idx = $r->{value} // 0;
cmp_ok($idx, '>', 0, "it returns the snapshot's log index ($idx)");
cmp_ok($idx, '<=', $src2_applied, "... no further than node ${fid}'s applied index at return ($src2_applied)");
like(slurp_file($g->logfile), qr/raft_ext: node $gid installed a snapshot of node $fid at log entry $idx\b/,
	"its server log names node $fid and the index");
my $wr = $c->finish_script($writer, 120);
is($wr->{ret}, 0, '450 writes through the leader meanwhile, all acknowledged') or diag $wr->{err};
my @wrote = split /\n/, $wr->{out} // '';
my $last_write = $wrote[-1] // 0;
ok(@wrote && $wrote[0] < $idx && $last_write > $idx,
	"the writes went on before and after the snapshot's index (entries " . ($wrote[0] // '?') . "..$last_write)");
ok(defined $c->wait_applied_everywhere($last_write, timeout => 60), "node $gid applied the writes after its snapshot");
is($c->query($g, q{SELECT qty FROM shop.orders WHERE id = 7}), $c->query($leader, q{SELECT qty FROM shop.orders WHERE id = 7}),
	'the row changed locally is repaired');
compare_all("after raft_install_snapshot($fid) on node $gid");
verify_consistent("after the repairs");

# =====================================================================
# d. raft_ext.auto_snapshot = off: the node only says it needs a snapshot
# =====================================================================
note sprintf('%.1f s: part d. raft_ext.auto_snapshot = off', time - $t_start);
$c->query($g, q{ALTER SYSTEM SET raft_ext.auto_snapshot = off});
$c->query($g, q{SELECT pg_reload_conf()});
ok($c->wait_until(sub { $c->query($g, q{SHOW raft_ext.auto_snapshot}) eq 'off' }, 10), "raft_ext.auto_snapshot = off on node $gid (reload)");
sleep 1;	# the workers reload at their next loop
my $gs = $c->status($g);
my $g_has = $gs->{last_log_index} > $gs->{last_applied} ? $gs->{last_log_index} : $gs->{last_applied};
# paused, not stopped: the setting must have been taken at the reload
$c->pause($g);
ok(compact_past($g_has, "node $gid"), "the log was compacted past what node $gid holds ($g_has) while it was paused");
$w = submit($leader, q{INSERT INTO notes VALUES ('while node g was paused')});
$log_pos = -s $g->logfile;
$c->resume($g);
ok($c->wait_until(sub { ($c->query($g, q{SELECT worker_state FROM raft_status}) // '') eq 'needs snapshot' }, 30),
	"node $gid says it needs a snapshot") or diag explain $c->status($g);
my @states;
for (1 .. 8)
{
	push @states, worker_state($g);
	sleep 0.5;
}
is(join(',', grep { $_ ne 'needs snapshot/running' } @states), '', 'and keeps saying so for 4 s, installing nothing')
  or diag join(', ', @states);
unlike(substr(slurp_file($g->logfile), $log_pos), qr/installed a snapshot/, 'its server log shows no install');
is($c->query($g, q{SELECT count(*) FROM notes WHERE body = 'while node g was paused'}), '0', 'it applied nothing it could not');

$t0 = time;
$r = install($g);
ok($r->{ok}, sprintf('a manual raft_install_snapshot() repairs it (%.1f s)', time - $t0)) or diag explain $r;
ok($c->wait_until(sub { worker_state($g) eq 'running/running' }, 30), 'it no longer needs a snapshot')
  or diag worker_state($g);
$w = submit($g, q{INSERT INTO notes VALUES ('through node g at the end')});
ok(defined $c->wait_applied_everywhere($w->{log_index}, timeout => 30), 'it takes writes again, applied everywhere');
compare_all("after node ${gid}'s manual install");
verify_consistent("after node ${gid}'s manual install");

# =====================================================================
# e. A fresh server added to the compacted cluster installs a snapshot by
#    itself, then becomes a voter
# =====================================================================
note sprintf('%.1f s: part e. A fresh server', time - $t_start);
($leader) = $c->wait_for_leader(timeout => 30);
cmp_ok(log_start($leader), '>', 0, 'the leader\'s log is compacted');
my $n4 = $c->new_node;	# initdb, raft_ext.join = on, start, CREATE EXTENSION
my $id4 = $c->id_of($n4);
$c->query($n4, q{CREATE ROLE snap_reader NOLOGIN; CREATE ROLE snap_owner NOLOGIN; CREATE ROLE snap_plain LOGIN});
$log_pos = -s $n4->logfile;
$t0 = time;
$r = $c->add_member($n4, retry => 30);
ok($r->{ok}, "raft_add_node($id4) on the leader") or diag explain $r;
ok(defined $c->wait_membership(id => $id4, want => 'voter', timeout => 60),
	sprintf('the new server becomes a voter (%.1f s after raft_add_node)', time - $t0));
$c->set_member($n4, 1);
like(substr(slurp_file($n4->logfile), $log_pos), qr/raft_ext: node $id4 installed a snapshot of node \d+ at log entry \d+/,
	'it installed a snapshot by itself (its server log)');
ok($c->wait_until(sub { worker_state($n4) eq 'running/running' }, 30), 'it is running (its apply worker restarted after the install)')
  or diag worker_state($n4);
$w = submit($n4, q{INSERT INTO notes VALUES ('through the new server')});
ok(defined $c->wait_applied_everywhere($w->{log_index}, timeout => 30), 'it takes writes, applied on all four nodes');
compare_all('with the new server');
verify_consistent('at the end, four nodes');

note sprintf('031 total %.1f s', time - $t_start);
done_testing();
