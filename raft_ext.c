/*
 * raft_ext.c — entry point of the raft_ext extension: GUCs, shared memory
 * hooks and background worker registration.
 *
 * raft_ext makes N PostgreSQL servers one replicated database with Raft:
 * see design.md.  The library must be in shared_preload_libraries; loaded
 * any other way it defines nothing, and every SQL function says so with a
 * hint (raft_shmem_require()).
 *
 * Locking: none here (postmaster start-up only).
 */
#include "postgres.h"

#include <limits.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "src/apply.h"
#include "src/checks.h"
#include "src/compaction.h"
#include "src/config.h"
#include "src/determinism.h"
#include "src/guard.h"
#include "src/query.h"
#include "src/reads.h"
#include "src/route.h"
#include "src/submit.h"
#include "src/shmem.h"
#include "src/snapshot.h"
#include "src/workers.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;

	DefineCustomIntVariable("raft_ext.node_id",
							"This server's Raft node id.",
							"Must be one of the ids in raft_ext.peers; 0 means not configured.",
							&raft_ext_node_id,
							0, 0, INT_MAX,
							PGC_POSTMASTER, 0,
							raft_conf_check_node_id, NULL, NULL);

	DefineCustomStringVariable("raft_ext.peers",
							   "The members of a new cluster (its bootstrap configuration), this server included, as id=connection string, comma separated.",
							   "Connection strings are libpq URIs or key=value strings; see the README for the exact grammar.  Once the cluster's configuration changed through the log (raft_add_node, raft_remove_node), the configuration in the database counts.",
							   &raft_ext_peers,
							   "",
							   PGC_POSTMASTER, GUC_SUPERUSER_ONLY,
							   raft_conf_check_peers, raft_conf_assign_peers, NULL);

	DefineCustomBoolVariable("raft_ext.join",
							 "A server with no Raft state starts with no configuration and waits to be added to an existing cluster (raft_add_node).",
							 "Its raft_ext.peers need not list it.  Ignored once the node has Raft state.",
							 &raft_ext_join,
							 false,
							 PGC_POSTMASTER, 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("raft_ext.peer_roles",
							   "The login role each member's messages must come from, as id=role, comma separated.",
							   "Empty: any role allowed to call raft_ext.deliver_stream may speak for any member.",
							   &raft_ext_peer_roles,
							   "",
							   PGC_SIGHUP, 0,
							   raft_conf_check_peer_roles, raft_conf_assign_peer_roles, NULL);

	DefineCustomStringVariable("raft_ext.database",
							   "The database raft_ext replicates (and where its workers connect).",
							   NULL,
							   &raft_ext_database,
							   "postgres",
							   PGC_POSTMASTER, 0,
							   raft_conf_check_database, NULL, NULL);

	DefineCustomStringVariable("raft_ext.cluster_name",
							   "Name of the Raft cluster; messages of another cluster are refused.",
							   "Must be the same on every member.",
							   &raft_ext_cluster_name,
							   "raft_ext",
							   PGC_POSTMASTER, 0,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("raft_ext.election_timeout_min",
							"Minimum Raft election timeout.",
							NULL,
							&raft_ext_election_timeout_min,
							150, 20, 60000,
							PGC_POSTMASTER, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("raft_ext.election_timeout_max",
							"Maximum Raft election timeout.",
							"Election timeouts are drawn at random between the minimum and this.",
							&raft_ext_election_timeout_max,
							300, 30, 120000,
							PGC_POSTMASTER, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("raft_ext.heartbeat_interval",
							"Interval between the leader's heartbeats.",
							NULL,
							&raft_ext_heartbeat_interval,
							50, 10, 10000,
							PGC_POSTMASTER, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("raft_ext.submit_timeout",
							"How long raft_submit, raft_barrier and raft_transfer_leadership wait when statement_timeout is 0.",
							NULL,
							&raft_ext_submit_timeout,
							30000, 1, INT_MAX,
							PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("raft_ext.max_statement_size",
							"Largest statement raft_submit accepts.",
							"Also limited to a quarter of raft_ext.inbox_size.",
							&raft_ext_max_statement_size,
							1024 * 1024, 1024, 60 * 1024 * 1024,
							PGC_SUSET, GUC_UNIT_BYTE,
							NULL, NULL, NULL);

	DefineCustomIntVariable("raft_ext.inbox_size",
							"Size of the shared-memory buffer for messages received from peers.",
							"Messages arriving while it is full are dropped (Raft retries). Use the same value on every member.",
							&raft_ext_inbox_size_kb,
							16 * 1024, 1024, 1024 * 1024,
							PGC_POSTMASTER, GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("raft_ext.verify_interval",
							"How often the leader appends a consistency check (raft_verify); 0: never.",
							"Every node checksums every table of the replicated database when it applies one: see raft_consistency.",
							&raft_ext_verify_interval,
							0, 0, INT_MAX / 1000,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("raft_ext.apply_timeout",
							"How long one log entry may run when a node applies it.",
							"Captured when the statement is submitted, like search_path; the entry's statement is then cancelled on every node, which is its outcome (57014).",
							&raft_ext_apply_timeout,
							60000, 100, INT_MAX,
							PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("raft_ext.max_query_result",
							"The most of a raft_query result kept for its caller, on this node.",
							"Beyond it the statement is still applied; the caller gets an error saying so.",
							&raft_ext_max_query_result,
							1024, 1, INT_MAX / 1024,
							PGC_SUSET, GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("raft_ext.request_id_retention",
							"How long a request id of raft_submit_once is remembered, after its entry.",
							"Captured with each entry; a retry within it gets the original outcome instead of applying again.",
							&raft_ext_request_id_retention,
							86400, 1, INT_MAX,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("raft_ext.log_keep_entries",
							"How many applied entries raft_ext.log keeps; older ones, once every member holds them, are removed (0: never).",
							"A member that is down holds removal back; one whose state was lost must then be rebuilt from a copy of a healthy node.",
							&raft_ext_log_keep_entries,
							100000, 0, INT_MAX,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("raft_ext.log_hold_entries",
							"How far behind a member may hold log compaction back, in entries (0: no limit).",
							"Past it, entries it lacks are removed anyway; it then needs a snapshot (a copy of a member) to catch up.",
							&raft_ext_log_hold_entries,
							1000000, 0, INT_MAX,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("raft_ext.outcome_retention",
							"How long an applied entry's outcome stays in raft_ext.outcome (0: forever).",
							"At least as long as raft_ext.request_id_retention; removed in log order, on every node alike; the leader's value counts.",
							&raft_ext_outcome_retention,
							86400, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("raft_ext.route_writes",
							 "Transparent mode: submit ordinary INSERT, UPDATE, DELETE and MERGE on the replicated database through the log.",
							 "Autocommit statements only; a write in a transaction block is refused.",
							 &raft_ext_route_writes,
							 false,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	DefineCustomEnumVariable("raft_ext.read_consistency",
							 "local: reads see what this node has applied; linearizable: a transaction's first read waits for a ReadIndex barrier.",
							 "With linearizable, a read sees every write acknowledged anywhere before it (READ COMMITTED only).",
							 &raft_ext_read_consistency,
							 RAFT_READ_LOCAL, raft_read_consistency_options,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("raft_ext.outcome_check_interval",
							"How long the leader lets applied entries wait for an outcome check when fewer than 256 came; 0: only every 256 entries.",
							"Every node compares its outcomes with the leader's when it applies the check; a node that differs stops, as diverged.",
							&raft_ext_outcome_check_interval,
							1000, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("raft_ext.auto_snapshot",
							 "A node whose leader no longer holds the log entries it lacks installs a copy of the leader's database by itself, online.",
							 "Off: it only says it needs a snapshot (raft_status.worker_state); raft_install_snapshot() installs one.",
							 &raft_ext_auto_snapshot,
							 true,
							 PGC_SIGHUP, 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("raft_ext.local_writes",
							 "Lets a superuser write to the replicated database directly, on this node only.",
							 "For repairs. Every statement it lets through is logged at WARNING; what it writes is not replicated.",
							 &raft_ext_local_writes,
							 false,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	MarkGUCPrefixReserved("raft_ext");

	raft_conf_validate();
	raft_shmem_install_hooks();
	raft_guard_install_hooks();
	raft_reads_install_hooks();
	raft_route_install_hooks();
	raft_determinism_install_hooks();

	if (raft_conf_is_configured())
		raft_workers_register();
	else
		ereport(LOG,
				(errmsg("raft_ext: not configured, background workers not started"),
				 errhint("Set raft_ext.node_id and raft_ext.peers and restart the server.")));
}
