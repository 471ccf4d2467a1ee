/*
 * apply_session.c — every log entry starts from the same clean session
 * (see apply_session.h for why).
 *
 * What a submitted statement can leave behind in the apply worker's
 * session, and what happens to it:
 *
 *   settings (SET, SET LOCAL, set_config, a function's SET clause)
 *       apply.c runs each entry in a GUC nest level that it rolls back, so
 *       every change is undone after the entry, committed or not;
 *   custom settings (placeholders: SET myapp.x = ...)
 *       PostgreSQL cannot forget a custom setting once a session has named
 *       it: current_setting('myapp.x', true) is '' from then on, NULL in a
 *       session that never named it.  So every name an entry creates is
 *       recorded, in the entry's own transaction, in raft_ext.custom_settings,
 *       and every apply worker defines all recorded names when it starts:
 *       at every log index, every node's session knows the same names;
 *   PL/pgSQL's own settings (plpgsql.*) exist once the library is loaded,
 *       by the first PL/pgSQL function an entry runs: it is loaded at start,
 *       so they exist from the first entry on every node;
 *   cursors (DECLARE without HOLD: open until the end of the transaction,
 *       which may hold several entries) — closed after each entry;
 *       WITH HOLD is refused before append (stmt_check.c);
 *   sequence caches behind currval() and lastval(), and the values a
 *       sequence with CACHE > 1 handed to this session — discarded after
 *       each entry (as DISCARD SEQUENCES does), so currval() in a later
 *       entry fails everywhere ("not yet defined in this session"), and a
 *       cached range never outlives the entry that fetched it;
 *   prepared statements, LISTEN — impossible: PostgreSQL refuses PREPARE,
 *       LISTEN, DEALLOCATE and DISCARD in a security-restricted operation,
 *       also from inside a function (and they are refused before append at
 *       the top of a submitted string);
 *   session-level advisory locks — released after each entry (the
 *       transaction-level ones go with the apply transaction, as in any
 *       session);
 *   large object descriptors (lo_open: valid until the end of the
 *       transaction) — closed after each entry;
 *   the random seed (setseed, random()) — before each entry the seed is
 *       set from the cluster and the log index, so random() gives the same
 *       values for the same entry on every node, whatever ran before it;
 *   temporary tables, SET ROLE, SET SESSION AUTHORIZATION — impossible: the
 *       statement runs as a security-restricted operation (temporary
 *       tables), and changing roles is refused before append.
 * What remains, and cannot be reset from outside: state that a procedural
 * language or a C extension keeps in its own memory (PL/Python's GD,
 * PL/Perl's %_SHARED, static variables of a C library), and the settings a
 * library other than PL/pgSQL defines when an entry first loads it.
 * README, "Every entry starts from a clean session", says so.
 *
 * Locking: none of its own.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "libpq/be-fsstubs.h"
#include "storage/lock.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"
#include "utils/memutils.h"
#include "utils/portal.h"

#include "apply_session.h"
#include "config.h"

/*
 * How many settings this session had when the last apply transaction
 * committed: while the count stays the same, no entry created a custom
 * setting, and the list need not be searched.
 */
static int	raft_apply_session_nsettings = -1;

/* Is this custom setting's name already recorded (committed)? */
static List *raft_apply_session_recorded = NIL;	/* in TopMemoryContext */
static List *raft_apply_session_pending = NIL;	/* recorded in this xact */

static bool
raft_apply_session_is_recorded(const char *name)
{
	ListCell   *lc;

	foreach(lc, raft_apply_session_recorded)
		if (strcmp((const char *) lfirst(lc), name) == 0)
			return true;
	foreach(lc, raft_apply_session_pending)
		if (strcmp((const char *) lfirst(lc), name) == 0)
			return true;
	return false;
}

/* Define placeholder `name` as a reverted SET would have left it. */
static void
raft_apply_session_define(const char *name)
{
	int			nest = NewGUCNestLevel();

	(void) set_config_option(name, "", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_LOCAL, true, WARNING, false);
	AtEOXact_GUC(false, nest);
}

bool
raft_apply_session_init(void)
{
	MemoryContext oldcxt;
	int			ret;
	uint64		i;
	bool		isnull;

	/* extension version 1.2's objects (its last one: the update is done) */
	ret = SPI_execute("SELECT to_regclass('raft_ext.sequence_state') IS NOT NULL", true, 0);
	if (ret != SPI_OK_SELECT || SPI_processed != 1 ||
		!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
		return false;

	/* what the first PL/pgSQL function would load, for every entry */
	load_file("plpgsql", false);

	ret = SPI_execute("SELECT name FROM raft_ext.custom_settings ORDER BY name", true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "raft_ext: could not read raft_ext.custom_settings: %s",
			 SPI_result_code_string(ret));
	oldcxt = MemoryContextSwitchTo(TopMemoryContext);
	for (i = 0; i < SPI_processed; i++)
	{
		char	   *name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);

		raft_apply_session_define(name);
		raft_apply_session_recorded = lappend(raft_apply_session_recorded, name);
	}
	MemoryContextSwitchTo(oldcxt);
	raft_apply_session_nsettings = GetNumConfigOptions();
	return true;
}

void
raft_apply_session_begin_entry(uint64 index)
{
	uint64		h;
	double		seed;

	/*
	 * setseed() takes a double in [-1, 1]; 53 bits of a hash of the cluster
	 * and the index give every entry its own reproducible sequence.
	 */
	h = hash_combine64(raft_conf_cluster_id(), hash_bytes_uint32_extended((uint32) index,
																		  index >> 32));
	seed = (double) (h >> 11) / (double) (UINT64CONST(1) << 53) * 2.0 - 1.0;
	DirectFunctionCall1(setseed, Float8GetDatum(seed));
}

/* Record the custom settings created since the last look (rarely any). */
static void
raft_apply_session_record_new_settings(void)
{
	struct config_generic **vars;
	int			n = GetNumConfigOptions();
	int			i;

	if (n == raft_apply_session_nsettings)
		return;
	vars = get_guc_variables();
	for (i = 0; i < n; i++)
	{
		const char *name = vars[i]->name;
		Oid			argtypes[1] = {TEXTOID};
		Datum		values[1];
		MemoryContext oldcxt;
		int			ret;

		if (!(vars[i]->flags & GUC_CUSTOM_PLACEHOLDER) ||
			raft_apply_session_is_recorded(name))
			continue;
		values[0] = CStringGetTextDatum(name);
		ret = SPI_execute_with_args("INSERT INTO raft_ext.custom_settings (name) VALUES ($1) "
									"ON CONFLICT DO NOTHING",
									1, argtypes, values, NULL, false, 0);
		if (ret != SPI_OK_INSERT)
			elog(ERROR, "raft_ext: could not record custom setting \"%s\": %s",
				 name, SPI_result_code_string(ret));
		oldcxt = MemoryContextSwitchTo(TopMemoryContext);
		raft_apply_session_pending = lappend(raft_apply_session_pending, pstrdup(name));
		MemoryContextSwitchTo(oldcxt);
	}
}

void
raft_apply_session_reset(void)
{
	PortalHashTableDeleteAll();
	ResetSequenceCaches();
	LockReleaseSession(USER_LOCKMETHOD);
	AtEOXact_LargeObject(true);
}

void
raft_apply_session_end_entry(void)
{
	raft_apply_session_reset();
	raft_apply_session_record_new_settings();
}

void
raft_apply_session_at_commit(void)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(TopMemoryContext);

	raft_apply_session_recorded = list_concat(raft_apply_session_recorded,
											  raft_apply_session_pending);
	MemoryContextSwitchTo(oldcxt);
	list_free(raft_apply_session_pending);
	raft_apply_session_pending = NIL;
	raft_apply_session_nsettings = GetNumConfigOptions();
}

void
raft_apply_session_at_abort(void)
{
	/* the names stay defined in this session: record them next time */
	list_free_deep(raft_apply_session_pending);
	raft_apply_session_pending = NIL;
}
