-- raft_ext--1.0.sql — install script of raft_ext 1.0.
--
-- Schema raft_ext holds the Raft state (written only by the extension's
-- background workers) and the internal entry points the peers call.  The
-- user-facing functions and views (raft_submit, raft_status, raft_peers,
-- raft_barrier, raft_transfer_leadership) go into the schema the extension
-- is created in (normally public).
--
-- Privileges: nothing is granted to PUBLIC.  pg_monitor may read the
-- status views.  See README for the GRANTs the DBA gives to applications
-- and to the peers' login role.

\echo Use "CREATE EXTENSION raft_ext" to load this file. \quit

CREATE SCHEMA raft_ext;
REVOKE ALL ON SCHEMA raft_ext FROM PUBLIC;

-- The Raft log.  type: 0 normal (payload: role, settings, SQL), 1 no-op, 2 config.
CREATE TABLE raft_ext.log (
    index   bigint   PRIMARY KEY,
    term    bigint   NOT NULL,
    type    smallint NOT NULL,
    payload bytea
);

-- Figure 2's persistent state: one row.  voted_for 0 means none.
CREATE TABLE raft_ext.hard_state (
    singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    current_term bigint  NOT NULL,
    voted_for    bigint  NOT NULL
);
INSERT INTO raft_ext.hard_state (current_term, voted_for) VALUES (0, 0);

-- The last log entry whose effects are committed on this node: one row.
CREATE TABLE raft_ext.apply_state (
    singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    last_applied bigint  NOT NULL
);
INSERT INTO raft_ext.apply_state (last_applied) VALUES (0);

-- The outcome of every applied statement entry (identical on every node).
-- sqlstate is NULL when the statement succeeded.
CREATE TABLE raft_ext.outcome (
    log_index   bigint PRIMARY KEY,
    term        bigint NOT NULL,
    command_tag text,
    rows        bigint,
    sqlstate    text,
    message     text,
    detail      text,
    hint        text
);

REVOKE ALL ON raft_ext.log, raft_ext.hard_state, raft_ext.apply_state, raft_ext.outcome FROM PUBLIC;

-- Internal entry points, called by the peers' Raft workers and backends.
CREATE FUNCTION raft_ext.deliver(message bytea)
RETURNS void
AS 'MODULE_PATHNAME', 'raft_ext_sql_deliver'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION raft_ext.forward_submit(payload bytea, timeout_ms integer,
    OUT status text, OUT log_index bigint, OUT term bigint,
    OUT command_tag text, OUT rows bigint, OUT sqlstate text,
    OUT message text, OUT detail text, OUT hint text, OUT leader_id integer)
RETURNS record
AS 'MODULE_PATHNAME', 'raft_ext_sql_forward_submit'
LANGUAGE C STRICT VOLATILE;

REVOKE ALL ON FUNCTION raft_ext.deliver(bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION raft_ext.forward_submit(bytea, integer) FROM PUBLIC;

-- Status, behind the views.
CREATE FUNCTION raft_ext.status(
    OUT node_id integer, OUT role text, OUT term bigint, OUT leader_id integer,
    OUT voted_for integer, OUT commit_index bigint, OUT last_applied bigint,
    OUT last_log_index bigint, OUT last_log_term bigint,
    OUT leader_since timestamptz, OUT worker_state text, OUT apply_worker_state text,
    OUT apply_stalled_since timestamptz, OUT apply_stalled_index bigint,
    OUT apply_retries bigint, OUT last_apply_error text,
    OUT messages_received bigint, OUT messages_dropped bigint,
    OUT messages_refused bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'raft_ext_sql_status'
LANGUAGE C VOLATILE;

CREATE FUNCTION raft_ext.peers(
    OUT node_id integer, OUT conninfo text, OUT is_self boolean,
    OUT connected boolean, OUT match_index bigint, OUT next_index bigint,
    OUT last_contact timestamptz, OUT last_contact_age interval,
    OUT messages_sent bigint, OUT messages_dropped bigint, OUT last_error text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'raft_ext_sql_peers'
LANGUAGE C VOLATILE;

REVOKE ALL ON FUNCTION raft_ext.status() FROM PUBLIC;
REVOKE ALL ON FUNCTION raft_ext.peers() FROM PUBLIC;

CREATE VIEW raft_status AS SELECT * FROM raft_ext.status();
CREATE VIEW raft_peers AS SELECT * FROM raft_ext.peers();
REVOKE ALL ON raft_status, raft_peers FROM PUBLIC;

-- The user-facing functions.
CREATE FUNCTION raft_submit(sql text)
RETURNS TABLE (log_index bigint, term bigint, command_tag text, rows bigint)
AS 'MODULE_PATHNAME', 'raft_ext_sql_submit'
LANGUAGE C VOLATILE ROWS 1;

CREATE FUNCTION raft_barrier()
RETURNS bigint
AS 'MODULE_PATHNAME', 'raft_ext_sql_barrier'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION raft_transfer_leadership(node_id integer)
RETURNS void
AS 'MODULE_PATHNAME', 'raft_ext_sql_transfer_leadership'
LANGUAGE C STRICT VOLATILE;

REVOKE ALL ON FUNCTION raft_submit(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION raft_barrier() FROM PUBLIC;
REVOKE ALL ON FUNCTION raft_transfer_leadership(integer) FROM PUBLIC;

-- Monitoring.
GRANT SELECT ON raft_status, raft_peers TO pg_monitor;
GRANT EXECUTE ON FUNCTION raft_ext.status(), raft_ext.peers() TO pg_monitor;
