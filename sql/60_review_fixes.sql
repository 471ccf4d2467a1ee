-- raft_ext regression tests, part 6: cases found in review.

-- Deferred constraint triggers: PostgreSQL refuses to queue them inside the
-- security-restricted operation a statement is applied in, so the statement
-- fails at once with 42501, the same on every node; it can never fail later,
-- at the apply transaction's commit, and stall apply.
SELECT command_tag FROM raft_submit('CREATE TABLE parent_d (id int PRIMARY KEY)');
SELECT command_tag FROM raft_submit('CREATE TABLE child_d (pid int REFERENCES parent_d DEFERRABLE INITIALLY DEFERRED)');
SELECT * FROM raft_submit('INSERT INTO child_d VALUES (1)');
\echo :LAST_ERROR_SQLSTATE
SELECT command_tag, rows FROM raft_submit('INSERT INTO parent_d VALUES (1)');
SELECT (SELECT count(*) FROM child_d) AS children, (SELECT count(*) FROM parent_d) AS parents;
SELECT apply_stalled_since IS NULL AS not_stalled FROM raft_status;

-- The session settings travel with the statement: a huge search_path makes
-- the entry too large, refused before anything is appended.
SELECT last_log_index AS before_index FROM raft_status \gset
SELECT set_config('search_path', repeat('abcdefgh,', 130000) || 'public', false) IS NOT NULL AS set;
SELECT * FROM raft_submit('SELECT 1');
\echo :LAST_ERROR_SQLSTATE
RESET search_path;
SELECT last_log_index = :before_index AS nothing_appended FROM raft_status;
