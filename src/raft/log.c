/*
 * log.c — the in-memory Raft log.
 *
 * The whole log lives in memory, indexes starting at 1; the host keeps the
 * durable copy.  When snapshots arrive, an offset (the snapshot's index) is
 * the only thing to add here.  Each entry's payload is a private copy, so
 * the host's buffers (and decoded network messages) can be released as soon
 * as a call returns.
 */
#include <string.h>

#include "raft_int.h"

raft_index
raft_log_last_index(const raft_log *log)
{
	return (raft_index) log->n;
}

raft_term
raft_log_last_term(const raft_log *log)
{
	return log->n == 0 ? 0 : log->entries[log->n - 1].term;
}

const raft_entry *
raft_log_get(const raft_log *log, raft_index index)
{
	if (index == 0 || index > (raft_index) log->n)
		return NULL;
	return &log->entries[index - 1];
}

raft_term
raft_log_term_at(const raft_log *log, raft_index index)
{
	const raft_entry *e = raft_log_get(log, index);

	return e == NULL ? 0 : e->term;
}

int
raft_log_append(const raft_allocator *a, raft_log *log, raft_term term,
				uint8_t type, const void *data, uint32_t len)
{
	void	   *copy = NULL;
	raft_entry *e;
	int			rc;

	/* reserve first, so a failure leaves the log as it was */
	rc = raft_reserve(a, (void **) &log->entries, &log->cap, log->n + 1,
					  sizeof(raft_entry));
	if (rc != RAFT_OK)
		return rc;
	if (len > 0)
	{
		copy = raft_malloc(a, len);
		if (copy == NULL)
			return RAFT_ENOMEM;
		memcpy(copy, data, len);
	}
	e = &log->entries[log->n];
	e->term = term;
	e->index = (raft_index) log->n + 1;
	e->type = type;
	e->len = len;
	e->data = copy;
	log->n++;
	return RAFT_OK;
}

void
raft_log_truncate(const raft_allocator *a, raft_log *log, raft_index from)
{
	if (from == 0)
		from = 1;
	while ((raft_index) log->n >= from)
	{
		raft_free(a, (void *) log->entries[log->n - 1].data);
		log->n--;
	}
}

void
raft_log_free(const raft_allocator *a, raft_log *log)
{
	raft_log_truncate(a, log, 1);
	raft_free(a, log->entries);
	log->entries = NULL;
	log->cap = 0;
}

raft_index
raft_log_first_index_of_term(const raft_log *log, raft_index index)
{
	raft_term	t = raft_log_term_at(log, index);

	while (index > 1 && raft_log_term_at(log, index - 1) == t)
		index--;
	return index;
}

raft_index
raft_log_last_index_of_term(const raft_log *log, raft_term t, raft_index upto)
{
	raft_index	i = upto > (raft_index) log->n ? (raft_index) log->n : upto;

	/* terms are non-decreasing along the log, so stop once below t */
	for (; i >= 1; i--)
	{
		raft_term	ti = log->entries[i - 1].term;

		if (ti == t)
			return i;
		if (ti < t)
			return 0;
	}
	return 0;
}
