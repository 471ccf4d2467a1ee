/*
 * test_encoding.c — tests of the wire format (src/raft/encoding.c).
 *
 * The decoder reads bytes from the network, so beside round trips these
 * tests mostly attack it: every truncation, every bit flip, every byte
 * deletion of a set of valid encodings, random garbage and mutated valid
 * messages.  The property checked on anything the decoder accepts is the
 * one that makes the format safe to rely on: the decoded message is
 * internally consistent (entry indexes, data inside the input, unused
 * fields zero) and re-encodes to exactly the input bytes (the encoding is
 * canonical).
 *
 * Expected bytes are built here with an independent varint writer, so the
 * tests do not trust the encoder to check the decoder or the reverse.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "raft.h"
#include "testlib.h"

#define CID ((uint64_t) 0x1122334455667788ULL)
#define MAXBUF 1024

/* ---------------------------------------------------------------------
 * Helpers
 * --------------------------------------------------------------------- */

/* Counting allocator; fails every allocation once failAfter reaches 0. */
typedef struct test_alloc_state
{
	long		live;
	long		total;
	long		failAfter;		/* < 0: never fail */
} test_alloc_state;

static void *
ta_malloc(void *ctx, size_t size)
{
	test_alloc_state *s = ctx;
	void	   *p;

	if (s->failAfter == 0)
		return NULL;
	if (s->failAfter > 0)
		s->failAfter--;
	p = malloc(size);
	if (p != NULL)
	{
		s->live++;
		s->total++;
	}
	return p;
}

static void *
ta_realloc(void *ctx, void *ptr, size_t size)
{
	(void) ctx;
	(void) ptr;
	(void) size;
	return NULL;				/* the decoder has no business growing */
}

static void
ta_free(void *ctx, void *ptr)
{
	test_alloc_state *s = ctx;

	if (ptr != NULL)
		s->live--;
	free(ptr);
}

static raft_allocator
ta_make(test_alloc_state *s, long failAfter)
{
	raft_allocator a;

	s->live = 0;
	s->total = 0;
	s->failAfter = failAfter;
	a.malloc = ta_malloc;
	a.realloc = ta_realloc;
	a.free = ta_free;
	a.ctx = s;
	return a;
}

/* splitmix64: deterministic, so a failure reproduces. */
static uint64_t
rng_next(uint64_t *s)
{
	uint64_t	z = (*s += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static uint64_t
rng_below(uint64_t *s, uint64_t n)
{
	return n == 0 ? 0 : rng_next(s) % n;
}

static const uint64_t edge_values[] = {
	0, 1, 127, 128, 255, 256, 16383, 16384, 0xFFFFFFFFULL, 0x100000000ULL,
	RAFT_MAX_INDEX, RAFT_MAX_INDEX + 1,
	0x7FFFFFFFFFFFFFFFULL, 0x8000000000000000ULL, UINT64_MAX - 1, UINT64_MAX
};
#define N_EDGE (sizeof(edge_values) / sizeof(edge_values[0]))

/* An integer of random bit length, often an edge value. */
static uint64_t
rng_value(uint64_t *s)
{
	unsigned	bits;

	if (rng_below(s, 4) == 0)
		return edge_values[rng_below(s, N_EDGE)];
	bits = (unsigned) rng_below(s, 65);
	if (bits == 0)
		return 0;
	return rng_next(s) >> (64 - bits);
}

/*
 * x as a term or index: values past the maximum become the maximum, so
 * that round trips of edge and random values stay valid and still reach
 * the largest one.
 */
static uint64_t
in_range(uint64_t x)
{
	return x > RAFT_MAX_INDEX ? RAFT_MAX_INDEX : x;
}

/* Independent byte builder for hand-made inputs. */
typedef struct raw
{
	uint8_t		b[MAXBUF];
	size_t		n;
} raw;

static void
raw_u8(raw *r, uint8_t v)
{
	if (r->n < MAXBUF)
		r->b[r->n++] = v;
}

static void
raw_varint(raw *r, uint64_t v)
{
	do
	{
		uint8_t		byte = (uint8_t) (v & 0x7f);

		v >>= 7;
		raw_u8(r, (uint8_t) (byte | (v != 0 ? 0x80 : 0)));
	} while (v != 0);
}

static void
raw_header_v(raw *r, uint8_t version, uint8_t type, uint64_t cid)
{
	int			k;

	r->n = 0;
	raw_u8(r, 'R');
	raw_u8(r, 'F');
	raw_u8(r, version);
	raw_u8(r, type);
	for (k = 0; k < 8; k++)
		raw_u8(r, (uint8_t) (cid >> (8 * k)));
}

/* header + from 1, to 2, term 3 */
static void
raw_start(raw *r, uint8_t type)
{
	raw_header_v(r, RAFT_WIRE_VERSION, type, CID);
	raw_varint(r, 1);
	raw_varint(r, 2);
	raw_varint(r, 3);
}

static size_t
varint_len(uint64_t v)
{
	size_t		n = 1;

	while (v >= 128)
	{
		v >>= 7;
		n++;
	}
	return n;
}

/* m with only the fields its type carries (what a decode must give back). */
static raft_message
project(const raft_message *m)
{
	raft_message p;

	memset(&p, 0, sizeof p);
	p.type = m->type;
	p.from = m->from;
	p.to = m->to;
	p.term = m->term;
	switch (m->type)
	{
		case RAFT_MSG_APPEND_ENTRIES:
			p.prevLogIndex = m->prevLogIndex;
			p.prevLogTerm = m->prevLogTerm;
			p.leaderCommit = m->leaderCommit;
			p.readSeq = m->readSeq;
			p.nEntries = m->nEntries;
			p.entries = m->entries;
			break;
		case RAFT_MSG_APPEND_ENTRIES_RESULT:
			p.success = m->success;
			p.matchIndex = m->matchIndex;
			p.rejectedIndex = m->rejectedIndex;
			p.conflictIndex = m->conflictIndex;
			p.conflictTerm = m->conflictTerm;
			p.lastLogIndex = m->lastLogIndex;
			p.readSeq = m->readSeq;
			break;
		case RAFT_MSG_REQUEST_VOTE:
		case RAFT_MSG_PRE_VOTE:
			p.lastLogIndex = m->lastLogIndex;
			p.lastLogTerm = m->lastLogTerm;
			p.leadershipTransfer = m->leadershipTransfer;
			break;
		case RAFT_MSG_REQUEST_VOTE_RESULT:
		case RAFT_MSG_PRE_VOTE_RESULT:
			p.voteGranted = m->voteGranted;
			break;
		case RAFT_MSG_READ_INDEX:
			p.requestId = m->requestId;
			break;
		case RAFT_MSG_READ_INDEX_RESULT:
			p.requestId = m->requestId;
			p.readIndex = m->readIndex;
			p.success = m->success;
			break;
		case RAFT_MSG_PROPOSE:
			p.nEntries = m->nEntries;
			p.entries = m->entries;
			break;
		case RAFT_MSG_INSTALL_SNAPSHOT:
			p.lastIncludedIndex = m->lastIncludedIndex;
			p.lastIncludedTerm = m->lastIncludedTerm;
			break;
		default:
			break;
	}
	return p;
}

/* Field-by-field equality; entries by content, not by address. */
static bool
msg_equal(const raft_message *a, const raft_message *b)
{
	uint32_t	i;

	if (a->type != b->type || a->from != b->from || a->to != b->to ||
		a->term != b->term || a->lastLogIndex != b->lastLogIndex ||
		a->lastLogTerm != b->lastLogTerm ||
		a->leadershipTransfer != b->leadershipTransfer ||
		a->voteGranted != b->voteGranted ||
		a->prevLogIndex != b->prevLogIndex ||
		a->prevLogTerm != b->prevLogTerm ||
		a->leaderCommit != b->leaderCommit || a->nEntries != b->nEntries ||
		a->success != b->success || a->matchIndex != b->matchIndex ||
		a->rejectedIndex != b->rejectedIndex ||
		a->conflictIndex != b->conflictIndex ||
		a->conflictTerm != b->conflictTerm || a->readSeq != b->readSeq ||
		a->requestId != b->requestId || a->readIndex != b->readIndex ||
		a->lastIncludedIndex != b->lastIncludedIndex ||
		a->lastIncludedTerm != b->lastIncludedTerm)
		return false;
	for (i = 0; i < a->nEntries; i++)
	{
		const raft_entry *x = &a->entries[i];
		const raft_entry *y = &b->entries[i];

		if (x->term != y->term || x->index != y->index ||
			x->type != y->type || x->len != y->len)
			return false;
		if (x->len > 0 && memcmp(x->data, y->data, x->len) != 0)
			return false;
	}
	return true;
}

/*
 * What any RAFT_OK decode of buf[0..len) must satisfy, whatever the bytes:
 * a known type, unused fields zero, entries consistent with prevLogIndex
 * and pointing inside the input.
 */
static bool
decoded_consistent(const raft_message *m, const uint8_t *buf, size_t len)
{
	raft_message p;
	uint32_t	i;

	if (m->type == 0 || m->type > RAFT_MSG_TYPE_MAX)
		return false;
	p = project(m);
	if (!msg_equal(m, &p))
		return false;
	if (m->type != RAFT_MSG_APPEND_ENTRIES && m->type != RAFT_MSG_PROPOSE &&
		(m->nEntries != 0 || m->entries != NULL))
		return false;
	if ((m->nEntries == 0) != (m->entries == NULL))
		return false;
	if (m->nEntries > RAFT_MAX_ENTRIES_PER_MESSAGE)
		return false;
	/* unused fields are zero, so every term and index can be judged */
	if (m->term > RAFT_MAX_TERM || m->prevLogTerm > RAFT_MAX_TERM ||
		m->lastLogTerm > RAFT_MAX_TERM || m->conflictTerm > RAFT_MAX_TERM ||
		m->prevLogIndex > RAFT_MAX_INDEX || m->lastLogIndex > RAFT_MAX_INDEX ||
		m->leaderCommit > RAFT_MAX_INDEX || m->matchIndex > RAFT_MAX_INDEX ||
		m->rejectedIndex > RAFT_MAX_INDEX || m->conflictIndex > RAFT_MAX_INDEX ||
		m->readIndex > RAFT_MAX_INDEX || m->lastIncludedIndex > RAFT_MAX_INDEX ||
		m->lastIncludedTerm > RAFT_MAX_TERM)
		return false;
	for (i = 0; i < m->nEntries; i++)
	{
		const raft_entry *e = &m->entries[i];
		const uint8_t *d = e->data;

		if (e->term > RAFT_MAX_TERM || e->index > RAFT_MAX_INDEX)
			return false;

		/* a PROPOSE carries commands: no index, no term, only NORMAL */
		if (m->type == RAFT_MSG_PROPOSE)
		{
			if (e->index != 0 || e->term != 0 || e->type != RAFT_ENTRY_NORMAL)
				return false;
		}
		else if (e->index != m->prevLogIndex + 1 + i || e->index <= m->prevLogIndex)
			return false;
		if (e->type > RAFT_ENTRY_TYPE_MAX || e->len > RAFT_MAX_ENTRY_BYTES)
			return false;
		if ((e->len == 0) != (e->data == NULL))
			return false;
		if (e->len > 0 && (d < buf || d > buf + len || (size_t) (buf + len - d) < e->len))
			return false;
	}
	return true;
}

/*
 * Decode buf with a counting allocator.  Returns the code; on RAFT_OK,
 * checks consistency and canonical re-encoding, and always checks nothing
 * leaks and nothing is left to free on error.  *problem names the first
 * property that did not hold (NULL when all did).
 */
static int
decode_and_verify(const uint8_t *buf, size_t len, const char **problem)
{
	test_alloc_state st;
	raft_allocator a = ta_make(&st, -1);
	raft_message m;
	uint8_t    *again;
	size_t		written = 0;
	int			rc;

	*problem = NULL;
	memset(&m, 0xA5, sizeof m);
	rc = raft_decode(buf, len, CID, &a, &m);
	if (rc != RAFT_OK)
	{
		if (m.entries != NULL || m.nEntries != 0)
			*problem = "error left entries in *out";
		else if (st.live != 0)
			*problem = "error leaked memory";
		return rc;
	}
	if (!decoded_consistent(&m, buf, len))
		*problem = "accepted an inconsistent message";
	else if (raft_encoded_size(&m) != len)
		*problem = "accepted message re-encodes to another size";
	else
	{
		again = malloc(len);
		if (again == NULL ||
			raft_encode(&m, CID, again, len, &written) != RAFT_OK ||
			written != len || memcmp(again, buf, len) != 0)
			*problem = "accepted message re-encodes to other bytes (not canonical)";
		free(again);
	}
	raft_message_free_decoded(&a, &m);
	if (*problem == NULL && st.live != 0)
		*problem = "leak after free_decoded";
	return rc;
}

static void
dump_bytes(const char *what, const uint8_t *b, size_t n)
{
	size_t		i;

	fprintf(stderr, "  %s (%zu bytes):", what, n);
	for (i = 0; i < n && i < 96; i++)
		fprintf(stderr, " %02x", b[i]);
	fprintf(stderr, "%s\n", n > 96 ? " ..." : "");
}

/* ---------------------------------------------------------------------
 * Sample messages: one or more of every type, with entries.
 * --------------------------------------------------------------------- */
static const char payload[] =
	"In Search of an Understandable Consensus Algorithm. Raft is a consensus "
	"algorithm for managing a replicated log. It produces a result equivalent "
	"to (multi-)Paxos, and it is as efficient as Paxos, but its structure is "
	"different from Paxos.";

#define MAX_SAMPLES 40

typedef struct sample
{
	raft_message m;
	raft_entry	ents[4];
	uint8_t		buf[MAXBUF];
	size_t		len;
} sample;

static raft_message *
sample_add(sample *s, size_t *n, uint8_t type, uint64_t from, uint64_t to,
		   uint64_t term)
{
	raft_message *m = &s[*n].m;

	memset(&s[*n], 0, sizeof s[*n]);
	m->type = type;
	m->from = from;
	m->to = to;
	m->term = term;
	(*n)++;
	return m;
}

static void
sample_entries(sample *s, uint64_t prev, uint32_t n, const uint32_t *lens)
{
	uint32_t	i;

	s->m.prevLogIndex = prev;
	s->m.nEntries = n;
	s->m.entries = s->ents;
	for (i = 0; i < n; i++)
	{
		s->ents[i].index = prev + 1 + i;
		s->ents[i].term = (prev + i) * 37 + 1;
		s->ents[i].type = (uint8_t) (i % (RAFT_ENTRY_TYPE_MAX + 1));
		s->ents[i].len = lens[i];
		s->ents[i].data = lens[i] > 0 ? payload + i : NULL;
	}
}

/* A PROPOSE's entries: commands only (term and index 0, type NORMAL). */
static void
sample_proposed(sample *s, uint32_t n, const uint32_t *lens)
{
	uint32_t	i;

	s->m.nEntries = n;
	s->m.entries = s->ents;
	for (i = 0; i < n; i++)
	{
		s->ents[i].type = RAFT_ENTRY_NORMAL;
		s->ents[i].len = lens[i];
		s->ents[i].data = lens[i] > 0 ? payload + i : NULL;
	}
}

/* Builds and encodes the samples; returns how many. */
static size_t
make_samples(sample *s)
{
	size_t		n = 0;
	size_t		i;
	raft_message *m;
	static const uint32_t lens3[] = {0, 5, 130};
	static const uint32_t lens1[] = {1};
	static const uint32_t lens4[] = {200, 0, 0, 127};

	m = sample_add(s, &n, RAFT_MSG_APPEND_ENTRIES, 1, 2, 5);
	m->prevLogIndex = 10;
	m->prevLogTerm = 4;
	m->leaderCommit = 9;
	m->readSeq = 3;
	m = sample_add(s, &n, RAFT_MSG_APPEND_ENTRIES, 3, 1, 128);
	m->prevLogTerm = 127;
	m->leaderCommit = 300;
	m->readSeq = 70000;
	sample_entries(&s[n - 1], 299, 3, lens3);
	m = sample_add(s, &n, RAFT_MSG_APPEND_ENTRIES, UINT64_MAX, UINT64_MAX, RAFT_MAX_TERM);
	m->prevLogTerm = RAFT_MAX_TERM;
	m->leaderCommit = RAFT_MAX_INDEX;
	m->readSeq = UINT64_MAX;
	sample_entries(&s[n - 1], RAFT_MAX_INDEX - 1, 1, lens1);
	s[n - 1].ents[0].term = RAFT_MAX_TERM;
	m = sample_add(s, &n, RAFT_MSG_APPEND_ENTRIES, 2, 3, 7);
	sample_entries(&s[n - 1], 0, 4, lens4);

	m = sample_add(s, &n, RAFT_MSG_APPEND_ENTRIES_RESULT, 2, 1, 5);
	m->success = true;
	m->matchIndex = 313;
	m->lastLogIndex = 313;
	m->readSeq = 3;
	m = sample_add(s, &n, RAFT_MSG_APPEND_ENTRIES_RESULT, 2, 1, 5);
	m->rejectedIndex = 129;
	m->conflictIndex = 100;
	m->conflictTerm = 4;
	m->lastLogIndex = 128;
	m = sample_add(s, &n, RAFT_MSG_APPEND_ENTRIES_RESULT, UINT64_MAX, 0, RAFT_MAX_TERM);
	m->success = true;
	m->matchIndex = RAFT_MAX_INDEX;
	m->rejectedIndex = RAFT_MAX_INDEX;
	m->conflictIndex = RAFT_MAX_INDEX;
	m->conflictTerm = RAFT_MAX_TERM;
	m->lastLogIndex = RAFT_MAX_INDEX;
	m->readSeq = UINT64_MAX;

	m = sample_add(s, &n, RAFT_MSG_REQUEST_VOTE, 1, 3, 6);
	m->lastLogIndex = 12;
	m->lastLogTerm = 5;
	m = sample_add(s, &n, RAFT_MSG_REQUEST_VOTE, 1, 3, 6);
	m->lastLogIndex = 1u << 20;
	m->lastLogTerm = 128;
	m->leadershipTransfer = true;
	m = sample_add(s, &n, RAFT_MSG_PRE_VOTE, 4, 5, 9);
	m->lastLogIndex = 0;
	m->lastLogTerm = 0;
	m = sample_add(s, &n, RAFT_MSG_PRE_VOTE, 4, 5, 9);
	m->lastLogIndex = RAFT_MAX_INDEX;
	m->lastLogTerm = RAFT_MAX_TERM;
	m->leadershipTransfer = true;

	m = sample_add(s, &n, RAFT_MSG_REQUEST_VOTE_RESULT, 3, 1, 6);
	m->voteGranted = true;
	m = sample_add(s, &n, RAFT_MSG_REQUEST_VOTE_RESULT, 3, 1, 6);
	m = sample_add(s, &n, RAFT_MSG_PRE_VOTE_RESULT, 5, 4, 9);
	m->voteGranted = true;
	m = sample_add(s, &n, RAFT_MSG_PRE_VOTE_RESULT, 5, 4, 0);

	m = sample_add(s, &n, RAFT_MSG_TIMEOUT_NOW, 1, 2, 3);
	m = sample_add(s, &n, RAFT_MSG_TIMEOUT_NOW, 0, 0, 0);

	m = sample_add(s, &n, RAFT_MSG_READ_INDEX, 2, 1, 5);
	m->requestId = 128;
	m = sample_add(s, &n, RAFT_MSG_READ_INDEX_RESULT, 1, 2, 5);
	m->requestId = 128;
	m->readIndex = 313;
	m->success = true;
	m = sample_add(s, &n, RAFT_MSG_READ_INDEX_RESULT, 1, 2, 5);
	m->requestId = UINT64_MAX;
	m->readIndex = 0;
	m = sample_add(s, &n, RAFT_MSG_PROPOSE, 2, 1, 5);
	{
		static const uint32_t lensp[3] = {0, 7, 200};

		sample_proposed(&s[n - 1], 3, lensp);
	}
	m = sample_add(s, &n, RAFT_MSG_PROPOSE, 3, 1, 9);

	m = sample_add(s, &n, RAFT_MSG_INSTALL_SNAPSHOT, 1, 3, 7);
	m->lastIncludedIndex = 4096;
	m->lastIncludedTerm = 6;
	m = sample_add(s, &n, RAFT_MSG_INSTALL_SNAPSHOT, 1, 3, RAFT_MAX_TERM);
	m->lastIncludedIndex = RAFT_MAX_INDEX;
	m->lastIncludedTerm = RAFT_MAX_TERM;
	m = sample_add(s, &n, RAFT_MSG_INSTALL_SNAPSHOT, 2, 1, 1);

	for (i = 0; i < n; i++)
	{
		if (raft_encode(&s[i].m, CID, s[i].buf, MAXBUF, &s[i].len) != RAFT_OK)
			s[i].len = 0;		/* caught by test_samples_encode */
	}
	return n;
}

/* ---------------------------------------------------------------------
 * Round trips
 * --------------------------------------------------------------------- */

/* Encode m, check the size, decode, compare with what its type carries. */
static bool
roundtrip(const raft_message *m, uint64_t cid)
{
	size_t		size = raft_encoded_size(m);
	uint8_t    *buf = malloc(size > 0 ? size : 1);
	size_t		written = 0;
	raft_message d;
	raft_message want = project(m);
	bool		ok;

	if (buf == NULL)
		return false;
	ok = size >= 12 &&
		raft_encode(m, cid, buf, size, &written) == RAFT_OK &&
		written == size &&
		raft_decode(buf, size, cid, NULL, &d) == RAFT_OK;
	if (ok)
	{
		ok = msg_equal(&d, &want) && decoded_consistent(&d, buf, size);
		raft_message_free_decoded(NULL, &d);
	}
	free(buf);
	return ok;
}

static void
test_samples_encode(void)
{
	sample		s[MAX_SAMPLES];
	size_t		n = make_samples(s);
	size_t		i;

	REQUIRE(n <= MAX_SAMPLES);
	for (i = 0; i < n; i++)
	{
		CHECK(s[i].len >= 12);
		CHECK(raft_encoded_size(&s[i].m) == s[i].len);
		CHECK(roundtrip(&s[i].m, CID));
	}
}

/* The exact bytes, so the format cannot drift without a test noticing. */
static void
test_golden_bytes(void)
{
	static const uint8_t timeout_now[] = {
		'R', 'F', 1, 7, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
		1, 2, 3
	};
	static const uint8_t append[] = {
		'R', 'F', 1, 1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
		1, 2, 0x80, 0x01,		/* from 1, to 2, term 128 */
		5, 2, 4, 0xAC, 0x02,	/* prev 5, prevTerm 2, commit 4, readSeq 300 */
		2,						/* two entries */
		2, 0, 3, 'a', 'b', 'c', /* term 2, NORMAL, "abc" */
		0x80, 0x01, 1, 0		/* term 128, NOOP, empty */
	};
	static const uint8_t vote_max[] = {
		'R', 'F', 1, 3, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
		0x7F, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x3F,	/* term 2^62-1 */
		0x80, 0x80, 0x01, 0x01, 1
	};
	raft_message m;
	raft_entry	e[2];
	uint8_t		buf[64];
	size_t		written;

	memset(&m, 0, sizeof m);
	m.type = RAFT_MSG_TIMEOUT_NOW;
	m.from = 1;
	m.to = 2;
	m.term = 3;
	CHECK(raft_encode(&m, CID, buf, sizeof buf, &written) == RAFT_OK);
	CHECK(written == sizeof timeout_now && memcmp(buf, timeout_now, written) == 0);

	memset(&m, 0, sizeof m);
	memset(e, 0, sizeof e);
	m.type = RAFT_MSG_APPEND_ENTRIES;
	m.from = 1;
	m.to = 2;
	m.term = 128;
	m.prevLogIndex = 5;
	m.prevLogTerm = 2;
	m.leaderCommit = 4;
	m.readSeq = 300;
	m.nEntries = 2;
	m.entries = e;
	e[0].term = 2;
	e[0].index = 6;
	e[0].type = RAFT_ENTRY_NORMAL;
	e[0].len = 3;
	e[0].data = "abc";
	e[1].term = 128;
	e[1].index = 7;
	e[1].type = RAFT_ENTRY_NOOP;
	CHECK(raft_encode(&m, CID, buf, sizeof buf, &written) == RAFT_OK);
	CHECK(written == sizeof append && memcmp(buf, append, written) == 0);

	memset(&m, 0, sizeof m);
	m.type = RAFT_MSG_REQUEST_VOTE;
	m.from = 127;
	m.to = 0;
	m.term = RAFT_MAX_TERM;
	m.lastLogIndex = 16384;
	m.lastLogTerm = 1;
	m.leadershipTransfer = true;
	CHECK(raft_encode(&m, CID, buf, sizeof buf, &written) == RAFT_OK);
	CHECK(written == sizeof vote_max && memcmp(buf, vote_max, written) == 0);
}

/* Every integer field at every edge value, both bool values, every type. */
static void
test_roundtrip_edges(void)
{
	static const uint32_t lens[] = {0, 1, 127, 128, 0, 300};
	uint8_t    *data = malloc(300);
	raft_entry	ents[6];
	size_t		t,
				v,
				b,
				i,
				bad = 0;
	uint32_t	ne;

	REQUIRE(data != NULL);
	memset(data, 0x5A, 300);
	for (t = 1; t <= RAFT_MSG_TYPE_MAX; t++)
		for (v = 0; v < N_EDGE; v++)
			for (b = 0; b < 2; b++)
				for (ne = 0; ne <= 6; ne += 3)
				{
					uint64_t	x = edge_values[v];
					uint64_t	y = in_range(x);	/* for terms and indexes */
					raft_message m;

					if (ne > 0 && t != RAFT_MSG_APPEND_ENTRIES)
						continue;
					memset(&m, 0, sizeof m);
					m.type = (uint8_t) t;
					m.from = m.to = x;
					m.term = y;
					m.lastLogIndex = m.lastLogTerm = y;
					m.prevLogIndex = m.prevLogTerm = m.leaderCommit = y;
					m.matchIndex = m.rejectedIndex = m.conflictIndex = y;
					m.conflictTerm = m.readIndex = y;
					m.readSeq = m.requestId = x;
					m.leadershipTransfer = m.voteGranted = m.success = (b == 1);
					if (ne > 0)
					{
						if (m.prevLogIndex > RAFT_MAX_INDEX - ne)
							m.prevLogIndex = RAFT_MAX_INDEX - ne;
						for (i = 0; i < ne; i++)
						{
							ents[i].term = in_range(edge_values[(v + i) % N_EDGE]);
							ents[i].index = m.prevLogIndex + 1 + i;
							ents[i].type = (uint8_t) ((i + b) % (RAFT_ENTRY_TYPE_MAX + 1));
							ents[i].len = lens[i];
							ents[i].data = lens[i] > 0 ? data : NULL;
						}
						m.nEntries = ne;
						m.entries = ents;
					}
					/* the cluster id takes the edge values too */
					if (!roundtrip(&m, x))
					{
						if (bad++ == 0)
							fprintf(stderr, "  first failure: type %zu value %llu bool %zu entries %u\n",
									t, (unsigned long long) x, b, ne);
					}
				}
	CHECK(bad == 0);
	free(data);
}

/* Every varint length boundary, with the length checked independently. */
static void
test_varint_boundaries(void)
{
	unsigned	k;
	int			d;
	size_t		bad = 0;

	for (k = 0; k < 64; k++)
		for (d = -1; d <= 1; d++)
		{
			uint64_t	x = ((uint64_t) 1 << k) + (uint64_t) (int64_t) d;
			raft_message m;

			memset(&m, 0, sizeof m);
			m.type = RAFT_MSG_READ_INDEX;
			m.requestId = x;
			if (raft_encoded_size(&m) != 12 + 3 + varint_len(x) || !roundtrip(&m, CID))
				bad++;
		}
	CHECK(bad == 0);
}

/* Random valid messages round-trip. */
static void
test_roundtrip_random(void)
{
	uint64_t	seed = 42;
	raft_entry	ents[8];
	uint8_t		data[64];
	int			iter;
	size_t		bad = 0;

	memset(data, 0xC3, sizeof data);
	for (iter = 0; iter < 20000; iter++)
	{
		raft_message m;
		uint32_t	i;

		memset(&m, 0, sizeof m);
		m.type = (uint8_t) (1 + rng_below(&seed, RAFT_MSG_TYPE_MAX));
		m.from = rng_value(&seed);
		m.to = rng_value(&seed);
		m.term = in_range(rng_value(&seed));
		/* set every field: the encoder must send only the type's */
		m.lastLogIndex = in_range(rng_value(&seed));
		m.lastLogTerm = in_range(rng_value(&seed));
		m.leadershipTransfer = rng_below(&seed, 2);
		m.voteGranted = rng_below(&seed, 2);
		m.prevLogIndex = in_range(rng_value(&seed));
		m.prevLogTerm = in_range(rng_value(&seed));
		m.leaderCommit = in_range(rng_value(&seed));
		m.success = rng_below(&seed, 2);
		m.matchIndex = in_range(rng_value(&seed));
		m.rejectedIndex = in_range(rng_value(&seed));
		m.conflictIndex = in_range(rng_value(&seed));
		m.conflictTerm = in_range(rng_value(&seed));
		m.readSeq = rng_value(&seed);
		m.requestId = rng_value(&seed);
		m.readIndex = in_range(rng_value(&seed));
		if (m.type == RAFT_MSG_APPEND_ENTRIES)
		{
			m.nEntries = (uint32_t) rng_below(&seed, 9);
			if (m.prevLogIndex > RAFT_MAX_INDEX - m.nEntries)
				m.prevLogIndex = RAFT_MAX_INDEX - m.nEntries;
			for (i = 0; i < m.nEntries; i++)
			{
				ents[i].term = in_range(rng_value(&seed));
				ents[i].index = m.prevLogIndex + 1 + i;
				ents[i].type = (uint8_t) rng_below(&seed, RAFT_ENTRY_TYPE_MAX + 1);
				ents[i].len = (uint32_t) rng_below(&seed, sizeof data + 1);
				ents[i].data = ents[i].len > 0 ? data : NULL;
			}
			m.entries = m.nEntries > 0 ? ents : NULL;
		}
		if (!roundtrip(&m, rng_value(&seed)))
			bad++;
	}
	CHECK(bad == 0);
}

/* Entries at the size limits. */
static void
test_limits(void)
{
	raft_message m;
	raft_message d;
	raft_entry *ents;
	uint8_t    *big;
	uint8_t    *buf;
	size_t		size,
				written;
	uint32_t	i;
	raw			r;

	/* one entry of exactly RAFT_MAX_ENTRY_BYTES, one of 1 MiB */
	big = malloc(RAFT_MAX_ENTRY_BYTES);
	ents = calloc(RAFT_MAX_ENTRIES_PER_MESSAGE + 1, sizeof(raft_entry));
	REQUIRE(big != NULL && ents != NULL);
	for (i = 0; i < RAFT_MAX_ENTRY_BYTES; i++)
		big[i] = (uint8_t) (i * 7 + (i >> 13));
	memset(&m, 0, sizeof m);
	m.type = RAFT_MSG_APPEND_ENTRIES;
	m.prevLogIndex = 1000;
	m.nEntries = 2;
	m.entries = ents;
	ents[0].index = 1001;
	ents[0].term = 9;
	ents[0].len = RAFT_MAX_ENTRY_BYTES;
	ents[0].data = big;
	ents[1].index = 1002;
	ents[1].term = 9;
	ents[1].len = 1 << 20;
	ents[1].data = big + 12345;
	size = raft_encoded_size(&m);
	CHECK(size == 12 + 3 + 2 + 1 + 1 + 1 + 1 + (1 + 1 + 4 + RAFT_MAX_ENTRY_BYTES) + (1 + 1 + 3 + (1 << 20)));
	buf = malloc(size);
	REQUIRE(buf != NULL);
	CHECK(raft_encode(&m, CID, buf, size, &written) == RAFT_OK && written == size);
	CHECK(raft_decode(buf, size, CID, NULL, &d) == RAFT_OK);
	CHECK(d.nEntries == 2 && msg_equal(&m, &d) && decoded_consistent(&d, buf, size));
	raft_message_free_decoded(NULL, &d);

	/* one byte over: refused by both sides */
	ents[0].len = RAFT_MAX_ENTRY_BYTES + 1;
	CHECK(raft_encode(&m, CID, buf, size, &written) == RAFT_ETOOBIG);
	CHECK(raft_encoded_size(&m) == 0);
	raw_start(&r, RAFT_MSG_APPEND_ENTRIES);
	raw_varint(&r, 1000);
	raw_varint(&r, 0);
	raw_varint(&r, 0);
	raw_varint(&r, 0);
	raw_varint(&r, 1);
	raw_varint(&r, 9);
	raw_u8(&r, 0);
	raw_varint(&r, RAFT_MAX_ENTRY_BYTES + 1);
	CHECK(raft_decode(r.b, r.n, CID, NULL, &d) == RAFT_ETOOBIG);
	CHECK(d.entries == NULL && d.nEntries == 0);
	free(buf);

	/* exactly RAFT_MAX_ENTRIES_PER_MESSAGE empty entries, then one more */
	memset(ents, 0, (RAFT_MAX_ENTRIES_PER_MESSAGE + 1) * sizeof(raft_entry));
	m.prevLogIndex = RAFT_MAX_INDEX - RAFT_MAX_ENTRIES_PER_MESSAGE;
	m.nEntries = RAFT_MAX_ENTRIES_PER_MESSAGE;
	for (i = 0; i <= RAFT_MAX_ENTRIES_PER_MESSAGE; i++)
	{
		ents[i].index = m.prevLogIndex + 1 + i;	/* the extra one is past the maximum: unused */
		ents[i].term = i;
	}
	size = raft_encoded_size(&m);
	CHECK(size > 0);
	buf = malloc(size);
	REQUIRE(buf != NULL);
	CHECK(raft_encode(&m, CID, buf, size, &written) == RAFT_OK && written == size);
	CHECK(raft_decode(buf, size, CID, NULL, &d) == RAFT_OK);
	CHECK(d.nEntries == RAFT_MAX_ENTRIES_PER_MESSAGE && msg_equal(&m, &d));
	CHECK(d.nEntries > 0 && d.entries[d.nEntries - 1].index == RAFT_MAX_INDEX);
	raft_message_free_decoded(NULL, &d);
	free(buf);
	m.prevLogIndex = 0;
	m.nEntries = RAFT_MAX_ENTRIES_PER_MESSAGE + 1;
	for (i = 0; i <= RAFT_MAX_ENTRIES_PER_MESSAGE; i++)
		ents[i].index = 1 + i;
	CHECK(raft_encoded_size(&m) == 0);
	CHECK(raft_encode(&m, CID, NULL, 0, &written) == RAFT_ETOOBIG);

	free(ents);
	free(big);
}

/* Fields a type does not carry are not sent, and decode as zero. */
static void
test_unused_fields_ignored(void)
{
	raft_message a;
	raft_message b;
	uint8_t		ba[64],
				bb[64];
	size_t		na,
				nb;

	memset(&a, 0, sizeof a);
	a.type = RAFT_MSG_REQUEST_VOTE;
	a.from = 1;
	a.to = 2;
	a.term = 3;
	a.lastLogIndex = 4;
	a.lastLogTerm = 5;
	b = a;
	b.readSeq = 99;
	b.success = true;
	b.voteGranted = true;
	b.prevLogIndex = 7;
	b.requestId = 8;
	CHECK(raft_encode(&a, CID, ba, sizeof ba, &na) == RAFT_OK);
	CHECK(raft_encode(&b, CID, bb, sizeof bb, &nb) == RAFT_OK);
	CHECK(na == nb && memcmp(ba, bb, na) == 0);
	CHECK(raft_decode(bb, nb, CID, NULL, &b) == RAFT_OK);
	CHECK(msg_equal(&a, &b));
}

/* ---------------------------------------------------------------------
 * Hostile input
 * --------------------------------------------------------------------- */

/* Every proper prefix of every sample is refused as malformed. */
static void
test_truncations(void)
{
	sample		s[MAX_SAMPLES];
	size_t		n = make_samples(s);
	size_t		i,
				cut,
				bad = 0;
	const char *problem;

	for (i = 0; i < n; i++)
		for (cut = 0; cut < s[i].len; cut++)
		{
			int			rc = decode_and_verify(s[i].buf, cut, &problem);

			if (rc != RAFT_EMALFORMED || problem != NULL)
			{
				if (bad++ == 0)
				{
					fprintf(stderr, "  sample %zu cut at %zu: rc %d %s\n", i, cut, rc,
							problem ? problem : "");
					dump_bytes("input", s[i].buf, cut);
				}
			}
		}
	CHECK(bad == 0);
}

/* Every one-byte deletion, and every extra byte appended. */
static void
test_deletions_and_trailing(void)
{
	sample		s[MAX_SAMPLES];
	size_t		n = make_samples(s);
	size_t		i,
				at,
				bad = 0;
	uint8_t		buf[MAXBUF + 1];
	const char *problem;

	for (i = 0; i < n; i++)
	{
		for (at = 0; at < s[i].len; at++)
		{
			memcpy(buf, s[i].buf, at);
			memcpy(buf + at, s[i].buf + at + 1, s[i].len - at - 1);
			(void) decode_and_verify(buf, s[i].len - 1, &problem);
			if (problem != NULL && bad++ == 0)
				fprintf(stderr, "  sample %zu deleting byte %zu: %s\n", i, at, problem);
		}
		for (at = 0; at < 256; at += 51)
		{
			memcpy(buf, s[i].buf, s[i].len);
			buf[s[i].len] = (uint8_t) at;
			if (decode_and_verify(buf, s[i].len + 1, &problem) != RAFT_EMALFORMED ||
				problem != NULL)
				bad++;
		}
	}
	CHECK(bad == 0);
}

/* Every single-bit flip: refused, or a valid message with those bytes. */
static void
test_bit_flips(void)
{
	sample		s[MAX_SAMPLES];
	size_t		n = make_samples(s);
	size_t		i,
				bit,
				bad = 0,
				accepted = 0,
				total = 0;
	uint8_t		buf[MAXBUF];
	const char *problem;

	for (i = 0; i < n; i++)
		for (bit = 0; bit < s[i].len * 8; bit++)
		{
			int			rc;

			memcpy(buf, s[i].buf, s[i].len);
			buf[bit / 8] ^= (uint8_t) (1u << (bit % 8));
			rc = decode_and_verify(buf, s[i].len, &problem);
			total++;
			if (rc == RAFT_OK)
				accepted++;
			/* the header's bytes have exact answers */
			if (bit / 8 < 2 && rc != RAFT_EMALFORMED)
				problem = "bad magic accepted";
			if (bit / 8 == 2 && rc != RAFT_EVERSION)
				problem = "bad version accepted";
			if (bit / 8 >= 4 && bit / 8 < 12 && rc != RAFT_ECLUSTER)
				problem = "other cluster accepted";
			if (problem != NULL && bad++ == 0)
			{
				fprintf(stderr, "  sample %zu bit %zu: rc %d: %s\n", i, bit, rc, problem);
				dump_bytes("input", buf, s[i].len);
			}
		}
	printf("     bit flips: %zu tried, %zu decoded to another valid message\n",
		   total, accepted);
	CHECK(bad == 0);
	CHECK(accepted > 0);		/* e.g. flips inside entry data */
}

/* Random buffers, half of them behind a plausible header. */
static void
test_random_garbage(void)
{
	uint64_t	seed = 0xDEADBEEF;
	uint8_t		buf[MAXBUF];
	long		iter;
	size_t		bad = 0,
				accepted = 0,
				len,
				i;
	const char *problem;
	int			rc;

	for (iter = 0; iter < 200000; iter++)
	{
		uint64_t	shape = rng_below(&seed, 4);

		len = (size_t) (shape == 0 ? rng_below(&seed, MAXBUF + 1) : rng_below(&seed, 48));
		for (i = 0; i < len; i++)
		{
			uint64_t	r = rng_next(&seed);

			/* small bytes often: they end varints and make valid bools/types */
			buf[i] = (uint8_t) ((r & 3) == 0 ? (r >> 8) & 3 : r >> 16);
		}
		if (shape >= 2 && len >= 12)
		{
			raw			h;

			raw_header_v(&h, RAFT_WIRE_VERSION,
						 (uint8_t) rng_below(&seed, RAFT_MSG_TYPE_MAX + 2), CID);
			memcpy(buf, h.b, 12);
		}
		rc = decode_and_verify(buf, len, &problem);
		if (rc == RAFT_OK)
			accepted++;
		if (problem != NULL && bad++ == 0)
		{
			fprintf(stderr, "  iteration %ld: %s\n", iter, problem);
			dump_bytes("input", buf, len);
		}
	}
	printf("     random garbage: 200000 buffers, %zu accepted\n", accepted);
	CHECK(bad == 0);
}

/* Valid messages with a few random edits: the most realistic garbage. */
static void
test_mutated_messages(void)
{
	sample		s[MAX_SAMPLES];
	size_t		n = make_samples(s);
	uint64_t	seed = 7;
	uint8_t		buf[MAXBUF + 16];
	long		iter;
	size_t		bad = 0,
				accepted = 0,
				len;
	const char *problem;
	static const uint8_t specials[] = {0x00, 0x01, 0x02, 0x03, 0x7F, 0x80, 0x81, 0xFF};

	for (iter = 0; iter < 200000; iter++)
	{
		const sample *src = &s[rng_below(&seed, n)];
		int			edits = 1 + (int) rng_below(&seed, 4);
		int			k;

		memcpy(buf, src->buf, src->len);
		len = src->len;
		for (k = 0; k < edits; k++)
		{
			size_t		at = (size_t) rng_below(&seed, len + 1);
			uint8_t		v = rng_below(&seed, 2) ? specials[rng_below(&seed, sizeof specials)]
				: (uint8_t) rng_next(&seed);

			switch (rng_below(&seed, 5))
			{
				case 0:			/* overwrite a byte (not the header: too easy) */
					if (at < len && at >= 12)
						buf[at] = v;
					break;
				case 1:			/* insert */
					if (len < MAXBUF)
					{
						memmove(buf + at + 1, buf + at, len - at);
						buf[at] = v;
						len++;
					}
					break;
				case 2:			/* delete */
					if (at < len)
					{
						memmove(buf + at, buf + at + 1, len - at - 1);
						len--;
					}
					break;
				case 3:			/* truncate */
					len = at;
					break;
				default:		/* flip a bit after the header */
					if (at < len && at >= 12)
						buf[at] ^= (uint8_t) (1u << rng_below(&seed, 8));
					break;
			}
		}
		if (decode_and_verify(buf, len, &problem) == RAFT_OK)
			accepted++;
		if (problem != NULL && bad++ == 0)
		{
			fprintf(stderr, "  iteration %ld: %s\n", iter, problem);
			dump_bytes("input", buf, len);
		}
	}
	printf("     mutations: 200000 messages, %zu accepted\n", accepted);
	CHECK(bad == 0);
}

/* Decode r, expect rc, and check *out was left with nothing to free. */
static bool
refused_as(const raw *r, uint64_t cid, int want)
{
	test_alloc_state st;
	raft_allocator a = ta_make(&st, -1);
	raft_message m;
	int			rc;

	memset(&m, 0xA5, sizeof m);
	rc = raft_decode(r->b, r->n, cid, &a, &m);
	if (rc != want)
	{
		fprintf(stderr, "  got %d, want %d\n", rc, want);
		dump_bytes("input", r->b, r->n);
	}
	if (rc == RAFT_OK)
		raft_message_free_decoded(&a, &m);
	return rc == want && m.entries == NULL && m.nEntries == 0 && st.live == 0;
}

/* An AppendEntries header with nEntries n after it. */
static void
raw_append(raw *r, uint64_t prev, uint64_t n)
{
	raw_start(r, RAFT_MSG_APPEND_ENTRIES);
	raw_varint(r, prev);
	raw_varint(r, 1);
	raw_varint(r, 0);
	raw_varint(r, 0);
	raw_varint(r, n);
}

static void
test_decode_refusals(void)
{
	raw			r;
	raft_message m;
	int			k,
				j;

	/* magic, version, header length */
	r.n = 0;
	CHECK(refused_as(&r, CID, RAFT_EMALFORMED));
	raw_u8(&r, 'R');
	CHECK(refused_as(&r, CID, RAFT_EMALFORMED));
	raw_u8(&r, 'F');
	CHECK(refused_as(&r, CID, RAFT_EMALFORMED));
	raw_u8(&r, 2);
	CHECK(refused_as(&r, CID, RAFT_EVERSION));	/* judged on 3 bytes */
	raw_start(&r, RAFT_MSG_TIMEOUT_NOW);
	CHECK(refused_as(&r, CID, RAFT_OK));
	r.b[0] = 'r';
	CHECK(refused_as(&r, CID, RAFT_EMALFORMED));
	raw_start(&r, RAFT_MSG_TIMEOUT_NOW);
	r.b[1] = 'G';
	CHECK(refused_as(&r, CID, RAFT_EMALFORMED));
	raw_header_v(&r, 0, RAFT_MSG_TIMEOUT_NOW, CID);
	CHECK(refused_as(&r, CID, RAFT_EVERSION));
	raw_header_v(&r, 2, RAFT_MSG_TIMEOUT_NOW, CID);
	CHECK(refused_as(&r, CID, RAFT_EVERSION));
	raw_header_v(&r, 255, RAFT_MSG_TIMEOUT_NOW, CID);
	CHECK(refused_as(&r, CID, RAFT_EVERSION));
	raw_header_v(&r, RAFT_WIRE_VERSION, RAFT_MSG_TIMEOUT_NOW, CID);
	r.n = 11;
	CHECK(refused_as(&r, CID, RAFT_EMALFORMED));

	/* cluster */
	raw_start(&r, RAFT_MSG_TIMEOUT_NOW);
	CHECK(refused_as(&r, CID + 1, RAFT_ECLUSTER));
	CHECK(refused_as(&r, 0, RAFT_ECLUSTER));
	CHECK(refused_as(&r, CID ^ 0x8000000000000000ULL, RAFT_ECLUSTER));

	/* message type */
	raw_start(&r, 0);
	CHECK(refused_as(&r, CID, RAFT_EMALFORMED));
	raw_start(&r, RAFT_MSG_TYPE_MAX + 1);
	CHECK(refused_as(&r, CID, RAFT_EMALFORMED));
	raw_start(&r, 255);
	CHECK(refused_as(&r, CID, RAFT_EMALFORMED));

	/* trailing bytes */
	raw_start(&r, RAFT_MSG_TIMEOUT_NOW);
	raw_u8(&r, 0);
	CHECK(refused_as(&r, CID, RAFT_EMALFORMED));
	raw_start(&r, RAFT_MSG_READ_INDEX);
	raw_varint(&r, 5);
	raw_varint(&r, 5);
	CHECK(refused_as(&r, CID, RAFT_EMALFORMED));

	/* varints: the largest value is fine, one more bit or byte is not */
	raw_start(&r, RAFT_MSG_READ_INDEX);
	raw_varint(&r, UINT64_MAX);
	CHECK(refused_as(&r, CID, RAFT_OK));
	r.b[r.n - 1] = 0x02;		/* 2^64 */
	CHECK(refused_as(&r, CID, RAFT_EMALFORMED));
	r.b[r.n - 1] = 0x7F;
	CHECK(refused_as(&r, CID, RAFT_EMALFORMED));
	r.b[r.n - 1] = 0x81;		/* an 11th byte follows */
	raw_u8(&r, 0x00);
	CHECK(refused_as(&r, CID, RAFT_EMALFORMED));
	raw_start(&r, RAFT_MSG_READ_INDEX);
	for (k = 0; k < 10; k++)
		raw_u8(&r, 0x80);
	raw_u8(&r, 0x00);			/* 0 in 11 bytes */
	CHECK(refused_as(&r, CID, RAFT_EMALFORMED));
	raw_start(&r, RAFT_MSG_READ_INDEX);
	for (k = 0; k < 9; k++)
		raw_u8(&r, 0x80);
	raw_u8(&r, 0x01);			/* 2^63 in 10 bytes: canonical, fine */
	CHECK(refused_as(&r, CID, RAFT_OK));
	raw_start(&r, RAFT_MSG_READ_INDEX);
	for (k = 0; k < 20; k++)
		raw_u8(&r, 0xFF);		/* never-ending varint */
	CHECK(refused_as(&r, CID, RAFT_EMALFORMED));

	/* non-canonical varints (redundant zero groups) */
	raw_start(&r, RAFT_MSG_READ_INDEX);
	raw_u8(&r, 0x80);
	raw_u8(&r, 0x00);			/* 0 in 2 bytes */
	CHECK(refused_as(&r, CID, RAFT_EMALFORMED));
	raw_start(&r, RAFT_MSG_READ_INDEX);
	raw_u8(&r, 0x81);
	raw_u8(&r, 0x00);			/* 1 in 2 bytes */
	CHECK(refused_as(&r, CID, RAFT_EMALFORMED));
	raw_start(&r, RAFT_MSG_READ_INDEX);
	raw_u8(&r, 0xFF);
	raw_u8(&r, 0x80);
	raw_u8(&r, 0x00);			/* 127 + redundant groups */
	CHECK(refused_as(&r, CID, RAFT_EMALFORMED));
	raw_header_v(&r, RAFT_WIRE_VERSION, RAFT_MSG_TIMEOUT_NOW, CID);
	raw_u8(&r, 0x81);
	raw_u8(&r, 0x00);			/* from = 1 in 2 bytes */
	raw_varint(&r, 2);
	raw_varint(&r, 3);
	CHECK(refused_as(&r, CID, RAFT_EMALFORMED));

	/* bool bytes */
	for (k = 2; k <= 255; k += 253)
	{
		raw_start(&r, RAFT_MSG_REQUEST_VOTE_RESULT);
		raw_u8(&r, (uint8_t) k);
		CHECK(refused_as(&r, CID, RAFT_EMALFORMED));
		raw_start(&r, RAFT_MSG_PRE_VOTE_RESULT);
		raw_u8(&r, (uint8_t) k);
		CHECK(refused_as(&r, CID, RAFT_EMALFORMED));
		raw_start(&r, RAFT_MSG_REQUEST_VOTE);
		raw_varint(&r, 1);
		raw_varint(&r, 1);
		raw_u8(&r, (uint8_t) k);
		CHECK(refused_as(&r, CID, RAFT_EMALFORMED));
		raw_start(&r, RAFT_MSG_APPEND_ENTRIES_RESULT);
		raw_u8(&r, (uint8_t) k);
		for (j = 0; j < 6; j++)
			raw_varint(&r, 1);
		CHECK(refused_as(&r, CID, RAFT_EMALFORMED));
		raw_start(&r, RAFT_MSG_READ_INDEX_RESULT);
		raw_varint(&r, 1);
		raw_varint(&r, 1);
		raw_u8(&r, (uint8_t) k);
		CHECK(refused_as(&r, CID, RAFT_EMALFORMED));
	}
	raw_start(&r, RAFT_MSG_READ_INDEX_RESULT);
	raw_varint(&r, 1);
	raw_varint(&r, 1);
	raw_u8(&r, 1);
	CHECK(refused_as(&r, CID, RAFT_OK));

	/* entries: type, length, count, index overflow */
	raw_append(&r, 0, 1);
	raw_varint(&r, 1);
	raw_u8(&r, RAFT_ENTRY_TYPE_MAX);
	raw_varint(&r, 0);
	CHECK(refused_as(&r, CID, RAFT_OK));
	r.b[r.n - 2] = RAFT_ENTRY_TYPE_MAX + 1;
	CHECK(refused_as(&r, CID, RAFT_EMALFORMED));
	r.b[r.n - 2] = 255;
	CHECK(refused_as(&r, CID, RAFT_EMALFORMED));
	raw_append(&r, 0, 1);
	raw_varint(&r, 1);
	raw_u8(&r, 0);
	raw_varint(&r, 4);
	raw_u8(&r, 'a');
	raw_u8(&r, 'b');
	raw_u8(&r, 'c');			/* one byte short */
	CHECK(refused_as(&r, CID, RAFT_EMALFORMED));
	raw_u8(&r, 'd');
	CHECK(refused_as(&r, CID, RAFT_OK));
	raw_u8(&r, 'e');			/* one byte over */
	CHECK(refused_as(&r, CID, RAFT_EMALFORMED));
	raw_append(&r, 0, 2);		/* 2 entries claimed, room for 1 */
	raw_varint(&r, 1);
	raw_u8(&r, 0);
	raw_varint(&r, 0);
	raw_u8(&r, 0);
	raw_u8(&r, 0);
	CHECK(refused_as(&r, CID, RAFT_EMALFORMED));
	raw_append(&r, 0, RAFT_MAX_ENTRIES_PER_MESSAGE + 1);
	CHECK(refused_as(&r, CID, RAFT_ETOOBIG));
	raw_append(&r, 0, UINT64_MAX);
	CHECK(refused_as(&r, CID, RAFT_ETOOBIG));
	raw_append(&r, 0, 1);
	raw_varint(&r, 1);
	raw_u8(&r, 0);
	raw_varint(&r, UINT64_MAX);	/* entry length beyond any limit */
	CHECK(refused_as(&r, CID, RAFT_ETOOBIG));
	raw_append(&r, RAFT_MAX_INDEX - 1, 1);	/* last index RAFT_MAX_INDEX: fine */
	raw_varint(&r, 1);
	raw_u8(&r, 0);
	raw_varint(&r, 0);
	CHECK(refused_as(&r, CID, RAFT_OK));
	raw_append(&r, RAFT_MAX_INDEX, 1);	/* would be index RAFT_MAX_INDEX + 1 */
	raw_varint(&r, 1);
	raw_u8(&r, 0);
	raw_varint(&r, 0);
	CHECK(refused_as(&r, CID, RAFT_EMALFORMED));
	raw_append(&r, RAFT_MAX_INDEX - 1, 2);
	for (k = 0; k < 2; k++)
	{
		raw_varint(&r, 1);
		raw_u8(&r, 0);
		raw_varint(&r, 0);
	}
	CHECK(refused_as(&r, CID, RAFT_EMALFORMED));
	raw_append(&r, UINT64_MAX - 1, 1);	/* would be index 2^64 */
	raw_varint(&r, 1);
	raw_u8(&r, 0);
	raw_varint(&r, 0);
	CHECK(refused_as(&r, CID, RAFT_EMALFORMED));
	raw_append(&r, RAFT_MAX_INDEX, 0);	/* heartbeat at the last index there can be */
	CHECK(refused_as(&r, CID, RAFT_OK));

	/* bad arguments */
	raw_start(&r, RAFT_MSG_TIMEOUT_NOW);
	CHECK(raft_decode(r.b, r.n, CID, NULL, NULL) == RAFT_EINVAL);
	CHECK(raft_decode(NULL, 5, CID, NULL, &m) == RAFT_EINVAL);
	CHECK(raft_decode(NULL, 0, CID, NULL, &m) == RAFT_EMALFORMED);
}

/* A forged entry count must be refused before anything is allocated. */
static void
test_no_allocation_for_garbage(void)
{
	test_alloc_state st;
	raft_allocator a = ta_make(&st, -1);
	raw			r;
	raft_message m;
	int			k;

	raw_append(&r, 0, RAFT_MAX_ENTRIES_PER_MESSAGE);
	raw_varint(&r, 1);
	raw_u8(&r, 0);
	raw_varint(&r, 0);
	CHECK(raft_decode(r.b, r.n, CID, &a, &m) == RAFT_EMALFORMED);
	CHECK(st.total == 0);
	raw_append(&r, UINT64_MAX - 1, 2);
	CHECK(raft_decode(r.b, r.n, CID, &a, &m) == RAFT_EMALFORMED);
	CHECK(st.total == 0);
	/* room for both entries, but the second would be past RAFT_MAX_INDEX */
	raw_append(&r, RAFT_MAX_INDEX - 1, 2);
	for (k = 0; k < 2; k++)
	{
		raw_varint(&r, 1);
		raw_u8(&r, 0);
		raw_varint(&r, 0);
	}
	CHECK(raft_decode(r.b, r.n, CID, &a, &m) == RAFT_EMALFORMED);
	CHECK(st.total == 0);
}

/*
 * Every term and index a message carries: its type, the body laid out
 * after from, to and term ('v' a varint, set to 1 unless it is the field;
 * 'z' a varint 0; 'b' a byte 1, a bool or an entry's type), which item is
 * the field (-1: the header's term), and where it is in raft_message.
 */
#define ENTRY_TERM SIZE_MAX		/* entries[0].term */

typedef struct bounded_field
{
	const char *name;
	uint8_t		type;
	const char *layout;
	int			item;
	size_t		offset;
} bounded_field;

#define AE_BODY "vvvvz"			/* prevLogIndex prevLogTerm leaderCommit readSeq, no entries */
#define AE_ONE_ENTRY "vvvvvvbz" /* ... one entry: term, type, empty */
#define AER_BODY "bvvvvvv"		/* success matchIndex rejectedIndex conflictIndex conflictTerm lastLogIndex readSeq */

static const bounded_field bounded_fields[] = {
	{"term of AppendEntries", RAFT_MSG_APPEND_ENTRIES, AE_BODY, -1, offsetof(raft_message, term)},
	{"term of AppendEntriesResult", RAFT_MSG_APPEND_ENTRIES_RESULT, AER_BODY, -1, offsetof(raft_message, term)},
	{"term of RequestVote", RAFT_MSG_REQUEST_VOTE, "vvb", -1, offsetof(raft_message, term)},
	{"term of RequestVoteResult", RAFT_MSG_REQUEST_VOTE_RESULT, "b", -1, offsetof(raft_message, term)},
	{"term of PreVote", RAFT_MSG_PRE_VOTE, "vvb", -1, offsetof(raft_message, term)},
	{"term of PreVoteResult", RAFT_MSG_PRE_VOTE_RESULT, "b", -1, offsetof(raft_message, term)},
	{"term of TimeoutNow", RAFT_MSG_TIMEOUT_NOW, "", -1, offsetof(raft_message, term)},
	{"term of ReadIndex", RAFT_MSG_READ_INDEX, "v", -1, offsetof(raft_message, term)},
	{"term of ReadIndexResult", RAFT_MSG_READ_INDEX_RESULT, "vvb", -1, offsetof(raft_message, term)},
	{"term of Propose", RAFT_MSG_PROPOSE, "z", -1, offsetof(raft_message, term)},
	{"term of InstallSnapshot", RAFT_MSG_INSTALL_SNAPSHOT, "vv", -1, offsetof(raft_message, term)},
	{"lastIncludedIndex", RAFT_MSG_INSTALL_SNAPSHOT, "vv", 0, offsetof(raft_message, lastIncludedIndex)},
	{"lastIncludedTerm", RAFT_MSG_INSTALL_SNAPSHOT, "vv", 1, offsetof(raft_message, lastIncludedTerm)},
	{"prevLogIndex", RAFT_MSG_APPEND_ENTRIES, AE_BODY, 0, offsetof(raft_message, prevLogIndex)},
	{"prevLogTerm", RAFT_MSG_APPEND_ENTRIES, AE_BODY, 1, offsetof(raft_message, prevLogTerm)},
	{"leaderCommit", RAFT_MSG_APPEND_ENTRIES, AE_BODY, 2, offsetof(raft_message, leaderCommit)},
	{"an entry's term", RAFT_MSG_APPEND_ENTRIES, AE_ONE_ENTRY, 5, ENTRY_TERM},
	{"matchIndex", RAFT_MSG_APPEND_ENTRIES_RESULT, AER_BODY, 1, offsetof(raft_message, matchIndex)},
	{"rejectedIndex", RAFT_MSG_APPEND_ENTRIES_RESULT, AER_BODY, 2, offsetof(raft_message, rejectedIndex)},
	{"conflictIndex", RAFT_MSG_APPEND_ENTRIES_RESULT, AER_BODY, 3, offsetof(raft_message, conflictIndex)},
	{"conflictTerm", RAFT_MSG_APPEND_ENTRIES_RESULT, AER_BODY, 4, offsetof(raft_message, conflictTerm)},
	{"lastLogIndex of AppendEntriesResult", RAFT_MSG_APPEND_ENTRIES_RESULT, AER_BODY, 5, offsetof(raft_message, lastLogIndex)},
	{"lastLogIndex of RequestVote", RAFT_MSG_REQUEST_VOTE, "vvb", 0, offsetof(raft_message, lastLogIndex)},
	{"lastLogTerm of RequestVote", RAFT_MSG_REQUEST_VOTE, "vvb", 1, offsetof(raft_message, lastLogTerm)},
	{"lastLogIndex of PreVote", RAFT_MSG_PRE_VOTE, "vvb", 0, offsetof(raft_message, lastLogIndex)},
	{"lastLogTerm of PreVote", RAFT_MSG_PRE_VOTE, "vvb", 1, offsetof(raft_message, lastLogTerm)},
	{"readIndex", RAFT_MSG_READ_INDEX_RESULT, "vvb", 1, offsetof(raft_message, readIndex)},
};

static void
raw_bounded(raw *r, const bounded_field *f, uint64_t value)
{
	size_t		i;

	raw_header_v(r, RAFT_WIRE_VERSION, f->type, CID);
	raw_varint(r, 1);
	raw_varint(r, 2);
	raw_varint(r, f->item < 0 ? value : 3);
	for (i = 0; f->layout[i] != '\0'; i++)
	{
		if (f->layout[i] == 'v')
			raw_varint(r, (int) i == f->item ? value : 1);
		else if (f->layout[i] == 'z')
			raw_varint(r, 0);
		else
			raw_u8(r, 1);
	}
}

/*
 * Each term and index field: RAFT_MAX_TERM / RAFT_MAX_INDEX is accepted
 * (and re-encodes to the same bytes), one more is refused by the decoder
 * as malformed and by the encoder as invalid, and so is 2^64-1.  The entry
 * count that carries the last index past the maximum is in
 * test_decode_refusals and test_encode_refusals.
 */
static void
test_bounds(void)
{
	size_t		k;

	REQUIRE(RAFT_MAX_TERM == (UINT64_C(1) << 62) - 1);
	REQUIRE(RAFT_MAX_INDEX == (UINT64_C(1) << 62) - 1);
	for (k = 0; k < sizeof(bounded_fields) / sizeof(bounded_fields[0]); k++)
	{
		const bounded_field *f = &bounded_fields[k];
		raw			r;
		raft_message m;
		raft_entry	e;
		uint64_t   *field;
		uint8_t		buf[MAXBUF];
		size_t		written;
		const char *problem;
		int			rc;
		bool		ok = true;

		/* the largest: accepted, canonical, and decoded as itself */
		raw_bounded(&r, f, RAFT_MAX_INDEX);
		rc = decode_and_verify(r.b, r.n, &problem);
		if (rc != RAFT_OK || problem != NULL)
			ok = false;
		if (raft_decode(r.b, r.n, CID, NULL, &m) != RAFT_OK)
			ok = false;
		else
		{
			if (f->offset == ENTRY_TERM)
			{
				e = m.entries[0];
				raft_message_free_decoded(NULL, &m);
				m.entries = &e;
				m.nEntries = 1;
				field = &e.term;
			}
			else
			{
				raft_message_free_decoded(NULL, &m);
				field = (uint64_t *) ((char *) &m + f->offset);
			}
			if (*field != RAFT_MAX_INDEX)
				ok = false;
			/* one more: the encoder refuses it */
			*field = RAFT_MAX_INDEX + 1;
			if (raft_encode(&m, CID, buf, sizeof buf, &written) != RAFT_EINVAL ||
				raft_encoded_size(&m) != 0)
				ok = false;
			*field = UINT64_MAX;
			if (raft_encode(&m, CID, buf, sizeof buf, &written) != RAFT_EINVAL)
				ok = false;
		}

		/* and the decoder, from bytes made here */
		raw_bounded(&r, f, RAFT_MAX_INDEX + 1);
		if (!refused_as(&r, CID, RAFT_EMALFORMED))
			ok = false;
		raw_bounded(&r, f, UINT64_MAX);
		if (!refused_as(&r, CID, RAFT_EMALFORMED))
			ok = false;
		if (!ok)
			fprintf(stderr, "  bound not enforced on %s\n", f->name);
		CHECK(ok);
	}
}

static void
test_encode_refusals(void)
{
	raft_message m;
	raft_entry	e[3];
	uint8_t		buf[MAXBUF];
	size_t		written = 77;
	size_t		i,
				cap,
				bad = 0;
	sample		s[MAX_SAMPLES];
	size_t		n;

	memset(&m, 0, sizeof m);
	memset(e, 0, sizeof e);
	CHECK(raft_encode(NULL, CID, buf, sizeof buf, &written) == RAFT_EINVAL);
	CHECK(written == 0);
	CHECK(raft_encoded_size(NULL) == 0);
	m.type = 0;
	CHECK(raft_encode(&m, CID, buf, sizeof buf, &written) == RAFT_EINVAL);
	CHECK(raft_encoded_size(&m) == 0);
	m.type = RAFT_MSG_TYPE_MAX + 1;
	CHECK(raft_encode(&m, CID, buf, sizeof buf, &written) == RAFT_EINVAL);
	CHECK(raft_encoded_size(&m) == 0);

	/* entries: NULL, on another type, not contiguous, bad type, no data */
	m.type = RAFT_MSG_APPEND_ENTRIES;
	m.prevLogIndex = 10;
	m.nEntries = 3;
	CHECK(raft_encode(&m, CID, buf, sizeof buf, &written) == RAFT_EINVAL);
	m.entries = e;
	for (i = 0; i < 3; i++)
	{
		e[i].index = 11 + i;
		e[i].term = 1;
	}
	CHECK(raft_encode(&m, CID, buf, sizeof buf, &written) == RAFT_OK && written > 0);
	m.type = RAFT_MSG_APPEND_ENTRIES_RESULT;
	CHECK(raft_encode(&m, CID, buf, sizeof buf, &written) == RAFT_EINVAL);
	CHECK(raft_encoded_size(&m) == 0);
	m.type = RAFT_MSG_APPEND_ENTRIES;
	e[2].index = 14;
	CHECK(raft_encode(&m, CID, buf, sizeof buf, &written) == RAFT_EINVAL);
	CHECK(written == 0);
	e[2].index = 13;
	e[0].index = 10;
	CHECK(raft_encode(&m, CID, buf, sizeof buf, &written) == RAFT_EINVAL);
	CHECK(raft_encoded_size(&m) == 0);
	e[0].index = 11;
	e[1].type = RAFT_ENTRY_TYPE_MAX + 1;
	CHECK(raft_encode(&m, CID, buf, sizeof buf, &written) == RAFT_EINVAL);
	e[1].type = 0;
	e[1].len = 3;
	CHECK(raft_encode(&m, CID, buf, sizeof buf, &written) == RAFT_EINVAL);
	e[1].data = "xyz";
	CHECK(raft_encode(&m, CID, buf, sizeof buf, &written) == RAFT_OK);
	/* indexes that would wrap past UINT64_MAX, or only run past RAFT_MAX_INDEX */
	m.prevLogIndex = UINT64_MAX - 2;
	for (i = 0; i < 3; i++)
		e[i].index = m.prevLogIndex + 1 + i;	/* the last one wraps to 0 */
	CHECK(raft_encode(&m, CID, buf, sizeof buf, &written) == RAFT_EINVAL);
	CHECK(raft_encoded_size(&m) == 0);
	m.prevLogIndex = RAFT_MAX_INDEX - 2;
	for (i = 0; i < 3; i++)
		e[i].index = m.prevLogIndex + 1 + i;
	CHECK(raft_encode(&m, CID, buf, sizeof buf, &written) == RAFT_EINVAL);
	CHECK(raft_encoded_size(&m) == 0);
	m.prevLogIndex = RAFT_MAX_INDEX - 3;
	for (i = 0; i < 3; i++)
		e[i].index = m.prevLogIndex + 1 + i;
	CHECK(raft_encode(&m, CID, buf, sizeof buf, &written) == RAFT_OK);

	/* invalid beats too small, even with no buffer at all */
	m.prevLogIndex = 10;
	e[0].index = 99;
	CHECK(raft_encode(&m, CID, buf, 1, &written) == RAFT_EINVAL);
	CHECK(raft_encode(&m, CID, NULL, 0, &written) == RAFT_EINVAL);
	CHECK(raft_encode(&m, CID, NULL, 10, &written) == RAFT_EINVAL);
	e[0].index = 11;
	e[2].index = 99;			/* found only after the buffer ran out */
	CHECK(raft_encode(&m, CID, buf, 14, &written) == RAFT_EINVAL);

	/* every capacity below the size is too small; the size itself fits */
	n = make_samples(s);
	for (i = 0; i < n; i++)
	{
		size_t		size = raft_encoded_size(&s[i].m);

		for (cap = 0; cap < size; cap++)
		{
			written = 77;
			if (raft_encode(&s[i].m, CID, buf, cap, &written) != RAFT_ETOOBIG || written != 0)
				bad++;
		}
		if (raft_encode(&s[i].m, CID, NULL, 0, &written) != RAFT_ETOOBIG)
			bad++;
		if (raft_encode(&s[i].m, CID, buf, size, &written) != RAFT_OK || written != size)
			bad++;
		if (raft_encode(&s[i].m, CID, buf, sizeof buf, NULL) != RAFT_OK)
			bad++;
	}
	CHECK(bad == 0);
}

/* Out of memory: RAFT_ENOMEM, nothing leaked, nothing to free. */
static void
test_allocation_failure(void)
{
	sample		s[MAX_SAMPLES];
	size_t		n = make_samples(s);
	size_t		i;
	test_alloc_state st;
	raft_allocator a;
	raft_message m;
	int			rc;

	for (i = 0; i < n; i++)
	{
		a = ta_make(&st, 0);
		memset(&m, 0xA5, sizeof m);
		rc = raft_decode(s[i].buf, s[i].len, CID, &a, &m);
		if (s[i].m.nEntries > 0)
		{
			CHECK(rc == RAFT_ENOMEM);
			CHECK(m.entries == NULL && m.nEntries == 0);
		}
		else
		{
			/* nothing to allocate, so no failure to hit */
			CHECK(rc == RAFT_OK);
			raft_message_free_decoded(&a, &m);
		}
		CHECK(st.live == 0);

		a = ta_make(&st, -1);
		rc = raft_decode(s[i].buf, s[i].len, CID, &a, &m);
		CHECK(rc == RAFT_OK);
		CHECK(st.total == (s[i].m.nEntries > 0 ? 1 : 0));
		raft_message_free_decoded(&a, &m);
		CHECK(st.live == 0 && m.entries == NULL && m.nEntries == 0);
		raft_message_free_decoded(&a, &m);	/* twice is harmless */
		CHECK(st.live == 0);
	}
	raft_message_free_decoded(NULL, NULL);
}

/* ---------------------------------------------------------------------
 * Configurations (raft_configuration_encode / _decode)
 * --------------------------------------------------------------------- */
static int
config_decode(const uint8_t *b, size_t len, raft_member **out, size_t *n)
{
	return raft_configuration_decode(b, len, NULL, out, n);
}

static void
test_configuration_roundtrip_and_golden(void)
{
	raft_member m[3];
	uint8_t		buf[64];
	size_t		len = 0,
				n = 0;
	raft_member *out = NULL;
	static const uint8_t golden[] = {
		1, 3,					/* version, count */
		1, 1, 1, 'a',			/* id 1 voter "a" */
		0x80, 0x01, 1, 0,		/* id 128 voter, no address */
		0xC8, 0x01, 0, 2, 'x', 'y'	/* id 200 learner "xy" */
	};

	memset(m, 0, sizeof(m));
	m[0].id = 1; m[0].voter = true; m[0].address = "a"; m[0].addressLen = 1;
	m[1].id = 128; m[1].voter = true;
	m[2].id = 200; m[2].voter = false; m[2].address = "xy"; m[2].addressLen = 2;
	CHECK(raft_configuration_encoded_size(m, 3) == sizeof(golden));
	REQUIRE(raft_configuration_encode(m, 3, buf, sizeof(buf), &len) == RAFT_OK);
	CHECK(len == sizeof(golden) && memcmp(buf, golden, len) == 0);
	/* one byte short: too big, nothing written claimed */
	CHECK(raft_configuration_encode(m, 3, buf, len - 1, &n) == RAFT_ETOOBIG && n == 0);
	CHECK(raft_configuration_encode(m, 3, NULL, 0, &n) == RAFT_ETOOBIG);
	REQUIRE(config_decode(buf, len, &out, &n) == RAFT_OK);
	CHECK(n == 3 && out[0].id == 1 && out[0].voter && out[0].addressLen == 1 &&
		  out[0].address == (const char *) buf + 5);
	CHECK(out[1].id == 128 && out[1].voter && out[1].addressLen == 0 && out[1].address == NULL);
	CHECK(out[2].id == 200 && !out[2].voter && out[2].addressLen == 2 &&
		  memcmp(out[2].address, "xy", 2) == 0);
	free(out);

	/* the largest: RAFT_MAX_MEMBERS members, an address of RAFT_MAX_ADDRESS_BYTES */
	{
		raft_member *big = calloc(RAFT_MAX_MEMBERS, sizeof(raft_member));
		char	   *addr = malloc(RAFT_MAX_ADDRESS_BYTES);
		size_t		cap,
					i;
		uint8_t    *b;

		REQUIRE(big != NULL && addr != NULL);
		memset(addr, 'q', RAFT_MAX_ADDRESS_BYTES);
		for (i = 0; i < RAFT_MAX_MEMBERS; i++)
		{
			big[i].id = 1000 + i;
			big[i].voter = i % 2 == 0;
		}
		big[7].address = addr;
		big[7].addressLen = RAFT_MAX_ADDRESS_BYTES;
		cap = raft_configuration_encoded_size(big, RAFT_MAX_MEMBERS);
		b = malloc(cap);
		REQUIRE(cap > 0 && b != NULL);
		CHECK(raft_configuration_encode(big, RAFT_MAX_MEMBERS, b, cap, &len) == RAFT_OK && len == cap);
		CHECK(config_decode(b, len, &out, &n) == RAFT_OK && n == RAFT_MAX_MEMBERS);
		if (out != NULL)
			CHECK(out[7].addressLen == RAFT_MAX_ADDRESS_BYTES && out[255].id == 1255);
		free(out);
		out = NULL;
		/* one member more, an address byte more: refused both ways */
		CHECK(raft_configuration_encoded_size(big, RAFT_MAX_MEMBERS + 1) == 0);
		big[7].addressLen++;
		CHECK(raft_configuration_encode(big, RAFT_MAX_MEMBERS, b, cap, &len) == RAFT_EINVAL);
		free(b);
		free(addr);
		free(big);
	}
}

static void
test_configuration_encode_refusals(void)
{
	raft_member m[2];
	uint8_t		buf[64];
	size_t		len;

	memset(m, 0, sizeof(m));
	m[0].id = 1; m[0].voter = true;
	m[1].id = 2; m[1].voter = false;
	CHECK(raft_configuration_encode(m, 2, buf, sizeof(buf), &len) == RAFT_OK);
	CHECK(raft_configuration_encode(m, 0, buf, sizeof(buf), &len) == RAFT_EINVAL);
	CHECK(raft_configuration_encode(NULL, 1, buf, sizeof(buf), &len) == RAFT_EINVAL);
	m[1].id = 1;				/* duplicate */
	CHECK(raft_configuration_encode(m, 2, buf, sizeof(buf), &len) == RAFT_EINVAL);
	m[1].id = 0;				/* RAFT_NONE, and out of order */
	CHECK(raft_configuration_encode(m, 2, buf, sizeof(buf), &len) == RAFT_EINVAL);
	m[0].id = 3; m[1].id = 2;	/* out of order */
	CHECK(raft_configuration_encode(m, 2, buf, sizeof(buf), &len) == RAFT_EINVAL);
	m[0].id = 1;
	m[0].voter = false;			/* no voter */
	CHECK(raft_configuration_encode(m, 2, buf, sizeof(buf), &len) == RAFT_EINVAL);
	CHECK(raft_configuration_encoded_size(m, 2) == 0);
	m[0].voter = true;
	m[1].addressLen = 3;		/* address missing */
	CHECK(raft_configuration_encode(m, 2, buf, sizeof(buf), &len) == RAFT_EINVAL);
}

static void
test_configuration_decode_refusals(void)
{
	static const struct
	{
		const char *why;
		uint8_t		b[16];
		size_t		len;
	}			bad[] = {
		{"empty", {0}, 0},
		{"version 0", {0, 1, 1, 1, 0}, 5},
		{"version 2", {2, 1, 1, 1, 0}, 5},
		{"no count", {1}, 1},
		{"count 0", {1, 0}, 2},
		{"count 257", {1, 0x81, 0x02}, 3},
		{"count above what follows", {1, 2, 1, 1, 0}, 5},
		{"id 0", {1, 1, 0, 1, 0}, 5},
		{"ids not increasing", {1, 2, 2, 1, 0, 1, 1, 0}, 8},
		{"duplicate id", {1, 2, 2, 1, 0, 2, 1, 0}, 8},
		{"voter byte 2", {1, 1, 1, 2, 0}, 5},
		{"no voter", {1, 1, 1, 0, 0}, 5},
		{"truncated voter byte", {1, 1, 1}, 3},
		{"truncated addressLen", {1, 1, 1, 1}, 4},
		{"address past the end", {1, 1, 1, 1, 3, 'a', 'b'}, 7},
		{"addressLen 4097", {1, 1, 1, 1, 0x81, 0x20}, 6},
		{"trailing byte", {1, 1, 1, 1, 0, 0}, 6},
		{"redundant zero group (id)", {1, 1, 0x81, 0x00, 1, 0}, 6},
		{"redundant zero group (count)", {1, 0x81, 0x00, 1, 1, 0}, 6},
		{"11-byte varint", {1, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 1, 0}, 15},
		{"varint above 2^64-1", {1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 1, 0}, 14},
	};
	size_t		i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		raft_member *out = (raft_member *) 1;
		size_t		n = 99;
		int			rc = config_decode(bad[i].b, bad[i].len, &out, &n);

		if (rc != RAFT_EMALFORMED)
			fprintf(stderr, "configuration decode accepted: %s (rc %d)\n", bad[i].why, rc);
		CHECK(rc == RAFT_EMALFORMED);
		CHECK(out == NULL && n == 0);
	}
	/* the largest id is fine */
	{
		static const uint8_t ok[] = {1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 1, 0};
		raft_member *out = NULL;
		size_t		n = 0;

		CHECK(config_decode(ok, sizeof(ok), &out, &n) == RAFT_OK && n == 1 && out[0].id == UINT64_MAX);
		free(out);
	}
	/* every truncation and every single bit flip of a valid encoding: refused or canonical */
	{
		raft_member m[2];
		uint8_t		buf[32],
					again[32];
		size_t		len,
					k,
					n;
		raft_member *out;

		memset(m, 0, sizeof(m));
		m[0].id = 5; m[0].voter = true; m[0].address = "abc"; m[0].addressLen = 3;
		m[1].id = 300; m[1].voter = false;
		REQUIRE(raft_configuration_encode(m, 2, buf, sizeof(buf), &len) == RAFT_OK);
		for (k = 0; k < len; k++)
			CHECK(config_decode(buf, k, &out, &n) == RAFT_EMALFORMED);
		for (k = 0; k < len * 8; k++)
		{
			size_t		w;

			buf[k / 8] ^= (uint8_t) (1u << (k % 8));
			if (config_decode(buf, len, &out, &n) == RAFT_OK)
			{
				/* accepted: it must be the canonical encoding of what it decoded to */
				CHECK(raft_configuration_encode(out, n, again, sizeof(again), &w) == RAFT_OK &&
					  w == len && memcmp(again, buf, len) == 0);
				free(out);
			}
			buf[k / 8] ^= (uint8_t) (1u << (k % 8));
		}
	}
	/* an allocator that fails: RAFT_ENOMEM, nothing left */
	{
		static const uint8_t ok[] = {1, 1, 1, 1, 0};
		test_alloc_state st;
		raft_allocator failing = ta_make(&st, 0);
		raft_member *out = (raft_member *) 1;
		size_t		n = 9;

		CHECK(raft_configuration_decode(ok, sizeof(ok), &failing, &out, &n) == RAFT_ENOMEM);
		CHECK(out == NULL && n == 0 && st.live == 0);
		failing = ta_make(&st, -1);
		CHECK(raft_configuration_decode(ok, sizeof(ok), &failing, &out, &n) == RAFT_OK && st.live == 1);
		failing.free(failing.ctx, out);
		CHECK(st.live == 0);
		CHECK(raft_configuration_decode(ok, sizeof(ok), NULL, NULL, &n) == RAFT_EINVAL);
	}
}

int
main(void)
{
	RUN_TEST(test_samples_encode);
	RUN_TEST(test_golden_bytes);
	RUN_TEST(test_roundtrip_edges);
	RUN_TEST(test_varint_boundaries);
	RUN_TEST(test_roundtrip_random);
	RUN_TEST(test_limits);
	RUN_TEST(test_unused_fields_ignored);
	RUN_TEST(test_truncations);
	RUN_TEST(test_deletions_and_trailing);
	RUN_TEST(test_bit_flips);
	RUN_TEST(test_random_garbage);
	RUN_TEST(test_mutated_messages);
	RUN_TEST(test_decode_refusals);
	RUN_TEST(test_no_allocation_for_garbage);
	RUN_TEST(test_bounds);
	RUN_TEST(test_encode_refusals);
	RUN_TEST(test_allocation_failure);
	RUN_TEST(test_configuration_roundtrip_and_golden);
	RUN_TEST(test_configuration_encode_refusals);
	RUN_TEST(test_configuration_decode_refusals);
	return test_summary("test_encoding");
}
