/*
 * fuzz_decode.c — libFuzzer target for the wire decoder (encoding.c).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc/raft \
 *       test/fuzz_decode.c src/raft/encoding.c
 *   ./a.out -max_total_time=300 test/fuzz-corpus
 *
 * Beyond "no crash, no out-of-bounds read, no leak" (the sanitizers), it
 * aborts when an accepted input breaks what the format promises:
 *  - the decoded message is consistent (entry indexes follow prevLogIndex,
 *    entry data lies inside the input, fields the type does not carry are
 *    zero, no term above RAFT_MAX_TERM, no index above RAFT_MAX_INDEX);
 *  - it re-encodes to exactly the input (the encoding is canonical), with
 *    raft_encoded_size() equal to the input length and one byte less of
 *    room refused;
 *  - the same bytes under another cluster id are RAFT_ECLUSTER (each
 *    input is tried under its own cluster id too, so that the fuzzer
 *    reaches the body without guessing the fixed one);
 *  - with an allocator that always fails, it is RAFT_ENOMEM exactly when
 *    there are entries to allocate, and leaves nothing behind.
 * A refused input must leave *out with nothing to free.
 *
 * Each input is also tried as a configuration (raft_configuration_decode):
 * accepted only when well formed, and then it re-encodes to itself.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "raft.h"

#define FUZZ_CID ((uint64_t) 0x1122334455667788ULL)

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void *
failing_malloc(void *ctx, size_t size)
{
	(void) ctx;
	(void) size;
	return NULL;
}

static void *
failing_realloc(void *ctx, void *ptr, size_t size)
{
	(void) ctx;
	(void) ptr;
	(void) size;
	return NULL;
}

static void
failing_free(void *ctx, void *ptr)
{
	(void) ctx;
	if (ptr != NULL)
		abort();				/* nothing was allocated, so nothing to free */
}

static void
check(int ok)
{
	if (!ok)
		abort();
}

static void
check_consistent(const raft_message *m, const uint8_t *buf, size_t len)
{
	uint32_t	i;
	int			ae = m->type == RAFT_MSG_APPEND_ENTRIES;
	int			aer = m->type == RAFT_MSG_APPEND_ENTRIES_RESULT;
	int			vote = m->type == RAFT_MSG_REQUEST_VOTE || m->type == RAFT_MSG_PRE_VOTE;
	int			voteres = m->type == RAFT_MSG_REQUEST_VOTE_RESULT ||
		m->type == RAFT_MSG_PRE_VOTE_RESULT;
	int			ri = m->type == RAFT_MSG_READ_INDEX;
	int			rir = m->type == RAFT_MSG_READ_INDEX_RESULT;
	int			prop = m->type == RAFT_MSG_PROPOSE;
	int			snap = m->type == RAFT_MSG_INSTALL_SNAPSHOT;

	check(m->type >= 1 && m->type <= RAFT_MSG_TYPE_MAX);
	/* fields the type does not carry */
	check(ae || (m->prevLogIndex == 0 && m->prevLogTerm == 0 && m->leaderCommit == 0));
	check(ae || prop || (m->nEntries == 0 && m->entries == NULL));
	check(aer || vote || m->lastLogIndex == 0);
	check(vote || (m->lastLogTerm == 0 && !m->leadershipTransfer));
	check(voteres || !m->voteGranted);
	check(aer || rir || !m->success);
	check(aer || (m->matchIndex == 0 && m->rejectedIndex == 0 &&
				  m->conflictIndex == 0 && m->conflictTerm == 0));
	check(ae || aer || m->readSeq == 0);
	check(ri || rir || m->requestId == 0);
	check(rir || m->readIndex == 0);
	check(snap || (m->lastIncludedIndex == 0 && m->lastIncludedTerm == 0));
	check(m->lastIncludedIndex <= RAFT_MAX_INDEX && m->lastIncludedTerm <= RAFT_MAX_TERM);

	/* unused fields are zero, so every term and index can be judged */
	check(m->term <= RAFT_MAX_TERM && m->prevLogTerm <= RAFT_MAX_TERM &&
		  m->lastLogTerm <= RAFT_MAX_TERM && m->conflictTerm <= RAFT_MAX_TERM);
	check(m->prevLogIndex <= RAFT_MAX_INDEX && m->lastLogIndex <= RAFT_MAX_INDEX &&
		  m->leaderCommit <= RAFT_MAX_INDEX && m->matchIndex <= RAFT_MAX_INDEX &&
		  m->rejectedIndex <= RAFT_MAX_INDEX && m->conflictIndex <= RAFT_MAX_INDEX &&
		  m->readIndex <= RAFT_MAX_INDEX);

	check((m->nEntries == 0) == (m->entries == NULL));
	check(m->nEntries <= RAFT_MAX_ENTRIES_PER_MESSAGE);
	for (i = 0; i < m->nEntries; i++)
	{
		const raft_entry *e = &m->entries[i];
		const uint8_t *d = e->data;

		/* a PROPOSE carries commands: the leader gives them term and index */
		if (prop)
			check(e->index == 0 && e->term == 0 && e->type == RAFT_ENTRY_NORMAL);
		else
			check(e->index > m->prevLogIndex && e->index - m->prevLogIndex == (uint64_t) i + 1);
		check(e->index <= RAFT_MAX_INDEX && e->term <= RAFT_MAX_TERM);
		check(e->type <= RAFT_ENTRY_TYPE_MAX);
		check(e->len <= RAFT_MAX_ENTRY_BYTES);
		check((e->len == 0) == (d == NULL));
		if (e->len > 0)
			check(d >= buf && d <= buf + len && (size_t) (buf + len - d) >= e->len);
	}
}

/* Decode under clusterId and check everything promised; returns the code. */
static int
verify(const uint8_t *data, size_t size, uint64_t clusterId)
{
	raft_allocator failing = {failing_malloc, failing_realloc, failing_free, NULL};
	raft_message m;
	raft_message other;
	uint8_t    *again;
	size_t		written = 0;
	int			rc;
	int			rc2;

	memset(&m, 0xA5, sizeof m);
	rc = raft_decode(data, size, clusterId, NULL, &m);
	check(rc == RAFT_OK || rc == RAFT_EMALFORMED || rc == RAFT_ETOOBIG ||
		  rc == RAFT_EVERSION || rc == RAFT_ECLUSTER);
	if (rc != RAFT_OK)
	{
		check(m.entries == NULL && m.nEntries == 0);
		return rc;
	}

	check_consistent(&m, data, size);
	check(raft_encoded_size(&m) == size);
	again = malloc(size);
	check(again != NULL);
	check(raft_encode(&m, clusterId, again, size, &written) == RAFT_OK);
	check(written == size && memcmp(again, data, size) == 0);
	check(raft_encode(&m, clusterId, again, size - 1, &written) == RAFT_ETOOBIG);
	free(again);

	memset(&other, 0xA5, sizeof other);
	rc2 = raft_decode(data, size, clusterId, &failing, &other);
	check(rc2 == (m.nEntries > 0 ? RAFT_ENOMEM : RAFT_OK));
	check(other.entries == NULL && other.nEntries == 0);

	raft_message_free_decoded(NULL, &m);
	return rc;
}

/*
 * The same input as a configuration (a RAFT_ENTRY_CONFIG entry's data):
 * accepted only if well formed (members in increasing id order, no id 0, a
 * voter, addresses inside the input) and then canonical.
 */
static void
verify_configuration(const uint8_t *data, size_t size)
{
	raft_member *out = NULL;
	size_t		n = 0,
				i,
				written = 0;
	uint8_t    *again;
	bool		voter = false;

	if (raft_configuration_decode(data, size, NULL, &out, &n) != RAFT_OK)
	{
		check(out == NULL && n == 0);
		return;
	}
	check(n >= 1 && n <= RAFT_MAX_MEMBERS);
	for (i = 0; i < n; i++)
	{
		check(out[i].id != 0 && (i == 0 || out[i].id > out[i - 1].id));
		check(out[i].addressLen <= RAFT_MAX_ADDRESS_BYTES);
		if (out[i].addressLen > 0)
			check((const uint8_t *) out[i].address >= data &&
				  (const uint8_t *) out[i].address + out[i].addressLen <= data + size);
		voter = voter || out[i].voter;
	}
	check(voter);
	check(raft_configuration_encoded_size(out, n) == size);
	again = malloc(size);
	check(again != NULL);
	check(raft_configuration_encode(out, n, again, size, &written) == RAFT_OK);
	check(written == size && memcmp(again, data, size) == 0);
	free(again);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t	own = 0;
	int			rc;
	int			rc2;
	int			k;

	verify_configuration(data, size);
	(void) verify(data, size, FUZZ_CID);
	if (size < 12)
		return 0;

	/*
	 * Also under the input's own cluster id, so that the fuzzer gets past
	 * the cluster check without having to guess FUZZ_CID; then under a
	 * different one, which must be refused as another cluster's (or for a
	 * reason found before the cluster id is looked at).
	 */
	for (k = 0; k < 8; k++)
		own |= (uint64_t) data[4 + k] << (8 * k);
	rc = verify(data, size, own);
	check(rc != RAFT_ECLUSTER);
	rc2 = verify(data, size, own ^ 0x0100000000000001ULL);
	if (rc == RAFT_OK)
		check(rc2 == RAFT_ECLUSTER);
	else
		check(rc2 == RAFT_ECLUSTER || rc2 == rc);
	return 0;
}
