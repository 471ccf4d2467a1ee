-- raft_ext regression tests: idempotent submission with a request id
-- (issue 16): a retry is not applied again and gets the original outcome.
SELECT command_tag FROM raft_submit('CREATE TABLE counter (id int PRIMARY KEY, n int)');
SELECT command_tag FROM raft_submit('INSERT INTO counter VALUES (1, 0)');
SELECT log_index AS first_index, command_tag, rows FROM raft_submit_once('order-17', 'UPDATE counter SET n = n + $1 WHERE id = 1', 5) \gset
SELECT :'command_tag' AS tag, :rows AS rows;
-- the same request id again (a blind retry): same outcome, not applied twice
SELECT log_index = :first_index AS original_index, command_tag, rows FROM raft_submit_once('order-17', 'UPDATE counter SET n = n + $1 WHERE id = 1', 5);
SELECT n FROM counter;
-- the retry's own entry is recorded as a duplicate of the first
SELECT command_tag, rows = :first_index AS of_first FROM raft_ext.outcome WHERE log_index = (SELECT max(log_index) FROM raft_ext.outcome);
-- a request id whose statement failed: the retry gets the same error
\set VERBOSITY terse
SELECT * FROM raft_submit_once('order-18', 'INSERT INTO counter VALUES (1, 1)');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit_once('order-18', 'INSERT INTO counter VALUES (2, 1)');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM counter;
-- raft_query_once: the rows of a retry are not kept: said so
SELECT * FROM raft_query_once('order-19', 'INSERT INTO counter VALUES (3, 3) RETURNING id') AS r(id int);
SELECT * FROM raft_query_once('order-19', 'INSERT INTO counter VALUES (3, 3) RETURNING id') AS r(id int);
\echo :LAST_ERROR_SQLSTATE
-- bad request ids
SELECT * FROM raft_submit_once(NULL, 'SELECT 1');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit_once('', 'SELECT 1');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit_once(repeat('x', 257), 'SELECT 1');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
-- outcomes by index and by request id
SELECT log_index = :first_index AS same, command_tag, rows FROM raft_outcome('order-17');
SELECT command_tag, rows FROM raft_outcome(:first_index::bigint);
SELECT sqlstate FROM raft_outcome('order-18');
SELECT count(*) FROM raft_outcome('no-such-id');
-- a positional text after the statement is a parameter, never a request id
SELECT command_tag, rows FROM raft_submit('UPDATE counter SET n = n + 1 WHERE id = $1::int', '1');
SELECT count(*) FROM raft_ext.request_ids WHERE request_id = '1';
-- a forwarded submission carries its sender's deadline: one that reaches the
-- leader after it is not appended (an outcome that was unknown is final)
CREATE FUNCTION pg_temp.le(n int, width int) RETURNS bytea LANGUAGE sql AS
$$ SELECT decode(string_agg(lpad(to_hex((n >> (8 * i)) & 255), 2, '0'), '' ORDER BY i), 'hex')
   FROM generate_series(0, width - 1) i $$;
CREATE FUNCTION pg_temp.v1(role text, sql text) RETURNS bytea LANGUAGE sql AS
$$ SELECT '\x525801'::bytea || pg_temp.le(length(role), 2) || convert_to(role, 'UTF8')
       || '\x00'::bytea || pg_temp.le(length(sql), 4) || convert_to(sql, 'UTF8') $$;
SELECT last_log_index AS before_index FROM raft_status \gset
SELECT status, problem FROM raft_ext.forward_submit(pg_temp.v1(current_user, 'UPDATE counter SET n = n + 100'), 5000,
    ((extract(epoch FROM now() - interval '1 second') - 946684800) * 1000000)::bigint);
SELECT last_log_index = :before_index AS nothing_appended, (SELECT n FROM counter WHERE id = 1) AS n FROM raft_status;
-- within its deadline it is appended
SELECT status FROM raft_ext.forward_submit(pg_temp.v1(current_user, 'UPDATE counter SET n = n + 100'), 5000,
    ((extract(epoch FROM now() + interval '30 seconds') - 946684800) * 1000000)::bigint);
SELECT n FROM counter WHERE id = 1;
