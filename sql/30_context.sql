-- raft_ext regression tests, part 3: the session context travels with the
-- statement (search_path, TimeZone, DateStyle), and nothing a statement
-- SETs leaks into the next one.
SELECT command_tag FROM raft_submit('CREATE SCHEMA ctx');
SET search_path = ctx, public;
SELECT command_tag FROM raft_submit('CREATE TABLE in_ctx (t timestamptz, d date)');
RESET search_path;
SELECT schemaname FROM pg_tables WHERE tablename = 'in_ctx';

SET TimeZone = 'America/New_York';
SET DateStyle = 'ISO, DMY';
SELECT command_tag, rows FROM raft_submit($$INSERT INTO ctx.in_ctx VALUES ('2024-01-01 12:00', '02/03/2024')$$);
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, MDY';
SELECT command_tag, rows FROM raft_submit($$INSERT INTO ctx.in_ctx VALUES ('2024-01-01 12:00', '02/03/2024')$$);
SELECT t, d FROM ctx.in_ctx ORDER BY t;
RESET TimeZone;
RESET DateStyle;

-- SET inside a statement lasts for that statement only
SELECT command_tag FROM raft_submit($$SET search_path = nowhere; CREATE TABLE public.set_test (s text DEFAULT current_setting('search_path'))$$);
SELECT command_tag FROM raft_submit('INSERT INTO public.set_test DEFAULT VALUES');
SELECT s FROM public.set_test;

-- string literal syntax travels too
SELECT command_tag FROM raft_submit('CREATE TABLE ctx.strs (s text)');
SET escape_string_warning = off;
SET standard_conforming_strings = off;
SELECT command_tag FROM raft_submit($$INSERT INTO ctx.strs VALUES ('off: a\\b')$$);
RESET standard_conforming_strings;
SELECT command_tag FROM raft_submit($$INSERT INTO ctx.strs VALUES ('on: a\\b')$$);
RESET escape_string_warning;
SELECT s FROM ctx.strs ORDER BY s;
