/*
 * sim_net.c — the simulated network.
 *
 * A message is encoded with the real wire codec when it is sent and decoded
 * when it is delivered, so every run exercises encoding.c with the messages
 * the core really produces.  At send time the encoding is also decoded once
 * and compared field by field with the original (a codec round trip).
 *
 * In flight, messages sit in an unordered pool, each with the step from
 * which it may be delivered.  Delivery picks a random deliverable message,
 * which gives reordering; loss and duplication happen at send time, at the
 * rates of the current epoch.  In the heal phase delivery is in send order.  Partitions are a matrix of blocked one-way
 * links, checked both at send and at delivery (a message in flight when a
 * partition starts is lost, as on a real network).  A message to a crashed
 * node is lost.
 *
 * Delivery also checks that a removed node never disrupts the cluster
 * ([removed-disrupts]): a member that knows the sender was removed (its
 * configuration comes from the committed entry that removed it, or a later
 * one) must not have its term raised by the message, unless the sender
 * sent it as the leader of that term (a leader that removed itself leads
 * until that commits).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

/* Beyond this many in-flight messages, new ones are dropped (a full queue). */
#define SIM_NET_MAX_INFLIGHT 4096

void
sim_net_init(sim *s)
{
	memset(&s->net, 0, sizeof(s->net));
	s->net.clusterId = sim_rng_next(&s->rng);
	s->net.nextId = 1;
	s->net.maxDelay = 1;
}

void
sim_net_free(sim *s)
{
	size_t		i;

	for (i = 0; i < s->net.n; i++)
		free(s->net.msgs[i].buf);
	free(s->net.msgs);
	s->net.msgs = NULL;
	s->net.n = s->net.cap = 0;
	if (s->net.deliveringDecoded)
		raft_message_free_decoded(&s->alloc, &s->net.delivering);
	s->net.deliveringDecoded = false;
	free(s->net.deliveringBuf);
	s->net.deliveringBuf = NULL;
}

const char *
sim_msg_type_name(uint8_t type)
{
	switch (type)
	{
		case RAFT_MSG_APPEND_ENTRIES:
			return "AE";
		case RAFT_MSG_APPEND_ENTRIES_RESULT:
			return "AER";
		case RAFT_MSG_REQUEST_VOTE:
			return "RV";
		case RAFT_MSG_REQUEST_VOTE_RESULT:
			return "RVR";
		case RAFT_MSG_PRE_VOTE:
			return "PV";
		case RAFT_MSG_PRE_VOTE_RESULT:
			return "PVR";
		case RAFT_MSG_TIMEOUT_NOW:
			return "TIMEOUT_NOW";
		case RAFT_MSG_READ_INDEX:
			return "RI";
		case RAFT_MSG_READ_INDEX_RESULT:
			return "RIR";
		case RAFT_MSG_PROPOSE:
			return "PROPOSE";
		case RAFT_MSG_INSTALL_SNAPSHOT:
			return "SNAP";
	}
	return "?";
}

/* One readable line for the trace: type from->to term, then the fields the type uses. */
void
sim_format_msg(const raft_message *m, char *buf, size_t cap)
{
	int			len;
	uint32_t	i;

	len = snprintf(buf, cap, "%s %llu->%llu t%llu", sim_msg_type_name(m->type),
				   (unsigned long long) m->from, (unsigned long long) m->to,
				   (unsigned long long) m->term);
	if (len < 0 || (size_t) len >= cap)
		return;
	buf += len;
	cap -= (size_t) len;
	switch (m->type)
	{
		case RAFT_MSG_APPEND_ENTRIES:
			len = snprintf(buf, cap, " prev=%llu/%llu commit=%llu rs=%llu n=%u",
						   (unsigned long long) m->prevLogIndex,
						   (unsigned long long) m->prevLogTerm,
						   (unsigned long long) m->leaderCommit,
						   (unsigned long long) m->readSeq, m->nEntries);
			for (i = 0; i < m->nEntries && len >= 0 && (size_t) len < cap; i++)
			{
				int			l;

				if (i == 4)
				{
					l = snprintf(buf + len, cap - (size_t) len, " ...%llu/%llu",
								 (unsigned long long) m->entries[m->nEntries - 1].index,
								 (unsigned long long) m->entries[m->nEntries - 1].term);
					len += l;
					break;
				}
				l = snprintf(buf + len, cap - (size_t) len, "%s%llu/%llu%s%s",
							 i == 0 ? " [" : " ",
							 (unsigned long long) m->entries[i].index,
							 (unsigned long long) m->entries[i].term,
							 m->entries[i].type == RAFT_ENTRY_NOOP ? "(noop)" : "",
							 i + 1 == m->nEntries ? "]" : "");
				len += l;
			}
			break;
		case RAFT_MSG_APPEND_ENTRIES_RESULT:
			if (m->success)
				snprintf(buf, cap, " ok match=%llu last=%llu rs=%llu",
						 (unsigned long long) m->matchIndex,
						 (unsigned long long) m->lastLogIndex,
						 (unsigned long long) m->readSeq);
			else
				snprintf(buf, cap, " REJECT rejected=%llu hint=%llu/%llu last=%llu rs=%llu",
						 (unsigned long long) m->rejectedIndex,
						 (unsigned long long) m->conflictIndex,
						 (unsigned long long) m->conflictTerm,
						 (unsigned long long) m->lastLogIndex,
						 (unsigned long long) m->readSeq);
			break;
		case RAFT_MSG_REQUEST_VOTE:
		case RAFT_MSG_PRE_VOTE:
			snprintf(buf, cap, " last=%llu/%llu%s",
					 (unsigned long long) m->lastLogIndex,
					 (unsigned long long) m->lastLogTerm,
					 m->leadershipTransfer ? " transfer" : "");
			break;
		case RAFT_MSG_REQUEST_VOTE_RESULT:
		case RAFT_MSG_PRE_VOTE_RESULT:
			snprintf(buf, cap, " %s", m->voteGranted ? "GRANTED" : "denied");
			break;
		case RAFT_MSG_READ_INDEX:
			snprintf(buf, cap, " req=%llu", (unsigned long long) m->requestId);
			break;
		case RAFT_MSG_READ_INDEX_RESULT:
			snprintf(buf, cap, " req=%llu index=%llu %s",
					 (unsigned long long) m->requestId,
					 (unsigned long long) m->readIndex,
					 m->success ? "ok" : "FAILED");
			break;
		case RAFT_MSG_INSTALL_SNAPSHOT:
			snprintf(buf, cap, " lastIncluded=%llu/%llu",
					 (unsigned long long) m->lastIncludedIndex,
					 (unsigned long long) m->lastIncludedTerm);
			break;
		default:
			break;
	}
}

/*
 * Compare the fields the wire format carries for the message's type (raft.h
 * lists them).  Returns NULL when equal, else the name of a differing field.
 */
static const char *
wire_diff(const raft_message *a, const raft_message *b)
{
	uint32_t	i;

#define SIM_FIELD(f) do { if (a->f != b->f) return #f; } while (0)
	SIM_FIELD(type);
	SIM_FIELD(from);
	SIM_FIELD(to);
	SIM_FIELD(term);
	switch (a->type)
	{
		case RAFT_MSG_APPEND_ENTRIES:
			SIM_FIELD(prevLogIndex);
			SIM_FIELD(prevLogTerm);
			SIM_FIELD(leaderCommit);
			SIM_FIELD(readSeq);
			SIM_FIELD(nEntries);
			for (i = 0; i < a->nEntries; i++)
			{
				const raft_entry *x = &a->entries[i];
				const raft_entry *y = &b->entries[i];

				if (x->term != y->term)
					return "entries[].term";
				if (x->index != y->index)
					return "entries[].index";
				if (x->type != y->type)
					return "entries[].type";
				if (x->len != y->len)
					return "entries[].len";
				if (x->len > 0 && memcmp(x->data, y->data, x->len) != 0)
					return "entries[].data";
			}
			break;
		case RAFT_MSG_APPEND_ENTRIES_RESULT:
			SIM_FIELD(success);
			SIM_FIELD(matchIndex);
			SIM_FIELD(rejectedIndex);
			SIM_FIELD(conflictIndex);
			SIM_FIELD(conflictTerm);
			SIM_FIELD(lastLogIndex);
			SIM_FIELD(readSeq);
			break;
		case RAFT_MSG_REQUEST_VOTE:
		case RAFT_MSG_PRE_VOTE:
			SIM_FIELD(lastLogIndex);
			SIM_FIELD(lastLogTerm);
			SIM_FIELD(leadershipTransfer);
			break;
		case RAFT_MSG_REQUEST_VOTE_RESULT:
		case RAFT_MSG_PRE_VOTE_RESULT:
			SIM_FIELD(voteGranted);
			break;
		case RAFT_MSG_READ_INDEX:
			SIM_FIELD(requestId);
			break;
		case RAFT_MSG_READ_INDEX_RESULT:
			SIM_FIELD(requestId);
			SIM_FIELD(readIndex);
			SIM_FIELD(success);
			break;
		case RAFT_MSG_INSTALL_SNAPSHOT:
			SIM_FIELD(lastIncludedIndex);
			SIM_FIELD(lastIncludedTerm);
			break;
		default:
			break;
	}
#undef SIM_FIELD
	return NULL;
}

static void
enqueue(sim *s, const raft_message *m, const uint8_t *bytes, size_t len, uint64_t id)
{
	sim_net    *net = &s->net;
	sim_msg    *q;
	uint64_t	delay = 0;

	if (net->n >= SIM_NET_MAX_INFLIGHT)
	{
		net->dropped++;
		SIM_TRACE(s, "    #%llu lost (network queue full)", (unsigned long long) id);
		return;
	}
	if (net->n == net->cap)
	{
		net->cap = net->cap ? net->cap * 2 : 64;
		net->msgs = sim_xrealloc(net->msgs, net->cap * sizeof(sim_msg));
	}
	if (!s->healing)
	{
		delay = sim_rng_below(&s->rng, net->maxDelay + 1);
		if (sim_rng_permille(&s->rng, net->longDelayPermille))
			delay = delay * 20 + 20;
	}
	q = &net->msgs[net->n++];
	q->buf = sim_xmalloc(len ? len : 1);
	memcpy(q->buf, bytes, len);
	q->len = len;
	q->from = m->from;
	q->to = m->to;
	q->deliverAt = s->step + delay;
	q->id = id;
}

void
sim_net_send(sim *s, const raft_message *m)
{
	sim_net    *net = &s->net;
	size_t		size,
				written = 0;
	uint8_t    *buf;
	raft_message dec;
	const char *diff;
	uint64_t	id = net->nextId++;
	int			rc;

	if (m->to == RAFT_NONE || m->to > s->nNodes || m->to == m->from)
		sim_fail(s, "host-protocol", "n%llu sends a %s to invalid node %llu",
				 (unsigned long long) m->from, sim_msg_type_name(m->type),
				 (unsigned long long) m->to);

	/* through the codec: encode, and check that decoding gives it back */
	size = raft_encoded_size(m);
	buf = sim_xmalloc(size ? size : 1);
	rc = raft_encode(m, net->clusterId, buf, size, &written);
	if (rc != RAFT_OK || written != size)
	{
		free(buf);
		sim_fail(s, "codec", "raft_encode of %s from n%llu: %s, %zu bytes written, raft_encoded_size said %zu",
				 sim_msg_type_name(m->type), (unsigned long long) m->from,
				 sim_rc(rc), written, size);
	}
	rc = raft_decode(buf, written, net->clusterId, &s->alloc, &dec);
	if (rc != RAFT_OK)
	{
		free(buf);
		sim_fail(s, "codec", "raft_decode of a just-encoded %s failed: %s",
				 sim_msg_type_name(m->type), sim_rc(rc));
	}
	diff = wire_diff(m, &dec);
	raft_message_free_decoded(&s->alloc, &dec);
	if (diff != NULL)
	{
		free(buf);
		sim_fail(s, "codec", "%s from n%llu changed through encode/decode: field %s",
				 sim_msg_type_name(m->type), (unsigned long long) m->from, diff);
	}
	/* now and then, the cluster id must be enforced */
	if (sim_rng_below(&s->rng, 64) == 0)
	{
		rc = raft_decode(buf, written, net->clusterId + 1, &s->alloc, &dec);
		if (rc == RAFT_OK)
			raft_message_free_decoded(&s->alloc, &dec);
		if (rc != RAFT_ECLUSTER)
		{
			free(buf);
			sim_fail(s, "codec", "decoding with another cluster id returned %s, expected RAFT_ECLUSTER",
					 sim_rc(rc));
		}
	}

	net->sent++;
	if (s->trace)
	{
		char		line[512];

		sim_format_msg(m, line, sizeof(line));
		sim_trace(s, "  send #%llu %s (%zu bytes)", (unsigned long long) id, line, written);
	}

	if (!s->healing && net->blocked[m->from][m->to])
	{
		net->dropped++;
		SIM_TRACE(s, "    #%llu lost (partition)", (unsigned long long) id);
	}
	else if (!s->healing && sim_rng_permille(&s->rng, net->lossPermille))
	{
		net->dropped++;
		SIM_TRACE(s, "    #%llu lost", (unsigned long long) id);
	}
	else
	{
		enqueue(s, m, buf, written, id);
		if (!s->healing && sim_rng_permille(&s->rng, net->dupPermille))
		{
			net->duplicated++;
			SIM_TRACE(s, "    #%llu duplicated", (unsigned long long) id);
			enqueue(s, m, buf, written, id);
		}
	}
	free(buf);
}

size_t
sim_net_ready_count(const sim *s)
{
	size_t		i,
				count = 0;

	for (i = 0; i < s->net.n; i++)
		if (s->net.msgs[i].deliverAt <= s->step)
			count++;
	return count;
}

/*
 * Deliver one message: a random deliverable one, or, when inOrder, the
 * oldest one whatever its delivery time (the heal phase's reliable network
 * is FIFO, like the real transport's one connection per peer).  Returns
 * false when there is none.
 */
/*
 * Does n know that id was removed: id is not in its configuration, which
 * comes from the entry that removed it or a later one?
 */
static bool
knows_removed(const sim *s, const sim_node *n, raft_node_id id)
{
	raft_member m[RAFT_MAX_MEMBERS];
	raft_index	index;
	size_t		count = raft_get_configuration(n->raft, m, RAFT_MAX_MEMBERS, &index, NULL),
				i;

	if (s->ck.removedAt[id] == 0 || index < s->ck.removedAt[id])
		return false;
	for (i = 0; i < count && i < RAFT_MAX_MEMBERS; i++)
		if (m[i].id == id)
			return false;
	return true;
}

bool
sim_net_deliver_one(sim *s, bool inOrder)
{
	sim_net    *net = &s->net;
	size_t		i,
				count,
				k;
	sim_msg		msg;
	sim_node   *n;
	int			rc;
	bool		watch;
	raft_status before;

	if (inOrder)
	{
		if (net->n == 0)
			return false;
		for (k = 0, i = 1; i < net->n; i++)
			if (net->msgs[i].id < net->msgs[k].id)
				k = i;
		i = k;
	}
	else
	{
		count = sim_net_ready_count(s);
		if (count == 0)
			return false;
		k = sim_rng_below(&s->rng, count);
		for (i = 0; i < net->n; i++)
		{
			if (net->msgs[i].deliverAt > s->step)
				continue;
			if (k-- == 0)
				break;
		}
	}
	msg = net->msgs[i];
	net->msgs[i] = net->msgs[--net->n];

	n = &s->nodes[msg.to];
	if (!s->healing && net->blocked[msg.from][msg.to])
	{
		net->dropped++;
		SIM_TRACE(s, "drop #%llu %llu->%llu (partition)", (unsigned long long) msg.id,
				  (unsigned long long) msg.from, (unsigned long long) msg.to);
		free(msg.buf);
		return true;
	}
	if (n->raft == NULL)
	{
		net->dropped++;
		SIM_TRACE(s, "drop #%llu %llu->%llu (n%llu is down)", (unsigned long long) msg.id,
				  (unsigned long long) msg.from, (unsigned long long) msg.to,
				  (unsigned long long) msg.to);
		free(msg.buf);
		return true;
	}

	/* kept in net so that a failure inside raft_step leaks nothing */
	net->deliveringBuf = msg.buf;
	rc = raft_decode(msg.buf, msg.len, net->clusterId, &s->alloc, &net->delivering);
	if (rc != RAFT_OK)
		sim_fail(s, "codec", "raft_decode of in-flight message #%llu failed: %s",
				 (unsigned long long) msg.id, sim_rc(rc));
	net->deliveringDecoded = true;
	net->delivered++;
	if (s->trace)
	{
		char		line[512];

		sim_format_msg(&net->delivering, line, sizeof(line));
		sim_trace(s, "deliver #%llu %s", (unsigned long long) msg.id, line);
	}
	/*
	 * A node outside the configuration (removed, and its removal
	 * committed) must not disrupt: no member that knows it was removed
	 * (it holds that configuration entry, or a later one, and the node is
	 * not in it) may have its term raised by its messages.
	 */
	watch = msg.from <= SIM_MAX_NODES && sim_committed_member(s, msg.to) &&
		knows_removed(s, n, msg.from);
	/*
	 * except what it sent as the leader of that term: a leader that removed
	 * itself leads until the removal commits, and its AppendEntries and
	 * its hand-over (TimeoutNow) may arrive after
	 */
	if (watch && net->delivering.term < s->ck.capTerms &&
		s->ck.leaderOfTerm[net->delivering.term] == msg.from)
		watch = false;
	if (watch)
		raft_get_status(n->raft, &before);
	sim_node_step(s, n, &net->delivering);
	if (watch && n->raft != NULL)
	{
		raft_status after;

		raft_get_status(n->raft, &after);
		if (after.currentTerm > before.currentTerm)
			sim_fail(s, "removed-disrupts", "n%llu, removed (committed), raised member n%llu's term from %llu to %llu with %s",
					 (unsigned long long) msg.from, (unsigned long long) msg.to,
					 (unsigned long long) before.currentTerm, (unsigned long long) after.currentTerm,
					 sim_msg_type_name(net->delivering.type));
	}

	raft_message_free_decoded(&s->alloc, &net->delivering);
	net->deliveringDecoded = false;
	free(net->deliveringBuf);
	net->deliveringBuf = NULL;
	return true;
}

static void
block(sim *s, raft_node_id from, raft_node_id to)
{
	if (from != to)
		s->net.blocked[from][to] = true;
}

/* Replace the current partition with a new random one. */
void
sim_net_partition_random(sim *s)
{
	unsigned	n = s->nNodes;
	raft_node_id a,
				b;
	unsigned	mask,
				k;
	const char *kind;
	char		desc[256];
	int			len;

	memset(s->net.blocked, 0, sizeof(s->net.blocked));
	a = 1 + sim_rng_below(&s->rng, n);
	k = (unsigned) sim_rng_below(&s->rng, 6);
	switch (k)
	{
		case 5:

			/*
			 * The leader in the largest minority (with a follower when the
			 * cluster has 5 nodes): the majority elects a new leader while
			 * the old one, still hearing from its follower, may go on
			 * believing it leads.
			 */
			kind = "leader in minority";
			for (b = 1; b <= n; b++)
			{
				raft_status st;

				if (s->nodes[b].raft == NULL)
					continue;
				raft_get_status(s->nodes[b].raft, &st);
				if (st.role == RAFT_LEADER)
					a = b;
			}
			mask = 1u << (a - 1);
			for (b = 1; b < (n - 1) / 2;)
			{
				unsigned	bit = 1u << sim_rng_below(&s->rng, n);

				if ((mask & bit) == 0)
				{
					mask |= bit;
					b++;
				}
			}
			for (a = 1; a <= n; a++)
				for (b = 1; b <= n; b++)
					if (((mask >> (a - 1)) & 1) != ((mask >> (b - 1)) & 1))
						block(s, a, b);
			break;
		case 0:					/* one node cut off */
			kind = "isolate";
			for (b = 1; b <= n; b++)
			{
				block(s, a, b);
				block(s, b, a);
			}
			break;
		case 1:					/* two groups */
			kind = "split";
			mask = 1 + (unsigned) sim_rng_below(&s->rng, (1u << n) - 2);
			for (a = 1; a <= n; a++)
				for (b = 1; b <= n; b++)
					if (((mask >> (a - 1)) & 1) != ((mask >> (b - 1)) & 1))
						block(s, a, b);
			break;
		case 2:					/* a node that can send but not receive */
			kind = "deaf";
			for (b = 1; b <= n; b++)
				block(s, b, a);
			break;
		case 3:					/* a node that receives but cannot send */
			kind = "mute";
			for (b = 1; b <= n; b++)
				block(s, a, b);
			break;
		default:				/* a few random one-way links */
			{
				unsigned	l,
							links = 1 + (unsigned) sim_rng_below(&s->rng, n);

				kind = "one-way links";
				for (l = 0; l < links; l++)
				{
					a = 1 + sim_rng_below(&s->rng, n);
					b = 1 + sim_rng_below(&s->rng, n);
					block(s, a, b);
				}
			}
			break;
	}
	if (s->trace)
	{
		len = 0;
		desc[0] = '\0';
		for (a = 1; a <= n && len < (int) sizeof(desc) - 16; a++)
			for (b = 1; b <= n && len < (int) sizeof(desc) - 16; b++)
				if (s->net.blocked[a][b])
					len += snprintf(desc + len, sizeof(desc) - (size_t) len, " %llu-x->%llu",
									(unsigned long long) a, (unsigned long long) b);
		sim_trace(s, "PARTITION (%s):%s", kind, desc);
	}
}

void
sim_net_heal(sim *s)
{
	memset(s->net.blocked, 0, sizeof(s->net.blocked));
	SIM_TRACE(s, "HEAL network");
}
