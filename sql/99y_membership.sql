-- raft_ext regression tests: membership through the log (issue 15) on a
-- one-node cluster: a learner added and removed, and every refusal.
\set VERBOSITY default
SELECT node_id, is_self, membership, membership_pending FROM raft_peers ORDER BY node_id;
SELECT count(*) AS stored_members, (SELECT config_index FROM raft_ext.apply_state) AS config_index
  FROM raft_ext.members;

-- bad input changes nothing
SELECT raft_add_node(NULL, 'host=127.0.0.1 port=1');
\echo :LAST_ERROR_SQLSTATE
SELECT raft_add_node(2, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT raft_add_node(0, 'host=127.0.0.1 port=1');
\echo :LAST_ERROR_SQLSTATE
SELECT raft_add_node(2, 'host=127.0.0.1 port=1 nosuchkeyword=1');
\echo :LAST_ERROR_SQLSTATE
SELECT raft_add_node(2, repeat('x', 2000));
\echo :LAST_ERROR_SQLSTATE
SELECT raft_add_node(1, 'host=127.0.0.1 port=1');
\echo :LAST_ERROR_SQLSTATE
SELECT raft_remove_node(7);
\echo :LAST_ERROR_SQLSTATE
SELECT raft_remove_node(1);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS stored_members FROM raft_ext.members;

-- without the grant
CREATE ROLE regress_raft_member_nobody;
SET ROLE regress_raft_member_nobody;
SELECT raft_add_node(2, 'host=127.0.0.1 port=1');
\echo :LAST_ERROR_SQLSTATE
SELECT raft_force_single_node();
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
DROP ROLE regress_raft_member_nobody;

-- a learner that never answers: added (one voter commits it alone), shown, removed
SELECT raft_add_node(2, 'host=127.0.0.1 port=1 connect_timeout=1') > 0 AS added;
SELECT node_id, is_self, membership, membership_pending FROM raft_peers ORDER BY node_id;
SELECT node_id, voter, CASE WHEN node_id = 2 THEN conninfo END AS conninfo FROM raft_ext.members ORDER BY node_id;
SELECT config_index = (SELECT max(index) FROM raft_ext.log WHERE type = 2) AS config_index_is_last_config
  FROM raft_ext.apply_state;
-- it is not promoted: it never caught up
SELECT pg_sleep(0.3);
SELECT membership FROM raft_peers WHERE node_id = 2;
-- writes still commit: a learner counts for no majority
SELECT command_tag FROM raft_submit('SELECT 1');
SELECT raft_remove_node(2) > 0 AS removed;
SELECT node_id, membership FROM raft_peers ORDER BY node_id;
SELECT node_id, voter FROM raft_ext.members ORDER BY node_id;
