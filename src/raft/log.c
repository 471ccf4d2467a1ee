/*
 * log.c — the in-memory Raft log.
 *
 * The log holds entries lastIncludedIndex + 1 .. last; the host keeps the
 * durable copy.  lastIncludedIndex is 0 for a log that starts at index 1;
 * it is higher for a log whose beginning was compacted into a snapshot,
 * and then its term (lastIncludedTerm) stands in for the missing entry in
 * the AppendEntries consistency check and in the election's up-to-date
 * comparison.  Each entry's payload is a private copy, so the host's
 * buffers (and decoded network messages) can be released as soon as a call
 * returns.
 */
#include <string.h>

#include "raft_int.h"

raft_index
raft_log_first_index(const raft_log *log)
{
	return log->lastIncludedIndex + 1;
}

raft_index
raft_log_last_index(const raft_log *log)
{
	return log->lastIncludedIndex + (raft_index) log->n;
}

raft_term
raft_log_last_term(const raft_log *log)
{
	return log->n == 0 ? log->lastIncludedTerm : log->entries[log->n - 1].term;
}

const raft_entry *
raft_log_get(const raft_log *log, raft_index index)
{
	if (index <= log->lastIncludedIndex || index > raft_log_last_index(log))
		return NULL;
	return &log->entries[index - log->lastIncludedIndex - 1];
}

raft_term
raft_log_term_at(const raft_log *log, raft_index index)
{
	const raft_entry *e;

	if (index != 0 && index == log->lastIncludedIndex)
		return log->lastIncludedTerm;
	e = raft_log_get(log, index);
	return e == NULL ? 0 : e->term;
}

int
raft_log_append(const raft_allocator *a, raft_log *log, raft_term term,
				uint8_t type, const void *data, uint32_t len)
{
	void	   *copy = NULL;
	raft_entry *e;
	int			rc;

	if (raft_log_last_index(log) >= RAFT_MAX_INDEX)
		return RAFT_ERANGE;
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
	e->index = raft_log_last_index(log) + 1;
	e->type = type;
	e->len = len;
	e->data = copy;
	log->n++;
	return RAFT_OK;
}

void
raft_log_truncate(const raft_allocator *a, raft_log *log, raft_index from)
{
	/* what was compacted is committed: it is never truncated */
	if (from <= log->lastIncludedIndex)
		from = log->lastIncludedIndex + 1;
	while (raft_log_last_index(log) >= from && log->n > 0)
	{
		raft_free(a, (void *) log->entries[log->n - 1].data);
		log->n--;
	}
}

void
raft_log_compact(const raft_allocator *a, raft_log *log, raft_index upto)
{
	size_t		k;
	size_t		i;
	raft_term	t;

	if (upto <= log->lastIncludedIndex || upto > raft_log_last_index(log))
		return;
	t = raft_log_term_at(log, upto);
	k = (size_t) (upto - log->lastIncludedIndex);
	for (i = 0; i < k; i++)
		raft_free(a, (void *) log->entries[i].data);
	memmove(log->entries, log->entries + k, (log->n - k) * sizeof(raft_entry));
	log->n -= k;
	log->lastIncludedIndex = upto;
	log->lastIncludedTerm = t;

	/* give the memory back: a log that was long stays bounded once compacted */
	if (log->cap > 64 && log->n < log->cap / 4)
	{
		size_t		newcap = log->n * 2 > 64 ? log->n * 2 : 64;
		raft_entry *p = raft_realloc(a, log->entries, newcap * sizeof(raft_entry));

		if (p != NULL)			/* else keep the larger array: nothing is lost */
		{
			log->entries = p;
			log->cap = newcap;
		}
	}
}

void
raft_log_free(const raft_allocator *a, raft_log *log)
{
	raft_log_truncate(a, log, log->lastIncludedIndex + 1);
	raft_free(a, log->entries);
	log->entries = NULL;
	log->cap = 0;
}

raft_index
raft_log_first_index_of_term(const raft_log *log, raft_index index)
{
	raft_term	t = raft_log_term_at(log, index);

	/* the hint cannot point below what the log holds */
	while (index > raft_log_first_index(log) && raft_log_term_at(log, index - 1) == t)
		index--;
	return index;
}

raft_index
raft_log_last_index_of_term(const raft_log *log, raft_term t, raft_index upto)
{
	raft_index	i = upto > raft_log_last_index(log) ? raft_log_last_index(log) : upto;

	/* terms are non-decreasing along the log, so stop once below t */
	for (; i >= raft_log_first_index(log); i--)
	{
		raft_term	ti = raft_log_term_at(log, i);

		if (ti == t)
			return i;
		if (ti < t)
			return 0;
	}
	if (i != 0 && i == log->lastIncludedIndex && log->lastIncludedTerm == t)
		return i;
	return 0;
}
