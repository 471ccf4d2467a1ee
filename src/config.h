/*
 * config.h — raft_ext's configuration: GUC variables, the peers list parser
 * and the GUC check hooks.
 *
 * The GUCs are defined in raft_ext.c (_PG_init); their variables and check
 * hooks live here.  Almost every setting is PGC_POSTMASTER: the Raft
 * configuration is static in v1.
 *
 * Locking: none.  GUC variables are per-process copies; the parsed peers
 * list is the GUC "extra" of raft_ext.peers, immutable once assigned.
 */
#ifndef RAFT_EXT_CONFIG_H
#define RAFT_EXT_CONFIG_H

#include "postgres.h"

#include "utils/guc.h"

/* Upper bound on cluster members (sizes the status arrays in shared memory). */
#define RAFT_EXT_MAX_PEERS 32
/* a member's connection string, as the configuration carries it (with its NUL) */
#define RAFT_EXT_CONNINFO_LEN 1024

/* Raft ticks are this many milliseconds. */
#define RAFT_EXT_TICK_MS 10

/* GUC variables */
extern int	raft_ext_node_id;
extern char *raft_ext_peers;
extern bool raft_ext_join;
extern char *raft_ext_database;
extern char *raft_ext_cluster_name;
extern int	raft_ext_election_timeout_min;
extern int	raft_ext_election_timeout_max;
extern int	raft_ext_heartbeat_interval;
extern int	raft_ext_submit_timeout;
extern int	raft_ext_max_statement_size;
extern int	raft_ext_inbox_size_kb;
extern char *raft_ext_peer_roles;

/*
 * The parsed peers list: one malloc'd block (it is the GUC's "extra"), so
 * the strings live inside it.
 */
typedef struct RaftPeerList
{
	int			npeers;
	int			ids[RAFT_EXT_MAX_PEERS];
	int			conninfo_off[RAFT_EXT_MAX_PEERS];	/* offsets into strings */
	char		strings[FLEXIBLE_ARRAY_MEMBER];
} RaftPeerList;

static inline const char *
raft_peer_conninfo(const RaftPeerList *list, int i)
{
	return list->strings + list->conninfo_off[i];
}

/*
 * Parse a peers string.  On success returns a malloc'd list (npeers may be 0
 * for an empty string).  On failure returns NULL and sets *error to a
 * palloc'd message (or, if malloc failed, *error = NULL).
 */
extern RaftPeerList *raft_conf_parse_peers(const char *value, char **error);

/* The current parsed peers list (never NULL; npeers 0 when unset). */
extern const RaftPeerList *raft_conf_peers(void);

/* Index of node_id in the peers list, or -1. */
extern int	raft_conf_peer_index(int node_id);

/* true when node_id and peers are set, i.e. the workers should run. */
extern bool raft_conf_is_configured(void);

/*
 * raft_ext.peer_roles: 'id=role, ...', the one login role each member's
 * messages may come from.  Is it set; which member a role speaks for (0:
 * none).
 */
extern bool raft_conf_peer_roles_set(void);
extern int	raft_conf_node_of_role(const char *role);
extern bool raft_conf_check_peer_roles(char **newval, void **extra, GucSource source);
extern void raft_conf_assign_peer_roles(const char *newval, void *extra);

/* 64-bit cluster identifier carried by every wire message. */
extern uint64 raft_conf_cluster_id(void);

/*
 * The effective limit on a submitted statement, in bytes: the smaller of
 * raft_ext.max_statement_size and what the inbox can carry.
 */
extern int	raft_conf_statement_limit(void);

/* Inbox capacity in bytes. */
extern Size raft_conf_inbox_bytes(void);

/*
 * Copy conninfo with any password replaced by "********", as a key=value
 * string.  Returns a palloc'd string; if conninfo does not parse, returns
 * "(invalid connection string)".
 */
extern char *raft_conf_mask_conninfo(const char *conninfo);

/* GUC hooks */
extern bool raft_conf_check_node_id(int *newval, void **extra, GucSource source);
extern bool raft_conf_check_peers(char **newval, void **extra, GucSource source);
extern void raft_conf_assign_peers(const char *newval, void *extra);
extern bool raft_conf_check_database(char **newval, void **extra, GucSource source);

/* Cross-setting check run once all GUCs are defined; ereports on error. */
extern void raft_conf_validate(void);

#endif							/* RAFT_EXT_CONFIG_H */
