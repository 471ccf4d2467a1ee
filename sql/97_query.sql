-- raft_ext regression tests: raft_query returns the rows of the statement
-- as applied (RETURNING, or a SELECT run as an entry) (issue 16).
SELECT command_tag FROM raft_submit('CREATE TABLE q (id serial PRIMARY KEY, v text, at timestamptz DEFAULT now())');
-- the generated id of an INSERT
SELECT * FROM raft_query('INSERT INTO q (v) VALUES ($1) RETURNING id', 'first') AS r(id int);
SELECT * FROM raft_query('INSERT INTO q (v) VALUES ($1), ($2), (NULL) RETURNING id, v', 'second', 'third') AS r(id int, v text);
-- a SELECT run as an entry (the state as of that entry), types exactly as read back
SET DateStyle = 'SQL, DMY';
SELECT r.at = q.at AS same_time, r.v IS NOT DISTINCT FROM q.v AS same_value
FROM raft_query('SELECT id, v, at FROM q ORDER BY id') AS r(id int, v text, at timestamptz)
JOIN q USING (id) ORDER BY id;
RESET DateStyle;
-- UPDATE ... RETURNING old and new
SELECT * FROM raft_query('UPDATE q SET v = upper(v) WHERE id <= $1 RETURNING id, v', 2) AS r(id int, v text) ORDER BY id;
-- a statement that returns no rows
SELECT count(*) FROM raft_query('DELETE FROM q WHERE id = 99') AS r(id int);
-- several statements: the last one's rows
SELECT * FROM raft_query('INSERT INTO q (v) VALUES (''x''); SELECT count(*) FROM q') AS r(n bigint);
-- errors: the column list does not match (the statement was applied), the result is too big
\set VERBOSITY terse
SELECT * FROM raft_query('INSERT INTO q (v) VALUES (''y'') RETURNING id, v') AS r(id int);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM q WHERE v = 'y';
SET raft_ext.max_query_result = '1kB';
SELECT count(*) FROM raft_query('SELECT g, repeat(''z'', 100) FROM generate_series(1, 100) g') AS r(g int, z text);
\echo :LAST_ERROR_SQLSTATE
RESET raft_ext.max_query_result;
SELECT * FROM raft_query('SELECT 1');
\echo :LAST_ERROR_SQLSTATE
-- the statement's own error is raised as for raft_submit
SELECT * FROM raft_query('INSERT INTO q (id, v) VALUES (1, ''dup'') RETURNING id') AS r(id int);
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
