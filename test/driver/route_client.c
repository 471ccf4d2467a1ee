/*
 * route_client.c — transparent mode through the extended protocol, as a
 * driver sends it: Parse once (PQprepare, parameter types left to the
 * server), then Bind/Execute with values (PQexecPrepared), and PQexecParams.
 * Used by test/t/022_driver.pl; prints one line per result:
 *   <command status>|<row>|<row>...   (a row: its values joined by ',')
 *   ERROR <sqlstate>
 *
 * usage: route_client CONNINFO WHO
 * WHO names this client's rows (every statement writes or reads only them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libpq-fe.h"

static void
show(PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
	{
		int			r,
					c;

		printf("%s", PQcmdStatus(res));
		for (r = 0; r < PQntuples(res); r++)
		{
			printf("|");
			for (c = 0; c < PQnfields(res); c++)
				printf("%s%s", c ? "," : "", PQgetisnull(res, r, c) ? "NULL" : PQgetvalue(res, r, c));
		}
		printf("\n");
	}
	else
	{
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		printf("ERROR %s\n", state ? state : "?????");
	}
	PQclear(res);
}

int
main(int argc, char **argv)
{
	PGconn	   *conn;
	const char *values[3];
	char		n[16];
	char		doc[64];
	int			i;

	if (argc != 3)
	{
		fprintf(stderr, "usage: %s CONNINFO WHO\n", argv[0]);
		return 2;
	}
	conn = PQconnectdb(argv[1]);
	if (PQstatus(conn) != CONNECTION_OK)
	{
		fprintf(stderr, "connection failed: %s", PQerrorMessage(conn));
		return 1;
	}
	show(PQexec(conn, "SET raft_ext.route_writes = on"));

	/* INSERT ... RETURNING, prepared once, executed with bound values */
	show(PQprepare(conn, "ins",
				   "INSERT INTO drv (who, n, doc) VALUES ($1, $2, $3) RETURNING who, n, doc->>'i'",
				   0, NULL));
	for (i = 1; i <= 5; i++)
	{
		snprintf(n, sizeof(n), "%d", i);
		snprintf(doc, sizeof(doc), "{\"i\": \"%s-%d\"}", argv[2], i);
		values[0] = argv[2];
		values[1] = n;
		values[2] = doc;
		show(PQexecPrepared(conn, "ins", 3, values, NULL, NULL, 0));
	}
	/* a NULL bound */
	values[0] = argv[2];
	values[1] = "6";
	values[2] = NULL;
	show(PQexecPrepared(conn, "ins", 3, values, NULL, NULL, 0));

	/* UPDATE and DELETE ... RETURNING with unnamed statements */
	values[0] = "10";
	values[1] = argv[2];
	show(PQexecParams(conn, "UPDATE drv SET n = n + $1 WHERE who = $2", 2, NULL, values, NULL, NULL, 0));
	values[0] = argv[2];
	values[1] = "14";
	show(PQexecParams(conn, "DELETE FROM drv WHERE who = $1 AND n > $2 RETURNING n", 2, NULL, values, NULL, NULL, 0));

	/* the statement's own error: a duplicate key */
	values[0] = argv[2];
	values[1] = "11";
	values[2] = "{}";
	show(PQexecPrepared(conn, "ins", 3, values, NULL, NULL, 0));

	/* in a transaction block: refused, nothing written */
	show(PQexec(conn, "BEGIN"));
	values[1] = "99";
	show(PQexecPrepared(conn, "ins", 3, values, NULL, NULL, 0));
	show(PQexec(conn, "ROLLBACK"));

	/*
	 * A pipeline: two writes before one Sync are one transaction; once routed
	 * they could not be all or nothing, so the second is refused.
	 */
	if (PQenterPipelineMode(conn))
	{
		PGresult   *res;
		int			k;

		for (k = 20; k <= 21; k++)
		{
			snprintf(n, sizeof(n), "%d", k);
			values[0] = argv[2];
			values[1] = n;
			values[2] = "{}";
			PQsendQueryPrepared(conn, "ins", 3, values, NULL, NULL, 0);
		}
		PQpipelineSync(conn);
		for (k = 0; k < 2; k++)
		{
			while ((res = PQgetResult(conn)) != NULL)
				show(res);
		}
		while ((res = PQgetResult(conn)) != NULL && PQresultStatus(res) != PGRES_PIPELINE_SYNC)
			PQclear(res);
		PQclear(res);
		PQexitPipelineMode(conn);
	}

	/* what this client's rows are now, read back */
	values[0] = argv[2];
	show(PQexecParams(conn, "SELECT n FROM drv WHERE who = $1 ORDER BY n", 1, NULL, values, NULL, NULL, 0));
	PQfinish(conn);
	return 0;
}
