/*
 * util.c — allocation through the host's allocator, the seeded random
 * generator, and error strings.
 *
 * The core never calls malloc directly: a host (the PostgreSQL worker, the
 * simulation with its failing allocator) decides where memory comes from,
 * and every failure is reported as RAFT_ENOMEM.
 */
#include <stdlib.h>

#include "raft_int.h"

static void *
libc_malloc(void *ctx, size_t size)
{
	(void) ctx;
	return malloc(size);
}

static void *
libc_realloc(void *ctx, void *ptr, size_t size)
{
	(void) ctx;
	return realloc(ptr, size);
}

static void
libc_free(void *ctx, void *ptr)
{
	(void) ctx;
	free(ptr);
}

static const raft_allocator libc_allocator = {libc_malloc, libc_realloc, libc_free, NULL};

const raft_allocator *
raft_default_allocator(void)
{
	return &libc_allocator;
}

void *
raft_malloc(const raft_allocator *a, size_t size)
{
	return a->malloc(a->ctx, size == 0 ? 1 : size);
}

void *
raft_realloc(const raft_allocator *a, void *ptr, size_t size)
{
	return a->realloc(a->ctx, ptr, size == 0 ? 1 : size);
}

void
raft_free(const raft_allocator *a, void *ptr)
{
	if (ptr != NULL)
		a->free(a->ctx, ptr);
}

int
raft_reserve(const raft_allocator *a, void **array, size_t *cap,
			 size_t need, size_t elem)
{
	size_t		newcap;
	void	   *p;

	if (need <= *cap)
		return RAFT_OK;
	newcap = *cap < 8 ? 8 : *cap;
	while (newcap < need)
	{
		if (newcap > SIZE_MAX / 2)
			return RAFT_ENOMEM;
		newcap *= 2;
	}
	if (newcap > SIZE_MAX / elem)
		return RAFT_ENOMEM;
	p = raft_realloc(a, *array, newcap * elem);
	if (p == NULL)
		return RAFT_ENOMEM;
	*array = p;
	*cap = newcap;
	return RAFT_OK;
}

/* splitmix64: tiny, good enough for timeouts, and the same on every platform. */
uint64_t
raft_rand_next(uint64_t *state)
{
	uint64_t	z = (*state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

const char *
raft_strerror(int rc)
{
	switch (rc)
	{
		case RAFT_OK:
			return "ok";
		case RAFT_ENOMEM:
			return "out of memory";
		case RAFT_EINVAL:
			return "invalid argument";
		case RAFT_ENOTLEADER:
			return "not the leader";
		case RAFT_EBUSY:
			return "busy";
		case RAFT_EMALFORMED:
			return "malformed message";
		case RAFT_ETOOBIG:
			return "message too big";
		case RAFT_EVERSION:
			return "unsupported wire version";
		case RAFT_ECLUSTER:
			return "message from another cluster";
		case RAFT_ENOLEADER:
			return "no known leader";
		case RAFT_ERANGE:
			return "term or index at its maximum";
		case RAFT_EFLOOR:
			return "held back by its vote floor";
	}
	return "unknown error";
}

const char *
raft_role_name(raft_role role)
{
	switch (role)
	{
		case RAFT_FOLLOWER:
			return "follower";
		case RAFT_PRE_CANDIDATE:
			return "pre-candidate";
		case RAFT_CANDIDATE:
			return "candidate";
		case RAFT_LEADER:
			return "leader";
	}
	return "unknown";
}
