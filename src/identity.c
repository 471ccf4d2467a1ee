/*
 * identity.c — the node's durable identity (see identity.h).
 *
 * $PGDATA/raft_ext_identity, a small text file:
 *   raft_ext identity 1
 *   node_id 2
 *   cluster_id 0123456789abcdef      (of raft_ext.cluster_name)
 *   incarnation 0123456789abcdef     (random, chosen when the file is made)
 *   extension 16384                  (raft_ext's pg_extension OID then)
 *   high_term 7                      (the highest term ever persisted)
 * written whole to a temporary file, fsync'd and renamed over the old one
 * (durable_rename), so a crash leaves the old or the new file.
 *
 * What it catches, at the Raft worker's start:
 *   - another node's data directory (a copy): node_id or cluster_id differ;
 *   - raft_ext's state lost while the data stays: the extension was dropped
 *     and created again (its OID changed), or the tables' term is below the
 *     file's high-water term.  Such a node must neither vote (it may have
 *     voted in a term it no longer remembers: two leaders in one term) nor
 *     apply (its tables already hold what it applied: rows twice).
 * What it cannot catch: a whole data directory restored from an old backup
 * brings its old file along; the leader notices that follower's log went
 * backwards (raft_peers.regressed).
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

typedef struct RaftIdentity
{
	int			node_id;
	uint64		cluster_id;
	uint64		incarnation;
	Oid			extension;
	uint64		high_term;
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
				   "extension %u\nhigh_term %llu\n",
				   id->node_id, (unsigned long long) id->cluster_id,
				   (unsigned long long) id->incarnation, id->extension,
				   (unsigned long long) id->high_term);
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
		unsigned int o;

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
		else if (sscanf(line, "extension %u", &o) == 1)
		{
			id->extension = o;
			fields |= 8;
		}
		else if (sscanf(line, "high_term %llu", &v) == 1)
		{
			id->high_term = v;
			fields |= 16;
		}
	}
	FreeFile(f);
	if (!header || fields != 31)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("raft_ext: file \"%s\" in the data directory is malformed", RAFT_IDENTITY_FILE),
				 errhint("It records which node this data directory is; restore it, or rebuild the node (README, \"Repairing a node\").")));
	return true;
}

char *
raft_identity_check(Oid ext_oid, uint64 current_term, bool tables_empty, char **hint)
{
	RaftIdentity id;
	uint64		cluster_id = raft_conf_cluster_id();

	*hint = NULL;
	if (!raft_identity_read(&id))
	{
		/* a new node, or one that ran a version without the file */
		memset(&id, 0, sizeof(id));
		id.node_id = raft_ext_node_id;
		id.cluster_id = cluster_id;
		id.incarnation = pg_prng_uint64(&pg_global_prng_state);
		id.extension = ext_oid;
		id.high_term = current_term;
		raft_identity_write(&id);
		ereport(LOG,
				(errmsg("raft_ext: node %d: identity recorded in \"%s\" (incarnation %016llx%s)",
						id.node_id, RAFT_IDENTITY_FILE, (unsigned long long) id.incarnation,
						tables_empty ? ", a new node" : ", from its existing Raft state")));
		raft_identity = id;
		raft_identity_loaded = true;
		return NULL;
	}
	if (id.node_id != raft_ext_node_id || id.cluster_id != cluster_id)
	{
		*hint = psprintf("If this is a copy of node %d made to rebuild node %d, remove the file \"%s\" from it first (README, \"Repairing a node\"); otherwise correct raft_ext.node_id or raft_ext.cluster_name.",
						 id.node_id, raft_ext_node_id, RAFT_IDENTITY_FILE);
		return psprintf("this data directory holds the Raft state of node %d%s, but this server is configured as node %d%s",
						id.node_id, id.cluster_id != cluster_id ? " of another cluster" : "",
						raft_ext_node_id, id.cluster_id != cluster_id ? " of this one" : "");
	}
	if (id.extension != ext_oid || current_term < id.high_term)
	{
		*hint = pstrdup("Rebuild this node from a copy of a healthy one (README, \"Repairing a node\"); its tables already hold what it applied, so it can neither apply the log again nor vote in terms it no longer remembers.");
		if (id.extension != ext_oid)
			return psprintf("this node's Raft state was lost: the extension raft_ext was dropped and created again (node %d reached term %llu)",
							id.node_id, (unsigned long long) id.high_term);
		return psprintf("this node's Raft state went back: its tables are at term %llu, but node %d reached term %llu",
						(unsigned long long) current_term, id.node_id,
						(unsigned long long) id.high_term);
	}
	raft_identity = id;
	raft_identity_loaded = true;
	return NULL;
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
