/*
 * encoding.c — the wire format of the Raft core's messages.
 *
 * The core hands the host raft_message structs to send and takes them back
 * in raft_step(); between two nodes they travel as bytes made here.  The
 * host's transport only has to frame them (it knows each message's length);
 * everything inside the frame is this file's business.
 *
 * Format (version 1; raft.h "Wire encoding" is the reference):
 *
 *   "RF" | version:1 | type:1 | clusterId:8 (little endian)
 *   | from | to | term | per-type fields
 *
 * All other integers are unsigned LEB128 varints (7 bits a byte, low group
 * first, high bit = "more"), bools are one byte 0/1, and AppendEntries
 * carries its entries as term | type:1 | len | data[len], the index being
 * implicit (prevLogIndex + 1 + i).  Fields a type does not use are not sent
 * and decode as zero.
 *
 * Why this shape:
 *  - compact: heartbeats and votes are a dozen or two bytes, since ids,
 *    terms and indexes are small numbers almost always; entry indexes cost
 *    nothing at all;
 *  - versioned: the version byte sits right after the magic and is checked
 *    before anything else is read, so a later format can change everything
 *    after it and an old node answers RAFT_EVERSION rather than misreading;
 *    the cluster id keeps a node that was pointed at the wrong cluster (or
 *    a stale one on a reused address) from voting or appending there;
 *  - bounded: terms and indexes above RAFT_MAX_TERM / RAFT_MAX_INDEX are
 *    refused (raft.h says why), so one node cannot hand the others a value
 *    whose next term or index would wrap;
 *  - defensive: the decoder reads bytes from the network, so it treats
 *    them as hostile.  Every read is bounds-checked, every limit is checked
 *    before it is used (in particular the entry count is checked against
 *    the bytes left BEFORE the entries array is allocated, so a forged
 *    count cannot make us allocate much more than ~11 times the input
 *    size), and on any error nothing is left allocated.
 *
 * The data of a RAFT_ENTRY_CONFIG entry (a configuration: raft.h,
 * Membership) is encoded here too, with the same varints and the same
 * strictness (raft_configuration_encode / _decode, at the end).
 *
 * The encoding is canonical: one message has exactly one encoding, and the
 * decoder accepts nothing else.  So varints with redundant high zero groups
 * (0x80 0x00 for 0), bool bytes other than 0/1 and trailing bytes are all
 * refused.  That makes "decode, then re-encode gives the same bytes" a
 * property the fuzzer can check, which catches any field the two sides
 * disagree on, and leaves no room for two nodes to read one message
 * differently.
 *
 * raft_encoded_size() and raft_encode() share one walk over the message
 * (encode_message), so the size is the bytes written by construction.  The
 * walk is a single pass with no allocation: when the caller's buffer runs
 * out it goes on counting instead of writing, so a message that is both
 * invalid and too big is reported as invalid, whatever the buffer.
 */
#include <stdlib.h>
#include <string.h>

#include "raft_int.h"

#define WIRE_HEADER_SIZE 12		/* magic 2, version 1, type 1, clusterId 8 */
#define VARINT_MAX_BYTES 10		/* ceil(64 / 7) */
#define ENTRY_MIN_BYTES 3		/* term varint, type byte, len varint */

static const uint8_t wire_magic[2] = {'R', 'F'};

/* ---------------------------------------------------------------------
 * Allocation: the host's allocator, or libc when it passes NULL.
 * --------------------------------------------------------------------- */
static void *
enc_malloc(const raft_allocator *a, size_t size)
{
	if (a == NULL)
		return malloc(size);
	return a->malloc(a->ctx, size);
}

static void
enc_free(const raft_allocator *a, void *ptr)
{
	if (ptr == NULL)
		return;
	if (a == NULL)
		free(ptr);
	else
		a->free(a->ctx, ptr);
}

/* ---------------------------------------------------------------------
 * Encoding
 * --------------------------------------------------------------------- */
typedef struct encoder
{
	uint8_t    *buf;			/* NULL: count only */
	size_t		cap;
	size_t		pos;			/* bytes the message needs so far */
	bool		overflowed;		/* the caller's buffer was too small */
	bool		huge;			/* the size does not fit in a size_t */
} encoder;

static size_t
varint_size(uint64_t v)
{
	size_t		n = 1;

	while (v >= 0x80)
	{
		v >>= 7;
		n++;
	}
	return n;
}

static uint8_t *
write_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80)
	{
		*p++ = (uint8_t) (v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t) v;
	return p;
}

/*
 * Claim n bytes of output; NULL when there is nowhere to write them, in
 * which case they are only counted.  Only 32-bit hosts can hit "huge"
 * (65536 entries of 64 MiB), but there it would wrap the count silently.
 */
static uint8_t *
enc_claim(encoder *e, size_t n)
{
	uint8_t    *p;

	if (e->buf != NULL && e->cap - e->pos >= n)
	{
		p = e->buf + e->pos;
		e->pos += n;
		return p;
	}
	if (e->buf != NULL)
	{
		e->buf = NULL;
		e->overflowed = true;
	}
	if (SIZE_MAX - e->pos < n)
		e->huge = true;
	else
		e->pos += n;
	return NULL;
}

static void
put_u8(encoder *e, uint8_t b)
{
	uint8_t    *p = enc_claim(e, 1);

	if (p != NULL)
		*p = b;
}

static void
put_bool(encoder *e, bool b)
{
	put_u8(e, b ? 1 : 0);
}

static void
put_varint(encoder *e, uint64_t v)
{
	uint8_t    *p;

	/* Hot path: with room for the longest varint, skip measuring. */
	if (e->buf != NULL && e->cap - e->pos >= VARINT_MAX_BYTES)
	{
		p = write_varint(e->buf + e->pos, v);
		e->pos = (size_t) (p - e->buf);
		return;
	}
	p = enc_claim(e, varint_size(v));
	if (p != NULL)
		write_varint(p, v);
}

static void
put_bytes(encoder *e, const void *data, size_t len)
{
	uint8_t    *p = enc_claim(e, len);

	if (p != NULL && len > 0)
		memcpy(p, data, len);
}

/*
 * Are the terms and indexes m's type carries within range, the last
 * entry's index included?  Entries' own terms are judged by the caller.
 * Shared with raft_step(), which must refuse what the decoder refuses.
 */
bool
raft_message_fields_in_range(const raft_message *m)
{
	if (m->term > RAFT_MAX_TERM)
		return false;
	switch ((raft_message_type) m->type)
	{
		case RAFT_MSG_APPEND_ENTRIES:
			return m->prevLogIndex <= RAFT_MAX_INDEX && m->prevLogTerm <= RAFT_MAX_TERM &&
				m->leaderCommit <= RAFT_MAX_INDEX &&
				m->nEntries <= RAFT_MAX_INDEX - m->prevLogIndex;
		case RAFT_MSG_APPEND_ENTRIES_RESULT:
			return m->matchIndex <= RAFT_MAX_INDEX && m->rejectedIndex <= RAFT_MAX_INDEX &&
				m->conflictIndex <= RAFT_MAX_INDEX && m->conflictTerm <= RAFT_MAX_TERM &&
				m->lastLogIndex <= RAFT_MAX_INDEX;
		case RAFT_MSG_REQUEST_VOTE:
		case RAFT_MSG_PRE_VOTE:
			return m->lastLogIndex <= RAFT_MAX_INDEX && m->lastLogTerm <= RAFT_MAX_TERM;
		case RAFT_MSG_READ_INDEX_RESULT:
			return m->readIndex <= RAFT_MAX_INDEX;
		case RAFT_MSG_INSTALL_SNAPSHOT:
			return m->lastIncludedIndex <= RAFT_MAX_INDEX &&
				m->lastIncludedTerm <= RAFT_MAX_TERM;
		case RAFT_MSG_REQUEST_VOTE_RESULT:
		case RAFT_MSG_PRE_VOTE_RESULT:
		case RAFT_MSG_TIMEOUT_NOW:
		case RAFT_MSG_READ_INDEX:
		case RAFT_MSG_PROPOSE:
			return true;
	}
	return false;
}

/*
 * The one walk behind raft_encoded_size() and raft_encode().  The encoder
 * refuses what the decoder would refuse, so that a message that leaves one
 * node is never one the others drop as malformed.
 */
static int
encode_message(encoder *e, const raft_message *m, uint64_t clusterId)
{
	uint8_t    *p;
	uint32_t	i;
	int			k;

	if (m == NULL)
		return RAFT_EINVAL;
	if (m->type == 0 || m->type > RAFT_MSG_TYPE_MAX)
		return RAFT_EINVAL;
	if (m->nEntries > 0)
	{
		if ((m->type != RAFT_MSG_APPEND_ENTRIES && m->type != RAFT_MSG_PROPOSE) ||
			m->entries == NULL)
			return RAFT_EINVAL;
		if (m->nEntries > RAFT_MAX_ENTRIES_PER_MESSAGE)
			return RAFT_ETOOBIG;
	}
	/* this also keeps the last entry's index within RAFT_MAX_INDEX */
	if (!raft_message_fields_in_range(m))
		return RAFT_EINVAL;

	p = enc_claim(e, WIRE_HEADER_SIZE);
	if (p != NULL)
	{
		p[0] = wire_magic[0];
		p[1] = wire_magic[1];
		p[2] = RAFT_WIRE_VERSION;
		p[3] = m->type;
		for (k = 0; k < 8; k++)
			p[4 + k] = (uint8_t) (clusterId >> (8 * k));
	}
	put_varint(e, m->from);
	put_varint(e, m->to);
	put_varint(e, m->term);

	switch ((raft_message_type) m->type)
	{
		case RAFT_MSG_APPEND_ENTRIES:
			put_varint(e, m->prevLogIndex);
			put_varint(e, m->prevLogTerm);
			put_varint(e, m->leaderCommit);
			put_varint(e, m->readSeq);
			put_varint(e, m->nEntries);
			for (i = 0; i < m->nEntries; i++)
			{
				const raft_entry *ent = &m->entries[i];

				/* no overflow: checked against nEntries above */
				if (ent->index != m->prevLogIndex + 1 + i)
					return RAFT_EINVAL;
				if (ent->type > RAFT_ENTRY_TYPE_MAX || ent->term > RAFT_MAX_TERM)
					return RAFT_EINVAL;
				if (ent->len > RAFT_MAX_ENTRY_BYTES)
					return RAFT_ETOOBIG;
				if (ent->len > 0 && ent->data == NULL)
					return RAFT_EINVAL;
				put_varint(e, ent->term);
				put_u8(e, ent->type);
				put_varint(e, ent->len);
				put_bytes(e, ent->data, ent->len);
			}
			break;
		case RAFT_MSG_INSTALL_SNAPSHOT:
			put_varint(e, m->lastIncludedIndex);
			put_varint(e, m->lastIncludedTerm);
			break;
		case RAFT_MSG_APPEND_ENTRIES_RESULT:
			put_bool(e, m->success);
			put_varint(e, m->matchIndex);
			put_varint(e, m->rejectedIndex);
			put_varint(e, m->conflictIndex);
			put_varint(e, m->conflictTerm);
			put_varint(e, m->lastLogIndex);
			put_varint(e, m->readSeq);
			break;
		case RAFT_MSG_REQUEST_VOTE:
		case RAFT_MSG_PRE_VOTE:
			put_varint(e, m->lastLogIndex);
			put_varint(e, m->lastLogTerm);
			put_bool(e, m->leadershipTransfer);
			break;
		case RAFT_MSG_REQUEST_VOTE_RESULT:
		case RAFT_MSG_PRE_VOTE_RESULT:
			put_bool(e, m->voteGranted);
			break;
		case RAFT_MSG_TIMEOUT_NOW:
			break;
		case RAFT_MSG_READ_INDEX:
			put_varint(e, m->requestId);
			break;
		case RAFT_MSG_READ_INDEX_RESULT:
			put_varint(e, m->requestId);
			put_varint(e, m->readIndex);
			put_bool(e, m->success);
			break;
		case RAFT_MSG_PROPOSE:
			put_varint(e, m->nEntries);
			for (i = 0; i < m->nEntries; i++)
			{
				const raft_entry *ent = &m->entries[i];

				if (ent->type != RAFT_ENTRY_NORMAL || ent->term != 0)
					return RAFT_EINVAL;
				if (ent->len > RAFT_MAX_ENTRY_BYTES)
					return RAFT_ETOOBIG;
				if (ent->len > 0 && ent->data == NULL)
					return RAFT_EINVAL;
				put_u8(e, ent->type);
				put_varint(e, ent->len);
				put_bytes(e, ent->data, ent->len);
			}
			break;
	}
	return e->huge ? RAFT_ETOOBIG : RAFT_OK;
}

/*
 * 0 for a message raft_encode() would refuse whatever the buffer (every
 * valid encoding is at least WIRE_HEADER_SIZE bytes), so a caller that
 * sizes its buffer with this gets the real error from raft_encode().
 */
size_t
raft_encoded_size(const raft_message *m)
{
	encoder		e = {NULL, 0, 0, false, false};

	if (encode_message(&e, m, 0) != RAFT_OK)
		return 0;
	return e.pos;
}

/* On error buf's contents are unspecified and *written is 0. */
int
raft_encode(const raft_message *m, uint64_t clusterId,
			uint8_t *buf, size_t cap, size_t *written)
{
	encoder		e = {buf, cap, 0, false, false};
	int			rc;

	if (written != NULL)
		*written = 0;
	if (buf == NULL)
	{
		if (cap != 0)
			return RAFT_EINVAL;
		/* nothing fits in no buffer; still walk to report EINVAL first */
		e.overflowed = true;
	}
	rc = encode_message(&e, m, clusterId);
	if (rc != RAFT_OK)
		return rc;
	if (e.overflowed)
		return RAFT_ETOOBIG;
	if (written != NULL)
		*written = e.pos;
	return RAFT_OK;
}

/* ---------------------------------------------------------------------
 * Decoding
 *
 * Each get_* reads one field or returns RAFT_EMALFORMED without moving
 * past the end; d->len - d->pos is always the number of bytes left.
 * --------------------------------------------------------------------- */
typedef struct decoder
{
	const uint8_t *buf;
	size_t		len;
	size_t		pos;
} decoder;

static int
get_u8(decoder *d, uint8_t *out)
{
	if (d->pos >= d->len)
		return RAFT_EMALFORMED;
	*out = d->buf[d->pos++];
	return RAFT_OK;
}

static int
get_bool(decoder *d, bool *out)
{
	uint8_t		b;

	if (get_u8(d, &b) != RAFT_OK || b > 1)
		return RAFT_EMALFORMED;
	*out = (b == 1);
	return RAFT_OK;
}

/*
 * Refuses, besides truncation: an 11th byte, a 10th byte carrying bits
 * above 2^64-1, and a last byte of 0 after the first (a redundant zero
 * group), the latter to keep the encoding canonical.  A 10th byte above 1
 * covers both of the first two, since it would need bit 64 or a
 * continuation.
 */
static int
get_varint(decoder *d, uint64_t *out)
{
	uint64_t	v = 0;
	unsigned	i;
	uint8_t		b;

	for (i = 0; i < VARINT_MAX_BYTES; i++)
	{
		if (d->pos >= d->len)
			return RAFT_EMALFORMED;
		b = d->buf[d->pos++];
		if (i == VARINT_MAX_BYTES - 1 && b > 1)
			return RAFT_EMALFORMED;
		v |= (uint64_t) (b & 0x7f) << (7 * i);
		if ((b & 0x80) == 0)
		{
			if (b == 0 && i > 0)
				return RAFT_EMALFORMED;
			*out = v;
			return RAFT_OK;
		}
	}
	return RAFT_EMALFORMED;		/* not reached: the 10th byte ends it */
}

/* A term: a varint no larger than RAFT_MAX_TERM. */
static int
get_term(decoder *d, raft_term *out)
{
	int			rc = get_varint(d, out);

	if (rc == RAFT_OK && *out > RAFT_MAX_TERM)
		return RAFT_EMALFORMED;
	return rc;
}

/* An index: a varint no larger than RAFT_MAX_INDEX. */
static int
get_index(decoder *d, raft_index *out)
{
	int			rc = get_varint(d, out);

	if (rc == RAFT_OK && *out > RAFT_MAX_INDEX)
		return RAFT_EMALFORMED;
	return rc;
}

/* Entries of an AppendEntries; m->entries is set (allocated) only on success. */
/*
 * An entry's length and bytes (the data points into the message): bounded
 * by RAFT_MAX_ENTRY_BYTES and by what is left.
 */
static int
get_entry_data(decoder *d, raft_entry *ent)
{
	uint64_t	len;
	int			rc;

	if ((rc = get_varint(d, &len)) != RAFT_OK)
		return rc;
	if (len > RAFT_MAX_ENTRY_BYTES)
		return RAFT_ETOOBIG;
	if (len > d->len - d->pos)
		return RAFT_EMALFORMED;
	ent->len = (uint32_t) len;
	ent->data = len > 0 ? d->buf + d->pos : NULL;
	d->pos += (size_t) len;
	return RAFT_OK;
}

static int
decode_entries(decoder *d, const raft_allocator *alloc, raft_message *m)
{
	uint64_t	n;
	raft_entry *entries;
	uint32_t	i;
	int			rc;

	if ((rc = get_varint(d, &n)) != RAFT_OK)
		return rc;
	if (n == 0)
		return RAFT_OK;
	if (n > RAFT_MAX_ENTRIES_PER_MESSAGE)
		return RAFT_ETOOBIG;
	/* Before allocating: garbage must not buy a big array. */
	if (n > (d->len - d->pos) / ENTRY_MIN_BYTES)
		return RAFT_EMALFORMED;
	/* the last entry's index, prevLogIndex + n, must be in range too */
	if (n > RAFT_MAX_INDEX - m->prevLogIndex)
		return RAFT_EMALFORMED;

	entries = enc_malloc(alloc, (size_t) n * sizeof(raft_entry));
	if (entries == NULL)
		return RAFT_ENOMEM;
	for (i = 0; i < n; i++)
	{
		raft_entry *ent = &entries[i];

		ent->index = m->prevLogIndex + 1 + i;
		if ((rc = get_term(d, &ent->term)) != RAFT_OK ||
			(rc = get_u8(d, &ent->type)) != RAFT_OK)
			goto fail;
		if (ent->type > RAFT_ENTRY_TYPE_MAX)
		{
			rc = RAFT_EMALFORMED;
			goto fail;
		}
		if ((rc = get_entry_data(d, ent)) != RAFT_OK)
			goto fail;
	}
	m->entries = entries;
	m->nEntries = (uint32_t) n;
	return RAFT_OK;

fail:
	enc_free(alloc, entries);
	return rc;
}

/* PROPOSE's entries: type and data only (term and index stay 0). */
static int
decode_proposed(decoder *d, const raft_allocator *alloc, raft_message *m)
{
	uint64_t	n;
	raft_entry *entries;
	uint32_t	i;
	int			rc;

	if ((rc = get_varint(d, &n)) != RAFT_OK)
		return rc;
	if (n == 0)
		return RAFT_OK;
	if (n > RAFT_MAX_ENTRIES_PER_MESSAGE)
		return RAFT_ETOOBIG;
	/* before allocating: at least a type and a length byte per entry */
	if (n > (d->len - d->pos) / 2)
		return RAFT_EMALFORMED;
	entries = enc_malloc(alloc, (size_t) n * sizeof(raft_entry));
	if (entries == NULL)
		return RAFT_ENOMEM;
	memset(entries, 0, (size_t) n * sizeof(raft_entry));
	for (i = 0; i < n; i++)
	{
		raft_entry *ent = &entries[i];

		if ((rc = get_u8(d, &ent->type)) != RAFT_OK)
			goto fail;
		if (ent->type != RAFT_ENTRY_NORMAL)
		{
			rc = RAFT_EMALFORMED;
			goto fail;
		}
		if ((rc = get_entry_data(d, ent)) != RAFT_OK)
			goto fail;
	}
	m->entries = entries;
	m->nEntries = (uint32_t) n;
	return RAFT_OK;

fail:
	enc_free(alloc, entries);
	return rc;
}

static int
decode_body(decoder *d, const raft_allocator *alloc, raft_message *m)
{
	int			rc;

	if ((rc = get_varint(d, &m->from)) != RAFT_OK ||
		(rc = get_varint(d, &m->to)) != RAFT_OK ||
		(rc = get_term(d, &m->term)) != RAFT_OK)
		return rc;

	switch ((raft_message_type) m->type)
	{
		case RAFT_MSG_APPEND_ENTRIES:
			if ((rc = get_index(d, &m->prevLogIndex)) != RAFT_OK ||
				(rc = get_term(d, &m->prevLogTerm)) != RAFT_OK ||
				(rc = get_index(d, &m->leaderCommit)) != RAFT_OK ||
				(rc = get_varint(d, &m->readSeq)) != RAFT_OK)
				return rc;
			return decode_entries(d, alloc, m);
		case RAFT_MSG_APPEND_ENTRIES_RESULT:
			if ((rc = get_bool(d, &m->success)) != RAFT_OK ||
				(rc = get_index(d, &m->matchIndex)) != RAFT_OK ||
				(rc = get_index(d, &m->rejectedIndex)) != RAFT_OK ||
				(rc = get_index(d, &m->conflictIndex)) != RAFT_OK ||
				(rc = get_term(d, &m->conflictTerm)) != RAFT_OK ||
				(rc = get_index(d, &m->lastLogIndex)) != RAFT_OK ||
				(rc = get_varint(d, &m->readSeq)) != RAFT_OK)
				return rc;
			return RAFT_OK;
		case RAFT_MSG_REQUEST_VOTE:
		case RAFT_MSG_PRE_VOTE:
			if ((rc = get_index(d, &m->lastLogIndex)) != RAFT_OK ||
				(rc = get_term(d, &m->lastLogTerm)) != RAFT_OK ||
				(rc = get_bool(d, &m->leadershipTransfer)) != RAFT_OK)
				return rc;
			return RAFT_OK;
		case RAFT_MSG_REQUEST_VOTE_RESULT:
		case RAFT_MSG_PRE_VOTE_RESULT:
			return get_bool(d, &m->voteGranted);
		case RAFT_MSG_TIMEOUT_NOW:
			return RAFT_OK;
		case RAFT_MSG_READ_INDEX:
			return get_varint(d, &m->requestId);
		case RAFT_MSG_READ_INDEX_RESULT:
			if ((rc = get_varint(d, &m->requestId)) != RAFT_OK ||
				(rc = get_index(d, &m->readIndex)) != RAFT_OK ||
				(rc = get_bool(d, &m->success)) != RAFT_OK)
				return rc;
			return RAFT_OK;
		case RAFT_MSG_PROPOSE:
			return decode_proposed(d, alloc, m);
		case RAFT_MSG_INSTALL_SNAPSHOT:
			if ((rc = get_index(d, &m->lastIncludedIndex)) != RAFT_OK ||
				(rc = get_term(d, &m->lastIncludedTerm)) != RAFT_OK)
				return rc;
			return RAFT_OK;
	}
	return RAFT_EMALFORMED;		/* not reached: type checked by the caller */
}

int
raft_decode(const uint8_t *buf, size_t len, uint64_t clusterId,
			const raft_allocator *alloc, raft_message *out)
{
	decoder		d = {buf, len, 0};
	raft_message m;
	uint64_t	cid = 0;
	int			rc;
	int			k;

	if (out == NULL)
		return RAFT_EINVAL;
	memset(out, 0, sizeof *out);
	if (buf == NULL && len > 0)
		return RAFT_EINVAL;

	/*
	 * Header checks in this order: a wrong magic means "not ours at all";
	 * the version must be judged before anything after it is interpreted;
	 * the cluster id before the type, so that a misdirected node gets the
	 * error that names the misconfiguration.
	 */
	if (len < 2 || buf[0] != wire_magic[0] || buf[1] != wire_magic[1])
		return RAFT_EMALFORMED;
	if (len < 3)
		return RAFT_EMALFORMED;
	if (buf[2] != RAFT_WIRE_VERSION)
		return RAFT_EVERSION;
	if (len < WIRE_HEADER_SIZE)
		return RAFT_EMALFORMED;
	for (k = 0; k < 8; k++)
		cid |= (uint64_t) buf[4 + k] << (8 * k);
	if (cid != clusterId)
		return RAFT_ECLUSTER;
	if (buf[3] == 0 || buf[3] > RAFT_MSG_TYPE_MAX)
		return RAFT_EMALFORMED;

	memset(&m, 0, sizeof m);
	m.type = buf[3];
	d.pos = WIRE_HEADER_SIZE;
	rc = decode_body(&d, alloc, &m);
	if (rc == RAFT_OK && d.pos != d.len)
	{
		raft_message_free_decoded(alloc, &m);
		rc = RAFT_EMALFORMED;	/* trailing bytes */
	}
	if (rc != RAFT_OK)
		return rc;
	*out = m;
	return RAFT_OK;
}

void
raft_message_free_decoded(const raft_allocator *alloc, raft_message *m)
{
	if (m == NULL)
		return;
	/* the array is ours (decode_entries allocated it); const is for users */
	enc_free(alloc, (void *) (uintptr_t) m->entries);
	m->entries = NULL;
	m->nEntries = 0;
}

/* ---------------------------------------------------------------------
 * Configurations (raft.h, Membership): the data of a RAFT_ENTRY_CONFIG
 * entry.  version 1 | count | per member: id | voter:1 | addressLen |
 * address.  Canonical like the wire: members in increasing id order, so
 * one configuration has one encoding.
 * --------------------------------------------------------------------- */
#define CONFIG_VERSION 1

/* Is this a configuration raft_configuration_encode accepts? */
bool
raft_configuration_valid(const raft_member *members, size_t n)
{
	size_t		i;
	bool		voter = false;

	if (n == 0 || n > RAFT_MAX_MEMBERS || members == NULL)
		return false;
	for (i = 0; i < n; i++)
	{
		if (members[i].id == RAFT_NONE || (i > 0 && members[i].id <= members[i - 1].id))
			return false;
		if (members[i].addressLen > RAFT_MAX_ADDRESS_BYTES ||
			(members[i].addressLen > 0 && members[i].address == NULL))
			return false;
		voter = voter || members[i].voter;
	}
	return voter;
}

static void
encode_configuration(encoder *e, const raft_member *members, size_t n)
{
	size_t		i;

	put_u8(e, CONFIG_VERSION);
	put_varint(e, n);
	for (i = 0; i < n; i++)
	{
		put_varint(e, members[i].id);
		put_bool(e, members[i].voter);
		put_varint(e, members[i].addressLen);
		put_bytes(e, members[i].address, members[i].addressLen);
	}
}

size_t
raft_configuration_encoded_size(const raft_member *members, size_t n)
{
	encoder		e;

	if (!raft_configuration_valid(members, n))
		return 0;
	memset(&e, 0, sizeof(e));
	encode_configuration(&e, members, n);
	return e.pos;
}

int
raft_configuration_encode(const raft_member *members, size_t n,
						  uint8_t *buf, size_t cap, size_t *written)
{
	encoder		e;

	if (written != NULL)
		*written = 0;
	if (!raft_configuration_valid(members, n) || (buf == NULL && cap > 0))
		return RAFT_EINVAL;
	memset(&e, 0, sizeof(e));
	e.buf = buf;
	e.cap = cap;
	if (buf == NULL)
		e.overflowed = true;
	encode_configuration(&e, members, n);
	if (e.overflowed || e.huge)
		return RAFT_ETOOBIG;
	if (written != NULL)
		*written = e.pos;
	return RAFT_OK;
}

/*
 * Decode into out (room for RAFT_MAX_MEMBERS; NULL: only check), allocating
 * nothing: the addresses point into buf.  The core decodes its log's
 * configuration entries this way; every malformed input is RAFT_EMALFORMED.
 */
int
raft_configuration_decode_into(const uint8_t *buf, size_t len,
							   raft_member *out, size_t *n)
{
	decoder		d;
	uint8_t		version;
	uint64_t	count,
				i,
				prevId = 0;
	bool		voter = false;

	if (buf == NULL && len > 0)
		return RAFT_EMALFORMED;
	d.buf = buf;
	d.len = len;
	d.pos = 0;
	if (get_u8(&d, &version) != RAFT_OK || version != CONFIG_VERSION)
		return RAFT_EMALFORMED;
	if (get_varint(&d, &count) != RAFT_OK || count == 0 || count > RAFT_MAX_MEMBERS)
		return RAFT_EMALFORMED;
	for (i = 0; i < count; i++)
	{
		uint64_t	id,
					alen;
		bool		isVoter;

		if (get_varint(&d, &id) != RAFT_OK || id == RAFT_NONE || id <= prevId)
			return RAFT_EMALFORMED;
		if (get_bool(&d, &isVoter) != RAFT_OK)
			return RAFT_EMALFORMED;
		if (get_varint(&d, &alen) != RAFT_OK || alen > RAFT_MAX_ADDRESS_BYTES ||
			alen > d.len - d.pos)
			return RAFT_EMALFORMED;
		if (out != NULL)
		{
			out[i].id = id;
			out[i].voter = isVoter;
			out[i].addressLen = (uint32_t) alen;
			out[i].address = alen > 0 ? (const char *) d.buf + d.pos : NULL;
		}
		d.pos += (size_t) alen;
		voter = voter || isVoter;
		prevId = id;
	}
	if (d.pos != d.len || !voter)
		return RAFT_EMALFORMED;
	if (n != NULL)
		*n = (size_t) count;
	return RAFT_OK;
}

int
raft_configuration_decode(const uint8_t *buf, size_t len,
						  const raft_allocator *alloc,
						  raft_member **out, size_t *n)
{
	raft_member *tmp;
	size_t		count = 0;
	int			rc;

	if (out == NULL || n == NULL)
		return RAFT_EINVAL;
	*out = NULL;
	*n = 0;
	/* room for the most members there can be: a few kilobytes */
	tmp = enc_malloc(alloc, RAFT_MAX_MEMBERS * sizeof(raft_member));
	if (tmp == NULL)
		return RAFT_ENOMEM;
	rc = raft_configuration_decode_into(buf, len, tmp, &count);
	if (rc != RAFT_OK)
	{
		enc_free(alloc, tmp);
		return rc;
	}
	*out = tmp;
	*n = count;
	return RAFT_OK;
}
