/*
 * shmem.c — raft_ext's shared memory segment: allocation, the inbox ring
 * and small helpers shared by backends and workers.
 *
 * Locking rules: see shmem.h.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/backendid.h"
#include "mb/pg_wchar.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "utils/memutils.h"

#include "config.h"
#include "request.h"
#include "shmem.h"

RaftShared *raft_shared = NULL;

static shmem_request_hook_type raft_shmem_prev_request_hook = NULL;
static shmem_startup_hook_type raft_shmem_prev_startup_hook = NULL;

#define RAFT_SHMEM_TRANCHE "raft_ext"

static Size
raft_shmem_slots_offset(void)
{
	return MAXALIGN(sizeof(RaftShared));
}

static Size
raft_shmem_inbox_offset(void)
{
	return add_size(raft_shmem_slots_offset(),
					MAXALIGN(raft_request_shmem_size(MaxBackends)));
}

/* The outbox carries a few commands at a time, each at most 1 MB. */
#define RAFT_SHMEM_OUTBOX_BYTES (2 * 1024 * 1024)

static Size
raft_shmem_outbox_offset(void)
{
	return add_size(raft_shmem_inbox_offset(),
					MAXALIGN(add_size(offsetof(RaftInbox, data), raft_conf_inbox_bytes())));
}

static Size
raft_shmem_size(void)
{
	return add_size(raft_shmem_outbox_offset(),
					add_size(offsetof(RaftInbox, data), RAFT_SHMEM_OUTBOX_BYTES));
}

static void
raft_shmem_request(void)
{
	if (raft_shmem_prev_request_hook)
		raft_shmem_prev_request_hook();
	RequestAddinShmemSpace(raft_shmem_size());
	RequestNamedLWLockTranche(RAFT_SHMEM_TRANCHE, 4);
}

static void
raft_shmem_startup(void)
{
	bool		found;
	char	   *base;

	if (raft_shmem_prev_startup_hook)
		raft_shmem_prev_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	base = ShmemInitStruct("raft_ext", raft_shmem_size(), &found);
	raft_shared = (RaftShared *) base;
	if (!found)
	{
		LWLockPadded *locks = GetNamedLWLockTranche(RAFT_SHMEM_TRANCHE);

		memset(base, 0, raft_shmem_inbox_offset());
		raft_shared->status_lock = &locks[0].lock;
		raft_shared->slots_lock = &locks[1].lock;
		raft_shared->inbox_lock = &locks[2].lock;
		raft_shared->outbox_lock = &locks[3].lock;
		SpinLockInit(&raft_shared->mutex);
		raft_shared->raft_latch = NULL;
		raft_shared->apply_latch = NULL;
		pg_atomic_init_u64(&raft_shared->apply_target, 0);
		pg_atomic_init_u64(&raft_shared->last_applied, 0);
		pg_atomic_init_u64(&raft_shared->next_request_id, 1);
		pg_atomic_init_u64(&raft_shared->compact_to, 0);
		pg_atomic_init_u64(&raft_shared->apply_running, 0);
		raft_shared->status.role = -1;

		raft_shared->nslots = MaxBackends;
		raft_shared->slots = base + raft_shmem_slots_offset();
		raft_request_shmem_init(raft_shared->slots, raft_shared->nslots);

		raft_shared->inbox = (RaftInbox *) (base + raft_shmem_inbox_offset());
		raft_shared->inbox->head = 0;
		raft_shared->inbox->tail = 0;
		raft_shared->inbox->capacity = raft_conf_inbox_bytes();
		raft_shared->inbox->delivered = 0;
		raft_shared->inbox->dropped = 0;
		raft_shared->outbox = (RaftInbox *) (base + raft_shmem_outbox_offset());
		memset(raft_shared->outbox, 0, offsetof(RaftInbox, data));
		raft_shared->outbox->capacity = RAFT_SHMEM_OUTBOX_BYTES;
	}
	LWLockRelease(AddinShmemInitLock);
}

void
raft_shmem_install_hooks(void)
{
	raft_shmem_prev_request_hook = shmem_request_hook;
	shmem_request_hook = raft_shmem_request;
	raft_shmem_prev_startup_hook = shmem_startup_hook;
	shmem_startup_hook = raft_shmem_startup;
}

void
raft_shmem_require(void)
{
	if (raft_shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("raft_ext is not loaded through shared_preload_libraries"),
				 errdetail("raft_ext needs shared memory and background workers that only exist when the server preloads it."),
				 errhint("Add raft_ext to shared_preload_libraries in postgresql.conf, set raft_ext.node_id and raft_ext.peers, and restart the server.")));
	if (!raft_conf_is_configured())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("raft_ext is not configured"),
				 errdetail("raft_ext.node_id is %d and raft_ext.peers lists %d members.",
						   raft_ext_node_id, raft_conf_peers()->npeers),
				 errhint("Set raft_ext.node_id and raft_ext.peers (the members of a new cluster, this node included; or raft_ext.join = on for a server to be added to an existing one) in postgresql.conf and restart the server.")));
}

void
raft_shmem_wake_raft_worker(void)
{
	Latch	   *latch;

	SpinLockAcquire(&raft_shared->mutex);
	latch = raft_shared->raft_latch;
	SpinLockRelease(&raft_shared->mutex);
	if (latch)
		SetLatch(latch);
}

void
raft_shmem_wake_apply_worker(void)
{
	Latch	   *latch;

	SpinLockAcquire(&raft_shared->mutex);
	latch = raft_shared->apply_latch;
	SpinLockRelease(&raft_shared->mutex);
	if (latch)
		SetLatch(latch);
}

void
raft_shmem_strlcpy(char *dst, const char *src, Size dstlen)
{
	Size		len;

	if (dstlen == 0)
		return;
	if (src == NULL)
	{
		dst[0] = '\0';
		return;
	}
	len = strlen(src);
	if (len >= dstlen)
		len = pg_mbcliplen(src, len, dstlen - 1);
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* ----------------------------------------------------------------------
 * Inbox ring.  A record is a 4-byte length followed by the message bytes;
 * positions grow without bound and are taken modulo the capacity.
 * ---------------------------------------------------------------------- */

static void
raft_inbox_write(RaftInbox *inbox, uint64 pos, const char *src, Size n)
{
	Size		off = pos % inbox->capacity;
	Size		first = Min(n, inbox->capacity - off);

	memcpy(inbox->data + off, src, first);
	if (first < n)
		memcpy(inbox->data, src + first, n - first);
}

static void
raft_inbox_read(RaftInbox *inbox, uint64 pos, char *dst, Size n)
{
	Size		off = pos % inbox->capacity;
	Size		first = Min(n, inbox->capacity - off);

	memcpy(dst, inbox->data + off, first);
	if (first < n)
		memcpy(dst + first, inbox->data, n - first);
}

/* One record: its length, then prefix[prefix_len] and data[len]. */
static bool
raft_ring_push(RaftInbox *ring, LWLock *lock, const char *prefix, Size prefix_len,
			   const char *data, Size len)
{
	uint32		len32 = (uint32) (prefix_len + len);
	bool		ok;

	LWLockAcquire(lock, LW_EXCLUSIVE);
	if (len32 + sizeof(uint32) > ring->capacity - (ring->head - ring->tail))
	{
		ring->dropped++;
		ok = false;
	}
	else
	{
		raft_inbox_write(ring, ring->head, (const char *) &len32, sizeof(uint32));
		if (prefix_len > 0)
			raft_inbox_write(ring, ring->head + sizeof(uint32), prefix, prefix_len);
		raft_inbox_write(ring, ring->head + sizeof(uint32) + prefix_len, data, len);
		ring->head += sizeof(uint32) + len32;
		ring->delivered++;
		ok = true;
	}
	LWLockRelease(lock);
	return ok;
}

bool
raft_shmem_inbox_push(uint32 sender, const char *data, Size len)
{
	return raft_ring_push(raft_shared->inbox, raft_shared->inbox_lock,
						  (const char *) &sender, RAFT_INBOX_SENDER_BYTES, data, len);
}

bool
raft_shmem_outbox_push(const char *data, Size len)
{
	return raft_ring_push(raft_shared->outbox, raft_shared->outbox_lock, NULL, 0, data, len);
}

void
raft_shmem_inbox_note_refused(void)
{
	LWLockAcquire(raft_shared->inbox_lock, LW_EXCLUSIVE);
	raft_shared->inbox->dropped++;
	LWLockRelease(raft_shared->inbox_lock);
}

static Size
raft_ring_drain(RaftInbox *inbox, LWLock *lock, char **out, Size max_bytes)
{
	uint64		pos;
	Size		take = 0;
	char	   *buf = NULL;

	LWLockAcquire(lock, LW_EXCLUSIVE);
	pos = inbox->tail;
	while (pos < inbox->head)
	{
		uint32		len32;

		raft_inbox_read(inbox, pos, (char *) &len32, sizeof(uint32));
		if (take > 0 && take + sizeof(uint32) + len32 > max_bytes)
			break;
		take += sizeof(uint32) + len32;
		pos += sizeof(uint32) + len32;
	}
	if (take > 0)
	{
		buf = palloc(take);
		raft_inbox_read(inbox, inbox->tail, buf, take);
		inbox->tail += take;
	}
	LWLockRelease(lock);
	*out = buf;
	return take;
}

Size
raft_shmem_inbox_drain(char **out, Size max_bytes)
{
	return raft_ring_drain(raft_shared->inbox, raft_shared->inbox_lock, out, max_bytes);
}

Size
raft_shmem_outbox_drain(char **out, Size max_bytes)
{
	return raft_ring_drain(raft_shared->outbox, raft_shared->outbox_lock, out, max_bytes);
}

void
raft_shmem_inbox_clear(void)
{
	LWLockAcquire(raft_shared->inbox_lock, LW_EXCLUSIVE);
	raft_shared->inbox->tail = raft_shared->inbox->head;
	LWLockRelease(raft_shared->inbox_lock);
}
