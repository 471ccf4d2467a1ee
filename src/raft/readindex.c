/*
 * readindex.c — linearizable read points without writing to the log
 * (Raft thesis §6.4, "ReadIndex").
 *
 * The leader records its commitIndex as the read index, then confirms it is
 * still the leader by hearing, at its term, from a majority in answer to
 * AppendEntries sent after the request was recorded.  Each request gets a
 * sequence number (readSeq) carried by every later AppendEntries and echoed
 * back; a majority echoing >= seq confirms every request up to seq.
 *
 * A fresh leader does not know the commit index of earlier terms until it
 * commits an entry of its own term, so requests wait (seq 0) until then.
 * A leader that steps down drops its pending requests: the host times out.
 * The majority is of the voters of the configuration in use (membership.c);
 * learners' echoes do not count.
 */
#include <stdlib.h>
#include <string.h>

#include "raft_int.h"

bool
raft_committed_in_current_term(const raft_node *node)
{
	return raft_log_term_at(&node->log, node->commitIndex) == node->currentTerm;
}

int
raft_read_push_state(raft_node *node, uint64_t requestId, raft_index readIndex)
{
	int			rc;

	rc = raft_reserve(&node->alloc, (void **) &node->readStates, &node->capReadStates,
					  node->nReadStates + 1, sizeof(raft_read_state));
	if (rc != RAFT_OK)
		return rc;
	node->readStates[node->nReadStates].requestId = requestId;
	node->readStates[node->nReadStates].readIndex = readIndex;
	node->nReadStates++;
	return RAFT_OK;
}

/* The read point is confirmed: hand it to the host, or to the follower that asked. */
static int
read_ready(raft_node *node, const raft_pending_read *r)
{
	raft_message m;

	if (r->from == node->id)
		return raft_read_push_state(node, r->requestId, r->readIndex);
	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_READ_INDEX_RESULT;
	m.to = r->from;
	m.requestId = r->requestId;
	m.readIndex = r->readIndex;
	m.success = true;
	return raft_send(node, &m);
}

int
raft_read_register(raft_node *node, uint64_t requestId, raft_node_id from)
{
	raft_pending_read *r;
	int			rc;

	if (node->nVoters == 1 && raft_is_voter(node) && raft_committed_in_current_term(node))
	{
		/* no one else could have been elected: the commit index is current */
		raft_pending_read one = {requestId, from, node->commitIndex, 0};

		return read_ready(node, &one);
	}
	rc = raft_reserve(&node->alloc, (void **) &node->reads, &node->capReads,
					  node->nReads + 1, sizeof(raft_pending_read));
	if (rc != RAFT_OK)
		return rc;
	r = &node->reads[node->nReads++];
	r->requestId = requestId;
	r->from = from;
	r->readIndex = 0;
	r->seq = 0;
	if (!raft_committed_in_current_term(node))
		return RAFT_OK;
	r->readIndex = node->commitIndex;
	r->seq = ++node->readSeq;
	return raft_broadcast_heartbeat(node);
}

/* The first entry of our term committed: the waiting requests can start. */
int
raft_read_on_commit_in_term(raft_node *node)
{
	size_t		i;
	bool		any = false;

	for (i = 0; i < node->nReads; i++)
	{
		if (node->reads[i].seq != 0)
			continue;
		node->reads[i].readIndex = node->commitIndex;
		node->reads[i].seq = ++node->readSeq;
		any = true;
	}
	if (!any)
		return RAFT_OK;
	if (node->nVoters == 1 && raft_is_voter(node))
		return raft_read_check_quorum(node);
	return raft_broadcast_heartbeat(node);
}

static int
compare_seq_desc(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *) a;
	uint64_t	y = *(const uint64_t *) b;

	return x < y ? 1 : (x > y ? -1 : 0);
}

/* Release every request whose seq a majority has acknowledged. */
int
raft_read_check_quorum(raft_node *node)
{
	uint64_t	stackSeqs[16];
	uint64_t   *seqs = stackSeqs;
	uint64_t	confirmed;
	size_t		i,
				k = 0,
				kept = 0;
	int			rc = RAFT_OK;

	if (node->nReads == 0 || node->role != RAFT_LEADER || node->nVoters == 0)
		return RAFT_OK;
	if (node->nVoters > 16)
	{
		seqs = raft_malloc(&node->alloc, node->nVoters * sizeof(uint64_t));
		if (seqs == NULL)
			return RAFT_ENOMEM;
	}
	/* a majority of the voters; the leader itself while it is one */
	for (i = 0; i < node->nMembers; i++)
	{
		if (!node->members[i].voter)
			continue;
		seqs[k++] = node->members[i].id == node->id ? node->readSeq
			: node->progress[i].ackedReadSeq;
	}
	qsort(seqs, k, sizeof(uint64_t), compare_seq_desc);
	confirmed = seqs[raft_quorum(node) - 1];
	if (seqs != stackSeqs)
		raft_free(&node->alloc, seqs);

	for (i = 0; i < node->nReads; i++)
	{
		raft_pending_read *r = &node->reads[i];

		if (r->seq != 0 && r->seq <= confirmed && rc == RAFT_OK)
			rc = read_ready(node, r);
		else
			node->reads[kept++] = *r;
	}
	node->nReads = kept;
	return rc;
}

void
raft_read_drop_all(raft_node *node)
{
	node->nReads = 0;
}
