-- raft_ext regression tests, part 7: the log entry's payload format.
-- Version 2 numbers the captured settings instead of naming them: a short
-- statement's entry is mostly its own text.
SELECT command_tag FROM raft_submit('CREATE SCHEMA payload_v1');
SELECT command_tag FROM raft_submit('CREATE TABLE payload_v1.t (x int)');
-- (in version 1 the setting names alone took 101 bytes)
SELECT substr(payload, 1, 3) AS magic_and_version,
       length(payload) - length('CREATE TABLE payload_v1.t (x int)') - length(current_user) AS overhead
FROM raft_ext.log WHERE index = (SELECT max(index) FROM raft_ext.log);

-- Entries written in version 1 (settings by name) are still applied, with
-- their settings: here search_path, so the unqualified name finds payload_v1.t.
CREATE FUNCTION pg_temp.le(n int, width int) RETURNS bytea LANGUAGE sql AS
$$ SELECT decode(string_agg(lpad(to_hex((n >> (8 * i)) & 255), 2, '0'), '' ORDER BY i), 'hex')
   FROM generate_series(0, width - 1) i $$;
CREATE FUNCTION pg_temp.v1(role text, setting text, value text, sql text) RETURNS bytea LANGUAGE sql AS
$$ SELECT '\x525801'::bytea || pg_temp.le(length(role), 2) || convert_to(role, 'UTF8')
       || '\x01'::bytea || pg_temp.le(length(setting), 1) || convert_to(setting, 'UTF8')
       || pg_temp.le(length(value), 4) || convert_to(value, 'UTF8')
       || pg_temp.le(length(sql), 4) || convert_to(sql, 'UTF8') $$;
SELECT status, outcome IS NOT NULL AS has_outcome
FROM raft_ext.forward_submit(pg_temp.v1(current_user, 'search_path', 'payload_v1', 'INSERT INTO t VALUES (1)'), 5000);
SELECT command_tag, rows FROM raft_ext.outcome ORDER BY log_index DESC LIMIT 1;
SELECT * FROM payload_v1.t;

-- malformed payloads are refused before anything is appended
SELECT last_log_index AS before FROM raft_status \gset
SELECT status FROM raft_ext.forward_submit(pg_temp.v1(current_user, 'work_mem', '1GB', 'SELECT 1'), 5000);
\echo :LAST_ERROR_SQLSTATE
SELECT status FROM raft_ext.forward_submit('\x52580208000000000000000000'::bytea, 5000);
\echo :LAST_ERROR_SQLSTATE
SELECT status FROM raft_ext.forward_submit('\x525805'::bytea, 5000);
\echo :LAST_ERROR_SQLSTATE
-- version 2, one setting numbered 200 (there is no such setting)
SELECT status FROM raft_ext.forward_submit(
    '\x525802'::bytea || pg_temp.le(length(current_user), 2) || convert_to(current_user, 'UTF8')
    || '\x01c8'::bytea || pg_temp.le(1, 4) || '\x31'::bytea || pg_temp.le(8, 4) || convert_to('SELECT 1', 'UTF8'), 5000);
\echo :LAST_ERROR_SQLSTATE
SELECT last_log_index = :before AS nothing_appended FROM raft_status;
SELECT command_tag FROM raft_submit('DROP SCHEMA payload_v1 CASCADE');
