/*
 * test_snapshot.c — rule tests of InstallSnapshot (raft.h, "InstallSnapshot";
 * replication.c, node.c raft_snapshot_installed): when a leader sends it,
 * how often, what a follower does with it, what installing a snapshot does
 * to a node, and how replication resumes after it; learners, membership
 * changes and vote floors across an install.
 *
 * Clusters are cluster.h's: nodes 1..3 start as the voters {1, 2, 3};
 * nodes 4 and 5, when present, start with an EMPTY configuration (servers
 * to be added).  Compaction is in memory only (raft_compact): the fake
 * disks keep every entry, which is what lets a host here "copy a snapshot"
 * from another node's disk and state machine.
 */
#include <string.h>

#include "cluster.h"
#include "testlib.h"

static const raft_node_id three[] = {1, 2, 3};


/* members {1, 2, 3} voters, then the given learners */
static size_t
config_of(raft_member *m, const raft_node_id *learners, size_t nl)
{
	size_t		i,
				n = 0;

	memset(m, 0, sizeof(raft_member) * (3 + nl));
	for (i = 1; i <= 3; i++)
	{
		m[n].id = i;
		m[n++].voter = true;
	}
	for (i = 0; i < nl; i++)
		m[n++].id = learners[i];
	return n;
}

/* What the batches of a node said about snapshots, while processing them. */
typedef struct snap_seen
{
	unsigned	reports;
	raft_node_id leader;
	raft_index	index;
	raft_term	term;
} snap_seen;

/* cl_process, noting ready.snapshotNeeded */
static void
process_noting(cluster *c, raft_node_id id, snap_seen *seen)
{
	cl_node    *nd = &c->node[id];

	while (nd->raft != NULL && raft_has_ready(nd->raft))
	{
		raft_ready	rd;

		REQUIRE(raft_ready_get(nd->raft, &rd) == RAFT_OK);
		/* (REQUIRE returns; a failed one ends the test) */
		if (rd.snapshotNeeded)
		{
			seen->reports++;
			seen->leader = rd.snapshotLeader;
			seen->index = rd.snapshotIndex;
			seen->term = rd.snapshotTerm;
		}
		cl_host_batch(c, id, &rd);
		REQUIRE(raft_advance(nd->raft, &rd) == RAFT_OK);
	}
}

static int
step_noting(cluster *c, raft_node_id id, const raft_message *m, snap_seen *seen)
{
	int			rc = raft_step(c->node[id].raft, m);

	process_noting(c, id, seen);
	return rc;
}

/* The first queued message from -> to of type, copied (caller frees), or false. */
static bool
take_msg(cluster *c, raft_node_id from, raft_node_id to, int type, cl_msg *out)
{
	size_t		k;

	for (k = 0; k < c->qn; k++)
		if (cl_msg_matches(&c->q[k].m, from, to, type))
		{
			*out = cl_take(c, k);
			return true;
		}
	return false;
}

/*
 * The host of id installs a snapshot copied from node from at index: its
 * disk's log and state machine become from's prefix through index (all
 * durable, at once), then raft_snapshot_installed.
 */
static int
install(cluster *c, raft_node_id id, raft_node_id from, raft_index index,
		const raft_member *m, size_t n)
{
	cl_node    *nd = &c->node[id];
	cl_node    *src = &c->node[from];
	raft_index	i;
	int			rc;

	if (src->applied < index || src->log.n < index)
	{
		CHECK(!"install: the source has not applied the index");
		return RAFT_EINVAL;
	}
	cl_log_truncate(&nd->log, 1);
	cl_log_truncate(&nd->sm, 1);
	for (i = 0; i < index; i++)
	{
		cl_log_append(&nd->log, &src->log.e[i]);
		cl_log_append(&nd->sm, &src->sm.e[i]);
	}
	nd->applied = index;
	rc = raft_snapshot_installed(nd->raft, index, src->log.e[index - 1].term, m, n);
	cl_process(c, id);
	return rc;
}

/*
 * Tick the leader and deliver everything, in order, until it has queued an
 * InstallSnapshot for id (left in the queue: true), at most maxTicks.
 */
static bool
until_snapshot_sent(cluster *c, raft_node_id leader, raft_node_id id, unsigned maxTicks)
{
	unsigned	t;

	for (t = 0; t <= maxTicks; t++)
	{
		if (t > 0)
			cl_tick(c, leader);
		while (c->qn > 0)
		{
			if (cl_count_msgs(c, leader, id, RAFT_MSG_INSTALL_SNAPSHOT) > 0)
				return true;
			cl_deliver_at(c, 0);
		}
		if (cl_count_msgs(c, leader, id, RAFT_MSG_INSTALL_SNAPSHOT) > 0)
			return true;
	}
	return false;
}

/* Term of the entry at index on a node's disk (which keeps everything here). */
static raft_term
disk_term(cluster *c, raft_node_id id, raft_index index)
{
	if (index == 0 || index > c->node[id].log.n)
		return 0;
	return c->node[id].log.e[index - 1].term;
}

/* Same last index, and the same terms wherever both in-memory logs still hold entries. */
static bool
same_log(cluster *c, raft_node_id a, raft_node_id b)
{
	raft_status sa = cl_status(c, a);
	raft_status sb = cl_status(c, b);
	raft_index	i;

	if (sa.lastLogIndex != sb.lastLogIndex || sa.lastLogTerm != sb.lastLogTerm)
		return false;
	for (i = 1; i <= sa.lastLogIndex; i++)
	{
		raft_entry	ea,
					eb;

		if (raft_log_entry(c->node[a].raft, i, &ea) && raft_log_entry(c->node[b].raft, i, &eb) &&
			ea.term != eb.term)
			return false;
	}
	return true;
}

static bool
progress_of(cluster *c, raft_node_id leader, raft_node_id id, raft_progress *out)
{
	size_t		i;

	for (i = 0; raft_get_progress(c->node[leader].raft, i, out); i++)
		if (out->id == id)
			return true;
	return false;
}

/*
 * {1, 2, 3} led by 1; 3 cut off while 1 commits `more` entries, then 1
 * compacts its log to what it applied.  Returns that index.
 */
static raft_index
leave_behind(cluster *c, raft_node_id behind, unsigned more)
{
	unsigned	i;
	raft_index	upto;

	cl_isolate(c, behind, true);
	for (i = 0; i < more; i++)
	{
		char		buf[32];

		snprintf(buf, sizeof(buf), "cmd%u", i);
		CHECK(cl_propose(c, 1, buf, NULL) == RAFT_OK);
		cl_deliver_all(c);
	}
	cl_run(c, 2);
	upto = cl_status(c, 1).lastApplied;
	CHECK(raft_compact(c->node[1].raft, upto) == RAFT_OK);
	cl_isolate(c, behind, false);
	return upto;
}

/* ---------------------------------------------------------------------
 * Leader side
 * --------------------------------------------------------------------- */
static void
test_leader_sends_snapshot_when_next_is_compacted(void)
{
	cluster    *c = cl_new_three_voters(3, false, false);
	raft_index	upto;
	raft_progress pr;
	raft_term	term;
	cl_msg		msg;
	unsigned	t,
				snaps;

	cl_elect(c, 1);
	term = cl_status(c, 1).currentTerm;
	/* nothing compacted: no snapshot, whoever lags */
	cl_isolate(c, 3, true);
	CHECK(cl_propose(c, 1, "a", NULL) == RAFT_OK);
	cl_deliver_all(c);
	CHECK(progress_of(c, 1, 3, &pr) && !pr.needsSnapshot);
	cl_isolate(c, 3, false);
	cl_drop_all(c);

	upto = leave_behind(c, 3, 5);
	CHECK(upto > 3);
	CHECK(progress_of(c, 1, 2, &pr) && !pr.needsSnapshot);
	/* not before the leader knows where 3's log stands */
	CHECK(progress_of(c, 1, 3, &pr) && (pr.nextIndex <= upto) == pr.needsSnapshot);
	CHECK(cl_count_msgs(c, 1, 3, RAFT_MSG_INSTALL_SNAPSHOT) == 0 || pr.needsSnapshot);
	/* heartbeats find 3 behind: its nextIndex is in the compacted prefix */
	REQUIRE(until_snapshot_sent(c, 1, 3, 10 * CL_HEARTBEAT));
	CHECK(progress_of(c, 1, 3, &pr) && pr.nextIndex <= upto && pr.needsSnapshot);
	CHECK(progress_of(c, 1, 1, &pr) && !pr.needsSnapshot);
	CHECK(progress_of(c, 1, 2, &pr) && !pr.needsSnapshot);
	CHECK(cl_count_msgs(c, 1, 3, RAFT_MSG_INSTALL_SNAPSHOT) == 1);
	CHECK(cl_count_msgs(c, 1, 2, RAFT_MSG_INSTALL_SNAPSHOT) == 0);
	CHECK(take_msg(c, 1, 3, RAFT_MSG_INSTALL_SNAPSHOT, &msg));
	CHECK(msg.m.term == term && msg.m.lastIncludedIndex == upto &&
		  msg.m.lastIncludedTerm == disk_term(c, 1, upto));
	cl_msg_free(&msg);
	cl_drop_all(c);
	/* it is lost; resent once per heartbeat interval, with the heartbeats */
	snaps = 0;
	for (t = 0; t < 5 * CL_HEARTBEAT; t++)
	{
		cl_tick(c, 1);
		snaps += (unsigned) cl_count_msgs(c, 1, 3, RAFT_MSG_INSTALL_SNAPSHOT);
		CHECK(cl_count_msgs(c, 1, 3, RAFT_MSG_INSTALL_SNAPSHOT) <= 1);
		if (t % CL_HEARTBEAT == CL_HEARTBEAT - 1)
			CHECK(cl_count_msgs(c, 1, 3, RAFT_MSG_APPEND_ENTRIES) == 1);
		/* nothing else makes it send again: a proposal, an answer from 2 */
		CHECK(cl_propose(c, 1, "x", NULL) == RAFT_OK);
		CHECK(cl_count_msgs(c, 1, 3, RAFT_MSG_INSTALL_SNAPSHOT) <= 1);
		cl_drop_all(c);
	}
	CHECK(snaps == 5);
	CHECK(cl_is_leader(c, 1));
	CHECK(c->violations == 0);
	cl_free(c);
}

/* ---------------------------------------------------------------------
 * Follower side
 * --------------------------------------------------------------------- */
static void
test_follower_reports_once_and_answers_when_it_holds(void)
{
	cluster    *c = cl_new_three_voters(3, false, false);
	raft_index	upto;
	snap_seen	seen;
	cl_msg		msg;
	raft_message m;
	raft_status st;
	unsigned	electionBefore;

	cl_elect(c, 1);
	upto = leave_behind(c, 3, 6);
	REQUIRE(until_snapshot_sent(c, 1, 3, 10 * CL_HEARTBEAT));
	REQUIRE(take_msg(c, 1, 3, RAFT_MSG_INSTALL_SNAPSHOT, &msg));
	cl_drop_all(c);

	/* 3 cannot answer from its log: its host is told, once */
	memset(&seen, 0, sizeof(seen));
	st = cl_status(c, 3);
	CHECK(!st.snapshotNeeded && st.snapshotIndex == 0);
	CHECK(step_noting(c, 3, &msg.m, &seen) == RAFT_OK);
	CHECK(seen.reports == 1 && seen.leader == 1 && seen.index == upto &&
		  seen.term == disk_term(c, 1, upto));
	st = cl_status(c, 3);
	CHECK(st.snapshotNeeded && st.snapshotIndex == upto && st.leader == 1);
	/* a resend: no new report, nothing sent back */
	CHECK(step_noting(c, 3, &msg.m, &seen) == RAFT_OK);
	CHECK(seen.reports == 1);
	CHECK(cl_count_msgs(c, 3, 1, 0) == 0);
	/* it recognises the leader, and its election timer starts again */
	for (electionBefore = 0; electionBefore < CL_ELECTION_MIN - 1; electionBefore++)
		cl_tick(c, 3);
	CHECK(step_noting(c, 3, &msg.m, &seen) == RAFT_OK);
	for (electionBefore = 0; electionBefore < CL_ELECTION_MIN - 1; electionBefore++)
		cl_tick(c, 3);
	CHECK(cl_status(c, 3).role == RAFT_FOLLOWER);
	/* an older request (lower index) from the same leader: nothing either */
	m = msg.m;
	m.lastIncludedIndex = upto - 1;
	m.lastIncludedTerm = disk_term(c, 1, upto - 1);
	CHECK(step_noting(c, 3, &m, &seen) == RAFT_OK && seen.reports == 1);
	CHECK(cl_status(c, 3).snapshotIndex == upto);

	/* a stale term: refused with our term, not reported */
	m = msg.m;
	m.term = msg.m.term - 1;
	m.lastIncludedIndex = upto + 1;
	m.lastIncludedTerm = 1;
	if (m.term > 0)
	{
		CHECK(step_noting(c, 3, &m, &seen) == RAFT_OK && seen.reports == 1);
		CHECK(cl_count_msgs(c, 3, 1, RAFT_MSG_APPEND_ENTRIES_RESULT) == 1);
		CHECK(cl_status(c, 3).snapshotIndex == upto);
		cl_drop_all(c);
	}
	/* malformed: index or term 0, term above the message's */
	m = msg.m;
	m.lastIncludedIndex = 0;
	CHECK(raft_step(c->node[3].raft, &m) == RAFT_EINVAL);
	m = msg.m;
	m.lastIncludedTerm = 0;
	CHECK(raft_step(c->node[3].raft, &m) == RAFT_EINVAL);
	m = msg.m;
	m.lastIncludedTerm = m.term + 1;
	CHECK(raft_step(c->node[3].raft, &m) == RAFT_EINVAL);

	/* 2 holds upto with that term: it answers as to a heartbeat */
	m = msg.m;
	m.to = 2;
	memset(&seen, 0, sizeof(seen));
	CHECK(step_noting(c, 2, &m, &seen) == RAFT_OK && seen.reports == 0);
	CHECK(!cl_status(c, 2).snapshotNeeded);
	{
		cl_msg		ans;

		REQUIRE(take_msg(c, 2, 1, RAFT_MSG_APPEND_ENTRIES_RESULT, &ans));
		CHECK(ans.m.success && ans.m.matchIndex == upto);
		cl_msg_free(&ans);
	}
	/* the same index with another term, and 2 had not committed it: reported */
	m.lastIncludedIndex = cl_status(c, 2).lastLogIndex + 1;
	CHECK(step_noting(c, 2, &m, &seen) == RAFT_OK && seen.reports == 1);
	CHECK(cl_status(c, 2).snapshotNeeded);
	cl_drop_all(c);
	cl_msg_free(&msg);
	CHECK(c->violations == 0);
	cl_free(c);
}


/*
 * A follower that holds an entry at lastIncludedIndex, but of another term
 * (an uncommitted entry of an old leader), must not answer as if it
 * matched: it is reported.
 */
static void
test_follower_with_other_term_at_index_reports(void)
{
	cluster    *c = cl_new(3);
	raft_message m;
	snap_seen	seen;
	size_t		i;

	for (i = 1; i <= 3; i++)
	{
		c->node[i].cfg.voters = three;
		c->node[i].cfg.nVoters = 3;
	}
	/* 3 holds 1/1 2/1 3/1, none committed as far as it knows */
	cl_seed_entry(c, 3, 1, "old1", false);
	cl_seed_entry(c, 3, 1, "old2", false);
	cl_seed_entry(c, 3, 1, "old3", false);
	cl_start_all(c);
	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_INSTALL_SNAPSHOT;
	m.from = 1;
	m.to = 3;
	m.term = 5;
	m.lastIncludedIndex = 2;
	m.lastIncludedTerm = 4;
	memset(&seen, 0, sizeof(seen));
	CHECK(step_noting(c, 3, &m, &seen) == RAFT_OK);
	CHECK(seen.reports == 1 && seen.index == 2 && seen.term == 4 && seen.leader == 1);
	CHECK(cl_count_msgs(c, 3, 1, RAFT_MSG_APPEND_ENTRIES_RESULT) == 0);
	CHECK(cl_status(c, 3).snapshotNeeded);
	/* the same index with the term it holds: a match, answered */
	cl_drop_all(c);
	m.lastIncludedTerm = 1;
	m.from = 2;
	CHECK(step_noting(c, 3, &m, &seen) == RAFT_OK && seen.reports == 1);
	CHECK(cl_count_msgs(c, 3, 2, RAFT_MSG_APPEND_ENTRIES_RESULT) == 1);
	cl_drop_all(c);
	/* installing 2/4 drops the whole log: nothing of the conflicting 3/1 stays */
	{
		raft_member cfg[3];
		size_t		n = config_of(cfg, NULL, 0);
		raft_status st;
		raft_entry	e;

		CHECK(raft_snapshot_installed(c->node[3].raft, 2, 4, cfg, n) == RAFT_OK);
		st = cl_status(c, 3);
		CHECK(st.lastLogIndex == 2 && st.lastLogTerm == 4 && st.commitIndex == 2 &&
			  st.lastApplied == 2 && st.stableIndex == 2);
		CHECK(!raft_log_entry(c->node[3].raft, 3, &e) && !raft_log_entry(c->node[3].raft, 2, &e));
	}
	cl_drop_all(c);
	CHECK(c->violations == 0);
	cl_free(c);
}

/* ---------------------------------------------------------------------
 * raft_snapshot_installed
 * --------------------------------------------------------------------- */
static void
test_snapshot_installed_semantics_and_refusals(void)
{
	cluster    *c = cl_new_three_voters(3, false, false);
	raft_index	upto;
	raft_member m[3];
	size_t		n = config_of(m, NULL, 0);
	raft_status st,
				ld;
	raft_ready	rd;
	raft_member bad[1];
	cl_msg		ans;
	raft_index	idx;

	cl_elect(c, 1);
	upto = leave_behind(c, 3, 8);
	REQUIRE(until_snapshot_sent(c, 1, 3, 10 * CL_HEARTBEAT));
	cl_deliver_all(c);
	st = cl_status(c, 3);
	CHECK(st.snapshotNeeded && st.snapshotIndex == upto);
	CHECK(st.lastLogIndex < upto);

	/* refusals; nothing changes */
	CHECK(raft_snapshot_installed(NULL, upto, 1, m, n) == RAFT_EINVAL);
	CHECK(raft_snapshot_installed(c->node[3].raft, 0, 1, m, n) == RAFT_EINVAL);
	CHECK(raft_snapshot_installed(c->node[3].raft, upto, 0, m, n) == RAFT_EINVAL);
	CHECK(raft_snapshot_installed(c->node[3].raft, upto, st.currentTerm + 1, m, n) == RAFT_EINVAL);
	CHECK(raft_snapshot_installed(c->node[3].raft, RAFT_MAX_INDEX + 1, 1, m, n) == RAFT_EINVAL);
	memset(bad, 0, sizeof(bad));
	bad[0].id = 1;				/* no voter */
	CHECK(raft_snapshot_installed(c->node[3].raft, upto, disk_term(c, 1, upto), bad, 1) == RAFT_EINVAL);
	CHECK(raft_snapshot_installed(c->node[3].raft, upto, disk_term(c, 1, upto), NULL, 0) == RAFT_EINVAL);
	if (st.lastApplied > 0)
		CHECK(raft_snapshot_installed(c->node[3].raft, st.lastApplied - 1, 1, m, n) == RAFT_EINVAL);
	/* a leader never installs */
	CHECK(raft_snapshot_installed(c->node[1].raft, upto, disk_term(c, 1, upto), m, n) == RAFT_EINVAL);
	/* between raft_ready_get and raft_advance: busy */
	CHECK(raft_propose(c->node[1].raft, "y", 1, NULL, NULL) == RAFT_OK);
	REQUIRE(raft_ready_get(c->node[1].raft, &rd) == RAFT_OK);
	CHECK(raft_snapshot_installed(c->node[1].raft, upto, 1, m, n) == RAFT_EBUSY);
	cl_host_batch(c, 1, &rd);
	REQUIRE(raft_advance(c->node[1].raft, &rd) == RAFT_OK);
	cl_drop_all(c);
	{
		raft_status after = cl_status(c, 3);

		CHECK(after.lastLogIndex == st.lastLogIndex && after.commitIndex == st.commitIndex &&
			  after.lastApplied == st.lastApplied && after.snapshotNeeded);
	}

	/* installed (a copy from 2, not the leader) */
	REQUIRE(c->node[2].applied >= upto);
	CHECK(install(c, 3, 2, upto, m, n) == RAFT_OK);
	st = cl_status(c, 3);
	CHECK(st.lastLogIndex == upto && st.lastLogTerm == disk_term(c, 1, upto));
	CHECK(st.commitIndex == upto && st.lastApplied == upto && st.stableIndex == upto);
	CHECK(!st.snapshotNeeded && st.snapshotIndex == 0);
	CHECK(st.nMembers == 3 && st.nVoters == 3 && st.isVoter && st.configIndex == upto && st.configCommitted);
	{
		raft_entry	e;

		CHECK(!raft_log_entry(c->node[3].raft, upto, &e));
	}
	/* it told its leader it matches through upto */
	REQUIRE(take_msg(c, 3, 1, RAFT_MSG_APPEND_ENTRIES_RESULT, &ans));
	CHECK(ans.m.success && ans.m.matchIndex == upto && ans.m.lastLogIndex == upto);
	/* the leader resumes from upto + 1 */
	cl_rc(c, raft_step(c->node[1].raft, &ans.m), "raft_step", 1);
	cl_msg_free(&ans);
	{
		raft_progress pr;

		CHECK(progress_of(c, 1, 3, &pr) && pr.matchIndex == upto && !pr.needsSnapshot);
	}
	cl_process(c, 1);
	CHECK(cl_count_msgs(c, 1, 3, RAFT_MSG_APPEND_ENTRIES) >= 1);
	{
		cl_msg		ae;

		REQUIRE(take_msg(c, 1, 3, RAFT_MSG_APPEND_ENTRIES, &ae));
		CHECK(ae.m.prevLogIndex == upto && ae.m.nEntries > 0);
		cl_msg_free(&ae);
	}
	cl_drop_all(c);
	cl_run(c, 3 * CL_HEARTBEAT);
	ld = cl_status(c, 1);
	st = cl_status(c, 3);
	CHECK(st.lastLogIndex == ld.lastLogIndex && st.commitIndex == ld.commitIndex);
	CHECK(cl_propose(c, 1, "after-install", &idx) == RAFT_OK);
	cl_run(c, 3 * CL_HEARTBEAT);
	CHECK(cl_applied_data(c, 3, "after-install"));
	/* a second install below what it applied: refused */
	CHECK(raft_snapshot_installed(c->node[3].raft, upto, disk_term(c, 1, upto), m, n) == RAFT_EINVAL);

	/* a crash: it restarts from what its host made durable (here: the full copy) */
	cl_crash(c, 3);
	CHECK(cl_start(c, 3) == RAFT_OK);
	cl_run(c, 3 * CL_HEARTBEAT);
	CHECK(cl_status(c, 3).lastApplied == cl_status(c, 1).lastApplied);
	CHECK(c->violations == 0);
	cl_free(c);
}

/* An install with the leader unknown sends nothing; the next request is answered as a heartbeat. */
static void
test_install_without_known_leader(void)
{
	cluster    *c = cl_new_three_voters(3, false, false);
	raft_index	upto;
	raft_member m[3];
	size_t		n = config_of(m, NULL, 0);
	cl_msg		ans;

	cl_elect(c, 1);
	upto = leave_behind(c, 3, 5);
	REQUIRE(until_snapshot_sent(c, 1, 3, 10 * CL_HEARTBEAT));
	cl_deliver_all(c);
	CHECK(cl_status(c, 3).snapshotNeeded);
	CHECK(cl_leader_unreachable(c, 3, 1) == RAFT_OK);
	CHECK(cl_status(c, 3).leader == RAFT_NONE);
	CHECK(install(c, 3, 1, upto, m, n) == RAFT_OK);
	CHECK(c->qn == 0);
	/* the leader's resend: 3 holds upto now, it answers */
	for (; c->qn == 0 || cl_count_msgs(c, 1, 3, RAFT_MSG_INSTALL_SNAPSHOT) == 0;)
		cl_tick(c, 1);
	cl_deliver_first(c, 1, 3, RAFT_MSG_INSTALL_SNAPSHOT);
	REQUIRE(take_msg(c, 3, 1, RAFT_MSG_APPEND_ENTRIES_RESULT, &ans));
	CHECK(ans.m.success && ans.m.matchIndex == upto);
	cl_msg_free(&ans);
	cl_run(c, 4 * CL_HEARTBEAT);
	CHECK(same_log(c, 1, 3));
	CHECK(c->violations == 0);
	cl_free(c);
}

/* ---------------------------------------------------------------------
 * Learners and membership
 * --------------------------------------------------------------------- */
static void
test_learner_needs_snapshot(void)
{
	cluster    *c = cl_new_three_voters(4, false, false);
	raft_index	upto,
				idx = 0;
	raft_member m[3];
	size_t		n = config_of(m, NULL, 0);
	raft_progress pr;
	raft_status st;
	char		addr[] = "host4";

	cl_elect(c, 1);
	CHECK(cl_propose(c, 1, "a", NULL) == RAFT_OK);
	CHECK(cl_propose(c, 1, "b", NULL) == RAFT_OK);
	cl_run(c, 2);
	upto = cl_status(c, 1).lastApplied;
	CHECK(raft_compact(c->node[1].raft, upto) == RAFT_OK);
	/* a new server, empty: it needs everything, compacted */
	CHECK(raft_propose_change(c->node[1].raft, RAFT_CHANGE_ADD_LEARNER, 4, addr, 5, &idx, NULL) == RAFT_OK);
	cl_process(c, 1);
	REQUIRE(until_snapshot_sent(c, 1, 4, 10 * CL_HEARTBEAT));
	CHECK(progress_of(c, 1, 4, &pr) && pr.needsSnapshot && !pr.voter);
	CHECK(cl_count_msgs(c, 1, 4, RAFT_MSG_INSTALL_SNAPSHOT) == 1);
	cl_deliver_all(c);
	st = cl_status(c, 4);
	CHECK(st.snapshotNeeded && st.snapshotIndex == upto && st.nMembers == 0);
	/* the configuration in effect at upto: {1, 2, 3}, without 4 */
	CHECK(install(c, 4, 2, upto, m, n) == RAFT_OK);
	st = cl_status(c, 4);
	CHECK(st.nMembers == 3 && !st.isVoter && st.lastLogIndex == upto);
	cl_deliver_all(c);
	cl_run(c, 3 * CL_HEARTBEAT);
	st = cl_status(c, 4);
	/* the entry adding it arrived: a learner of {1, 2, 3, 4} */
	CHECK(st.lastLogIndex == cl_status(c, 1).lastLogIndex && st.nMembers == 4 && !st.isVoter);
	CHECK(st.configIndex == idx && st.configCommitted);
	CHECK(progress_of(c, 1, 4, &pr) && !pr.needsSnapshot && pr.matchIndex == st.lastLogIndex);
	/* promoted, it votes and counts */
	CHECK(raft_propose_change(c->node[1].raft, RAFT_CHANGE_PROMOTE, 4, NULL, 0, &idx, NULL) == RAFT_OK);
	cl_process(c, 1);
	cl_run(c, 3 * CL_HEARTBEAT);
	CHECK(cl_status(c, 4).isVoter && cl_status(c, 4).commitIndex >= idx);
	CHECK(c->violations == 0);
	cl_free(c);
}

/*
 * A snapshot across a membership change: the snapshot's configuration
 * (one that a later entry changes) is used until the log brings newer ones.
 */
static void
test_snapshot_across_membership_change(void)
{
	cluster    *c = cl_new_three_voters(5, false, false);
	raft_index	upto,
				add4 = 0,
				add5 = 0;
	raft_member m[4];
	raft_node_id l4[] = {4};
	size_t		n = config_of(m, l4, 1);
	raft_status st;
	raft_member got[RAFT_MAX_MEMBERS];
	raft_index	cfgIndex;

	cl_elect(c, 1);
	CHECK(raft_propose_change(c->node[1].raft, RAFT_CHANGE_ADD_LEARNER, 4, "h4", 2, &add4, NULL) == RAFT_OK);
	cl_process(c, 1);
	cl_run(c, 3 * CL_HEARTBEAT);
	CHECK(cl_status(c, 1).commitIndex >= add4);
	CHECK(cl_propose(c, 1, "a", NULL) == RAFT_OK);
	cl_run(c, 2);
	upto = cl_status(c, 1).lastApplied;
	CHECK(upto > add4);
	CHECK(raft_compact(c->node[1].raft, upto) == RAFT_OK);
	CHECK(raft_propose_change(c->node[1].raft, RAFT_CHANGE_ADD_LEARNER, 5, "h5", 2, &add5, NULL) == RAFT_OK);
	cl_process(c, 1);
	cl_deliver_all(c);
	CHECK(cl_status(c, 5).snapshotNeeded);
	/* installed from 4 (a learner, not the leader), with {1, 2, 3} + learner 4 */
	CHECK(install(c, 5, 4, upto, m, n) == RAFT_OK);
	st = cl_status(c, 5);
	CHECK(st.nMembers == 4 && st.nVoters == 3 && !st.isVoter && st.configIndex == upto);
	CHECK(raft_get_configuration(c->node[5].raft, got, RAFT_MAX_MEMBERS, &cfgIndex, NULL) == 4 &&
		  got[3].id == 4 && !got[3].voter && cfgIndex == upto);
	cl_deliver_all(c);
	cl_run(c, 3 * CL_HEARTBEAT);
	st = cl_status(c, 5);
	CHECK(st.nMembers == 5 && st.configIndex == add5 && st.configCommitted);
	CHECK(same_log(c, 1, 5));
	/* after a crash it restarts from its disk (the hosts here keep full logs) */
	CHECK(c->violations == 0);
	cl_free(c);
}

/* ---------------------------------------------------------------------
 * Vote floor: an installed snapshot is a match (only committed entries)
 * --------------------------------------------------------------------- */
static void
test_snapshot_lifts_vote_floor(void)
{
	cluster    *c = cl_new_three_voters(3, false, false);
	raft_index	upto;
	raft_member m[3];
	size_t		n = config_of(m, NULL, 0);
	raft_status st;
	raft_term	t0;
	unsigned	i;

	cl_elect(c, 1);
	for (i = 0; i < 3; i++)
	{
		CHECK(cl_propose(c, 1, "w", NULL) == RAFT_OK);
		cl_deliver_all(c);
	}
	cl_run(c, 2);
	t0 = cl_status(c, 3).currentTerm;
	/* 3 loses its disk; its host restores it with the mark as floor */
	cl_crash(c, 3);
	c->node[3].cfg.voteFloor.term = t0;
	c->node[3].cfg.voteFloor.index = c->node[3].log.n;
	memset(&c->node[3].hs, 0, sizeof(raft_hard_state));
	cl_log_truncate(&c->node[3].log, 1);
	cl_log_truncate(&c->node[3].sm, 1);
	c->node[3].applied = 0;
	/* a new term's leader, 2, which commits more and compacts */
	cl_elect(c, 2);
	CHECK(cl_status(c, 2).currentTerm > t0);
	for (i = 0; i < 3; i++)
	{
		CHECK(cl_propose(c, 2, "v", NULL) == RAFT_OK);
		cl_deliver_all(c);
	}
	cl_run(c, 2);
	upto = cl_status(c, 2).lastApplied;
	CHECK(upto > c->node[3].cfg.voteFloor.index);
	CHECK(raft_compact(c->node[2].raft, upto) == RAFT_OK);
	CHECK(cl_start(c, 3) == RAFT_OK);
	cl_run(c, 2 * CL_HEARTBEAT);
	st = cl_status(c, 3);
	CHECK(st.voteFloorHeld && st.snapshotNeeded && st.leader == 2);
	CHECK(st.currentTerm == cl_status(c, 2).currentTerm);
	/* a snapshot below floor.index would not do; this one passes it */
	CHECK(install(c, 3, 1, upto, m, n) == RAFT_OK);
	st = cl_status(c, 3);
	CHECK(!st.voteFloorHeld);
	CHECK(raft_campaign(c->node[3].raft) == RAFT_OK);
	cl_process(c, 3);
	CHECK(cl_status(c, 3).role == RAFT_CANDIDATE);
	cl_drop_all(c);
	CHECK(c->violations == 0);
	cl_free(c);
}

/* A snapshot that does not reach floor.index: the floor holds. */
static void
test_snapshot_below_floor_keeps_it(void)
{
	cluster    *c = cl_new_three_voters(3, false, false);
	raft_index	upto;
	raft_member m[3];
	size_t		n = config_of(m, NULL, 0);
	raft_status st;
	unsigned	i;

	cl_elect(c, 1);
	for (i = 0; i < 3; i++)
	{
		CHECK(cl_propose(c, 1, "w", NULL) == RAFT_OK);
		cl_deliver_all(c);
	}
	cl_run(c, 2);
	cl_crash(c, 3);
	c->node[3].cfg.voteFloor.term = cl_status(c, 1).currentTerm;
	c->node[3].cfg.voteFloor.index = c->node[3].log.n + 50;	/* a mark above anything here */
	memset(&c->node[3].hs, 0, sizeof(raft_hard_state));
	cl_log_truncate(&c->node[3].log, 1);
	cl_log_truncate(&c->node[3].sm, 1);
	c->node[3].applied = 0;
	cl_elect(c, 2);
	upto = cl_status(c, 2).lastApplied;
	cl_run(c, 2);
	upto = cl_status(c, 2).lastApplied;
	CHECK(raft_compact(c->node[2].raft, upto) == RAFT_OK);
	CHECK(cl_start(c, 3) == RAFT_OK);
	cl_run(c, 2 * CL_HEARTBEAT);
	CHECK(cl_status(c, 3).snapshotNeeded);
	CHECK(install(c, 3, 1, upto, m, n) == RAFT_OK);
	st = cl_status(c, 3);
	CHECK(st.voteFloorHeld);
	CHECK(raft_campaign(c->node[3].raft) == RAFT_EFLOOR);
	CHECK(c->violations == 0);
	cl_free(c);
}

int
main(void)
{
	RUN_TEST(test_leader_sends_snapshot_when_next_is_compacted);
	RUN_TEST(test_follower_reports_once_and_answers_when_it_holds);
	RUN_TEST(test_follower_with_other_term_at_index_reports);
	RUN_TEST(test_snapshot_installed_semantics_and_refusals);
	RUN_TEST(test_install_without_known_leader);
	RUN_TEST(test_learner_needs_snapshot);
	RUN_TEST(test_snapshot_across_membership_change);
	RUN_TEST(test_snapshot_lifts_vote_floor);
	RUN_TEST(test_snapshot_below_floor_keeps_it);
	return test_summary("test_snapshot");
}
