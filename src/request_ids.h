/*
 * request_ids.h — idempotent submission: an entry that carries a request id
 * already applied (within the retention window) is not applied again; its
 * caller gets the original outcome.
 *
 * Locking: none (the apply worker, inside its transaction).
 */
#ifndef RAFT_EXT_REQUEST_IDS_H
#define RAFT_EXT_REQUEST_IDS_H

#include "postgres.h"

#include "datatype/timestamp.h"

/*
 * Entry `index`, stamped `stamp`, carries request_id: forget ids applied
 * more than retention_s before stamp, then true (and *original) if the id
 * was applied before, else remember it for this entry.  SPI connected.
 */
extern bool raft_request_ids_seen(const char *request_id, uint64 index, TimestampTz stamp,
								  uint32 retention_s, uint64 *original);

#endif							/* RAFT_EXT_REQUEST_IDS_H */
