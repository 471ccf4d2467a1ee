-- raft_ext regression tests, part 1: raft_submit and the outcomes it returns.
SELECT last_log_index AS start_index FROM raft_status \gset

SELECT log_index > :start_index AS appended, term > 0 AS has_term, command_tag, rows
FROM raft_submit('CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, qty int CHECK (qty >= 0))');
SELECT command_tag, rows FROM raft_submit($$INSERT INTO items VALUES (1, 'apple', 3), (2, 'pear', 5)$$);
SELECT command_tag, rows FROM raft_submit('UPDATE items SET qty = qty + 1');
SELECT command_tag, rows FROM raft_submit('DELETE FROM items WHERE id = 2');
SELECT command_tag, rows FROM raft_submit('SELECT * FROM items');
-- several statements: one entry, one transaction; the tag is the last one's
SELECT command_tag, rows FROM raft_submit($$INSERT INTO items VALUES (3, 'fig', 1); UPDATE items SET qty = 10 WHERE id = 3$$);
SELECT * FROM items ORDER BY id;

-- log indexes grow by one per statement
SELECT a.log_index + 1 = b.log_index AS consecutive
FROM raft_submit('SELECT 1') a, LATERAL (SELECT * FROM raft_submit('SELECT 2')) b;

-- the statement's own errors come back with their SQLSTATE, message and detail
SELECT * FROM raft_submit($$INSERT INTO items VALUES (1, 'again', 1)$$);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit($$INSERT INTO items VALUES (4, NULL, 1)$$);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit($$UPDATE items SET qty = -1$$);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit('SELECT 1/0');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit('SELECT * FROM no_such_table');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit($q$DO $b$ BEGIN RAISE EXCEPTION 'custom failure' USING DETAIL = 'some detail', HINT = 'some hint', ERRCODE = 'P0099'; END $b$$q$);
\echo :LAST_ERROR_SQLSTATE
-- a failed statement left nothing behind, even in a multi-statement entry
SELECT * FROM raft_submit($$INSERT INTO items VALUES (5, 'kiwi', 1); INSERT INTO items VALUES (1, 'dup', 1)$$);
SELECT * FROM items ORDER BY id;

-- every outcome is recorded, errors included, in log order
SELECT command_tag, rows, sqlstate, message, detail
FROM raft_ext.outcome WHERE log_index > :start_index ORDER BY log_index;
SELECT (SELECT last_applied FROM raft_status) = (SELECT max(log_index) FROM raft_ext.outcome) AS all_applied;

-- raft_barrier returns a read index this node has applied
SELECT raft_barrier() <= (SELECT last_applied FROM raft_status) AS barrier_applied;
