/*
 * outcome.c — the outcome of a log entry: its encoding, and how a backend
 * hands it to its client (see outcome.h).
 *
 * Locking: none.
 */
#include "postgres.h"

#include "libpq/pqformat.h"
#include "utils/elog.h"
#include "utils/memutils.h"

#include "outcome.h"

#define RAFT_OUTCOME_MAGIC0 'R'
#define RAFT_OUTCOME_MAGIC1 'O'
#define RAFT_OUTCOME_VERSION 1
#define RAFT_OUTCOME_RESULT_VERSION 2	/* with a result set */

#define RAFT_OUTCOME_HAS_TAG 1
#define RAFT_OUTCOME_HAS_ROWS 2
#define RAFT_OUTCOME_DUPLICATE 4

static void
raft_outcome_put_string(StringInfo buf, const char *s)
{
	if (s == NULL)
	{
		pq_sendint32(buf, (uint32) -1);
		return;
	}
	pq_sendint32(buf, (uint32) strlen(s));
	appendBinaryStringInfo(buf, s, strlen(s));
}

void
raft_outcome_encode(StringInfo buf, const RaftOutcome *o)
{
	ListCell   *lc;

	appendStringInfoChar(buf, RAFT_OUTCOME_MAGIC0);
	appendStringInfoChar(buf, RAFT_OUTCOME_MAGIC1);
	pq_sendbyte(buf, o->has_result ? RAFT_OUTCOME_RESULT_VERSION : RAFT_OUTCOME_VERSION);
	pq_sendint64(buf, o->index);
	pq_sendint64(buf, o->term);
	pq_sendbyte(buf, (o->command_tag ? RAFT_OUTCOME_HAS_TAG : 0) |
				(o->has_rows ? RAFT_OUTCOME_HAS_ROWS : 0) |
				(o->duplicate ? RAFT_OUTCOME_DUPLICATE : 0));
	pq_sendint64(buf, o->rows);
	pq_sendint32(buf, (uint32) o->sqlerrcode);
	raft_outcome_put_string(buf, o->command_tag);
	raft_outcome_put_string(buf, o->message);
	raft_outcome_put_string(buf, o->detail);
	raft_outcome_put_string(buf, o->hint);
	pq_sendint32(buf, o->notices_dropped);
	pq_sendint16(buf, (uint16) list_length(o->notices));
	foreach(lc, o->notices)
	{
		RaftNotice *n = (RaftNotice *) lfirst(lc);

		pq_sendint32(buf, (uint32) n->elevel);
		pq_sendint32(buf, (uint32) n->sqlerrcode);
		raft_outcome_put_string(buf, n->message);
		raft_outcome_put_string(buf, n->detail);
		raft_outcome_put_string(buf, n->hint);
	}
	if (o->has_result)
	{
		uint64		i;

		pq_sendbyte(buf, o->result_too_large ? 1 : 0);
		pq_sendint64(buf, o->result_rows);
		pq_sendint16(buf, (uint16) o->result_ncols);
		pq_sendint32(buf, o->result_nkept);
		for (i = 0; i < (uint64) o->result_nkept * o->result_ncols; i++)
			raft_outcome_put_string(buf, o->result_values[i]);
	}
}

static void
raft_outcome_malformed(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROTOCOL_VIOLATION),
			 errmsg("raft_ext: malformed entry outcome: %s", what)));
}

static char *
raft_outcome_get_string(StringInfo msg)
{
	int32		len = (int32) pq_getmsgint(msg, 4);
	char	   *s;

	if (len == -1)
		return NULL;
	if (len < 0 || len > msg->len - msg->cursor)
		raft_outcome_malformed("bad string length");
	s = palloc(len + 1);
	pq_copymsgbytes(msg, s, len);
	s[len] = '\0';
	if (strlen(s) != (size_t) len)
		raft_outcome_malformed("NUL inside a string");
	return s;
}

/* SQLSTATEs are five characters of [0-9A-Z]: refuse anything else. */
static int
raft_outcome_get_sqlstate(StringInfo msg, bool zero_ok)
{
	int			code = (int) pq_getmsgint(msg, 4);
	int			i;

	if (code == 0 && zero_ok)
		return 0;
	for (i = 0; i < 5; i++)
	{
		int			c = PGUNSIXBIT(code >> (6 * i));

		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')))
			raft_outcome_malformed("bad SQLSTATE");
	}
	if (code & ~((1 << 30) - 1))
		raft_outcome_malformed("bad SQLSTATE");
	return code;
}

void
raft_outcome_decode(const char *data, int len, RaftOutcome *o)
{
	StringInfoData msg;
	int			flags;
	int			n;
	int			i;

	memset(o, 0, sizeof(*o));
	msg.data = (char *) data;
	msg.len = len;
	msg.maxlen = len;
	msg.cursor = 0;
	if (len < 3 || data[0] != RAFT_OUTCOME_MAGIC0 || data[1] != RAFT_OUTCOME_MAGIC1)
		raft_outcome_malformed("bad magic");
	if (data[2] != RAFT_OUTCOME_VERSION && data[2] != RAFT_OUTCOME_RESULT_VERSION)
		raft_outcome_malformed("unknown version");
	msg.cursor = 3;
	o->index = (uint64) pq_getmsgint64(&msg);
	o->term = (uint64) pq_getmsgint64(&msg);
	flags = pq_getmsgbyte(&msg);
	if (flags & ~(RAFT_OUTCOME_HAS_TAG | RAFT_OUTCOME_HAS_ROWS | RAFT_OUTCOME_DUPLICATE))
		raft_outcome_malformed("bad flags");
	o->duplicate = (flags & RAFT_OUTCOME_DUPLICATE) != 0;
	o->has_rows = (flags & RAFT_OUTCOME_HAS_ROWS) != 0;
	o->rows = (uint64) pq_getmsgint64(&msg);
	o->sqlerrcode = raft_outcome_get_sqlstate(&msg, true);
	o->command_tag = raft_outcome_get_string(&msg);
	if ((o->command_tag != NULL) != ((flags & RAFT_OUTCOME_HAS_TAG) != 0))
		raft_outcome_malformed("tag and flags disagree");
	o->message = raft_outcome_get_string(&msg);
	o->detail = raft_outcome_get_string(&msg);
	o->hint = raft_outcome_get_string(&msg);
	o->notices_dropped = pq_getmsgint(&msg, 4);
	n = pq_getmsgint(&msg, 2);
	if (n > RAFT_OUTCOME_MAX_NOTICES)
		raft_outcome_malformed("too many notices");
	for (i = 0; i < n; i++)
	{
		RaftNotice *nt = palloc0(sizeof(RaftNotice));

		nt->elevel = (int) pq_getmsgint(&msg, 4);
		if (nt->elevel != INFO && nt->elevel != NOTICE && nt->elevel != WARNING)
			raft_outcome_malformed("bad notice level");
		nt->sqlerrcode = raft_outcome_get_sqlstate(&msg, false);
		nt->message = raft_outcome_get_string(&msg);
		nt->detail = raft_outcome_get_string(&msg);
		nt->hint = raft_outcome_get_string(&msg);
		o->notices = lappend(o->notices, nt);
	}
	if (data[2] == RAFT_OUTCOME_RESULT_VERSION)
	{
		int			rflags = pq_getmsgbyte(&msg);
		uint64		nvalues;
		uint64		k;

		if (rflags & ~1)
			raft_outcome_malformed("bad result flags");
		o->has_result = true;
		o->result_too_large = rflags != 0;
		o->result_rows = (uint64) pq_getmsgint64(&msg);
		o->result_ncols = pq_getmsgint(&msg, 2);
		o->result_nkept = pq_getmsgint(&msg, 4);
		nvalues = (uint64) o->result_nkept * o->result_ncols;
		/* each value takes at least its 4-byte length: check before allocating */
		if (nvalues > (uint64) (msg.len - msg.cursor) / 4 || o->result_nkept > o->result_rows)
			raft_outcome_malformed("bad result size");
		o->result_values = palloc(sizeof(char *) * Max(nvalues, 1));
		for (k = 0; k < nvalues; k++)
			o->result_values[k] = raft_outcome_get_string(&msg);
	}
	if (msg.cursor != msg.len)
		raft_outcome_malformed("trailing bytes");
}

void
raft_outcome_raise(const RaftOutcome *o)
{
	if (o->sqlerrcode == 0)
		return;

	/*
	 * The context line says that the statement was appended and committed,
	 * and where to find its outcome: an error raised before anything was
	 * appended never has one.
	 */
	ereport(ERROR,
			(errcode(o->sqlerrcode),
			 errmsg_internal("%s", o->message ? o->message : "statement failed"),
			 o->detail ? errdetail_internal("%s", o->detail) : 0,
			 o->hint ? errhint("%s", o->hint) : 0,
			 errcontext("applied as Raft log entry %llu (term %llu); this error is its recorded outcome (raft_ext.outcome) on every node",
						(unsigned long long) o->index, (unsigned long long) o->term)));
}

void
raft_outcome_relay_notices(const RaftOutcome *o)
{
	ListCell   *lc;

	foreach(lc, o->notices)
	{
		RaftNotice *n = (RaftNotice *) lfirst(lc);

		ereport(n->elevel,
				(errcode(n->sqlerrcode),
				 errmsg_internal("%s", n->message ? n->message : ""),
				 n->detail ? errdetail_internal("%s", n->detail) : 0,
				 n->hint ? errhint("%s", n->hint) : 0));
	}
	if (o->notices_dropped > 0)
		ereport(NOTICE,
				(errmsg("raft_ext: %u more notices raised by the statement were not relayed",
						o->notices_dropped),
				 errdetail("At most %d notices and %d kB of their text are relayed for one statement.",
						   RAFT_OUTCOME_MAX_NOTICES, RAFT_OUTCOME_MAX_NOTICE_BYTES / 1024)));
}

void
raft_outcome_add_notice(RaftOutcome *o, int elevel, int sqlerrcode, const char *message,
						const char *detail, const char *hint)
{
	RaftNotice *n;
	Size		bytes = 0;
	ListCell   *lc;

	foreach(lc, o->notices)
	{
		RaftNotice *k = (RaftNotice *) lfirst(lc);

		bytes += (k->message ? strlen(k->message) : 0) + (k->detail ? strlen(k->detail) : 0) +
			(k->hint ? strlen(k->hint) : 0);
	}
	bytes += (message ? strlen(message) : 0) + (detail ? strlen(detail) : 0) +
		(hint ? strlen(hint) : 0);
	if (list_length(o->notices) >= RAFT_OUTCOME_MAX_NOTICES ||
		bytes > RAFT_OUTCOME_MAX_NOTICE_BYTES)
	{
		o->notices_dropped++;
		return;
	}
	n = palloc0(sizeof(RaftNotice));
	n->elevel = elevel;
	n->sqlerrcode = sqlerrcode;
	n->message = message ? pstrdup(message) : NULL;
	n->detail = detail ? pstrdup(detail) : NULL;
	n->hint = hint ? pstrdup(hint) : NULL;
	o->notices = lappend(o->notices, n);
}
