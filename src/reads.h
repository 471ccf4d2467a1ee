/*
 * reads.h — raft_ext.read_consistency: linearizable reads on any node
 * without calling raft_barrier().
 *
 * Locking: none (through request.c for the barrier).
 */
#ifndef RAFT_EXT_READS_H
#define RAFT_EXT_READS_H

#include "postgres.h"

typedef enum RaftReadConsistency
{
	RAFT_READ_LOCAL,
	RAFT_READ_LINEARIZABLE
} RaftReadConsistency;

extern int	raft_ext_read_consistency;
extern const struct config_enum_entry raft_read_consistency_options[];

extern void raft_reads_install_hooks(void);

#endif							/* RAFT_EXT_READS_H */
