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
-- leader_id (who the node thinks leads), problem (why not applied), outcome;
-- and takes the follower's absolute deadline.  Grants on the old function
-- are carried over to the new one.
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
    -- not_after: the follower's deadline (microseconds since 2000-01-01 UTC,
    -- its clock); the leader appends nothing after it
    CREATE FUNCTION raft_ext.forward_submit(payload bytea, timeout_ms integer, not_after bigint DEFAULT 0,
        OUT status text, OUT leader_id integer, OUT problem text, OUT outcome bytea)
    RETURNS record
    AS 'MODULE_PATHNAME', 'raft_ext_sql_forward_submit'
    LANGUAGE C STRICT VOLATILE;
    REVOKE ALL ON FUNCTION raft_ext.forward_submit(bytea, integer, bigint) FROM PUBLIC;
    FOREACH g IN ARRAY coalesce(grantees, '{}')
    LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION raft_ext.forward_submit(bytea, integer, bigint) TO %s', g);
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

-- Consistency checks (src/checks.c).  raft_verify() appends a check entry;
-- every node, applying it (at the same log index everywhere), checksums
-- every table of the database and has its result appended, so every node
-- records every node's result.  A checksum is "rows:sum of a 64-bit hash of
-- each row's text", which does not depend on the physical order of rows.
CREATE TABLE raft_ext.consistency_check (
    log_index  bigint      PRIMARY KEY,   -- the check entry
    checked_at timestamptz NOT NULL,      -- its stamp (the leader's clock)
    members    integer     NOT NULL       -- how many nodes were to answer
);
CREATE TABLE raft_ext.consistency (
    log_index  bigint  NOT NULL,
    node_id    integer NOT NULL,
    table_name text    NOT NULL,          -- '': a node with no table, or one that did not check
    row_count  bigint,
    checksum   text,
    problem    text,                      -- why the node did not check (table '')
    PRIMARY KEY (log_index, node_id, table_name)
);
REVOKE ALL ON raft_ext.consistency_check, raft_ext.consistency FROM PUBLIC;

-- One row per (check, table, node); consistent: every node has the table,
-- with the same checksum (NULL until every node has checked; a node that
-- could not check leaves it NULL: raft_status says why).
CREATE VIEW raft_consistency AS
WITH answered AS (
    SELECT log_index, count(DISTINCT node_id) AS nodes
    FROM raft_ext.consistency WHERE problem IS NULL GROUP BY log_index
), agreed AS (
    SELECT log_index, table_name, count(*) AS nodes, count(DISTINCT checksum) AS checksums
    FROM raft_ext.consistency WHERE table_name <> '' GROUP BY log_index, table_name
)
SELECT c.log_index, c.checked_at, r.table_name, r.node_id, r.checksum,
       CASE WHEN a.nodes < c.members THEN NULL
            ELSE g.nodes = c.members AND g.checksums = 1 END AS consistent
FROM raft_ext.consistency_check c
JOIN raft_ext.consistency r ON r.log_index = c.log_index AND r.table_name <> ''
JOIN answered a ON a.log_index = c.log_index
JOIN agreed g ON g.log_index = r.log_index AND g.table_name = r.table_name;
REVOKE ALL ON raft_consistency FROM PUBLIC;
GRANT SELECT ON raft_consistency TO pg_monitor;

-- The incarnation of the node whose Raft state these tables hold (one row,
-- written by the Raft worker; identity.c compares it with the identity
-- file in the data directory).
CREATE TABLE raft_ext.identity (
    incarnation text NOT NULL
);
REVOKE ALL ON raft_ext.identity FROM PUBLIC;

-- Entries an operator ended with raft_skip_entry(), on this node (the same
-- on every node that skipped them).
CREATE TABLE raft_ext.skipped (
    log_index  bigint PRIMARY KEY,        -- the entry skipped
    decided_at bigint NOT NULL,           -- the decision's own entry
    decided_by text   NOT NULL            -- the role that called raft_skip_entry
);
REVOKE ALL ON raft_ext.skipped FROM PUBLIC;
GRANT SELECT ON raft_ext.skipped TO pg_monitor;

CREATE FUNCTION raft_skip_entry(log_index bigint) RETURNS bigint
AS 'MODULE_PATHNAME', 'raft_ext_sql_skip_entry' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION raft_skip_entry(bigint) FROM PUBLIC;

CREATE FUNCTION raft_verify() RETURNS bigint
AS 'MODULE_PATHNAME', 'raft_ext_sql_verify' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION raft_verify() FROM PUBLIC;

-- raft_status shows the last consistency check: its entry, its time,
-- whether every node agreed, and, when not, which table on which node.
CREATE OR REPLACE VIEW raft_status AS
SELECT s.*, chk.last_check_index, chk.last_check_at, chk.last_check_consistent,
       chk.last_check_problem, sk.last_skipped_index, sk.last_skipped_by
FROM raft_ext.status() s
LEFT JOIN LATERAL (
    SELECT log_index AS last_skipped_index, decided_by AS last_skipped_by
    FROM raft_ext.skipped ORDER BY log_index DESC LIMIT 1
) sk ON true
LEFT JOIN LATERAL (
    WITH last AS (
        SELECT * FROM raft_ext.consistency_check ORDER BY log_index DESC LIMIT 1
    ), sums AS (
        SELECT r.table_name, r.checksum, count(*) AS n,
               string_agg(r.node_id::text, ', ' ORDER BY r.node_id) AS nodes
        FROM raft_ext.consistency r, last
        WHERE r.log_index = last.log_index AND r.table_name <> ''
        GROUP BY r.table_name, r.checksum
    ), majority AS (
        SELECT DISTINCT ON (table_name) table_name, checksum, n
        FROM sums ORDER BY table_name, n DESC, checksum
    ), problems AS (
        SELECT s.table_name || ' differs on node ' || s.nodes AS problem
        FROM sums s JOIN majority m USING (table_name) WHERE s.checksum <> m.checksum
        UNION ALL
        SELECT m.table_name || ' is missing on some node'
        FROM majority m, last
        WHERE (SELECT sum(n) FROM sums s WHERE s.table_name = m.table_name) < last.members
          AND (SELECT count(DISTINCT node_id) FROM raft_ext.consistency r
               WHERE r.log_index = last.log_index AND r.problem IS NULL) >= last.members
        UNION ALL
        SELECT 'node ' || r.node_id || ' ' || r.problem
        FROM raft_ext.consistency r, last
        WHERE r.log_index = last.log_index AND r.problem IS NOT NULL
    )
    SELECT last.log_index AS last_check_index, last.checked_at AS last_check_at,
           (SELECT bool_and(consistent) FROM raft_consistency rc WHERE rc.log_index = last.log_index)
               AS last_check_consistent,
           (SELECT string_agg(problem, '; ' ORDER BY problem) FROM problems) AS last_check_problem
    FROM last
) chk ON true;

-- raft_peers.regressed_from: on the leader, a follower whose log went back
-- below what it had acknowledged (it lost its state, or was restored from an
-- old backup) shows the match index it had; it is not counted for what it
-- lost.  raft_peers lists the members of the configuration the node uses now
-- (membership: voter or learner; membership_pending: that configuration's
-- entry is not committed yet; needs_snapshot, on the leader: entries it lacks
-- were compacted away).  (Grants made on raft_peers by hand must be made
-- again.)
DROP VIEW raft_peers;
DROP FUNCTION raft_ext.peers();
CREATE FUNCTION raft_ext.peers(
    OUT node_id integer, OUT conninfo text, OUT is_self boolean,
    OUT connected boolean, OUT match_index bigint, OUT next_index bigint,
    OUT last_contact timestamptz, OUT last_contact_age interval,
    OUT messages_sent bigint, OUT messages_dropped bigint, OUT last_error text,
    OUT regressed_from bigint, OUT membership text, OUT membership_pending boolean,
    OUT needs_snapshot boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'raft_ext_sql_peers'
LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION raft_ext.peers() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION raft_ext.peers() TO pg_monitor;
CREATE VIEW raft_peers AS SELECT * FROM raft_ext.peers();
REVOKE ALL ON raft_peers FROM PUBLIC;
GRANT SELECT ON raft_peers TO pg_monitor;

-- raft_submit with parameters: $1 .. $n are bound on every node with the
-- caller's values and types (src/params.c), never spliced into the text.
-- Whoever may call raft_submit(text) may call this one too (the grant is carried over below).
CREATE FUNCTION raft_submit(sql text, VARIADIC params "any")
RETURNS TABLE (log_index bigint, term bigint, command_tag text, rows bigint)
AS 'MODULE_PATHNAME', 'raft_ext_sql_submit'
LANGUAGE C VOLATILE ROWS 1;
REVOKE ALL ON FUNCTION raft_submit(text, "any") FROM PUBLIC;

-- raft_query: the rows a statement returns (RETURNING, or a SELECT run as
-- an entry), as applied: SELECT * FROM raft_query('INSERT ... RETURNING id', ...) AS r(id int).
-- Whoever may call raft_submit(text) may call it (the grant is carried over below).
CREATE FUNCTION raft_query(sql text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'raft_ext_sql_query'
LANGUAGE C VOLATILE;
CREATE FUNCTION raft_query(sql text, VARIADIC params "any")
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'raft_ext_sql_query'
LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION raft_query(text), raft_query(text, "any") FROM PUBLIC;

-- Idempotent submission: an entry carrying a request id already applied
-- (within raft_ext.request_id_retention, by the entries' stamps) is not
-- applied again; its caller gets the original outcome.  (request_id first:
-- a positional argument after sql would be taken for a parameter.)
CREATE TABLE raft_ext.request_ids (
    request_id text PRIMARY KEY,
    log_index  bigint NOT NULL,           -- the entry that applied it
    applied_at timestamptz NOT NULL       -- that entry's stamp
);
CREATE INDEX request_ids_applied_at ON raft_ext.request_ids (applied_at);
REVOKE ALL ON raft_ext.request_ids FROM PUBLIC;

CREATE FUNCTION raft_submit_once(request_id text, sql text)
RETURNS TABLE (log_index bigint, term bigint, command_tag text, rows bigint)
AS 'MODULE_PATHNAME', 'raft_ext_sql_submit_once'
LANGUAGE C VOLATILE ROWS 1;
CREATE FUNCTION raft_submit_once(request_id text, sql text, VARIADIC params "any")
RETURNS TABLE (log_index bigint, term bigint, command_tag text, rows bigint)
AS 'MODULE_PATHNAME', 'raft_ext_sql_submit_once'
LANGUAGE C VOLATILE ROWS 1;
CREATE FUNCTION raft_query_once(request_id text, sql text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'raft_ext_sql_query_once'
LANGUAGE C VOLATILE;
CREATE FUNCTION raft_query_once(request_id text, sql text, VARIADIC params "any")
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'raft_ext_sql_query_once'
LANGUAGE C VOLATILE;

-- An entry's outcome, by log index or by request id, without knowing the
-- tables (what raft_submit returned or raised, as recorded on this node).
CREATE FUNCTION raft_outcome(log_index bigint,
    OUT log_index bigint, OUT term bigint, OUT command_tag text, OUT rows bigint,
    OUT sqlstate text, OUT message text, OUT detail text, OUT hint text)
RETURNS SETOF record
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT o.log_index, o.term, o.command_tag, o.rows, o.sqlstate, o.message, o.detail, o.hint
    FROM raft_ext.outcome o WHERE o.log_index = $1
$$;
CREATE FUNCTION raft_outcome(request_id text,
    OUT log_index bigint, OUT term bigint, OUT command_tag text, OUT rows bigint,
    OUT sqlstate text, OUT message text, OUT detail text, OUT hint text)
RETURNS SETOF record
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT o.log_index, o.term, o.command_tag, o.rows, o.sqlstate, o.message, o.detail, o.hint
    FROM raft_ext.request_ids r JOIN raft_ext.outcome o ON o.log_index = r.log_index
    WHERE r.request_id = $1
$$;
REVOKE ALL ON FUNCTION raft_submit_once(text, text), raft_submit_once(text, text, "any"),
    raft_query_once(text, text), raft_query_once(text, text, "any"),
    raft_outcome(bigint), raft_outcome(text) FROM PUBLIC;
-- Whoever may call raft_submit(text) may call every function added with 1.2
-- that submits or looks up entries: the same grant, carried over once.
DO $grants$
DECLARE
    g text;
BEGIN
    FOR g IN
        SELECT DISTINCT a.grantee::regrole::text
          FROM pg_proc p, aclexplode(p.proacl) a
         WHERE p.oid = 'raft_submit(text)'::regprocedure
           AND a.privilege_type = 'EXECUTE' AND a.grantee <> 0 AND a.grantee <> p.proowner
    LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION raft_submit(text, "any"), raft_query(text), raft_query(text, "any"), '
                       'raft_submit_once(text, text), raft_submit_once(text, text, "any"), '
                       'raft_query_once(text, text), raft_query_once(text, text, "any"), '
                       'raft_outcome(bigint), raft_outcome(text) TO %s', g);
    END LOOP;
END
$grants$;

-- A bounded log (issue 15, src/compaction.c): entries up to log_start_index
-- were removed from raft_ext.log (applied here, held by every member);
-- log_start_term is that entry's term, which the Raft worker starts from.
ALTER TABLE raft_ext.apply_state
    ADD COLUMN log_start_index bigint NOT NULL DEFAULT 0,
    ADD COLUMN log_start_term  bigint NOT NULL DEFAULT 0;

-- Outcomes are kept for raft_ext.outcome_retention (src/compaction.c): each
-- row carries its entry's stamp, the leader's clock at submission (NULL for
-- rows recorded before 1.2; they go with the first older rows after them).
ALTER TABLE raft_ext.outcome ADD COLUMN applied_at timestamptz;

-- Membership through the log (issue 15, src/membership.c).  raft_ext.members
-- is the last configuration applied on this node (config_index: its entry),
-- replaced in the apply transaction of every configuration entry; the node
-- restarts from it.  Empty until the first change: raft_ext.peers is then the
-- configuration (the bootstrap configuration of a new cluster).
CREATE TABLE raft_ext.members (
    node_id  integer PRIMARY KEY,
    voter    boolean NOT NULL,           -- false: a learner
    conninfo text    NOT NULL            -- how the members reach it
);
REVOKE ALL ON raft_ext.members FROM PUBLIC;
ALTER TABLE raft_ext.apply_state ADD COLUMN config_index bigint NOT NULL DEFAULT 0;

-- Add a server (as a learner; the leader promotes it to voter once it has
-- caught up) or remove one, through the log; callable on any node,
-- forwarded to the leader; each returns its configuration entry's index once
-- applied on this node.
CREATE FUNCTION raft_add_node(node_id integer, conninfo text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'raft_ext_sql_add_node'
LANGUAGE C VOLATILE;
CREATE FUNCTION raft_remove_node(node_id integer)
RETURNS bigint
AS 'MODULE_PATHNAME', 'raft_ext_sql_remove_node'
LANGUAGE C VOLATILE;
-- A majority lost for good: make this node the only voter (superuser only,
-- checked inside; README, "Losing a majority for good").
CREATE FUNCTION raft_force_single_node()
RETURNS bigint
AS 'MODULE_PATHNAME', 'raft_ext_sql_force_single_node'
LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION raft_add_node(integer, text), raft_remove_node(integer),
    raft_force_single_node() FROM PUBLIC;
-- Whoever may transfer leadership may change the membership: the same grant.
DO $grants$
DECLARE
    g text;
BEGIN
    FOR g IN
        SELECT DISTINCT a.grantee::regrole::text
          FROM pg_proc p, aclexplode(p.proacl) a
         WHERE p.oid = 'raft_transfer_leadership(integer)'::regprocedure
           AND a.privilege_type = 'EXECUTE' AND a.grantee <> 0 AND a.grantee <> p.proowner
    LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION raft_add_node(integer, text), raft_remove_node(integer) TO %s', g);
    END LOOP;
END
$grants$;

-- Snapshots installed online (issue 15, src/snapshot.c): replace this
-- node's replicated database with a copy of a member's (NULL: the leader)
-- taken at its applied index, and return that index (superuser only,
-- checked inside).
CREATE FUNCTION raft_install_snapshot(from_node integer DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'raft_ext_sql_install_snapshot'
LANGUAGE C VOLATILE CALLED ON NULL INPUT;
REVOKE ALL ON FUNCTION raft_install_snapshot(integer) FROM PUBLIC;
