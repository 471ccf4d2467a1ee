/*
 * snapshot.c — a snapshot installed online, inside the running server (see
 * snapshot.h for who does what).
 *
 * The copy is what logical replication's table synchronisation and pg_dump
 * do, together: a libpq connection to the member (the address and
 * credentials the Raft worker uses for it) opens a REPEATABLE READ
 * transaction, reads in it the member's applied index (raft_ext.apply_state
 * is written in the transaction of the entries it counts, so the snapshot
 * holds exactly the entries up to it) and exports it; pg_dump, run at that
 * exported snapshot, gives the schema (pre-data and post-data sections);
 * COPY ... TO STDOUT on the same connection gives every table's rows, fed
 * to CopyFrom here.  Locally, in ONE transaction: every user object is
 * dropped (extension members excepted), the pre-data section is run, the
 * rows are copied in, sequences are set to the member's recorded state,
 * raft_ext's replicated tables (outcomes, request ids, ...) are replaced,
 * the post-data section (indexes, constraints, triggers) is run, and
 * raft_ext.apply_state says the new applied index.  A failure or a crash
 * anywhere leaves the node as it was.
 *
 * Two cases at commit:
 *   - the copy's index is in this node's log, committed and durable here (a
 *     node repaired with raft_install_snapshot()): only the tables change;
 *     the apply worker then applies the entries after it from the log;
 *   - it is past what the log holds (the leader compacted what this node
 *     lacks): the same transaction makes it the log's new start and deletes
 *     the entries up to it; the Raft worker then tells the core
 *     (raft_snapshot_installed) and drops the rest of its stored log.  The
 *     core's condition for that case is checked: the member copied from
 *     was in a term no higher than this node's;
 *   - the node's Raft state was lost (identity.c refuses to run it): the
 *     copy takes the member's Raft state too, and the Raft worker restarts
 *     and adopts it as it adopts a physical copy (raft_snapshot_take_raft_state).
 *
 * Locking: raft_shared->snapshot under raft_shared->mutex (spinlock: only
 * copies inside); the Raft fields of the status under status_lock, shared.
 * Never both at once.
 */
#include "postgres.h"

#include <unistd.h>

#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/copy.h"
#include "executor/spi.h"
#include "libpq-fe.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_node.h"
#include "parser/parse_relation.h"
#include "pgstat.h"
#include "storage/fd.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "config.h"
#include "membership.h"
#include "remote.h"
#include "shmem.h"
#include "snapshot.h"
#include "storage.h"
#include "workers.h"

bool		raft_ext_auto_snapshot = true;

/* A member that sends nothing for this long is given up on. */
#define RAFT_SNAPSHOT_STALL_MS	60000
/* After a failed automatic install, the next one waits this long. */
#define RAFT_SNAPSHOT_RETRY_MS	5000

/*
 * raft_ext's tables whose rows every node writes alike when it applies an
 * entry: they belong to the replicated state and are copied with it.
 */
static const char *const raft_snapshot_state_tables[] = {
	"outcome", "request_ids", "skipped", "custom_settings",
	"consistency_check", "consistency", "members"
};

/* The copy's connection and the COPY being read (CopyFrom's callback has no argument). */
static PGconn *raft_snapshot_conn = NULL;
static int	raft_snapshot_source = 0;
static char *raft_snapshot_buf = NULL;
static int	raft_snapshot_buf_len = 0;
static int	raft_snapshot_buf_pos = 0;
static bool raft_snapshot_copy_done = false;
static uint64 raft_snapshot_bytes = 0;
/* the member's catalog answers, kept for the whole copy */
static PGresult *raft_snapshot_res_tables = NULL;
static PGresult *raft_snapshot_res_sequences = NULL;
static PGresult *raft_snapshot_res_state = NULL;

typedef struct RaftSnapshotJob
{
	int			from_node;
	uint64		min_index;
} RaftSnapshotJob;

static void
raft_snapshot_disconnect(void)
{
	if (raft_snapshot_buf != NULL)
		PQfreemem(raft_snapshot_buf);
	raft_snapshot_buf = NULL;
	PQclear(raft_snapshot_res_tables);
	PQclear(raft_snapshot_res_sequences);
	PQclear(raft_snapshot_res_state);
	raft_snapshot_res_tables = raft_snapshot_res_sequences = raft_snapshot_res_state = NULL;
	if (raft_snapshot_conn != NULL)
		PQfinish(raft_snapshot_conn);
	raft_snapshot_conn = NULL;
}

static void
raft_snapshot_remote_error(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_CONNECTION_FAILURE),
			 errmsg("raft_ext: snapshot from node %d: %s: %s", raft_snapshot_source, what,
					raft_remote_errmsg(raft_snapshot_conn))));
}

static void
raft_snapshot_wait(int io)
{
	if (!raft_remote_wait(raft_snapshot_conn, io,
						  TimestampTzPlusMilliseconds(GetCurrentTimestamp(), RAFT_SNAPSHOT_STALL_MS)) ||
		(io == WL_SOCKET_READABLE && !PQconsumeInput(raft_snapshot_conn)))
		raft_snapshot_remote_error("the connection failed or stayed silent");
}

static void
raft_snapshot_send(const char *sql)
{
	int			rc;

	if (!PQsendQuery(raft_snapshot_conn, sql))
		raft_snapshot_remote_error("could not send a query");
	while ((rc = PQflush(raft_snapshot_conn)) > 0)
		raft_snapshot_wait(WL_SOCKET_WRITEABLE);
	if (rc < 0)
		raft_snapshot_remote_error("could not send a query");
}

/*
 * Collect a query's results, waiting interruptibly.  Returns the last one
 * (the caller clears it); a result that is not `expect` (or an error before
 * it) throws.  PGRES_COPY_OUT is returned at once: the rows are read by
 * raft_snapshot_copy_read, then the COPY's own result is collected.
 */
static PGresult *
raft_snapshot_collect(const char *sql, ExecStatusType expect)
{
	PGresult   *last = NULL;

	for (;;)
	{
		PGresult   *res;
		ExecStatusType st;

		while (PQisBusy(raft_snapshot_conn))
			raft_snapshot_wait(WL_SOCKET_READABLE);
		res = PQgetResult(raft_snapshot_conn);
		if (res == NULL)
			break;
		st = PQresultStatus(res);
		if (last)
			PQclear(last);
		last = res;
		if (st == PGRES_COPY_OUT)
			break;
		if (st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE)
		{
			char	   *msg = pstrdup(PQresultErrorMessage(res));
			const char *code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
			int			sqlstate = ERRCODE_CONNECTION_FAILURE;
			int			len = strlen(msg);

			while (len > 0 && msg[len - 1] == '\n')
				msg[--len] = '\0';
			if (code != NULL && strlen(code) == 5)
				sqlstate = MAKE_SQLSTATE(code[0], code[1], code[2], code[3], code[4]);
			PQclear(res);
			ereport(ERROR,
					(errcode(sqlstate),
					 errmsg("raft_ext: snapshot from node %d: %s", raft_snapshot_source, msg),
					 errdetail("The query was: %s", sql)));
		}
	}
	if (last == NULL || PQresultStatus(last) != expect)
	{
		if (last)
			PQclear(last);
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("raft_ext: snapshot from node %d: unexpected answer to: %s",
						raft_snapshot_source, sql)));
	}
	return last;
}

static PGresult *
raft_snapshot_exec(const char *sql, ExecStatusType expect)
{
	raft_snapshot_send(sql);
	return raft_snapshot_collect(sql, expect);
}

/* CopyFrom's data source: the rows of the COPY TO STDOUT in progress. */
static int
raft_snapshot_copy_read(void *outbuf, int minread, int maxread)
{
	int			got = 0;

	while (got < minread)
	{
		int			n;

		if (raft_snapshot_buf_pos < raft_snapshot_buf_len)
		{
			n = Min(raft_snapshot_buf_len - raft_snapshot_buf_pos, maxread - got);
			memcpy((char *) outbuf + got, raft_snapshot_buf + raft_snapshot_buf_pos, n);
			raft_snapshot_buf_pos += n;
			got += n;
			continue;
		}
		if (raft_snapshot_copy_done)
			break;
		if (raft_snapshot_buf != NULL)
			PQfreemem(raft_snapshot_buf);
		raft_snapshot_buf = NULL;
		raft_snapshot_buf_len = raft_snapshot_buf_pos = 0;
		n = PQgetCopyData(raft_snapshot_conn, &raft_snapshot_buf, 1);
		if (n > 0)
		{
			raft_snapshot_buf_len = n;
			raft_snapshot_bytes += n;
		}
		else if (n == 0)
			raft_snapshot_wait(WL_SOCKET_READABLE);
		else if (n == -1)
			raft_snapshot_copy_done = true;
		else
			raft_snapshot_remote_error("the copy failed");
		CHECK_FOR_INTERRUPTS();
	}
	return got;
}

/* Copy one table: COPY TO STDOUT there, CopyFrom here. */
static uint64
raft_snapshot_copy_table(const char *nspname, const char *relname)
{
	char	   *qualified = quote_qualified_identifier(nspname, relname);
	PGresult   *res;
	Relation	rel;
	ParseState *pstate;
	CopyFromState cstate;
	List	   *options;
	uint64		rows;

	res = raft_snapshot_exec(psprintf("COPY %s TO STDOUT", qualified), PGRES_COPY_OUT);
	PQclear(res);
	raft_snapshot_copy_done = false;
	raft_snapshot_buf_len = raft_snapshot_buf_pos = 0;

	/* the tables the previous statements made must be visible */
	CommandCounterIncrement();
	PushActiveSnapshot(GetTransactionSnapshot());
	rel = table_openrv(makeRangeVar(pstrdup(nspname), pstrdup(relname), -1), RowExclusiveLock);
	pstate = make_parsestate(NULL);
	(void) addRangeTableEntryForRelation(pstate, rel, RowExclusiveLock, NULL, false, false);
	options = list_make1(makeDefElem("encoding",
									 (Node *) makeString(pstrdup(GetDatabaseEncodingName())), -1));
	cstate = BeginCopyFrom(pstate, rel, NULL, NULL, false, raft_snapshot_copy_read, NIL, options);
	rows = CopyFrom(cstate);
	EndCopyFrom(cstate);
	table_close(rel, NoLock);
	PopActiveSnapshot();

	/* CopyFrom stops at the end of the data; the COPY's own result follows */
	if (!raft_snapshot_copy_done)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("raft_ext: snapshot from node %d: the copy of %s ended early",
						raft_snapshot_source, qualified)));
	PQclear(raft_snapshot_collect("COPY", PGRES_COMMAND_OK));
	return rows;
}

/* s in single quotes for /bin/sh */
static void
raft_snapshot_shell_quote(StringInfo buf, const char *s)
{
	appendStringInfoChar(buf, '\'');
	for (; *s; s++)
	{
		if (*s == '\'')
			appendStringInfoString(buf, "'\\''");
		else
			appendStringInfoChar(buf, *s);
	}
	appendStringInfoChar(buf, '\'');
}

/*
 * One section of the member's schema, by pg_dump at the exported snapshot,
 * as SQL that SPI can run: the \restrict and \unrestrict lines around it
 * (psql meta-commands) are dropped.  pg_dump's output is read through the
 * latch, so that the wait can be interrupted.
 */
static char *
raft_snapshot_pg_dump(const char *conninfo, const char *snapshot, const char *section)
{
	char		pg_dump[MAXPGPATH];
	char	   *errfile;
	StringInfoData cmd;
	StringInfoData out;
	StringInfoData sql;
	FILE	   *fh;
	int			rc;
	char	   *line;

	if (find_other_exec(my_exec_path, "pg_dump", "pg_dump (PostgreSQL) " PG_VERSION "\n", pg_dump) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FILE),
				 errmsg("raft_ext: pg_dump %s was not found next to %s", PG_VERSION, my_exec_path),
				 errhint("Install the PostgreSQL client programs of the server's version (on Debian: postgresql-client-%d).",
						 PG_VERSION_NUM / 10000)));
	errfile = psprintf("%s/%s/raft_ext_snapshot_%d.err", DataDir, PG_STAT_TMP_DIR, MyProcPid);

	initStringInfo(&cmd);
	/* a member whose reads default to linearizable refuses REPEATABLE READ */
	appendStringInfo(&cmd, "PGOPTIONS='-c raft_ext.read_consistency=local' PGAPPNAME='raft_ext snapshot' exec ");
	raft_snapshot_shell_quote(&cmd, pg_dump);
	appendStringInfo(&cmd, " --section=%s --snapshot=", section);
	raft_snapshot_shell_quote(&cmd, snapshot);
	appendStringInfoString(&cmd, " --no-password --exclude-schema=raft_ext --no-tablespaces --no-publications"
						   " --no-subscriptions --lock-wait-timeout=60000 --dbname=");
	raft_snapshot_shell_quote(&cmd, conninfo);
	appendStringInfoString(&cmd, " 2>");
	raft_snapshot_shell_quote(&cmd, errfile);

	fh = OpenPipeStream(cmd.data, "r");
	if (fh == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("raft_ext: could not run pg_dump: %m")));
	initStringInfo(&out);
	for (;;)
	{
		char		buf[65536];
		ssize_t		n;

		(void) WaitLatchOrSocket(MyLatch, WL_LATCH_SET | WL_SOCKET_READABLE | WL_EXIT_ON_PM_DEATH,
								 fileno(fh), -1L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		n = read(fileno(fh), buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("raft_ext: could not read pg_dump's output: %m")));
		if (n == 0)
			break;
		appendBinaryStringInfo(&out, buf, n);
	}
	rc = ClosePipeStream(fh);
	if (rc != 0)
	{
		StringInfoData err;
		FILE	   *ef = AllocateFile(errfile, "r");

		initStringInfo(&err);
		if (ef != NULL)
		{
			char		buf[1024];
			size_t		n;

			while ((n = fread(buf, 1, sizeof(buf), ef)) > 0 && err.len < 4096)
				appendBinaryStringInfo(&err, buf, n);
			FreeFile(ef);
		}
		unlink(errfile);
		while (err.len > 0 && err.data[err.len - 1] == '\n')
			err.data[--err.len] = '\0';
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("raft_ext: snapshot from node %d: pg_dump failed (%s): %s",
						raft_snapshot_source, wait_result_to_str(rc), err.data)));
	}
	unlink(errfile);

	/* everything but the meta-commands pg_dump puts around the script */
	initStringInfo(&sql);
	line = out.data;
	while (*line)
	{
		char	   *end = strchr(line, '\n');
		int			len = end ? (int) (end - line + 1) : (int) strlen(line);

		if (strncmp(line, "\\restrict ", 10) != 0 && strncmp(line, "\\unrestrict ", 12) != 0)
			appendBinaryStringInfo(&sql, line, len);
		line += len;
	}
	pfree(out.data);
	return sql.data;
}

/*
 * Drop every user object of this database: the schemas but pg_catalog,
 * information_schema, raft_ext and the one raft_ext's functions are in
 * (public, normally), whole; in those two kept, every table, view,
 * sequence, routine and type that no extension owns.
 */
static void
raft_snapshot_drop_local(void)
{
	static const char *const lists[] = {
		"SELECT pg_catalog.format('DROP SCHEMA %I CASCADE', n.nspname) "
		"FROM pg_catalog.pg_namespace n "
		"WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'raft_ext') "
		"AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)' "
		"AND n.oid NOT IN (SELECT e.extnamespace FROM pg_catalog.pg_extension e WHERE e.extname = 'raft_ext') "
		"AND n.nspname <> 'public'",

		"SELECT pg_catalog.format('DROP %s IF EXISTS %s CASCADE', "
		"CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE' "
		"WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'c' THEN 'TYPE' ELSE 'TABLE' END, c.oid::pg_catalog.regclass) "
		"FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
		"WHERE (n.nspname = 'public' OR n.oid IN (SELECT e.extnamespace FROM pg_catalog.pg_extension e WHERE e.extname = 'raft_ext')) "
		"AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c') AND NOT c.relispartition "
		"AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass "
		"AND d.objid = c.oid AND d.deptype IN ('e', 'a', 'i'))",

		"SELECT pg_catalog.format('DROP %s IF EXISTS %s CASCADE', CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, "
		"t.oid::pg_catalog.regtype) "
		"FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace "
		"WHERE (n.nspname = 'public' OR n.oid IN (SELECT e.extnamespace FROM pg_catalog.pg_extension e WHERE e.extname = 'raft_ext')) "
		"AND t.typtype IN ('b', 'd', 'e', 'r') "
		"AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type a WHERE a.typarray = t.oid) "
		"AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_type'::pg_catalog.regclass "
		"AND d.objid = t.oid AND d.deptype = 'e')",

		"SELECT pg_catalog.format('DROP ROUTINE IF EXISTS %s CASCADE', p.oid::pg_catalog.regprocedure) "
		"FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace "
		"WHERE (n.nspname = 'public' OR n.oid IN (SELECT e.extnamespace FROM pg_catalog.pg_extension e WHERE e.extname = 'raft_ext')) "
		"AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass "
		"AND d.objid = p.oid AND d.deptype IN ('e', 'i'))"
	};
	int			l;

	for (l = 0; l < lengthof(lists); l++)
	{
		List	   *drops = NIL;
		ListCell   *lc;
		uint64		i;

		/* the names, qualified, before any of them is dropped */
		if (SPI_execute(lists[l], true, 0) != SPI_OK_SELECT)
			elog(ERROR, "raft_ext: could not list this node's objects");
		for (i = 0; i < SPI_processed; i++)
			drops = lappend(drops, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
		foreach(lc, drops)
			if (SPI_execute((const char *) lfirst(lc), false, 0) != SPI_OK_UTILITY)
				elog(ERROR, "raft_ext: could not run: %s", (const char *) lfirst(lc));
	}
}

static char *
raft_snapshot_value(PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : pstrdup(PQgetvalue(res, row, col));
}

static uint64
raft_snapshot_u64(PGresult *res, int row, int col)
{
	char	   *v = raft_snapshot_value(res, row, col);

	return v ? (uint64) pg_strtoint64(v) : 0;
}

/* The member to copy: job->from_node, else the leader. */
static int
raft_snapshot_pick_source(const RaftSnapshotJob *job, char **conninfo)
{
	int			from = job->from_node;

	if (from == 0)
	{
		LWLockAcquire(raft_shared->status_lock, LW_SHARED);
		from = raft_shared->status.leader_id;
		LWLockRelease(raft_shared->status_lock);
		if (from == 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("raft_ext: no leader is known to copy a snapshot from"),
					 errhint("Wait for a leader (raft_status.leader_id), or name the member to copy.")));
		if (from == raft_ext_node_id)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("raft_ext: node %d is the leader: it has no one to copy a snapshot from", from),
					 errhint("Name the member to copy, or call it on the node to repair.")));
	}
	*conninfo = raft_members_conninfo(from, NULL);
	if (*conninfo == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("raft_ext: node %d is not a member this node knows how to reach", from)));
	return from;
}

/*
 * A node whose Raft state was lost (identity.c: its extension re-created,
 * its tables gone back) takes part in nothing, so nothing of its own Raft
 * state is worth keeping: it takes the member's as well — its term, vote
 * and incarnation, an empty log after the copy — exactly what a physical
 * copy of that member would give it.  Its Raft worker, restarted, then
 * adopts that state as it adopts a physical copy: with a vote floor at the
 * highest term this node ever reached (its identity file), so it cannot
 * vote twice in a term it voted in before it broke.
 */
static void
raft_snapshot_take_raft_state(uint64 term, uint64 voted_for, const char *incarnation)
{
	Oid			types[2] = {INT8OID, INT8OID};
	Datum		values[2] = {Int64GetDatum((int64) term), Int64GetDatum((int64) voted_for)};

	if (SPI_execute("DELETE FROM raft_ext.log", false, 0) != SPI_OK_DELETE ||
		SPI_execute_with_args("UPDATE raft_ext.hard_state SET current_term = $1, voted_for = $2",
							  2, types, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "raft_ext: could not take the member's Raft state");
	if (incarnation != NULL)
		raft_storage_write_incarnation(incarnation);
}

/*
 * Install a copy of a member's replicated database (see the file header).
 * *restart_log: the copy is past this node's log, which now starts after
 * it.  Throws on any failure, leaving everything as it was.
 */
static void
raft_snapshot_install(const RaftSnapshotJob *job, uint64 *index_out, uint64 *term_out,
					  bool *restart_log)
{
	TimestampTz started = GetCurrentTimestamp();
	char	   *conninfo;
	char	   *error = NULL;
	PGresult   *res;
	char	   *snapshot;
	uint64		index;
	uint64		term;
	uint64		config_index;
	uint64		source_term;
	uint64		source_vote;
	char	   *source_incarnation;
	uint64		my_term;
	bool		lost;
	uint64		log_start;
	uint64		target;
	char	   *pre_data;
	char	   *post_data;
	PGresult   *tables;
	PGresult   *sequences;
	PGresult   *state_tables;
	int			i;
	int			ntables;
	uint64		rows = 0;

	raft_snapshot_source = raft_snapshot_pick_source(job, &conninfo);
	pgstat_report_activity(STATE_RUNNING, psprintf("raft_ext: installing a snapshot of node %d: connecting", raft_snapshot_source));
	raft_snapshot_conn = raft_remote_connect(conninfo, "raft_ext snapshot",
											 TimestampTzPlusMilliseconds(started, RAFT_SNAPSHOT_STALL_MS),
											 &error);
	if (raft_snapshot_conn == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("raft_ext: could not connect to node %d to copy a snapshot: %s",
						raft_snapshot_source, error)));
	raft_snapshot_bytes = 0;
	/* from here, pg_dump's pipe and the local changes go with the transaction */
	raft_xact_begin();

	/*
	 * One snapshot for everything read there; rows in the text format of
	 * fixed settings, which this side parses with the same ones.
	 */
	PQclear(raft_snapshot_exec("SET datestyle = ISO; SET intervalstyle = postgres; "
							   "SET extra_float_digits = 3; SET bytea_output = hex; "
							   "SET row_security = off; SET statement_timeout = 0; "
							   "SET idle_in_transaction_session_timeout = 0; "
							   "SET raft_ext.read_consistency = local; "
							   "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
							   PGRES_COMMAND_OK));
	res = raft_snapshot_exec("SELECT pg_catalog.pg_export_snapshot(), a.last_applied, a.config_index, "
							 "CASE WHEN a.last_applied = a.log_start_index THEN a.log_start_term ELSE l.term END, "
							 "h.current_term, h.voted_for, (SELECT i.incarnation FROM raft_ext.identity i LIMIT 1) "
							 "FROM raft_ext.apply_state a CROSS JOIN raft_ext.hard_state h "
							 "LEFT JOIN raft_ext.log l ON l.index = a.last_applied",
							 PGRES_TUPLES_OK);
	if (PQntuples(res) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("raft_ext: node %d has no applied state to copy", raft_snapshot_source)));
	snapshot = raft_snapshot_value(res, 0, 0);
	index = raft_snapshot_u64(res, 0, 1);
	config_index = raft_snapshot_u64(res, 0, 2);
	term = raft_snapshot_u64(res, 0, 3);
	source_term = raft_snapshot_u64(res, 0, 4);
	source_vote = raft_snapshot_u64(res, 0, 5);
	source_incarnation = raft_snapshot_value(res, 0, 6);
	PQclear(res);
	if (index == 0 || term == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("raft_ext: node %d has applied nothing whose term it holds (applied up to %llu)",
						raft_snapshot_source, (unsigned long long) index)));
	if (index < job->min_index)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("raft_ext: node %d has applied up to log entry %llu; this node needs a copy at or past %llu",
						raft_snapshot_source, (unsigned long long) index, (unsigned long long) job->min_index),
				 errhint("Copy the leader, or a member that is caught up.")));

	pgstat_report_activity(STATE_RUNNING, psprintf("raft_ext: installing a snapshot of node %d at log entry %llu: reading its schema",
						   raft_snapshot_source, (unsigned long long) index));
	pre_data = raft_snapshot_pg_dump(conninfo, snapshot, "pre-data");
	post_data = raft_snapshot_pg_dump(conninfo, snapshot, "post-data");
	tables = raft_snapshot_res_tables = raft_snapshot_exec("SELECT n.nspname, c.relname FROM pg_catalog.pg_class c "
								"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
								"WHERE c.relkind = 'r' AND c.relpersistence <> 't' "
								"AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'raft_ext') "
								"AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)' "
								"AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d "
								"WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass "
								"AND d.objid = c.oid AND d.deptype = 'e') "
								"ORDER BY 1, 2", PGRES_TUPLES_OK);
	ntables = PQntuples(tables);
	/* sequences are not transactional: their state as of the applied index is recorded */
	sequences = raft_snapshot_res_sequences = raft_snapshot_exec("SELECT n.nspname, c.relname, s.last_value, s.is_called "
								   "FROM raft_ext.sequence_state s JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid "
								   "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
								   "WHERE c.relkind = 'S' AND n.nspname <> 'raft_ext' ORDER BY 1, 2",
								   PGRES_TUPLES_OK);
	state_tables = raft_snapshot_res_state = raft_snapshot_exec("SELECT c.relname FROM pg_catalog.pg_class c "
									  "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
									  "WHERE n.nspname = 'raft_ext' AND c.relkind = 'r'",
									  PGRES_TUPLES_OK);

	LWLockAcquire(raft_shared->status_lock, LW_SHARED);
	lost = raft_shared->status.worker_state == RAFT_WORKER_STATE_LOST;
	LWLockRelease(raft_shared->status_lock);

	/* every name below, and every name listed, qualified */
	SPI_execute("SET LOCAL search_path = pg_catalog", false, 0);
	if (SPI_execute("SELECT log_start_index FROM raft_ext.apply_state FOR UPDATE", false, 0) != SPI_OK_SELECT ||
		SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("raft_ext: raft_ext.apply_state must hold exactly one row")));
	{
		bool		isnull;

		log_start = (uint64) DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	if (index < log_start)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("raft_ext: node %d has applied up to log entry %llu, before this node's log starts (%llu)",
						raft_snapshot_source, (unsigned long long) index, (unsigned long long) log_start),
				 errhint("Copy the leader, or a member that is caught up.")));

	pgstat_report_activity(STATE_RUNNING, psprintf("raft_ext: installing a snapshot of node %d at log entry %llu: dropping this node's objects",
						   raft_snapshot_source, (unsigned long long) index));
	raft_snapshot_drop_local();

	pgstat_report_activity(STATE_RUNNING, psprintf("raft_ext: installing a snapshot of node %d at log entry %llu: creating its schema",
						   raft_snapshot_source, (unsigned long long) index));
	if (SPI_execute(pre_data, false, 0) < 0)
		elog(ERROR, "raft_ext: the schema of node %d could not be created here", raft_snapshot_source);
	CommandCounterIncrement();

	for (i = 0; i < ntables; i++)
	{
		char	   *nsp = PQgetvalue(tables, i, 0);
		char	   *rel = PQgetvalue(tables, i, 1);

		pgstat_report_activity(STATE_RUNNING, psprintf("raft_ext: installing a snapshot of node %d at log entry %llu: table %s (%d of %d), %.1f MB copied",
							   raft_snapshot_source, (unsigned long long) index,
							   quote_qualified_identifier(nsp, rel), i + 1, ntables,
							   raft_snapshot_bytes / 1048576.0));
		rows += raft_snapshot_copy_table(nsp, rel);
	}

	/* sequences: as recorded there, and recorded here under this node's oids */
	SPI_execute("DELETE FROM raft_ext.sequence_state", false, 0);
	for (i = 0; i < PQntuples(sequences); i++)
	{
		Oid			types[3] = {TEXTOID, INT8OID, BOOLOID};
		Datum		values[3];

		values[0] = CStringGetTextDatum(quote_qualified_identifier(PQgetvalue(sequences, i, 0),
																   PQgetvalue(sequences, i, 1)));
		values[1] = Int64GetDatum(pg_strtoint64(PQgetvalue(sequences, i, 2)));
		values[2] = BoolGetDatum(PQgetvalue(sequences, i, 3)[0] == 't');
		if (SPI_execute_with_args("SELECT pg_catalog.setval($1::pg_catalog.regclass, $2, $3)",
								  3, types, values, NULL, false, 0) != SPI_OK_SELECT ||
			SPI_execute_with_args("INSERT INTO raft_ext.sequence_state VALUES ($1::pg_catalog.regclass, $2, $3)",
								  3, types, values, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "raft_ext: could not set sequence %s", TextDatumGetCString(values[0]));
	}

	/* raft_ext's replicated tables, those both sides have */
	for (i = 0; i < lengthof(raft_snapshot_state_tables); i++)
	{
		const char *name = raft_snapshot_state_tables[i];
		bool		there = false;
		int			k;

		for (k = 0; k < PQntuples(state_tables); k++)
			if (strcmp(PQgetvalue(state_tables, k, 0), name) == 0)
				there = true;
		if (!there || !OidIsValid(get_relname_relid(name, get_namespace_oid("raft_ext", false))))
			continue;
		SPI_execute(psprintf("DELETE FROM raft_ext.%s", name), false, 0);
		pgstat_report_activity(STATE_RUNNING, psprintf("raft_ext: installing a snapshot of node %d at log entry %llu: raft_ext.%s",
							   raft_snapshot_source, (unsigned long long) index, name));
		(void) raft_snapshot_copy_table("raft_ext", name);
	}

	pgstat_report_activity(STATE_RUNNING, psprintf("raft_ext: installing a snapshot of node %d at log entry %llu: indexes, constraints, triggers",
						   raft_snapshot_source, (unsigned long long) index));
	if (SPI_execute(post_data, false, 0) < 0)
		elog(ERROR, "raft_ext: the indexes and constraints of node %d could not be created here", raft_snapshot_source);

	/*
	 * Where the node goes on from.  What the Raft worker made durable and
	 * saw committed only grows: read last, it is the freshest bound.
	 */
	target = pg_atomic_read_u64(&raft_shared->apply_target);
	*restart_log = lost || index > target;
	/* the Raft condition for restarting the log after the copy (raft.h); terms only grow */
	LWLockAcquire(raft_shared->status_lock, LW_SHARED);
	my_term = raft_shared->status.term;
	LWLockRelease(raft_shared->status_lock);
	if (*restart_log && !lost && source_term > my_term)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("raft_ext: node %d was in term %llu, ahead of this node (term %llu)",
						raft_snapshot_source, (unsigned long long) source_term, (unsigned long long) my_term),
				 errdetail("Its copy may hold entries committed in a term this node has not reached."),
				 errhint("Try again once this node has heard from the leader.")));
	{
		Oid			types[3] = {INT8OID, INT8OID, INT8OID};
		Datum		values[3] = {Int64GetDatum((int64) index), Int64GetDatum((int64) config_index),
		Int64GetDatum((int64) term)};

		if (SPI_execute_with_args(*restart_log ?
								  "UPDATE raft_ext.apply_state SET last_applied = $1, config_index = $2, "
								  "log_start_index = $1, log_start_term = $3" :
								  "UPDATE raft_ext.apply_state SET last_applied = $1, config_index = $2",
								  *restart_log ? 3 : 2, types, values, NULL, false, 0) != SPI_OK_UPDATE ||
			SPI_processed != 1)
			elog(ERROR, "raft_ext: could not record the snapshot's index");
		/* entries past the copy stay: the Raft worker decides about them */
		if (*restart_log && !lost &&
			SPI_execute_with_args("DELETE FROM raft_ext.log WHERE index <= $1",
								  1, types, values, NULL, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "raft_ext: could not delete the log entries the snapshot replaces");
	}
	if (lost)
		raft_snapshot_take_raft_state(source_term, source_vote, source_incarnation);
	raft_xact_commit();
	/* the apply worker commits asynchronously; the Raft worker may build on this */
	XLogFlush(XactLastCommitEnd);

	raft_snapshot_disconnect();

	ereport(LOG,
			(errmsg("raft_ext: node %d installed a snapshot of node %d at log entry %llu (term %llu): %d tables, %llu rows, %.1f MB in %.1f s",
					raft_ext_node_id, raft_snapshot_source, (unsigned long long) index,
					(unsigned long long) term, ntables, (unsigned long long) rows,
					raft_snapshot_bytes / 1048576.0,
					(GetCurrentTimestamp() - started) / 1000000.0),
			 errdetail(lost ? "It takes that member's Raft state too; its Raft worker restarts and adopts it." :
					   *restart_log ? "Its log now starts after that entry." :
					   "It applies the entries after it from its log.")));
	*index_out = index;
	*term_out = term;
}

/* ---------------------------------------------------------------------
 * Who asks, who does it, who is told
 * --------------------------------------------------------------------- */

/* Ask for one; false when one is already asked for or running. */
static bool
raft_snapshot_request(int from_node, uint64 min_index, uint64 *seq)
{
	RaftSnapshotShared *sn = &raft_shared->snapshot;
	bool		taken = false;

	SpinLockAcquire(&raft_shared->mutex);
	if (sn->phase == RAFT_SNAPSHOT_IDLE)
	{
		sn->phase = RAFT_SNAPSHOT_REQUESTED;
		sn->from_node = from_node;
		sn->min_index = min_index;
		*seq = ++sn->seq;
		taken = true;
	}
	SpinLockRelease(&raft_shared->mutex);
	if (taken)
		raft_shmem_wake_apply_worker();
	return taken;
}

/* The request ends (the Raft worker's part, if any, done). */
static void
raft_snapshot_end(bool succeeded, int sqlerrcode, const char *error)
{
	RaftSnapshotShared *sn = &raft_shared->snapshot;

	SpinLockAcquire(&raft_shared->mutex);
	sn->phase = RAFT_SNAPSHOT_IDLE;
	sn->done_seq = sn->seq;
	sn->succeeded = succeeded;
	sn->sqlerrcode = sqlerrcode;
	strlcpy(sn->error, error ? error : "", sizeof(sn->error));
	sn->ended_at = GetCurrentTimestamp();
	SpinLockRelease(&raft_shared->mutex);
}

bool
raft_snapshot_installing(void)
{
	RaftSnapshotPhase phase;

	SpinLockAcquire(&raft_shared->mutex);
	phase = raft_shared->snapshot.phase;
	SpinLockRelease(&raft_shared->mutex);
	return phase != RAFT_SNAPSHOT_IDLE;
}

void
raft_snapshot_apply_start(void)
{
	bool		interrupted;

	SpinLockAcquire(&raft_shared->mutex);
	interrupted = raft_shared->snapshot.phase == RAFT_SNAPSHOT_RUNNING;
	SpinLockRelease(&raft_shared->mutex);
	if (interrupted)
		raft_snapshot_end(false, ERRCODE_ADMIN_SHUTDOWN,
						  "the apply worker stopped during the copy; nothing was installed");
}

bool
raft_snapshot_apply_step(void)
{
	RaftSnapshotShared *sn = &raft_shared->snapshot;
	RaftSnapshotJob job;
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext cxt;
	volatile uint64 index = 0;
	volatile uint64 term = 0;
	volatile bool restart_log = false;
	volatile bool ok = false;

	SpinLockAcquire(&raft_shared->mutex);
	if (sn->phase != RAFT_SNAPSHOT_REQUESTED)
	{
		SpinLockRelease(&raft_shared->mutex);
		return false;
	}
	sn->phase = RAFT_SNAPSHOT_RUNNING;
	job.from_node = sn->from_node;
	job.min_index = sn->min_index;
	SpinLockRelease(&raft_shared->mutex);

	cxt = AllocSetContextCreate(caller, "raft_ext snapshot", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		uint64		i;
		uint64		t;
		bool		r;

		raft_snapshot_install(&job, &i, &t, &r);
		index = i;
		term = t;
		restart_log = r;
		ok = true;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		raft_snapshot_disconnect();
		AbortCurrentTransaction();
		MemoryContextSwitchTo(cxt);
		ereport(WARNING,
				(errcode(edata->sqlerrcode),
				 errmsg("raft_ext: node %d did not install a snapshot: %s", raft_ext_node_id, edata->message),
				 edata->detail ? errdetail("%s", edata->detail) : 0,
				 edata->hint ? errhint("%s", edata->hint) : 0));
		raft_snapshot_end(false, edata->sqlerrcode, edata->message);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(caller);
	MemoryContextDelete(cxt);
	pgstat_report_activity(STATE_IDLE, NULL);
	if (!ok)
		return false;

	/* a stall or divergence before it is of the tables it replaced */
	LWLockAcquire(raft_shared->status_lock, LW_EXCLUSIVE);
	raft_shared->status.apply_stalled_since = 0;
	raft_shared->status.apply_stalled_index = 0;
	raft_shared->status.apply_diverged_index = 0;
	raft_shared->status.last_apply_error[0] = '\0';
	LWLockRelease(raft_shared->status_lock);

	SpinLockAcquire(&raft_shared->mutex);
	sn->index = index;
	sn->term = term;
	sn->source = raft_snapshot_source;
	SpinLockRelease(&raft_shared->mutex);
	pg_atomic_write_u64(&raft_shared->last_applied, index);
	if (restart_log)
	{
		SpinLockAcquire(&raft_shared->mutex);
		sn->phase = RAFT_SNAPSHOT_INSTALLED;
		SpinLockRelease(&raft_shared->mutex);
		raft_shmem_wake_raft_worker();
	}
	else
		raft_snapshot_end(true, 0, NULL);
	return true;
}

/*
 * The Raft worker's part.  Its stored log after the copy's index is still
 * there (the apply worker could not delete what the Raft worker might be
 * writing); once the core has restarted its log, so does the table.
 */
void
raft_snapshot_raft_step(raft_node *node, uint64 snapshot_index, int leader,
						uint64 *last_persisted, uint64 *committed)
{
	RaftSnapshotShared *sn = &raft_shared->snapshot;
	RaftSnapshotPhase phase;
	uint64		index;
	uint64		term;
	TimestampTz ended_at;
	bool		last_failed;

	SpinLockAcquire(&raft_shared->mutex);
	phase = sn->phase;
	index = sn->index;
	term = sn->term;
	ended_at = sn->ended_at;
	last_failed = sn->done_seq != 0 && !sn->succeeded;
	SpinLockRelease(&raft_shared->mutex);

	if (phase == RAFT_SNAPSHOT_INSTALLED)
	{
		raft_member *members;
		size_t		n;
		raft_status st;
		int			rc;

		raft_members_initial(&members, &n);
		rc = raft_snapshot_installed(node, (raft_index) index, (raft_term) term, members, n);
		if (rc == RAFT_EBUSY)
			return;				/* a ready is outstanding: next loop */
		raft_get_status(node, &st);
		if (rc == RAFT_OK)
		{
			raft_xact_begin();
			if (SPI_execute("DELETE FROM raft_ext.log", false, 0) != SPI_OK_DELETE)
				elog(ERROR, "raft_ext: could not delete the log the snapshot replaced");
			raft_xact_commit();
			*last_persisted = index;
			*committed = Max(*committed, index);
		}
		else if (st.commitIndex >= index)
		{
			/*
			 * The log caught up with the copy meanwhile: its entries up to
			 * it are gone from the table, as compaction would have them.
			 */
			ereport(LOG,
					(errmsg("raft_ext: node %d's log reached log entry %llu during the copy: it is compacted up to it",
							raft_ext_node_id, (unsigned long long) index)));
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("raft_ext: the core refused the snapshot at log entry %llu: %s",
							(unsigned long long) index, raft_strerror(rc))));
		if (pg_atomic_read_u64(&raft_shared->compact_to) < index)
			pg_atomic_write_u64(&raft_shared->compact_to, index);
		raft_snapshot_end(true, 0, NULL);
		raft_shmem_wake_apply_worker();
		return;
	}

	/* the leader compacted what this node lacks: copy it, again after a failure */
	if (snapshot_index != 0 && raft_ext_auto_snapshot && phase == RAFT_SNAPSHOT_IDLE &&
		leader != 0 && leader != raft_ext_node_id &&
		(!last_failed ||
		 TimestampDifferenceExceeds(ended_at, GetCurrentTimestamp(), RAFT_SNAPSHOT_RETRY_MS)))
	{
		uint64		seq;

		/*
		 * The leader it knows by name: the status the apply worker reads
		 * is published at the end of this loop (the chaos suite saw an
		 * install refused for "no leader" in between).
		 */
		if (raft_snapshot_request(leader, snapshot_index, &seq))
			ereport(LOG,
					(errmsg("raft_ext: node %d installs a snapshot of its leader, node %d (it needs log entry %llu or later)",
							raft_ext_node_id, leader, (unsigned long long) snapshot_index)));
	}
}

bool
raft_snapshot_lost_state_repaired(void)
{
	bool		installed;

	SpinLockAcquire(&raft_shared->mutex);
	installed = raft_shared->snapshot.phase == RAFT_SNAPSHOT_INSTALLED;
	SpinLockRelease(&raft_shared->mutex);
	if (installed)
		raft_snapshot_end(true, 0, NULL);
	return installed;
}

/* ---------------------------------------------------------------------
 * raft_install_snapshot(from_node integer DEFAULT NULL)
 * --------------------------------------------------------------------- */

PG_FUNCTION_INFO_V1(raft_ext_sql_install_snapshot);

Datum
raft_ext_sql_install_snapshot(PG_FUNCTION_ARGS)
{
	RaftSnapshotShared *sn;
	int			from = PG_ARGISNULL(0) ? 0 : PG_GETARG_INT32(0);
	uint64		seq;
	char	   *conninfo;

	raft_shmem_require();
	sn = &raft_shared->snapshot;
	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to install a snapshot"),
				 errdetail("It replaces every table of this node's replicated database."),
				 errhint("Only a superuser may call raft_install_snapshot().")));
	if (!PG_ARGISNULL(0) && from == raft_ext_node_id)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("raft_ext: node %d cannot copy a snapshot of itself", from),
				 errhint("Name another member, or none for the leader.")));
	if (!PG_ARGISNULL(0) && from <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("raft_ext: node id must be positive, not %d", from)));
	/* the same checks the apply worker makes, for a clear answer now */
	{
		RaftSnapshotJob job = {from, 0};

		(void) raft_snapshot_pick_source(&job, &conninfo);
	}
	if (!raft_snapshot_request(from, 0, &seq))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("raft_ext: node %d is already installing a snapshot", raft_ext_node_id),
				 errhint("Wait for it: pg_stat_activity shows its progress (the raft_ext apply worker).")));

	for (;;)
	{
		bool		done;
		bool		succeeded = false;
		int			sqlerrcode = 0;
		char		error[RAFT_SHMEM_ERROR_LEN];
		uint64		index = 0;

		SpinLockAcquire(&raft_shared->mutex);
		done = sn->done_seq >= seq;
		if (done)
		{
			succeeded = sn->succeeded;
			sqlerrcode = sn->sqlerrcode;
			memcpy(error, sn->error, sizeof(error));
			index = sn->index;
		}
		SpinLockRelease(&raft_shared->mutex);
		if (done && succeeded)
			PG_RETURN_INT64((int64) index);
		if (done)
			ereport(ERROR,
					(errcode(sqlerrcode ? sqlerrcode : ERRCODE_INTERNAL_ERROR),
					 errmsg("raft_ext: the snapshot was not installed: %s", error),
					 errhint("Nothing changed on this node; the server log has the details.")));
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 100L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}
