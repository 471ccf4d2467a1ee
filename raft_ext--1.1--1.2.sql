-- raft_ext--1.1--1.2.sql — update script from raft_ext 1.1 to 1.2.
--
-- Identical replicas.  Every log entry starts from the same clean session on every node
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

-- Stand-ins for the built-in functions that would give each node its own
-- result: while the apply worker plans an entry's queries, calls to
-- clock_timestamp(), timeofday(), gen_random_uuid(), nextval(), setval()
-- and identity columns' sequences are replaced by these (src/determinism.c,
-- src/sequences.c).  Outside the apply worker they refuse to run.
CREATE FUNCTION raft_ext.entry_clock_timestamp() RETURNS timestamptz
AS 'MODULE_PATHNAME', 'raft_ext_entry_clock_timestamp' LANGUAGE C VOLATILE;
CREATE FUNCTION raft_ext.entry_timeofday() RETURNS text
AS 'MODULE_PATHNAME', 'raft_ext_entry_timeofday' LANGUAGE C VOLATILE;
CREATE FUNCTION raft_ext.entry_random_uuid() RETURNS uuid
AS 'MODULE_PATHNAME', 'raft_ext_entry_random_uuid' LANGUAGE C VOLATILE;
CREATE FUNCTION raft_ext.entry_nextval(regclass) RETURNS bigint
AS 'MODULE_PATHNAME', 'raft_ext_entry_nextval' LANGUAGE C STRICT VOLATILE;
CREATE FUNCTION raft_ext.entry_setval(regclass, bigint) RETURNS bigint
AS 'MODULE_PATHNAME', 'raft_ext_entry_setval' LANGUAGE C STRICT VOLATILE;
CREATE FUNCTION raft_ext.entry_setval(regclass, bigint, boolean) RETURNS bigint
AS 'MODULE_PATHNAME', 'raft_ext_entry_setval' LANGUAGE C STRICT VOLATILE;
CREATE FUNCTION raft_ext.entry_identity_nextval(oid) RETURNS bigint
AS 'MODULE_PATHNAME', 'raft_ext_entry_identity_nextval' LANGUAGE C STRICT VOLATILE;
-- A statement runs as the role that submitted it: every role may call them
-- (the statement's privileges on the sequence are still checked).
GRANT EXECUTE ON FUNCTION raft_ext.entry_clock_timestamp(), raft_ext.entry_timeofday(),
    raft_ext.entry_random_uuid(), raft_ext.entry_nextval(regclass),
    raft_ext.entry_setval(regclass, bigint), raft_ext.entry_setval(regclass, bigint, boolean),
    raft_ext.entry_identity_nextval(oid) TO PUBLIC;

-- Every sequence's state as of this node's last applied entry, written in
-- the transaction of the entries that changed it: a sequence is put back to
-- it when the apply worker starts (a crash leaves sequences where their WAL
-- logged them ahead) and before a failed apply is retried (nextval is not
-- transactional).  Written only by the apply worker.  It starts with the
-- sequences that exist when the extension reaches this version.
CREATE TABLE raft_ext.sequence_state (
    seqrelid   oid     PRIMARY KEY,
    last_value bigint  NOT NULL,
    is_called  boolean NOT NULL
);
REVOKE ALL ON raft_ext.sequence_state FROM PUBLIC;
DO $seq$
DECLARE
    s regclass;
BEGIN
    FOR s IN SELECT c.oid::regclass FROM pg_class c
             WHERE c.relkind = 'S' AND c.relpersistence <> 't'
    LOOP
        EXECUTE format('INSERT INTO raft_ext.sequence_state SELECT %s, last_value, is_called FROM %s',
                       s::oid, s);
    END LOOP;
END
$seq$;
