/*
 * payload.c — encode and decode the content of NORMAL log entries.
 * Format: see payload.h.
 *
 * Locking: none.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/guc.h"

#include "params.h"
#include "payload.h"

/*
 * What changes the meaning of a statement's text or of its data: name
 * resolution, the time zone, date and interval input, string literal
 * syntax, float-to-text conversion.  Every node sets these (LOCAL) before
 * running the statement, whatever its own configuration says.
 */
const char *const raft_payload_setting_names[] = {
	"search_path", "TimeZone", "DateStyle", "IntervalStyle",
	"standard_conforming_strings", "backslash_quote", "extra_float_digits",
	"raft_ext.apply_timeout"
};
const int	raft_payload_nsetting_names = lengthof(raft_payload_setting_names);

/* A setting's number in raft_payload_setting_names, or -1. */
static int
raft_payload_setting_number(const char *name)
{
	int			k;

	for (k = 0; k < raft_payload_nsetting_names; k++)
		if (strcmp(name, raft_payload_setting_names[k]) == 0)
			return k;
	return -1;
}

static void
raft_payload_put_u16(char **p, uint16 v)
{
	(*p)[0] = (char) (v & 0xff);
	(*p)[1] = (char) (v >> 8);
	*p += 2;
}

static void
raft_payload_put_u32(char **p, uint32 v)
{
	(*p)[0] = (char) (v & 0xff);
	(*p)[1] = (char) ((v >> 8) & 0xff);
	(*p)[2] = (char) ((v >> 16) & 0xff);
	(*p)[3] = (char) (v >> 24);
	*p += 4;
}

static void
raft_payload_put_u64(char **p, uint64 v)
{
	raft_payload_put_u32(p, (uint32) (v & 0xffffffff));
	raft_payload_put_u32(p, (uint32) (v >> 32));
}

static uint64
raft_payload_read_u64(const char *b)
{
	const unsigned char *u = (const unsigned char *) b;
	uint64		v = 0;
	int			i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | u[i];
	return v;
}

char
raft_payload_kind(const char *buf, Size len)
{
	if (len < 3 || buf[0] != 'R')
		return 0;
	return buf[1];
}

void
raft_payload_begin(StringInfo buf, char kind)
{
	char		header[RAFT_PAYLOAD_HEADER_LEN];

	memset(header, 0, sizeof(header));
	header[0] = 'R';
	header[1] = kind;
	header[2] = RAFT_PAYLOAD_STAMPED_VERSION;
	appendBinaryStringInfo(buf, header, sizeof(header));
}

bool
raft_payload_get_stamp(const char *buf, Size len, TimestampTz *stamp)
{
	if (len < RAFT_PAYLOAD_HEADER_LEN || buf[0] != 'R' ||
		(unsigned char) buf[2] < RAFT_PAYLOAD_STAMPED_VERSION)
		return false;
	*stamp = (TimestampTz) raft_payload_read_u64(buf + 3);
	return true;
}

bool
raft_payload_set_stamp(char *buf, Size len, TimestampTz stamp)
{
	char	   *w = buf + 3;

	if (len < RAFT_PAYLOAD_HEADER_LEN || buf[0] != 'R' ||
		(unsigned char) buf[2] < RAFT_PAYLOAD_STAMPED_VERSION)
		return false;
	raft_payload_put_u64(&w, (uint64) stamp);
	return true;
}

char *
raft_payload_encode(const RaftPayload *p, Size *len_out)
{
	Size		len = RAFT_PAYLOAD_HEADER_LEN + 2 + strlen(p->role) + 1 + 4 + p->sql_len;
	char	   *buf;
	char	   *w;
	int			i;
	bool		v4 = p->nparams > 0 || p->flags != 0;

	Assert(p->nsettings <= RAFT_PAYLOAD_MAX_SETTINGS);
	if (strlen(p->role) > PG_UINT16_MAX)
		elog(ERROR, "raft_ext: role name too long");
	for (i = 0; i < p->nsettings; i++)
		len += 1 + 4 + strlen(p->values[i]);
	if (p->sql_len > PG_UINT32_MAX)
		elog(ERROR, "raft_ext: statement too long");
	if (v4)
	{
		len += 1 + 2 + ((p->flags & RAFT_PAYLOAD_WANTS_ROWS) ? 4 : 0);
		if (p->flags & RAFT_PAYLOAD_REQUEST_ID)
		{
			if (strlen(p->request_id) > PG_UINT16_MAX)
				elog(ERROR, "raft_ext: request id too long");
			len += 2 + strlen(p->request_id) + 4;
		}
		for (i = 0; i < p->nparams; i++)
		{
			if (strlen(p->params[i].type) > PG_UINT16_MAX)
				elog(ERROR, "raft_ext: type name too long");
			len += 2 + strlen(p->params[i].type) + 1;
			if (!p->params[i].isnull)
				len += 4 + strlen(p->params[i].value);
		}
	}

	buf = palloc(len);
	w = buf;
	*w++ = 'R';
	*w++ = 'X';
	*w++ = v4 ? RAFT_PAYLOAD_PARAMS_VERSION : RAFT_PAYLOAD_STAMPED_VERSION;
	raft_payload_put_u64(&w, (uint64) p->stamp);
	raft_payload_put_u16(&w, (uint16) strlen(p->role));
	memcpy(w, p->role, strlen(p->role));
	w += strlen(p->role);
	*w++ = (char) p->nsettings;
	for (i = 0; i < p->nsettings; i++)
	{
		int			k = raft_payload_setting_number(p->names[i]);
		Size		vl = strlen(p->values[i]);

		if (k < 0)
			elog(ERROR, "raft_ext: setting \"%s\" cannot be carried in a payload", p->names[i]);
		*w++ = (char) k;
		raft_payload_put_u32(&w, (uint32) vl);
		memcpy(w, p->values[i], vl);
		w += vl;
	}
	if (v4)
	{
		*w++ = (char) p->flags;
		if (p->flags & RAFT_PAYLOAD_WANTS_ROWS)
			raft_payload_put_u32(&w, p->max_result_kb);
		if (p->flags & RAFT_PAYLOAD_REQUEST_ID)
		{
			Size		rl = strlen(p->request_id);

			raft_payload_put_u16(&w, (uint16) rl);
			memcpy(w, p->request_id, rl);
			w += rl;
			raft_payload_put_u32(&w, p->retention_s);
		}
		raft_payload_put_u16(&w, (uint16) p->nparams);
		for (i = 0; i < p->nparams; i++)
		{
			Size		tl = strlen(p->params[i].type);

			raft_payload_put_u16(&w, (uint16) tl);
			memcpy(w, p->params[i].type, tl);
			w += tl;
			*w++ = p->params[i].isnull ? 1 : 0;
			if (!p->params[i].isnull)
			{
				Size		vl = strlen(p->params[i].value);

				raft_payload_put_u32(&w, (uint32) vl);
				memcpy(w, p->params[i].value, vl);
				w += vl;
			}
		}
	}
	raft_payload_put_u32(&w, (uint32) p->sql_len);
	memcpy(w, p->sql, p->sql_len);
	w += p->sql_len;
	Assert((Size) (w - buf) == len);
	*len_out = len;
	return buf;
}

char *
raft_payload_capture(const char *sql, Size sql_len, int nparams, const RaftParam *params,
					 uint8 flags, uint32 max_result_kb, const char *request_id,
					 uint32 retention_s, Size *len_out)
{
	RaftPayload p;
	int			i;

	memset(&p, 0, sizeof(p));
	p.role = GetUserNameFromId(GetUserId(), false);
	for (i = 0; i < raft_payload_nsetting_names; i++)
	{
		const char *v = GetConfigOption(raft_payload_setting_names[i], true, false);

		if (v == NULL)
			continue;
		p.names[p.nsettings] = (char *) raft_payload_setting_names[i];
		p.values[p.nsettings] = pstrdup(v);
		p.nsettings++;
	}
	p.flags = flags;
	p.max_result_kb = max_result_kb;
	p.request_id = (char *) request_id;
	p.retention_s = retention_s;
	p.nparams = nparams;
	p.params = (RaftParam *) params;
	p.sql = (char *) sql;
	p.sql_len = sql_len;
	return raft_payload_encode(&p, len_out);
}

typedef struct RaftPayloadReader
{
	const unsigned char *p;
	const unsigned char *end;
} RaftPayloadReader;

static bool
raft_payload_get_u8(RaftPayloadReader *r, uint32 *v)
{
	if (r->end - r->p < 1)
		return false;
	*v = r->p[0];
	r->p += 1;
	return true;
}

static bool
raft_payload_get_u16(RaftPayloadReader *r, uint32 *v)
{
	if (r->end - r->p < 2)
		return false;
	*v = (uint32) r->p[0] | ((uint32) r->p[1] << 8);
	r->p += 2;
	return true;
}

static bool
raft_payload_get_u32(RaftPayloadReader *r, uint32 *v)
{
	if (r->end - r->p < 4)
		return false;
	*v = (uint32) r->p[0] | ((uint32) r->p[1] << 8) |
		((uint32) r->p[2] << 16) | ((uint32) r->p[3] << 24);
	r->p += 4;
	return true;
}

static bool
raft_payload_get_str(RaftPayloadReader *r, uint32 len, char **out)
{
	if ((Size) (r->end - r->p) < len)
		return false;
	if (memchr(r->p, '\0', len) != NULL)
		return false;
	*out = pnstrdup((const char *) r->p, len);
	r->p += len;
	return true;
}

const char *
raft_payload_decode(const char *buf, Size len, RaftPayload *p)
{
	RaftPayloadReader r;
	uint32		v;
	uint32		n;
	uint32		i;

	memset(p, 0, sizeof(*p));
	r.p = (const unsigned char *) buf;
	r.end = r.p + len;

	if (len < 3 || buf[0] != 'R' || buf[1] != 'X')
		return "bad magic";
	if (buf[2] < 1 || buf[2] > RAFT_PAYLOAD_VERSION)
		return "unknown payload version";
	r.p += 3;
	if (buf[2] >= RAFT_PAYLOAD_STAMPED_VERSION)
	{
		if (len < RAFT_PAYLOAD_HEADER_LEN)
			return "bad stamp";
		p->stamp = (TimestampTz) raft_payload_read_u64(buf + 3);
		if (p->stamp < 0)
			return "bad stamp";
		r.p += 8;
	}
	if (!raft_payload_get_u16(&r, &v) || v == 0 || v >= NAMEDATALEN ||
		!raft_payload_get_str(&r, v, &p->role))
		return "bad role name";
	if (!raft_payload_get_u8(&r, &n) || n > RAFT_PAYLOAD_MAX_SETTINGS)
		return "bad settings count";
	for (i = 0; i < n; i++)
	{
		char	   *name;
		char	   *value;
		int			k;

		if (buf[2] == 1)
		{
			if (!raft_payload_get_u8(&r, &v) || !raft_payload_get_str(&r, v, &name))
				return "bad setting name";
			k = raft_payload_setting_number(name);
		}
		else
		{
			if (!raft_payload_get_u8(&r, &v))
				return "bad setting number";
			k = v < (uint32) raft_payload_nsetting_names ? (int) v : -1;
		}
		if (k < 0)
			return "setting not allowed in a payload";
		name = (char *) raft_payload_setting_names[k];
		if (!raft_payload_get_u32(&r, &v) || !raft_payload_get_str(&r, v, &value))
			return "bad setting value";
		p->names[p->nsettings] = name;
		p->values[p->nsettings] = value;
		p->nsettings++;
	}
	if (buf[2] >= RAFT_PAYLOAD_PARAMS_VERSION)
	{
		if (!raft_payload_get_u8(&r, &v) ||
			(v & ~(RAFT_PAYLOAD_WANTS_ROWS | RAFT_PAYLOAD_REQUEST_ID)) != 0)
			return "bad flags";
		p->flags = (uint8) v;
		if ((p->flags & RAFT_PAYLOAD_WANTS_ROWS) &&
			(!raft_payload_get_u32(&r, &p->max_result_kb) || p->max_result_kb == 0))
			return "bad result limit";
		if ((p->flags & RAFT_PAYLOAD_REQUEST_ID) &&
			(!raft_payload_get_u16(&r, &v) || v == 0 || !raft_payload_get_str(&r, v, &p->request_id) ||
			 !raft_payload_get_u32(&r, &p->retention_s)))
			return "bad request id";
		if (!raft_payload_get_u16(&r, &n))
			return "bad parameter count";
		p->nparams = (int) n;
		p->params = n > 0 ? palloc0(sizeof(RaftParam) * n) : NULL;
		for (i = 0; i < n; i++)
		{
			RaftParam  *prm = &p->params[i];

			if (!raft_payload_get_u16(&r, &v) || v == 0 || !raft_payload_get_str(&r, v, &prm->type))
				return "bad parameter type";
			if (!raft_payload_get_u8(&r, &v) || v > 1)
				return "bad parameter";
			prm->isnull = v == 1;
			if (!prm->isnull &&
				(!raft_payload_get_u32(&r, &v) || !raft_payload_get_str(&r, v, &prm->value)))
				return "bad parameter value";
		}
	}
	if (!raft_payload_get_u32(&r, &v) || !raft_payload_get_str(&r, v, &p->sql))
		return "bad statement";
	p->sql_len = v;
	if (r.p != r.end)
		return "trailing bytes";
	return NULL;
}
