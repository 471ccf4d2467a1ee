/*
 * sim.c — deterministic simulation test of the Raft core: the driver.
 *
 *   build/sim --seeds N [--start S] [--nodes 3|5] [--steps K]
 *       run seeds S .. S+N-1 (default S = 1); print the reproduce command of
 *       each failure; end with "sim: P passed, F failed"; exit 1 on failure
 *   build/sim --seed S [--trace] [--nodes 3|5] [--steps K]
 *       run one seed; --trace prints every step
 *
 * The model is described in sim.h.  This file owns the per-seed cluster
 * configuration, the epochs (periods with their own fault rates and tick
 * rates), the random action of each step, and the final heal phase that
 * checks liveness.  A seed's whole run depends on the seed alone.
 *
 * The heal phase does not compact: every node must catch up from logs
 * compacted in the random phase only as far as every member held them.
 * After membership changes "every node" is every member of the stable
 * leader's configuration; removed nodes keep running, unheard.
 *
 * Injected bug "a configuration change accepted before the new leader's
 * first commit of its term" (the 2015 rule dropped from
 * raft_propose_change): no seed failed, 0 of seeds 1..4000, though the core
 * then accepted thousands of such changes (the interleaving that makes it
 * unsafe needs an uncommitted promotion on a minority, a leader change and
 * a disjoint majority in turn); test_membership.c's
 * test_2015_counterexample_refused plays that interleaving and catches it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

/* Random-phase steps per seed; chosen so 2000 seeds take about a minute. */
#define SIM_DEFAULT_STEPS 30000

/* Heal phase: bounds, in ticks of every node, for a leader and for commits. */
#define SIM_HEAL_ROUNDS_FACTOR 10
#define SIM_HEAL_PROPOSALS 3
#define SIM_HEAL_STABLE_FACTOR 3	/* election timeouts the leader must keep */
#define SIM_MAX_DELIVERIES_PER_ROUND 100000

#define ID(x) ((unsigned long long) (x))

typedef struct sim_options
{
	uint64_t	seed;			/* --seed */
	bool		single;
	uint64_t	nSeeds;			/* --seeds */
	uint64_t	start;			/* --start */
	unsigned	nodes;			/* --nodes, 0: by seed */
	uint64_t	steps;			/* --steps */
	bool		trace;
	const char *argv0;
} sim_options;

/* ---------------------------------------------------------------------
 * Helpers shared by the sim files
 * --------------------------------------------------------------------- */
void
sim_trace(sim *s, const char *fmt,...)
{
	va_list		ap;

	printf("%7llu %-6s ", (unsigned long long) s->step, s->phase);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

_Noreturn void
sim_fail(sim *s, const char *property, const char *fmt,...)
{
	va_list		ap;
	int			len;

	len = snprintf(s->failMsg, sizeof(s->failMsg), "[%s] step %llu (%s phase): ",
				   property, (unsigned long long) s->step, s->phase);
	if (len > 0 && (size_t) len < sizeof(s->failMsg))
	{
		va_start(ap, fmt);
		vsnprintf(s->failMsg + len, sizeof(s->failMsg) - (size_t) len, fmt, ap);
		va_end(ap);
	}
	longjmp(s->failJmp, 1);
}

void *
sim_xmalloc(size_t size)
{
	void	   *p = malloc(size ? size : 1);

	if (p == NULL)
	{
		fprintf(stderr, "sim: out of memory\n");
		abort();
	}
	return p;
}

void *
sim_xrealloc(void *p, size_t size)
{
	void	   *q = realloc(p, size ? size : 1);

	if (q == NULL)
	{
		fprintf(stderr, "sim: out of memory\n");
		abort();
	}
	return q;
}

const char *
sim_rc(int rc)
{
	static char buf[64];
	const char *name = raft_strerror(rc);

	snprintf(buf, sizeof(buf), "%d (%s)", rc, name ? name : "?");
	return buf;
}

/* The allocator handed to the core and the decoder: counts live blocks. */
static void *
counting_malloc(void *ctx, size_t size)
{
	void	   *p = malloc(size ? size : 1);

	if (p != NULL)
		((sim *) ctx)->liveAllocs++;
	return p;
}

static void *
counting_realloc(void *ctx, void *ptr, size_t size)
{
	void	   *p = realloc(ptr, size ? size : 1);

	if (p != NULL && ptr == NULL)
		((sim *) ctx)->liveAllocs++;
	return p;
}

static void
counting_free(void *ctx, void *ptr)
{
	if (ptr != NULL)
		((sim *) ctx)->liveAllocs--;
	free(ptr);
}

/* ---------------------------------------------------------------------
 * Setup and teardown
 * --------------------------------------------------------------------- */
static unsigned
pick(sim *s, const unsigned *choices, size_t n)
{
	return choices[sim_rng_below(&s->rng, n)];
}

#define PICK(s, ...) \
	pick((s), (const unsigned[]){__VA_ARGS__}, sizeof((const unsigned[]){__VA_ARGS__}) / sizeof(unsigned))

static void
sim_setup(sim *s, const sim_options *o, uint64_t seed)
{
	unsigned	i;

	s->seed = seed;
	s->trace = o->trace;
	s->phase = "setup";
	sim_rng_seed(&s->rng, seed);
	s->alloc.malloc = counting_malloc;
	s->alloc.realloc = counting_realloc;
	s->alloc.free = counting_free;
	s->alloc.ctx = s;

	/* the cluster's configuration: the defaults, varied a little */
	s->nNodes = o->nodes ? o->nodes : (sim_rng_below(&s->rng, 2) ? 5 : 3);
	s->nInitial = s->nNodes;
	s->electionTickMin = 8 + (unsigned) sim_rng_below(&s->rng, 5);
	s->electionTickMax = s->electionTickMin + 8 + (unsigned) sim_rng_below(&s->rng, 5);
	s->heartbeatTick = 1 + (unsigned) sim_rng_below(&s->rng, 3);
	s->preVote = sim_rng_permille(&s->rng, 750);
	s->checkQuorum = sim_rng_permille(&s->rng, 750);
	s->maxMsgBytes = sim_rng_permille(&s->rng, 300) ? PICK(s, 1, 64, 200, 600) : 0;
	s->maxInflight = sim_rng_permille(&s->rng, 300) ? PICK(s, 1, 2, 4) : 0;

	/*
	 * Compaction in 7 seeds of 10, from a random step of the first three
	 * quarters on: disks are wiped only before anything is compacted
	 * (sim.h), so this keeps about half the wipes of a run without it.
	 */
	s->compaction = sim_rng_permille(&s->rng, 700);
	s->compactFrom = sim_rng_below(&s->rng, (o->steps ? o->steps : SIM_DEFAULT_STEPS) * 3 / 4 + 1);
	s->compactRetention = PICK(s, 0, 0, 3, 20, 100);
	s->compactByLeader = sim_rng_permille(&s->rng, 500);
	/*
	 * InstallSnapshot in 17 seeds of 20 (the others keep the old rules: no
	 * wipes and no new servers once anything was compacted); in 6 of 10 of
	 * those a member far behind no longer holds compaction back.
	 */
	s->snapshots = sim_rng_permille(&s->rng, 850);
	s->holdEntries = s->snapshots && sim_rng_permille(&s->rng, 600) ? PICK(s, 5, 20, 100) : 0;
	/* membership changes in 8 seeds of 10 */
	s->membership = sim_rng_permille(&s->rng, 800);

	sim_net_init(s);
	sim_check_init(s);
	for (i = 1; i <= s->nNodes; i++)
	{
		s->voters[i - 1] = i;
		s->nodes[i].id = i;
		s->nodes[i].tickWeight = 1;
	}
	if (s->trace)
		printf("seed %llu: membership changes %s\n", (unsigned long long) seed, s->membership ? "on" : "off");
	if (s->trace)
		printf("seed %llu: %u nodes, election ticks [%u, %u), heartbeat %u, preVote %s, checkQuorum %s, maxMsgBytes %zu, maxInflight %u, compaction %s from step %llu (retention <= %u, safe point %s), cluster id %016llx\n",
			   (unsigned long long) seed, s->nNodes, s->electionTickMin, s->electionTickMax,
			   s->heartbeatTick, s->preVote ? "on" : "off", s->checkQuorum ? "on" : "off",
			   s->maxMsgBytes, s->maxInflight, s->compaction ? "on" : "off",
			   (unsigned long long) s->compactFrom, s->compactRetention,
			   s->compactByLeader ? "global, and within a leader's matchIndex" : "global",
			   (unsigned long long) s->net.clusterId);
	for (i = 1; i <= s->nNodes; i++)
		sim_node_start(s, &s->nodes[i]);
}

static void
sim_teardown(sim *s)
{
	unsigned	i;

	for (i = 1; i <= s->nNodes; i++)
	{
		if (s->nodes[i].raft != NULL)
		{
			raft_status st;

			raft_get_status(s->nodes[i].raft, &st);
			s->nRegressions += st.followerRegressions;
		}
		raft_node_destroy(s->nodes[i].raft);
		s->nodes[i].raft = NULL;
		sim_disk_free(&s->nodes[i].disk);
		sim_node_snapshot_free(&s->nodes[i]);
	}
	sim_net_free(s);
	sim_check_free(s);
	free(s->props);
	free(s->forwardedAt);
	free(s->forwardedHash);
	free(s->reads);
	s->props = NULL;
	s->reads = NULL;
}

/* ---------------------------------------------------------------------
 * The random phase
 * --------------------------------------------------------------------- */

/* A new epoch: tick rates and fault rates for the next stretch of steps. */
static void
new_epoch(sim *s)
{
	sim_net    *net = &s->net;
	unsigned	i;
	bool		calm = sim_rng_permille(&s->rng, 200);
	bool		evenTicks = sim_rng_permille(&s->rng, 300);

	for (i = 1; i <= s->nNodes; i++)
		s->nodes[i].tickWeight = evenTicks ? 2 : 1 + (unsigned) sim_rng_below(&s->rng, 4);
	if (calm)
	{
		net->lossPermille = net->dupPermille = net->longDelayPermille = 0;
		net->maxDelay = PICK(s, 0, 2);
		s->crashPointPermille = 0;
		s->crashActions = false;
		s->wipePermille = 0;
	}
	else
	{
		net->lossPermille = PICK(s, 0, 0, 20, 50, 150, 300);
		net->dupPermille = PICK(s, 0, 0, 20, 100);
		net->maxDelay = PICK(s, 0, 2, 5, 10, 30);
		net->longDelayPermille = PICK(s, 0, 0, 10, 50);
		s->crashPointPermille = PICK(s, 0, 0, 1, 3);
		s->crashActions = sim_rng_permille(&s->rng, 700);
		s->wipePermille = PICK(s, 0, 0, 50, 200);
	}
	s->deferReadyPermille = PICK(s, 0, 0, 200, 500);
	SIM_TRACE(s, "EPOCH%s: ticks %u %u %u %u %u, loss %u‰ dup %u‰ delay <= %u (long %u‰), crash points %u‰, deferred ready %u‰, wiped disks %u‰ of restarts",
			  calm ? " (calm)" : "",
			  s->nodes[1].tickWeight, s->nodes[2].tickWeight, s->nodes[3].tickWeight,
			  s->nNodes > 3 ? s->nodes[4].tickWeight : 0, s->nNodes > 4 ? s->nodes[5].tickWeight : 0,
			  net->lossPermille, net->dupPermille, net->maxDelay, net->longDelayPermille,
			  s->crashPointPermille, s->deferReadyPermille, s->wipePermille);
}

/* A random live node, optionally only leaders / only non-leaders; NULL if none. */
enum node_filter
{
	ANY_NODE, LEADERS, NON_LEADERS, DOWN_NODES, PENDING_READY
};

static sim_node *
random_node(sim *s, enum node_filter f)
{
	sim_node   *cand[SIM_MAX_NODES];
	unsigned	n = 0,
				i;

	for (i = 1; i <= s->nNodes; i++)
	{
		sim_node   *node = &s->nodes[i];
		bool		up = node->raft != NULL;
		bool		ok;

		switch (f)
		{
			case DOWN_NODES:
				ok = !up;
				break;
			case LEADERS:
			case NON_LEADERS:
				{
					raft_status st;

					ok = false;
					if (up)
					{
						raft_get_status(node->raft, &st);
						ok = (st.role == RAFT_LEADER) == (f == LEADERS);
					}
				}
				break;
			case PENDING_READY:
				ok = up && raft_has_ready(node->raft);
				break;
			default:
				ok = up;
				break;
		}
		if (ok)
			cand[n++] = node;
	}
	return n ? cand[sim_rng_below(&s->rng, n)] : NULL;
}

/* A live node drawn by tick weight: some nodes' clocks run faster for a while. */
static sim_node *
node_to_tick(sim *s)
{
	unsigned	total = 0,
				i,
				r;

	for (i = 1; i <= s->nNodes; i++)
		if (s->nodes[i].raft != NULL)
			total += s->nodes[i].tickWeight;
	if (total == 0)
		return NULL;
	r = (unsigned) sim_rng_below(&s->rng, total);
	for (i = 1; i <= s->nNodes; i++)
	{
		if (s->nodes[i].raft == NULL)
			continue;
		if (r < s->nodes[i].tickWeight)
			return &s->nodes[i];
		r -= s->nodes[i].tickWeight;
	}
	return NULL;
}

static bool
any_blocked(const sim *s)
{
	unsigned	a,
				b;

	for (a = 1; a <= s->nNodes; a++)
		for (b = 1; b <= s->nNodes; b++)
			if (s->net.blocked[a][b])
				return true;
	return false;
}

enum action
{
	ACT_DELIVER, ACT_TICK, ACT_READY, ACT_PROPOSE, ACT_READ, ACT_TRANSFER,
	ACT_CAMPAIGN, ACT_HINT, ACT_CRASH, ACT_RESTART, ACT_PARTITION, ACT_HEAL, ACT_COMPACT,
	ACT_MEMBERSHIP,
	ACT_COUNT
};

/* Is id a voter (voter true) or a member (voter false) of n's configuration? */
static bool
in_config(const sim_node *n, raft_node_id id, bool voter)
{
	raft_member m[RAFT_MAX_MEMBERS];
	size_t		count = raft_get_configuration(n->raft, m, RAFT_MAX_MEMBERS, NULL, NULL),
				i;

	for (i = 0; i < count && i < RAFT_MAX_MEMBERS; i++)
		if (m[i].id == id)
			return !voter || m[i].voter;
	return false;
}

/*
 * A server to add as a learner: a new id, or a node whose removal was
 * committed, back with its disk wiped (a replaced machine under its old
 * name).  Either starts with an empty configuration and learns it from
 * its leader.  Only while nothing was compacted anywhere: an empty server
 * needs the log from index 1 (no InstallSnapshot).  RAFT_NONE: none.
 */
static raft_node_id
server_to_add(sim *s, const sim_node *leader, bool *replaced)
{
	raft_node_id cand[SIM_MAX_NODES];
	unsigned	n = 0,
				i;
	sim_node   *nd;
	raft_node_id id;

	*replaced = false;
	/* an empty server needs the log from index 1, or a snapshot */
	if (s->anyCompacted && !s->snapshots)
		return RAFT_NONE;
	for (i = 1; i <= s->nNodes; i++)
		if (!in_config(leader, i, false) && !sim_committed_member(s, i))
			cand[n++] = i;
	if (s->nNodes < SIM_MAX_NODES && (n == 0 || sim_rng_permille(&s->rng, 500)))
	{
		id = ++s->nNodes;
		nd = &s->nodes[id];
		memset(nd, 0, sizeof(*nd));
		nd->id = id;
		nd->tickWeight = 1;
		nd->joiner = true;
		SIM_TRACE(s, "NEW SERVER n%llu (empty configuration)", ID(id));
		sim_node_start(s, nd);
		return id;
	}
	if (n == 0)
		return RAFT_NONE;
	id = cand[sim_rng_below(&s->rng, n)];
	nd = &s->nodes[id];
	if (nd->raft != NULL)
		sim_node_crash(s, nd, "replaced");
	sim_node_wipe(s, nd);
	nd->joiner = true;
	*replaced = true;
	SIM_TRACE(s, "REPLACED SERVER n%llu (disk wiped, empty configuration)", ID(id));
	sim_node_start(s, nd);
	return id;
}

/*
 * A configuration change on a leader: add a learner, promote a learner
 * that caught up, remove a voter or a learner, now and then the leader
 * itself.  The core may refuse with RAFT_EBUSY only while a change is
 * uncommitted, before the leader committed an entry of its term, or
 * during a transfer; it never refuses otherwise.
 */
static void
membership_change(sim *s, sim_node *l)
{
	raft_member m[RAFT_MAX_MEMBERS];
	raft_index	cfgIndex,
				index = 0;
	raft_status st;
	size_t		count,
				i;
	unsigned	r = (unsigned) sim_rng_below(&s->rng, 100);
	raft_change_type type;
	raft_node_id id = RAFT_NONE;
	raft_node_id cand[RAFT_MAX_MEMBERS];
	unsigned	nc = 0;
	char		addr[SIM_ADDR_BYTES];
	int			rc;
	bool		busyOk;
	bool		replaced = false;

	raft_get_status(l->raft, &st);
	count = raft_get_configuration(l->raft, m, RAFT_MAX_MEMBERS, &cfgIndex, NULL);
	if (r < 35)
	{
		type = RAFT_CHANGE_ADD_LEARNER;
		if (!st.configCommitted || st.transferTarget != RAFT_NONE)
			id = SIM_MAX_NODES + 1; /* refused anyway (RAFT_EBUSY): start nothing */
		else
			id = server_to_add(s, l, &replaced);
		if (id == RAFT_NONE)
			return;
	}
	else if (r < 60)
	{
		raft_progress pr;

		type = RAFT_CHANGE_PROMOTE;
		for (i = 0; raft_get_progress(l->raft, i, &pr); i++)
			if (!pr.voter && pr.matchIndex >= st.commitIndex)
				cand[nc++] = pr.id;
		if (nc == 0)
			return;
		id = cand[sim_rng_below(&s->rng, nc)];
	}
	else
	{
		type = RAFT_CHANGE_REMOVE;
		if (sim_rng_permille(&s->rng, 250) && st.isVoter)
			id = l->id;
		else
		{
			for (i = 0; i < count; i++)
				if (m[i].id != l->id)
					cand[nc++] = m[i].id;
			if (nc == 0)
				return;
			id = cand[sim_rng_below(&s->rng, nc)];
		}
	}
	if (type != RAFT_CHANGE_ADD_LEARNER)
	{
		/* the voters held back by a vote floor must stay a minority (sim_floors_ok) */
		raft_member next[RAFT_MAX_MEMBERS];
		size_t		nn = 0;

		for (i = 0; i < count; i++)
		{
			if (m[i].id == id && type == RAFT_CHANGE_REMOVE)
				continue;
			next[nn] = m[i];
			if (m[i].id == id)
				next[nn].voter = true;
			nn++;
		}
		if (!sim_floors_ok(s, RAFT_NONE, next, nn))
			return;
	}
	raft_get_status(l->raft, &st);
	snprintf(addr, sizeof(addr), "n%llu", ID(id));
	rc = raft_propose_change(l->raft, type, id, addr, (uint32_t) strlen(addr), &index, NULL);
	SIM_TRACE(s, "change on n%llu: %s n%llu: %s%s", ID(l->id),
			  type == RAFT_CHANGE_ADD_LEARNER ? "add learner" :
			  type == RAFT_CHANGE_PROMOTE ? "promote" : "remove", ID(id), sim_rc(rc),
			  rc == RAFT_OK ? "" : (st.configCommitted ? "" : " (a change is uncommitted)"));
	busyOk = !st.configCommitted || st.transferTarget != RAFT_NONE ||
		sim_node_term_at(l, st.commitIndex) != st.currentTerm;
	if (rc == RAFT_EBUSY && busyOk)
	{
		s->nChangesBusy++;
		return;
	}
	if (rc == RAFT_EINVAL && type == RAFT_CHANGE_REMOVE && st.nVoters == 1 &&
		in_config(l, id, true))
		return;					/* the last voter */
	if (rc != RAFT_OK)
		sim_fail(s, "core-api", "raft_propose_change(n%llu, %d, n%llu) on a leader (configuration %llu %s, transfer %llu): %s",
				 ID(l->id), (int) type, ID(id), ID(st.configIndex),
				 st.configCommitted ? "committed" : "uncommitted", ID(st.transferTarget), sim_rc(rc));
	/* accepted: none of the reasons to refuse may hold (the term rule is left to the invariants) */
	if (!st.configCommitted || st.transferTarget != RAFT_NONE || index != st.lastLogIndex + 1)
		sim_fail(s, "core-api", "raft_propose_change on n%llu accepted at %llu while configuration %llu is %s, transfer %llu, last index %llu",
				 ID(l->id), ID(index), ID(st.configIndex),
				 st.configCommitted ? "committed" : "uncommitted", ID(st.transferTarget),
				 ID(st.lastLogIndex));
	sim_check_reserve_index(s, index);
	if (type == RAFT_CHANGE_ADD_LEARNER)
	{
		s->nAdds++;
		s->nReplaced += replaced;
	}
	else if (type == RAFT_CHANGE_PROMOTE)
		s->nPromotes++;
	else
	{
		s->nRemoves++;
		if (id == l->id)
			s->nLeaderRemovals++;
	}
	sim_node_after_call(s, l);
}

/* Is some node a leader that has not committed an entry of its term yet? */
static bool
fresh_leader(sim *s)
{
	unsigned	i;

	for (i = 1; i <= s->nNodes; i++)
	{
		raft_status st;

		if (s->nodes[i].raft == NULL)
			continue;
		raft_get_status(s->nodes[i].raft, &st);
		if (st.role == RAFT_LEADER && sim_node_term_at(&s->nodes[i], st.commitIndex) != st.currentTerm)
			return true;
	}
	return false;
}

static sim_node *
fresh_leader_node(sim *s)
{
	unsigned	i;

	for (i = 1; i <= s->nNodes; i++)
	{
		raft_status st;

		if (s->nodes[i].raft == NULL)
			continue;
		raft_get_status(s->nodes[i].raft, &st);
		if (st.role == RAFT_LEADER && sim_node_term_at(&s->nodes[i], st.commitIndex) != st.currentTerm)
			return &s->nodes[i];
	}
	return NULL;
}

/* One step of the random phase: one action, then the checks. */
static void
random_step(sim *s)
{
	unsigned	w[ACT_COUNT];
	unsigned	total = 0,
				r,
				a;
	size_t		ready = sim_net_ready_count(s);
	sim_node   *n;
	bool		anyDown = random_node(s, DOWN_NODES) != NULL;
	bool		anyPending = random_node(s, PENDING_READY) != NULL;

	/*
	 * Delivery keeps up with what the cluster sends: its weight grows with
	 * the deliverable backlog, so time (ticks) does not outrun the network.
	 */
	memset(w, 0, sizeof(w));
	w[ACT_DELIVER] = ready ? 2000 + 300 * (unsigned) (ready < 30 ? ready : 30) : 0;
	w[ACT_TICK] = 2500;
	w[ACT_READY] = anyPending ? 1500 : 0;
	w[ACT_PROPOSE] = 400;
	w[ACT_READ] = 300;
	w[ACT_TRANSFER] = 20;
	w[ACT_CAMPAIGN] = 10;
	w[ACT_HINT] = 15;
	w[ACT_CRASH] = s->crashActions ? 20 : 0;
	w[ACT_RESTART] = anyDown ? 60 : 0;

	/*
	 * Partitions last a few election timeouts on average (about 1000
	 * steps), long enough for a new leader to be elected on one side while
	 * the old one, cut off, still believes it leads.
	 */
	w[ACT_PARTITION] = any_blocked(s) ? 0 : 12;
	w[ACT_HEAL] = any_blocked(s) ? 7 : 0;
	w[ACT_COMPACT] = s->compaction && s->step >= s->compactFrom ? 60 : 0;
	/*
	 * Membership changes now and then, and often from a leader that has
	 * not committed an entry of its term yet: exactly when the core must
	 * refuse them (the 2015 rule), so that a core that did not would be
	 * seen doing it in the partitions and leader changes that make it
	 * unsafe.
	 */
	w[ACT_MEMBERSHIP] = s->membership ? 25 + (fresh_leader(s) ? 300 : 0) : 0;
	for (a = 0; a < ACT_COUNT; a++)
		total += w[a];
	r = (unsigned) sim_rng_below(&s->rng, total);
	for (a = 0; a < ACT_COUNT && r >= w[a]; a++)
		r -= w[a];

	switch ((enum action) a)
	{
		case ACT_DELIVER:
			sim_net_deliver_one(s, false);
			break;
		case ACT_TICK:
			n = node_to_tick(s);
			if (n != NULL)
			{
				SIM_TRACE(s, "tick n%llu", ID(n->id));
				sim_node_tick(s, n);
			}
			break;
		case ACT_READY:
			n = random_node(s, PENDING_READY);
			SIM_TRACE(s, "process ready of n%llu", ID(n->id));
			sim_node_process_ready(s, n);
			break;
		case ACT_PROPOSE:
			/* mostly on a leader; sometimes anywhere, to be refused or forwarded */
			n = random_node(s, sim_rng_permille(&s->rng, 100) ? ANY_NODE : LEADERS);
			if (n != NULL && sim_rng_permille(&s->rng, 150))
				sim_node_forward(s, n);
			else if (n != NULL)
				sim_node_propose(s, n, false);
			break;
		case ACT_READ:
			/* half on a node that believes it leads: a stale leader must not answer */
			n = random_node(s, sim_rng_permille(&s->rng, 500) ? LEADERS : ANY_NODE);
			if (n != NULL)
				sim_node_read_index(s, n, false);
			break;
		case ACT_TRANSFER:
			n = random_node(s, LEADERS);
			if (n != NULL)
			{
				raft_node_id target = 1 + sim_rng_below(&s->rng, s->nNodes);
				bool		voter = in_config(n, target, true);
				int			rc = raft_transfer_leadership(n->raft, target);

				SIM_TRACE(s, "transfer leadership n%llu -> n%llu: %s", ID(n->id), ID(target), sim_rc(rc));
				/* only a voter can take over */
				if (rc == RAFT_EINVAL && !voter)
					break;
				if (rc != RAFT_OK && rc != RAFT_EBUSY)
					sim_fail(s, "core-api", "raft_transfer_leadership(n%llu -> n%llu) on a leader: %s",
							 ID(n->id), ID(target), sim_rc(rc));
				sim_node_after_call(s, n);
			}
			break;
		case ACT_CAMPAIGN:
			n = random_node(s, NON_LEADERS);
			if (n != NULL)
			{
				raft_status st;
				int			rc;

				raft_get_status(n->raft, &st);
				rc = raft_campaign(n->raft);
				SIM_TRACE(s, "campaign on n%llu: %s", ID(n->id), sim_rc(rc));
				if (rc != RAFT_OK && !(rc == RAFT_EFLOOR && st.voteFloorHeld))
					sim_fail(s, "core-api", "raft_campaign(n%llu): %s", ID(n->id), sim_rc(rc));
				sim_node_after_call(s, n);
			}
			break;
		case ACT_HINT:
			/*
			 * A false "leader unreachable": half the time about the node's
			 * own leader (the hint that takes effect, while that leader may
			 * be well), else about anyone, nobody or a non-member.  Safety
			 * must not depend on the hint being true.
			 */
			n = random_node(s, ANY_NODE);
			if (n != NULL)
			{
				raft_status st;
				raft_node_id about;

				raft_get_status(n->raft, &st);
				about = sim_rng_permille(&s->rng, 500) ? st.leader
					: (raft_node_id) sim_rng_below(&s->rng, s->nNodes + 2);
				sim_node_leader_unreachable(s, n, about, "spurious");
				sim_node_after_call(s, n);
			}
			break;
		case ACT_CRASH:
			n = random_node(s, ANY_NODE);
			if (n != NULL)
				sim_node_crash(s, n, "between steps");
			break;
		case ACT_RESTART:
			n = random_node(s, DOWN_NODES);
			if (sim_rng_permille(&s->rng, s->wipePermille) && sim_node_may_wipe(s, n))
				sim_node_wipe(s, n);
			sim_node_start(s, n);
			break;
		case ACT_PARTITION:
			sim_net_partition_random(s);
			break;
		case ACT_HEAL:
			sim_net_heal(s);
			break;
		case ACT_COMPACT:
			n = random_node(s, ANY_NODE);
			if (n != NULL)
			{
				sim_node_compact(s, n);
				sim_node_after_call(s, n);
			}
			break;
		case ACT_MEMBERSHIP:
			n = fresh_leader(s) && sim_rng_permille(&s->rng, 900) ? fresh_leader_node(s) : random_node(s, LEADERS);
			if (n != NULL)
				membership_change(s, n);
			break;
		default:
			break;
	}
}

static void
random_phase(sim *s, uint64_t steps)
{
	uint64_t	nextEpoch = 0;
	uint64_t	end = s->step + steps;

	s->phase = "random";
	while (s->step < end)
	{
		s->step++;
		if (s->step >= nextEpoch)
		{
			new_epoch(s);
			nextEpoch = s->step + 100 + sim_rng_below(&s->rng, 300);
		}
		random_step(s);
		sim_check_step(s);
		sim_node_snapshots(s);
		sim_check_step(s);
	}
}

/* ---------------------------------------------------------------------
 * The heal phase: liveness
 * --------------------------------------------------------------------- */

/* One round: every node ticks once, then every message in flight is delivered. */
static void
heal_round(sim *s, unsigned round)
{
	unsigned	k;
	unsigned	deliveries = 0;

	for (k = 0; k < s->nNodes; k++)
	{
		sim_node   *n = &s->nodes[1 + (round + k) % s->nNodes];

		s->step++;
		SIM_TRACE(s, "tick n%llu", ID(n->id));
		sim_node_tick(s, n);
		sim_check_step(s);
	}
	sim_node_snapshots(s);
	sim_check_step(s);
	while (s->net.n > 0)
	{
		if (++deliveries > SIM_MAX_DELIVERIES_PER_ROUND)
			sim_fail(s, "liveness", "more than %u messages in one round of the heal phase",
					 SIM_MAX_DELIVERIES_PER_ROUND);
		s->step++;
		sim_net_deliver_one(s, true);
		sim_check_step(s);
	}
}

/* The members of leader's configuration, by id (the heal phase's "everyone"). */
static void
leader_members(const sim_node *leader, bool *member)
{
	raft_member m[RAFT_MAX_MEMBERS];
	size_t		n = raft_get_configuration(leader->raft, m, RAFT_MAX_MEMBERS, NULL, NULL),
				i;

	memset(member, 0, (SIM_MAX_NODES + 1) * sizeof(bool));
	for (i = 0; i < n && i < RAFT_MAX_MEMBERS; i++)
		if (m[i].id <= SIM_MAX_NODES)
			member[m[i].id] = true;
}

/*
 * The leader everyone agrees on, if there is one: a single leader, every
 * node in its term and following it, no transfer under way, and an entry
 * of its term committed (so it can serve reads and its commit index is
 * current).
 */
static sim_node *
stable_leader(sim *s)
{
	sim_node   *leader = NULL;
	raft_status st,
				ls;
	unsigned	i;
	bool		member[SIM_MAX_NODES + 1];

	for (i = 1; i <= s->nNodes; i++)
	{
		raft_get_status(s->nodes[i].raft, &st);
		if (st.role == RAFT_LEADER)
		{
			if (leader != NULL)
				return NULL;
			leader = &s->nodes[i];
		}
	}
	if (leader == NULL)
		return NULL;
	raft_get_status(leader->raft, &ls);
	if (ls.transferTarget != RAFT_NONE)
		return NULL;
	if (sim_node_term_at(leader, ls.commitIndex) != ls.currentTerm)
		return NULL;
	/* its configuration committed, so that no change is under way */
	if (!ls.configCommitted || !ls.isVoter)
		return NULL;
	leader_members(leader, member);
	for (i = 1; i <= s->nNodes; i++)
	{
		if (!member[i])
			continue;
		raft_get_status(s->nodes[i].raft, &st);
		if (st.currentTerm != ls.currentTerm || st.leader != leader->id)
			return NULL;
	}
	return leader;
}

static void
describe_nodes(sim *s, char *buf, size_t cap)
{
	unsigned	i;
	size_t		len = 0;

	buf[0] = '\0';
	for (i = 1; i <= s->nNodes && len < cap; i++)
	{
		raft_status st;
		int			l;

		if (s->nodes[i].raft == NULL)
		{
			l = snprintf(buf + len, cap - len, "%sn%u down", i > 1 ? "; " : "", i);
		}
		else
		{
			raft_get_status(s->nodes[i].raft, &st);
			l = snprintf(buf + len, cap - len, "%sn%u %s t%llu leader %llu commit %llu applied %llu last %llu/%llu config %llu%s (%zu voters, %zu members%s)",
						 i > 1 ? "; " : "", i, raft_role_name(st.role), ID(st.currentTerm),
						 ID(st.leader), ID(st.commitIndex), ID(s->nodes[i].disk.applied),
						 ID(st.lastLogIndex), ID(st.lastLogTerm), ID(st.configIndex),
						 st.configCommitted ? "" : " uncommitted", st.nVoters, st.nMembers,
						 st.isVoter ? ", voter" : "");
		}
		if (l < 0)
			break;
		len += (size_t) l;
	}
}

static bool
heal_work_done(sim *s, const bool *member)
{
	size_t		i;
	unsigned	k;

	for (i = 0; i < s->nProps; i++)
		if (s->props[i].heal && !s->props[i].acked)
			return false;
	for (i = 0; i < s->nReads; i++)
		if (s->reads[i].heal && !s->reads[i].done)
			return false;
	for (k = 1; k <= s->nNodes; k++)
		if (member[k] && s->nodes[k].disk.applied < s->ck.maxAcked)
			return false;
	return true;
}

/*
 * Once a stable leader exists in a fault-free cluster it must keep its
 * leadership: heartbeats reach every follower long before an election
 * timeout, so no term may change anywhere.
 */
static void
check_keeps_leadership(sim *s, const sim_node *leader, const raft_status *ls, const bool *member)
{
	unsigned	i;

	for (i = 1; i <= s->nNodes; i++)
	{
		raft_status st;

		if (!member[i])
			continue;			/* a removed node may go on campaigning, unheard */
		raft_get_status(s->nodes[i].raft, &st);
		if (st.currentTerm != ls->currentTerm || (i == leader->id && st.role != RAFT_LEADER))
		{
			sim_fail(s, "liveness", "leader n%llu of term %llu did not keep its leadership in a fault-free cluster (n%u now %s in term %llu)",
					 ID(leader->id), ID(ls->currentTerm), i, raft_role_name(st.role),
					 ID(st.currentTerm));
		}
	}
}

static void
heal_phase(sim *s)
{
	/*
	 * Twice as long after membership changes without pre-vote: members left
	 * with a stale configuration (a laggard, a voter its leader removed
	 * and that does not know it yet) stand for election without a chance,
	 * raising terms and splitting votes, as plain Raft lets any node with
	 * a stale log do (seeds 288 and 1731 of the first 3000 elected no
	 * stable leader within 10).
	 */
	unsigned	budget = (s->membership && !s->preVote ? 2 : 1) *
		SIM_HEAL_ROUNDS_FACTOR * s->electionTickMax;
	unsigned	round,
				i,
				stableRounds;
	sim_node   *leader = NULL;
	raft_term	leaderTerm = 0;
	raft_status ls;
	bool		member[SIM_MAX_NODES + 1];

	s->phase = "heal";
	s->healing = true;
	sim_net_heal(s);
	for (i = 1; i <= s->nNodes; i++)
	{
		sim_node   *n = &s->nodes[i];

		if (n->raft == NULL)
			sim_node_start(s, n);
		else
			sim_node_process_ready(s, n);
	}
	sim_check_step(s);

	/*
	 * A single leader within budget ticks, which stays the stable leader
	 * for a whole election timeout: a node cut off before the heal may
	 * still follow it on an election timer that is about to fire, and
	 * without pre-vote its campaign rightly ends the term.  After an
	 * election timeout of rounds every such timer has fired, or been reset
	 * by the leader's heartbeats; from then on no term may change.
	 */
	for (round = 0, stableRounds = 0; round < budget && stableRounds < s->electionTickMax; round++)
	{
		sim_node   *l;

		heal_round(s, round);
		l = stable_leader(s);
		if (l != NULL)
			raft_get_status(l->raft, &ls);
		if (l != NULL && l == leader && ls.currentTerm == leaderTerm)
			stableRounds++;
		else
		{
			stableRounds = l != NULL ? 1 : 0;
			leader = l;
			leaderTerm = l != NULL ? ls.currentTerm : 0;
		}
	}
	if (leader == NULL || stableRounds < s->electionTickMax)
		sim_fail(s, "liveness", "no single stable leader for an election timeout within %u ticks of every node in the heal phase",
				 budget);
	SIM_TRACE(s, "LEADER n%llu is stable after %u rounds", ID(leader->id), round);
	raft_get_status(leader->raft, &ls);
	/* from here on "every node" means every member of its configuration */
	leader_members(leader, member);

	/* new writes and reads complete, and every acknowledged write is everywhere */
	for (i = 0; i < SIM_HEAL_PROPOSALS; i++)
	{
		s->step++;
		if (!sim_node_propose(s, leader, true))
			sim_fail(s, "liveness", "the stable leader n%llu refused a proposal", ID(leader->id));
		sim_check_step(s);
	}
	for (i = 1; i <= s->nNodes; i++)
	{
		if (!member[i])
			continue;
		s->step++;
		if (!sim_node_read_index(s, &s->nodes[i], true))
			sim_fail(s, "liveness", "n%u refused a read with n%llu as stable leader", i, ID(leader->id));
		sim_check_step(s);
	}
	for (round = 0; round < budget && !heal_work_done(s, member); round++)
	{
		heal_round(s, round);
		check_keeps_leadership(s, leader, &ls, member);
	}
	if (!heal_work_done(s, member))
	{
		sim_check_leader_needs_compacted(s, leader);
		sim_fail(s, "liveness", "heal-phase proposals/reads not complete, or acknowledged writes (up to index %llu) not applied everywhere, after %u ticks",
				 ID(s->ck.maxAcked), budget);
	}

	/* and keeps it on heartbeats alone (proposals would reset election timers too) */
	for (round = 0; round < SIM_HEAL_STABLE_FACTOR * s->electionTickMax; round++)
	{
		heal_round(s, round);
		check_keeps_leadership(s, leader, &ls, member);
	}

	/*
	 * Converged: once the leader's last entry reached a follower, the
	 * follower's log is the leader's (anything else it held conflicted and
	 * was cut), and heartbeats carry the commit index everywhere.
	 */
	raft_get_status(leader->raft, &ls);
	sim_check_leader_needs_compacted(s, leader);
	for (i = 1; i <= s->nNodes; i++)
	{
		const sim_disk *d = &s->nodes[i].disk;
		const sim_disk *ld = &leader->disk;
		raft_status st;

		if (!member[i])
			continue;
		raft_get_status(s->nodes[i].raft, &st);
		if (sim_disk_last_index(d) != sim_disk_last_index(ld) ||
			sim_disk_chain_at(d, sim_disk_last_index(d)) != sim_disk_chain_at(ld, sim_disk_last_index(ld)))
			sim_fail(s, "liveness", "n%u's log (%llu..%llu) did not converge to leader n%llu's (%llu..%llu)",
					 i, ID(d->lastIncludedIndex + 1), ID(sim_disk_last_index(d)), ID(leader->id),
					 ID(ld->lastIncludedIndex + 1), ID(sim_disk_last_index(ld)));
		if (st.commitIndex != ls.commitIndex || d->applied != ls.commitIndex)
			sim_fail(s, "liveness", "n%u has commit %llu applied %llu, leader n%llu has commit %llu, after the stable period",
					 i, ID(st.commitIndex), ID(d->applied), ID(leader->id), ID(ls.commitIndex));
	}

	/* every write a client saw committed is in every state machine */
	for (i = 0; i < s->nProps; i++)
	{
		const sim_proposal *p = &s->props[i];
		unsigned	k;

		if (!p->acked)
			continue;
		for (k = 1; k <= s->nNodes; k++)
		{
			const sim_disk *d = &s->nodes[k].disk;

			if (!member[k])
				continue;
			if (d->applied < p->index || d->sm[p->index - 1].term != p->term ||
				d->sm[p->index - 1].hash != p->hash)
				sim_fail(s, "liveness", "acknowledged write %llu/%llu (proposed on n%llu) is not in n%u's state machine",
						 ID(p->index), ID(p->term), ID(p->node), k);
		}
	}
	sim_check_full_logs(s);
}

/* ---------------------------------------------------------------------
 * Runner
 * --------------------------------------------------------------------- */
typedef struct sim_totals
{
	uint64_t	steps;
	uint64_t	proposed;
	uint64_t	acked;
	uint64_t	forwarded;
	uint64_t	reads;
	uint64_t	crashes;
	uint64_t	wipes;
	uint64_t	floorsLifted;
	uint64_t	regressions;
	uint64_t	hints;
	uint64_t	hintsTaken;
	uint64_t	elections;
	uint64_t	messages;
	uint64_t	compactSeeds;
	uint64_t	compactions;
	uint64_t	compacted;
	uint64_t	compactHeld;
	uint64_t	compactHeldByWiped;
	uint64_t	memberSeeds;
	uint64_t	adds;
	uint64_t	replaced;
	uint64_t	promotes;
	uint64_t	removes;
	uint64_t	leaderRemovals;
	uint64_t	changesBusy;
	uint64_t	grownSeeds;		/* seeds that ended with a server added */
	uint64_t	snapSeeds;		/* seeds that installed a snapshot */
	uint64_t	snapNeeded;
	uint64_t	snapSent;
	uint64_t	snapLost;
	uint64_t	snapInstalled;
	uint64_t	wipesAfterCompaction;
} sim_totals;

static bool
run_seed(const sim_options *o, uint64_t seed, sim_totals *tot, char *failOut, size_t failCap)
{
	sim		   *s = calloc(1, sizeof(sim));
	volatile bool ok = true;
	uint64_t	steps = o->steps ? o->steps : SIM_DEFAULT_STEPS;

	if (s == NULL)
	{
		fprintf(stderr, "sim: out of memory\n");
		abort();
	}
	if (setjmp(s->failJmp) == 0)
	{
		sim_setup(s, o, seed);
		random_phase(s, steps);
		heal_phase(s);
	}
	else
	{
		char		desc[2048];

		ok = false;
		describe_nodes(s, desc, sizeof(desc));
		snprintf(failOut, failCap, "%s\n    nodes: %s", s->failMsg, desc);
	}
	tot->steps += s->step;
	tot->proposed += s->nProposed;
	tot->acked += s->nAcked;
	tot->forwarded += s->nForwardApplied;
	tot->reads += s->nReadStates;
	tot->crashes += s->nCrashes;
	tot->wipes += s->nWipes;
	tot->floorsLifted += s->nFloorsLifted;
	tot->hints += s->nHints;
	tot->hintsTaken += s->nHintsTaken;
	tot->elections += s->nElections;
	tot->messages += s->net.sent;
	tot->compactSeeds += s->nCompactions > 0;
	tot->compactions += s->nCompactions;
	tot->compacted += s->nCompacted;
	tot->compactHeld += s->nCompactHeld;
	tot->compactHeldByWiped += s->nCompactHeldByWiped;
	tot->memberSeeds += s->membership;
	tot->adds += s->nAdds;
	tot->replaced += s->nReplaced;
	tot->promotes += s->nPromotes;
	tot->removes += s->nRemoves;
	tot->leaderRemovals += s->nLeaderRemovals;
	tot->changesBusy += s->nChangesBusy;
	tot->grownSeeds += s->nNodes > s->nInitial;
	tot->snapSeeds += s->nSnapInstalled > 0;
	tot->snapNeeded += s->nSnapNeeded;
	tot->snapSent += s->nSnapSent;
	tot->snapLost += s->nSnapLost;
	tot->snapInstalled += s->nSnapInstalled;
	if (s->trace)
		printf("seed %llu: %u nodes, %llu steps, %llu proposals accepted, %llu acknowledged, %llu reads, %llu leaders, %llu crashes (%llu wiped disks, %llu vote floors lifted), %llu hints (%llu taken), messages %llu sent %llu delivered %llu dropped %llu duplicated\n",
			   (unsigned long long) seed, s->nNodes, (unsigned long long) s->step,
			   (unsigned long long) s->nProposed, (unsigned long long) s->nAcked,
			   (unsigned long long) s->nReadStates, (unsigned long long) s->nElections,
			   (unsigned long long) s->nCrashes, (unsigned long long) s->nWipes,
			   (unsigned long long) s->nFloorsLifted, (unsigned long long) s->nHints,
			   (unsigned long long) s->nHintsTaken, (unsigned long long) s->net.sent,
			   (unsigned long long) s->net.delivered, (unsigned long long) s->net.dropped,
			   (unsigned long long) s->net.duplicated);
	if (s->trace)
		printf("seed %llu: %llu compactions (%llu entries), %llu held back by a member behind (%llu by a wiped one)\n",
			   (unsigned long long) seed, (unsigned long long) s->nCompactions,
			   (unsigned long long) s->nCompacted, (unsigned long long) s->nCompactHeld,
			   (unsigned long long) s->nCompactHeldByWiped);
	sim_teardown(s);
	tot->regressions += s->nRegressions;	/* summed over the nodes at teardown */
	if (ok && s->liveAllocs != 0)
	{
		ok = false;
		snprintf(failOut, failCap, "[memory-leak] %lld blocks from the core's allocator not freed after destroying every node",
				 (long long) s->liveAllocs);
	}
	free(s);
	return ok;
}

static void
usage(const char *argv0)
{
	fprintf(stderr,
			"usage: %s --seeds N [--start S] [--nodes 3|5] [--steps K]\n"
			"       %s --seed S [--trace] [--nodes 3|5] [--steps K]\n",
			argv0, argv0);
	exit(2);
}

static uint64_t
parse_u64(const char *argv0, const char *s)
{
	char	   *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (*s == '\0' || *end != '\0')
		usage(argv0);
	return (uint64_t) v;
}

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	sim_options o;
	sim_totals	tot;
	uint64_t	i,
				passed = 0,
				failed = 0;
	double		t0;
	int			a;
	char		fail[4096];

	memset(&o, 0, sizeof(o));
	memset(&tot, 0, sizeof(tot));
	o.argv0 = argv[0];
	o.nSeeds = 100;
	o.start = 1;
	for (a = 1; a < argc; a++)
	{
		if (strcmp(argv[a], "--seed") == 0 && a + 1 < argc)
		{
			o.single = true;
			o.seed = parse_u64(argv[0], argv[++a]);
		}
		else if (strcmp(argv[a], "--seeds") == 0 && a + 1 < argc)
			o.nSeeds = parse_u64(argv[0], argv[++a]);
		else if (strcmp(argv[a], "--start") == 0 && a + 1 < argc)
			o.start = parse_u64(argv[0], argv[++a]);
		else if (strcmp(argv[a], "--nodes") == 0 && a + 1 < argc)
		{
			o.nodes = (unsigned) parse_u64(argv[0], argv[++a]);
			if (o.nodes != 3 && o.nodes != 5)
				usage(argv[0]);
		}
		else if (strcmp(argv[a], "--steps") == 0 && a + 1 < argc)
			o.steps = parse_u64(argv[0], argv[++a]);
		else if (strcmp(argv[a], "--trace") == 0)
			o.trace = true;
		else
			usage(argv[0]);
	}
	if (o.single)
	{
		o.start = o.seed;
		o.nSeeds = 1;
	}
	else if (o.trace)
		usage(argv[0]);

	t0 = now_seconds();
	for (i = 0; i < o.nSeeds; i++)
	{
		uint64_t	seed = o.start + i;

		if (run_seed(&o, seed, &tot, fail, sizeof(fail)))
			passed++;
		else
		{
			char		extra[64] = "";

			failed++;
			if (o.nodes)
				snprintf(extra, sizeof(extra), " --nodes %u", o.nodes);
			if (o.steps)
				snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
						 " --steps %llu", (unsigned long long) o.steps);
			printf("FAIL seed %llu: %s\n    reproduce: %s --seed %llu%s --trace\n",
				   (unsigned long long) seed, fail, argv[0], (unsigned long long) seed, extra);
			fflush(stdout);
		}
	}
	printf("sim: %llu seeds, %llu steps, %llu proposals accepted, %llu acknowledged, %llu forwarded commands applied, %llu reads, %llu leaders, %llu crashes (%llu wiped disks, %llu vote floors lifted), %llu followers found gone back, %llu leader-unreachable hints (%llu taken), %llu messages, %.1f s\n",
		   (unsigned long long) o.nSeeds, (unsigned long long) tot.steps,
		   (unsigned long long) tot.proposed, (unsigned long long) tot.acked,
		   (unsigned long long) tot.forwarded,
		   (unsigned long long) tot.reads, (unsigned long long) tot.elections,
		   (unsigned long long) tot.crashes, (unsigned long long) tot.wipes,
		   (unsigned long long) tot.floorsLifted, (unsigned long long) tot.regressions,
		   (unsigned long long) tot.hints,
		   (unsigned long long) tot.hintsTaken, (unsigned long long) tot.messages,
		   now_seconds() - t0);
	printf("sim: compaction in %llu seeds: %llu compactions, %llu entries compacted, %llu attempts held back by a member behind (%llu by one whose disk was wiped)\n",
		   (unsigned long long) tot.compactSeeds, (unsigned long long) tot.compactions,
		   (unsigned long long) tot.compacted, (unsigned long long) tot.compactHeld,
		   (unsigned long long) tot.compactHeldByWiped);
	printf("sim: membership changes in %llu seeds: %llu learners added (%llu replaced servers), %llu promoted, %llu removed (%llu leaders removing themselves), %llu changes refused busy, %llu seeds grew new servers\n",
		   (unsigned long long) tot.memberSeeds, (unsigned long long) tot.adds,
		   (unsigned long long) tot.replaced, (unsigned long long) tot.promotes,
		   (unsigned long long) tot.removes, (unsigned long long) tot.leaderRemovals,
		   (unsigned long long) tot.changesBusy, (unsigned long long) tot.grownSeeds);
	printf("sim: InstallSnapshot in %llu seeds: %llu requests reported, %llu copies sent (%llu lost), %llu installed\n",
		   (unsigned long long) tot.snapSeeds, (unsigned long long) tot.snapNeeded,
		   (unsigned long long) tot.snapSent, (unsigned long long) tot.snapLost,
		   (unsigned long long) tot.snapInstalled);
	printf("sim: %llu passed, %llu failed\n", (unsigned long long) passed, (unsigned long long) failed);
	return failed ? 1 : 0;
}
