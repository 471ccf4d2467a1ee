-- raft_ext--1.0--1.1.sql — update script from raft_ext 1.0 to 1.1.
--
-- 1.1's transport: each peer's Raft worker runs CALL raft_ext.deliver_stream()
-- once per connection and then sends every Raft message as one CopyData
-- message of a COPY FROM STDIN stream (src/sql_control.c), instead of one
-- SELECT raft_ext.deliver($1) per message (still there, for tests and manual
-- use).  A 1.1 library talking to a database still at 1.0 cannot start its
-- streams: run ALTER EXTENSION raft_ext UPDATE on every node, and grant the
-- procedure to the peers' role (README, "The peers' login role").

\echo Use "ALTER EXTENSION raft_ext UPDATE TO '1.1'" to load this file. \quit

CREATE PROCEDURE raft_ext.deliver_stream()
AS 'MODULE_PATHNAME', 'raft_ext_sql_deliver_stream'
LANGUAGE C;

REVOKE ALL ON PROCEDURE raft_ext.deliver_stream() FROM PUBLIC;
