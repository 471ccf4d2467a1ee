-- raft_ext regression tests, part 0: create the extension and wait until the
-- one-node cluster of test/regress.conf has elected itself.
CREATE EXTENSION raft_ext;

-- The worker polls for the extension every second, then elects itself.
DO $$
BEGIN
  FOR i IN 1..600 LOOP
    EXIT WHEN (SELECT role = 'leader' AND commit_index > 0 AND last_applied >= commit_index
               FROM raft_status);
    PERFORM pg_sleep(0.1);
  END LOOP;
END
$$;

SELECT node_id, role, term > 0 AS has_term, leader_id, voted_for = node_id AS voted_for_self,
       commit_index > 0 AS committed, last_applied = commit_index AS applied,
       last_log_index >= commit_index AS log_ok, last_log_term = term AS log_term_ok,
       worker_state, apply_worker_state
FROM raft_status;

-- every column of raft_status, by name and type
SELECT attname, format_type(atttypid, atttypmod)
FROM pg_attribute WHERE attrelid = 'raft_status'::regclass AND attnum > 0 ORDER BY attnum;
SELECT attname, format_type(atttypid, atttypmod)
FROM pg_attribute WHERE attrelid = 'raft_peers'::regclass AND attnum > 0 ORDER BY attnum;

SELECT apply_stalled_since IS NULL AS not_stalled, last_apply_error IS NULL AS no_apply_error,
       messages_dropped = 0 AS none_dropped
FROM raft_status;
