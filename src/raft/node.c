/*
 * node.c — the node's life cycle and the host-facing calls: create, tick,
 * step, propose, ready/advance, observation.
 *
 * raft_step() is where the term rules of Figure 2 ("Rules for Servers",
 * all servers) apply to every message before the per-type handlers in
 * election.c, replication.c and readindex.c see it; before them, what a
 * node outside our configuration may tell us (heard_from_non_member).
 */
#include <string.h>

#include "raft_int.h"

/* Queue a message for the next ready batch, stamped with our id and term. */
int
raft_send(raft_node *node, raft_message *m)
{
	int			rc;

	rc = raft_reserve(&node->alloc, (void **) &node->msgs, &node->capMsgs,
					  node->nMsgs + 1, sizeof(raft_message));
	if (rc != RAFT_OK)
		return rc;
	m->from = node->id;
	m->term = node->currentTerm;
	node->msgs[node->nMsgs++] = *m;
	return RAFT_OK;
}

int
raft_send_owned_entries(raft_node *node, raft_message *m)
{
	size_t		bytes = m->nEntries * sizeof(raft_entry);
	uint8_t    *block;
	raft_entry *copies;
	uint32_t	i;
	int			rc;

	for (i = 0; i < m->nEntries; i++)
		bytes += m->entries[i].len;
	rc = raft_reserve(&node->alloc, (void **) &node->owned, &node->capOwned,
					  node->nOwned + 1, sizeof(void *));
	if (rc != RAFT_OK)
		return rc;
	block = raft_malloc(&node->alloc, bytes > 0 ? bytes : 1);
	if (block == NULL)
		return RAFT_ENOMEM;
	copies = (raft_entry *) block;
	block += m->nEntries * sizeof(raft_entry);
	for (i = 0; i < m->nEntries; i++)
	{
		copies[i] = m->entries[i];
		if (copies[i].len > 0)
		{
			memcpy(block, m->entries[i].data, copies[i].len);
			copies[i].data = block;
			block += copies[i].len;
		}
	}
	m->entries = copies;
	rc = raft_send(node, m);
	if (rc != RAFT_OK)
	{
		raft_free(&node->alloc, copies);
		return rc;
	}
	node->owned[node->nOwned++] = copies;
	return RAFT_OK;
}

static void
free_owned(raft_node *node)
{
	size_t		i;

	for (i = 0; i < node->nOwned; i++)
		raft_free(&node->alloc, node->owned[i]);
	node->nOwned = 0;
}

static int
validate_config(const raft_config *c)
{
	size_t		i,
				j;
	bool		self = false;

	if (c == NULL || c->id == RAFT_NONE)
		return RAFT_EINVAL;
	if (c->nVoters > 0 || c->voters != NULL)
	{
		/* the simple form: voters, this node among them */
		if (c->voters == NULL || c->nVoters == 0 || c->nMembers > 0 || c->members != NULL)
			return RAFT_EINVAL;
		if (c->nVoters > RAFT_MAX_MEMBERS)
			return RAFT_EINVAL;
		for (i = 0; i < c->nVoters; i++)
		{
			if (c->voters[i] == RAFT_NONE)
				return RAFT_EINVAL;
			if (c->voters[i] == c->id)
				self = true;
			for (j = i + 1; j < c->nVoters; j++)
				if (c->voters[i] == c->voters[j])
					return RAFT_EINVAL;
		}
		if (!self)
			return RAFT_EINVAL;
	}
	else if (c->nMembers > 0 || c->members != NULL)
	{
		/*
		 * members, as a configuration entry holds them; this node need not
		 * be one (a node restored after its removal)
		 */
		if (!raft_configuration_valid(c->members, c->nMembers))
			return RAFT_EINVAL;
	}
	/* else empty: a server waiting to be added */
	if (c->electionTickMin == 0 || c->electionTickMin >= c->electionTickMax)
		return RAFT_EINVAL;
	if (c->heartbeatTick == 0 || c->heartbeatTick >= c->electionTickMin)
		return RAFT_EINVAL;
	if (c->allocator != NULL &&
		(c->allocator->malloc == NULL || c->allocator->realloc == NULL ||
		 c->allocator->free == NULL))
		return RAFT_EINVAL;
	return RAFT_OK;
}

int
raft_node_create(const raft_config *config, const raft_hard_state *hardState,
				 const raft_entry *entries, size_t nEntries,
				 raft_index lastApplied, raft_node **out)
{
	return raft_node_restore(config, hardState, 0, 0, entries, nEntries, lastApplied, out);
}

int
raft_node_restore(const raft_config *config, const raft_hard_state *hardState,
				  raft_index lastIncludedIndex, raft_term lastIncludedTerm,
				  const raft_entry *entries, size_t nEntries,
				  raft_index lastApplied, raft_node **out)
{
	const raft_allocator *a;
	raft_node  *node;
	size_t		i;
	int			rc;

	if (out == NULL)
		return RAFT_EINVAL;
	*out = NULL;
	rc = validate_config(config);
	if (rc != RAFT_OK)
		return rc;
	if (nEntries > 0 && entries == NULL)
		return RAFT_EINVAL;
	/* a compacted prefix has a term, and nothing compacted has none */
	if ((lastIncludedIndex == 0) != (lastIncludedTerm == 0))
		return RAFT_EINVAL;
	/* tables a host reads back are no more trusted than the network */
	if (lastIncludedIndex > RAFT_MAX_INDEX || lastIncludedTerm > RAFT_MAX_TERM ||
		(uint64_t) nEntries > RAFT_MAX_INDEX - lastIncludedIndex)
		return RAFT_EINVAL;
	if (hardState != NULL && hardState->currentTerm > RAFT_MAX_TERM)
		return RAFT_EINVAL;
	if (config->voteFloor.term > RAFT_MAX_TERM || config->voteFloor.index > RAFT_MAX_INDEX)
		return RAFT_EINVAL;
	for (i = 0; i < nEntries; i++)
	{
		if (entries[i].index != lastIncludedIndex + 1 + i ||
			entries[i].type > RAFT_ENTRY_TYPE_MAX ||
			(entries[i].len > 0 && entries[i].data == NULL) ||
			entries[i].term < (i > 0 ? entries[i - 1].term : lastIncludedTerm) ||
			entries[i].term == 0 || entries[i].term > RAFT_MAX_TERM)
			return RAFT_EINVAL;
		if (entries[i].type == RAFT_ENTRY_CONFIG &&
			raft_configuration_decode_into(entries[i].data, entries[i].len, NULL, NULL) != RAFT_OK)
			return RAFT_EINVAL;
	}
	if (hardState != NULL &&
		(nEntries > 0 ? entries[nEntries - 1].term : lastIncludedTerm) > hardState->currentTerm)
		return RAFT_EINVAL;
	/* what was compacted was applied; nothing past the log can have been */
	if (lastApplied < lastIncludedIndex || lastApplied > lastIncludedIndex + nEntries)
		return RAFT_EINVAL;

	a = config->allocator != NULL ? config->allocator : raft_default_allocator();
	node = raft_malloc(a, sizeof(raft_node));
	if (node == NULL)
		return RAFT_ENOMEM;
	memset(node, 0, sizeof(*node));
	node->alloc = *a;
	node->id = config->id;
	node->electionTickMin = config->electionTickMin;
	node->electionTickMax = config->electionTickMax;
	node->heartbeatTick = config->heartbeatTick;
	node->maxMsgBytes = config->maxMsgBytes ? config->maxMsgBytes : 1024 * 1024;
	node->maxInflight = config->maxInflight ? config->maxInflight : 64;
	node->preVote = config->preVote;
	node->checkQuorum = config->checkQuorum;
	node->rng = config->seed ^ (config->id * 0x9E3779B97F4A7C15ULL);

	rc = raft_config_init(node, config);
	if (rc != RAFT_OK)
		goto fail;

	node->log.lastIncludedIndex = lastIncludedIndex;
	node->log.lastIncludedTerm = lastIncludedTerm;

	for (i = 0; i < nEntries; i++)
	{
		rc = raft_log_append(&node->alloc, &node->log, entries[i].term,
							 entries[i].type, entries[i].data, entries[i].len);
		if (rc != RAFT_OK)
			goto fail;
	}
	/* the latest configuration entry of the log, if any, overrides the base */
	raft_config_refresh(node);
	if (hardState != NULL)
	{
		node->currentTerm = hardState->currentTerm;
		node->votedFor = hardState->votedFor;
	}
	node->persistedHardState.currentTerm = node->currentTerm;
	node->persistedHardState.votedFor = node->votedFor;
	node->stableIndex = raft_log_last_index(&node->log);

	/*
	 * A node that lost its state: it may have been in floor.term already,
	 * so it starts there (the first batch makes that durable), with no
	 * vote it remembers.  A compacted prefix reaching floor.index holds
	 * only committed entries, so it matches every leader's.
	 */
	node->voteFloor = config->voteFloor;
	if (node->voteFloor.term > node->currentTerm)
	{
		node->currentTerm = node->voteFloor.term;
		node->votedFor = RAFT_NONE;
	}
	raft_vote_floor_note_match(node, lastIncludedIndex);
	raft_vote_floor_maybe_lift(node);

	/* what was applied was committed; Figure 2 starts both at 0 otherwise */
	node->lastApplied = lastApplied;
	node->commitIndex = lastApplied;

	node->role = RAFT_FOLLOWER;
	node->leader = RAFT_NONE;
	raft_reset_election_timer(node);
	*out = node;
	return RAFT_OK;

fail:
	raft_log_free(&node->alloc, &node->log);
	raft_progress_free(node);
	raft_config_free(node);
	raft_free(a, node);
	return rc;
}

void
raft_node_destroy(raft_node *node)
{
	raft_allocator a;

	if (node == NULL)
		return;
	a = node->alloc;
	raft_log_free(&a, &node->log);
	raft_progress_free(node);
	raft_config_free(node);
	raft_free(&a, node->reads);
	free_owned(node);
	raft_free(&a, node->owned);
	raft_free(&a, node->msgs);
	raft_free(&a, node->readStates);
	raft_free(&a, node);
}

int
raft_tick(raft_node *node)
{
	if (node == NULL)
		return RAFT_EINVAL;
	if (node->readyOutstanding)
		return RAFT_EBUSY;
	if (node->role == RAFT_LEADER)
		return raft_tick_leader(node);
	return raft_tick_election(node);
}

static bool
valid_message(const raft_node *node, const raft_message *m)
{
	uint32_t	i;

	if (m->type < RAFT_MSG_APPEND_ENTRIES || m->type > RAFT_MSG_TYPE_MAX)
		return false;
	/* from a non-member too: a server being added hears its leader (raft_step) */
	if (m->to != node->id || m->from == node->id || m->from == RAFT_NONE)
		return false;
	/* the decoder's bounds, for hosts that build messages themselves */
	if (m->term == 0 || !raft_message_fields_in_range(m))
		return false;
	if (m->nEntries > 0 && ((m->type != RAFT_MSG_APPEND_ENTRIES && m->type != RAFT_MSG_PROPOSE) ||
							m->entries == NULL))
		return false;
	/* a snapshot's last entry exists, and is no later than its sender's term */
	if (m->type == RAFT_MSG_INSTALL_SNAPSHOT &&
		(m->lastIncludedIndex == 0 || m->lastIncludedTerm == 0 || m->lastIncludedTerm > m->term))
		return false;
	if (m->type == RAFT_MSG_PROPOSE)
	{
		/* commands for the leader to append: it gives them term and index */
		for (i = 0; i < m->nEntries; i++)
			if (m->entries[i].term != 0 || m->entries[i].type != RAFT_ENTRY_NORMAL ||
				(m->entries[i].len > 0 && m->entries[i].data == NULL) ||
				m->entries[i].len > RAFT_MAX_ENTRY_BYTES)
				return false;
		return true;
	}
	for (i = 0; i < m->nEntries; i++)
	{
		const raft_entry *e = &m->entries[i];

		/*
		 * Entries never carry a term above the sender's (so none above
		 * RAFT_MAX_TERM either), nor go backwards.
		 */
		if (e->term == 0 || e->term > m->term || e->type > RAFT_ENTRY_TYPE_MAX ||
			(e->len > 0 && e->data == NULL) ||
			(i == 0 ? e->term < m->prevLogTerm : e->term < m->entries[i - 1].term))
			return false;
		/* a configuration the log would hold must be one */
		if (e->type == RAFT_ENTRY_CONFIG &&
			raft_configuration_decode_into(e->data, e->len, NULL, NULL) != RAFT_OK)
			return false;
	}
	return true;
}

/*
 * From a node outside our configuration we take what a leader sends (a
 * server being added, or one that does not know its configuration yet,
 * learns it from its leader's log): AppendEntries, TimeoutNow, ReadIndex
 * answers.  A leader ignores answers from non-members, except the
 * AppendEntries answers, at its term or below, of a member its latest
 * configuration removed while it still replicates to it (progress.c), and
 * a candidate ignores their votes.  A vote request, only from a candidate that our
 * configuration's entry did not remove and whose log holds that entry and
 * what we know committed: a removed server must not raise our term, whether
 * it does not know it was removed (it lacks that entry and any later one;
 * a leader sends it entries only up to that one) or knows but not that
 * the removal committed (it may stand then, membership.c); a server added
 * by an entry we have not seen yet may be one we must vote for.  Dropping
 * these is free: a candidate without our configuration's entry or our
 * committed entries could not have our vote anyway, our log being ahead
 * (after compaction, only the commit point still tells a removed server
 * that holds its removal from a new one); one removed by it does not
 * need it (the voters that hold that configuration can elect one of their
 * own, and those that do not still count it a member).
 */
static bool
heard_from_non_member(const raft_node *node, const raft_message *m)
{
	raft_index	point;
	raft_term	pointTerm;

	switch (m->type)
	{
		case RAFT_MSG_APPEND_ENTRIES:
		case RAFT_MSG_INSTALL_SNAPSHOT:
		case RAFT_MSG_TIMEOUT_NOW:
		case RAFT_MSG_READ_INDEX_RESULT:
			return true;
		case RAFT_MSG_APPEND_ENTRIES_RESULT:
			/*
			 * a leader still replicating to a member its configuration
			 * removed (progress.c) hears its answers, never a higher term
			 */
			return m->term <= node->currentTerm &&
				raft_progress_removed(node, m->from) != NULL;
		case RAFT_MSG_REQUEST_VOTE:
		case RAFT_MSG_PRE_VOTE:
			/*
			 * removed by our configuration's entry, and nothing newer than
			 * that entry's term in its log (a later leader's entries would
			 * say our entry may have been cut there): no
			 */
			if (raft_removed_by_config(node, m->from) &&
				m->lastLogTerm <= raft_log_term_at(&node->log, node->configIndex))
				return false;
			/* our configuration's entry, or what we know committed if later */
			point = node->configIndex > node->commitIndex ?
				node->configIndex : node->commitIndex;
			pointTerm = raft_log_term_at(&node->log, point);
			if (m->lastLogTerm != pointTerm)
				return m->lastLogTerm > pointTerm;
			return m->lastLogIndex >= point;
		default:
			return false;
	}
}

int
raft_step(raft_node *node, const raft_message *m)
{
	if (node == NULL || m == NULL)
		return RAFT_EINVAL;
	if (node->readyOutstanding)
		return RAFT_EBUSY;
	if (!valid_message(node, m))
		return RAFT_EINVAL;

	/* a node outside our configuration: only some of what it sends counts */
	if (raft_member_slot(node, m->from) < 0 && !heard_from_non_member(node, m))
		return RAFT_OK;

	if (m->term > node->currentTerm)
	{
		if (m->type == RAFT_MSG_REQUEST_VOTE || m->type == RAFT_MSG_PRE_VOTE)
		{
			/*
			 * Lease (thesis §4.2.3): while we hear from a live leader, a
			 * candidate is probably a disrupted node; ignore it, unless the
			 * leader itself handed over leadership.
			 */
			bool		inLease = node->checkQuorum && node->leader != RAFT_NONE &&
				node->electionElapsed < node->electionTickMin;

			if (inLease && !m->leadershipTransfer)
				return RAFT_OK;
		}
		if (m->type == RAFT_MSG_PRE_VOTE ||
			(m->type == RAFT_MSG_PRE_VOTE_RESULT && m->voteGranted))
		{
			/* pre-votes are about a term nobody has entered yet */
		}
		else if (m->type == RAFT_MSG_APPEND_ENTRIES || m->type == RAFT_MSG_INSTALL_SNAPSHOT)
			raft_become_follower(node, m->term, m->from);
		else
			raft_become_follower(node, m->term, RAFT_NONE);
	}
	else if (m->term < node->currentTerm)
	{
		raft_message r;

		/*
		 * Figure 2: reply false if term < currentTerm.  The answer carries
		 * our term, so a stale leader or candidate steps down.
		 */
		memset(&r, 0, sizeof(r));
		r.to = m->from;
		switch (m->type)
		{
			case RAFT_MSG_APPEND_ENTRIES:
				r.type = RAFT_MSG_APPEND_ENTRIES_RESULT;
				r.success = false;
				r.rejectedIndex = m->prevLogIndex;
				return raft_send(node, &r);
			case RAFT_MSG_INSTALL_SNAPSHOT:
				r.type = RAFT_MSG_APPEND_ENTRIES_RESULT;
				r.success = false;
				r.rejectedIndex = m->lastIncludedIndex;
				return raft_send(node, &r);
			case RAFT_MSG_REQUEST_VOTE:
			case RAFT_MSG_PRE_VOTE:
				r.type = m->type == RAFT_MSG_PRE_VOTE ? RAFT_MSG_PRE_VOTE_RESULT
					: RAFT_MSG_REQUEST_VOTE_RESULT;
				r.voteGranted = false;
				return raft_send(node, &r);
			default:
				return RAFT_OK;
		}
	}

	switch (m->type)
	{
		case RAFT_MSG_APPEND_ENTRIES:
			if (node->role == RAFT_LEADER)
				return RAFT_OK; /* impossible at one term: Election Safety */
			if (node->role != RAFT_FOLLOWER || node->leader != m->from)
				raft_become_follower(node, node->currentTerm, m->from);
			node->electionElapsed = 0;
			return raft_handle_append_entries(node, m);
		case RAFT_MSG_INSTALL_SNAPSHOT:
			/* the term rules and the leader's recognition of AppendEntries */
			if (node->role == RAFT_LEADER)
				return RAFT_OK;
			if (node->role != RAFT_FOLLOWER || node->leader != m->from)
				raft_become_follower(node, node->currentTerm, m->from);
			node->electionElapsed = 0;
			return raft_handle_install_snapshot(node, m);
		case RAFT_MSG_APPEND_ENTRIES_RESULT:
			return raft_handle_append_entries_result(node, m);
		case RAFT_MSG_REQUEST_VOTE:
		case RAFT_MSG_PRE_VOTE:
			return raft_handle_vote_request(node, m);
		case RAFT_MSG_REQUEST_VOTE_RESULT:
		case RAFT_MSG_PRE_VOTE_RESULT:
			return raft_handle_vote_result(node, m);
		case RAFT_MSG_TIMEOUT_NOW:
			return raft_handle_timeout_now(node, m);
		case RAFT_MSG_READ_INDEX:
			if (node->role != RAFT_LEADER)
				return RAFT_OK;	/* the asker times out and retries */
			{
				int			slot = raft_member_slot(node, m->from);

				if (slot >= 0)
					node->progress[slot].recentActive = true;
			}
			return raft_read_register(node, m->requestId, m->from);
		case RAFT_MSG_READ_INDEX_RESULT:
			if (node->role == RAFT_FOLLOWER && m->success)
				return raft_read_push_state(node, m->requestId, m->readIndex);
			return RAFT_OK;
		case RAFT_MSG_PROPOSE:
			/* only a leader appends, and not while it hands over (§3.10) */
			if (node->role != RAFT_LEADER || node->transferTarget != RAFT_NONE)
				return RAFT_OK; /* the sender's host retries */
			{
				uint32_t	i;

				for (i = 0; i < m->nEntries; i++)
				{
					int			rc = raft_node_append(node, node->currentTerm,
													  RAFT_ENTRY_NORMAL, m->entries[i].data,
													  m->entries[i].len);

					if (rc != RAFT_OK)
						return rc;	/* what was appended stays */
				}
			}
			return RAFT_OK;
	}
	return RAFT_OK;
}

int
raft_propose(raft_node *node, const void *data, size_t len,
			 raft_index *index, raft_term *term)
{
	int			rc;

	if (node == NULL || (len > 0 && data == NULL) || len > RAFT_MAX_ENTRY_BYTES)
		return RAFT_EINVAL;
	if (node->readyOutstanding)
		return RAFT_EBUSY;
	if (node->role != RAFT_LEADER)
		return RAFT_ENOTLEADER;
	if (node->transferTarget != RAFT_NONE)
		return RAFT_EBUSY;		/* §3.10: stop accepting while handing over */
	rc = raft_node_append(node, node->currentTerm, RAFT_ENTRY_NORMAL, data, (uint32_t) len);
	if (rc != RAFT_OK)
		return rc;
	if (index != NULL)
		*index = raft_log_last_index(&node->log);
	if (term != NULL)
		*term = node->currentTerm;
	return RAFT_OK;
}

int
raft_forward(raft_node *node, const void *data, size_t len)
{
	raft_message m;
	raft_entry	e;

	if (node == NULL || (len > 0 && data == NULL) || len > RAFT_MAX_ENTRY_BYTES)
		return RAFT_EINVAL;
	if (node->readyOutstanding)
		return RAFT_EBUSY;
	if (node->role == RAFT_LEADER)
		return raft_propose(node, data, len, NULL, NULL);
	if (node->leader == RAFT_NONE)
		return RAFT_ENOLEADER;

	memset(&e, 0, sizeof(e));
	e.type = RAFT_ENTRY_NORMAL;
	e.len = (uint32_t) len;
	e.data = data;
	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_PROPOSE;
	m.to = node->leader;
	m.nEntries = 1;
	m.entries = &e;
	return raft_send_owned_entries(node, &m);
}

int
raft_read_index(raft_node *node, uint64_t requestId)
{
	raft_message m;

	if (node == NULL)
		return RAFT_EINVAL;
	if (node->readyOutstanding)
		return RAFT_EBUSY;
	if (node->role == RAFT_LEADER)
		return raft_read_register(node, requestId, node->id);
	if (node->leader == RAFT_NONE)
		return RAFT_ENOLEADER;
	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_READ_INDEX;
	m.to = node->leader;
	m.requestId = requestId;
	return raft_send(node, &m);
}

int
raft_transfer_leadership(raft_node *node, raft_node_id target)
{
	int			slot;

	if (node == NULL)
		return RAFT_EINVAL;
	if (node->readyOutstanding)
		return RAFT_EBUSY;
	if (node->role != RAFT_LEADER)
		return RAFT_ENOTLEADER;
	/* only a voter can take over */
	slot = raft_voter_slot(node, target);
	if (slot < 0)
		return RAFT_EINVAL;
	if (target == node->id)
		return RAFT_OK;
	if (node->transferTarget == target)
		return RAFT_OK;
	node->transferTarget = target;
	/* the transfer gets one election timeout to finish */
	node->electionElapsed = 0;
	return raft_maybe_send_timeout_now(node, (size_t) slot);
}

int
raft_campaign(raft_node *node)
{
	if (node == NULL)
		return RAFT_EINVAL;
	if (node->readyOutstanding)
		return RAFT_EBUSY;
	if (node->role == RAFT_LEADER)
		return RAFT_OK;
	/* a removed voter that may stand polls first (election.c) */
	return raft_start_election(node, !raft_is_voter(node), false);
}

static raft_index
apply_bound(const raft_node *node)
{
	/*
	 * Only entries the host has confirmed durable (raft_advance) are handed
	 * out for apply: a host that applied an entry it had not yet made
	 * durable, then crashed, would come back having applied past its log.
	 */
	return node->commitIndex < node->stableIndex ? node->commitIndex : node->stableIndex;
}

static bool
hard_state_changed(const raft_node *node)
{
	return node->currentTerm != node->persistedHardState.currentTerm ||
		node->votedFor != node->persistedHardState.votedFor;
}

bool
raft_has_ready(const raft_node *node)
{
	if (node == NULL || node->readyOutstanding)
		return false;
	return hard_state_changed(node) ||
		node->stableIndex < raft_log_last_index(&node->log) ||
		apply_bound(node) > node->lastApplied ||
		node->nMsgs > 0 || node->nReadStates > 0 || node->snapshotReport ||
		raft_wants_append(node) || raft_wants_commit_notify(node);
}

int
raft_ready_get(raft_node *node, raft_ready *rd)
{
	raft_index	last;
	raft_index	applyTo;
	int			rc;

	if (node == NULL || rd == NULL)
		return RAFT_EINVAL;
	if (node->readyOutstanding)
		return RAFT_EBUSY;

	/*
	 * Entry-bearing AppendEntries are built here, and then whatever commit
	 * notification they did not already carry; see replication.c.
	 */
	rc = raft_send_append_entries_all(node);
	if (rc == RAFT_OK)
		rc = raft_send_commit_notify(node);
	if (rc != RAFT_OK)
		return rc;

	memset(rd, 0, sizeof(*rd));
	last = raft_log_last_index(&node->log);
	applyTo = apply_bound(node);

	rd->hardStateChanged = hard_state_changed(node);
	rd->hardState.currentTerm = node->currentTerm;
	rd->hardState.votedFor = node->votedFor;
	if (node->stableIndex < last)
	{
		rd->entries = raft_log_get(&node->log, node->stableIndex + 1);
		rd->nEntries = (size_t) (last - node->stableIndex);
	}
	if (applyTo > node->lastApplied)
	{
		rd->committedEntries = raft_log_get(&node->log, node->lastApplied + 1);
		rd->nCommittedEntries = (size_t) (applyTo - node->lastApplied);
	}
	rd->messages = node->msgs;
	rd->nMessages = node->nMsgs;
	rd->readStates = node->readStates;
	rd->nReadStates = node->nReadStates;
	rd->role = node->role;
	rd->leader = node->leader;
	if (node->snapshotReport)
	{
		rd->snapshotNeeded = true;
		rd->snapshotLeader = node->snapshotLeader;
		rd->snapshotIndex = node->snapshotIndex;
		rd->snapshotTerm = node->snapshotTerm;
	}

	node->readyOutstanding = true;
	node->readySnapshot = node->snapshotReport;
	node->readyLastIndex = last;
	node->readyAppliedTo = applyTo > node->lastApplied ? applyTo : node->lastApplied;
	node->readyHardState = rd->hardState;
	node->readyMsgs = node->nMsgs;
	node->readyReadStates = node->nReadStates;
	return RAFT_OK;
}

int
raft_advance(raft_node *node, const raft_ready *rd)
{
	if (node == NULL || rd == NULL)
		return RAFT_EINVAL;
	if (!node->readyOutstanding)
		return RAFT_EINVAL;
	node->readyOutstanding = false;

	node->persistedHardState = node->readyHardState;
	node->stableIndex = node->readyLastIndex;
	node->lastApplied = node->readyAppliedTo;
	/* nothing can have been queued meanwhile: every mutator was refused */
	node->nMsgs = 0;
	node->nReadStates = 0;
	free_owned(node);
	/* reported once (a request stepped meanwhile was refused: EBUSY) */
	if (node->readySnapshot)
		node->snapshotReport = false;
	node->readySnapshot = false;
	/* the log came to hold it after all (a leader that still had the entries) */
	if (node->snapshotNeeded && node->commitIndex >= node->snapshotIndex &&
		node->stableIndex >= node->snapshotIndex)
	{
		node->snapshotNeeded = false;
		node->snapshotReport = false;
	}
	raft_vote_floor_maybe_lift(node);

	/* a lone voter's vote for itself is durable now: it may lead */
	{
		int			rc = raft_candidate_maybe_win(node);

		if (rc != RAFT_OK)
			return rc;
	}
	/* our own entries are durable now, which may complete a majority */
	return raft_maybe_commit(node);
}

void
raft_get_status(const raft_node *node, raft_status *out)
{
	memset(out, 0, sizeof(*out));
	out->id = node->id;
	out->role = node->role;
	out->currentTerm = node->currentTerm;
	out->votedFor = node->votedFor;
	out->leader = node->leader;
	out->commitIndex = node->commitIndex;
	out->lastApplied = node->lastApplied;
	out->lastLogIndex = raft_log_last_index(&node->log);
	out->lastLogTerm = raft_log_last_term(&node->log);
	out->stableIndex = node->stableIndex;
	out->transferTarget = node->transferTarget;
	out->nVoters = node->nVoters;
	out->nMembers = node->nMembers;
	out->isVoter = raft_is_voter(node);
	out->configIndex = node->configIndex;
	out->configCommitted = node->configIndex <= node->commitIndex;
	out->voteFloor = node->voteFloor;
	out->voteFloorHeld = raft_vote_floor_held(node);
	out->followerRegressions = node->followerRegressions;
	out->snapshotNeeded = node->snapshotNeeded;
	out->snapshotIndex = node->snapshotNeeded ? node->snapshotIndex : 0;
}

bool
raft_get_progress(const raft_node *node, size_t i, raft_progress *out)
{
	const raft_peer_progress *pr;

	if (node->role != RAFT_LEADER || i >= node->nMembers)
		return false;
	pr = &node->progress[i];
	out->id = pr->id;
	out->voter = node->members[i].voter;
	if (pr->id == node->id)
	{
		out->matchIndex = node->stableIndex;
		out->nextIndex = raft_log_last_index(&node->log) + 1;
		out->state = RAFT_PROGRESS_REPLICATE;
		out->inflight = 0;
		out->recentActive = true;
		out->regressed = false;
		out->regressedFrom = 0;
		out->regressions = 0;
		out->needsSnapshot = false;
		return true;
	}
	out->nextIndex = pr->nextIndex;
	out->matchIndex = pr->matchIndex;
	out->state = pr->state;
	out->inflight = pr->inflightCount;
	out->recentActive = pr->recentActive;
	out->regressed = pr->regressed;
	out->regressedFrom = pr->regressedFrom;
	out->regressions = pr->regressions;
	out->needsSnapshot = raft_needs_snapshot(node, pr);
	return true;
}

int
raft_compact(raft_node *node, raft_index upto)
{
	if (node == NULL)
		return RAFT_EINVAL;
	/* the host still holds pointers into the log (raft_ready) */
	if (node->readyOutstanding)
		return RAFT_EBUSY;
	if (upto <= node->log.lastIncludedIndex)
		return RAFT_OK;
	/*
	 * Only what was applied and is durable: compacted entries are never
	 * handed out again, and an entry the host has not made durable may be
	 * all there is of it.
	 */
	if (upto > node->lastApplied || upto > node->stableIndex)
		return RAFT_EINVAL;
	/* keeps the configuration in effect at upto (membership.c) */
	return raft_config_compact(node, upto);
}

/*
 * The host installed a copy of the state machine taken at index (raft.h,
 * InstallSnapshot) and made it durable.  The log restarts after it, the
 * configuration is the copy's, and the leader hears that we match through
 * index.  Everything that can fail is checked, or allocated, first.
 */
int
raft_snapshot_installed(raft_node *node, raft_index index, raft_term term,
						const raft_member *members, size_t nMembers)
{
	raft_member *base;
	int			rc = RAFT_OK;

	if (node == NULL)
		return RAFT_EINVAL;
	if (node->readyOutstanding)
		return RAFT_EBUSY;
	if (index == 0 || term == 0 || index > RAFT_MAX_INDEX || term > RAFT_MAX_TERM ||
		index < node->lastApplied || index < node->commitIndex ||
		term > node->currentTerm || node->role == RAFT_LEADER ||
		!raft_configuration_valid(members, nMembers))
		return RAFT_EINVAL;

	base = raft_copy_members(&node->alloc, members, nMembers, &rc);
	if (rc != RAFT_OK)
		return rc;
	/* room for the answer before anything changes */
	rc = raft_reserve(&node->alloc, (void **) &node->msgs, &node->capMsgs,
					  node->nMsgs + 1, sizeof(raft_message));
	if (rc != RAFT_OK)
	{
		raft_free(&node->alloc, base);
		return rc;
	}

	/* the whole log goes: it starts after index */
	raft_log_truncate(&node->alloc, &node->log, node->log.lastIncludedIndex + 1);
	node->log.lastIncludedIndex = index;
	node->log.lastIncludedTerm = term;
	raft_free(&node->alloc, node->baseMembers);
	node->baseMembers = base;
	node->nBaseMembers = nMembers;
	node->baseIndex = index;
	raft_config_refresh(node);

	if (node->commitIndex < index)
		node->commitIndex = index;
	node->lastApplied = index;
	node->stableIndex = index;
	node->snapshotNeeded = false;
	node->snapshotReport = false;

	/* only committed entries: it matches every leader's log through index */
	raft_vote_floor_note_match(node, index);
	raft_vote_floor_maybe_lift(node);

	if (node->leader != RAFT_NONE && node->leader != node->id)
	{
		raft_message r;

		memset(&r, 0, sizeof(r));
		r.type = RAFT_MSG_APPEND_ENTRIES_RESULT;
		r.to = node->leader;
		r.success = true;
		r.matchIndex = index;
		r.lastLogIndex = index;
		return raft_send(node, &r);	/* room reserved: cannot fail */
	}
	return RAFT_OK;
}

bool
raft_log_entry(const raft_node *node, raft_index index, raft_entry *out)
{
	const raft_entry *e = raft_log_get(&node->log, index);

	if (e == NULL)
		return false;
	*out = *e;
	return true;
}

raft_node_id
raft_leader(const raft_node *node)
{
	return node->leader;
}
