/*
 * params.c — statement parameters (see params.h).
 *
 * A value travels as text in its type's own output form, produced and read
 * back under fixed settings (raft_fixed_io_settings), so that a timestamp,
 * a float, a bytea or an interval means the same on every node whatever
 * each node's DateStyle, TimeZone or extra_float_digits.  The type travels
 * by name (format_type_be_qualified: "integer", "numeric[]",
 * "public.mood"), resolved on each node: OIDs of types created by entries
 * differ between nodes, names do not.  Refused before anything is appended:
 * pseudo-types (a bare record, anyelement, ...) and types of a temporary
 * schema, which do not exist on the other nodes.  An untyped literal
 * ('abc') is sent as text, as format() takes it.
 *
 * Locking: none.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "parser/parse_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "params.h"

const char *const raft_fixed_io_settings[][2] = {
	{"DateStyle", "ISO, MDY"}, {"TimeZone", "UTC"}, {"IntervalStyle", "postgres"},
	{"extra_float_digits", "3"}, {"bytea_output", "hex"}, {"lc_monetary", "C"},
	{"lc_numeric", "C"}, {"xmloption", "content"}
};
const int	raft_fixed_io_nsettings = lengthof(raft_fixed_io_settings);

int
raft_fixed_io_push(void)
{
	int			nest = NewGUCNestLevel();
	int			i;

	for (i = 0; i < raft_fixed_io_nsettings; i++)
		(void) set_config_option(raft_fixed_io_settings[i][0], raft_fixed_io_settings[i][1],
								 PGC_SUSET, PGC_S_SESSION, GUC_ACTION_LOCAL, true, ERROR, false);
	return nest;
}

/* The name a type travels by; ERROR for one that cannot travel. */
static char *
raft_params_type_name(Oid typid, int argno)
{
	HeapTuple	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
	Form_pg_type t;
	char	   *name;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "raft_ext: cache lookup failed for type %u", typid);
	t = (Form_pg_type) GETSTRUCT(tup);
	if (t->typtype == TYPTYPE_PSEUDO)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("raft_submit: parameter $%d is of type %s, which cannot be replicated",
						argno, format_type_be(typid)),
				 errhint("Pass a value of a real type: cast it, for instance ROW(...)::a_table_type, or $%d::text.",
						 argno)));
	if (isAnyTempNamespace(t->typnamespace))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("raft_submit: parameter $%d is of type %s, which exists only in this session",
						argno, format_type_be(typid)),
				 errhint("Temporary types do not exist on the other nodes.")));
	ReleaseSysCache(tup);
	name = format_type_be_qualified(typid);
	return name;
}

static void
raft_params_one(RaftParam *p, Oid typid, Datum value, bool isnull, int argno)
{
	Oid			typoutput;
	bool		varlena;

	if (typid == UNKNOWNOID)
	{
		/* an untyped literal: its value is a cstring */
		p->type = pstrdup("text");
		p->isnull = isnull;
		p->value = isnull ? NULL : pstrdup(DatumGetCString(value));
		return;
	}
	p->type = raft_params_type_name(typid, argno);
	p->isnull = isnull;
	p->value = NULL;
	if (!isnull)
	{
		getTypeOutputInfo(typid, &typoutput, &varlena);
		p->value = OidOutputFunctionCall(typoutput, value);
	}
}

int
raft_params_from_args(FunctionCallInfo fcinfo, int first, RaftParam **out)
{
	int			nargs = PG_NARGS();
	int			n;
	int			nest;
	int			i;

	*out = NULL;
	if (nargs <= first)
		return 0;
	nest = raft_fixed_io_push();
	if (get_fn_expr_variadic(fcinfo->flinfo))
	{
		/* VARIADIC ARRAY[...]: the parameters are the array's elements */
		ArrayType  *arr;
		Oid			elemtype;
		int16		elmlen;
		bool		elmbyval;
		char		elmalign;
		Datum	   *elems;
		bool	   *enulls;

		if (PG_ARGISNULL(first))
		{
			AtEOXact_GUC(false, nest);
			return 0;
		}
		arr = PG_GETARG_ARRAYTYPE_P(first);
		elemtype = ARR_ELEMTYPE(arr);
		get_typlenbyvalalign(elemtype, &elmlen, &elmbyval, &elmalign);
		deconstruct_array(arr, elemtype, elmlen, elmbyval, elmalign, &elems, &enulls, &n);
		if (n > RAFT_PARAMS_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("raft_submit: at most %d parameters", RAFT_PARAMS_MAX)));
		*out = palloc0(sizeof(RaftParam) * Max(n, 1));
		for (i = 0; i < n; i++)
			raft_params_one(&(*out)[i], elemtype, elems[i], enulls[i], i + 1);
	}
	else
	{
		n = nargs - first;
		*out = palloc0(sizeof(RaftParam) * n);
		for (i = 0; i < n; i++)
		{
			Oid			typid = get_fn_expr_argtype(fcinfo->flinfo, first + i);

			if (!OidIsValid(typid))
				elog(ERROR, "raft_submit: could not determine the type of parameter $%d", i + 1);
			raft_params_one(&(*out)[i], typid, PG_GETARG_DATUM(first + i),
							PG_ARGISNULL(first + i), i + 1);
		}
	}
	AtEOXact_GUC(false, nest);
	return n;
}

/*
 * The executor's bound parameters (transparent mode: what a driver sent with
 * Bind), in the same form.  A parameter the statement does not use may have
 * no type: it travels as a NULL text.
 */
int
raft_params_from_list(ParamListInfo pli, RaftParam **out)
{
	int			n;
	int			nest;
	int			i;

	*out = NULL;
	if (pli == NULL || pli->numParams <= 0)
		return 0;
	n = pli->numParams;
	if (n > RAFT_PARAMS_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("raft_submit: at most %d parameters", RAFT_PARAMS_MAX)));
	*out = palloc0(sizeof(RaftParam) * n);
	nest = raft_fixed_io_push();
	for (i = 0; i < n; i++)
	{
		ParamExternData workspace;
		ParamExternData *prm;

		prm = pli->paramFetch ? pli->paramFetch(pli, i + 1, false, &workspace) : &pli->params[i];
		if (prm == NULL || !OidIsValid(prm->ptype))
		{
			(*out)[i].type = pstrdup("text");
			(*out)[i].isnull = true;
			continue;
		}
		raft_params_one(&(*out)[i], prm->ptype, prm->value, prm->isnull, i + 1);
	}
	AtEOXact_GUC(false, nest);
	return n;
}

Oid *
raft_params_resolve(int n, const RaftParam *params)
{
	Oid		   *types;
	int			i;

	if (n == 0)
		return NULL;
	types = palloc(sizeof(Oid) * n);
	for (i = 0; i < n; i++)
	{
		int32		typmod;

		parseTypeString(params[i].type, &types[i], &typmod, false);
	}
	return types;
}

ParamListInfo
raft_params_bind(int n, const RaftParam *params, const Oid *types)
{
	ParamListInfo pli;
	int			nest;
	int			i;

	if (n == 0)
		return NULL;
	pli = makeParamList(n);
	nest = raft_fixed_io_push();
	for (i = 0; i < n; i++)
	{
		ParamExternData *prm = &pli->params[i];
		Oid			typid = types[i];
		Oid			typinput;
		Oid			typioparam;

		getTypeInputInfo(typid, &typinput, &typioparam);
		prm->ptype = typid;
		prm->pflags = PARAM_FLAG_CONST;
		prm->isnull = params[i].isnull;
		prm->value = OidInputFunctionCall(typinput, params[i].isnull ? NULL : params[i].value,
										  typioparam, -1);
	}
	AtEOXact_GUC(false, nest);
	return pli;
}
