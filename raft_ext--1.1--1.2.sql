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
