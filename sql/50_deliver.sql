-- raft_ext regression tests, part 5: raft_ext.deliver() takes any bytes
-- and returns at once; the worker refuses garbage and carries on.
SELECT term AS term_before, messages_refused AS refused_before FROM raft_status \gset
SELECT set_config('regress.refused_before', messages_refused::text, false) IS NOT NULL AS saved FROM raft_status;

SELECT raft_ext.deliver('\xdeadbeef'::bytea);
SELECT raft_ext.deliver('\x5246'::bytea);                      -- magic only
SELECT raft_ext.deliver('\x524601010000000000000000'::bytea);  -- truncated header
SELECT raft_ext.deliver(decode(repeat('ff', 1000), 'hex'));
SELECT raft_ext.deliver(''::bytea);
\echo :LAST_ERROR_SQLSTATE
SELECT raft_ext.deliver(NULL);

-- wait until the worker has looked at them
DO $$
BEGIN
  FOR i IN 1..300 LOOP
    EXIT WHEN (SELECT messages_refused >= current_setting('regress.refused_before')::bigint + 4 FROM raft_status);
    PERFORM pg_sleep(0.05);
  END LOOP;
END
$$;
SELECT messages_refused - :refused_before AS refused, role, term = :term_before AS same_term,
       worker_state
FROM raft_status;

-- the stream procedure (what the peers' transport calls) needs a CALL at
-- top level, outside a transaction block; errors before the stream starts
-- are ordinary errors
BEGIN;
CALL raft_ext.deliver_stream();
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT raft_ext.deliver_stream();
\echo :LAST_ERROR_SQLSTATE

-- and it still works
SELECT command_tag, rows FROM raft_submit('SELECT 42');

-- transfer of leadership: to itself is a no-op; to a non-member is refused
SELECT raft_transfer_leadership(1);
SELECT raft_transfer_leadership(2);
\echo :LAST_ERROR_SQLSTATE

-- raft_peers: the connection string never shows a password
SELECT node_id, is_self, connected, match_index > 0 AS has_match,
       regexp_replace(conninfo, 'password=\*+ ?', '') AS conninfo,
       conninfo ~ 'password=\*{8}( |$)' AND strpos(conninfo, 'regress_secret') = 0 AS password_masked
FROM raft_peers;
