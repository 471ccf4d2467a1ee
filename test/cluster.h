/*
 * cluster.h — a tiny in-memory Raft cluster for test_scenarios.c and
 * test_rules.c.
 *
 * Each node is the core plus a host loop that follows raft.h's host rules
 * literally: take a ready batch, persist its hard state and entries into a
 * fake disk, apply its committed entries to a per-node state machine (the
 * list of entries applied, in order), copy its messages into one network
 * queue, then raft_advance().  Messages are deep-copied (entries and their
 * data), so a test may hold, reorder, duplicate, truncate or drop them
 * before delivering them; nothing is delivered unless the test asks.
 *
 * Crashing a node destroys it and keeps only its disk; restarting creates
 * it again from the disk, as a real host would.
 *
 * While it runs, the host loop checks the properties it can see; every
 * breach is printed and counted in cluster.violations, which each test
 * checks is 0 at the end:
 *   - committed entries arrive in index order, each exactly once, also
 *     across restarts (the host's lastApplied is on its disk);
 *   - an entry handed out for apply is in the disk once its batch is
 *     persisted, and every node applies the same entry at the same index
 *     (State Machine Safety);
 *   - at most one leader per term (Election Safety);
 *   - a granted vote leaves only in a batch whose hard state (now durable)
 *     holds that term and that vote;
 *   - no message other than AppendEntries and pre-votes carries a term
 *     above the node's durable term;
 *   - a successful AppendEntries answer acknowledges only entries that are
 *     on the node's disk.
 *
 * Node ids are 1..n and every array here is indexed by id.  Functions are
 * static (each test program includes this header once).
 */
#ifndef RAFT_TEST_CLUSTER_H
#define RAFT_TEST_CLUSTER_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raft.h"

#define CL_MAX_NODES 5
#define CL_MAX_TERMS 4096
#define CL_MAX_READS 64
#define CL_MAX_VIOLATIONS 100	/* beyond this a cluster stops driving its nodes */

/* Defaults every test starts from; a test may change cfg before cl_start(). */
#define CL_ELECTION_MIN 10
#define CL_ELECTION_MAX 20
#define CL_HEARTBEAT 2

/* raft_leader_unreachable's window with those defaults: max(1, (MAX - MIN) / 2) */
#define CL_HINT_SPAN ((CL_ELECTION_MAX - CL_ELECTION_MIN) / 2 > 0 ? \
					  (CL_ELECTION_MAX - CL_ELECTION_MIN) / 2 : 1)

/* A log of entries with private copies of their data; e[i].index == i + 1. */
typedef struct cl_log
{
	raft_entry *e;
	size_t		n;
	size_t		cap;
} cl_log;

/* A message in the network: m.entries points at ents, a private copy. */
typedef struct cl_msg
{
	raft_message m;
	raft_entry *ents;
} cl_msg;

typedef struct cl_node
{
	raft_node  *raft;			/* NULL while crashed or not started */
	raft_config cfg;

	/* the fake disk: exactly what the host has made durable */
	raft_hard_state hs;
	cl_log		log;
	raft_index	applied;		/* lastApplied, durable with the state machine */
	cl_log		sm;				/* the state machine: every entry applied */

	/* what the host saw, for the tests to inspect */
	raft_read_state reads[CL_MAX_READS];
	size_t		nReads;
	unsigned	batches;		/* ready batches processed */
	raft_index	lastPersistFirst;	/* first index of the last entries persisted */
	size_t		lastPersistCount;
} cl_node;

typedef struct cluster cluster;

/* Called for each message at delivery: return false to drop it (it may be modified). */
typedef bool (*cl_filter_fn) (cluster *c, cl_msg *msg, void *arg);

/* Called for each message a node sends, when the host takes it from a batch. */
typedef void (*cl_send_fn) (cluster *c, const raft_message *m, void *arg);

struct cluster
{
	size_t		n;
	raft_node_id ids[CL_MAX_NODES];
	cl_node		node[CL_MAX_NODES + 1];	/* by id; node[0] unused */

	/* the network */
	bool		cut[CL_MAX_NODES + 1][CL_MAX_NODES + 1];	/* drop from -> to */
	cl_msg	   *q;
	size_t		qn;
	size_t		qcap;
	cl_filter_fn filter;
	void	   *filterArg;
	cl_send_fn	onSend;
	void	   *onSendArg;

	/* checker state */
	cl_log		chosen;			/* the first entry any node applied at each index */
	raft_node_id leaderOfTerm[CL_MAX_TERMS];
	int			violations;

	/* RAFT_ENOMEM is an expected answer only in the allocation-failure test */
	bool		allowNoMem;
	unsigned	noMem;
};

/* ---------------------------------------------------------------------
 * Small utilities
 * --------------------------------------------------------------------- */
static void *
cl_xmalloc(size_t size)
{
	void	   *p = malloc(size == 0 ? 1 : size);

	if (p == NULL)
	{
		fprintf(stderr, "cluster: out of memory\n");
		abort();
	}
	return p;
}

static void
cl_violation(cluster *c, const char *fmt,...)
{
	va_list		ap;

	if (++c->violations == CL_MAX_VIOLATIONS + 1)
		fprintf(stderr, "cluster: more than %d violations, no longer driving nodes\n",
				CL_MAX_VIOLATIONS);
	if (c->violations > CL_MAX_VIOLATIONS)
		return;
	fprintf(stderr, "cluster: violation: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

/* An unexpected return code is a violation; ENOMEM only where allowed. */
static bool
cl_rc(cluster *c, int rc, const char *what, raft_node_id id)
{
	if (rc == RAFT_OK)
		return true;
	if (rc == RAFT_ENOMEM && c->allowNoMem)
	{
		c->noMem++;
		return false;
	}
	cl_violation(c, "%s on node %llu returned %s", what,
				 (unsigned long long) id, raft_strerror(rc));
	return false;
}

/* splitmix64, for the tests that shuffle deliveries */
static uint64_t
cl_rand(uint64_t *state)
{
	uint64_t	z = (*state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static bool
cl_entry_data_is(const raft_entry *e, const char *s)
{
	size_t		len = strlen(s);

	return e->len == len && (len == 0 || memcmp(e->data, s, len) == 0);
}

static bool
cl_same_entry(const raft_entry *a, const raft_entry *b)
{
	return a->index == b->index && a->term == b->term && a->type == b->type &&
		a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* ---------------------------------------------------------------------
 * Logs with owned data (the disk, the state machines, message copies)
 * --------------------------------------------------------------------- */
static raft_entry
cl_entry_copy(const raft_entry *e)
{
	raft_entry	copy = *e;

	copy.data = NULL;
	if (e->len > 0)
	{
		void	   *d = cl_xmalloc(e->len);

		memcpy(d, e->data, e->len);
		copy.data = d;
	}
	return copy;
}

static void
cl_log_append(cl_log *l, const raft_entry *e)
{
	if (l->n == l->cap)
	{
		l->cap = l->cap == 0 ? 64 : l->cap * 2;
		l->e = realloc(l->e, l->cap * sizeof(raft_entry));
		if (l->e == NULL)
		{
			fprintf(stderr, "cluster: out of memory\n");
			abort();
		}
	}
	l->e[l->n++] = cl_entry_copy(e);
}

/* Delete every entry with index >= from (raft.h host rule 1). */
static void
cl_log_truncate(cl_log *l, raft_index from)
{
	while (l->n > 0 && l->e[l->n - 1].index >= from)
	{
		free((void *) l->e[l->n - 1].data);
		l->n--;
	}
}

static void
cl_log_free(cl_log *l)
{
	cl_log_truncate(l, 0);
	free(l->e);
	memset(l, 0, sizeof(*l));
}

static void
cl_msg_free(cl_msg *msg)
{
	uint32_t	i;

	for (i = 0; i < msg->m.nEntries; i++)
		free((void *) msg->ents[i].data);
	free(msg->ents);
	msg->ents = NULL;
	msg->m.entries = NULL;
	msg->m.nEntries = 0;
}

/* Keep only the first keep entries of a message (a shorter, equally valid AppendEntries). */
static void
cl_msg_truncate(cl_msg *msg, uint32_t keep)
{
	uint32_t	i;

	if (keep >= msg->m.nEntries)
		return;
	for (i = keep; i < msg->m.nEntries; i++)
		free((void *) msg->ents[i].data);
	msg->m.nEntries = keep;
	if (keep == 0)
	{
		free(msg->ents);
		msg->ents = NULL;
		msg->m.entries = NULL;
	}
}

static cl_msg
cl_msg_copy(const raft_message *m)
{
	cl_msg		msg;
	uint32_t	i;

	msg.m = *m;
	msg.ents = NULL;
	if (m->nEntries > 0)
	{
		msg.ents = cl_xmalloc(m->nEntries * sizeof(raft_entry));
		for (i = 0; i < m->nEntries; i++)
			msg.ents[i] = cl_entry_copy(&m->entries[i]);
	}
	msg.m.entries = msg.ents;
	return msg;
}

static size_t
cl_msg_payload(const raft_message *m)
{
	size_t		bytes = 0;
	uint32_t	i;

	for (i = 0; i < m->nEntries; i++)
		bytes += m->entries[i].len;
	return bytes;
}

/* ---------------------------------------------------------------------
 * Building the cluster
 * --------------------------------------------------------------------- */
static cluster *
cl_new(size_t n)
{
	cluster    *c = calloc(1, sizeof(cluster));
	size_t		i;

	if (c == NULL || n == 0 || n > CL_MAX_NODES)
	{
		fprintf(stderr, "cluster: cannot build a cluster of %zu\n", n);
		abort();
	}
	c->n = n;
	for (i = 0; i < n; i++)
		c->ids[i] = (raft_node_id) (i + 1);
	for (i = 1; i <= n; i++)
	{
		raft_config *cfg = &c->node[i].cfg;

		cfg->id = (raft_node_id) i;
		cfg->voters = c->ids;
		cfg->nVoters = n;
		cfg->electionTickMin = CL_ELECTION_MIN;
		cfg->electionTickMax = CL_ELECTION_MAX;
		cfg->heartbeatTick = CL_HEARTBEAT;
		/* distinct seeds: distinct election timeouts, so split votes resolve */
		cfg->seed = 1000 + 17 * i;
	}
	return c;
}

/* Set the extensions on every node (before cl_start). */
static void
cl_set_options(cluster *c, bool preVote, bool checkQuorum)
{
	size_t		i;

	for (i = 1; i <= c->n; i++)
	{
		c->node[i].cfg.preVote = preVote;
		c->node[i].cfg.checkQuorum = checkQuorum;
	}
}

static void
cl_check_chosen(cluster *c, raft_node_id id, const raft_entry *e)
{
	if (e->index <= c->chosen.n)
	{
		if (!cl_same_entry(&c->chosen.e[e->index - 1], e))
			cl_violation(c, "state machine safety: node %llu applied index %llu term %llu, "
						 "another node applied term %llu there",
						 (unsigned long long) id, (unsigned long long) e->index,
						 (unsigned long long) e->term,
						 (unsigned long long) c->chosen.e[e->index - 1].term);
	}
	else if (e->index == c->chosen.n + 1)
		cl_log_append(&c->chosen, e);
	else
		cl_violation(c, "node %llu applied index %llu before anyone applied %llu",
					 (unsigned long long) id, (unsigned long long) e->index,
					 (unsigned long long) c->chosen.n + 1);
}

/*
 * Put an entry on a node's disk before it starts (a log it had before the
 * test).  applied: the host had also applied it.
 */
static void
cl_seed_entry(cluster *c, raft_node_id id, raft_term term, const char *data, bool applied)
{
	cl_node    *nd = &c->node[id];
	raft_entry	e;

	memset(&e, 0, sizeof(e));
	e.term = term;
	e.index = nd->log.n + 1;
	e.type = RAFT_ENTRY_NORMAL;
	e.len = (uint32_t) strlen(data);
	e.data = e.len > 0 ? data : NULL;
	cl_log_append(&nd->log, &e);
	if (nd->hs.currentTerm < term)
		nd->hs.currentTerm = term;
	if (applied)
	{
		cl_log_append(&nd->sm, &e);
		nd->applied = e.index;
		if (e.index > c->chosen.n)
			cl_log_append(&c->chosen, &e);
	}
}

/* Create (or re-create after a crash) a node from its disk. */
static int
cl_start(cluster *c, raft_node_id id)
{
	cl_node    *nd = &c->node[id];
	int			rc;

	if (nd->raft != NULL)
		return RAFT_OK;
	rc = raft_node_create(&nd->cfg, &nd->hs, nd->log.e, nd->log.n, nd->applied, &nd->raft);
	if (rc != RAFT_OK)
		nd->raft = NULL;
	return rc;
}

static void
cl_start_all(cluster *c)
{
	size_t		i;

	for (i = 1; i <= c->n; i++)
		cl_rc(c, cl_start(c, (raft_node_id) i), "raft_node_create", (raft_node_id) i);
}

/*
 * n nodes started: 1..3 the voters of the configuration {1, 2, 3}, the
 * others with no configuration (servers to be added).
 */
static cluster *
cl_new_three_voters(size_t n, bool preVote, bool checkQuorum)
{
	static const raft_node_id three[] = {1, 2, 3};
	cluster    *c = cl_new(n);
	size_t		i;

	cl_set_options(c, preVote, checkQuorum);
	for (i = 1; i <= n; i++)
	{
		c->node[i].cfg.voters = i <= 3 ? three : NULL;
		c->node[i].cfg.nVoters = i <= 3 ? 3 : 0;
	}
	cl_start_all(c);
	return c;
}

/* A crash loses everything but the disk. */
static void
cl_crash(cluster *c, raft_node_id id)
{
	raft_node_destroy(c->node[id].raft);
	c->node[id].raft = NULL;
}

static void
cl_free(cluster *c)
{
	size_t		i;

	for (i = 1; i <= c->n; i++)
	{
		cl_crash(c, (raft_node_id) i);
		cl_log_free(&c->node[i].log);
		cl_log_free(&c->node[i].sm);
	}
	for (i = 0; i < c->qn; i++)
		cl_msg_free(&c->q[i]);
	free(c->q);
	cl_log_free(&c->chosen);
	free(c);
}

/* ---------------------------------------------------------------------
 * Observation
 * --------------------------------------------------------------------- */
static raft_status
cl_status(cluster *c, raft_node_id id)
{
	raft_status st;

	memset(&st, 0, sizeof(st));
	if (c->node[id].raft != NULL)
		raft_get_status(c->node[id].raft, &st);
	return st;
}

static bool
cl_is_leader(cluster *c, raft_node_id id)
{
	return c->node[id].raft != NULL && cl_status(c, id).role == RAFT_LEADER;
}

/* The running leader of the highest term, or RAFT_NONE. */
static raft_node_id
cl_leader(cluster *c)
{
	raft_node_id best = RAFT_NONE;
	raft_term	bestTerm = 0;
	size_t		i;

	for (i = 1; i <= c->n; i++)
	{
		raft_status st = cl_status(c, (raft_node_id) i);

		if (c->node[i].raft != NULL && st.role == RAFT_LEADER && st.currentTerm > bestTerm)
		{
			best = (raft_node_id) i;
			bestTerm = st.currentTerm;
		}
	}
	return best;
}

static size_t
cl_count_leaders(cluster *c)
{
	size_t		i,
				n = 0;

	for (i = 1; i <= c->n; i++)
		if (cl_is_leader(c, (raft_node_id) i))
			n++;
	return n;
}

/* Does a's in-memory log equal b's (same indexes, same terms)? */
static bool
cl_same_log(cluster *c, raft_node_id a, raft_node_id b)
{
	raft_status sa = cl_status(c, a);
	raft_status sb = cl_status(c, b);
	raft_index	i;

	if (sa.lastLogIndex != sb.lastLogIndex)
		return false;
	for (i = 1; i <= sa.lastLogIndex; i++)
	{
		raft_entry	ea,
					eb;

		if (!raft_log_entry(c->node[a].raft, i, &ea) ||
			!raft_log_entry(c->node[b].raft, i, &eb) || ea.term != eb.term)
			return false;
	}
	return true;
}

/* Term of the entry at index in a node's in-memory log; 0 if absent. */
static raft_term
cl_term_at(cluster *c, raft_node_id id, raft_index index)
{
	raft_entry	e;

	if (c->node[id].raft == NULL || !raft_log_entry(c->node[id].raft, index, &e))
		return 0;
	return e.term;
}

/* Did the node's state machine apply a NORMAL entry carrying data? */
static bool
cl_applied_data(cluster *c, raft_node_id id, const char *data)
{
	size_t		i;

	for (i = 0; i < c->node[id].sm.n; i++)
		if (c->node[id].sm.e[i].type == RAFT_ENTRY_NORMAL &&
			cl_entry_data_is(&c->node[id].sm.e[i], data))
			return true;
	return false;
}

static bool
cl_msg_matches(const raft_message *m, raft_node_id from, raft_node_id to, int type)
{
	return (from == RAFT_NONE || m->from == from) &&
		(to == RAFT_NONE || m->to == to) &&
		(type == 0 || m->type == type);
}

/* Messages queued from -> to of type (RAFT_NONE / 0: any). */
static size_t
cl_count_msgs(cluster *c, raft_node_id from, raft_node_id to, int type)
{
	size_t		i,
				n = 0;

	for (i = 0; i < c->qn; i++)
		if (cl_msg_matches(&c->q[i].m, from, to, type))
			n++;
	return n;
}

/* The first queued message from -> to of type, or NULL. */
static const raft_message *
cl_find_msg(cluster *c, raft_node_id from, raft_node_id to, int type)
{
	size_t		i;

	for (i = 0; i < c->qn; i++)
		if (cl_msg_matches(&c->q[i].m, from, to, type))
			return &c->q[i].m;
	return NULL;
}

/* ---------------------------------------------------------------------
 * The host loop
 * --------------------------------------------------------------------- */
static void
cl_check_leader_of_term(cluster *c, raft_node_id id)
{
	raft_status st = cl_status(c, id);

	if (st.role != RAFT_LEADER || st.currentTerm >= CL_MAX_TERMS)
		return;
	if (c->leaderOfTerm[st.currentTerm] == RAFT_NONE)
		c->leaderOfTerm[st.currentTerm] = id;
	else if (c->leaderOfTerm[st.currentTerm] != id)
		cl_violation(c, "election safety: nodes %llu and %llu both lead term %llu",
					 (unsigned long long) c->leaderOfTerm[st.currentTerm],
					 (unsigned long long) id, (unsigned long long) st.currentTerm);
}

/* What a message may claim, given what its sender has made durable. */
static void
cl_check_outgoing(cluster *c, raft_node_id id, const raft_message *m)
{
	cl_node    *nd = &c->node[id];

	if (m->from != id)
		cl_violation(c, "node %llu sent a message from %llu",
					 (unsigned long long) id, (unsigned long long) m->from);
	if (m->type != RAFT_MSG_APPEND_ENTRIES && m->type != RAFT_MSG_PRE_VOTE &&
		m->type != RAFT_MSG_PRE_VOTE_RESULT && m->term > nd->hs.currentTerm)
		cl_violation(c, "node %llu sent type %d at term %llu, durable term %llu",
					 (unsigned long long) id, m->type, (unsigned long long) m->term,
					 (unsigned long long) nd->hs.currentTerm);
	if (m->type == RAFT_MSG_REQUEST_VOTE_RESULT && m->voteGranted &&
		(nd->hs.currentTerm != m->term || nd->hs.votedFor != m->to))
		cl_violation(c, "node %llu granted its vote to %llu in term %llu before "
					 "persisting it (durable: term %llu, votedFor %llu)",
					 (unsigned long long) id, (unsigned long long) m->to,
					 (unsigned long long) m->term,
					 (unsigned long long) nd->hs.currentTerm,
					 (unsigned long long) nd->hs.votedFor);
	if (m->type == RAFT_MSG_APPEND_ENTRIES_RESULT && m->success &&
		m->matchIndex > nd->log.n)
		cl_violation(c, "node %llu acknowledged index %llu with %zu entries on disk",
					 (unsigned long long) id, (unsigned long long) m->matchIndex,
					 nd->log.n);
}

static void
cl_enqueue(cluster *c, const raft_message *m)
{
	if (c->onSend != NULL)
		c->onSend(c, m, c->onSendArg);
	if (c->qn == c->qcap)
	{
		c->qcap = c->qcap == 0 ? 256 : c->qcap * 2;
		c->q = realloc(c->q, c->qcap * sizeof(cl_msg));
		if (c->q == NULL)
		{
			fprintf(stderr, "cluster: out of memory\n");
			abort();
		}
	}
	c->q[c->qn++] = cl_msg_copy(m);
}

/* Persist one batch into the node's fake disk and state machine. */
static void
cl_host_batch(cluster *c, raft_node_id id, const raft_ready *rd)
{
	cl_node    *nd = &c->node[id];
	size_t		i;

	/* host rule 1: hard state and entries durable before any message leaves */
	if (rd->hardStateChanged)
		nd->hs = rd->hardState;
	if (rd->nEntries > 0)
	{
		raft_index	first = rd->entries[0].index;

		if (first == 0 || first > nd->log.n + 1)
			cl_violation(c, "node %llu asked to persist from index %llu with %zu on disk",
						 (unsigned long long) id, (unsigned long long) first, nd->log.n);
		cl_log_truncate(&nd->log, first);
		for (i = 0; i < rd->nEntries; i++)
		{
			if (rd->entries[i].index != first + i)
				cl_violation(c, "node %llu: batch entries not contiguous",
							 (unsigned long long) id);
			cl_log_append(&nd->log, &rd->entries[i]);
		}
		nd->lastPersistFirst = first;
		nd->lastPersistCount = rd->nEntries;
	}

	/* host rule 2: apply in order, each exactly once */
	for (i = 0; i < rd->nCommittedEntries; i++)
	{
		const raft_entry *e = &rd->committedEntries[i];

		if (e->index != nd->applied + 1)
			cl_violation(c, "node %llu handed out index %llu after applying %llu",
						 (unsigned long long) id, (unsigned long long) e->index,
						 (unsigned long long) nd->applied);
		if (e->index > nd->log.n || !cl_same_entry(&nd->log.e[e->index - 1], e))
			cl_violation(c, "node %llu handed out index %llu, which is not on its disk",
						 (unsigned long long) id, (unsigned long long) e->index);
		cl_check_chosen(c, id, e);
		cl_log_append(&nd->sm, e);
		nd->applied = e->index;
	}

	for (i = 0; i < rd->nMessages; i++)
	{
		cl_check_outgoing(c, id, &rd->messages[i]);
		cl_enqueue(c, &rd->messages[i]);
	}
	for (i = 0; i < rd->nReadStates; i++)
	{
		if (nd->nReads < CL_MAX_READS)
			nd->reads[nd->nReads++] = rd->readStates[i];
	}
}

/* Run the host loop of one node until it has nothing more to do. */
static void
cl_process(cluster *c, raft_node_id id)
{
	cl_node    *nd = &c->node[id];
	unsigned	guard = 0;

	/* a cluster this broken fails its test anyway; stop spinning */
	if (c->violations > CL_MAX_VIOLATIONS)
		return;
	while (nd->raft != NULL && raft_has_ready(nd->raft))
	{
		raft_ready	rd;
		int			rc;

		if (++guard > 1000)
		{
			cl_violation(c, "node %llu: raft_has_ready never becomes false",
						 (unsigned long long) id);
			return;
		}
		rc = raft_ready_get(nd->raft, &rd);
		if (!cl_rc(c, rc, "raft_ready_get", id))
			return;				/* out of memory: try again later */
		nd->batches++;
		cl_host_batch(c, id, &rd);
		cl_rc(c, raft_advance(nd->raft, &rd), "raft_advance", id);
		cl_check_leader_of_term(c, id);
	}
	cl_check_leader_of_term(c, id);
}

/* ---------------------------------------------------------------------
 * Driving nodes
 * --------------------------------------------------------------------- */
static void
cl_tick(cluster *c, raft_node_id id)
{
	if (c->node[id].raft == NULL)
		return;
	cl_rc(c, raft_tick(c->node[id].raft), "raft_tick", id);
	cl_process(c, id);
}

/* Step a message the test made up; returns raft_step's code. */
static int
cl_step(cluster *c, raft_node_id id, const raft_message *m)
{
	int			rc = raft_step(c->node[id].raft, m);

	cl_process(c, id);
	return rc;
}

static int
cl_campaign(cluster *c, raft_node_id id)
{
	int			rc = raft_campaign(c->node[id].raft);

	cl_process(c, id);
	return rc;
}

/* Tell node id that leader's connection was closed by the peer. */
static int
cl_leader_unreachable(cluster *c, raft_node_id id, raft_node_id leader)
{
	int			rc = raft_leader_unreachable(c->node[id].raft, leader);

	cl_process(c, id);
	return rc;
}

/* Propose a string; *index gets where it went (may be NULL). */
static int
cl_propose(cluster *c, raft_node_id id, const char *data, raft_index *index)
{
	int			rc;

	if (c->node[id].raft == NULL)
		return RAFT_ENOTLEADER;
	rc = raft_propose(c->node[id].raft, data, strlen(data), index, NULL);
	cl_process(c, id);
	return rc;
}

/* ---------------------------------------------------------------------
 * The network
 * --------------------------------------------------------------------- */
static void
cl_cut_link(cluster *c, raft_node_id a, raft_node_id b, bool cut)
{
	c->cut[a][b] = cut;
	c->cut[b][a] = cut;
}

/* Cut (or restore) every link of a node, both ways. */
static void
cl_isolate(cluster *c, raft_node_id id, bool cut)
{
	size_t		i;

	for (i = 1; i <= c->n; i++)
		if (i != id)
			cl_cut_link(c, id, (raft_node_id) i, cut);
}

static void
cl_heal(cluster *c)
{
	memset(c->cut, 0, sizeof(c->cut));
}

/* Take message k out of the queue (the caller owns it). */
static cl_msg
cl_take(cluster *c, size_t k)
{
	cl_msg		msg = c->q[k];

	memmove(&c->q[k], &c->q[k + 1], (c->qn - k - 1) * sizeof(cl_msg));
	c->qn--;
	return msg;
}

/*
 * Deliver message k: dropped if a link is cut, the destination is down or
 * the filter says so; otherwise stepped and the destination's host loop
 * run.  Returns whether it was stepped.
 */
static bool
cl_deliver_at(cluster *c, size_t k)
{
	cl_msg		msg = cl_take(c, k);
	raft_node_id from = msg.m.from;
	raft_node_id to = msg.m.to;
	bool		stepped = false;

	if (from >= 1 && from <= c->n && to >= 1 && to <= c->n &&
		!c->cut[from][to] && c->node[to].raft != NULL &&
		(c->filter == NULL || c->filter(c, &msg, c->filterArg)))
	{
		cl_rc(c, raft_step(c->node[to].raft, &msg.m), "raft_step", to);
		cl_process(c, to);
		stepped = true;
	}
	cl_msg_free(&msg);
	return stepped;
}

/* Put a second copy of message k at the end of the queue (a duplicating network). */
static void
cl_duplicate(cluster *c, size_t k)
{
	cl_msg		copy = cl_msg_copy(&c->q[k].m);

	if (c->qn == c->qcap)
	{
		c->qcap *= 2;
		c->q = realloc(c->q, c->qcap * sizeof(cl_msg));
		if (c->q == NULL)
		{
			fprintf(stderr, "cluster: out of memory\n");
			abort();
		}
	}
	c->q[c->qn++] = copy;
}

/* Deliver the first queued message from -> to of type; false if none. */
static bool
cl_deliver_first(cluster *c, raft_node_id from, raft_node_id to, int type)
{
	size_t		i;

	for (i = 0; i < c->qn; i++)
		if (cl_msg_matches(&c->q[i].m, from, to, type))
			return cl_deliver_at(c, i);
	return false;
}

/* Deliver in order until the network is quiet (answers included). */
static void
cl_deliver_all(cluster *c)
{
	unsigned long guard = 0;

	while (c->qn > 0)
	{
		if (++guard > 1000000)
		{
			cl_violation(c, "the network never becomes quiet");
			return;
		}
		cl_deliver_at(c, 0);
	}
}

/* Drop every message in flight. */
static void
cl_drop_all(cluster *c)
{
	while (c->qn > 0)
	{
		cl_msg		msg = cl_take(c, 0);

		cl_msg_free(&msg);
	}
}

/* Tick every running node once, then deliver until quiet. */
static void
cl_tick_all(cluster *c)
{
	size_t		i;

	for (i = 1; i <= c->n; i++)
		cl_tick(c, (raft_node_id) i);
	cl_deliver_all(c);
}

static void
cl_run(cluster *c, unsigned ticks)
{
	unsigned	t;

	for (t = 0; t < ticks; t++)
		cl_tick_all(c);
}

/* Tick until some running node leads, at most maxTicks; returns it or RAFT_NONE. */
static raft_node_id
cl_run_until_leader(cluster *c, unsigned maxTicks)
{
	unsigned	t;

	cl_deliver_all(c);
	for (t = 0; t < maxTicks && cl_leader(c) == RAFT_NONE; t++)
		cl_tick_all(c);
	return cl_leader(c);
}

/* Elect id deterministically: campaign, then deliver everything. */
static bool
cl_elect(cluster *c, raft_node_id id)
{
	cl_campaign(c, id);
	cl_deliver_all(c);
	return cl_is_leader(c, id);
}

#endif							/* RAFT_TEST_CLUSTER_H */
