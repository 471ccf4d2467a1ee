/*
 * params.h — the parameters of a submitted statement ($1 .. $n): taken
 * from raft_submit's VARIADIC "any" arguments on the submitting node, carried
 * in the log entry as (type name, text), and bound on every node.
 *
 * Locking: none.
 */
#ifndef RAFT_EXT_PARAMS_H
#define RAFT_EXT_PARAMS_H

#include "postgres.h"

#include "fmgr.h"
#include "nodes/params.h"

typedef struct RaftParam
{
	char	   *type;			/* a type name every node resolves the same */
	bool		isnull;
	char	   *value;			/* the type's text form, fixed settings */
} RaftParam;

/* At most this many parameters ($1 .. $65535, as PostgreSQL). */
#define RAFT_PARAMS_MAX 65535

/*
 * The parameters of a call: arguments first .. PG_NARGS()-1 (or the array of
 * an explicit VARIADIC).  Refuses (ERROR) a type that cannot be carried.
 * Returns how many; *out palloc'd.
 */
extern int	raft_params_from_args(FunctionCallInfo fcinfo, int first, RaftParam **out);

/*
 * On the applying node: the parameters' types, resolved by name (throws
 * when one does not exist here: a failure of this node, see apply.c), then
 * the values bound for SPI (a value its type refuses is the statement's
 * error, the same on every node).
 */
extern int	raft_params_from_list(ParamListInfo pli, RaftParam **out);

extern Oid *raft_params_resolve(int n, const RaftParam *params);
extern ParamListInfo raft_params_bind(int n, const RaftParam *params, const Oid *types);

/*
 * The settings under which values are turned into text and back, the same
 * on every node whatever its configuration (also used by the consistency
 * check): DateStyle ISO, TimeZone UTC, ...
 */
extern const char *const raft_fixed_io_settings[][2];
extern const int raft_fixed_io_nsettings;

/* Set them LOCAL in a new GUC nest level; returns it for AtEOXact_GUC. */
extern int	raft_fixed_io_push(void);

#endif							/* RAFT_EXT_PARAMS_H */
