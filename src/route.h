/*
 * route.h — transparent mode: raft_ext.route_writes (see route.c).
 *
 * Locking: none.
 */
#ifndef RAFT_EXT_ROUTE_H
#define RAFT_EXT_ROUTE_H

#include "postgres.h"

#include "executor/execdesc.h"
#include "nodes/parsenodes.h"

extern bool raft_ext_route_writes;

/* Will this query, planned now, be routed when it runs? (guard.c's planner) */
extern bool raft_route_will_route(Query *parse);

/* Route the starting statement if it is a write to route; true if it was. */
extern bool raft_route_executor_start(QueryDesc *queryDesc);

extern void raft_route_install_hooks(void);

#endif							/* RAFT_EXT_ROUTE_H */
