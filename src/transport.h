/*
 * transport.h — raft_ext's node-to-node message transport over libpq.
 *
 * The sending half is used only by the Raft worker process; the receiving
 * half is raft_ext.deliver_stream(), in transport.c too.  The worker keeps one non-blocking
 * libpq connection per peer (PQconnectStartParams/PQconnectPoll,
 * PQsetnonblocking) and runs CALL raft_ext.deliver_stream() on it once,
 * which puts it into COPY FROM STDIN mode; every message is then one
 * CopyData message (PQputCopyData).  Messages are one-way: the reply
 * travels back on the peer's own connection to us.
 * Raft tolerates lost messages, so when a peer is down or its send queue is
 * full, messages are dropped (counted) rather than blocking the worker.
 * Broken connections are retried with exponential back-off.
 *
 * Locking: none; transport state is private to the worker process.
 *
 * Use from the worker's main loop:
 *     raft_transport_init(...);                  once, after reading the peers
 *     for (;;)
 *     {
 *         rc = raft_transport_wait(ms_until_next_tick, PG_WAIT_EXTENSION);
 *         if (rc & WL_LATCH_SET) { ResetLatch(MyLatch); CHECK_FOR_INTERRUPTS(); }
 *         raft_transport_poll();
 *         ... tick if due (by the clock: wait returns early on latch and
 *             socket activity), drain the inbox, step, send, persist ...
 *     }
 *     raft_transport_shutdown();                 on SIGTERM (also run at exit)
 * raft_transport_send only queues (libpq itself sends each 8 kB as it
 * fills); the rest goes out at the next raft_transport_wait or
 * raft_transport_poll.
 * Counters: messages_sent counts messages handed to libpq for the stream;
 * messages_dropped counts those refused by send (peer not streaming, queue
 * full) plus, when a connection is lost with output still in libpq's
 * buffer, the messages queued since that buffer was last empty (some of
 * which may have reached the peer), so the two can overlap.  Messages
 * already in the kernel when a connection breaks are lost uncounted.
 */
#ifndef RAFT_EXT_TRANSPORT_H
#define RAFT_EXT_TRANSPORT_H

#include "postgres.h"

#include "datatype/timestamp.h"

typedef struct RaftTransportPeerInfo
{
	int			node_id;
	bool		connected;		/* connection established and usable */
	int64		messages_sent;
	int64		messages_dropped;
	TimestampTz last_connect_attempt;	/* 0 if never */
	char	   *last_error;		/* palloc'd in transport context, or NULL;
								 * valid until the next transport call */
} RaftTransportPeerInfo;

/*
 * conninfos[i] is the connection string of node_ids[i]; self excluded.
 * Copies everything.  The list must already be valid (config.c checks it).
 */
extern void raft_transport_init(int npeers, const int *node_ids, const char *const *conninfos);

/*
 * The members changed (membership.c): the same lists as raft_transport_init.
 * A member kept at the same address keeps its connection, its queue and its
 * counters; one that left is closed; a new one connects at the next poll.
 */
extern void raft_transport_reconfigure(int npeers, const int *node_ids, const char *const *conninfos);

/* Queue one encoded message for node_id.  Never blocks. */
extern void raft_transport_send(int node_id, const char *data, size_t len);

/*
 * Wait up to timeout_ms for the latch, postmaster death, or activity on any
 * peer socket (read, or write when there is output pending / a connection
 * in progress).  Returns the WL_* flags that fired (WL_TIMEOUT on timeout).
 * Exits the process on postmaster death, as bgworkers should.  timeout_ms
 * < 0 waits without timeout.  Does not reset the latch.  Socket activity
 * has already been processed when it returns (as raft_transport_poll would).
 */
extern int	raft_transport_wait(long timeout_ms, uint32 wait_event_info);

/*
 * Make progress on every connection: connect, start the stream, flush,
 * and read what the last wait saw arrive (the answer to the CALL, notices,
 * or the peer closing the connection).  Never blocks.
 */
extern void raft_transport_poll(void);

extern bool raft_transport_peer_info(int node_id, RaftTransportPeerInfo *out);

/*
 * True, once, after an established connection to node_id was closed or
 * reset from the other end (e.g. the peer's server was killed: its kernel
 * closes the socket).  The worker uses it as evidence that the leader is
 * gone (raft_leader_unreachable), rather than waiting out an election
 * timeout after its last heartbeat.
 */
extern bool raft_transport_take_closed(int node_id);

/* Close every connection (worker shutdown). */
extern void raft_transport_shutdown(void);

#endif
