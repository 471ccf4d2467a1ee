-- raft_ext regression tests, part 4: privileges.  A statement runs as the
-- role that submitted it, never as a superuser on its behalf.
CREATE ROLE regress_raft_nobody;
CREATE ROLE regress_raft_app;

-- nothing is granted to PUBLIC
SET ROLE regress_raft_nobody;
SELECT * FROM raft_submit('SELECT 1');
\echo :LAST_ERROR_SQLSTATE
SELECT raft_ext.deliver('\x00'::bytea);
\echo :LAST_ERROR_SQLSTATE
CALL raft_ext.deliver_stream();
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_ext.forward_submit('\x00'::bytea, 1000);
\echo :LAST_ERROR_SQLSTATE
SELECT raft_barrier();
\echo :LAST_ERROR_SQLSTATE
SELECT raft_transfer_leadership(1);
\echo :LAST_ERROR_SQLSTATE
SELECT role FROM raft_status;
\echo :LAST_ERROR_SQLSTATE
SELECT node_id FROM raft_peers;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_ext.log;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- pg_monitor may read the status views
GRANT pg_monitor TO regress_raft_nobody;
SET ROLE regress_raft_nobody;
SELECT role FROM raft_status;
SELECT node_id, is_self FROM raft_peers;
RESET ROLE;

-- a granted role submits; its statements run as itself.  (The grant itself
-- goes through the log: a local GRANT is refused by the write guard.)
GRANT EXECUTE ON FUNCTION raft_submit(text) TO regress_raft_app;
\echo :LAST_ERROR_SQLSTATE
SELECT command_tag FROM raft_submit('GRANT EXECUTE ON FUNCTION raft_submit(text) TO regress_raft_app');
SELECT command_tag FROM raft_submit('CREATE TABLE owned_by_admin (v text)');
SET ROLE regress_raft_app;
SELECT * FROM raft_submit($$INSERT INTO owned_by_admin VALUES ('sneaky')$$);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit('CREATE TABLE public.app_table (v text)');
\echo :LAST_ERROR_SQLSTATE
-- no way back to the superuser from inside a statement
SELECT * FROM raft_submit($$SET LOCAL ROLE regress_raft_nobody; INSERT INTO owned_by_admin VALUES ('sneaky')$$);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit('RESET ROLE');
\echo :LAST_ERROR_SQLSTATE
-- (refused before append; from inside a function PostgreSQL refuses it at apply)
SELECT * FROM raft_submit($$SELECT set_config('role', 'regress_raft_nobody', true)$$);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit($q$DO $b$BEGIN RESET ROLE; INSERT INTO owned_by_admin VALUES ('sneaky'); END$b$$q$);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT count(*) AS sneaky_rows FROM owned_by_admin;

SELECT command_tag FROM raft_submit('CREATE SCHEMA app_schema AUTHORIZATION regress_raft_app');
SET ROLE regress_raft_app;
SELECT command_tag, rows FROM raft_submit($$CREATE TABLE app_schema.mine (who text, su boolean); INSERT INTO app_schema.mine SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user$$);
RESET ROLE;
SELECT tableowner FROM pg_tables WHERE schemaname = 'app_schema';
SELECT who, su FROM app_schema.mine;

-- outcomes of refused statements are recorded like any other
SELECT sqlstate, message FROM raft_ext.outcome WHERE sqlstate = '42501' ORDER BY log_index;
