-- raft_ext--1.1--1.2.sql — update script from raft_ext 1.1 to 1.2.
--
-- Every log entry starts from the same clean session on every node
-- (src/apply_session.c).  One thing a session cannot forget is a custom
-- setting's name once a statement used it (SET myapp.x = ...): the apply
-- worker records every such name here, in the transaction of the entry that
-- created it, and defines them all when it starts, so that every node's
-- apply session knows the same names at every log index.  Written only by
-- the apply worker.  A 1.2 library waits (apply_worker_state 'waiting for
-- extension') until ALTER EXTENSION raft_ext UPDATE has created it.

\echo Use "ALTER EXTENSION raft_ext UPDATE TO '1.2'" to load this file. \quit

CREATE TABLE raft_ext.custom_settings (
    name text PRIMARY KEY
);
REVOKE ALL ON raft_ext.custom_settings FROM PUBLIC;

-- raft_ext.forward_submit, which a follower's raft_submit calls on the
-- leader, returns the entry's outcome in one encoded value (src/outcome.h)
-- instead of ten columns: status ('applied', 'unknown' or 'retry'),
-- leader_id (who the node thinks leads), problem (why not applied), outcome.
-- Same arguments, so the GRANT the README asks for keeps its text; it is
-- carried over to the new function.
DO $upd$
DECLARE
    grantees text[];
    g text;
BEGIN
    SELECT array_agg(DISTINCT a.grantee::regrole::text)
      INTO grantees
      FROM pg_proc p, aclexplode(p.proacl) a
     WHERE p.oid = 'raft_ext.forward_submit(bytea, integer)'::regprocedure
       AND a.privilege_type = 'EXECUTE' AND a.grantee <> 0 AND a.grantee <> p.proowner;

    DROP FUNCTION raft_ext.forward_submit(bytea, integer);
    CREATE FUNCTION raft_ext.forward_submit(payload bytea, timeout_ms integer,
        OUT status text, OUT leader_id integer, OUT problem text, OUT outcome bytea)
    RETURNS record
    AS 'MODULE_PATHNAME', 'raft_ext_sql_forward_submit'
    LANGUAGE C STRICT VOLATILE;
    REVOKE ALL ON FUNCTION raft_ext.forward_submit(bytea, integer) FROM PUBLIC;
    FOREACH g IN ARRAY coalesce(grantees, '{}')
    LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION raft_ext.forward_submit(bytea, integer) TO %s', g);
    END LOOP;
END
$upd$;
