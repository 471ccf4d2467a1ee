-- raft_ext regression tests: outcomes are kept for raft_ext.outcome_retention,
-- and at least as long as request ids (issue 15).  Each outcome row carries
-- its entry's stamp; the leader posts an "O" entry that removes, on every
-- node alike, the outcomes older than its own stamp minus the retention.
SELECT command_tag FROM raft_submit('CREATE TABLE retention_t (i int)');
-- every outcome has its entry's stamp
SELECT count(*) FILTER (WHERE applied_at IS NULL) AS unstamped,
       bool_and(applied_at <= now()) AS stamped_before_now
  FROM raft_ext.outcome WHERE log_index > (SELECT max(log_index) - 3 FROM raft_ext.outcome);

CREATE FUNCTION pg_temp.o_entries_after(i bigint) RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM raft_ext.log
   WHERE index > i AND substring(payload from 1 for 2) = '\x524f'::bytea  -- 'R' 'O'
$$;
CREATE FUNCTION pg_temp.wait_for_o_entry(i bigint) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  FOR n IN 1..200 LOOP
    IF pg_temp.o_entries_after(i) > 0 AND
       (SELECT last_applied FROM raft_status) >= (SELECT max(index) FROM raft_ext.log) THEN
      RETURN true;
    END IF;
    PERFORM pg_sleep(0.05);
  END LOOP;
  RETURN false;
END $$;

-- 1. outcome_retention 1 s, but request ids are remembered for 60 s: kept
ALTER SYSTEM SET raft_ext.outcome_retention = 1;
ALTER SYSTEM SET raft_ext.request_id_retention = 60;
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SELECT max(log_index) AS old_index FROM raft_ext.outcome \gset
SELECT pg_sleep(1.5);
SELECT last_applied AS mark FROM raft_status \gset
SELECT command_tag FROM raft_submit('INSERT INTO retention_t VALUES (1)');
SELECT pg_temp.wait_for_o_entry(:mark) AS posted;
SELECT count(*) > 0 AS old_outcomes_kept FROM raft_ext.outcome WHERE log_index <= :old_index;

-- 2. both 1 s: what is older than a second goes, in log order; newer stays
ALTER SYSTEM SET raft_ext.request_id_retention = 1;
SELECT pg_reload_conf();
SELECT pg_sleep(1.5);
SELECT last_applied AS mark FROM raft_status \gset
SELECT log_index AS new_index FROM raft_submit('INSERT INTO retention_t VALUES (2)') \gset
SELECT pg_temp.wait_for_o_entry(:mark) AS posted;
SELECT count(*) AS old_outcomes_left FROM raft_ext.outcome WHERE log_index <= :old_index;
SELECT command_tag FROM raft_outcome(:new_index::bigint);
SELECT count(*) AS rows_applied FROM retention_t;

ALTER SYSTEM RESET raft_ext.outcome_retention;
ALTER SYSTEM RESET raft_ext.request_id_retention;
SELECT pg_reload_conf();
SELECT command_tag FROM raft_submit('DROP TABLE retention_t');
