/*
 * sql_control.h — raft_barrier() and raft_transfer_leadership() (see
 * sql_control.c).
 *
 * Locking: through request.c.
 */
#ifndef RAFT_EXT_SQL_CONTROL_H
#define RAFT_EXT_SQL_CONTROL_H

#include "postgres.h"

/*
 * What raft_barrier() does: a ReadIndex confirmed by the leader, then a wait
 * until this node has applied it.  Returns the read index; ERROR on timeout.
 */
extern uint64 raft_barrier_wait(void);

#endif							/* RAFT_EXT_SQL_CONTROL_H */
