/*
 * identity.c — the node's durable identity (see identity.h).
 *
 * $PGDATA/raft_ext_identity, a small text file:
 *   raft_ext identity 1
 *   node_id 2
 *   cluster_id 0123456789abcdef      (of raft_ext.cluster_name)
 *   incarnation 0123456789abcdef     (random, chosen when the file is made)
 *   high_term 7                      (the highest term ever persisted)
 *   vote_floor 7                     (optional: no vote up to this term)
 * written whole to a temporary file, fsync'd and renamed over the old one
 * (durable_rename), so a crash leaves the old or the new file.  The same
 * incarnation is kept in the table raft_ext.identity, so that the Raft
 * tables say whose state they are.
 *
 * At the Raft worker's start:
 *   - no file, tables without an incarnation: a new node, or one upgraded
 *     from a version without the file: the identity is made;
 *   - no file but tables with an incarnation: the file was lost: refused
 *     (unless raft_ext.join: a server to be added, started on a copy of a
 *     member's data directory: a new member, with a vote floor at the
 *     copy's term);
 *   - node_id or cluster_id differ: another node's data directory (a copy
 *     that kept its file): refused;
 *   - tables new and empty (the extension dropped and created again) while
 *     the file says the node existed: its state is lost: refused;
 *   - tables of another incarnation, not empty: a copy of another node, to
 *     which this node's own file was given back (README, "Repairing a
 *     node"): adopted, with a vote floor at the highest term this node ever
 *     reached, so that it cannot vote twice in a term it voted in before it
 *     broke (raft_vote_floor; kept in the file until the core lifts it);
 *   - this incarnation's tables at a term below high_term: they went back
 *     (restored from an older copy): refused.
 * Refused means: no vote, no acknowledgement, no apply (worker.c): a node
 * that may have voted in a term it no longer remembers could make two
 * leaders in one term, and one whose tables hold what it applied would
 * apply it again.  What this cannot catch: a whole data directory restored
 * from an old backup brings its old file along; the leader notices that
 * follower's log went back (raft_peers.regressed_from).
 *
 * The high-water term is raised after the hard state that reached the term
 * is committed and before the messages of that batch are sent (worker.c):
 * one fsync per new term, which elections alone cause.
 *
 * Locking: none (the Raft worker only).
 */
#include "postgres.h"

#include <sys/stat.h>
#include <unistd.h>

#include "common/pg_prng.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/builtins.h"

#include "config.h"
#include "identity.h"
#include "storage.h"

typedef struct RaftIdentity
{
	int			node_id;
	uint64		cluster_id;
	uint64		incarnation;
	uint64		high_term;
	uint64		vote_floor;
} RaftIdentity;

static RaftIdentity raft_identity;
static bool raft_identity_loaded = false;

static void
raft_identity_write(const RaftIdentity *id)
{
	char		tmp[MAXPGPATH];
	char		text[512];
	int			fd;
	int			len;

	snprintf(tmp, sizeof(tmp), "%s.tmp", RAFT_IDENTITY_FILE);
	len = snprintf(text, sizeof(text),
				   "raft_ext identity 1\nnode_id %d\ncluster_id %016llx\nincarnation %016llx\n"
				   "high_term %llu\n",
				   id->node_id, (unsigned long long) id->cluster_id,
				   (unsigned long long) id->incarnation, (unsigned long long) id->high_term);
	if (id->vote_floor > 0)
		len += snprintf(text + len, sizeof(text) - len, "vote_floor %llu\n",
						(unsigned long long) id->vote_floor);
	fd = OpenTransientFile(tmp, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("raft_ext: could not create file \"%s\": %m", tmp)));
	errno = 0;
	if (write(fd, text, len) != len)
	{
		if (errno == 0)
			errno = ENOSPC;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("raft_ext: could not write file \"%s\": %m", tmp)));
	}
	if (pg_fsync(fd) != 0)
		ereport(data_sync_elevel(ERROR),
				(errcode_for_file_access(),
				 errmsg("raft_ext: could not fsync file \"%s\": %m", tmp)));
	if (CloseTransientFile(fd) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("raft_ext: could not close file \"%s\": %m", tmp)));
	(void) durable_rename(tmp, RAFT_IDENTITY_FILE, ERROR);
}

/* Read the file; false if there is none.  Throws if it is malformed. */
static bool
raft_identity_read(RaftIdentity *id)
{
	FILE	   *f = AllocateFile(RAFT_IDENTITY_FILE, "r");
	char		line[256];
	int			fields = 0;
	bool		header = false;

	if (f == NULL)
	{
		if (errno == ENOENT)
			return false;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("raft_ext: could not open file \"%s\": %m", RAFT_IDENTITY_FILE)));
	}
	memset(id, 0, sizeof(*id));
	while (fgets(line, sizeof(line), f) != NULL)
	{
		unsigned long long v;
		int			n;

		if (strcmp(line, "raft_ext identity 1\n") == 0)
			header = true;
		else if (sscanf(line, "node_id %d", &n) == 1)
		{
			id->node_id = n;
			fields |= 1;
		}
		else if (sscanf(line, "cluster_id %llx", &v) == 1)
		{
			id->cluster_id = v;
			fields |= 2;
		}
		else if (sscanf(line, "incarnation %llx", &v) == 1)
		{
			id->incarnation = v;
			fields |= 4;
		}
		else if (sscanf(line, "high_term %llu", &v) == 1)
		{
			id->high_term = v;
			fields |= 16;
		}
		else if (sscanf(line, "vote_floor %llu", &v) == 1)
			id->vote_floor = v;
	}
	FreeFile(f);
	if (!header || fields != 23)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("raft_ext: file \"%s\" in the data directory is malformed", RAFT_IDENTITY_FILE),
				 errhint("It records which node this data directory is; restore it, or rebuild the node (README, \"Repairing a node\").")));
	return true;
}

char *
raft_identity_check(uint64 current_term, bool tables_empty, const char *tables_incarnation,
					char **hint, uint64 *vote_floor)
{
	RaftIdentity id;
	uint64		cluster_id = raft_conf_cluster_id();
	char		mine[17];

	*hint = NULL;
	*vote_floor = 0;
	if (!raft_identity_read(&id))
	{
		if (tables_incarnation != NULL && raft_ext_join)
		{
			/*
			 * A server to be added, started on a copy of a member's data
			 * directory (README, "Adding a server"; the copy's identity file
			 * removed): a new member, whose log and tables are the copy's.
			 * It may vote, once promoted, in no term up to the copy's: its
			 * hard state is another node's.
			 */
			memset(&id, 0, sizeof(id));
			id.node_id = raft_ext_node_id;
			id.cluster_id = cluster_id;
			id.incarnation = pg_prng_uint64(&pg_global_prng_state);
			id.high_term = current_term;
			id.vote_floor = current_term;
			raft_identity_write(&id);
			snprintf(mine, sizeof(mine), "%016llx", (unsigned long long) id.incarnation);
			raft_storage_set_incarnation(mine);
			ereport(LOG,
					(errmsg("raft_ext: node %d starts from a copy of another member's data (incarnation %s, at term %llu), as a new member (raft_ext.join)",
							id.node_id, tables_incarnation, (unsigned long long) current_term)));
			raft_identity = id;
			raft_identity_loaded = true;
			*vote_floor = id.vote_floor;
			return NULL;
		}
		if (tables_incarnation != NULL)
		{
			*hint = psprintf("Put this node's own \"%s\" back in the data directory (README, \"Repairing a node\"), or rebuild the node.",
							 RAFT_IDENTITY_FILE);
			return psprintf("the file \"%s\" is missing, and the Raft state here belongs to incarnation %s",
							RAFT_IDENTITY_FILE, tables_incarnation);
		}
		/* a new node, or one that ran a version without the file */
		memset(&id, 0, sizeof(id));
		id.node_id = raft_ext_node_id;
		id.cluster_id = cluster_id;
		id.incarnation = pg_prng_uint64(&pg_global_prng_state);
		id.high_term = current_term;
		raft_identity_write(&id);
		snprintf(mine, sizeof(mine), "%016llx", (unsigned long long) id.incarnation);
		raft_storage_set_incarnation(mine);
		ereport(LOG,
				(errmsg("raft_ext: node %d: identity recorded in \"%s\" (incarnation %s%s)",
						id.node_id, RAFT_IDENTITY_FILE, mine,
						tables_empty ? ", a new node" : ", from its existing Raft state")));
		raft_identity = id;
		raft_identity_loaded = true;
		return NULL;
	}
	if (id.node_id != raft_ext_node_id || id.cluster_id != cluster_id)
	{
		*hint = psprintf("If this is a copy of node %d made to rebuild node %d, put node %d's own \"%s\" in its place (README, \"Repairing a node\"); otherwise correct raft_ext.node_id or raft_ext.cluster_name.",
						 id.node_id, raft_ext_node_id, raft_ext_node_id, RAFT_IDENTITY_FILE);
		return psprintf("this data directory holds the Raft state of node %d%s, but this server is configured as node %d%s",
						id.node_id, id.cluster_id != cluster_id ? " of another cluster" : "",
						raft_ext_node_id, id.cluster_id != cluster_id ? " of this one" : "");
	}
	snprintf(mine, sizeof(mine), "%016llx", (unsigned long long) id.incarnation);
	if (tables_incarnation == NULL && tables_empty)
	{
		*hint = pstrdup("Rebuild this node from a copy of a healthy one: SELECT raft_install_snapshot(<a member's node id>) on it, or a physical copy (README, \"Repairing a node\"); its tables already hold what it applied, so it can neither apply the log again nor vote in terms it no longer remembers.");
		return psprintf("this node's Raft state was lost: raft_ext's tables are new (was the extension dropped and created again?), but node %d reached term %llu",
						id.node_id, (unsigned long long) id.high_term);
	}
	if (tables_incarnation == NULL)
	{
		/* tables of an extension older than 1.2, since updated: they are ours */
		raft_storage_set_incarnation(mine);
	}
	else if (strcmp(tables_incarnation, mine) != 0)
	{
		/* a copy of another node, given this node's identity file: adopt it */
		id.vote_floor = Max(id.vote_floor, id.high_term);
		id.high_term = Max(id.high_term, current_term);
		raft_identity_write(&id);
		raft_storage_set_incarnation(mine);
		ereport(LOG,
				(errmsg("raft_ext: node %d adopts the Raft state in this data directory (a copy of another node, at term %llu); it will not vote in any term up to %llu",
						id.node_id, (unsigned long long) current_term,
						(unsigned long long) id.vote_floor)));
	}
	else if (current_term < id.high_term)
	{
		*hint = pstrdup("Rebuild this node from a copy of a healthy one: SELECT raft_install_snapshot(<a member's node id>) on it, or a physical copy (README, \"Repairing a node\"): it may have voted in terms it no longer remembers.");
		return psprintf("this node's Raft state went back: its tables are at term %llu, but node %d reached term %llu",
						(unsigned long long) current_term, id.node_id,
						(unsigned long long) id.high_term);
	}
	raft_identity = id;
	raft_identity_loaded = true;
	*vote_floor = id.vote_floor;
	return NULL;
}

void
raft_identity_floor_lifted(void)
{
	if (!raft_identity_loaded || raft_identity.vote_floor == 0)
		return;
	raft_identity.vote_floor = 0;
	raft_identity_write(&raft_identity);
	ereport(LOG,
			(errmsg("raft_ext: node %d may vote again (its vote floor is lifted)", raft_identity.node_id)));
}

void
raft_identity_note_term(uint64 current_term)
{
	Assert(raft_identity_loaded);
	if (current_term <= raft_identity.high_term)
		return;
	raft_identity.high_term = current_term;
	raft_identity_write(&raft_identity);
}
