-- raft_ext regression tests, part 9: what a client learns about an entry
-- that failed at apply, and what an entry leaves for the next one.

-- An error raised at apply (here at parse analysis: the raw parser cannot
-- see it) says that the statement was appended and applied, and where: its
-- log index, whose outcome row holds the same error.  (An error before
-- anything is appended has no such context line: 20_refusals.)
SELECT last_log_index AS before_index FROM raft_status \gset
SELECT * FROM raft_submit('INSERT INTO items (id, name) VALUES (1)');
\echo :LAST_ERROR_SQLSTATE
SELECT log_index - :before_index AS entries_later, sqlstate, message
FROM raft_ext.outcome WHERE log_index = (SELECT max(log_index) FROM raft_ext.outcome);

-- Nothing an entry leaves in the apply session reaches the next entry.
SELECT command_tag FROM raft_submit('CREATE SEQUENCE session_seq');
SELECT command_tag FROM raft_submit($$SELECT nextval('session_seq')$$);
SELECT * FROM raft_submit($$SELECT currval('session_seq')$$);
\echo :LAST_ERROR_SQLSTATE
SELECT command_tag FROM raft_submit($$SET myapp.leak = 'x'$$);
SELECT command_tag FROM raft_submit($$CREATE TABLE session_seen AS SELECT current_setting('myapp.leak', true) AS v$$);
SELECT v = '' AS known_and_empty FROM session_seen;
SELECT name FROM raft_ext.custom_settings ORDER BY name;

-- What the statement says (INFO, NOTICE, WARNING) reaches the client, as
-- it would for a local statement: at most 32 notices and 16 kB of text.
SELECT command_tag FROM raft_submit($q$DO $b$BEGIN RAISE NOTICE 'hello from entry'; RAISE WARNING 'careful' USING HINT = 'a hint'; END$b$$q$);
SELECT command_tag FROM raft_submit($q$DO $b$BEGIN FOR i IN 1..40 LOOP RAISE NOTICE 'notice %', i; END LOOP; END$b$$q$);
-- a long outcome (over the request slot's 4 kB) comes back whole
SELECT command_tag FROM raft_submit($q$DO $b$BEGIN FOR i IN 1..6 LOOP RAISE NOTICE '% %', i, repeat('x', 1000); END LOOP; RAISE EXCEPTION 'and then it failed'; END$b$$q$);
\echo :LAST_ERROR_SQLSTATE
