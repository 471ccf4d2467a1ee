/*
 * membership.c — the cluster's configuration on the PostgreSQL side
 * (issue 15): members are added and removed through the log.
 *
 * The Raft core decides what the configuration is (src/raft/membership.c:
 * the latest RAFT_ENTRY_CONFIG entry in the node's log, single-server
 * changes, learners, the new leader's first-commit rule).  This file is its
 * host:
 *
 *   - Where a node starts from.  raft_ext.members holds the last
 *     configuration APPLIED here (replaced, with apply_state.config_index,
 *     in the apply transaction of each configuration entry), so that a node
 *     restarts from it even after the entry was compacted away; a node with
 *     no row there starts from raft_ext.peers (the bootstrap configuration of
 *     a new cluster), or from nothing when it is a server to be added
 *     (raft_ext.join): it learns its configuration from its leader's log.
 *     The core then uses the latest configuration entry of the log on top.
 *
 *   - Who to talk to.  Members' addresses are their connection strings,
 *     carried in the configuration entries.  The Raft worker looks at the
 *     core's configuration every loop (raft_members_sync); when the set of
 *     other members or an address changed it connects to the new set
 *     (transport.c) and publishes it in the status snapshot, where backends
 *     find a leader's connection string (submit.c), raft_peers, and
 *     raft_transfer_leadership's target.
 *
 *   - Learners become voters.  A new member joins as a learner; once its
 *     log is within RAFT_MEMBERS_PROMOTE_LAG entries of the commit index,
 *     the leader's Raft worker appends its promotion.  Until then it counts
 *     for no majority, so adding a server never costs availability.
 *
 *   - raft_add_node / raft_remove_node.  A request ("M" payload) travels
 *     like a statement: on a follower through forward_submit to the leader
 *     (submit.c), on the leader to its Raft worker (a RAFT_REQ_CHANGE
 *     request slot, raft_propose_change), and the caller waits until the
 *     entry is applied here.  raft_force_single_node() makes this node the
 *     only voter, for a majority lost for good.
 *
 * Locking: the published configuration is in raft_shared->status, written
 * by the Raft worker with status_lock held exclusively (worker.c) and read
 * with it shared.  The worker's own copy (members_*) is private to it.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "storage/lwlock.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "config.h"
#include "membership.h"
#include "outcome.h"
#include "payload.h"
#include "request.h"
#include "shmem.h"
#include "submit.h"
#include "transport.h"
#include "workers.h"

PG_FUNCTION_INFO_V1(raft_ext_sql_add_node);
PG_FUNCTION_INFO_V1(raft_ext_sql_remove_node);
PG_FUNCTION_INFO_V1(raft_ext_sql_force_single_node);

/* a learner this close to the commit index is promoted */
#define RAFT_MEMBERS_PROMOTE_LAG 64

/* the change type byte of a forced configuration (not a raft_change_type) */
#define RAFT_MEMBERS_FORCE 'F'

/* ---------------------------------------------------------------------
 * The Raft worker's copy of the configuration
 * --------------------------------------------------------------------- */
static bool members_synced = false;
static int	members_n = 0;
static int	members_ids[RAFT_EXT_MAX_PEERS];
static char *members_conninfo[RAFT_EXT_MAX_PEERS];	/* TopMemoryContext */
static bool members_warned_too_many = false;
/* what the core's status said at the last full sync */
static raft_index members_seen_index = 0;
static size_t members_seen_n = 0;
static size_t members_seen_voters = 0;

/*
 * Members the configuration just removed stay reachable a while: a leader
 * goes on replicating to them until they learn their removal committed
 * (src/raft/progress.c), so that they stop standing for election.
 */
#define RAFT_MEMBERS_LINGER_MS 10000
static int	linger_n = 0;
static int	linger_ids[RAFT_EXT_MAX_PEERS];
static char *linger_conninfo[RAFT_EXT_MAX_PEERS];	/* TopMemoryContext */
static TimestampTz linger_since[RAFT_EXT_MAX_PEERS];

static bool
raft_members_table_exists(void)
{
	Oid			nsp = get_namespace_oid("raft_ext", true);

	return OidIsValid(nsp) && OidIsValid(get_relname_relid("members", nsp));
}

void
raft_members_initial(raft_member **members, size_t *n)
{
	MemoryContext cxt = CurrentMemoryContext;
	raft_member *m = palloc0(sizeof(raft_member) * RAFT_EXT_MAX_PEERS);
	size_t		k = 0;
	uint64		i;

	raft_xact_begin();
	/* raft_ext.members came with 1.2: an older extension has none */
	if (raft_members_table_exists())
	{
		if (SPI_execute("SELECT node_id, voter, conninfo FROM raft_ext.members ORDER BY node_id",
						true, RAFT_EXT_MAX_PEERS) != SPI_OK_SELECT)
			elog(ERROR, "raft_ext: could not read raft_ext.members");
		for (i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			char	   *conninfo = SPI_getvalue(tup, desc, 3);

			m[k].id = (raft_node_id) DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
			m[k].voter = DatumGetBool(SPI_getbinval(tup, desc, 2, &isnull));
			m[k].address = MemoryContextStrdup(cxt, conninfo ? conninfo : "");
			m[k].addressLen = (uint32) strlen(m[k].address);
			k++;
		}
	}
	raft_xact_commit();

	if (k == 0 && !raft_ext_join)
	{
		const RaftPeerList *peers = raft_conf_peers();
		int			p;

		for (p = 0; p < peers->npeers && k < RAFT_EXT_MAX_PEERS; p++)
		{
			m[k].id = (raft_node_id) peers->ids[p];
			m[k].voter = true;
			m[k].address = MemoryContextStrdup(cxt, raft_peer_conninfo(peers, p));
			m[k].addressLen = (uint32) strlen(m[k].address);
			k++;
		}
	}
	*members = m;
	*n = k;
}

/*
 * Where this node reaches member node_id: its own raft_ext.peers entry for
 * it when it has one (this node's credentials: with raft_ext.peer_roles each
 * node connects as its own role), else the address in the configuration.
 */
static const char *
raft_members_effective_address(int node_id, const char *config_address)
{
	int			idx = raft_conf_peer_index(node_id);

	return idx >= 0 ? raft_peer_conninfo(raft_conf_peers(), idx) : config_address;
}

const char *
raft_members_address(int node_id)
{
	int			i;

	for (i = 0; i < members_n; i++)
		if (members_ids[i] == node_id)
			return members_conninfo[i];
	return NULL;
}

void
raft_members_sync(raft_node *node)
{
	raft_member m[RAFT_EXT_MAX_PEERS];
	int			ids[RAFT_EXT_MAX_PEERS];
	char	   *addrs[RAFT_EXT_MAX_PEERS];
	raft_index	index;
	size_t		n;
	int			k = 0;
	bool		self_member = false;
	bool		changed = false;
	int			i;
	raft_status st;

	/*
	 * Called every loop of the Raft worker: nothing to do unless the
	 * configuration changed, a removed member still lingers, or a learner
	 * may be due for promotion.
	 */
	raft_get_status(node, &st);
	if (members_synced && st.configIndex == members_seen_index &&
		st.nMembers == members_seen_n && st.nVoters == members_seen_voters &&
		linger_n == 0 && !(st.role == RAFT_LEADER && st.nMembers > st.nVoters))
		return;
	members_seen_index = st.configIndex;
	members_seen_n = st.nMembers;
	members_seen_voters = st.nVoters;

	n = raft_get_configuration(node, m, RAFT_EXT_MAX_PEERS, &index, NULL);
	if (n > RAFT_EXT_MAX_PEERS)
	{
		if (!members_warned_too_many)
			ereport(WARNING,
					(errmsg("raft_ext: the configuration has %zu members; this node talks to the first %d",
							n, RAFT_EXT_MAX_PEERS)));
		members_warned_too_many = true;
		n = RAFT_EXT_MAX_PEERS;
	}

	/* whom to talk to, and how */
	for (i = 0; i < (int) n; i++)
	{
		char	   *config_address = pnstrdup(m[i].address, m[i].addressLen);

		ids[k] = (int) m[i].id;
		addrs[k] = pstrdup(raft_members_effective_address(ids[k], config_address));
		if (ids[k] == raft_ext_node_id)
			self_member = true;
		k++;
	}

	/*
	 * Not a member (a server waiting to be added, or one removed): it must
	 * still answer the leader, whose address its configuration may not
	 * hold yet: raft_ext.peers serves as its address book.
	 */
	if (!self_member)
	{
		const RaftPeerList *peers = raft_conf_peers();
		int			p;

		for (p = 0; p < peers->npeers && k < RAFT_EXT_MAX_PEERS; p++)
		{
			bool		known = false;

			for (i = 0; i < k; i++)
				known |= ids[i] == peers->ids[p];
			if (known || peers->ids[p] == raft_ext_node_id)
				continue;
			ids[k] = peers->ids[p];
			addrs[k] = pstrdup(raft_peer_conninfo(peers, p));
			k++;
		}
	}

	/* members removed a moment ago: until they have heard (see linger_*) */
	{
		TimestampTz now = GetCurrentTimestamp();
		int			expired[RAFT_EXT_MAX_PEERS];
		int			nexpired = 0;
		int			j = 0;

		for (i = 0; i < linger_n; i++)
		{
			bool		back = false;
			int			x;

			for (x = 0; x < k; x++)
				back |= ids[x] == linger_ids[i];
			if (back || TimestampDifferenceExceeds(linger_since[i], now, RAFT_MEMBERS_LINGER_MS))
			{
				expired[nexpired++] = linger_ids[i];
				pfree(linger_conninfo[i]);
				continue;
			}
			linger_ids[j] = linger_ids[i];
			linger_conninfo[j] = linger_conninfo[i];
			linger_since[j] = linger_since[i];
			j++;
		}
		linger_n = j;
		/* who left the set since the last sync */
		for (i = 0; members_synced && i < members_n; i++)
		{
			bool		still = false;
			int			x;

			for (x = 0; x < k; x++)
				still |= ids[x] == members_ids[i];
			for (x = 0; x < linger_n; x++)
				still |= linger_ids[x] == members_ids[i];
			for (x = 0; x < nexpired; x++)
				still |= expired[x] == members_ids[i];
			if (still || members_ids[i] == raft_ext_node_id || linger_n >= RAFT_EXT_MAX_PEERS)
				continue;
			linger_ids[linger_n] = members_ids[i];
			linger_conninfo[linger_n] = MemoryContextStrdup(TopMemoryContext, members_conninfo[i]);
			linger_since[linger_n] = now;
			linger_n++;
		}
		for (i = 0; i < linger_n && k < RAFT_EXT_MAX_PEERS; i++)
		{
			ids[k] = linger_ids[i];
			addrs[k] = pstrdup(linger_conninfo[i]);
			k++;
		}
	}

	/* reconnect when the set or an address changed */
	if (!members_synced || k != members_n)
		changed = true;
	for (i = 0; !changed && i < k; i++)
		if (members_ids[i] != ids[i] || strcmp(members_conninfo[i], addrs[i]) != 0)
			changed = true;
	if (changed)
	{
		int			tids[RAFT_EXT_MAX_PEERS];
		const char *tconn[RAFT_EXT_MAX_PEERS];
		int			nothers = 0;
		StringInfoData desc;

		for (i = 0; i < members_n; i++)
			pfree(members_conninfo[i]);
		initStringInfo(&desc);
		for (i = 0; i < k; i++)
		{
			members_ids[i] = ids[i];
			members_conninfo[i] = MemoryContextStrdup(TopMemoryContext, addrs[i]);
			if (i < (int) n)
				appendStringInfo(&desc, "%s%d%s", i > 0 ? ", " : "", ids[i],
								 m[i].voter ? "" : " (learner)");
			if (ids[i] == raft_ext_node_id)
				continue;
			tids[nothers] = ids[i];
			tconn[nothers] = members_conninfo[i];
			nothers++;
		}
		members_n = k;
		raft_transport_reconfigure(nothers, tids, tconn);
		if (members_synced)
			ereport(LOG,
					(errmsg("raft_ext: node %d now uses the configuration of log entry %llu: %s",
							raft_ext_node_id, (unsigned long long) index,
							n > 0 ? desc.data : "no members")));
		pfree(desc.data);
		members_synced = true;
	}

	/* the leader promotes a learner that has caught up, one at a time */
	{
		raft_progress pr;
		size_t		j;

		if (st.role != RAFT_LEADER || !st.configCommitted)
			return;
		for (j = 0; raft_get_progress(node, j, &pr); j++)
		{
			raft_index	at;
			raft_term	term;
			int			rc;

			if (pr.voter || pr.matchIndex == 0 ||
				pr.matchIndex + RAFT_MEMBERS_PROMOTE_LAG < st.commitIndex)
				continue;
			rc = raft_propose_change(node, RAFT_CHANGE_PROMOTE, pr.id, NULL, 0, &at, &term);
			if (rc == RAFT_OK)
				ereport(LOG,
						(errmsg("raft_ext: learner node %llu has caught up (log index %llu); its promotion to voter is log entry %llu",
								(unsigned long long) pr.id, (unsigned long long) pr.matchIndex,
								(unsigned long long) at)));
			else if (rc == RAFT_ENOMEM)
				ereport(ERROR,
						(errcode(ERRCODE_OUT_OF_MEMORY),
						 errmsg("raft_ext: out of memory promoting a learner")));
			break;
		}
	}
}

/* ---------------------------------------------------------------------
 * Apply
 * --------------------------------------------------------------------- */
void
raft_members_apply(uint64 index, const char *data, Size len)
{
	raft_member *m = NULL;
	size_t		n = 0;
	size_t		i;
	int			rc;
	Oid			types[3] = {INT4OID, BOOLOID, TEXTOID};
	Datum		values[3];

	rc = raft_configuration_decode((const uint8_t *) data, len, NULL, &m, &n);
	if (rc != RAFT_OK)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("raft_ext: log entry %llu holds a malformed configuration: %s",
						(unsigned long long) index, raft_strerror(rc))));
	if (!raft_members_table_exists())
	{
		free(m);
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("raft_ext: log entry %llu changes the membership, which this node's extension version cannot record",
						(unsigned long long) index),
				 errhint("Run ALTER EXTENSION raft_ext UPDATE on this node; apply resumes by itself.")));
	}
	if (SPI_execute("DELETE FROM raft_ext.members", false, 0) != SPI_OK_DELETE)
		elog(ERROR, "raft_ext: could not replace raft_ext.members");
	for (i = 0; i < n; i++)
	{
		values[0] = Int32GetDatum((int32) m[i].id);
		values[1] = BoolGetDatum(m[i].voter);
		values[2] = PointerGetDatum(cstring_to_text_with_len(m[i].address, (int) m[i].addressLen));
		if (SPI_execute_with_args("INSERT INTO raft_ext.members (node_id, voter, conninfo) VALUES ($1, $2, $3)",
								  3, types, values, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "raft_ext: could not record a member");
	}
	free(m);
	types[0] = INT8OID;
	values[0] = Int64GetDatum((int64) index);
	if (SPI_execute_with_args("UPDATE raft_ext.apply_state SET config_index = $1",
							  1, types, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "raft_ext: could not record the configuration's index");
}

int
raft_members_count_applied(void)
{
	bool		isnull;
	int64		n;

	if (!raft_members_table_exists())
		return raft_conf_peers()->npeers;
	if (SPI_execute("SELECT count(*) FROM raft_ext.members", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "raft_ext: could not read raft_ext.members");
	n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	return n > 0 ? (int) n : raft_conf_peers()->npeers;
}

/* ---------------------------------------------------------------------
 * Lookups for backends
 * --------------------------------------------------------------------- */
bool
raft_members_is_member(int node_id, bool *voter)
{
	bool		published;
	bool		found = false;
	int			i;

	LWLockAcquire(raft_shared->status_lock, LW_SHARED);
	published = raft_shared->status.config_published;
	for (i = 0; i < raft_shared->status.npeers; i++)
		if (raft_shared->status.peers[i].node_id == node_id)
		{
			found = true;
			if (voter)
				*voter = raft_shared->status.peers[i].voter;
			break;
		}
	LWLockRelease(raft_shared->status_lock);
	if (!published && !raft_ext_join && raft_conf_peer_index(node_id) >= 0)
	{
		found = true;
		if (voter)
			*voter = true;
	}
	return found;
}

char *
raft_members_conninfo(int node_id, bool *voter)
{
	char	   *result = NULL;
	int			i;

	LWLockAcquire(raft_shared->status_lock, LW_SHARED);
	for (i = 0; i < raft_shared->status.npeers; i++)
		if (raft_shared->status.peers[i].node_id == node_id)
		{
			result = pstrdup(raft_shared->status.peers[i].conninfo);
			if (voter)
				*voter = raft_shared->status.peers[i].voter;
			break;
		}
	LWLockRelease(raft_shared->status_lock);
	/* not in the configuration (or none published yet): raft_ext.peers, the address book */
	if (result == NULL)
	{
		int			idx = raft_conf_peer_index(node_id);

		if (idx >= 0)
		{
			result = pstrdup(raft_peer_conninfo(raft_conf_peers(), idx));
			if (voter)
				*voter = true;
		}
	}
	return result;
}

/* ---------------------------------------------------------------------
 * raft_add_node, raft_remove_node, raft_force_single_node
 * --------------------------------------------------------------------- */

/* "M" payload: header, change type (1 byte), node id (4), address (the rest) */
static RaftOutcome *
raft_members_request(char type, int node_id, const char *conninfo)
{
	StringInfoData buf;

	initStringInfo(&buf);
	raft_payload_begin(&buf, RAFT_PAYLOAD_KIND_MEMBERSHIP);
	pq_sendbyte(&buf, (uint8) type);
	pq_sendint32(&buf, (uint32) node_id);
	if (conninfo)
		appendBinaryStringInfo(&buf, conninfo, strlen(conninfo));
	return raft_submit_command(buf.data, buf.len);
}

static int
raft_members_arg_node(FunctionCallInfo fcinfo, const char *fn)
{
	int32		node_id;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s: node_id must not be NULL", fn)));
	node_id = PG_GETARG_INT32(0);
	if (node_id <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: node_id must be a positive integer, not %d", fn, node_id)));
	return node_id;
}

Datum
raft_ext_sql_add_node(PG_FUNCTION_ARGS)
{
	int			node_id;
	char	   *conninfo;
	char	   *error = NULL;
	RaftPeerList *parsed;
	RaftOutcome *o;

	raft_shmem_require();
	node_id = raft_members_arg_node(fcinfo, "raft_add_node");
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("raft_add_node: conninfo must not be NULL"),
				 errhint("Give the connection string every member uses to reach the new node, as in raft_ext.peers.")));
	conninfo = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (strlen(conninfo) >= RAFT_EXT_CONNINFO_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("raft_add_node: the connection string is longer than %d bytes", RAFT_EXT_CONNINFO_LEN - 1)));
	/* the grammar of one raft_ext.peers item */
	parsed = raft_conf_parse_peers(psprintf("%d=%s", node_id, conninfo), &error);
	if (parsed == NULL || parsed->npeers != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("raft_add_node: invalid connection string: %s", error ? error : "not one member"),
				 errhint("Use a libpq URI or key=value string, as in raft_ext.peers.")));
	free(parsed);
	o = raft_members_request((char) RAFT_CHANGE_ADD_LEARNER, node_id, conninfo);
	PG_RETURN_INT64((int64) o->index);
}

Datum
raft_ext_sql_remove_node(PG_FUNCTION_ARGS)
{
	int			node_id;
	RaftOutcome *o;

	raft_shmem_require();
	node_id = raft_members_arg_node(fcinfo, "raft_remove_node");
	o = raft_members_request((char) RAFT_CHANGE_REMOVE, node_id, NULL);
	PG_RETURN_INT64((int64) o->index);
}

/* Run a RAFT_REQ_CHANGE request on this node's Raft worker; returns its answer. */
static void
raft_members_run_change(const char *req, Size reqlen, int target, TimestampTz deadline,
						RaftRequestResult *r, bool *done)
{
	raft_request_begin(RAFT_REQ_CHANGE, req, reqlen, target, 0);
	PG_TRY();
	{
		*done = raft_request_wait(r, deadline, false);
	}
	PG_CATCH();
	{
		raft_request_end(NULL);
		PG_RE_THROW();
	}
	PG_END_TRY();
	raft_request_end(*done ? NULL : r);
}

/* Wait until this node applied index; false at the deadline. */
static bool
raft_members_wait_applied(uint64 index, TimestampTz deadline)
{
	RaftRequestResult r;
	bool		done = false;

	raft_request_begin(RAFT_REQ_WAIT_APPLIED, NULL, 0, 0, index);
	PG_TRY();
	{
		done = raft_request_wait(&r, deadline, false);
	}
	PG_CATCH();
	{
		raft_request_end(NULL);
		PG_RE_THROW();
	}
	PG_END_TRY();
	raft_request_end(NULL);
	return done;
}

/* The term of the entry at index in raft_ext.log (0: not there). */
static uint64
raft_members_term_at(uint64 index)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1];
	bool		isnull;
	uint64		term = 0;

	/*
	 * Not read-only: a new snapshot for the query, not the statement's,
	 * which predates the entry.
	 */
	SPI_connect();
	values[0] = Int64GetDatum((int64) index);
	if (SPI_execute_with_args("SELECT term FROM raft_ext.log WHERE index = $1",
							  1, types, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "raft_ext: could not read raft_ext.log");
	if (SPI_processed == 1)
		term = (uint64) DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	return term;
}

RaftOutcome *
raft_members_submit_local(const char *payload, Size len, TimestampTz deadline,
						  char **retry_problem, int *leader_hint)
{
	StringInfoData msg;
	char		type;
	int			node_id;
	const char *addr;
	int			addrlen;
	char	   *req;
	bool		voter = false;
	bool		is_member;
	uint64		log_start;
	RaftStatusSnapshot *st = palloc(sizeof(RaftStatusSnapshot));
	RaftRequestResult r;
	bool		done = false;
	RaftOutcome *o;
	int			nvoters = 0;
	int			i;

	if (len < RAFT_PAYLOAD_HEADER_LEN + 5)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("raft_ext: malformed membership request")));
	msg.data = (char *) payload;
	msg.len = (int) len;
	msg.maxlen = (int) len;
	msg.cursor = RAFT_PAYLOAD_HEADER_LEN;
	type = (char) pq_getmsgbyte(&msg);
	node_id = (int) pq_getmsgint(&msg, 4);
	addrlen = msg.len - msg.cursor;
	addr = pq_getmsgbytes(&msg, addrlen);
	if (addrlen >= RAFT_EXT_CONNINFO_LEN ||
		(type != RAFT_CHANGE_ADD_LEARNER && type != RAFT_CHANGE_REMOVE))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("raft_ext: malformed membership request")));

	/* what the leader knows now decides; the core checks again */
	raft_request_status(st);
	is_member = raft_members_is_member(node_id, &voter);
	for (i = 0; i < st->npeers; i++)
		if (st->peers[i].voter)
			nvoters++;
	if (type == RAFT_CHANGE_ADD_LEARNER)
	{
		if (is_member)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("raft_add_node: node %d is already a member (%s)", node_id,
							voter ? "a voter" : "a learner"),
					 errhint("raft_peers lists the members; to replace a node, remove it first.")));
		if (st->npeers >= RAFT_EXT_MAX_PEERS)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("raft_add_node: the cluster already has %d members, the most raft_ext supports",
							st->npeers)));
		/* where this node's log starts (compaction.c keeps it in shared memory) */
		log_start = pg_atomic_read_u64(&raft_shared->compact_to);
		if (log_start > 0)
			ereport(NOTICE,
					(errmsg("raft_add_node: the leader's log starts after entry %llu: node %d starts from a snapshot, unless it was started on a copy of a member's data directory",
							(unsigned long long) log_start, node_id),
					 errhint("With raft_ext.auto_snapshot on (the default) it installs a copy of its leader's database by itself (README, \"Adding a server\").")));
	}
	else
	{
		if (!is_member)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("raft_remove_node: node %d is not a member", node_id),
					 errhint("raft_peers lists the members.")));
		if (voter && nvoters <= 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("raft_remove_node: node %d is the last voter", node_id),
					 errhint("A cluster needs at least one voter.")));
	}

	req = palloc(1 + addrlen);
	req[0] = type;
	memcpy(req + 1, addr, addrlen);
	raft_members_run_change(req, 1 + addrlen, node_id, deadline, &r, &done);
	*leader_hint = r.leader_hint;
	if (!done)
	{
		*retry_problem = pstrdup("the Raft worker did not take the membership change in time");
		return NULL;
	}
	switch (r.code)
	{
		case RAFT_RESULT_OK:
			break;
		case RAFT_RESULT_NOT_LEADER:
			*retry_problem = pstrdup("this node stopped being the leader");
			return NULL;
		case RAFT_RESULT_BUSY:
			*retry_problem = pstrdup("another membership change (or a leadership transfer) is in progress, or the new leader has not committed an entry yet");
			return NULL;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("raft_ext: the membership change was refused: %s",
							r.problem ? r.problem : "no reason given"),
					 errhint("raft_peers shows the configuration the leader uses now.")));
	}

	/* appended: wait until it is applied here, which it is once committed */
	if (!raft_members_wait_applied(r.index, deadline))
		ereport(ERROR,
				(errcode(ERRCODE_T_R_STATEMENT_COMPLETION_UNKNOWN),
				 errmsg("raft_ext: the membership change was appended at log index %llu but not applied in time",
						(unsigned long long) r.index),
				 errdetail("It takes effect if it is committed; raft_peers will show it."),
				 errhint("A majority of the voters must be up and able to reach each other.")));
	if (raft_members_term_at(r.index) != r.term)
	{
		*retry_problem = pstrdup("a new leader replaced the entry before it was committed");
		return NULL;
	}
	o = palloc0(sizeof(RaftOutcome));
	o->index = r.index;
	o->term = r.term;
	o->command_tag = pstrdup(type == RAFT_CHANGE_ADD_LEARNER ? "RAFT ADD NODE" : "RAFT REMOVE NODE");
	return o;
}

Datum
raft_ext_sql_force_single_node(PG_FUNCTION_ARGS)
{
	TimestampTz deadline;
	RaftRequestResult r;
	RaftStatusSnapshot *st = palloc(sizeof(RaftStatusSnapshot));
	bool		done = false;
	char		req[1] = {RAFT_MEMBERS_FORCE};

	raft_shmem_require();
	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("raft_force_single_node: only a superuser may rewrite the cluster's configuration")));
	raft_request_status(st);
	if (st->worker_state != RAFT_WORKER_RUNNING)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("raft_force_single_node: the Raft worker of this node is not running")));
	ereport(WARNING,
			(errmsg("raft_force_single_node: node %d becomes the only member of the cluster", raft_ext_node_id),
			 errdetail("Entries that only the lost members held are lost; entries this node holds that were never committed now will be. The other members must never come back with their data: wipe them and add them again (raft_add_node)."),
			 errhint("Use it only when a majority of the members is gone for good.")));

	deadline = raft_request_deadline();
	raft_members_run_change(req, 1, raft_ext_node_id, deadline, &r, &done);
	if (!done || r.code != RAFT_RESULT_OK)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("raft_force_single_node: the Raft worker did not rewrite the configuration: %s",
						!done ? "timed out" : (r.problem ? r.problem : "refused"))));
	/* it elects itself and commits its whole log, this entry included */
	if (!raft_members_wait_applied(r.index, deadline))
		ereport(ERROR,
				(errcode(ERRCODE_T_R_STATEMENT_COMPLETION_UNKNOWN),
				 errmsg("raft_force_single_node: the configuration was rewritten at log index %llu but not applied in time",
						(unsigned long long) r.index),
				 errhint("raft_status shows whether this node became the leader.")));
	PG_RETURN_INT64((int64) r.index);
}

/* The Raft worker: carry out a RAFT_REQ_CHANGE request. */
int
raft_members_take_change(raft_node *node, const char *req, Size len, int target,
						 raft_index *index, raft_term *term)
{
	if (len < 1)
		return RAFT_EINVAL;
	if (req[0] == RAFT_MEMBERS_FORCE)
	{
		raft_member self;
		char	   *addr = NULL;
		raft_status st;
		int			i;
		int			rc;

		for (i = 0; i < members_n; i++)
			if (members_ids[i] == raft_ext_node_id)
				addr = members_conninfo[i];
		if (addr == NULL && raft_conf_peer_index(raft_ext_node_id) >= 0)
			addr = (char *) raft_peer_conninfo(raft_conf_peers(), raft_conf_peer_index(raft_ext_node_id));
		self.id = (raft_node_id) raft_ext_node_id;
		self.voter = true;
		self.address = addr ? addr : "";
		self.addressLen = (uint32) strlen(self.address);
		rc = raft_force_configuration(node, &self, 1);
		if (rc == RAFT_OK)
		{
			raft_get_status(node, &st);
			*index = st.lastLogIndex;
			*term = st.lastLogTerm;
			ereport(WARNING,
					(errmsg("raft_ext: node %d forced the configuration to itself alone at log entry %llu",
							raft_ext_node_id, (unsigned long long) *index)));
		}
		return rc;
	}
	return raft_propose_change(node, (raft_change_type) req[0], (raft_node_id) target,
							   req + 1, (uint32) (len - 1), index, term);
}
