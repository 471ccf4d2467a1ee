-- raft_ext regression tests: an error raised while the statement runs is
-- the entry's outcome, whatever SQLSTATE the statement chose, and apply
-- moves on; a statement that runs longer than raft_ext.apply_timeout is
-- stopped, which is its outcome too (issue 14).
\set VERBOSITY terse
SELECT last_log_index AS before_index FROM raft_status \gset
-- codes that, raised by the server itself, would be failures of the node
SELECT * FROM raft_submit($q$DO $x$BEGIN RAISE EXCEPTION 'disk full, says the statement' USING ERRCODE = '53100'; END$x$$q$);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit($q$DO $x$BEGIN RAISE EXCEPTION 'serialization, says the statement' USING ERRCODE = '40001'; END$x$$q$);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit($q$DO $x$BEGIN RAISE EXCEPTION 'internal, says the statement' USING ERRCODE = 'XX000'; END$x$$q$);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit($q$DO $x$BEGIN RAISE EXCEPTION 'corrupted, says the statement' USING ERRCODE = 'XX001'; END$x$$q$);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit($q$DO $x$BEGIN RAISE EXCEPTION 'lock, says the statement' USING ERRCODE = '55P03'; END$x$$q$);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit($q$DO $x$BEGIN RAISE EXCEPTION 'cancelled, says the statement' USING ERRCODE = '57014'; END$x$$q$);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM raft_submit($q$DO $x$BEGIN RAISE EXCEPTION 'I/O, says the statement' USING ERRCODE = '58030'; END$x$$q$);
\echo :LAST_ERROR_SQLSTATE
-- a function of the statement's that raises one
SELECT command_tag FROM raft_submit($q$CREATE FUNCTION raises_53200() RETURNS int LANGUAGE plpgsql AS $f$BEGIN RAISE EXCEPTION 'out of memory, says the function' USING ERRCODE = '53200'; END$f$$q$);
SELECT * FROM raft_submit('INSERT INTO items (id, name) VALUES (raises_53200(), ''never'')');
\echo :LAST_ERROR_SQLSTATE
-- apply went on: the next entry applies, nothing is stalled
SELECT command_tag, rows FROM raft_submit('INSERT INTO items (id, name) VALUES (9501, ''after the raises'')');
SELECT apply_worker_state, apply_stalled_since IS NULL AS not_stalled FROM raft_status;
SELECT log_index - :before_index AS entry, command_tag, sqlstate, message
  FROM raft_ext.outcome WHERE log_index > :before_index ORDER BY log_index;
-- the time limit: captured at submission; the expiry is the outcome
SHOW raft_ext.apply_timeout;
SET raft_ext.apply_timeout = '300ms';
SELECT * FROM raft_submit('DO $$BEGIN LOOP END LOOP; END$$');
\echo :LAST_ERROR_SQLSTATE
RESET raft_ext.apply_timeout;
SELECT command_tag, rows FROM raft_submit('INSERT INTO items (id, name) VALUES (9502, ''after the loop'')');
SELECT sqlstate, message FROM raft_ext.outcome WHERE log_index = (SELECT max(log_index) - 1 FROM raft_ext.outcome);
SELECT apply_worker_state, apply_stalled_since IS NULL AS not_stalled FROM raft_status;
-- bad values are refused
SET raft_ext.apply_timeout = '10ms';
SET raft_ext.apply_timeout = 'soon';
\set VERBOSITY default
