/*
 * request.h — a backend's side of the request slots in shared memory
 * (shmem.h): post a request for the Raft worker, wait for its result,
 * release the slot.
 *
 * Locking: slots_lock as described in shmem.h; this backend owns slot
 * MyBackendId - 1 and is the only one to move it out of and back to FREE.
 */
#ifndef RAFT_EXT_REQUEST_H
#define RAFT_EXT_REQUEST_H

#include "postgres.h"

#include "shmem.h"

/*
 * Post a request.  SUBMIT: payload in DSM segment h of len bytes; TRANSFER:
 * target; WAIT_APPLIED: index.  Wakes the Raft worker when it has work.
 */
extern void raft_request_begin(RaftSlotKind kind, dsm_handle h,
							   const char *inline_data, Size len,
							   int target, uint64 index);

/*
 * Wait until the request is DONE (for WAIT_APPLIED and a BARRIER that has
 * its read index: until last_applied >= index) or the deadline passes.
 * Returns true when done; *out gets a copy of the slot either way.  Throws
 * on cancel / statement timeout (the slot is still in use: call
 * raft_request_end()).  watch_client: also end the session (FATAL, as
 * client_connection_check_interval would) once the client has closed its
 * connection, checked every 100 ms: a follower that gives up on a forwarded
 * request closes it (remote.c).
 */
extern bool raft_request_wait(RaftSlot *out, TimestampTz deadline, bool watch_client);

/* Release the slot; *out gets a copy of it as it was (may be NULL). */
extern void raft_request_end(RaftSlot *out);

/* Current status snapshot (a copy). */
extern void raft_request_status(RaftStatusSnapshot *out);

/* Sleep up to ms milliseconds on the latch (interruptible). */
extern void raft_request_nap(long ms);

/* The deadline for a waiting call: statement_timeout, else raft_ext.submit_timeout. */
extern TimestampTz raft_request_deadline(void);

#endif							/* RAFT_EXT_REQUEST_H */
