-- raft_ext regression tests, part 8: an entry's outcome is recorded with a
-- plain INSERT in the transaction that applies it.  A row already there for
-- that index (the extension's tables were tampered with) stops apply on the
-- node, shown in raft_status, instead of being overwritten; apply resumes,
-- applying the entry once, when the row is gone.  The tampering itself needs
-- the write guard's escape hatch (raft_ext.local_writes), which warns.
SELECT command_tag FROM raft_submit('CREATE TABLE tamper (x int)');
SELECT last_log_index + 1 AS next_index FROM raft_status \gset
INSERT INTO raft_ext.outcome (log_index, term, command_tag) VALUES (:next_index, 0, 'FORGED');
\echo :LAST_ERROR_SQLSTATE
SET raft_ext.local_writes = on;
INSERT INTO raft_ext.outcome (log_index, term, command_tag) VALUES (:next_index, 0, 'FORGED');
RESET raft_ext.local_writes;
SET statement_timeout = '1s';
\set VERBOSITY terse
SELECT * FROM raft_submit('INSERT INTO tamper VALUES (1)');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
RESET statement_timeout;
SELECT last_applied < :next_index AS stalled, last_apply_error LIKE '%duplicate key%' AS says_why
FROM raft_status;
SET raft_ext.local_writes = on;
DELETE FROM raft_ext.outcome WHERE log_index = :next_index AND command_tag = 'FORGED';
RESET raft_ext.local_writes;
SELECT raft_barrier() >= :next_index AS barrier;
SELECT last_applied >= :next_index AS resumed, apply_stalled_since IS NULL AS not_stalled FROM raft_status;
SELECT * FROM tamper;
SELECT command_tag, rows FROM raft_ext.outcome WHERE log_index = :next_index;
SELECT command_tag FROM raft_submit('DROP TABLE tamper');
