/*
 * config.c — raft_ext's configuration: the peers list parser, GUC check
 * hooks, and small helpers derived from the settings.
 *
 * raft_ext.peers grammar
 * ----------------------
 *   peers    := ws* [ entry ( ws* "," ws* entry )* ] ws*
 *   entry    := id ws* "=" ws* conninfo
 *   id       := digit+                    (1 .. 2147483647)
 *   conninfo := a libpq connection string: a URI (postgresql://... or
 *               postgres://...) or key=value pairs separated by spaces.
 *
 * A conninfo extends up to the next comma that is followed by
 * ws* digit+ ws* "=" (the start of the next entry), or to the end of the
 * string.  Commas that are not followed by an entry start stay inside the
 * connection string, so multi-host URIs ("postgresql://h1,h2/db") and
 * multi-host key=value strings ("host=h1,h2 port=5432,5433") work as they
 * are.  In key=value strings, text inside single quotes (with the libpq
 * escapes \' and \\) is never split, so a value that really contains
 * ",<digits>=" must be quoted.  A trailing comma is an error.  Each
 * conninfo is checked with libpq's PQconninfoParse().
 *
 * Example:
 *   1=postgresql://raft@10.0.0.1:5432/app, 2=host=10.0.0.2 user=raft dbname=app
 *
 * Locking: none; see config.h.
 */
#include "postgres.h"

#include <ctype.h>
#include <limits.h>

#include "common/hashfn.h"
#include "lib/stringinfo.h"
#include "libpq-fe.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "config.h"

int			raft_ext_node_id = 0;
bool		raft_ext_join = false;
char	   *raft_ext_peers = NULL;
char	   *raft_ext_peer_roles = NULL;
char	   *raft_ext_database = NULL;
char	   *raft_ext_cluster_name = NULL;
int			raft_ext_election_timeout_min = 150;
int			raft_ext_election_timeout_max = 300;
int			raft_ext_heartbeat_interval = 50;
int			raft_ext_submit_timeout = 30000;
int			raft_ext_max_statement_size = 1024 * 1024;
int			raft_ext_inbox_size_kb = 16 * 1024;

static const RaftPeerList raft_conf_empty_peers = {0};
static const RaftPeerList *raft_conf_current_peers = NULL;

/*
 * PostgreSQL only warns when a custom variable's value from postgresql.conf
 * fails its check hook while the library is preloaded, and carries on with
 * the default: raft_ext would silently start unconfigured (or with other
 * timings).  So the hooks remember the first such failure and
 * raft_conf_validate() refuses to start the server with it.
 */
static char *raft_conf_startup_error = NULL;
static char *raft_conf_startup_detail = NULL;
static char *raft_conf_startup_hint = NULL;

static void
raft_conf_reject(const char *name, const char *detail, const char *hint)
{
	GUC_check_errdetail("%s", detail);
	if (hint)
		GUC_check_errhint("%s", hint);
	if (process_shared_preload_libraries_in_progress && raft_conf_startup_error == NULL)
	{
		raft_conf_startup_error = MemoryContextStrdup(TopMemoryContext, name);
		raft_conf_startup_detail = MemoryContextStrdup(TopMemoryContext, detail);
		raft_conf_startup_hint = hint ? MemoryContextStrdup(TopMemoryContext, hint) : NULL;
	}
}

static bool
raft_conf_is_uri(const char *s)
{
	return strncmp(s, "postgresql://", 13) == 0 || strncmp(s, "postgres://", 11) == 0;
}

/* Does p point at  ws* digit+ ws* "=" ? */
static bool
raft_conf_at_entry_start(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	if (!isdigit((unsigned char) *p))
		return false;
	while (isdigit((unsigned char) *p))
		p++;
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return *p == '=';
}

static bool
raft_conf_only_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return *p == '\0';
}

RaftPeerList *
raft_conf_parse_peers(const char *value, char **error)
{
	int			ids[RAFT_EXT_MAX_PEERS];
	char	   *conninfos[RAFT_EXT_MAX_PEERS];
	int			n = 0;
	const char *p = value ? value : "";
	Size		total;
	RaftPeerList *list;
	char	   *dst;
	int			i;

	*error = NULL;

	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;

	while (*p != '\0')
	{
		int64		id = 0;
		const char *start;
		const char *end;
		bool		kv;
		bool		inquote = false;
		char	   *conninfo;
		char	   *errmsg = NULL;
		PQconninfoOption *opts;

		if (n >= RAFT_EXT_MAX_PEERS)
		{
			*error = psprintf("more than %d members", RAFT_EXT_MAX_PEERS);
			return NULL;
		}
		if (!isdigit((unsigned char) *p))
		{
			*error = psprintf("entry %d does not start with a node id: expected \"id=connection string\"", n + 1);
			return NULL;
		}
		while (isdigit((unsigned char) *p))
		{
			id = id * 10 + (*p - '0');
			if (id > INT_MAX)
			{
				*error = psprintf("node id of entry %d is out of range", n + 1);
				return NULL;
			}
			p++;
		}
		if (id < 1)
		{
			*error = psprintf("node id of entry %d must be a positive integer", n + 1);
			return NULL;
		}
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '=')
		{
			*error = psprintf("entry %d: expected \"=\" after node id %d", n + 1, (int) id);
			return NULL;
		}
		p++;
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;

		start = p;
		kv = !raft_conf_is_uri(start);
		while (*p != '\0')
		{
			if (inquote)
			{
				if (*p == '\\' && p[1] != '\0')
					p += 2;
				else
				{
					if (*p == '\'')
						inquote = false;
					p++;
				}
				continue;
			}
			if (kv && *p == '\'')
				inquote = true;
			else if (*p == ',' && (raft_conf_at_entry_start(p + 1) ||
								   raft_conf_only_ws(p + 1)))
				break;
			p++;
		}
		if (inquote)
		{
			*error = psprintf("connection string of node %d has an unterminated quoted value", (int) id);
			return NULL;
		}
		end = p;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t' ||
							   end[-1] == '\n' || end[-1] == '\r'))
			end--;
		if (end == start)
		{
			*error = psprintf("connection string of node %d is empty", (int) id);
			return NULL;
		}
		conninfo = pnstrdup(start, end - start);

		opts = PQconninfoParse(conninfo, &errmsg);
		if (opts == NULL)
		{
			char	   *m = errmsg ? pstrdup(errmsg) : pstrdup("out of memory");
			int			len = strlen(m);

			if (errmsg)
				PQfreemem(errmsg);
			while (len > 0 && (m[len - 1] == '\n' || m[len - 1] == '.'))
				m[--len] = '\0';
			*error = psprintf("connection string of node %d is invalid: %s", (int) id, m);
			return NULL;
		}
		PQconninfoFree(opts);

		for (i = 0; i < n; i++)
		{
			if (ids[i] == (int) id)
			{
				*error = psprintf("node id %d appears more than once", (int) id);
				return NULL;
			}
		}
		ids[n] = (int) id;
		conninfos[n] = conninfo;
		n++;

		if (*p == ',')
		{
			p++;
			while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
				p++;
			if (*p == '\0')
			{
				*error = pstrdup("trailing comma after the last entry");
				return NULL;
			}
		}
	}

	total = offsetof(RaftPeerList, strings);
	for (i = 0; i < n; i++)
		total += strlen(conninfos[i]) + 1;
	list = malloc(total);
	if (list == NULL)
		return NULL;
	memset(list, 0, offsetof(RaftPeerList, strings));
	list->npeers = n;
	dst = list->strings;
	for (i = 0; i < n; i++)
	{
		Size		len = strlen(conninfos[i]) + 1;

		list->ids[i] = ids[i];
		list->conninfo_off[i] = dst - list->strings;
		memcpy(dst, conninfos[i], len);
		dst += len;
	}
	return list;
}

const RaftPeerList *
raft_conf_peers(void)
{
	return raft_conf_current_peers ? raft_conf_current_peers : &raft_conf_empty_peers;
}

int
raft_conf_peer_index(int node_id)
{
	const RaftPeerList *list = raft_conf_peers();
	int			i;

	for (i = 0; i < list->npeers; i++)
		if (list->ids[i] == node_id)
			return i;
	return -1;
}

bool
raft_conf_is_configured(void)
{
	return raft_ext_node_id > 0 &&
		(raft_ext_join || raft_conf_peer_index(raft_ext_node_id) >= 0);
}

uint64
raft_conf_cluster_id(void)
{
	const char *name = raft_ext_cluster_name ? raft_ext_cluster_name : "";

	return hash_bytes_extended((const unsigned char *) name, strlen(name), 0x7261667445787431ULL);
}

Size
raft_conf_inbox_bytes(void)
{
	return (Size) raft_ext_inbox_size_kb * 1024;
}

int
raft_conf_statement_limit(void)
{
	Size		by_inbox = raft_conf_inbox_bytes() / 4;

	if (by_inbox > 1024)
		by_inbox -= 1024;		/* room for the message and entry headers */
	if ((Size) raft_ext_max_statement_size < by_inbox)
		return raft_ext_max_statement_size;
	return (int) by_inbox;
}

static void
raft_conf_append_quoted(StringInfo buf, const char *val)
{
	const char *c;

	appendStringInfoChar(buf, '\'');
	for (c = val; *c; c++)
	{
		if (*c == '\'' || *c == '\\')
			appendStringInfoChar(buf, '\\');
		appendStringInfoChar(buf, *c);
	}
	appendStringInfoChar(buf, '\'');
}

char *
raft_conf_mask_conninfo(const char *conninfo)
{
	PQconninfoOption *opts;
	PQconninfoOption *o;
	char	   *errmsg = NULL;
	StringInfoData buf;

	opts = PQconninfoParse(conninfo, &errmsg);
	if (opts == NULL)
	{
		if (errmsg)
			PQfreemem(errmsg);
		return pstrdup("(invalid connection string)");
	}
	initStringInfo(&buf);
	for (o = opts; o->keyword != NULL; o++)
	{
		if (o->val == NULL)
			continue;
		if (buf.len > 0)
			appendStringInfoChar(&buf, ' ');
		appendStringInfo(&buf, "%s=", o->keyword);
		if (strcmp(o->keyword, "password") == 0)
			appendStringInfoString(&buf, "********");
		else
			raft_conf_append_quoted(&buf, o->val);
	}
	PQconninfoFree(opts);
	return buf.data;
}

/* ----------------------------------------------------------------------
 * GUC hooks
 * ---------------------------------------------------------------------- */

/*
 * Whether the node id is among raft_ext.peers is checked once every setting
 * is loaded (raft_conf_validate): a server joining an existing cluster
 * (raft_ext.join) need not be.
 */
bool
raft_conf_check_node_id(int *newval, void **extra, GucSource source)
{
	return true;
}

bool
raft_conf_check_peers(char **newval, void **extra, GucSource source)
{
	char	   *error = NULL;
	RaftPeerList *list;

	list = raft_conf_parse_peers(*newval, &error);
	if (list == NULL)
	{
		if (error == NULL)
		{
			GUC_check_errcode(ERRCODE_OUT_OF_MEMORY);
			GUC_check_errdetail("Out of memory while parsing raft_ext.peers.");
			return false;
		}
		raft_conf_reject("raft_ext.peers",
						 psprintf("raft_ext.peers: %s.", error),
						 "Use a comma-separated list of id=connection string, e.g. '1=postgresql://raft@10.0.0.1/app,2=host=10.0.0.2 user=raft dbname=app'.");
		return false;
	}
	*extra = list;
	return true;
}

void
raft_conf_assign_peers(const char *newval, void *extra)
{
	raft_conf_current_peers = (const RaftPeerList *) extra;
}

/*
 * raft_ext.peer_roles.  The parsed list is the GUC's "extra" (one malloc'd
 * block), immutable once assigned.
 */
typedef struct RaftPeerRoles
{
	int			n;
	int			ids[RAFT_EXT_MAX_PEERS];
	char		roles[RAFT_EXT_MAX_PEERS][NAMEDATALEN];
} RaftPeerRoles;

static const RaftPeerRoles *raft_conf_current_peer_roles = NULL;

/* Parse 'id=role, id=role'; NULL with *error set when malformed. */
static RaftPeerRoles *
raft_conf_parse_peer_roles(const char *value, char **error)
{
	RaftPeerRoles *r = malloc(sizeof(RaftPeerRoles));
	const char *p = value ? value : "";

	*error = NULL;
	if (r == NULL)
		return NULL;
	memset(r, 0, sizeof(*r));
	while (*p)
	{
		long		id;
		char	   *end;
		const char *role;
		size_t		rlen;
		int			i;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		if (r->n == RAFT_EXT_MAX_PEERS)
		{
			*error = psprintf("more than %d members", RAFT_EXT_MAX_PEERS);
			break;
		}
		errno = 0;
		id = strtol(p, &end, 10);
		if (end == p || errno != 0 || id <= 0 || id > INT_MAX || *end != '=')
		{
			*error = psprintf("expected id=role at \"%s\"", p);
			break;
		}
		role = end + 1;
		rlen = strcspn(role, ", \t");
		if (rlen == 0 || rlen >= NAMEDATALEN)
		{
			*error = psprintf("the role of member %ld is empty or longer than %d bytes", id, NAMEDATALEN - 1);
			break;
		}
		for (i = 0; i < r->n; i++)
			if (r->ids[i] == id || (strlen(r->roles[i]) == rlen && strncmp(r->roles[i], role, rlen) == 0))
				break;
		if (i < r->n)
		{
			*error = psprintf("member %ld or role \"%.*s\" appears twice", id, (int) rlen, role);
			break;
		}
		r->ids[r->n] = (int) id;
		memcpy(r->roles[r->n], role, rlen);
		r->n++;
		p = role + rlen;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == ',')
			p++;
		else if (*p != '\0')
		{
			*error = psprintf("expected a comma at \"%s\"", p);
			break;
		}
	}
	if (*error != NULL)
	{
		free(r);
		return NULL;
	}
	return r;
}

bool
raft_conf_check_peer_roles(char **newval, void **extra, GucSource source)
{
	char	   *error;
	RaftPeerRoles *r = raft_conf_parse_peer_roles(*newval, &error);

	if (r == NULL)
	{
		if (error == NULL)
		{
			GUC_check_errcode(ERRCODE_OUT_OF_MEMORY);
			GUC_check_errdetail("Out of memory while parsing raft_ext.peer_roles.");
			return false;
		}
		raft_conf_reject("raft_ext.peer_roles",
						 psprintf("raft_ext.peer_roles: %s.", error),
						 "Use a comma-separated list of id=role, one per member, e.g. '1=raft_node1, 2=raft_node2, 3=raft_node3'.");
		return false;
	}
	*extra = r;
	return true;
}

void
raft_conf_assign_peer_roles(const char *newval, void *extra)
{
	raft_conf_current_peer_roles = (const RaftPeerRoles *) extra;
}

bool
raft_conf_peer_roles_set(void)
{
	return raft_conf_current_peer_roles != NULL && raft_conf_current_peer_roles->n > 0;
}

int
raft_conf_node_of_role(const char *role)
{
	const RaftPeerRoles *r = raft_conf_current_peer_roles;
	int			i;

	if (r == NULL)
		return 0;
	for (i = 0; i < r->n; i++)
		if (strcmp(r->roles[i], role) == 0)
			return r->ids[i];
	return 0;
}

bool
raft_conf_check_database(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0')
	{
		raft_conf_reject("raft_ext.database", "raft_ext.database must name a database.", NULL);
		return false;
	}
	if (strlen(*newval) >= NAMEDATALEN)
	{
		raft_conf_reject("raft_ext.database",
						 psprintf("raft_ext.database is longer than %d bytes.", NAMEDATALEN - 1), NULL);
		return false;
	}
	return true;
}

void
raft_conf_validate(void)
{
	const RaftPeerList *list = raft_conf_peers();

	if (raft_conf_startup_error != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("raft_ext: invalid value for parameter \"%s\"", raft_conf_startup_error),
				 errdetail_internal("%s", raft_conf_startup_detail),
				 raft_conf_startup_hint ? errhint("%s", raft_conf_startup_hint) : 0));
	if (raft_ext_node_id > 0 && raft_ext_join && list->npeers == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("raft_ext.join is on but raft_ext.peers is empty"),
				 errdetail("A server waiting to be added answers the leader through raft_ext.peers until it has learnt the configuration from the log."),
				 errhint("List the cluster's members in raft_ext.peers, as the other members do (this server need not be in it).")));
	if (raft_ext_node_id > 0 && list->npeers > 0 && !raft_ext_join &&
		raft_conf_peer_index(raft_ext_node_id) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("raft_ext.node_id %d is not listed in raft_ext.peers", raft_ext_node_id),
				 errhint("raft_ext.peers lists the members of a new cluster, this node included; a server to be added to an existing cluster sets raft_ext.join = on (README, \"Adding a server\").")));
	if (raft_conf_peer_roles_set() && list->npeers > 0)
	{
		const RaftPeerRoles *r = raft_conf_current_peer_roles;
		int			i;

		for (i = 0; i < list->npeers; i++)
		{
			int			k;

			for (k = 0; k < r->n; k++)
				if (r->ids[k] == list->ids[i])
					break;
			if (k == r->n)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("raft_ext.peer_roles gives no role for member %d", list->ids[i]),
						 errhint("raft_ext.peer_roles must name a role for every member of raft_ext.peers, or be empty.")));
		}
	}
	/*
	 * The timing settings are checked against each other here, once all are
	 * loaded, and not in their check hooks: a hook runs when its own setting
	 * is defined, and would compare the configured value of one with the
	 * built-in default of another (election_timeout_min = 400 looked larger
	 * than the not-yet-loaded election_timeout_max's default of 300).
	 */
	if (raft_ext_heartbeat_interval / RAFT_EXT_TICK_MS >= raft_ext_election_timeout_min / RAFT_EXT_TICK_MS ||
		raft_ext_election_timeout_min / RAFT_EXT_TICK_MS >= raft_ext_election_timeout_max / RAFT_EXT_TICK_MS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("raft_ext timing settings are inconsistent"),
				 errdetail("heartbeat_interval = %d ms, election_timeout_min = %d ms, election_timeout_max = %d ms.",
						   raft_ext_heartbeat_interval, raft_ext_election_timeout_min,
						   raft_ext_election_timeout_max),
				 errhint("Require heartbeat_interval < election_timeout_min < election_timeout_max (in steps of %d ms).",
						 RAFT_EXT_TICK_MS)));
}
