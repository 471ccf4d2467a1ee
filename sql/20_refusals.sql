-- raft_ext regression tests, part 2: what raft_submit refuses before
-- anything is appended to the log.
SELECT last_log_index AS before_index FROM raft_status \gset

-- syntax errors, with the position inside the submitted text
SELECT * FROM raft_submit('SELEC 1');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit('INSERT INTO items VALUES (1,');
\echo :LAST_ERROR_SQLSTATE

-- statements that cannot run inside a transaction block
SELECT * FROM raft_submit('VACUUM items');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit('CREATE DATABASE raft_regress_db');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit('DROP DATABASE raft_regress_db');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit('CREATE INDEX CONCURRENTLY items_name ON items (name)');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit('REINDEX TABLE CONCURRENTLY items');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit('ALTER SYSTEM SET work_mem = ''8MB''');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit($$CREATE TABLESPACE raft_ts LOCATION '/nonexistent'$$);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit('SELECT 1; COMMIT');
\echo :LAST_ERROR_SQLSTATE
-- session-level statements
SELECT * FROM raft_submit('PREPARE p AS SELECT 1');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit('LISTEN raft_channel');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit('COPY items FROM STDIN');
\echo :LAST_ERROR_SQLSTATE
-- changing roles: every entry runs as its submitter
SELECT * FROM raft_submit('SET ROLE pg_monitor');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit('RESET ROLE');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit('SET SESSION AUTHORIZATION DEFAULT');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit('SELECT 1; SET LOCAL ROLE pg_monitor; SELECT 2');
\echo :LAST_ERROR_SQLSTATE
-- transaction characteristics: the entry's transaction has already begun
SELECT * FROM raft_submit('SET TRANSACTION ISOLATION LEVEL SERIALIZABLE');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit('SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit('SET transaction_isolation = serializable');
\echo :LAST_ERROR_SQLSTATE

-- what would give each node its own result (README, "Identical replicas")
SELECT * FROM raft_submit('INSERT INTO items VALUES (100, pg_backend_pid()::text, 1)');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit('INSERT INTO items VALUES (101, txid_current()::text, 1)');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit('SELECT pg_catalog.pg_sleep(1)');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit('INSERT INTO items VALUES (102, inet_client_addr()::text, 1)');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit('INSERT INTO items SELECT 103, count(*)::text, 1 FROM pg_stat_activity');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit('UPDATE items SET name = ctid::text');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit('DELETE FROM items WHERE id IN (SELECT id FROM items LIMIT 1)');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit('INSERT INTO items SELECT id + 1000, name, qty FROM items TABLESAMPLE BERNOULLI (50)');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit('SELECT pg_try_advisory_lock(1)');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit('SELECT pg_stat_reset()');
\echo :LAST_ERROR_SQLSTATE
-- (with an ORDER BY that fixes the rows, LIMIT is fine: nothing refused)
SELECT command_tag FROM raft_submit('DELETE FROM items WHERE id IN (SELECT id FROM items WHERE id < 0 ORDER BY id LIMIT 1)');
SELECT last_log_index AS before_index FROM raft_status \gset

-- NULL, empty, oversized
SELECT * FROM raft_submit(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit('');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit('   ');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit('-- only a comment');
\echo :LAST_ERROR_SQLSTATE
SET raft_ext.max_statement_size = '1kB';
SELECT * FROM raft_submit('SELECT ''' || repeat('x', 2000) || '''');
\echo :LAST_ERROR_SQLSTATE
RESET raft_ext.max_statement_size;

-- inside an explicit transaction block
BEGIN;
SELECT * FROM raft_submit('SELECT 1');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- none of the above reached the log
SELECT last_log_index = :before_index AS nothing_appended FROM raft_status;
