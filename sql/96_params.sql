-- raft_ext regression tests: parameters ($1 .. $n) are bound on every node
-- with the caller's values and types, never spliced into the text (issue 16).
SELECT command_tag FROM raft_submit('CREATE TABLE p (id int PRIMARY KEY, t text, n numeric, ts timestamptz, d date, b bytea, j jsonb, a int[], f float8, iv interval, u uuid)');
-- every kind of value round-trips exactly
SET DateStyle = 'SQL, DMY';
SET TimeZone = 'America/New_York';
SET extra_float_digits = 0;
SELECT command_tag, rows FROM raft_submit('INSERT INTO p VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)',
    1, 'it''s; DROP TABLE p; --', 12345678901234567890.123456789::numeric,
    '2024-02-29 23:59:59.123456+05:30'::timestamptz, '2024-02-29'::date, '\x00ff10'::bytea,
    '{"a": [1, 2, {"b": null}], "c": "é"}'::jsonb, ARRAY[1, NULL, 3], 0.1::float8 + 0.2::float8,
    '1 year 2 months 3 days 04:05:06.789'::interval, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid);
SELECT t = 'it''s; DROP TABLE p; --' AS text_ok,
       n = 12345678901234567890.123456789 AS numeric_ok,
       ts = '2024-02-29 23:59:59.123456+05:30'::timestamptz AS ts_ok,
       d = '2024-02-29'::date AS date_ok, b = '\x00ff10'::bytea AS bytea_ok,
       j = '{"a": [1, 2, {"b": null}], "c": "é"}'::jsonb AS jsonb_ok, a = ARRAY[1, NULL, 3] AS array_ok,
       f = 0.1::float8 + 0.2::float8 AS float_exact, iv = '1 year 2 months 3 days 04:05:06.789'::interval AS interval_ok,
       u = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS uuid_ok
FROM p WHERE id = 1;
RESET DateStyle; RESET TimeZone; RESET extra_float_digits;
-- NULLs, typed and untyped
SELECT command_tag, rows FROM raft_submit('INSERT INTO p (id, t, n) VALUES ($1, $2, $3)', 2, NULL::text, NULL::numeric);
SELECT command_tag, rows FROM raft_submit('INSERT INTO p (id, t) VALUES ($1, $2)', 3, NULL);
SELECT id, t IS NULL AS t_null, n IS NULL AS n_null FROM p WHERE id IN (2, 3) ORDER BY id;
-- an untyped literal travels as text
SELECT command_tag, rows FROM raft_submit('UPDATE p SET t = $1 WHERE id = $2', 'plain', 2);
SELECT t FROM p WHERE id = 2;
-- VARIADIC with an explicit array
SELECT command_tag, rows FROM raft_submit('DELETE FROM p WHERE id = ANY (ARRAY[$1, $2])', VARIADIC ARRAY[2, 3]);
SELECT count(*) FROM p;
-- the parameters are in the log entry, the text kept its placeholders
SELECT encode(payload, 'escape') LIKE '%ARRAY[$1, $2]%' AS placeholders_kept
FROM raft_ext.log WHERE index = (SELECT max(index) FROM raft_ext.log);
-- what cannot travel is refused before anything is appended
SELECT last_log_index AS before_index FROM raft_status \gset
SELECT * FROM raft_submit('SELECT $1', ROW(1, 2));
\echo :LAST_ERROR_SQLSTATE
CREATE TEMP TABLE tt (x int);
SELECT * FROM raft_submit('SELECT $1', ROW(1)::tt);
\echo :LAST_ERROR_SQLSTATE
SELECT last_log_index = :before_index AS nothing_appended FROM raft_status;
-- a type mismatch is the statement's own error (its outcome)
SELECT * FROM raft_submit('INSERT INTO p (id) VALUES ($1)', 'not a number');
\echo :LAST_ERROR_SQLSTATE
-- several statements are one entry: all or nothing on every node, $n in each
SELECT command_tag FROM raft_submit('INSERT INTO p (id, t) VALUES ($1, $2); UPDATE p SET t = $2 || ''!'' WHERE id = $1', 10, 'both');
SELECT id, t FROM p WHERE id = 10;
\set VERBOSITY terse
SELECT * FROM raft_submit('INSERT INTO p (id, t) VALUES ($1, ''first''); INSERT INTO p (id, t) VALUES ($1, ''second'')', 11);
\set VERBOSITY default
SELECT count(*) AS none_of_it FROM p WHERE id = 11;
