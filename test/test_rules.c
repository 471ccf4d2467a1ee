/*
 * test_rules.c — one small test per rule of the Raft paper's Figure 2 and
 * of the extensions the core implements, each named after its rule.
 *
 * Most tests put one node in a known state (a log and a hard state on its
 * fake disk, see cluster.h), step hand-made messages into it and read
 * what it answers; the other members of its configuration are never
 * started, so nothing happens that the test did not ask for.
 */
#include <stdio.h>
#include <string.h>

#include "cluster.h"
#include "testlib.h"

/* ---------------------------------------------------------------------
 * Hand-made messages
 * --------------------------------------------------------------------- */
static raft_message
msg_append(raft_node_id from, raft_node_id to, raft_term term,
		   raft_index prevLogIndex, raft_term prevLogTerm, raft_index leaderCommit,
		   const raft_entry *entries, uint32_t nEntries)
{
	raft_message m;

	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_APPEND_ENTRIES;
	m.from = from;
	m.to = to;
	m.term = term;
	m.prevLogIndex = prevLogIndex;
	m.prevLogTerm = prevLogTerm;
	m.leaderCommit = leaderCommit;
	m.entries = nEntries > 0 ? entries : NULL;
	m.nEntries = nEntries;
	return m;
}

static raft_message
msg_vote(raft_node_id from, raft_node_id to, raft_term term,
		 raft_index lastLogIndex, raft_term lastLogTerm)
{
	raft_message m;

	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_REQUEST_VOTE;
	m.from = from;
	m.to = to;
	m.term = term;
	m.lastLogIndex = lastLogIndex;
	m.lastLogTerm = lastLogTerm;
	return m;
}

static raft_message
msg_simple(int type, raft_node_id from, raft_node_id to, raft_term term)
{
	raft_message m;

	memset(&m, 0, sizeof(m));
	m.type = (uint8_t) type;
	m.from = from;
	m.to = to;
	m.term = term;
	return m;
}

/* Entries first, first + 1, ... with the given terms and no data. */
static void
make_entries(raft_entry *out, raft_index first, const raft_term *terms, size_t n)
{
	size_t		i;

	for (i = 0; i < n; i++)
	{
		memset(&out[i], 0, sizeof(raft_entry));
		out[i].index = first + i;
		out[i].term = terms[i];
		out[i].type = RAFT_ENTRY_NORMAL;
	}
}

/*
 * A 3-member configuration where only node 1 runs, starting from a disk
 * holding entries of the given terms and currentTerm.
 */
static cluster *
solo_node(const raft_term *logTerms, size_t nLog, raft_term currentTerm)
{
	cluster    *c = cl_new(3);
	size_t		i;

	for (i = 0; i < nLog; i++)
		cl_seed_entry(c, 1, logTerms[i], "", false);
	if (c->node[1].hs.currentTerm < currentTerm)
		c->node[1].hs.currentTerm = currentTerm;
	if (cl_start(c, 1) != RAFT_OK)
	{
		fprintf(stderr, "solo_node: raft_node_create failed\n");
		abort();
	}
	return c;
}

/* Step m into node 1 after clearing the network; returns node 1's answer of type (or NULL). */
static const raft_message *
ask(cluster *c, const raft_message *m, int answerType)
{
	cl_drop_all(c);
	CHECK(cl_step(c, 1, m) == RAFT_OK);
	return cl_find_msg(c, 1, m->from, answerType);
}

/* ---------------------------------------------------------------------
 * Figure 2, AppendEntries RPC, receiver implementation
 * --------------------------------------------------------------------- */

/* 1. Reply false if term < currentTerm (and tell the sender our term). */
static void
test_rule_append_entries_reply_false_if_term_older(void)
{
	raft_term	log[] = {1};
	raft_term	newTerms[] = {3};
	raft_entry	ents[1];
	cluster    *c = solo_node(log, 1, 5);
	raft_message m;
	const raft_message *r;

	make_entries(ents, 2, newTerms, 1);
	m = msg_append(2, 1, 3, 1, 1, 1, ents, 1);
	r = ask(c, &m, RAFT_MSG_APPEND_ENTRIES_RESULT);
	REQUIRE(r != NULL);
	CHECK(!r->success);
	CHECK(r->term == 5);
	CHECK(cl_status(c, 1).currentTerm == 5);
	CHECK(cl_status(c, 1).leader == RAFT_NONE);
	CHECK(cl_status(c, 1).lastLogIndex == 1);	/* nothing appended */
	CHECK(c->violations == 0);
	cl_free(c);
}

/* 2. Reply false if the log has no entry at prevLogIndex (hint: our log ends early). */
static void
test_rule_append_entries_reply_false_if_prev_entry_missing(void)
{
	raft_term	log[] = {1, 1};
	cluster    *c = solo_node(log, 2, 2);
	raft_message m = msg_append(2, 1, 2, 5, 2, 0, NULL, 0);
	const raft_message *r = ask(c, &m, RAFT_MSG_APPEND_ENTRIES_RESULT);

	REQUIRE(r != NULL);
	CHECK(!r->success);
	CHECK(r->term == 2);
	CHECK(r->rejectedIndex == 5);
	CHECK(r->lastLogIndex == 2);
	CHECK(r->conflictTerm == 0);
	CHECK(r->conflictIndex == 3);	/* the first index we lack */
	CHECK(cl_status(c, 1).lastLogIndex == 2);
	CHECK(c->violations == 0);
	cl_free(c);
}

/*
 * 2. Reply false if the entry at prevLogIndex has another term (hint: that
 * term and the first index we hold of it, so the leader skips it whole).
 */
static void
test_rule_append_entries_reply_false_if_prev_term_differs(void)
{
	raft_term	log[] = {1, 2, 2, 2};
	raft_term	newTerms[] = {4};
	raft_entry	ents[1];
	cluster    *c = solo_node(log, 4, 3);
	raft_message m;
	const raft_message *r;

	make_entries(ents, 5, newTerms, 1);
	m = msg_append(2, 1, 4, 4, 3, 0, ents, 1);
	r = ask(c, &m, RAFT_MSG_APPEND_ENTRIES_RESULT);
	REQUIRE(r != NULL);
	CHECK(!r->success);
	CHECK(r->term == 4);
	CHECK(r->rejectedIndex == 4);
	CHECK(r->lastLogIndex == 4);
	CHECK(r->conflictTerm == 2);
	CHECK(r->conflictIndex == 2);
	/* a refusal changes nothing in the log */
	CHECK(cl_status(c, 1).lastLogIndex == 4);
	CHECK(cl_term_at(c, 1, 4) == 2);
	CHECK(c->violations == 0);
	cl_free(c);
}

/* 3. If an existing entry conflicts with a new one, delete it and all that follow. */
static void
test_rule_append_entries_delete_conflicting_entry_and_all_that_follow(void)
{
	raft_term	log[] = {1, 1, 2, 2};
	raft_term	newTerms[] = {3};
	raft_entry	ents[1];
	cluster    *c = solo_node(log, 4, 2);
	raft_message m;
	const raft_message *r;
	raft_entry	e;

	make_entries(ents, 3, newTerms, 1);
	m = msg_append(2, 1, 3, 2, 1, 0, ents, 1);
	r = ask(c, &m, RAFT_MSG_APPEND_ENTRIES_RESULT);
	REQUIRE(r != NULL);
	CHECK(r->success);
	CHECK(r->matchIndex == 3);
	CHECK(cl_status(c, 1).lastLogIndex == 3);
	CHECK(cl_term_at(c, 1, 3) == 3);
	CHECK(!raft_log_entry(c->node[1].raft, 4, &e));
	/* the host was told to replace its copy from index 3 on */
	CHECK(c->node[1].log.n == 3);
	CHECK(c->node[1].log.e[2].term == 3);
	CHECK(c->violations == 0);
	cl_free(c);
}

/*
 * 3. ... but only on a real conflict: a delayed duplicate of an older
 * AppendEntries, whose entries all match, must not cut off the newer
 * entries behind them (the network reorders).
 */
static void
test_rule_append_entries_stale_duplicate_does_not_truncate(void)
{
	raft_term	terms[] = {2, 2, 2, 2, 2};
	raft_entry	ents[5];
	cluster    *c = solo_node(NULL, 0, 0);
	raft_message m;
	const raft_message *r;

	make_entries(ents, 1, terms, 5);
	m = msg_append(2, 1, 2, 0, 0, 0, ents, 5);
	r = ask(c, &m, RAFT_MSG_APPEND_ENTRIES_RESULT);
	REQUIRE(r != NULL && r->success);
	CHECK(cl_status(c, 1).lastLogIndex == 5);

	/* the older message, carrying only entries 1..2, arrives late */
	m = msg_append(2, 1, 2, 0, 0, 0, ents, 2);
	r = ask(c, &m, RAFT_MSG_APPEND_ENTRIES_RESULT);
	REQUIRE(r != NULL);
	CHECK(r->success);
	CHECK(r->matchIndex == 2);	/* what this message proves, no more */
	CHECK(cl_status(c, 1).lastLogIndex == 5);
	CHECK(cl_status(c, 1).stableIndex == 5);
	CHECK(c->node[1].log.n == 5);

	/* and one from the middle */
	m = msg_append(2, 1, 2, 2, 2, 0, &ents[2], 1);
	r = ask(c, &m, RAFT_MSG_APPEND_ENTRIES_RESULT);
	REQUIRE(r != NULL);
	CHECK(r->success && r->matchIndex == 3);
	CHECK(cl_status(c, 1).lastLogIndex == 5);
	CHECK(c->node[1].log.n == 5);
	CHECK(c->violations == 0);
	cl_free(c);
}

/* 4. Append any new entries not already in the log (and only those). */
static void
test_rule_append_entries_append_new_entries_not_already_in_log(void)
{
	raft_term	log[] = {1, 1};
	raft_term	newTerms[] = {1, 1, 1};
	raft_entry	ents[3];
	cluster    *c = solo_node(log, 2, 1);
	raft_message m;
	const raft_message *r;

	make_entries(ents, 2, newTerms, 3);
	m = msg_append(2, 1, 1, 1, 1, 0, ents, 3);
	r = ask(c, &m, RAFT_MSG_APPEND_ENTRIES_RESULT);
	REQUIRE(r != NULL);
	CHECK(r->success);
	CHECK(r->matchIndex == 4);
	CHECK(cl_status(c, 1).lastLogIndex == 4);
	/* only 3 and 4 went to the disk; entry 2 was already there */
	CHECK(c->node[1].lastPersistFirst == 3);
	CHECK(c->node[1].lastPersistCount == 2);
	CHECK(c->node[1].log.n == 4);
	CHECK(c->violations == 0);
	cl_free(c);
}

/*
 * 5. If leaderCommit > commitIndex, commitIndex = min(leaderCommit, index
 * of last new entry).  The follower's log here is longer than
 * prevLogIndex + nEntries: entries 3..5 are not vouched for by this
 * message (they may come from an old leader) and must not be committed.
 */
static void
test_rule_append_entries_commit_index_is_min_of_leader_commit_and_last_new_entry(void)
{
	raft_term	log[] = {1, 1, 1, 1, 1};
	raft_term	newTerms[] = {1};
	raft_entry	ents[1];
	cluster    *c = solo_node(log, 5, 1);
	raft_message m;
	const raft_message *r;

	make_entries(ents, 2, newTerms, 1);
	m = msg_append(2, 1, 2, 1, 1, 5, ents, 1);
	r = ask(c, &m, RAFT_MSG_APPEND_ENTRIES_RESULT);
	REQUIRE(r != NULL && r->success);
	CHECK(cl_status(c, 1).commitIndex == 2);
	CHECK(c->node[1].applied == 2);

	/* a heartbeat vouches for its prevLogIndex only */
	m = msg_append(2, 1, 2, 3, 1, 5, NULL, 0);
	r = ask(c, &m, RAFT_MSG_APPEND_ENTRIES_RESULT);
	REQUIRE(r != NULL && r->success);
	CHECK(cl_status(c, 1).commitIndex == 3);

	/* and the leader's commit index bounds it from the other side */
	m = msg_append(2, 1, 2, 5, 1, 4, NULL, 0);
	r = ask(c, &m, RAFT_MSG_APPEND_ENTRIES_RESULT);
	REQUIRE(r != NULL && r->success);
	CHECK(cl_status(c, 1).commitIndex == 4);
	CHECK(c->node[1].applied == 4);
	CHECK(c->violations == 0);
	cl_free(c);
}

/* ---------------------------------------------------------------------
 * Figure 2, RequestVote RPC, receiver implementation
 * --------------------------------------------------------------------- */

/* 1. Reply false if term < currentTerm. */
static void
test_rule_request_vote_reply_false_if_term_older(void)
{
	cluster    *c = solo_node(NULL, 0, 5);
	raft_message m = msg_vote(2, 1, 4, 9, 4);
	const raft_message *r = ask(c, &m, RAFT_MSG_REQUEST_VOTE_RESULT);

	REQUIRE(r != NULL);
	CHECK(!r->voteGranted);
	CHECK(r->term == 5);
	CHECK(cl_status(c, 1).votedFor == RAFT_NONE);
	CHECK(cl_status(c, 1).currentTerm == 5);
	CHECK(c->violations == 0);
	cl_free(c);
}

/*
 * 2. Grant if votedFor is null or candidateId: one vote per term.  A second
 * candidate of the same term is refused; the same candidate asking again
 * (its first answer may have been lost) is granted again.
 */
static void
test_rule_request_vote_one_vote_per_term(void)
{
	cluster    *c = solo_node(NULL, 0, 0);
	raft_message m;
	const raft_message *r;

	m = msg_vote(2, 1, 1, 0, 0);
	r = ask(c, &m, RAFT_MSG_REQUEST_VOTE_RESULT);
	REQUIRE(r != NULL);
	CHECK(r->voteGranted);

	m = msg_vote(3, 1, 1, 0, 0);
	r = ask(c, &m, RAFT_MSG_REQUEST_VOTE_RESULT);
	REQUIRE(r != NULL);
	CHECK(!r->voteGranted);

	m = msg_vote(2, 1, 1, 0, 0);
	r = ask(c, &m, RAFT_MSG_REQUEST_VOTE_RESULT);
	REQUIRE(r != NULL);
	CHECK(r->voteGranted);
	CHECK(cl_status(c, 1).votedFor == 2);
	CHECK(c->node[1].hs.votedFor == 2);
	CHECK(c->violations == 0);
	cl_free(c);
}

/*
 * 2. ... and the candidate's log is at least as up-to-date (§5.4.1): the
 * later last term wins; with equal last terms, the longer log.
 */
static void
test_rule_request_vote_only_for_up_to_date_log(void)
{
	raft_term	log[] = {1, 2, 2};
	cluster    *c = solo_node(log, 3, 2);
	raft_message m;
	const raft_message *r;

	/* longer, but its last term is older */
	m = msg_vote(2, 1, 3, 10, 1);
	r = ask(c, &m, RAFT_MSG_REQUEST_VOTE_RESULT);
	REQUIRE(r != NULL);
	CHECK(!r->voteGranted);
	CHECK(cl_status(c, 1).votedFor == RAFT_NONE);

	/* same last term, shorter */
	m = msg_vote(3, 1, 4, 2, 2);
	r = ask(c, &m, RAFT_MSG_REQUEST_VOTE_RESULT);
	REQUIRE(r != NULL);
	CHECK(!r->voteGranted);
	CHECK(cl_status(c, 1).votedFor == RAFT_NONE);

	/* same last term, same length */
	m = msg_vote(2, 1, 5, 3, 2);
	r = ask(c, &m, RAFT_MSG_REQUEST_VOTE_RESULT);
	REQUIRE(r != NULL);
	CHECK(r->voteGranted);

	/* later last term, shorter */
	m = msg_vote(3, 1, 6, 1, 3);
	r = ask(c, &m, RAFT_MSG_REQUEST_VOTE_RESULT);
	REQUIRE(r != NULL);
	CHECK(r->voteGranted);
	CHECK(cl_status(c, 1).votedFor == 3);
	CHECK(c->violations == 0);
	cl_free(c);
}

/* Which batch first held a given hard state, and which a given message. */
typedef struct batch_order
{
	unsigned	hardStateBatch;
	unsigned	messageBatch;
} batch_order;

/*
 * Run node 1's ready loop by hand, noting the first batch whose hard state
 * is (term, votedFor) with hardStateChanged, and the first batch carrying a
 * message of msgType to msgTo (granted, for vote answers).
 */
static batch_order
watch_batches(cluster *c, raft_term term, raft_node_id votedFor, int msgType, raft_node_id msgTo)
{
	batch_order o = {0, 0};
	unsigned	batch = 0;
	raft_node  *n = c->node[1].raft;

	while (raft_has_ready(n) && batch < 100)
	{
		raft_ready	rd;
		size_t		i;

		if (raft_ready_get(n, &rd) != RAFT_OK)
			break;
		batch++;
		if (o.hardStateBatch == 0 && rd.hardStateChanged &&
			rd.hardState.currentTerm == term && rd.hardState.votedFor == votedFor)
			o.hardStateBatch = batch;
		for (i = 0; i < rd.nMessages; i++)
		{
			const raft_message *m = &rd.messages[i];

			if (o.messageBatch == 0 && m->type == msgType && m->to == msgTo &&
				(msgType != RAFT_MSG_REQUEST_VOTE_RESULT || m->voteGranted))
				o.messageBatch = batch;
		}
		cl_host_batch(c, 1, &rd);
		raft_advance(n, &rd);
	}
	return o;
}

/*
 * votedFor and currentTerm reach ready.hardState (hardStateChanged) no
 * later than the batch that sends the vote: the host persists a batch
 * before sending its messages, so a vote is never granted twice across a
 * crash.  The same holds for a candidate's vote for itself.
 */
static void
test_rule_vote_is_in_hard_state_before_grant_is_sent(void)
{
	cluster    *c = solo_node(NULL, 0, 3);
	raft_message m;
	batch_order o;

	/* a vote in the current term: only votedFor changes */
	m = msg_vote(2, 1, 3, 0, 0);
	CHECK(raft_step(c->node[1].raft, &m) == RAFT_OK);
	o = watch_batches(c, 3, 2, RAFT_MSG_REQUEST_VOTE_RESULT, 2);
	CHECK(o.hardStateBatch > 0);
	CHECK(o.messageBatch > 0);
	CHECK(o.hardStateBatch <= o.messageBatch);

	/* a vote in a new term: both change */
	m = msg_vote(3, 1, 5, 0, 0);
	CHECK(raft_step(c->node[1].raft, &m) == RAFT_OK);
	o = watch_batches(c, 5, 3, RAFT_MSG_REQUEST_VOTE_RESULT, 3);
	CHECK(o.hardStateBatch > 0);
	CHECK(o.messageBatch > 0);
	CHECK(o.hardStateBatch <= o.messageBatch);

	/* a candidate's vote for itself, before its RequestVotes */
	CHECK(raft_campaign(c->node[1].raft) == RAFT_OK);
	o = watch_batches(c, 6, 1, RAFT_MSG_REQUEST_VOTE, 2);
	CHECK(o.hardStateBatch > 0);
	CHECK(o.messageBatch > 0);
	CHECK(o.hardStateBatch <= o.messageBatch);
	CHECK(c->violations == 0);
	cl_free(c);
}

/* ---------------------------------------------------------------------
 * Figure 2, Rules for Servers
 * --------------------------------------------------------------------- */

/*
 * All servers: if a message carries term T > currentTerm, set currentTerm
 * = T and become follower — whatever the message.  Shown on a leader, one
 * message type at a time.
 */
static void
test_rule_higher_term_in_any_message_makes_follower(void)
{
	static const int types[] = {
		RAFT_MSG_APPEND_ENTRIES,
		RAFT_MSG_APPEND_ENTRIES_RESULT,
		RAFT_MSG_REQUEST_VOTE,
		RAFT_MSG_REQUEST_VOTE_RESULT,
		RAFT_MSG_READ_INDEX,
		RAFT_MSG_READ_INDEX_RESULT
	};
	size_t		k;

	for (k = 0; k < sizeof(types) / sizeof(types[0]); k++)
	{
		cluster    *c = cl_new(3);
		raft_message m = msg_simple(types[k], 2, 1, 6);
		raft_status st;

		cl_start_all(c);
		REQUIRE(cl_elect(c, 1));
		REQUIRE(cl_status(c, 1).currentTerm == 1);
		if (types[k] == RAFT_MSG_READ_INDEX_RESULT)
			m.success = true;
		CHECK(cl_step(c, 1, &m) == RAFT_OK);
		st = cl_status(c, 1);
		if (st.role != RAFT_FOLLOWER || st.currentTerm != 6)
			fprintf(stderr, "  message type %d at term 6: role %s, term %llu\n",
					types[k], raft_role_name(st.role),
					(unsigned long long) st.currentTerm);
		CHECK(st.role == RAFT_FOLLOWER);
		CHECK(st.currentTerm == 6);
		CHECK(c->node[1].hs.currentTerm == 6);	/* and the host persisted it */
		CHECK(st.leader == (types[k] == RAFT_MSG_APPEND_ENTRIES ? 2 : RAFT_NONE));
		CHECK(c->violations == 0);
		cl_free(c);
	}
}

/* The same for a candidate: an answer from a later term ends its campaign. */
static void
test_rule_higher_term_makes_candidate_follower(void)
{
	cluster    *c = solo_node(NULL, 0, 0);
	raft_message m = msg_simple(RAFT_MSG_REQUEST_VOTE_RESULT, 3, 1, 4);

	CHECK(cl_campaign(c, 1) == RAFT_OK);
	REQUIRE(cl_status(c, 1).role == RAFT_CANDIDATE);
	CHECK(cl_step(c, 1, &m) == RAFT_OK);
	CHECK(cl_status(c, 1).role == RAFT_FOLLOWER);
	CHECK(cl_status(c, 1).currentTerm == 4);
	CHECK(cl_status(c, 1).votedFor == RAFT_NONE);
	CHECK(c->violations == 0);
	cl_free(c);
}

/*
 * Leaders: commit an entry only if it is of the current term (§5.4.2);
 * entries of earlier terms commit with it.  Counting replicas of an older
 * entry is not enough (Figure 8).
 */
static void
test_rule_leader_never_commits_earlier_term_entry_by_counting_replicas(void)
{
	raft_term	log[] = {1, 1};
	cluster    *c = solo_node(log, 2, 1);
	raft_message m;

	CHECK(cl_campaign(c, 1) == RAFT_OK);
	m = msg_simple(RAFT_MSG_REQUEST_VOTE_RESULT, 2, 1, 2);
	m.voteGranted = true;
	CHECK(cl_step(c, 1, &m) == RAFT_OK);
	REQUIRE(cl_is_leader(c, 1));
	REQUIRE(cl_term_at(c, 1, 3) == 2);	/* the new leader's no-op */

	/* node 2 holds index 2 (term 1): with us, a majority — not enough */
	m = msg_simple(RAFT_MSG_APPEND_ENTRIES_RESULT, 2, 1, 2);
	m.success = true;
	m.matchIndex = 2;
	m.lastLogIndex = 2;
	CHECK(cl_step(c, 1, &m) == RAFT_OK);
	CHECK(cl_status(c, 1).commitIndex == 0);
	CHECK(c->node[1].applied == 0);

	/* node 2 holds the no-op of term 2: now 1..3 commit together */
	m.matchIndex = 3;
	m.lastLogIndex = 3;
	CHECK(cl_step(c, 1, &m) == RAFT_OK);
	CHECK(cl_status(c, 1).commitIndex == 3);
	CHECK(c->node[1].applied == 3);
	CHECK(c->violations == 0);
	cl_free(c);
}

/* A network that loses, duplicates and reorders. */
static void
deliver_chaotically(cluster *c, uint64_t *rng)
{
	unsigned long guard = 0;

	while (c->qn > 0 && ++guard < 100000)
	{
		size_t		k = (size_t) (cl_rand(rng) % c->qn);
		unsigned	dice = (unsigned) (cl_rand(rng) % 100);

		if (dice < 10)
		{
			cl_msg		lost = cl_take(c, k);

			cl_msg_free(&lost);
			continue;
		}
		if (dice < 25)
			cl_duplicate(c, k);
		cl_deliver_at(c, k);
	}
}

/*
 * All servers: apply committed entries in log order, each exactly once —
 * through lost, duplicated and reordered messages and a crash.  The host
 * loop checks every batch (order, exactly once, same entry everywhere);
 * here the final state machines are also compared directly.
 */
static void
test_rule_committed_entries_handed_out_once_in_order(void)
{
	cluster    *c = cl_new(3);
	uint64_t	rng = 42;
	unsigned	round;
	unsigned	proposed = 0;
	raft_node_id leader;
	raft_index	commit;
	size_t		i,
				j;
	char		buf[16];

	cl_start_all(c);
	for (round = 0; round < 400; round++)
	{
		for (i = 1; i <= c->n; i++)
			cl_tick(c, (raft_node_id) i);
		leader = cl_leader(c);
		if (round % 3 == 0 && leader != RAFT_NONE)
		{
			snprintf(buf, sizeof(buf), "p%u", proposed);
			if (cl_propose(c, leader, buf, NULL) == RAFT_OK)
				proposed++;
		}
		if (round == 150)
			cl_crash(c, 3);
		if (round == 200)
			CHECK(cl_start(c, 3) == RAFT_OK);
		deliver_chaotically(c, &rng);
	}

	/* a calm network: everyone catches up */
	cl_run(c, 10 * CL_ELECTION_MAX);
	leader = cl_leader(c);
	REQUIRE(leader != RAFT_NONE);
	commit = cl_status(c, leader).commitIndex;
	CHECK(proposed > 50);
	CHECK(commit > 50);
	for (i = 1; i <= c->n; i++)
	{
		cl_node    *nd = &c->node[i];

		CHECK(nd->applied == commit);
		CHECK(nd->sm.n == commit);
		for (j = 0; j < nd->sm.n; j++)
		{
			CHECK(nd->sm.e[j].index == j + 1);
			CHECK(cl_same_entry(&nd->sm.e[j], &c->node[1].sm.e[j]));
		}
	}
	CHECK(c->violations == 0);
	cl_free(c);
}

/*
 * A follower hands out for apply only entries the host has confirmed
 * durable (raft_advance of the batch that carried them, i.e. stableIndex):
 * entries arriving together with a commit index covering them are first
 * persisted, then applied in a later batch.
 */
static void
test_rule_follower_applies_only_confirmed_durable_entries(void)
{
	raft_term	terms[] = {1, 1, 1};
	raft_entry	ents[3];
	cluster    *c = solo_node(NULL, 0, 0);
	raft_node  *n = c->node[1].raft;
	raft_message m;
	raft_index	applied = 0;
	unsigned	early = 0,
				batches = 0;

	make_entries(ents, 1, terms, 3);
	m = msg_append(2, 1, 1, 0, 0, 3, ents, 3);
	CHECK(raft_step(n, &m) == RAFT_OK);
	while (raft_has_ready(n) && ++batches < 100)
	{
		raft_ready	rd;
		raft_status st;
		size_t		i;

		raft_get_status(n, &st);
		REQUIRE(raft_ready_get(n, &rd) == RAFT_OK);
		for (i = 0; i < rd.nCommittedEntries; i++)
		{
			if (rd.committedEntries[i].index > st.stableIndex)
				early++;
			applied = rd.committedEntries[i].index;
		}
		cl_host_batch(c, 1, &rd);
		CHECK(raft_advance(n, &rd) == RAFT_OK);
	}
	if (early > 0)
		fprintf(stderr, "  %u entries handed out for apply before raft_advance "
				"confirmed them durable\n", early);
	CHECK(early == 0);
	CHECK(batches < 100);		/* the node settles */
	CHECK(applied == 3);
	CHECK(cl_status(c, 1).commitIndex == 3);
	CHECK(c->violations == 0);
	cl_free(c);
}

/* ---------------------------------------------------------------------
 * The host interface's own rules
 * --------------------------------------------------------------------- */

/* Only the leader takes proposals; followers and candidates say RAFT_ENOTLEADER. */
static void
test_rule_propose_on_non_leader_returns_enotleader(void)
{
	cluster    *c = cl_new(3);
	cluster    *lone = solo_node(NULL, 0, 0);
	raft_index	before;

	cl_start_all(c);
	REQUIRE(cl_elect(c, 1));
	before = cl_status(c, 2).lastLogIndex;
	CHECK(cl_propose(c, 2, "x", NULL) == RAFT_ENOTLEADER);
	CHECK(cl_status(c, 2).lastLogIndex == before);
	CHECK(cl_propose(c, 1, "x", NULL) == RAFT_OK);

	CHECK(cl_campaign(lone, 1) == RAFT_OK);
	REQUIRE(cl_status(lone, 1).role == RAFT_CANDIDATE);
	CHECK(cl_propose(lone, 1, "x", NULL) == RAFT_ENOTLEADER);
	CHECK(cl_status(lone, 1).lastLogIndex == 0);
	CHECK(c->violations == 0 && lone->violations == 0);
	cl_free(c);
	cl_free(lone);
}

/* Between raft_ready_get and raft_advance every call that changes the node is RAFT_EBUSY. */
static void
test_rule_calls_between_ready_and_advance_return_ebusy(void)
{
	cluster    *c = cl_new(3);
	raft_node  *n;
	raft_ready	rd,
				rd2;
	raft_message m;
	raft_term	term;

	cl_start_all(c);
	REQUIRE(cl_elect(c, 1));
	n = c->node[1].raft;
	term = cl_status(c, 1).currentTerm;
	CHECK(raft_propose(n, "x", 1, NULL, NULL) == RAFT_OK);
	REQUIRE(raft_has_ready(n));
	REQUIRE(raft_ready_get(n, &rd) == RAFT_OK);

	m = msg_simple(RAFT_MSG_APPEND_ENTRIES_RESULT, 2, 1, term);
	m.success = true;
	m.matchIndex = 1;
	CHECK(raft_tick(n) == RAFT_EBUSY);
	CHECK(raft_step(n, &m) == RAFT_EBUSY);
	CHECK(raft_propose(n, "y", 1, NULL, NULL) == RAFT_EBUSY);
	CHECK(raft_read_index(n, 1) == RAFT_EBUSY);
	CHECK(raft_transfer_leadership(n, 2) == RAFT_EBUSY);
	CHECK(raft_campaign(n) == RAFT_EBUSY);
	CHECK(raft_leader_unreachable(n, 2) == RAFT_EBUSY);
	CHECK(raft_ready_get(n, &rd2) == RAFT_EBUSY);

	cl_host_batch(c, 1, &rd);
	CHECK(raft_advance(n, &rd) == RAFT_OK);
	CHECK(raft_tick(n) == RAFT_OK);
	CHECK(raft_propose(n, "y", 1, NULL, NULL) == RAFT_OK);
	cl_process(c, 1);
	cl_deliver_all(c);
	CHECK(cl_applied_data(c, 2, "y"));
	CHECK(c->violations == 0);
	cl_free(c);
}

static int
create_rc(const raft_config *cfg, const raft_hard_state *hs,
		  const raft_entry *entries, size_t n, raft_index lastApplied)
{
	raft_node  *node = NULL;
	int			rc = raft_node_create(cfg, hs, entries, n, lastApplied, &node);

	if (rc == RAFT_OK)
		raft_node_destroy(node);
	else if (node != NULL)
	{
		fprintf(stderr, "  raft_node_create failed but set *out\n");
		rc = 1;
	}
	return rc;
}

/* A configuration (or durable state) that cannot work is refused with RAFT_EINVAL. */
static void
test_rule_invalid_config_returns_einval(void)
{
	static const raft_node_id three[] = {1, 2, 3};
	static const raft_node_id dup[] = {1, 2, 2};
	static const raft_node_id withNone[] = {1, 0, 3};
	raft_config good,
				cfg;
	raft_hard_state hs = {2, RAFT_NONE};
	raft_entry	e;
	raft_node  *node = NULL;

	memset(&good, 0, sizeof(good));
	good.id = 1;
	good.voters = three;
	good.nVoters = 3;
	good.electionTickMin = 10;
	good.electionTickMax = 20;
	good.heartbeatTick = 2;
	memset(&e, 0, sizeof(e));
	e.index = 1;
	e.term = 1;

	CHECK(create_rc(&good, NULL, NULL, 0, 0) == RAFT_OK);
	CHECK(create_rc(&good, &hs, &e, 1, 1) == RAFT_OK);

	CHECK(create_rc(NULL, NULL, NULL, 0, 0) == RAFT_EINVAL);
	CHECK(raft_node_create(&good, NULL, NULL, 0, 0, NULL) == RAFT_EINVAL);

	cfg = good;
	cfg.id = 4;					/* not among the voters */
	CHECK(create_rc(&cfg, NULL, NULL, 0, 0) == RAFT_EINVAL);
	cfg = good;
	cfg.id = RAFT_NONE;
	CHECK(create_rc(&cfg, NULL, NULL, 0, 0) == RAFT_EINVAL);
	cfg = good;
	cfg.voters = dup;
	CHECK(create_rc(&cfg, NULL, NULL, 0, 0) == RAFT_EINVAL);
	cfg = good;
	cfg.voters = withNone;
	CHECK(create_rc(&cfg, NULL, NULL, 0, 0) == RAFT_EINVAL);
	cfg = good;
	cfg.nVoters = 0;
	CHECK(create_rc(&cfg, NULL, NULL, 0, 0) == RAFT_EINVAL);
	cfg = good;
	cfg.voters = NULL;
	CHECK(create_rc(&cfg, NULL, NULL, 0, 0) == RAFT_EINVAL);
	cfg = good;
	cfg.electionTickMax = cfg.electionTickMin;
	CHECK(create_rc(&cfg, NULL, NULL, 0, 0) == RAFT_EINVAL);
	cfg = good;
	cfg.electionTickMin = 30;
	CHECK(create_rc(&cfg, NULL, NULL, 0, 0) == RAFT_EINVAL);
	cfg = good;
	cfg.heartbeatTick = cfg.electionTickMin;
	CHECK(create_rc(&cfg, NULL, NULL, 0, 0) == RAFT_EINVAL);
	cfg = good;
	cfg.heartbeatTick = 15;
	CHECK(create_rc(&cfg, NULL, NULL, 0, 0) == RAFT_EINVAL);

	/* durable state that cannot be: a log not starting at 1, applied past the log */
	e.index = 2;
	CHECK(create_rc(&good, &hs, &e, 1, 0) == RAFT_EINVAL);
	e.index = 1;
	CHECK(create_rc(&good, &hs, NULL, 1, 0) == RAFT_EINVAL);
	CHECK(create_rc(&good, &hs, &e, 1, 2) == RAFT_EINVAL);
	CHECK(node == NULL);
}

/* ---------------------------------------------------------------------
 * Allocation failure
 * --------------------------------------------------------------------- */

/*
 * An allocator that fails once its budget is spent (every later request,
 * or with oneShot only that one), and counts live blocks.
 */
typedef struct fail_alloc
{
	long		budget;			/* allocations that still succeed; < 0: unlimited */
	bool		oneShot;		/* fail only the request that finds the budget at 0 */
	long		live;
	long		failures;
} fail_alloc;

static bool
fa_should_fail(fail_alloc *fa)
{
	if (fa->budget == 0)
	{
		fa->failures++;
		if (fa->oneShot)
			fa->budget = -1;
		return true;
	}
	if (fa->budget > 0)
		fa->budget--;
	return false;
}

static void *
fa_malloc(void *ctx, size_t size)
{
	fail_alloc *fa = ctx;
	void	   *p;

	if (fa_should_fail(fa))
		return NULL;
	p = malloc(size);
	if (p != NULL)
		fa->live++;
	return p;
}

static void *
fa_realloc(void *ctx, void *ptr, size_t size)
{
	fail_alloc *fa = ctx;
	void	   *p;

	if (fa_should_fail(fa))
		return NULL;
	p = realloc(ptr, size);
	if (p != NULL && ptr == NULL)
		fa->live++;
	return p;
}

static void
fa_free(void *ctx, void *ptr)
{
	fail_alloc *fa = ctx;

	if (ptr == NULL)
		return;
	fa->live--;
	free(ptr);
}

typedef struct enomem_result
{
	bool		injected;		/* the budget ran out during the run */
	bool		ok;
	unsigned	noMem;			/* RAFT_ENOMEM answers seen */
} enomem_result;

/* Diagnostics are printed only when re-running the first failing budget. */
static bool enomem_verbose = false;

static bool
ok_or_nomem_at(int rc, unsigned *noMem, const char *what, int line)
{
	if (rc == RAFT_ENOMEM)
		(*noMem)++;
	if (rc == RAFT_OK || rc == RAFT_ENOMEM)
		return true;
	if (enomem_verbose)
		fprintf(stderr, "  line %d: %s returned %s\n", line, what, raft_strerror(rc));
	return false;
}

#define ok_or_nomem(call, noMem) ok_or_nomem_at((call), (noMem), #call, __LINE__)

/* A proposal may also meet RAFT_EBUSY, but only while a transfer is under way. */
static bool
propose_ok_or_nomem(cluster *c, raft_node_id leader, const char *data, unsigned *noMem)
{
	int			rc = cl_propose(c, leader, data, NULL);

	if (rc == RAFT_EBUSY && cl_status(c, leader).transferTarget != RAFT_NONE)
		return true;
	return ok_or_nomem_at(rc, noMem, "raft_propose", __LINE__);
}

/* Tick until a leader exists that is not handing over; RAFT_NONE if none comes. */
static raft_node_id
wait_for_settled_leader(cluster *c, unsigned maxTicks)
{
	unsigned	t;

	cl_deliver_all(c);
	for (t = 0; t < maxTicks; t++)
	{
		raft_node_id leader = cl_leader(c);

		if (leader != RAFT_NONE && cl_status(c, leader).transferTarget == RAFT_NONE)
			return leader;
		cl_tick_all(c);
	}
	return RAFT_NONE;
}

/*
 * The part of the scenario run while allocations may fail: create, elect,
 * propose enough to grow every array, heartbeats, reads on the leader and
 * a follower, a leadership transfer, more proposals.  Every call must
 * answer RAFT_OK or RAFT_ENOMEM.
 */
static bool
enomem_armed_part(cluster *c, unsigned *noMem)
{
	bool		ok = true;
	raft_node_id leader;
	size_t		i;
	int			k;

	for (i = 1; i <= c->n; i++)
		ok &= ok_or_nomem(cl_start(c, (raft_node_id) i), noMem);
	if (c->node[1].raft != NULL)
		ok &= ok_or_nomem(cl_campaign(c, 1), noMem);
	cl_deliver_all(c);
	for (k = 0; k < 12; k++)
	{
		leader = cl_leader(c);
		if (leader != RAFT_NONE)
			ok &= propose_ok_or_nomem(c, leader, "before", noMem);
	}
	cl_deliver_all(c);
	leader = cl_leader(c);
	if (leader != RAFT_NONE)
	{
		raft_node_id other = leader == 2 ? 3 : 2;

		ok &= ok_or_nomem(raft_read_index(c->node[leader].raft, 1), noMem);
		cl_process(c, leader);
		if (c->node[other].raft != NULL &&
			cl_status(c, other).leader != RAFT_NONE)
		{
			ok &= ok_or_nomem(raft_read_index(c->node[other].raft, 2), noMem);
			cl_process(c, other);
		}
		cl_deliver_all(c);
		if (c->node[other].raft != NULL)
		{
			ok &= ok_or_nomem(raft_transfer_leadership(c->node[leader].raft, other), noMem);
			cl_process(c, leader);
		}
	}
	for (k = 0; k < 2 * CL_HEARTBEAT; k++)
		cl_tick_all(c);
	leader = cl_leader(c);
	for (k = 0; k < 12 && leader != RAFT_NONE; k++)
		ok &= propose_ok_or_nomem(c, leader, "middle", noMem);
	cl_deliver_all(c);
	return ok;
}

/* Say why a run failed (only when re-running the first failing budget). */
static void
enomem_note(long budget, bool oneShot, const char *what)
{
	if (enomem_verbose)
		fprintf(stderr, "  budget %ld%s: %s\n", budget, oneShot ? " (one shot)" : "", what);
}

/*
 * One run with the allocator failing after budget allocations; then
 * memory comes back and the same nodes must elect a leader and commit.
 * Nothing may leak.
 */
static enomem_result
enomem_run(long budget, bool oneShot)
{
	fail_alloc	fa = {budget, oneShot, 0, 0};
	raft_allocator alloc = {fa_malloc, fa_realloc, fa_free, &fa};
	enomem_result res = {false, true, 0};
	cluster    *c = cl_new(3);
	raft_node_id leader;
	size_t		i;

	for (i = 1; i <= c->n; i++)
		c->node[i].cfg.allocator = &alloc;
	c->allowNoMem = true;

	if (!enomem_armed_part(c, &res.noMem))
	{
		enomem_note(budget, oneShot, "a call failed with something other than RAFT_ENOMEM");
		res.ok = false;
	}

	/* memory is back: the same nodes carry on */
	res.injected = fa.failures > 0;
	fa.budget = -1;
	for (i = 1; i <= c->n; i++)
	{
		if (c->node[i].raft == NULL && cl_start(c, (raft_node_id) i) != RAFT_OK)
		{
			enomem_note(budget, oneShot, "a node cannot be created once memory is back");
			res.ok = false;
		}
	}
	leader = wait_for_settled_leader(c, 20 * CL_ELECTION_MAX);
	if (leader == RAFT_NONE || cl_propose(c, leader, "after", NULL) != RAFT_OK)
	{
		enomem_note(budget, oneShot, "no working leader once memory is back");
		res.ok = false;
	}
	cl_run(c, 4 * CL_HEARTBEAT);
	for (i = 1; i <= c->n; i++)
	{
		if (!cl_applied_data(c, (raft_node_id) i, "after"))
		{
			enomem_note(budget, oneShot, "a node did not apply an entry proposed after memory came back");
			res.ok = false;
		}
	}
	if (c->violations != 0)
	{
		enomem_note(budget, oneShot, "the cluster saw violations");
		res.ok = false;
	}
	res.noMem += c->noMem;
	cl_free(c);
	if (fa.live != 0)
	{
		enomem_note(budget, oneShot, "blocks leaked");
		res.ok = false;
	}
	return res;
}

/* Sweep N = 0, 1, 2, ... until the scenario no longer reaches allocation N. */
static void
enomem_sweep(bool oneShot)
{
	long		budget;
	long		firstBad = -1;
	unsigned	runs = 0,
				noMem = 0;

	for (budget = 0; budget < 20000; budget++)
	{
		enomem_result res = enomem_run(budget, oneShot);

		runs++;
		noMem += res.noMem;
		if (!res.ok && firstBad < 0)
			firstBad = budget;
		if (!res.injected)
			break;
	}
	if (firstBad >= 0)
	{
		fprintf(stderr, "  first failing budget%s: %ld (of %u runs)\n",
				oneShot ? " (one shot)" : "", firstBad, runs);
		enomem_verbose = true;
		(void) enomem_run(firstBad, oneShot);
		enomem_verbose = false;
	}
	CHECK(firstBad < 0);
	CHECK(runs > 50);			/* the scenario allocates; failures were injected */
	CHECK(noMem > 0);
	CHECK(budget < 20000);		/* and it ended: some budget was enough */
}

/*
 * Every allocation failure is RAFT_ENOMEM, never a crash or a leak, and
 * the node works again once allocation succeeds.  First the allocator
 * fails every request from the N-th on, then only the N-th, for N = 0, 1,
 * 2, ...  (Leaks are also caught by ASan in build-san.)
 */
static void
test_rule_allocation_failure_returns_enomem_and_recovers(void)
{
	enomem_sweep(false);
	enomem_sweep(true);
}

/* ---------------------------------------------------------------------
 * Flow control
 * --------------------------------------------------------------------- */
typedef struct flow_watch
{
	raft_index	last[4096];		/* last index of each unacknowledged AppendEntries to node 2 */
	size_t		n;
	size_t		maxOutstanding;
} flow_watch;

static void
flow_on_send(cluster *c, const raft_message *m, void *arg)
{
	flow_watch *w = arg;

	(void) c;
	if (m->type == RAFT_MSG_APPEND_ENTRIES && m->from == 1 && m->to == 2 &&
		m->nEntries > 0 && w->n < 4096)
	{
		w->last[w->n++] = m->prevLogIndex + m->nEntries;
		if (w->n > w->maxOutstanding)
			w->maxOutstanding = w->n;
	}
}

/* An acknowledgement of index i, reaching the leader, settles every message ending at or before i. */
static bool
flow_filter(cluster *c, cl_msg *msg, void *arg)
{
	flow_watch *w = arg;
	size_t		i,
				kept = 0;

	(void) c;
	if (msg->m.type == RAFT_MSG_APPEND_ENTRIES_RESULT && msg->m.from == 2 &&
		msg->m.to == 1 && msg->m.success)
	{
		for (i = 0; i < w->n; i++)
			if (w->last[i] > msg->m.matchIndex)
				w->last[kept++] = w->last[i];
		w->n = kept;
	}
	return true;
}

/*
 * With maxInflight = 2, a leader replicating to a follower has at most two
 * entry-bearing AppendEntries unacknowledged; the rest waits for acks.
 */
static void
test_rule_flow_control_max_inflight(void)
{
	cluster    *c = cl_new(3);
	flow_watch *w = calloc(1, sizeof(flow_watch));
	raft_progress pr;
	size_t		i;
	int			k;

	for (i = 1; i <= c->n; i++)
		c->node[i].cfg.maxInflight = 2;
	cl_start_all(c);
	REQUIRE(cl_elect(c, 1));
	cl_run(c, CL_HEARTBEAT);
	REQUIRE(raft_get_progress(c->node[1].raft, 1, &pr));
	CHECK(pr.id == 2 && pr.state == RAFT_PROGRESS_REPLICATE);

	c->onSend = flow_on_send;
	c->onSendArg = w;
	c->filter = flow_filter;
	c->filterArg = w;
	for (k = 0; k < 10; k++)
		CHECK(cl_propose(c, 1, "f", NULL) == RAFT_OK);
	CHECK(w->n >= 1);
	CHECK(w->n <= 2);
	CHECK(raft_get_progress(c->node[1].raft, 1, &pr) && pr.inflight <= 2);

	cl_deliver_all(c);
	CHECK(w->maxOutstanding <= 2);
	CHECK(w->maxOutstanding >= 1);
	CHECK(cl_status(c, 2).lastLogIndex == 11);
	CHECK(cl_status(c, 1).commitIndex == 11);
	CHECK(c->violations == 0);
	cl_free(c);
	free(w);
}

typedef struct bytes_watch
{
	size_t		cap;
	unsigned	overCap;
	unsigned	maxEntries;
	bool		bigAlone;
} bytes_watch;

static void
bytes_on_send(cluster *c, const raft_message *m, void *arg)
{
	bytes_watch *w = arg;

	(void) c;
	if (m->type != RAFT_MSG_APPEND_ENTRIES || m->nEntries == 0)
		return;
	if (m->nEntries > 1 && cl_msg_payload(m) > w->cap)
		w->overCap++;
	if (m->nEntries > w->maxEntries)
		w->maxEntries = m->nEntries;
	if (m->nEntries == 1 && m->entries[0].len > w->cap)
		w->bigAlone = true;
}

/*
 * maxMsgBytes caps the entry payload of one AppendEntries; only a single
 * entry larger than the cap may exceed it (alone).
 */
static void
test_rule_append_entries_payload_within_max_msg_bytes(void)
{
	cluster    *c = cl_new(3);
	bytes_watch w = {1000, 0, 0, false};
	char	   *big = malloc(5001);
	char		small[301];
	size_t		i;
	int			k;

	memset(big, 'B', 5000);
	big[5000] = '\0';
	memset(small, 's', 300);
	small[300] = '\0';
	for (i = 1; i <= c->n; i++)
		c->node[i].cfg.maxMsgBytes = w.cap;
	cl_start_all(c);
	REQUIRE(cl_elect(c, 1));
	c->onSend = bytes_on_send;
	c->onSendArg = &w;

	/* node 3 misses everything, so it catches up in batches later */
	cl_cut_link(c, 1, 3, true);
	for (k = 0; k < 20; k++)
		CHECK(cl_propose(c, 1, small, NULL) == RAFT_OK);
	CHECK(cl_propose(c, 1, big, NULL) == RAFT_OK);
	for (k = 0; k < 10; k++)
		CHECK(cl_propose(c, 1, small, NULL) == RAFT_OK);
	cl_deliver_all(c);
	cl_heal(c);
	cl_run(c, 2 * CL_ELECTION_MAX);

	CHECK(cl_same_log(c, 1, 3));
	CHECK(cl_applied_data(c, 3, big));
	CHECK(w.overCap == 0);
	CHECK(w.maxEntries >= 2);	/* batching did happen: three 300-byte entries fit */
	CHECK(w.maxEntries <= 3);
	CHECK(w.bigAlone);
	CHECK(c->violations == 0);
	cl_free(c);
	free(big);
}

/* ---------------------------------------------------------------------
 * Extensions: pre-vote, check-quorum's lease
 * --------------------------------------------------------------------- */

/*
 * Pre-vote asks about term + 1 without entering it: neither the receiver
 * nor the asker changes its term, and no vote is recorded.
 */
static void
test_rule_pre_vote_changes_no_term(void)
{
	cluster    *c = cl_new(3);
	raft_message m;
	const raft_message *r;
	unsigned	t;

	c->node[1].cfg.preVote = true;
	c->node[1].hs.currentTerm = 3;
	REQUIRE(cl_start(c, 1) == RAFT_OK);

	m = msg_vote(2, 1, 4, 0, 0);
	m.type = RAFT_MSG_PRE_VOTE;
	r = ask(c, &m, RAFT_MSG_PRE_VOTE_RESULT);
	REQUIRE(r != NULL);
	CHECK(r->voteGranted);
	CHECK(cl_status(c, 1).currentTerm == 3);
	CHECK(cl_status(c, 1).votedFor == RAFT_NONE);
	CHECK(c->node[1].hs.currentTerm == 3);

	/* the asking side: timing out makes a pre-candidate at the same term */
	cl_drop_all(c);
	for (t = 0; t < CL_ELECTION_MAX && cl_status(c, 1).role == RAFT_FOLLOWER; t++)
		cl_tick(c, 1);
	CHECK(cl_status(c, 1).role == RAFT_PRE_CANDIDATE);
	CHECK(cl_status(c, 1).currentTerm == 3);
	r = cl_find_msg(c, 1, 2, RAFT_MSG_PRE_VOTE);
	REQUIRE(r != NULL);
	CHECK(r->term == 4);
	CHECK(cl_propose(c, 1, "x", NULL) == RAFT_ENOTLEADER);
	CHECK(c->violations == 0);
	cl_free(c);
}

/*
 * Check-quorum's lease: a follower that hears from a live leader ignores a
 * RequestVote of a later term (a disruptive, partitioned node), unless
 * the leader itself is handing over (leadershipTransfer).
 */
static void
test_rule_lease_ignores_vote_while_leader_is_live(void)
{
	cluster    *c = cl_new(3);
	raft_message m;
	raft_term	term;

	cl_set_options(c, false, true);
	cl_start_all(c);
	REQUIRE(cl_elect(c, 1));
	cl_run(c, CL_HEARTBEAT);
	term = cl_status(c, 3).currentTerm;

	m = msg_vote(2, 3, term + 1, 100, term);
	cl_drop_all(c);
	CHECK(cl_step(c, 3, &m) == RAFT_OK);
	CHECK(cl_status(c, 3).currentTerm == term);
	CHECK(cl_status(c, 3).leader == 1);
	CHECK(cl_count_msgs(c, 3, 2, RAFT_MSG_REQUEST_VOTE_RESULT) == 0);

	m.leadershipTransfer = true;
	CHECK(cl_step(c, 3, &m) == RAFT_OK);
	CHECK(cl_status(c, 3).currentTerm == term + 1);
	CHECK(cl_status(c, 3).votedFor == 2);
	REQUIRE(cl_find_msg(c, 3, 2, RAFT_MSG_REQUEST_VOTE_RESULT) != NULL);
	CHECK(cl_find_msg(c, 3, 2, RAFT_MSG_REQUEST_VOTE_RESULT)->voteGranted);
	CHECK(c->violations == 0);
	cl_free(c);
}

/* ---------------------------------------------------------------------
 * Host hint: raft_leader_unreachable (the leader's connection was reset)
 * --------------------------------------------------------------------- */

/* A pre-vote from 2 to 3 for term + 1 with 3's own last entry: up to date. */
static raft_message
pre_vote_to_3(cluster *c, raft_term term)
{
	raft_status st = cl_status(c, 3);
	raft_message m = msg_vote(2, 3, term + 1, st.lastLogIndex, st.lastLogTerm);

	m.type = RAFT_MSG_PRE_VOTE;
	return m;
}

/* Does node id still see itself as it did (before), all that a no-op hint may not change? */
static bool
same_view(cluster *c, raft_node_id id, const raft_status *before)
{
	raft_status st = cl_status(c, id);

	return st.role == before->role && st.currentTerm == before->currentTerm &&
		st.votedFor == before->votedFor && st.leader == before->leader &&
		st.lastLogIndex == before->lastLogIndex && st.commitIndex == before->commitIndex;
}

/*
 * The hint only means something to a follower about its own leader: on the
 * leader, a candidate, a follower told about another node, about itself or
 * about nobody, it changes nothing — not the leader it follows, not its
 * lease, not its election timer.
 */
static void
test_rule_leader_unreachable_is_noop_unless_about_own_leader(void)
{
	cluster    *c = cl_new(3);
	raft_status before;
	raft_message m;
	raft_term	term;
	unsigned	t;

	cl_set_options(c, true, true);
	cl_start_all(c);
	REQUIRE(cl_elect(c, 1));
	cl_run(c, CL_HEARTBEAT);
	term = cl_status(c, 1).currentTerm;

	CHECK(raft_leader_unreachable(NULL, 1) == RAFT_EINVAL);

	/* the leader, told about itself or a follower */
	before = cl_status(c, 1);
	CHECK(cl_leader_unreachable(c, 1, 1) == RAFT_OK);
	CHECK(cl_leader_unreachable(c, 1, 2) == RAFT_OK);
	CHECK(same_view(c, 1, &before));
	CHECK(cl_is_leader(c, 1));

	/* a follower of 1, told about 2, about itself, about nobody, about a stranger */
	cl_drop_all(c);
	before = cl_status(c, 3);
	REQUIRE(before.role == RAFT_FOLLOWER && before.leader == 1);
	CHECK(cl_leader_unreachable(c, 3, 2) == RAFT_OK);
	CHECK(cl_leader_unreachable(c, 3, 3) == RAFT_OK);
	CHECK(cl_leader_unreachable(c, 3, RAFT_NONE) == RAFT_OK);
	CHECK(cl_leader_unreachable(c, 3, 99) == RAFT_OK);
	CHECK(same_view(c, 3, &before));
	CHECK(c->qn == 0);

	/* ... so its lease still holds: a pre-vote for term + 1 is ignored */
	m = pre_vote_to_3(c, term);
	CHECK(cl_step(c, 3, &m) == RAFT_OK);
	CHECK(cl_count_msgs(c, 3, 2, RAFT_MSG_PRE_VOTE_RESULT) == 0);

	/* ... and its timer was not brought forward: no poll within electionTickMin - heartbeat */
	cl_isolate(c, 3, true);
	for (t = 0; t < CL_ELECTION_MIN - CL_HEARTBEAT; t++)
		cl_tick(c, 3);
	CHECK(cl_status(c, 3).role == RAFT_FOLLOWER);
	CHECK(cl_status(c, 3).leader == 1);

	/* a candidate (it follows nobody) stays a candidate, same term, same vote */
	CHECK(cl_campaign(c, 2) == RAFT_OK);
	before = cl_status(c, 2);
	REQUIRE(before.role == RAFT_CANDIDATE);
	CHECK(cl_leader_unreachable(c, 2, 1) == RAFT_OK);
	CHECK(cl_leader_unreachable(c, 2, 2) == RAFT_OK);
	CHECK(same_view(c, 2, &before));
	CHECK(c->violations == 0);
	cl_free(c);
}

/*
 * On a follower of L, the hint forgets L and nothing else (no term, no
 * vote, no log change, nothing to persist or send), and makes the node
 * poll after a fresh random 1 .. CL_HINT_SPAN ticks: not at once, well
 * before electionTickMin, and not at the same tick every time.
 */
static void
test_rule_leader_unreachable_forgets_leader_and_campaigns_soon(void)
{
	unsigned	trial;
	unsigned	delaysSeen = 0;
	unsigned	distinct = 0;
	unsigned	d;

	for (trial = 0; trial < 20; trial++)
	{
		cluster    *c = cl_new(3);
		raft_status before,
					after;
		raft_hard_state hs;
		unsigned	t;

		cl_set_options(c, true, true);
		c->node[2].cfg.seed = 5000 + trial;
		cl_start_all(c);
		REQUIRE(cl_elect(c, 1));
		cl_run(c, CL_HEARTBEAT);
		before = cl_status(c, 2);
		REQUIRE(before.role == RAFT_FOLLOWER && before.leader == 1);
		hs = c->node[2].hs;
		cl_drop_all(c);

		CHECK(cl_leader_unreachable(c, 2, 1) == RAFT_OK);
		after = cl_status(c, 2);
		CHECK(after.role == RAFT_FOLLOWER);
		CHECK(after.leader == RAFT_NONE);
		CHECK(raft_leader(c->node[2].raft) == RAFT_NONE);
		CHECK(after.currentTerm == before.currentTerm);
		CHECK(after.votedFor == before.votedFor);
		CHECK(after.lastLogIndex == before.lastLogIndex);
		CHECK(after.lastLogTerm == before.lastLogTerm);
		CHECK(after.commitIndex == before.commitIndex);
		CHECK(c->node[2].hs.currentTerm == hs.currentTerm && c->node[2].hs.votedFor == hs.votedFor);
		CHECK(c->qn == 0);		/* it sends nothing itself */

		/* alone, only its own clock: it polls within the span, never at 0 ticks */
		cl_isolate(c, 2, true);
		for (t = 0; t < CL_ELECTION_MAX && cl_status(c, 2).role == RAFT_FOLLOWER; t++)
			cl_tick(c, 2);
		CHECK(t >= 1);
		CHECK(t <= CL_HINT_SPAN);
		CHECK(cl_status(c, 2).role == RAFT_PRE_CANDIDATE);
		CHECK(cl_status(c, 2).currentTerm == before.currentTerm);
		REQUIRE(cl_find_msg(c, 2, 3, RAFT_MSG_PRE_VOTE) != NULL);
		CHECK(cl_find_msg(c, 2, 3, RAFT_MSG_PRE_VOTE)->term == before.currentTerm + 1);
		if (t < 32)
			delaysSeen |= 1u << t;
		CHECK(c->violations == 0);
		cl_free(c);
	}
	for (d = 0; d < 32; d++)
		if (delaysSeen & (1u << d))
			distinct++;
	/* random inside its window (node 2 of {2, 3}: the first half of the span) */
	CHECK(distinct >= 2);
}

/*
 * Node 2 of a fresh cluster (seed) with 1 elected, right after a
 * heartbeat, cut off from everyone.
 */
static cluster *
isolated_follower(uint64_t seed)
{
	cluster    *c = cl_new(3);

	cl_set_options(c, true, true);
	c->node[2].cfg.seed = seed;
	cl_start_all(c);
	if (!cl_elect(c, 1))
	{
		fprintf(stderr, "isolated_follower: node 1 not elected\n");
		abort();
	}
	cl_run(c, CL_HEARTBEAT);
	cl_drop_all(c);
	cl_isolate(c, 2, true);
	return c;
}

/*
 * The hint never postpones an election: a follower whose timer fires at
 * the next tick anyway still polls at the next tick.  The twin runs are
 * identical (same seeds, same calls) up to the hint.
 */
static void
test_rule_leader_unreachable_never_delays_election(void)
{
	unsigned	trial;

	for (trial = 0; trial < 10; trial++)
	{
		cluster    *c = isolated_follower(7000 + trial);
		unsigned	full,
					t;

		for (full = 0; full < 2 * CL_ELECTION_MAX && cl_status(c, 2).role == RAFT_FOLLOWER; full++)
			cl_tick(c, 2);
		REQUIRE(cl_status(c, 2).role == RAFT_PRE_CANDIDATE);
		REQUIRE(full >= CL_ELECTION_MIN - CL_HEARTBEAT);
		cl_free(c);

		c = isolated_follower(7000 + trial);
		for (t = 0; t + 1 < full; t++)
			cl_tick(c, 2);
		REQUIRE(cl_status(c, 2).role == RAFT_FOLLOWER);
		CHECK(cl_leader_unreachable(c, 2, 1) == RAFT_OK);
		CHECK(cl_status(c, 2).leader == RAFT_NONE);
		cl_tick(c, 2);
		CHECK(cl_status(c, 2).role == RAFT_PRE_CANDIDATE);
		CHECK(c->violations == 0);
		cl_free(c);
	}
}

/*
 * The hint ends check-quorum's lease: a follower that ignores a pre-vote
 * (and a vote) for term + 1 while it believes its leader is live grants
 * both once told the leader is gone, without waiting electionTickMin.
 */
static void
test_rule_leader_unreachable_lifts_the_lease(void)
{
	cluster    *c = cl_new(3);
	raft_message m;
	const raft_message *r;
	raft_term	term;

	cl_set_options(c, true, true);
	cl_start_all(c);
	REQUIRE(cl_elect(c, 1));
	cl_run(c, CL_HEARTBEAT);
	term = cl_status(c, 3).currentTerm;
	REQUIRE(cl_status(c, 3).leader == 1);

	m = pre_vote_to_3(c, term);
	cl_drop_all(c);
	CHECK(cl_step(c, 3, &m) == RAFT_OK);
	CHECK(cl_count_msgs(c, 3, 2, RAFT_MSG_PRE_VOTE_RESULT) == 0);	/* in the lease */

	CHECK(cl_leader_unreachable(c, 3, 1) == RAFT_OK);
	CHECK(cl_step(c, 3, &m) == RAFT_OK);
	r = cl_find_msg(c, 3, 2, RAFT_MSG_PRE_VOTE_RESULT);
	REQUIRE(r != NULL);
	CHECK(r->voteGranted);
	CHECK(r->term == term + 1);
	CHECK(cl_status(c, 3).currentTerm == term);	/* a pre-vote enters no term */

	/* the real election that follows is granted too */
	cl_drop_all(c);
	m.type = RAFT_MSG_REQUEST_VOTE;
	CHECK(cl_step(c, 3, &m) == RAFT_OK);
	r = cl_find_msg(c, 3, 2, RAFT_MSG_REQUEST_VOTE_RESULT);
	REQUIRE(r != NULL);
	CHECK(r->voteGranted);
	CHECK(cl_status(c, 3).currentTerm == term + 1);
	CHECK(cl_status(c, 3).votedFor == 2);
	CHECK(c->violations == 0);
	cl_free(c);
}

/* Index in the queue of the first message from -> to of type (REQUIRE'd). */
static size_t
queued_at(cluster *c, raft_node_id from, raft_node_id to, int type)
{
	size_t		i;

	for (i = 0; i < c->qn; i++)
		if (cl_msg_matches(&c->q[i].m, from, to, type))
			return i;
	return c->qn;
}

/* The AppendEntries node 1 has queued for `to`: how many, and what they say. */
static void
leader_appends_to(cluster *c, raft_node_id to, size_t *n, raft_index *maxCommit,
				  uint32_t *entries)
{
	size_t		i;

	*n = 0;
	*maxCommit = 0;
	*entries = 0;
	for (i = 0; i < c->qn; i++)
	{
		const raft_message *m = &c->q[i].m;

		if (!cl_msg_matches(m, 1, to, RAFT_MSG_APPEND_ENTRIES))
			continue;
		(*n)++;
		*entries += m->nEntries;
		if (m->leaderCommit > *maxCommit)
			*maxCommit = m->leaderCommit;
	}
}

/*
 * Leaders: a new commitIndex reaches every follower in the very batch that
 * advanced it (not a heartbeat later), and rides on that batch's
 * entry-bearing AppendEntries when there are any: no extra empty message.
 */
static void
test_rule_leader_tells_followers_new_commit_in_the_same_batch(void)
{
	cluster    *c = cl_new(3);
	raft_index	commit;
	size_t		n,
				k;
	raft_index	told;
	uint32_t	entries;
	raft_node_id f;

	cl_start_all(c);
	REQUIRE(cl_elect(c, 1));
	cl_run(c, CL_HEARTBEAT);
	cl_drop_all(c);

	/* nothing else to send: node 2's acknowledgement alone advances commit */
	REQUIRE(cl_propose(c, 1, "a", NULL) == RAFT_OK);
	for (f = 2; f <= 3; f++)
	{
		k = queued_at(c, 1, f, RAFT_MSG_APPEND_ENTRIES);
		REQUIRE(k < c->qn);
		CHECK(cl_deliver_at(c, k));
	}
	commit = cl_status(c, 1).commitIndex;
	k = queued_at(c, 2, 1, RAFT_MSG_APPEND_ENTRIES_RESULT);
	REQUIRE(k < c->qn);
	CHECK(cl_deliver_at(c, k));
	CHECK(cl_status(c, 1).commitIndex == commit + 1);
	commit = cl_status(c, 1).commitIndex;
	leader_appends_to(c, 2, &n, &told, &entries);
	CHECK(n == 1);
	CHECK(entries == 0);
	CHECK(told == commit);
	/* node 3 has not acknowledged the entry: it could not take the commit yet */
	leader_appends_to(c, 3, &n, &told, &entries);
	CHECK(n == 0);
	/* its acknowledgement, when it comes, is answered with the commit */
	k = queued_at(c, 3, 1, RAFT_MSG_APPEND_ENTRIES_RESULT);
	REQUIRE(k < c->qn);
	CHECK(cl_deliver_at(c, k));
	leader_appends_to(c, 3, &n, &told, &entries);
	CHECK(n == 1);
	CHECK(entries == 0);
	CHECK(told == commit);
	cl_deliver_all(c);
	CHECK(cl_status(c, 2).commitIndex == commit);
	CHECK(cl_status(c, 3).commitIndex == commit);
	cl_drop_all(c);

	/* a proposal in the same batch: its AppendEntries carry the commit */
	REQUIRE(cl_propose(c, 1, "b", NULL) == RAFT_OK);
	for (f = 2; f <= 3; f++)
	{
		k = queued_at(c, 1, f, RAFT_MSG_APPEND_ENTRIES);
		REQUIRE(k < c->qn);
		CHECK(cl_deliver_at(c, k));
	}
	k = queued_at(c, 2, 1, RAFT_MSG_APPEND_ENTRIES_RESULT);
	REQUIRE(k < c->qn);
	{
		cl_msg		ack = cl_take(c, k);

		CHECK(raft_step(c->node[1].raft, &ack.m) == RAFT_OK);
		cl_msg_free(&ack);
	}
	CHECK(raft_propose(c->node[1].raft, "c", 1, NULL, NULL) == RAFT_OK);
	cl_process(c, 1);
	CHECK(cl_status(c, 1).commitIndex == commit + 1);
	commit = cl_status(c, 1).commitIndex;
	for (f = 2; f <= 3; f++)
	{
		leader_appends_to(c, f, &n, &told, &entries);
		CHECK(n == 1);
		CHECK(entries == 1);
		CHECK(told == commit);
	}
	cl_deliver_all(c);
	cl_run(c, CL_HEARTBEAT);
	CHECK(cl_status(c, 2).commitIndex == cl_status(c, 1).commitIndex);
	CHECK(cl_status(c, 3).lastLogIndex == cl_status(c, 1).lastLogIndex);
	CHECK(c->violations == 0);
	cl_free(c);
}

/*
 * The log may start after index 1 (its beginning compacted into a
 * snapshot: raft_node_restore).  Nodes whose logs start at index 4 and one
 * that holds the whole log elect, replicate and commit as usual (the
 * consistency check at the snapshot's index uses its term); an AppendEntries from before a follower's
 * start is answered with its start (what it compacted was committed, so it
 * matches); a leader never sends what it no longer holds; and the
 * restore's arguments are checked.
 */
static void
test_rule_log_may_start_after_index_one(void)
{
	cluster    *c = cl_new(3);
	raft_node_id id;
	raft_node  *bad;
	raft_status st;
	const raft_message *r;
	raft_message m;

	for (id = 1; id <= 3; id++)
	{
		cl_node    *nd = &c->node[id];
		int			rc;

		cl_seed_entry(c, id, 1, "a", true);
		cl_seed_entry(c, id, 1, "b", true);
		cl_seed_entry(c, id, 1, "c", true);
		/* node 3 holds nothing after its snapshot */
		if (id != 3)
		{
			cl_seed_entry(c, id, 2, "d", false);
			cl_seed_entry(c, id, 2, "e", false);
		}
		/* nodes 2 and 3 compacted entries 1..3 and hold 4.. only; 1 holds all */
		if (id == 1)
			rc = raft_node_create(&nd->cfg, &nd->hs, nd->log.e, nd->log.n, nd->applied, &nd->raft);
		else
			rc = raft_node_restore(&nd->cfg, &nd->hs, 3, 1, &nd->log.e[3], nd->log.n - 3,
								   nd->applied, &nd->raft);
		REQUIRE(rc == RAFT_OK);
	}
	st = cl_status(c, 3);
	CHECK(st.lastLogIndex == 3);
	CHECK(st.lastLogTerm == 1);	/* the snapshot's */
	CHECK(st.commitIndex == 3);

	/* node 3 is behind: it cannot win; 1 or 2 can */
	REQUIRE(cl_elect(c, 1));
	REQUIRE(cl_propose(c, 1, "x", NULL) == RAFT_OK);
	cl_run(c, 4 * CL_HEARTBEAT);
	for (id = 1; id <= 3; id++)
	{
		st = cl_status(c, id);
		CHECK(st.lastLogIndex == 7);	/* 4 "d", 5 "e", 6 the leader's no-op, 7 "x" */
		CHECK(st.commitIndex == 7);
		CHECK(st.lastApplied == 7);
	}
	CHECK(cl_applied_data(c, 3, "x"));

	/* an AppendEntries from before node 2's log start: matched up to its start */
	m = msg_append(1, 2, cl_status(c, 1).currentTerm, 1, 1, 7, NULL, 0);
	cl_drop_all(c);
	CHECK(cl_step(c, 2, &m) == RAFT_OK);
	r = cl_find_msg(c, 2, 1, RAFT_MSG_APPEND_ENTRIES_RESULT);
	REQUIRE(r != NULL);
	CHECK(r->success);
	CHECK(r->matchIndex == 3);

	/* the restore's arguments */
	CHECK(raft_node_restore(&c->node[1].cfg, &c->node[1].hs, 3, 0, NULL, 0, 3, &bad) == RAFT_EINVAL);
	CHECK(raft_node_restore(&c->node[1].cfg, &c->node[1].hs, 0, 1, NULL, 0, 0, &bad) == RAFT_EINVAL);
	CHECK(raft_node_restore(&c->node[1].cfg, &c->node[1].hs, 3, 1, NULL, 0, 2, &bad) == RAFT_EINVAL);
	CHECK(raft_node_restore(&c->node[1].cfg, &c->node[1].hs, 3, 1, &c->node[1].log.e[4], 1, 3, &bad) == RAFT_EINVAL);
	CHECK(raft_node_restore(&c->node[1].cfg, &c->node[1].hs, 3, 3, &c->node[1].log.e[3], 1, 3, &bad) == RAFT_EINVAL);
	CHECK(raft_node_restore(&c->node[1].cfg, &c->node[1].hs, 3, 1, NULL, 0, 3, &bad) == RAFT_OK);
	raft_node_destroy(bad);
	CHECK(c->violations == 0);
	cl_free(c);
}

/* How many entries of n's state machine hold data. */
static int
applied_count(cluster *c, raft_node_id id, const char *data)
{
	size_t		i;
	int			k = 0;

	for (i = 0; i < c->node[id].sm.n; i++)
		if (c->node[id].sm.e[i].type == RAFT_ENTRY_NORMAL &&
			cl_entry_data_is(&c->node[id].sm.e[i], data))
			k++;
	return k;
}

/*
 * raft_forward: on a follower a command goes to the leader in a PROPOSE
 * message and the leader appends it at its own term: committed and applied
 * everywhere, once.  A PROPOSE that reaches a node that does not lead, or a
 * leader handing over, is dropped (the sender's host retries); so is one of
 * an older term; one carrying anything but commands is refused.  On the
 * leader itself raft_forward is raft_propose.
 */
static void
test_rule_forwarded_command_is_appended_by_the_leader_only(void)
{
	cluster    *c = cl_new(3);
	raft_message m;
	raft_entry	e;
	raft_index	before;
	raft_term	term;

	cl_start_all(c);
	/* two elections: a term with an older one before it */
	REQUIRE(cl_elect(c, 2));
	cl_run(c, 2 * CL_HEARTBEAT);
	REQUIRE(cl_elect(c, 1));
	cl_run(c, 2 * CL_HEARTBEAT);
	term = cl_status(c, 1).currentTerm;
	REQUIRE(term >= 2);
	before = cl_status(c, 1).lastLogIndex;

	/* from a follower */
	CHECK(raft_forward(c->node[2].raft, "fw", 2) == RAFT_OK);
	cl_process(c, 2);
	CHECK(cl_count_msgs(c, 2, 1, RAFT_MSG_PROPOSE) == 1);
	cl_run(c, 4 * CL_HEARTBEAT);
	CHECK(cl_status(c, 1).lastLogIndex == before + 1);
	CHECK(cl_term_at(c, 1, before + 1) == term);
	CHECK(applied_count(c, 1, "fw") == 1);
	CHECK(applied_count(c, 2, "fw") == 1);
	CHECK(applied_count(c, 3, "fw") == 1);

	/* on the leader: as raft_propose */
	CHECK(raft_forward(c->node[1].raft, "fl", 2) == RAFT_OK);
	cl_process(c, 1);
	CHECK(cl_status(c, 1).lastLogIndex == before + 2);

	/* a PROPOSE reaching a follower is dropped */
	memset(&e, 0, sizeof(e));
	e.type = RAFT_ENTRY_NORMAL;
	e.len = 2;
	e.data = "fx";
	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_PROPOSE;
	m.from = 3;
	m.to = 2;
	m.term = term;
	m.nEntries = 1;
	m.entries = &e;
	before = cl_status(c, 2).lastLogIndex;
	CHECK(cl_step(c, 2, &m) == RAFT_OK);
	CHECK(cl_status(c, 2).lastLogIndex == before);

	/* one of an older term reaching the leader is dropped */
	before = cl_status(c, 1).lastLogIndex;
	m.to = 1;
	m.term = term - 1;
	CHECK(cl_step(c, 1, &m) == RAFT_OK);
	CHECK(cl_status(c, 1).lastLogIndex == before);

	/* anything but a command is refused */
	m.term = term;
	e.type = RAFT_ENTRY_NOOP;
	CHECK(raft_step(c->node[1].raft, &m) == RAFT_EINVAL);
	e.type = RAFT_ENTRY_NORMAL;
	e.term = term;
	CHECK(raft_step(c->node[1].raft, &m) == RAFT_EINVAL);
	e.term = 0;

	/* a leader handing over drops it */
	cl_run(c, 4 * CL_HEARTBEAT);
	cl_cut_link(c, 1, 2, true);	/* so the transfer cannot finish */
	REQUIRE(raft_transfer_leadership(c->node[1].raft, 2) == RAFT_OK);
	REQUIRE(cl_status(c, 1).transferTarget == 2);
	before = cl_status(c, 1).lastLogIndex;
	CHECK(cl_step(c, 1, &m) == RAFT_OK);
	CHECK(cl_status(c, 1).lastLogIndex == before);
	cl_cut_link(c, 1, 2, false);

	/* no leader known: nothing to forward to */
	cl_isolate(c, 3, true);
	cl_run(c, 3 * CL_ELECTION_MAX);
	if (cl_status(c, 3).leader == RAFT_NONE)
		CHECK(raft_forward(c->node[3].raft, "fz", 2) == RAFT_ENOLEADER);
	CHECK(c->violations == 0);
	cl_free(c);
}

/* ---------------------------------------------------------------------
 * Bounds: no term past RAFT_MAX_TERM, no index past RAFT_MAX_INDEX
 * --------------------------------------------------------------------- */

/* Did node 1 keep its term, vote, role, leader, log and commit index? */
static bool
same_state(cluster *c, const raft_status *before)
{
	raft_status now = cl_status(c, 1);

	return now.currentTerm == before->currentTerm && now.votedFor == before->votedFor &&
		now.role == before->role && now.leader == before->leader &&
		now.lastLogIndex == before->lastLogIndex && now.lastLogTerm == before->lastLogTerm &&
		now.commitIndex == before->commitIndex;
}

/* Step m into node 1: refused as invalid, nothing changed, nothing sent. */
static bool
refused_without_trace(cluster *c, const raft_message *m)
{
	raft_status before = cl_status(c, 1);
	int			rc;

	cl_drop_all(c);
	rc = raft_step(c->node[1].raft, m);
	if (rc != RAFT_EINVAL || !same_state(c, &before) || raft_has_ready(c->node[1].raft))
	{
		fprintf(stderr, "  message type %d term %llu: %s\n", m->type,
				(unsigned long long) m->term, raft_strerror(rc));
		return false;
	}
	return true;
}

/*
 * A forged message with a term past RAFT_MAX_TERM is refused, whatever its
 * type, and changes nothing: not the term (which would then be stuck at a
 * value no new term can follow), not the vote, not the role or leader.
 * At RAFT_MAX_TERM itself the same RequestVote is an ordinary one.
 */
static void
test_rule_forged_huge_term_is_refused_and_changes_nothing(void)
{
	static const int types[] = {
		RAFT_MSG_APPEND_ENTRIES, RAFT_MSG_APPEND_ENTRIES_RESULT,
		RAFT_MSG_REQUEST_VOTE, RAFT_MSG_REQUEST_VOTE_RESULT,
		RAFT_MSG_PRE_VOTE, RAFT_MSG_PRE_VOTE_RESULT, RAFT_MSG_TIMEOUT_NOW,
		RAFT_MSG_READ_INDEX, RAFT_MSG_READ_INDEX_RESULT, RAFT_MSG_PROPOSE
	};
	static const raft_term huge[] = {RAFT_MAX_TERM + 1, UINT64_MAX};
	cluster    *c;
	raft_message m;
	const raft_message *r;
	size_t		k,
				h;

	c = cl_new(3);
	c->node[1].cfg.preVote = true;
	cl_seed_entry(c, 1, 1, "", false);
	cl_seed_entry(c, 1, 2, "", false);
	c->node[1].hs.votedFor = 3;
	REQUIRE(cl_start(c, 1) == RAFT_OK);
	/* a follower of node 3 at term 2, with a vote cast */
	m = msg_append(3, 1, 2, 2, 2, 0, NULL, 0);
	CHECK(cl_step(c, 1, &m) == RAFT_OK);
	REQUIRE(cl_status(c, 1).leader == 3);

	for (k = 0; k < sizeof(types) / sizeof(types[0]); k++)
		for (h = 0; h < 2; h++)
		{
			m = msg_vote(2, 1, huge[h], 2, 2);	/* a log as good as ours */
			m.type = (uint8_t) types[k];
			m.voteGranted = true;
			m.success = true;
			m.leadershipTransfer = true;
			CHECK(refused_without_trace(c, &m));
		}
	CHECK(cl_status(c, 1).currentTerm == 2);
	CHECK(cl_status(c, 1).votedFor == 3);
	CHECK(cl_status(c, 1).role == RAFT_FOLLOWER);
	CHECK(c->node[1].hs.currentTerm == 2);

	/* the largest term is a term like any other */
	m = msg_vote(2, 1, RAFT_MAX_TERM, 2, 2);
	r = ask(c, &m, RAFT_MSG_REQUEST_VOTE_RESULT);
	REQUIRE(r != NULL);
	CHECK(r->voteGranted);
	CHECK(cl_status(c, 1).currentTerm == RAFT_MAX_TERM);
	CHECK(c->node[1].hs.currentTerm == RAFT_MAX_TERM);
	CHECK(c->violations == 0);
	cl_free(c);
}

/*
 * Indexes past RAFT_MAX_INDEX, and terms inside a message, are refused
 * the same way: on a follower (AppendEntries, votes, a read index) and on
 * a leader, whose view of its followers does not move either.
 */
static void
test_rule_forged_huge_index_is_refused_and_changes_nothing(void)
{
	raft_term	log[] = {1, 1};
	raft_term	one[] = {2};
	raft_entry	ents[1];
	cluster    *c = solo_node(log, 2, 2);
	raft_message m;
	raft_progress before,
				after;
	raft_index *fields[5];
	size_t		k;

	m = msg_append(2, 1, 2, RAFT_MAX_INDEX + 1, 1, 0, NULL, 0);
	CHECK(refused_without_trace(c, &m));
	m = msg_append(2, 1, 2, 2, RAFT_MAX_TERM + 1, 0, NULL, 0);
	CHECK(refused_without_trace(c, &m));
	m = msg_append(2, 1, 2, 2, 1, RAFT_MAX_INDEX + 1, NULL, 0);
	CHECK(refused_without_trace(c, &m));
	/* an entry whose index would be RAFT_MAX_INDEX + 1 */
	make_entries(ents, RAFT_MAX_INDEX + 1, one, 1);
	m = msg_append(2, 1, 2, RAFT_MAX_INDEX, 1, 0, ents, 1);
	CHECK(refused_without_trace(c, &m));
	m = msg_vote(2, 1, 3, RAFT_MAX_INDEX + 1, 1);
	CHECK(refused_without_trace(c, &m));
	m = msg_vote(2, 1, 3, 2, RAFT_MAX_TERM + 1);
	CHECK(refused_without_trace(c, &m));
	m.type = RAFT_MSG_PRE_VOTE;
	CHECK(refused_without_trace(c, &m));
	m = msg_simple(RAFT_MSG_READ_INDEX_RESULT, 2, 1, 2);
	m.success = true;
	m.readIndex = RAFT_MAX_INDEX + 1;
	CHECK(refused_without_trace(c, &m));
	CHECK(c->node[1].nReads == 0);

	/* a leader's view of node 2 */
	CHECK(cl_campaign(c, 1) == RAFT_OK);
	m = msg_simple(RAFT_MSG_REQUEST_VOTE_RESULT, 2, 1, 3);
	m.voteGranted = true;
	CHECK(cl_step(c, 1, &m) == RAFT_OK);
	REQUIRE(cl_is_leader(c, 1));
	REQUIRE(raft_get_progress(c->node[1].raft, 1, &before));
	for (k = 0; k < 5; k++)
	{
		m = msg_simple(RAFT_MSG_APPEND_ENTRIES_RESULT, 2, 1, 3);
		m.success = k % 2 == 0;
		m.matchIndex = 3;
		m.rejectedIndex = 3;
		m.conflictIndex = 3;
		m.lastLogIndex = 3;
		fields[0] = &m.matchIndex;
		fields[1] = &m.rejectedIndex;
		fields[2] = &m.conflictIndex;
		fields[3] = &m.lastLogIndex;
		if (k < 4)
			*fields[k] = RAFT_MAX_INDEX + 1;
		else
			m.conflictTerm = RAFT_MAX_TERM + 1;
		CHECK(refused_without_trace(c, &m));
	}
	REQUIRE(raft_get_progress(c->node[1].raft, 1, &after));
	CHECK(after.matchIndex == before.matchIndex);
	CHECK(after.nextIndex == before.nextIndex);
	CHECK(after.state == before.state);
	CHECK(cl_status(c, 1).commitIndex == 0);
	CHECK(c->violations == 0);
	cl_free(c);
}

/*
 * A node never raises currentTerm past RAFT_MAX_TERM: at it, raft_campaign
 * answers RAFT_ERANGE and changes nothing, its election timer (with or
 * without pre-vote) and a TimeoutNow start nothing and are no error.  One
 * term below, it campaigns as usual, into RAFT_MAX_TERM, and a cluster
 * there elects and commits as anywhere else.
 */
static void
test_rule_term_never_passes_max(void)
{
	cluster    *c;
	raft_status before;
	raft_message m;
	unsigned	t;
	int			pre;

	for (pre = 0; pre <= 1; pre++)
	{
		c = cl_new(3);
		c->node[1].cfg.preVote = pre == 1;
		c->node[1].hs.currentTerm = RAFT_MAX_TERM;
		REQUIRE(cl_start(c, 1) == RAFT_OK);
		before = cl_status(c, 1);
		CHECK(cl_campaign(c, 1) == RAFT_ERANGE);
		CHECK(same_state(c, &before));
		for (t = 0; t < 3 * CL_ELECTION_MAX; t++)
		{
			CHECK(raft_tick(c->node[1].raft) == RAFT_OK);
			cl_process(c, 1);
		}
		m = msg_simple(RAFT_MSG_TIMEOUT_NOW, 2, 1, RAFT_MAX_TERM);
		CHECK(cl_step(c, 1, &m) == RAFT_OK);
		CHECK(same_state(c, &before));
		CHECK(c->qn == 0);
		CHECK(c->node[1].hs.currentTerm == RAFT_MAX_TERM);
		CHECK(c->violations == 0);
		cl_free(c);
	}

	c = cl_new(3);
	for (t = 1; t <= 3; t++)
		c->node[t].hs.currentTerm = RAFT_MAX_TERM - 1;
	cl_start_all(c);
	REQUIRE(cl_elect(c, 1));
	CHECK(cl_status(c, 1).currentTerm == RAFT_MAX_TERM);
	CHECK(cl_propose(c, 1, "last term", NULL) == RAFT_OK);
	cl_run(c, 4 * CL_HEARTBEAT);
	CHECK(cl_applied_data(c, 2, "last term"));
	CHECK(cl_applied_data(c, 3, "last term"));
	/* a follower cannot take over: there is no term after this one */
	before = cl_status(c, 2);
	CHECK(cl_campaign(c, 2) == RAFT_ERANGE);
	CHECK(cl_status(c, 2).role == RAFT_FOLLOWER);
	CHECK(cl_status(c, 2).currentTerm == RAFT_MAX_TERM);
	CHECK(cl_is_leader(c, 1));
	CHECK(c->violations == 0);
	cl_free(c);
}

/* Take and advance ready batches until none is left (a host that only persists). */
static void
drain_ready(raft_node *n)
{
	raft_ready	rd;
	unsigned	guard = 0;

	while (raft_has_ready(n) && ++guard < 100 && raft_ready_get(n, &rd) == RAFT_OK)
		raft_advance(n, &rd);
}

/*
 * The log never holds an index past RAFT_MAX_INDEX: a leader whose log
 * reached it refuses proposals (RAFT_ERANGE), and a node whose log is
 * full does not stand for election, since as leader it could not append
 * its no-op.
 */
static void
test_rule_log_never_passes_max_index(void)
{
	static const raft_node_id one[] = {1};
	raft_config cfg;
	raft_hard_state hs = {1, RAFT_NONE};
	raft_node  *n = NULL;
	raft_status st;
	raft_index	index = 0;

	memset(&cfg, 0, sizeof(cfg));
	cfg.id = 1;
	cfg.voters = one;
	cfg.nVoters = 1;
	cfg.electionTickMin = CL_ELECTION_MIN;
	cfg.electionTickMax = CL_ELECTION_MAX;
	cfg.heartbeatTick = CL_HEARTBEAT;

	/* one index left: the new leader's no-op takes it */
	REQUIRE(raft_node_restore(&cfg, &hs, RAFT_MAX_INDEX - 1, 1, NULL, 0,
							  RAFT_MAX_INDEX - 1, &n) == RAFT_OK);
	CHECK(raft_campaign(n) == RAFT_OK);
	drain_ready(n);
	raft_get_status(n, &st);
	CHECK(st.role == RAFT_LEADER);
	CHECK(st.lastLogIndex == RAFT_MAX_INDEX);
	CHECK(st.commitIndex == RAFT_MAX_INDEX);
	CHECK(raft_propose(n, "x", 1, &index, NULL) == RAFT_ERANGE);
	CHECK(raft_forward(n, "x", 1) == RAFT_ERANGE);
	raft_get_status(n, &st);
	CHECK(st.lastLogIndex == RAFT_MAX_INDEX);
	raft_node_destroy(n);

	/* a full log: no election */
	REQUIRE(raft_node_restore(&cfg, &hs, RAFT_MAX_INDEX, 1, NULL, 0,
							  RAFT_MAX_INDEX, &n) == RAFT_OK);
	CHECK(raft_campaign(n) == RAFT_ERANGE);
	raft_get_status(n, &st);
	CHECK(st.role == RAFT_FOLLOWER);
	CHECK(st.currentTerm == 1);
	raft_node_destroy(n);
}

/* Durable state out of range is refused at restore (RAFT_EINVAL). */
static void
test_rule_restore_refuses_out_of_range_state(void)
{
	static const raft_node_id three[] = {1, 2, 3};
	raft_config cfg;
	raft_hard_state hs = {RAFT_MAX_TERM, RAFT_NONE};
	raft_entry	e;
	raft_node  *n = NULL;

	memset(&cfg, 0, sizeof(cfg));
	cfg.id = 1;
	cfg.voters = three;
	cfg.nVoters = 3;
	cfg.electionTickMin = CL_ELECTION_MIN;
	cfg.electionTickMax = CL_ELECTION_MAX;
	cfg.heartbeatTick = CL_HEARTBEAT;
	memset(&e, 0, sizeof(e));

	CHECK(create_rc(&cfg, &hs, NULL, 0, 0) == RAFT_OK);
	hs.currentTerm = RAFT_MAX_TERM + 1;
	CHECK(create_rc(&cfg, &hs, NULL, 0, 0) == RAFT_EINVAL);
	hs.currentTerm = UINT64_MAX;
	CHECK(create_rc(&cfg, &hs, NULL, 0, 0) == RAFT_EINVAL);

	/* an entry's term, with no hard state to compare it with */
	e.index = 1;
	e.term = RAFT_MAX_TERM;
	CHECK(create_rc(&cfg, NULL, &e, 1, 0) == RAFT_OK);
	e.term = RAFT_MAX_TERM + 1;
	CHECK(create_rc(&cfg, NULL, &e, 1, 0) == RAFT_EINVAL);

	/* the compacted prefix, and a log running past the last index */
	CHECK(raft_node_restore(&cfg, NULL, RAFT_MAX_INDEX + 1, 1, NULL, 0,
							RAFT_MAX_INDEX + 1, &n) == RAFT_EINVAL);
	CHECK(n == NULL);
	CHECK(raft_node_restore(&cfg, NULL, 5, RAFT_MAX_TERM + 1, NULL, 0, 5, &n) == RAFT_EINVAL);
	e.term = 1;
	e.index = RAFT_MAX_INDEX + 1;
	CHECK(raft_node_restore(&cfg, NULL, RAFT_MAX_INDEX, 1, &e, 1, RAFT_MAX_INDEX, &n) == RAFT_EINVAL);
	e.index = RAFT_MAX_INDEX;
	CHECK(raft_node_restore(&cfg, NULL, RAFT_MAX_INDEX - 1, 1, &e, 1, RAFT_MAX_INDEX - 1, &n) == RAFT_OK);
	raft_node_destroy(n);
}

/* ---------------------------------------------------------------------
 * The vote floor (raft.h, raft_vote_floor): a node restored after losing
 * its state
 * --------------------------------------------------------------------- */

/*
 * Node 1 of 3, started from a disk holding entries of logTerms and
 * currentTerm, restored with the vote floor {floorTerm, floorIndex}; the
 * host has processed its first batch.
 */
static cluster *
floored_node(const raft_term *logTerms, size_t nLog, raft_term currentTerm,
			 raft_term floorTerm, raft_index floorIndex, bool preVote)
{
	cluster    *c = cl_new(3);
	size_t		i;

	c->node[1].cfg.preVote = preVote;
	c->node[1].cfg.voteFloor.term = floorTerm;
	c->node[1].cfg.voteFloor.index = floorIndex;
	for (i = 0; i < nLog; i++)
		cl_seed_entry(c, 1, logTerms[i], "", false);
	if (c->node[1].hs.currentTerm < currentTerm)
		c->node[1].hs.currentTerm = currentTerm;
	if (cl_start(c, 1) != RAFT_OK)
	{
		fprintf(stderr, "floored_node: raft_node_create failed\n");
		abort();
	}
	cl_process(c, 1);
	return c;
}

/*
 * currentTerm starts at floor.term at least, with no vote remembered (the
 * first batch makes it durable); a hard state already past the floor is
 * kept as it is.  The status shows the floor.  A floor out of range is
 * refused.
 */
static void
test_rule_vote_floor_current_term_starts_at_floor_term(void)
{
	raft_term	log[] = {1, 2};
	cluster    *c;
	raft_status st;

	c = cl_new(3);
	cl_seed_entry(c, 1, 1, "", false);
	cl_seed_entry(c, 1, 2, "", false);
	c->node[1].hs.currentTerm = 3;
	c->node[1].hs.votedFor = 2;
	c->node[1].cfg.voteFloor.term = 7;
	c->node[1].cfg.voteFloor.index = 2;
	REQUIRE(cl_start(c, 1) == RAFT_OK);
	cl_process(c, 1);
	st = cl_status(c, 1);
	CHECK(st.currentTerm == 7);
	CHECK(st.votedFor == RAFT_NONE);
	CHECK(st.voteFloorHeld);
	CHECK(st.voteFloor.term == 7 && st.voteFloor.index == 2);
	CHECK(c->node[1].hs.currentTerm == 7);
	CHECK(c->node[1].hs.votedFor == RAFT_NONE);
	CHECK(c->violations == 0);
	cl_free(c);

	c = cl_new(3);
	cl_seed_entry(c, 1, 1, "", false);
	c->node[1].hs.currentTerm = 9;
	c->node[1].hs.votedFor = 2;
	c->node[1].cfg.voteFloor.term = 7;
	c->node[1].cfg.voteFloor.index = 2;
	REQUIRE(cl_start(c, 1) == RAFT_OK);
	st = cl_status(c, 1);
	CHECK(st.currentTerm == 9);
	CHECK(st.votedFor == 2);
	CHECK(st.voteFloorHeld);	/* its log is still short */
	CHECK(c->violations == 0);
	cl_free(c);

	c = cl_new(3);
	c->node[1].cfg.voteFloor.term = RAFT_MAX_TERM + 1;
	CHECK(cl_start(c, 1) == RAFT_EINVAL);
	c->node[1].cfg.voteFloor.term = RAFT_MAX_TERM;
	c->node[1].cfg.voteFloor.index = RAFT_MAX_INDEX + 1;
	CHECK(cl_start(c, 1) == RAFT_EINVAL);
	c->node[1].cfg.voteFloor.index = RAFT_MAX_INDEX;
	CHECK(cl_start(c, 1) == RAFT_OK);
	cl_free(c);

	/* no floor: nothing held */
	c = solo_node(log, 2, 3);
	st = cl_status(c, 1);
	CHECK(!st.voteFloorHeld);
	CHECK(st.voteFloor.term == 0 && st.voteFloor.index == 0);
	cl_free(c);
}

/*
 * No vote, RequestVote or PreVote, in a term <= floor.term, even for a
 * candidate whose log is better (a node without the floor grants it).  A
 * pre-vote about a later term is granted, and the node's own candidacy is
 * in a later term.
 */
static void
test_rule_vote_floor_no_vote_in_a_term_up_to_floor_term(void)
{
	raft_term	log[] = {1, 2};
	cluster    *c;
	raft_message m;
	const raft_message *r;

	/* without a floor, the same request is granted */
	c = solo_node(log, 2, 7);
	m = msg_vote(2, 1, 7, 5, 6);
	r = ask(c, &m, RAFT_MSG_REQUEST_VOTE_RESULT);
	REQUIRE(r != NULL);
	CHECK(r->voteGranted);
	cl_free(c);

	c = floored_node(log, 2, 3, 7, 0, false);
	REQUIRE(cl_status(c, 1).currentTerm == 7);
	m = msg_vote(2, 1, 7, 5, 6);
	r = ask(c, &m, RAFT_MSG_REQUEST_VOTE_RESULT);
	REQUIRE(r != NULL);
	CHECK(!r->voteGranted);
	CHECK(cl_status(c, 1).votedFor == RAFT_NONE);
	CHECK(c->node[1].hs.votedFor == RAFT_NONE);

	m = msg_vote(3, 1, 7, 5, 6);
	m.type = RAFT_MSG_PRE_VOTE;
	r = ask(c, &m, RAFT_MSG_PRE_VOTE_RESULT);
	REQUIRE(r != NULL);
	CHECK(!r->voteGranted);

	m.term = 8;
	r = ask(c, &m, RAFT_MSG_PRE_VOTE_RESULT);
	REQUIRE(r != NULL);
	CHECK(r->voteGranted);
	CHECK(cl_status(c, 1).voteFloorHeld);

	/* standing for election: in term 8, never 7 */
	CHECK(cl_campaign(c, 1) == RAFT_OK);
	CHECK(cl_status(c, 1).currentTerm == 8);
	CHECK(cl_status(c, 1).votedFor == 1);
	CHECK(cl_count_msgs(c, 1, 2, RAFT_MSG_REQUEST_VOTE) == 1);
	CHECK(!cl_status(c, 1).voteFloorHeld);	/* term 8 is durable: lifted */
	CHECK(c->violations == 0);
	cl_free(c);
}

/*
 * While its log lacks entries up to floor.index it grants no vote at all,
 * in any term, to any log: it adopts the later term (as for any message)
 * but keeps its vote.
 */
static void
test_rule_vote_floor_no_vote_while_log_below_floor_index(void)
{
	raft_term	log[] = {1, 1};
	cluster    *c = floored_node(log, 2, 3, 3, 5, true);
	raft_message m;
	const raft_message *r;

	m = msg_vote(2, 1, 9, 10, 8);
	r = ask(c, &m, RAFT_MSG_REQUEST_VOTE_RESULT);
	REQUIRE(r != NULL);
	CHECK(!r->voteGranted);
	CHECK(cl_status(c, 1).currentTerm == 9);
	CHECK(cl_status(c, 1).votedFor == RAFT_NONE);
	CHECK(c->node[1].hs.currentTerm == 9);
	CHECK(c->node[1].hs.votedFor == RAFT_NONE);

	m = msg_vote(3, 1, 10, 10, 8);
	m.type = RAFT_MSG_PRE_VOTE;
	r = ask(c, &m, RAFT_MSG_PRE_VOTE_RESULT);
	REQUIRE(r != NULL);
	CHECK(!r->voteGranted);
	CHECK(cl_status(c, 1).voteFloorHeld);
	CHECK(c->violations == 0);
	cl_free(c);
}

/*
 * ... and does not stand for election: raft_campaign says RAFT_EFLOOR and
 * changes nothing; with or without pre-vote its election timer, and a
 * TimeoutNow, start nothing (and are no error).
 */
static void
test_rule_vote_floor_no_campaign_while_log_below_floor_index(void)
{
	raft_term	log[] = {1, 1};
	int			pre;

	for (pre = 0; pre <= 1; pre++)
	{
		cluster    *c = floored_node(log, 2, 3, 3, 5, pre == 1);
		raft_status before = cl_status(c, 1);
		raft_message m;
		unsigned	t;

		cl_drop_all(c);
		CHECK(cl_campaign(c, 1) == RAFT_EFLOOR);
		CHECK(same_state(c, &before));
		for (t = 0; t < 3 * CL_ELECTION_MAX; t++)
		{
			CHECK(raft_tick(c->node[1].raft) == RAFT_OK);
			cl_process(c, 1);
		}
		m = msg_simple(RAFT_MSG_TIMEOUT_NOW, 2, 1, 3);
		CHECK(cl_step(c, 1, &m) == RAFT_OK);
		CHECK(same_state(c, &before));
		CHECK(cl_status(c, 1).role == RAFT_FOLLOWER);
		CHECK(c->qn == 0);		/* no (pre-)vote request went out */
		CHECK(c->violations == 0);
		cl_free(c);
	}
}

/*
 * It follows a leader meanwhile: appends, acknowledges, commits and
 * applies, the leader of floor.term included (the floor is about votes).
 */
static void
test_rule_vote_floor_follower_appends_and_acknowledges(void)
{
	raft_term	log[] = {1, 1};
	raft_term	newTerms[] = {3, 3};
	raft_entry	ents[2];
	cluster    *c = floored_node(log, 2, 2, 3, 4, false);
	raft_message m;
	const raft_message *r;

	make_entries(ents, 3, newTerms, 2);
	m = msg_append(2, 1, 3, 2, 1, 4, ents, 2);
	r = ask(c, &m, RAFT_MSG_APPEND_ENTRIES_RESULT);
	REQUIRE(r != NULL);
	CHECK(r->success);
	CHECK(r->matchIndex == 4);
	CHECK(cl_status(c, 1).leader == 2);
	CHECK(cl_status(c, 1).lastLogIndex == 4);
	CHECK(cl_status(c, 1).commitIndex == 4);
	CHECK(c->node[1].applied == 4);
	/* still in floor.term: no vote in it */
	CHECK(cl_status(c, 1).voteFloorHeld);
	CHECK(c->violations == 0);
	cl_free(c);
}

/*
 * Once a leader matched its log through floor.index and its term moved
 * past floor.term, and the host made both durable, the floor is lifted
 * (raft_status says so) and the node votes and campaigns as any other.
 */
static void
test_rule_vote_floor_lifted_once_log_and_term_passed_it(void)
{
	raft_term	log[] = {1, 1};
	raft_term	newTerms[] = {4, 4};
	raft_entry	ents[2];
	cluster    *c = floored_node(log, 2, 3, 3, 4, false);
	raft_message m;
	const raft_message *r;

	make_entries(ents, 3, newTerms, 2);
	m = msg_append(2, 1, 4, 2, 1, 0, ents, 2);
	cl_drop_all(c);
	CHECK(raft_step(c->node[1].raft, &m) == RAFT_OK);
	CHECK(cl_status(c, 1).voteFloorHeld);	/* not durable yet */
	cl_process(c, 1);
	REQUIRE(cl_find_msg(c, 1, 2, RAFT_MSG_APPEND_ENTRIES_RESULT) != NULL);
	CHECK(!cl_status(c, 1).voteFloorHeld);
	CHECK(cl_status(c, 1).voteFloor.term == 0 && cl_status(c, 1).voteFloor.index == 0);

	m = msg_vote(3, 1, 5, 4, 4);
	r = ask(c, &m, RAFT_MSG_REQUEST_VOTE_RESULT);
	REQUIRE(r != NULL);
	CHECK(r->voteGranted);
	CHECK(cl_campaign(c, 1) == RAFT_OK);
	CHECK(cl_status(c, 1).role == RAFT_CANDIDATE);
	CHECK(c->violations == 0);
	cl_free(c);
}

/*
 * An old backup as long as floor.index is not enough: it may hold, there,
 * entries a later leader replaced, and the committed ones in their place
 * are what it acknowledged.  It stays held back until a leader's
 * AppendEntries matches it through floor.index (replacing what differs).
 */
static void
test_rule_vote_floor_needs_a_leaders_match_not_a_long_log(void)
{
	raft_term	log[] = {1, 1, 1, 1, 1};
	raft_term	newTerms[] = {2, 2};
	raft_entry	ents[2];
	cluster    *c = floored_node(log, 5, 2, 3, 5, false);
	raft_message m;
	const raft_message *r;

	m = msg_vote(2, 1, 4, 5, 1);	/* a log like ours, in a later term */
	r = ask(c, &m, RAFT_MSG_REQUEST_VOTE_RESULT);
	REQUIRE(r != NULL);
	CHECK(!r->voteGranted);
	CHECK(cl_campaign(c, 1) == RAFT_EFLOOR);

	/* leader 2 of term 4 holds term 2 at 4 and 5: refused there, no match */
	m = msg_append(2, 1, 4, 5, 2, 0, NULL, 0);
	r = ask(c, &m, RAFT_MSG_APPEND_ENTRIES_RESULT);
	REQUIRE(r != NULL);
	CHECK(!r->success);
	CHECK(cl_status(c, 1).voteFloorHeld);
	CHECK(cl_campaign(c, 1) == RAFT_EFLOOR);

	make_entries(ents, 4, newTerms, 2);
	m = msg_append(2, 1, 4, 3, 1, 0, ents, 2);
	r = ask(c, &m, RAFT_MSG_APPEND_ENTRIES_RESULT);
	REQUIRE(r != NULL);
	CHECK(r->success && r->matchIndex == 5);
	CHECK(cl_term_at(c, 1, 5) == 2);
	CHECK(!cl_status(c, 1).voteFloorHeld);
	m = msg_vote(3, 1, 5, 5, 2);
	r = ask(c, &m, RAFT_MSG_REQUEST_VOTE_RESULT);
	REQUIRE(r != NULL);
	CHECK(r->voteGranted);
	CHECK(c->violations == 0);
	cl_free(c);
}

/* ---------------------------------------------------------------------
 * A follower whose log went back
 * --------------------------------------------------------------------- */

/* Node 1's (the leader's) view of voter id. */
static raft_progress
progress_of(cluster *c, raft_node_id id)
{
	raft_progress pr;

	memset(&pr, 0, sizeof(pr));
	if (!raft_get_progress(c->node[1].raft, (size_t) (id - 1), &pr))
		fprintf(stderr, "  node 1 is not the leader\n");
	return pr;
}

/*
 * A follower that restarts with a shorter log (an older copy of its disk)
 * no longer holds entries it acknowledged: the leader must stop counting
 * them.  Five nodes; node 2 alone acknowledges x, so x is not committed;
 * node 2 comes back without it and refuses the leader's heartbeat; then
 * node 3 acknowledges x.  Counting node 2's old matchIndex would commit x
 * with two copies out of five (and a leader elected by 2, 4 and 5 would
 * lack it).  The leader lowers node 2's matchIndex instead, marks it
 * regressed until it holds x again, and commits x only then.
 */
static void
test_rule_leader_does_not_count_match_a_follower_lost(void)
{
	cluster    *c = cl_new(5);
	raft_index	x = 0;
	raft_progress pr;
	raft_status st;
	unsigned	t;
	raft_node_id id;

	/* no election timeouts while the test arranges deliveries */
	for (id = 1; id <= 5; id++)
	{
		c->node[id].cfg.electionTickMin = 100;
		c->node[id].cfg.electionTickMax = 120;
	}
	cl_start_all(c);
	REQUIRE(cl_elect(c, 1));
	REQUIRE(cl_propose(c, 1, "a", NULL) == RAFT_OK);
	cl_run(c, 2 * CL_HEARTBEAT);
	REQUIRE(cl_applied_data(c, 5, "a"));

	/* x reaches node 2 only */
	for (id = 3; id <= 5; id++)
		cl_cut_link(c, 1, id, true);
	REQUIRE(cl_propose(c, 1, "x", &x) == RAFT_OK);
	cl_deliver_all(c);
	REQUIRE(progress_of(c, 2).matchIndex == x);
	REQUIRE(cl_status(c, 1).commitIndex < x);

	/* node 2 restarts from a copy of its disk taken before x */
	cl_crash(c, 2);
	cl_log_truncate(&c->node[2].log, x);
	REQUIRE(cl_start(c, 2) == RAFT_OK);
	for (t = 0; t < 2 * CL_HEARTBEAT && cl_count_msgs(c, 1, 2, RAFT_MSG_APPEND_ENTRIES) == 0; t++)
		cl_tick(c, 1);
	REQUIRE(cl_deliver_first(c, 1, 2, RAFT_MSG_APPEND_ENTRIES));
	REQUIRE(cl_find_msg(c, 2, 1, RAFT_MSG_APPEND_ENTRIES_RESULT) != NULL);
	CHECK(!cl_find_msg(c, 2, 1, RAFT_MSG_APPEND_ENTRIES_RESULT)->success);
	REQUIRE(cl_deliver_first(c, 2, 1, RAFT_MSG_APPEND_ENTRIES_RESULT));
	cl_cut_link(c, 1, 2, true);	/* it is not caught up yet */

	pr = progress_of(c, 2);
	CHECK(pr.matchIndex < x);
	CHECK(pr.regressed);
	CHECK(pr.regressedFrom == x);
	CHECK(pr.regressions == 1);
	CHECK(cl_status(c, 1).followerRegressions == 1);

	/* node 3 acknowledges x: two copies, not a majority */
	cl_cut_link(c, 1, 3, false);
	for (t = 0; t < 10 * CL_HEARTBEAT && progress_of(c, 3).matchIndex < x; t++)
		cl_tick_all(c);
	REQUIRE(progress_of(c, 3).matchIndex == x);
	CHECK(cl_status(c, 1).commitIndex < x);
	CHECK(!cl_applied_data(c, 1, "x"));

	/* node 2 catches up: x commits, and node 2 is no longer marked */
	cl_cut_link(c, 1, 2, false);
	for (t = 0; t < 10 * CL_HEARTBEAT && !cl_applied_data(c, 2, "x"); t++)
		cl_tick_all(c);
	st = cl_status(c, 1);
	CHECK(st.role == RAFT_LEADER);
	CHECK(st.commitIndex >= x);
	CHECK(cl_applied_data(c, 1, "x"));
	CHECK(cl_applied_data(c, 2, "x"));
	pr = progress_of(c, 2);
	CHECK(pr.matchIndex >= x);
	CHECK(!pr.regressed);
	CHECK(pr.regressions == 1);
	CHECK(c->violations == 0);
	cl_free(c);
}

/*
 * The same evidence in an acknowledgement: a success whose lastLogIndex is
 * below matchIndex (the answer of a node that came back with 3 entries to
 * an AppendEntries it could match) lowers matchIndex to what it matched,
 * and the entry it no longer holds is not committed by counting it.  And
 * a refusal at an index it had matched, from a log as long, does the same
 * (an older copy whose entry there is another).
 */
static void
test_rule_leader_lowers_match_on_any_answer_showing_a_shorter_log(void)
{
	raft_term	log[] = {1, 1, 1};
	cluster    *c = cl_new(5);
	raft_message m;
	raft_progress pr;
	raft_index	x = 0;
	size_t		i;

	for (i = 0; i < 3; i++)
		cl_seed_entry(c, 1, log[i], "", false);
	REQUIRE(cl_start(c, 1) == RAFT_OK);
	CHECK(cl_campaign(c, 1) == RAFT_OK);
	for (i = 2; i <= 3; i++)
	{
		m = msg_simple(RAFT_MSG_REQUEST_VOTE_RESULT, (raft_node_id) i, 1, 2);
		m.voteGranted = true;
		CHECK(cl_step(c, 1, &m) == RAFT_OK);
	}
	REQUIRE(cl_is_leader(c, 1));	/* its no-op at 4 */
	REQUIRE(cl_propose(c, 1, "x", &x) == RAFT_OK);
	REQUIRE(x == 5);

	/* node 2 acknowledges 5: two of five */
	m = msg_simple(RAFT_MSG_APPEND_ENTRIES_RESULT, 2, 1, 2);
	m.success = true;
	m.matchIndex = 5;
	m.lastLogIndex = 5;
	CHECK(cl_step(c, 1, &m) == RAFT_OK);
	REQUIRE(progress_of(c, 2).matchIndex == 5);
	REQUIRE(cl_status(c, 1).commitIndex == 0);

	/* node 2, back with 3 entries, matches an AppendEntries up to 3 */
	m.matchIndex = 3;
	m.lastLogIndex = 3;
	CHECK(cl_step(c, 1, &m) == RAFT_OK);
	pr = progress_of(c, 2);
	CHECK(pr.matchIndex == 3);
	CHECK(pr.regressed && pr.regressedFrom == 5);

	/* node 3 acknowledges 5: with node 2's lost copy it would be three */
	m = msg_simple(RAFT_MSG_APPEND_ENTRIES_RESULT, 3, 1, 2);
	m.success = true;
	m.matchIndex = 5;
	m.lastLogIndex = 5;
	CHECK(cl_step(c, 1, &m) == RAFT_OK);
	CHECK(cl_status(c, 1).commitIndex == 0);

	/* node 3 refuses at 4, which it had matched, with a log as long */
	m.success = false;
	m.matchIndex = 0;
	m.rejectedIndex = 4;
	m.conflictIndex = 4;
	m.conflictTerm = 1;
	CHECK(cl_step(c, 1, &m) == RAFT_OK);
	pr = progress_of(c, 3);
	CHECK(pr.matchIndex == 0);
	CHECK(pr.regressed && pr.regressedFrom == 5);
	CHECK(cl_status(c, 1).followerRegressions == 2);

	/* node 4 acknowledges 5: still only two copies known */
	m = msg_simple(RAFT_MSG_APPEND_ENTRIES_RESULT, 4, 1, 2);
	m.success = true;
	m.matchIndex = 5;
	m.lastLogIndex = 5;
	CHECK(cl_step(c, 1, &m) == RAFT_OK);
	CHECK(cl_status(c, 1).commitIndex == 0);

	/* node 2 holds 5 again: three copies, committed, no longer marked */
	m.from = 2;
	CHECK(cl_step(c, 1, &m) == RAFT_OK);
	CHECK(cl_status(c, 1).commitIndex == 5);
	CHECK(!progress_of(c, 2).regressed);
	CHECK(progress_of(c, 3).regressed);
	CHECK(c->violations == 0);
	cl_free(c);
}

/* ---------------------------------------------------------------------
 * Log compaction (raft_compact)
 * --------------------------------------------------------------------- */

/* Does node id's in-memory log hold index? */
static bool
holds(cluster *c, raft_node_id id, raft_index index)
{
	raft_entry	e;

	return raft_log_entry(c->node[id].raft, index, &e);
}

/* Does node id hold index with this term and data? */
static bool
holds_entry(cluster *c, raft_node_id id, raft_index index, raft_term term, const char *data)
{
	raft_entry	e;

	return raft_log_entry(c->node[id].raft, index, &e) && e.index == index &&
		e.term == term && cl_entry_data_is(&e, data);
}

/* Did the node keep everything raft_status shows (a refusal changes nothing)? */
static bool
same_status(const raft_status *a, const raft_status *b)
{
	return a->currentTerm == b->currentTerm && a->votedFor == b->votedFor &&
		a->role == b->role && a->leader == b->leader &&
		a->commitIndex == b->commitIndex && a->lastApplied == b->lastApplied &&
		a->lastLogIndex == b->lastLogIndex && a->lastLogTerm == b->lastLogTerm &&
		a->stableIndex == b->stableIndex;
}

/*
 * raft_compact drops only what was handed out for apply (lastApplied) and
 * is durable (stableIndex): RAFT_EINVAL past either, RAFT_EINVAL for no
 * node, RAFT_EBUSY while a ready batch is out (the host holds pointers
 * into the log); at or below what was already compacted it does nothing.
 * A refusal changes nothing.
 */
static void
test_rule_compact_refuses_unapplied_undurable_and_busy(void)
{
	cluster    *c;
	raft_node  *n;
	raft_status before;
	raft_ready	rd;
	raft_message m;
	raft_entry	e;
	const raft_message *r;

	CHECK(raft_compact(NULL, 1) == RAFT_EINVAL);

	/* durable 1..4, applied 1..2 */
	c = cl_new(3);
	cl_seed_entry(c, 1, 1, "a", true);
	cl_seed_entry(c, 1, 1, "b", true);
	cl_seed_entry(c, 1, 1, "c", false);
	cl_seed_entry(c, 1, 1, "d", false);
	REQUIRE(cl_start(c, 1) == RAFT_OK);
	n = c->node[1].raft;
	before = cl_status(c, 1);
	REQUIRE(before.lastApplied == 2);
	REQUIRE(before.stableIndex == 4);
	CHECK(raft_compact(n, 3) == RAFT_EINVAL);
	CHECK(raft_compact(n, 4) == RAFT_EINVAL);
	CHECK(raft_compact(n, 5) == RAFT_EINVAL);	/* past the log */
	CHECK(raft_compact(n, RAFT_MAX_INDEX) == RAFT_EINVAL);
	CHECK(holds_entry(c, 1, 1, 1, "a"));
	CHECK(holds_entry(c, 1, 3, 1, "c"));
	{
		raft_status now = cl_status(c, 1);

		CHECK(same_status(&before, &now));
	}
	CHECK(raft_compact(n, 0) == RAFT_OK);	/* nothing to do */
	CHECK(holds(c, 1, 1));
	CHECK(raft_compact(n, 2) == RAFT_OK);
	CHECK(!holds(c, 1, 1));
	CHECK(!holds(c, 1, 2));
	CHECK(holds_entry(c, 1, 3, 1, "c"));
	/* at or below what was compacted: nothing, not even a refusal */
	CHECK(raft_compact(n, 1) == RAFT_OK);
	CHECK(raft_compact(n, 2) == RAFT_OK);
	CHECK(holds_entry(c, 1, 3, 1, "c"));
	CHECK(raft_compact(n, 3) == RAFT_EINVAL);

	/* once 3..4 are committed and applied they may go too */
	m = msg_append(2, 1, 1, 4, 1, 4, NULL, 0);
	r = ask(c, &m, RAFT_MSG_APPEND_ENTRIES_RESULT);
	REQUIRE(r != NULL);
	CHECK(r->success);
	REQUIRE(cl_status(c, 1).lastApplied == 4);
	CHECK(raft_compact(n, 4) == RAFT_OK);
	CHECK(!holds(c, 1, 4));
	CHECK(c->violations == 0);
	cl_free(c);

	/* a leader's new entry is neither durable nor applied; a batch is out: busy */
	c = cl_new(3);
	cl_start_all(c);
	REQUIRE(cl_elect(c, 1));
	REQUIRE(cl_propose(c, 1, "a", NULL) == RAFT_OK);
	cl_deliver_all(c);
	n = c->node[1].raft;
	REQUIRE(cl_status(c, 1).lastApplied == 2);
	CHECK(raft_propose(n, "b", 1, NULL, NULL) == RAFT_OK);	/* index 3 */
	CHECK(raft_compact(n, 3) == RAFT_EINVAL);
	REQUIRE(raft_ready_get(n, &rd) == RAFT_OK);
	before = cl_status(c, 1);
	CHECK(raft_compact(n, 1) == RAFT_EBUSY);
	CHECK(raft_compact(n, 2) == RAFT_EBUSY);
	CHECK(holds(c, 1, 1));
	CHECK(rd.nEntries == 1 && rd.entries[0].index == 3 && cl_entry_data_is(&rd.entries[0], "b"));
	cl_host_batch(c, 1, &rd);
	CHECK(raft_advance(n, &rd) == RAFT_OK);
	CHECK(raft_compact(n, 2) == RAFT_OK);
	CHECK(!holds(c, 1, 2));
	cl_process(c, 1);
	cl_deliver_all(c);
	CHECK(cl_applied_data(c, 2, "b"));
	CHECK(cl_status(c, 1).lastApplied == 3);
	CHECK(raft_compact(n, 3) == RAFT_OK);
	CHECK(c->violations == 0);
	cl_free(c);

	/*
	 * Durable on its own: only a leader breaking Raft can replace an
	 * applied entry (a forged AppendEntries here), which leaves lastApplied
	 * above stableIndex; the entry that is not durable yet stays.
	 */
	c = cl_new(3);
	cl_seed_entry(c, 1, 1, "a", true);
	cl_seed_entry(c, 1, 1, "b", true);
	cl_seed_entry(c, 1, 1, "c", true);
	REQUIRE(cl_start(c, 1) == RAFT_OK);
	n = c->node[1].raft;
	memset(&e, 0, sizeof(e));
	e.index = 2;
	e.term = 2;
	m = msg_append(2, 1, 2, 1, 1, 0, &e, 1);
	CHECK(raft_step(n, &m) == RAFT_OK);
	before = cl_status(c, 1);
	REQUIRE(before.lastApplied == 3);
	REQUIRE(before.stableIndex == 1);
	CHECK(raft_compact(n, 2) == RAFT_EINVAL);
	CHECK(holds_entry(c, 1, 2, 2, ""));
	CHECK(raft_compact(n, 1) == RAFT_OK);
	CHECK(!holds(c, 1, 1));
	CHECK(holds(c, 1, 2));
	cl_free(c);
}

/*
 * After raft_compact(upto) the log holds upto + 1 .. last only, each entry
 * with its term and data; the last index and term stay what they were,
 * also when everything was compacted; commitIndex and lastApplied do not
 * move; and a compacted log takes new entries after its last one.
 */
static void
test_rule_compact_drops_entries_up_to_upto_only(void)
{
	static const char *data[] = {"a", "b", "c", "d", "e", "f"};
	static const raft_term terms[] = {1, 1, 2, 2, 3, 3};
	cluster    *c = cl_new(3);
	raft_node  *n;
	raft_status before,
				now;
	raft_message m;
	raft_entry	e;
	raft_index	i;
	const raft_message *r;

	for (i = 0; i < 6; i++)
		cl_seed_entry(c, 1, terms[i], data[i], true);
	REQUIRE(cl_start(c, 1) == RAFT_OK);
	n = c->node[1].raft;
	before = cl_status(c, 1);
	REQUIRE(before.lastLogIndex == 6 && before.lastLogTerm == 3 && before.lastApplied == 6);

	CHECK(raft_compact(n, 3) == RAFT_OK);
	for (i = 1; i <= 3; i++)
		CHECK(!holds(c, 1, i));
	for (i = 4; i <= 6; i++)
		CHECK(holds_entry(c, 1, i, terms[i - 1], data[i - 1]));
	CHECK(!holds(c, 1, 7));
	now = cl_status(c, 1);
	CHECK(same_status(&before, &now));

	/* below or at the compacted point: nothing moves */
	CHECK(raft_compact(n, 1) == RAFT_OK);
	CHECK(raft_compact(n, 3) == RAFT_OK);
	CHECK(holds_entry(c, 1, 4, 2, "d"));
	CHECK(!holds(c, 1, 3));

	/* everything: an empty log that still ends at 6, term 3 */
	CHECK(raft_compact(n, 6) == RAFT_OK);
	for (i = 0; i <= 7; i++)
		CHECK(!holds(c, 1, i));
	now = cl_status(c, 1);
	CHECK(same_status(&before, &now));
	CHECK(raft_compact(n, 7) == RAFT_EINVAL);

	/* it goes on after 6: the consistency check at 6 uses the term kept */
	memset(&e, 0, sizeof(e));
	e.index = 7;
	e.term = 3;
	e.len = 1;
	e.data = "g";
	m = msg_append(2, 1, 3, 6, 3, 7, &e, 1);
	r = ask(c, &m, RAFT_MSG_APPEND_ENTRIES_RESULT);
	REQUIRE(r != NULL);
	CHECK(r->success);
	CHECK(r->matchIndex == 7);
	CHECK(holds_entry(c, 1, 7, 3, "g"));
	CHECK(cl_status(c, 1).lastLogIndex == 7);
	CHECK(cl_applied_data(c, 1, "g"));
	CHECK(raft_compact(n, 7) == RAFT_OK);
	CHECK(!holds(c, 1, 7));
	CHECK(cl_status(c, 1).lastLogTerm == 3);
	CHECK(c->violations == 0);
	cl_free(c);
}

/*
 * A log compacted to nothing is as up to date as it was (§5.4.1 compares
 * last terms, then lengths): RequestVote is judged with the term of the
 * last compacted entry, and the node's own candidacy announces it.
 */
static void
test_rule_compacted_empty_log_judges_votes_by_last_included_term(void)
{
	raft_term	log[] = {1, 2, 2};
	cluster    *c = cl_new(3);
	raft_message m;
	const raft_message *r;
	size_t		i;

	for (i = 0; i < 3; i++)
		cl_seed_entry(c, 1, log[i], "", true);
	REQUIRE(cl_start(c, 1) == RAFT_OK);
	CHECK(raft_compact(c->node[1].raft, 3) == RAFT_OK);
	REQUIRE(!holds(c, 1, 3));

	/* longer, but its last term is older */
	m = msg_vote(2, 1, 3, 10, 1);
	r = ask(c, &m, RAFT_MSG_REQUEST_VOTE_RESULT);
	REQUIRE(r != NULL);
	CHECK(!r->voteGranted);
	/* same last term, shorter */
	m = msg_vote(3, 1, 4, 2, 2);
	r = ask(c, &m, RAFT_MSG_REQUEST_VOTE_RESULT);
	REQUIRE(r != NULL);
	CHECK(!r->voteGranted);
	/* same last term, same length */
	m = msg_vote(2, 1, 5, 3, 2);
	r = ask(c, &m, RAFT_MSG_REQUEST_VOTE_RESULT);
	REQUIRE(r != NULL);
	CHECK(r->voteGranted);
	/* later last term, shorter */
	m = msg_vote(3, 1, 6, 1, 3);
	r = ask(c, &m, RAFT_MSG_REQUEST_VOTE_RESULT);
	REQUIRE(r != NULL);
	CHECK(r->voteGranted);
	CHECK(cl_status(c, 1).votedFor == 3);

	/* its own candidacy: last index 3, last term 2 */
	cl_drop_all(c);
	CHECK(cl_campaign(c, 1) == RAFT_OK);
	r = cl_find_msg(c, 1, 2, RAFT_MSG_REQUEST_VOTE);
	REQUIRE(r != NULL);
	CHECK(r->term == 7);
	CHECK(r->lastLogIndex == 3);
	CHECK(r->lastLogTerm == 2);

	/* and it wins, and appends after 3 */
	m = msg_simple(RAFT_MSG_REQUEST_VOTE_RESULT, 2, 1, 7);
	m.voteGranted = true;
	CHECK(cl_step(c, 1, &m) == RAFT_OK);
	CHECK(cl_is_leader(c, 1));
	CHECK(holds_entry(c, 1, 4, 7, ""));
	CHECK(c->violations == 0);
	cl_free(c);
}

/* The first AppendEntries node 1 queued for `to` carrying entries; NULL if none. */
static const raft_message *
append_with_entries(cluster *c, raft_node_id to)
{
	size_t		i;

	for (i = 0; i < c->qn; i++)
		if (cl_msg_matches(&c->q[i].m, 1, to, RAFT_MSG_APPEND_ENTRIES) && c->q[i].m.nEntries > 0)
			return &c->q[i].m;
	return NULL;
}

/*
 * A leader whose log was compacted goes on replicating to up-to-date
 * followers: the AppendEntries after its compacted prefix names
 * prevLogIndex = its lastIncludedIndex with that entry's term, and a
 * follower that compacted to the same index (or past the leader) accepts
 * it by the term it kept.  Heartbeats keep passing (no follower is taken
 * for one that went back), and everything commits everywhere.
 */
static void
test_rule_compacted_leader_replicates_to_up_to_date_followers(void)
{
	cluster    *c = cl_new(3);
	const raft_message *m;
	raft_term	term;
	raft_index	x = 0;
	raft_node_id id;

	cl_start_all(c);
	REQUIRE(cl_elect(c, 1));
	term = cl_status(c, 1).currentTerm;
	REQUIRE(cl_propose(c, 1, "a", NULL) == RAFT_OK);
	REQUIRE(cl_propose(c, 1, "b", NULL) == RAFT_OK);
	cl_run(c, 2 * CL_HEARTBEAT);
	for (id = 1; id <= 3; id++)
		REQUIRE(cl_status(c, id).lastApplied == 3);

	/* the leader alone compacts 1..3 */
	CHECK(raft_compact(c->node[1].raft, 3) == RAFT_OK);
	cl_drop_all(c);
	REQUIRE(cl_propose(c, 1, "c", &x) == RAFT_OK);
	REQUIRE(x == 4);
	for (id = 2; id <= 3; id++)
	{
		m = append_with_entries(c, id);
		REQUIRE(m != NULL);
		CHECK(m->prevLogIndex == 3);
		CHECK(m->prevLogTerm == term);
		CHECK(m->nEntries == 1 && m->entries[0].index == 4);
	}
	cl_deliver_all(c);
	for (id = 1; id <= 3; id++)
		CHECK(cl_applied_data(c, id, "c"));

	/* the followers compact past the leader: to 4, the leader's log starts after 3 */
	CHECK(raft_compact(c->node[2].raft, 4) == RAFT_OK);
	CHECK(raft_compact(c->node[3].raft, 4) == RAFT_OK);
	cl_drop_all(c);
	REQUIRE(cl_propose(c, 1, "d", &x) == RAFT_OK);
	m = append_with_entries(c, 2);
	REQUIRE(m != NULL);
	CHECK(m->prevLogIndex == 4);
	cl_deliver_all(c);
	for (id = 1; id <= 3; id++)
	{
		CHECK(cl_applied_data(c, id, "d"));
		CHECK(holds_entry(c, id, 5, term, "d"));
		CHECK(!holds(c, id, 3));
	}

	/* everyone compacts everything; heartbeats, then more entries */
	for (id = 1; id <= 3; id++)
		CHECK(raft_compact(c->node[id].raft, 5) == RAFT_OK);
	cl_run(c, 4 * CL_HEARTBEAT);
	REQUIRE(cl_propose(c, 1, "e", &x) == RAFT_OK);
	CHECK(x == 6);
	cl_run(c, 2 * CL_HEARTBEAT);
	for (id = 1; id <= 3; id++)
	{
		CHECK(cl_applied_data(c, id, "e"));
		CHECK(cl_status(c, id).commitIndex == 6);
		CHECK(cl_status(c, id).currentTerm == term);
	}
	CHECK(cl_is_leader(c, 1));
	CHECK(progress_of(c, 2).matchIndex == 6);
	CHECK(progress_of(c, 3).matchIndex == 6);
	CHECK(cl_status(c, 1).followerRegressions == 0);
	CHECK(c->violations == 0);
	cl_free(c);
}

/*
 * A follower that compacted through 3 takes an AppendEntries whose
 * prevLogIndex is 3 by the term it kept, and refuses one whose
 * prevLogTerm there is another (only a broken leader sends that).  One
 * whose prevLogIndex is below 3 is answered as replication.c does: a
 * success matching through 3 (what it compacted was committed, so the
 * leader has it too), its entries unused, the log untouched.
 */
static void
test_rule_compacted_follower_answers_append_at_and_below_its_start(void)
{
	cluster    *c = cl_new(3);
	raft_entry	ents[6];
	raft_term	ones[6] = {1, 1, 1, 1, 1, 1};
	raft_message m;
	const raft_message *r;
	raft_index	i;

	for (i = 0; i < 5; i++)
		cl_seed_entry(c, 1, 1, "", true);
	REQUIRE(cl_start(c, 1) == RAFT_OK);
	REQUIRE(raft_compact(c->node[1].raft, 3) == RAFT_OK);

	/* below the start: 2..6 from prevLogIndex 1 */
	make_entries(ents, 2, ones, 5);
	m = msg_append(2, 1, 1, 1, 1, 5, ents, 5);
	r = ask(c, &m, RAFT_MSG_APPEND_ENTRIES_RESULT);
	REQUIRE(r != NULL);
	CHECK(r->success);
	CHECK(r->matchIndex == 3);
	CHECK(r->lastLogIndex == 5);
	CHECK(cl_status(c, 1).lastLogIndex == 5);
	CHECK(!holds(c, 1, 3));

	/* at index 0 */
	m = msg_append(2, 1, 1, 0, 0, 5, ents, 0);
	r = ask(c, &m, RAFT_MSG_APPEND_ENTRIES_RESULT);
	REQUIRE(r != NULL);
	CHECK(r->success);
	CHECK(r->matchIndex == 3);

	/* at the start: 4..6 after 3 */
	make_entries(ents, 4, ones, 3);
	m = msg_append(2, 1, 1, 3, 1, 6, ents, 3);
	r = ask(c, &m, RAFT_MSG_APPEND_ENTRIES_RESULT);
	REQUIRE(r != NULL);
	CHECK(r->success);
	CHECK(r->matchIndex == 6);
	CHECK(holds(c, 1, 6));
	CHECK(cl_status(c, 1).commitIndex == 6);

	/* at the start with another term */
	make_entries(ents, 4, (raft_term[]) {2}, 1);
	m = msg_append(2, 1, 2, 3, 2, 6, ents, 1);
	r = ask(c, &m, RAFT_MSG_APPEND_ENTRIES_RESULT);
	REQUIRE(r != NULL);
	CHECK(!r->success);
	CHECK(r->rejectedIndex == 3);
	CHECK(holds_entry(c, 1, 4, 1, ""));
	CHECK(cl_status(c, 1).lastLogIndex == 6);
	CHECK(c->violations == 0);
	cl_free(c);
}

/*
 * What a leader sends (to one follower, or to all): AppendEntries, those
 * with entries, and those whose prevLogTerm is not the term the leader's
 * log has at prevLogIndex (0 above index 0 included: no log matches it).
 * The leader's disk in cluster.h is never compacted and is written before
 * a batch's messages leave, so it holds the truth.
 */
typedef struct prev_term_watch
{
	raft_node_id leader;
	raft_node_id to;			/* RAFT_NONE: any */
	unsigned	appends;
	unsigned	withEntries;
	unsigned	wrong;
} prev_term_watch;

static void
prev_term_on_send(cluster *c, const raft_message *m, void *arg)
{
	prev_term_watch *w = arg;
	const cl_log *truth = &c->node[w->leader].log;
	raft_term	t;

	if (m->from != w->leader || m->type != RAFT_MSG_APPEND_ENTRIES ||
		(w->to != RAFT_NONE && m->to != w->to))
		return;
	w->appends++;
	if (m->nEntries > 0)
		w->withEntries++;
	t = m->prevLogIndex >= 1 && m->prevLogIndex <= truth->n ?
		truth->e[m->prevLogIndex - 1].term : 0;
	if (t == m->prevLogTerm && (m->prevLogIndex == 0 || t != 0))
		return;
	if (w->wrong == 0)
		fprintf(stderr, "  AppendEntries %llu -> %llu: prevLogIndex %llu, prevLogTerm %llu (the term there is %llu)\n",
				(unsigned long long) m->from, (unsigned long long) m->to,
				(unsigned long long) m->prevLogIndex, (unsigned long long) m->prevLogTerm,
				(unsigned long long) t);
	w->wrong++;
}

/*
 * A follower that needs entries the leader compacted cannot be served
 * (no InstallSnapshot yet): the leader leaves it be.  Nothing crashes, no
 * entry is sent to it and no AppendEntries it gets says anything false
 * about the leader's log; it keeps following the leader (no election),
 * and the others still replicate and commit.
 */
static void
test_rule_leader_leaves_alone_a_follower_that_needs_compacted_entries(void)
{
	cluster    *c = cl_new(3);
	prev_term_watch w = {1, 3, 0, 0, 0};
	raft_status leader;
	raft_progress pr;
	raft_index	x = 0;

	cl_start_all(c);
	REQUIRE(cl_elect(c, 1));	/* everyone holds the no-op at 1 */
	REQUIRE(cl_status(c, 3).lastLogIndex == 1);

	/* node 3 is down while 2..4 commit; 1 and 2 compact them */
	cl_crash(c, 3);
	REQUIRE(cl_propose(c, 1, "a", NULL) == RAFT_OK);
	REQUIRE(cl_propose(c, 1, "b", NULL) == RAFT_OK);
	REQUIRE(cl_propose(c, 1, "c", NULL) == RAFT_OK);
	cl_run(c, 2 * CL_HEARTBEAT);
	REQUIRE(cl_status(c, 1).lastApplied == 4);
	REQUIRE(cl_status(c, 2).lastApplied == 4);
	CHECK(raft_compact(c->node[1].raft, 4) == RAFT_OK);
	CHECK(raft_compact(c->node[2].raft, 4) == RAFT_OK);
	leader = cl_status(c, 1);

	/* node 3 comes back needing 2..4 */
	c->onSend = prev_term_on_send;
	c->onSendArg = &w;
	REQUIRE(cl_start(c, 3) == RAFT_OK);
	cl_run(c, 3 * CL_ELECTION_MAX);
	REQUIRE(cl_propose(c, 1, "x", &x) == RAFT_OK);
	cl_run(c, 3 * CL_ELECTION_MAX);

	CHECK(w.appends > 0);		/* heartbeats: it is not forgotten */
	CHECK(w.withEntries == 0);
	CHECK(w.wrong == 0);
	CHECK(cl_is_leader(c, 1));
	CHECK(cl_status(c, 1).currentTerm == leader.currentTerm);
	CHECK(cl_status(c, 3).currentTerm == leader.currentTerm);
	CHECK(cl_status(c, 3).leader == 1);
	CHECK(cl_status(c, 3).lastLogIndex == 1);
	CHECK(!cl_applied_data(c, 3, "x"));
	CHECK(cl_applied_data(c, 1, "x"));
	CHECK(cl_applied_data(c, 2, "x"));
	CHECK(cl_status(c, 1).commitIndex == x);
	pr = progress_of(c, 3);
	CHECK(pr.nextIndex <= 4);	/* it needs 2..4 */
	CHECK(pr.inflight == 0);
	CHECK(pr.matchIndex == 1);	/* what it holds, not taken for gone back */
	CHECK(!pr.regressed);
	CHECK(cl_status(c, 1).followerRegressions == 0);
	pr = progress_of(c, 2);
	CHECK(pr.matchIndex == x);
	CHECK(c->violations == 0);
	cl_free(c);
}

/*
 * Nodes compact at different times and to different points (each host
 * applies the compaction point when it gets to it, keeps what it likes).
 * A new leader whose log starts after 4 must serve a follower that
 * compacted only to 2 and holds everything: that follower answers a
 * heartbeat from before its start with its start (2), below the leader's;
 * the leader must not take it for one that needs 3..4, even when the
 * probe that would have settled it was lost.  Every AppendEntries names
 * the term the leader's log has at prevLogIndex.
 */
static void
test_rule_leader_serves_a_follower_that_compacted_less(void)
{
	cluster    *c = cl_new(3);
	prev_term_watch w = {2, RAFT_NONE, 0, 0, 0};
	raft_index	x = 0;
	raft_node_id id;
	size_t		k;
	unsigned	t;

	cl_start_all(c);
	REQUIRE(cl_elect(c, 1));
	for (k = 0; k < 4; k++)
		REQUIRE(cl_propose(c, 1, "a", NULL) == RAFT_OK);
	cl_run(c, 2 * CL_HEARTBEAT);
	for (id = 1; id <= 3; id++)
		REQUIRE(cl_status(c, id).lastApplied == 5);
	CHECK(raft_compact(c->node[1].raft, 4) == RAFT_OK);
	CHECK(raft_compact(c->node[2].raft, 4) == RAFT_OK);
	CHECK(raft_compact(c->node[3].raft, 2) == RAFT_OK);

	/* node 2 takes over; its probe to node 3 is lost */
	c->onSend = prev_term_on_send;
	c->onSendArg = &w;
	REQUIRE(cl_campaign(c, 2) == RAFT_OK);
	REQUIRE(cl_deliver_first(c, 2, 1, RAFT_MSG_REQUEST_VOTE));
	REQUIRE(cl_deliver_first(c, 1, 2, RAFT_MSG_REQUEST_VOTE_RESULT));
	REQUIRE(cl_is_leader(c, 2));
	k = queued_at(c, 2, 3, RAFT_MSG_APPEND_ENTRIES);
	REQUIRE(k < c->qn);
	{
		cl_msg		lost = cl_take(c, k);

		cl_msg_free(&lost);
	}
	cl_drop_all(c);				/* node 3's vote, whatever else */

	/* heartbeats, answered; then a new entry */
	for (t = 0; t < 6 * CL_HEARTBEAT; t++)
	{
		cl_tick(c, 2);
		cl_deliver_all(c);
	}
	REQUIRE(cl_propose(c, 2, "x", &x) == RAFT_OK);
	for (t = 0; t < 4 * CL_HEARTBEAT; t++)
		cl_tick_all(c);

	CHECK(w.appends > 0);
	CHECK(w.wrong == 0);
	CHECK(cl_is_leader(c, 2));
	CHECK(cl_applied_data(c, 3, "x"));
	CHECK(cl_status(c, 3).lastLogIndex == x);
	CHECK(cl_status(c, 2).followerRegressions == 0);
	CHECK(c->violations == 0);
	cl_free(c);
}

/*
 * A heartbeat names the term its leader's log has at the prevLogIndex it
 * names.  To a follower marked regressed it names regressedFrom (what the
 * follower had acknowledged): with regressedFrom's term, not matchIndex's,
 * else a follower holding another entry of matchIndex's term at
 * regressedFrom would take it for a match, and one that only sent a stale
 * answer would refuse it instead of settling the mark.
 */
static void
test_rule_heartbeat_names_the_term_at_its_prev_log_index(void)
{
	raft_term	log[] = {1, 1, 1};
	cluster    *c = cl_new(5);
	raft_message m;
	const raft_message *hb;
	raft_progress pr;
	raft_index	x = 0;
	size_t		i;
	unsigned	t;

	for (i = 0; i < 3; i++)
		cl_seed_entry(c, 1, log[i], "", false);
	REQUIRE(cl_start(c, 1) == RAFT_OK);
	CHECK(cl_campaign(c, 1) == RAFT_OK);
	for (i = 2; i <= 3; i++)
	{
		m = msg_simple(RAFT_MSG_REQUEST_VOTE_RESULT, (raft_node_id) i, 1, 2);
		m.voteGranted = true;
		CHECK(cl_step(c, 1, &m) == RAFT_OK);
	}
	REQUIRE(cl_is_leader(c, 1));	/* its no-op at 4, term 2 */
	REQUIRE(cl_propose(c, 1, "x", &x) == RAFT_OK);
	REQUIRE(x == 5);

	/* node 2 acknowledges 5, then a stale answer of its (matching 3 of 3) arrives */
	m = msg_simple(RAFT_MSG_APPEND_ENTRIES_RESULT, 2, 1, 2);
	m.success = true;
	m.matchIndex = 5;
	m.lastLogIndex = 5;
	CHECK(cl_step(c, 1, &m) == RAFT_OK);
	m.matchIndex = 3;
	m.lastLogIndex = 3;
	CHECK(cl_step(c, 1, &m) == RAFT_OK);
	pr = progress_of(c, 2);
	REQUIRE(pr.regressed && pr.regressedFrom == 5 && pr.matchIndex == 3);

	/* the next heartbeat asks about 5, with 5's term */
	cl_drop_all(c);
	for (t = 0; t < 2 * CL_HEARTBEAT && cl_count_msgs(c, 1, 2, RAFT_MSG_APPEND_ENTRIES) == 0; t++)
		cl_tick(c, 1);
	hb = cl_find_msg(c, 1, 2, RAFT_MSG_APPEND_ENTRIES);
	REQUIRE(hb != NULL);
	CHECK(hb->prevLogIndex == 5);
	CHECK(hb->prevLogTerm == 2);

	/* node 2 still holds 5: its answer settles the mark */
	m.matchIndex = 5;
	m.lastLogIndex = 5;
	CHECK(cl_step(c, 1, &m) == RAFT_OK);
	CHECK(!progress_of(c, 2).regressed);
	CHECK(c->violations == 0);
	cl_free(c);
}

/* An allocator that counts live bytes and can refuse realloc. */
typedef struct bytes_alloc
{
	long		live;
	size_t		bytes;
	bool		failRealloc;
	unsigned	reallocFailures;
} bytes_alloc;

#define BA_HEADER 16			/* keeps max_align_t alignment */

static void *
ba_malloc(void *ctx, size_t size)
{
	bytes_alloc *ba = ctx;
	char	   *p = malloc(size + BA_HEADER);

	if (p == NULL)
		return NULL;
	memcpy(p, &size, sizeof(size));
	ba->live++;
	ba->bytes += size;
	return p + BA_HEADER;
}

static void *
ba_realloc(void *ctx, void *ptr, size_t size)
{
	bytes_alloc *ba = ctx;
	char	   *h;
	size_t		old;

	if (ptr == NULL)
		return ba_malloc(ctx, size);
	if (ba->failRealloc)
	{
		ba->reallocFailures++;
		return NULL;
	}
	h = (char *) ptr - BA_HEADER;
	memcpy(&old, h, sizeof(old));
	h = realloc(h, size + BA_HEADER);
	if (h == NULL)
		return NULL;
	memcpy(h, &size, sizeof(size));
	ba->bytes = ba->bytes - old + size;
	return h + BA_HEADER;
}

static void
ba_free(void *ctx, void *ptr)
{
	bytes_alloc *ba = ctx;
	char	   *h;
	size_t		size;

	if (ptr == NULL)
		return;
	h = (char *) ptr - BA_HEADER;
	memcpy(&size, h, sizeof(size));
	ba->live--;
	ba->bytes -= size;
	free(h);
}

/* A one-member cluster's leader using alloc, with entries 2..n + 1 ("i<index>") applied. */
static raft_node *
long_log_leader(const raft_allocator *alloc, unsigned n)
{
	static const raft_node_id one[] = {1};
	raft_config cfg;
	raft_node  *node = NULL;
	char		buf[32];
	unsigned	k;

	memset(&cfg, 0, sizeof(cfg));
	cfg.id = 1;
	cfg.voters = one;
	cfg.nVoters = 1;
	cfg.electionTickMin = CL_ELECTION_MIN;
	cfg.electionTickMax = CL_ELECTION_MAX;
	cfg.heartbeatTick = CL_HEARTBEAT;
	cfg.allocator = alloc;
	if (raft_node_create(&cfg, NULL, NULL, 0, 0, &node) != RAFT_OK)
		return NULL;
	if (raft_campaign(node) != RAFT_OK)
	{
		raft_node_destroy(node);
		return NULL;
	}
	drain_ready(node);
	for (k = 0; k < n; k++)
	{
		snprintf(buf, sizeof(buf), "i%u", k + 2);
		if (raft_propose(node, buf, strlen(buf), NULL, NULL) != RAFT_OK)
		{
			raft_node_destroy(node);
			return NULL;
		}
		if (k % 100 == 99)
			drain_ready(node);
	}
	drain_ready(node);
	return node;
}

/* Does node hold from .. to, each with its "i<index>" (the no-op at 1 has no data)? */
static bool
holds_numbered(raft_node *node, raft_index from, raft_index to)
{
	raft_index	i;

	for (i = from; i <= to; i++)
	{
		raft_entry	e;
		char		buf[32];

		snprintf(buf, sizeof(buf), "i%llu", (unsigned long long) i);
		if (!raft_log_entry(node, i, &e) || e.index != i ||
			!cl_entry_data_is(&e, i == 1 ? "" : buf))
		{
			fprintf(stderr, "  entry %llu missing or wrong\n", (unsigned long long) i);
			return false;
		}
	}
	return true;
}

/*
 * Compaction gives memory back: a long log compacted to a few entries
 * shrinks its entry array (a little compaction keeps it), and the log is
 * the same as before, taking new entries.  When the shrinking realloc
 * fails, raft_compact still succeeds with the larger array and nothing is
 * lost.  No leak either way.
 */
static void
test_rule_compact_gives_memory_back_and_survives_a_failed_shrink(void)
{
	bytes_alloc ba;
	raft_allocator alloc = {ba_malloc, ba_realloc, ba_free, &ba};
	raft_node  *n;
	raft_status st;
	size_t		before,
				data;
	int			pass;
	char		buf[32];
	raft_index	i;

	for (pass = 0; pass < 2; pass++)
	{
		bool		failShrink = pass == 1;

		memset(&ba, 0, sizeof(ba));
		n = long_log_leader(&alloc, 1000);
		REQUIRE(n != NULL);
		raft_get_status(n, &st);
		REQUIRE(st.lastApplied == 1001);
		REQUIRE(st.stableIndex == 1001);

		/* a little: the array stays, only the data of 2..11 goes */
		before = ba.bytes;
		CHECK(raft_compact(n, 11) == RAFT_OK);
		data = 0;
		for (i = 2; i <= 11; i++)
			data += (size_t) snprintf(buf, sizeof(buf), "i%llu", (unsigned long long) i);
		CHECK(before - ba.bytes == data);
		CHECK(holds_numbered(n, 12, 1001));

		/* most of it: 10 entries left of an array of 1001 or more */
		before = ba.bytes;
		data = 0;
		for (i = 12; i <= 991; i++)
			data += (size_t) snprintf(buf, sizeof(buf), "i%llu", (unsigned long long) i);
		ba.failRealloc = failShrink;
		CHECK(raft_compact(n, 991) == RAFT_OK);
		ba.failRealloc = false;
		if (failShrink)
		{
			CHECK(ba.reallocFailures == 1);
			CHECK(before - ba.bytes == data);
		}
		else
		{
			CHECK(ba.reallocFailures == 0);
			CHECK(before - ba.bytes >= data + (1001 - 64) * sizeof(raft_entry));
		}
		CHECK(!raft_log_entry(n, 991, &(raft_entry) {0}));
		CHECK(holds_numbered(n, 992, 1001));
		raft_get_status(n, &st);
		CHECK(st.lastLogIndex == 1001);
		CHECK(st.commitIndex == 1001);

		/* it goes on: 300 more, compacted again */
		for (i = 1002; i <= 1301; i++)
		{
			snprintf(buf, sizeof(buf), "i%llu", (unsigned long long) i);
			CHECK(raft_propose(n, buf, strlen(buf), NULL, NULL) == RAFT_OK);
		}
		drain_ready(n);
		CHECK(holds_numbered(n, 992, 1301));
		raft_get_status(n, &st);
		CHECK(st.lastApplied == 1301);
		CHECK(raft_compact(n, 1290) == RAFT_OK);
		CHECK(holds_numbered(n, 1291, 1301));
		CHECK(!raft_log_entry(n, 1290, &(raft_entry) {0}));
		raft_node_destroy(n);
		CHECK(ba.live == 0);
		CHECK(ba.bytes == 0);
	}
}

int
main(void)
{
	/* line by line: a sanitizer report at exit must not swallow the results */
	setvbuf(stdout, NULL, _IOLBF, 0);
	RUN_TEST(test_rule_append_entries_reply_false_if_term_older);
	RUN_TEST(test_rule_append_entries_reply_false_if_prev_entry_missing);
	RUN_TEST(test_rule_append_entries_reply_false_if_prev_term_differs);
	RUN_TEST(test_rule_append_entries_delete_conflicting_entry_and_all_that_follow);
	RUN_TEST(test_rule_append_entries_stale_duplicate_does_not_truncate);
	RUN_TEST(test_rule_append_entries_append_new_entries_not_already_in_log);
	RUN_TEST(test_rule_append_entries_commit_index_is_min_of_leader_commit_and_last_new_entry);
	RUN_TEST(test_rule_request_vote_reply_false_if_term_older);
	RUN_TEST(test_rule_request_vote_one_vote_per_term);
	RUN_TEST(test_rule_request_vote_only_for_up_to_date_log);
	RUN_TEST(test_rule_vote_is_in_hard_state_before_grant_is_sent);
	RUN_TEST(test_rule_higher_term_in_any_message_makes_follower);
	RUN_TEST(test_rule_higher_term_makes_candidate_follower);
	RUN_TEST(test_rule_leader_never_commits_earlier_term_entry_by_counting_replicas);
	RUN_TEST(test_rule_committed_entries_handed_out_once_in_order);
	RUN_TEST(test_rule_follower_applies_only_confirmed_durable_entries);
	RUN_TEST(test_rule_propose_on_non_leader_returns_enotleader);
	RUN_TEST(test_rule_calls_between_ready_and_advance_return_ebusy);
	RUN_TEST(test_rule_invalid_config_returns_einval);
	RUN_TEST(test_rule_allocation_failure_returns_enomem_and_recovers);
	RUN_TEST(test_rule_flow_control_max_inflight);
	RUN_TEST(test_rule_leader_tells_followers_new_commit_in_the_same_batch);
	RUN_TEST(test_rule_append_entries_payload_within_max_msg_bytes);
	RUN_TEST(test_rule_pre_vote_changes_no_term);
	RUN_TEST(test_rule_lease_ignores_vote_while_leader_is_live);
	RUN_TEST(test_rule_leader_unreachable_is_noop_unless_about_own_leader);
	RUN_TEST(test_rule_leader_unreachable_forgets_leader_and_campaigns_soon);
	RUN_TEST(test_rule_leader_unreachable_never_delays_election);
	RUN_TEST(test_rule_leader_unreachable_lifts_the_lease);
	RUN_TEST(test_rule_log_may_start_after_index_one);
	RUN_TEST(test_rule_forwarded_command_is_appended_by_the_leader_only);
	RUN_TEST(test_rule_forged_huge_term_is_refused_and_changes_nothing);
	RUN_TEST(test_rule_forged_huge_index_is_refused_and_changes_nothing);
	RUN_TEST(test_rule_term_never_passes_max);
	RUN_TEST(test_rule_log_never_passes_max_index);
	RUN_TEST(test_rule_restore_refuses_out_of_range_state);
	RUN_TEST(test_rule_vote_floor_current_term_starts_at_floor_term);
	RUN_TEST(test_rule_vote_floor_no_vote_in_a_term_up_to_floor_term);
	RUN_TEST(test_rule_vote_floor_no_vote_while_log_below_floor_index);
	RUN_TEST(test_rule_vote_floor_no_campaign_while_log_below_floor_index);
	RUN_TEST(test_rule_vote_floor_follower_appends_and_acknowledges);
	RUN_TEST(test_rule_vote_floor_lifted_once_log_and_term_passed_it);
	RUN_TEST(test_rule_vote_floor_needs_a_leaders_match_not_a_long_log);
	RUN_TEST(test_rule_leader_does_not_count_match_a_follower_lost);
	RUN_TEST(test_rule_leader_lowers_match_on_any_answer_showing_a_shorter_log);
	RUN_TEST(test_rule_compact_refuses_unapplied_undurable_and_busy);
	RUN_TEST(test_rule_compact_drops_entries_up_to_upto_only);
	RUN_TEST(test_rule_compacted_empty_log_judges_votes_by_last_included_term);
	RUN_TEST(test_rule_compacted_leader_replicates_to_up_to_date_followers);
	RUN_TEST(test_rule_compacted_follower_answers_append_at_and_below_its_start);
	RUN_TEST(test_rule_leader_leaves_alone_a_follower_that_needs_compacted_entries);
	RUN_TEST(test_rule_leader_serves_a_follower_that_compacted_less);
	RUN_TEST(test_rule_heartbeat_names_the_term_at_its_prev_log_index);
	RUN_TEST(test_rule_compact_gives_memory_back_and_survives_a_failed_shrink);
	return test_summary("test_rules");
}
