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
