-- raft_ext regression tests: transparent mode, raft_ext.route_writes
-- (issue 16): ordinary INSERT / UPDATE / DELETE / MERGE go through the log
-- and answer as PostgreSQL would (the row count, RETURNING); what cannot
-- be routed is refused, never applied locally.
SELECT command_tag FROM raft_submit('CREATE TABLE rw (id serial PRIMARY KEY, v text, n numeric)');
\set VERBOSITY terse
-- off (the default): the write guard refuses it
INSERT INTO rw (v) VALUES ('off');
\echo :LAST_ERROR_SQLSTATE
SET raft_ext.route_writes = on;
SELECT max(index) AS before FROM raft_ext.log \gset
INSERT INTO rw (v, n) VALUES ('a', 1.50);
\echo :ROW_COUNT
-- the serial's nextval() runs in the entry, on every node
INSERT INTO rw (v, n) VALUES ('b', 2), ('c', 3), ('d', NULL) RETURNING id, v, n;
\echo :ROW_COUNT
SELECT count(*) AS new_entries FROM raft_ext.log WHERE index > :before;
UPDATE rw SET n = n * 10 WHERE id <= 2 RETURNING id, n;
\echo :ROW_COUNT
DELETE FROM rw WHERE v = 'd';
\echo :ROW_COUNT
MERGE INTO rw USING (VALUES (3, 'c3'), (9, 'new')) AS s(id, v) ON rw.id = s.id
  WHEN MATCHED THEN UPDATE SET v = s.v
  WHEN NOT MATCHED THEN INSERT (id, v) VALUES (s.id, s.v);
\echo :ROW_COUNT
SELECT * FROM rw ORDER BY id;
-- a prepared statement: the parameters bound with EXECUTE travel in the entry
PREPARE ins(text, numeric) AS INSERT INTO rw (v, n) VALUES ($1, $2) RETURNING v, n;
EXECUTE ins('it''s', 0.1);
EXECUTE ins(NULL, 12345678901234567890.123456789);
SELECT id, v, n FROM rw WHERE id > 4 AND id <> 9 ORDER BY id;
-- the statement's own error, with its SQLSTATE; nothing written
INSERT INTO rw (id, v) VALUES (1, 'dup');
\echo :LAST_ERROR_SQLSTATE
-- what cannot be replicated is refused before the append, as by raft_submit
INSERT INTO rw (v) VALUES (pg_backend_pid()::text);
\echo :LAST_ERROR_SQLSTATE
-- a write in a transaction block: refused (it could not be rolled back)
BEGIN;
SELECT count(*) FROM rw;
INSERT INTO rw (v) VALUES ('in a block');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- several statements in one query string are one transaction: refused
INSERT INTO rw (v) VALUES ('one') \; INSERT INTO rw (v) VALUES ('two');
\echo :LAST_ERROR_SQLSTATE
-- a write inside a function or DO is not routed: the guard refuses it
DO $$ BEGIN INSERT INTO rw (v) VALUES ('do'); END $$;
\echo :LAST_ERROR_SQLSTATE
-- a temporary table is the session's own: written locally
CREATE TEMP TABLE scratch (x int);
INSERT INTO scratch VALUES (1), (2);
\echo :ROW_COUNT
SELECT count(*) AS routed_total FROM rw;
SELECT count(*) FILTER (WHERE v IN ('in a block', 'one', 'two', 'do', 'dup')) AS refused_but_written FROM rw;
-- EXPLAIN shows the plan; EXPLAIN ANALYZE would run it nested: refused
EXPLAIN (COSTS OFF) DELETE FROM rw WHERE id = 1;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) DELETE FROM rw WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM rw WHERE id = 1;
-- reads with raft_ext.read_consistency = linearizable (one node: its own barrier)
SET raft_ext.read_consistency = linearizable;
SELECT count(*) FROM rw;
UPDATE rw SET v = 'after' WHERE id = 1;
\echo :ROW_COUNT
SELECT v FROM rw WHERE id = 1;
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) FROM rw;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
RESET raft_ext.read_consistency;
RESET raft_ext.route_writes;
DROP TABLE scratch;
-- transparent mode takes raft_submit(text)'s grant: nothing is granted to PUBLIC
SELECT command_tag FROM raft_submit('CREATE ROLE regress_route_app');
SELECT command_tag FROM raft_submit('GRANT INSERT, SELECT ON rw TO regress_route_app');
SET ROLE regress_route_app;
SET raft_ext.route_writes = on;
INSERT INTO rw (id, v) VALUES (100, 'no grant');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT command_tag FROM raft_submit('GRANT EXECUTE ON FUNCTION raft_submit(text) TO regress_route_app');
SET ROLE regress_route_app;
INSERT INTO rw (id, v) VALUES (100, 'granted') RETURNING v;
-- the local privileges are checked before anything is submitted
UPDATE rw SET v = 'no UPDATE privilege' WHERE id = 100;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
RESET raft_ext.route_writes;
SELECT v FROM rw WHERE id = 100;
