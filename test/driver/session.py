#!/usr/bin/python3
"""session.py — raft_ext from an application, through psycopg2 (Debian's python3-psycopg2).

Used by test/t/022_driver.pl, and by hand against a local cluster (scripts/raftctl) for the
README's "Using it from a driver".  Each step prints what the application sees.

  session.py DSN setup                  the tables (through raft_submit)
  session.py DSN params                 raft_submit with parameters, raft_query ... RETURNING
  session.py DSN once REQUEST_ID        raft_submit_once: a blind retry gets the original outcome
  session.py DSN transparent WHO        raft_ext.route_writes: plain INSERT/UPDATE/DELETE
  session.py DSN check                  the rows, as this node has them

psycopg2 sends its parameters inside the query text (it quotes them itself).  The SQL given
to raft_submit is never built that way: its $1 .. $n travel in the log entry, bound by
every node; psycopg2 only passes the values to raft_submit.
"""

import datetime
import decimal
import sys

import psycopg2
import psycopg2.extras


def connect(dsn, **settings):
    options = " ".join(f"-c {k}={v}" for k, v in settings.items())
    conn = psycopg2.connect(dsn, options=options) if options else psycopg2.connect(dsn)
    # raft_submit and routed writes commit on every node on their own: autocommit (and no
    # "with conn:", which opens a transaction even then)
    conn.autocommit = True
    return conn


def setup(dsn):
    conn = connect(dsn)
    with conn.cursor() as cur:
        cur.execute("SELECT command_tag FROM raft_submit(%s)",
                    ("CREATE TABLE account (id serial PRIMARY KEY, name text UNIQUE NOT NULL,"
                     " balance numeric NOT NULL, opened timestamptz, doc jsonb, photo bytea)",))
        print("setup:", cur.fetchone()[0])
    conn.close()


def params(dsn):
    conn = connect(dsn)
    cur = conn.cursor()
    # the statement has $1..$6; the values are raft_submit's arguments, bound on every node
    cur.execute("SELECT log_index, command_tag, rows FROM raft_submit("
                "'INSERT INTO account (name, balance, opened, doc, photo) VALUES ($1, $2, $3, $4, $5)',"
                " %s, %s, %s, %s::jsonb, %s)",  # Json is sent untyped: an untyped value travels as text
                ("O'Reilly; DROP TABLE account; --", decimal.Decimal("1234567890.0000000001"),
                 datetime.datetime(2024, 2, 29, 23, 59, 59, 500000, tzinfo=datetime.timezone.utc),
                 psycopg2.extras.Json({"tags": ["a", None, 3]}), psycopg2.Binary(b"\x00\x01\xff")))
    index, tag, rows = cur.fetchone()
    print(f"raft_submit: {tag} {rows}")
    # RETURNING: the generated id, as applied
    cur.execute("SELECT id, balance FROM raft_query("
                "'INSERT INTO account (name, balance) VALUES ($1, $2), ($3, $4) RETURNING id, balance',"
                " %s, %s::numeric, %s, %s::numeric) AS r(id int, balance numeric) ORDER BY id",
                ("alice", "100.50", "bob", "0"))
    print("raft_query RETURNING:", [(i, str(b)) for i, b in cur.fetchall()])
    cur.execute("SELECT * FROM raft_query('UPDATE account SET balance = balance + $1 WHERE name = $2"
                " RETURNING balance', %s::numeric, %s) AS r(balance numeric)", ("-0.50", "alice"))
    print("raft_query UPDATE RETURNING:", str(cur.fetchone()[0]))
    # a NULL parameter
    cur.execute("SELECT command_tag, rows FROM raft_submit("
                "'UPDATE account SET doc = $1 WHERE name = $2', NULL::jsonb, %s)", ("bob",))
    print("raft_submit NULL:", " ".join(map(str, cur.fetchone())))
    conn.close()


def once(dsn, request_id):
    conn = connect(dsn)
    cur = conn.cursor()
    try:
        cur.execute("SELECT log_index, command_tag, rows FROM raft_submit_once(%s,"
                    " 'UPDATE account SET balance = balance + $1 WHERE name = $2', %s::numeric, %s)",
                    (request_id, "10", "bob"))
        index, tag, rows = cur.fetchone()
        print(f"raft_submit_once: entry {index}: {tag} {rows}")
    except psycopg2.Error as e:
        # 40003: the outcome is unknown; the same request id may be retried blindly
        print(f"raft_submit_once: ERROR {e.pgcode}")
    conn.close()


def transparent(dsn, who):
    conn = connect(dsn, **{"raft_ext.route_writes": "on"})
    cur = conn.cursor()
    # what an ORM sends: an ordinary INSERT ... RETURNING, values from the driver
    cur.execute("INSERT INTO account (name, balance) VALUES (%s, %s) RETURNING id, balance",
                (who, decimal.Decimal("5.25")))
    row = cur.fetchone()
    print(f"transparent: {cur.statusmessage} rowcount={cur.rowcount} returning=({row[0] > 0}, {row[1]})")
    cur.execute("UPDATE account SET balance = balance * 2 WHERE name = %s", (who,))
    print(f"transparent: {cur.statusmessage} rowcount={cur.rowcount}")
    cur.execute("SELECT balance FROM account WHERE name = %s", (who,))
    print("transparent: read back", str(cur.fetchone()[0]))
    # psycopg2's default: every statement in a transaction — refused, nothing written
    conn.autocommit = False
    try:
        cur.execute("DELETE FROM account WHERE name = %s", (who,))
        print("transparent: in a transaction: not refused")
    except psycopg2.Error as e:
        print(f"transparent: in a transaction: ERROR {e.pgcode}: {e.diag.message_primary}")
        conn.rollback()
    conn.close()


def check(dsn):
    conn = connect(dsn)
    with conn.cursor() as cur:
        cur.execute("SELECT name, balance, opened, doc, photo FROM account ORDER BY name")
        for name, balance, opened, doc, photo in cur.fetchall():
            print(name, balance, opened.isoformat() if opened else None, doc,
                  bytes(photo).hex() if photo is not None else None)
    conn.close()


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    dsn, step, args = argv[1], argv[2], argv[3:]
    {"setup": setup, "params": params, "once": once, "transparent": transparent,
     "check": check}[step](dsn, *args)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
