/*
 * membership.c — the configuration: who the members are, which of them
 * vote, and how that changes (Raft thesis ch. 4, single-server changes).
 *
 * A configuration is a RAFT_ENTRY_CONFIG entry holding the whole member
 * list (raft_configuration_encode).  A node uses the LATEST such entry in
 * its log from the moment it is appended, committed or not (§4.1); when a
 * truncation removes it, the one before it again; when the log holds none,
 * its base: the configuration it was created with, or the one in effect at
 * the log's compacted start (raft_compact keeps it, so a compacted log
 * still knows its configuration).  raft_config_refresh() derives it again
 * after any of those events; it never allocates (node->members has room
 * for RAFT_MAX_MEMBERS and addresses point into the entry's data, which
 * the log owns), so a truncation can never fail half-way.
 *
 * Voters count in every majority (commit, elections, check-quorum,
 * ReadIndex); learners are replicated to like followers but never stand,
 * are never asked for a vote, and never count.  A node asked for its vote
 * answers on the log alone, whatever its own configuration says (as in
 * etcd-io/raft, "TestLearnerCanVote"): the vote only counts for a
 * candidate whose configuration makes it a voter, a promotion or a
 * removal this node has not seen (or seen but not yet committed), and
 * refusing it there can leave a cluster without any electable candidate
 * for good (a promoted learner needed by a lone voter that restarted; a
 * removed node still needed by the previous configuration's majority).  A leader counts itself only while it is a voter of its
 * own configuration: a leader that removed itself goes on replicating
 * without counting itself until that entry commits, then hands over
 * (raft_config_after_commit).
 *
 * Safety of one-at-a-time changes rests on three rules in
 * raft_propose_change: no change while another is uncommitted (any two
 * majorities of consecutive configurations overlap), none before the
 * leader committed an entry of its own term (the 2015 fix: otherwise two
 * leaders of different terms can each append a change the other never saw
 * and commit them with disjoint majorities), none during a transfer.
 */
#include <string.h>

#include "raft_int.h"

size_t
raft_quorum(const raft_node *node)
{
	return node->nVoters / 2 + 1;
}

int
raft_member_slot(const raft_node *node, raft_node_id id)
{
	size_t		lo = 0,
				hi = node->nMembers;

	/* members are in increasing id order */
	while (lo < hi)
	{
		size_t		mid = lo + (hi - lo) / 2;

		if (node->members[mid].id == id)
			return (int) mid;
		if (node->members[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int
raft_voter_slot(const raft_node *node, raft_node_id id)
{
	int			slot = raft_member_slot(node, id);

	return slot >= 0 && node->members[slot].voter ? slot : -1;
}

bool
raft_is_voter(const raft_node *node)
{
	return raft_voter_slot(node, node->id) >= 0;
}

/*
 * May this node stand for election?  A voter may.  So may a node that the
 * latest configuration removed while it was a voter, as long as that
 * configuration is not known committed (thesis §4.2.2): the previous
 * configuration is still the one some of the others use, and its majority
 * may need this node, whose log may be the only one that can win (a leader
 * that removed itself and lost its followers, say).  It asks the voters of
 * its configuration and does not count its own vote.  Once it knows its
 * removal committed it never stands again.  Learners never stand.
 */
bool
raft_may_stand(const raft_node *node)
{
	if (raft_is_voter(node))
		return true;
	return node->configIndex > node->commitIndex && node->prevVoter &&
		raft_member_slot(node, node->id) < 0;
}

/* One block: the members, then their addresses; NULL for none (or ENOMEM: *rc). */
raft_member *
raft_copy_members(const raft_allocator *a, const raft_member *m, size_t n, int *rc)
{
	size_t		bytes = n * sizeof(raft_member);
	size_t		i;
	raft_member *out;
	char	   *p;

	*rc = RAFT_OK;
	if (n == 0)
		return NULL;
	for (i = 0; i < n; i++)
		bytes += m[i].addressLen;
	out = raft_malloc(a, bytes);
	if (out == NULL)
	{
		*rc = RAFT_ENOMEM;
		return NULL;
	}
	p = (char *) (out + n);
	for (i = 0; i < n; i++)
	{
		out[i] = m[i];
		if (m[i].addressLen > 0)
		{
			memcpy(p, m[i].address, m[i].addressLen);
			out[i].address = p;
			p += m[i].addressLen;
		}
		else
			out[i].address = NULL;
	}
	return out;
}

static void
use_members(raft_node *node, const raft_member *m, size_t n, raft_index index)
{
	size_t		i;

	if (n > 0 && m != node->members)
		memmove(node->members, m, n * sizeof(raft_member));
	node->nMembers = n;
	node->nVoters = 0;
	for (i = 0; i < n; i++)
		if (node->members[i].voter)
			node->nVoters++;
	node->configIndex = index;
}

/* The latest configuration entry of the log at or below upto; 0: none. */
static raft_index
latest_config_entry(const raft_log *log, raft_index upto)
{
	raft_index	i = upto > raft_log_last_index(log) ? raft_log_last_index(log) : upto;

	for (; i > log->lastIncludedIndex; i--)
		if (raft_log_get(log, i)->type == RAFT_ENTRY_CONFIG)
			return i;
	return 0;
}

/*
 * The slot of id in the configuration in effect before index i (the
 * previous configuration entry of the log, else the base); -1: not a
 * member.  *voter says whether it was a voter there.
 */
static int
slot_before(const raft_node *node, raft_index i, raft_node_id id, bool *voter)
{
	raft_index	p = i > 0 ? latest_config_entry(&node->log, i - 1) : 0;
	const raft_member *m = node->baseMembers;
	size_t		n = node->nBaseMembers,
				k;

	*voter = false;
	if (p != 0)
	{
		const raft_entry *e = raft_log_get(&node->log, p);

		if (raft_configuration_decode_into(e->data, e->len, node->scratch, &n) != RAFT_OK)
			return -1;
		m = node->scratch;
	}
	for (k = 0; k < n; k++)
		if (m[k].id == id)
		{
			*voter = m[k].voter;
			return (int) k;
		}
	return -1;
}

static bool
voter_before(const raft_node *node, raft_index i)
{
	bool		voter;

	return slot_before(node, i, node->id, &voter) >= 0 && voter;
}

/* Did the configuration in use (an entry of the log) remove id? */
bool
raft_removed_by_config(const raft_node *node, raft_node_id id)
{
	bool		voter;

	if (node->configIndex <= node->log.lastIncludedIndex || raft_member_slot(node, id) >= 0)
		return false;
	return slot_before(node, node->configIndex, id, &voter) >= 0;
}

/*
 * The members of the configuration before the one in use (the previous
 * configuration entry, else the base) that the one in use left out, this
 * node excepted: the members a leader goes on replicating to until they
 * know (progress.c).  None when the configuration in use is the base.
 */
size_t
raft_config_removed_ids(const raft_node *node, raft_node_id *out)
{
	raft_index	p;
	const raft_member *m = node->baseMembers;
	size_t		n = node->nBaseMembers,
				k,
				c = 0;

	if (node->configIndex == 0 || node->configIndex <= node->log.lastIncludedIndex)
		return 0;
	p = latest_config_entry(&node->log, node->configIndex - 1);
	if (p != 0)
	{
		const raft_entry *e = raft_log_get(&node->log, p);

		if (raft_configuration_decode_into(e->data, e->len, node->scratch, &n) != RAFT_OK)
			return 0;
		m = node->scratch;
	}
	for (k = 0; k < n; k++)
		if (m[k].id != node->id && raft_member_slot(node, m[k].id) < 0)
			out[c++] = m[k].id;
	return c;
}

void
raft_config_refresh(raft_node *node)
{
	raft_index	i = latest_config_entry(&node->log, raft_log_last_index(&node->log));
	size_t		n = 0;

	if (i != 0)
	{
		const raft_entry *e = raft_log_get(&node->log, i);

		/* every configuration entry was checked on its way in */
		if (raft_configuration_decode_into(e->data, e->len, node->members, &n) == RAFT_OK)
		{
			use_members(node, node->members, n, i);
			node->prevVoter = voter_before(node, i);
			return;
		}
	}
	use_members(node, node->baseMembers, node->nBaseMembers, node->baseIndex);
	/* the base is committed: nothing before it matters */
	node->prevVoter = false;
}

static void
sort_members(raft_member *m, size_t n)
{
	size_t		i,
				j;

	for (i = 1; i < n; i++)
	{
		raft_member x = m[i];

		for (j = i; j > 0 && m[j - 1].id > x.id; j--)
			m[j] = m[j - 1];
		m[j] = x;
	}
}

/*
 * The configuration the node is created with (raft_config: voters, the
 * simple form, or members; or nothing), before its log is loaded.  The
 * caller checked the config (validate_config in node.c).
 */
int
raft_config_init(raft_node *node, const raft_config *config)
{
	int			rc = RAFT_OK;
	size_t		i;

	node->members = raft_malloc(&node->alloc, RAFT_MAX_MEMBERS * sizeof(raft_member));
	node->scratch = raft_malloc(&node->alloc, RAFT_MAX_MEMBERS * sizeof(raft_member));
	node->votes = raft_malloc(&node->alloc, RAFT_MAX_MEMBERS);
	if (node->members == NULL || node->scratch == NULL || node->votes == NULL)
		return RAFT_ENOMEM;
	memset(node->votes, 0, RAFT_MAX_MEMBERS);
	if (config->nVoters > 0)
	{
		node->baseMembers = raft_malloc(&node->alloc, config->nVoters * sizeof(raft_member));
		if (node->baseMembers == NULL)
			return RAFT_ENOMEM;
		memset(node->baseMembers, 0, config->nVoters * sizeof(raft_member));
		for (i = 0; i < config->nVoters; i++)
		{
			node->baseMembers[i].id = config->voters[i];
			node->baseMembers[i].voter = true;
		}
		sort_members(node->baseMembers, config->nVoters);
		node->nBaseMembers = config->nVoters;
	}
	else if (config->nMembers > 0)
	{
		node->baseMembers = raft_copy_members(&node->alloc, config->members, config->nMembers, &rc);
		if (rc != RAFT_OK)
			return rc;
		node->nBaseMembers = config->nMembers;
	}
	node->baseIndex = 0;
	use_members(node, node->baseMembers, node->nBaseMembers, 0);
	return RAFT_OK;
}

void
raft_config_free(raft_node *node)
{
	raft_free(&node->alloc, node->members);
	raft_free(&node->alloc, node->scratch);
	raft_free(&node->alloc, node->votes);
	raft_free(&node->alloc, node->baseMembers);
	node->members = NULL;
	node->scratch = NULL;
	node->votes = NULL;
	node->baseMembers = NULL;
	node->nMembers = node->nVoters = node->nBaseMembers = 0;
}

/*
 * Append an entry to the log: every append goes through here, so that a
 * configuration entry takes effect at once.  A leader's progress follows
 * its configuration; if that fails (RAFT_ENOMEM) the entry is taken back
 * and nothing changed.
 */
int
raft_node_append(raft_node *node, raft_term term, uint8_t type,
				 const void *data, uint32_t len)
{
	int			rc = raft_log_append(&node->alloc, &node->log, term, type, data, len);

	if (rc != RAFT_OK || type != RAFT_ENTRY_CONFIG)
		return rc;
	raft_config_refresh(node);
	if (node->role == RAFT_LEADER)
	{
		rc = raft_progress_rebuild(node, false);
		if (rc != RAFT_OK)
		{
			raft_log_truncate(&node->alloc, &node->log, raft_log_last_index(&node->log));
			raft_config_refresh(node);
			return rc;
		}
	}
	return RAFT_OK;
}

/* Remove entries >= from (a follower's conflict); the configuration falls back. */
void
raft_node_truncate(raft_node *node, raft_index from)
{
	raft_log_truncate(&node->alloc, &node->log, from);
	if (node->configIndex >= from)
		raft_config_refresh(node);
}

/*
 * Compact the log through upto, keeping the configuration in effect there
 * as the base (the latest configuration entry at or below upto, if the
 * log holds one).  RAFT_ENOMEM: nothing changed.
 */
int
raft_config_compact(raft_node *node, raft_index upto)
{
	raft_index	i = latest_config_entry(&node->log, upto);
	raft_member *base = NULL;
	raft_member *decoded = NULL;
	size_t		n = 0;
	int			rc = RAFT_OK;

	if (i != 0)
	{
		const raft_entry *e = raft_log_get(&node->log, i);

		rc = raft_configuration_decode(e->data, e->len, &node->alloc, &decoded, &n);
		if (rc != RAFT_OK)
			return rc;			/* ENOMEM; nothing malformed gets into the log */
		base = raft_copy_members(&node->alloc, decoded, n, &rc);
		raft_free(&node->alloc, decoded);
		if (rc != RAFT_OK)
			return rc;
	}
	raft_log_compact(&node->alloc, &node->log, upto);
	if (i != 0)
	{
		raft_free(&node->alloc, node->baseMembers);
		node->baseMembers = base;
		node->nBaseMembers = n;
		node->baseIndex = i;
	}
	/* the configuration in use may have pointed into a compacted entry */
	raft_config_refresh(node);
	return RAFT_OK;
}

/*
 * The commit index moved.  A leader that removed itself has been
 * replicating without counting itself; once its removal is committed it
 * asks the most caught-up voter to campaign at once (TimeoutNow) and steps
 * down.  Not a voter, it never campaigns again.
 */
int
raft_config_after_commit(raft_node *node)
{
	size_t		i;
	int			best = -1;
	int			rc = RAFT_OK;

	if (node->role != RAFT_LEADER || raft_is_voter(node) ||
		node->configIndex > node->commitIndex)
		return RAFT_OK;
	for (i = 0; i < node->nMembers; i++)
	{
		if (!node->members[i].voter || node->members[i].id == node->id)
			continue;
		if (best < 0 || node->progress[i].matchIndex > node->progress[best].matchIndex)
			best = (int) i;
	}
	if (best >= 0)
	{
		raft_message m;

		memset(&m, 0, sizeof(m));
		m.type = RAFT_MSG_TIMEOUT_NOW;
		m.to = node->members[best].id;
		rc = raft_send(node, &m);
	}
	raft_become_follower(node, node->currentTerm, RAFT_NONE);
	return rc;
}

/* Append a configuration entry holding members (valid) at currentTerm. */
static int
append_configuration(raft_node *node, const raft_member *members, size_t n,
					 raft_index *index, raft_term *term)
{
	size_t		len = raft_configuration_encoded_size(members, n);
	uint8_t    *buf;
	int			rc;

	if (len == 0)
		return RAFT_EINVAL;
	buf = raft_malloc(&node->alloc, len);
	if (buf == NULL)
		return RAFT_ENOMEM;
	rc = raft_configuration_encode(members, n, buf, len, &len);
	if (rc == RAFT_OK)
		rc = raft_node_append(node, node->currentTerm, RAFT_ENTRY_CONFIG, buf, (uint32_t) len);
	raft_free(&node->alloc, buf);
	if (rc != RAFT_OK)
		return rc;
	if (index != NULL)
		*index = raft_log_last_index(&node->log);
	if (term != NULL)
		*term = node->currentTerm;
	return RAFT_OK;
}

int
raft_propose_change(raft_node *node, raft_change_type type, raft_node_id id,
					const void *address, uint32_t addressLen,
					raft_index *index, raft_term *term)
{
	raft_member *next;
	size_t		n;
	int			slot;
	int			rc;

	if (node == NULL || id == RAFT_NONE)
		return RAFT_EINVAL;
	if (node->readyOutstanding)
		return RAFT_EBUSY;
	if (node->role != RAFT_LEADER)
		return RAFT_ENOTLEADER;

	slot = raft_member_slot(node, id);
	switch (type)
	{
		case RAFT_CHANGE_ADD_LEARNER:
			if (slot >= 0 || addressLen > RAFT_MAX_ADDRESS_BYTES ||
				(addressLen > 0 && address == NULL) || node->nMembers >= RAFT_MAX_MEMBERS)
				return RAFT_EINVAL;
			break;
		case RAFT_CHANGE_PROMOTE:
			if (slot < 0 || node->members[slot].voter)
				return RAFT_EINVAL;
			break;
		case RAFT_CHANGE_REMOVE:
			if (slot < 0 || (node->members[slot].voter && node->nVoters == 1))
				return RAFT_EINVAL;
			break;
		default:
			return RAFT_EINVAL;
	}

	/* one at a time; after a commit of our own term (the 2015 fix); not while handing over */
	if (node->configIndex > node->commitIndex ||
		!raft_committed_in_current_term(node) ||
		node->transferTarget != RAFT_NONE)
		return RAFT_EBUSY;

	next = raft_malloc(&node->alloc, (node->nMembers + 1) * sizeof(raft_member));
	if (next == NULL)
		return RAFT_ENOMEM;
	memcpy(next, node->members, node->nMembers * sizeof(raft_member));
	n = node->nMembers;
	switch (type)
	{
		case RAFT_CHANGE_ADD_LEARNER:
			next[n].id = id;
			next[n].voter = false;
			next[n].addressLen = addressLen;
			next[n].address = address;
			n++;
			sort_members(next, n);
			break;
		case RAFT_CHANGE_PROMOTE:
			next[slot].voter = true;
			break;
		case RAFT_CHANGE_REMOVE:
			memmove(next + slot, next + slot + 1, (n - (size_t) slot - 1) * sizeof(raft_member));
			n--;
			break;
	}
	/* the encoding copies the addresses before the log changes under them */
	rc = append_configuration(node, next, n, index, term);
	raft_free(&node->alloc, next);
	return rc;
}

int
raft_force_configuration(raft_node *node, const raft_member *members, size_t n)
{
	size_t		i;
	bool		self = false;
	int			rc;

	if (node == NULL || !raft_configuration_valid(members, n))
		return RAFT_EINVAL;
	for (i = 0; i < n; i++)
		if (members[i].id == node->id && members[i].voter)
			self = true;
	if (!self)
		return RAFT_EINVAL;
	if (node->readyOutstanding)
		return RAFT_EBUSY;
	/* an entry needs a term; a node that never saw one starts the first */
	if (node->currentTerm == 0)
	{
		node->currentTerm = 1;
		node->votedFor = RAFT_NONE;
	}
	rc = append_configuration(node, members, n, NULL, NULL);
	if (rc != RAFT_OK)
		return rc;
	if (node->role == RAFT_LEADER)
	{
		node->transferTarget = RAFT_NONE;
		/* alone, it commits on its own durability (raft_advance) */
		return raft_maybe_commit(node);
	}
	/* no leader is followed any more; the election timer does the rest */
	raft_become_follower(node, node->currentTerm, RAFT_NONE);
	return RAFT_OK;
}

size_t
raft_get_configuration(const raft_node *node, raft_member *out, size_t cap,
					   raft_index *index, bool *committed)
{
	size_t		i;

	for (i = 0; i < node->nMembers && i < cap; i++)
		out[i] = node->members[i];
	if (index != NULL)
		*index = node->configIndex;
	if (committed != NULL)
		*committed = node->configIndex <= node->commitIndex;
	return node->nMembers;
}
