-- raft_ext regression tests: raft_install_snapshot() refusals on a one-node
-- cluster (the installs themselves need members to copy: TAP 031).  Each
-- refusal changes nothing: the table and last_applied stay.
\set VERBOSITY default
SELECT log_index > 0 AS created FROM raft_submit('CREATE TABLE snap_keep (k int)');
SELECT log_index > 0 AS inserted FROM raft_submit('INSERT INTO snap_keep VALUES (1)');
SELECT last_applied AS applied_before FROM raft_status \gset

-- the only member is the leader: nobody to copy
SELECT raft_install_snapshot();
\echo :LAST_ERROR_SQLSTATE
SELECT raft_install_snapshot(NULL);
\echo :LAST_ERROR_SQLSTATE
-- not itself, not a node that does not exist, not a nonsense id
SELECT raft_install_snapshot(1);
\echo :LAST_ERROR_SQLSTATE
SELECT raft_install_snapshot(7);
\echo :LAST_ERROR_SQLSTATE
SELECT raft_install_snapshot(-1);
\echo :LAST_ERROR_SQLSTATE

-- granted to nobody; and superuser only even when granted
CREATE ROLE regress_raft_snapshot_nobody;
SET ROLE regress_raft_snapshot_nobody;
SELECT raft_install_snapshot(2);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET raft_ext.local_writes = on;
GRANT EXECUTE ON FUNCTION raft_install_snapshot(integer) TO regress_raft_snapshot_nobody;
SET ROLE regress_raft_snapshot_nobody;
SELECT raft_install_snapshot(2);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
REVOKE EXECUTE ON FUNCTION raft_install_snapshot(integer) FROM regress_raft_snapshot_nobody;
RESET raft_ext.local_writes;
DROP ROLE regress_raft_snapshot_nobody;

SELECT count(*) AS rows_kept FROM snap_keep;
SELECT last_applied = :applied_before AS nothing_applied, apply_worker_state FROM raft_status;
SELECT log_index > 0 AS dropped FROM raft_submit('DROP TABLE snap_keep');
