#!/usr/bin/python3
"""raftview.py — one terminal's view of a raft_ext cluster on real hosts (`raftctl view`).

    raftctl view CONNINFO [--watch [SECONDS]] [--count N]

Given one member's connection string, it reads that node's raft_peers (every member's address, as
the node's configuration has it), connects to each member with the same credentials (the user,
password or .pgpass, sslmode, certificates ... of CONNINFO; host, hostaddr, port and dbname from the
member's entry), reads raft_status there, and the leader's raft_peers for what only the leader
knows (match index, last contact, errors), and prints one line per member:

    node  address           reach  role      term  leader  commit  applied  lag  match  contact  apply    error

`lag` is the leader's commit index minus the member's last_applied; `contact` is how long ago the
leader last heard from it.  Then one summary line.  Exit status: 0 when every member is reachable
and they agree on one leader, 1 otherwise (2: the first node cannot be read).  The role needs
pg_monitor (raft_status, raft_peers) on every node.
"""

import argparse
import os
import sys
import time

import psycopg2
import psycopg2.extensions

# what of a member's entry in raft_peers says where it is; the rest comes from the caller
WHERE = ("host", "hostaddr", "port", "dbname")

STATUS_SQL = ("SELECT node_id, role, term, leader_id, commit_index, last_applied, last_log_index,"
              " worker_state, apply_worker_state, coalesce(last_apply_error, '') FROM raft_status")
PEERS_SQL = ("SELECT node_id, conninfo, is_self, connected, match_index,"
             " extract(epoch FROM last_contact_age), coalesce(last_error, '') FROM raft_peers ORDER BY node_id")


def query(dsn, sql, timeout):
    conn = psycopg2.connect(dsn, connect_timeout=max(1, round(timeout)), application_name="raftctl view",
                            options=f"-c statement_timeout={int(timeout * 1000)}")
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        conn.close()


def member_dsn(caller, entry):
    """The caller's credentials, the member's address."""
    mine = {k: v for k, v in psycopg2.extensions.parse_dsn(caller).items() if k not in WHERE}
    theirs = psycopg2.extensions.parse_dsn(entry)
    where = {k: theirs[k] for k in WHERE if k in theirs}
    where.setdefault("dbname", psycopg2.extensions.parse_dsn(caller).get("dbname", "postgres"))
    return psycopg2.extensions.make_dsn(**mine, **where)


def address(entry):
    d = psycopg2.extensions.parse_dsn(entry)
    return f"{d.get('hostaddr') or d.get('host', 'localhost')}:{d.get('port', '5432')}"


def snapshot(conninfo, timeout):
    peers = query(conninfo, PEERS_SQL, timeout)
    members = []
    for node_id, entry, is_self, *_ in peers:
        dsn = conninfo if is_self else member_dsn(conninfo, entry)
        m = {"node": node_id, "address": address(entry), "status": None, "error": ""}
        try:
            m["status"] = query(dsn, STATUS_SQL, timeout)[0]
        except psycopg2.Error as e:
            m["error"] = (e.pgerror or str(e)).strip().splitlines()[0]
        members.append(m)
    leaders = [m for m in members if m["status"] and m["status"][1] == "leader"]
    leader = max(leaders, key=lambda m: m["status"][2]) if leaders else None
    progress = {}
    if leader:
        try:
            dsn = conninfo if leader["node"] == next(p[0] for p in peers if p[2]) else \
                member_dsn(conninfo, next(p[1] for p in peers if p[0] == leader["node"]))
            for node_id, _, is_self, connected, match, age, err in query(dsn, PEERS_SQL, timeout):
                progress[node_id] = (is_self, connected, match, age, err)
        except psycopg2.Error:
            pass
    return members, leader, progress


def render(members, leader, progress):
    cols = ("node", "address", "reach", "role", "term", "leader", "commit", "applied", "lag",
            "match", "contact", "apply", "error")
    rows = []
    commit = leader["status"][4] if leader else None
    for m in members:
        s = m["status"]
        p = progress.get(m["node"])
        if s is None:
            row = [m["node"], m["address"], "down", "-", "-", "-", "-", "-", "-", "-", "-", "-", m["error"]]
        else:
            node_id, role, term, leader_id, ci, la, _, worker, apply_state, apply_err = s
            row = [m["node"], m["address"], "up", role or worker, term, leader_id or "-", ci, la,
                   commit - la if commit is not None else "-", "-", "-", apply_state, apply_err]
        if p:
            is_self, connected, match, age, err = p
            row[9] = match if match is not None else "-"
            row[10] = "self" if is_self else (f"{age:.1f}s" if age is not None else "never")
            if not is_self and not connected:
                row[12] = (row[12] + "; " if row[12] else "") + "leader not connected" + (f": {err}" if err else "")
        row[12] = " ".join(str(row[12]).split())  # one line
        if len(row[12]) > 100:
            row[12] = row[12][:97] + "..."
        rows.append([str(x) for x in row])
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(cols)]
    out = ["  ".join(c.ljust(w) for c, w in zip(cols, widths)).rstrip()]
    out += ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows]
    up = sum(1 for m in members if m["status"])
    terms = {m["status"][2] for m in members if m["status"]}
    leaders = {m["status"][3] for m in members if m["status"] and m["status"][3]}
    if leader and up == len(members) and len(leaders) == 1:
        ok = True
        summary = f"leader: node {leader['node']} (term {leader['status'][2]}); {up} of {len(members)} members up"
    else:
        ok = False
        summary = (f"leader: {'node ' + str(leader['node']) if leader else 'none'}; {up} of {len(members)} members up"
                   + (f"; members name different leaders {sorted(leaders)}" if len(leaders) > 1 else "")
                   + (f" (terms {sorted(terms)})" if len(terms) > 1 else ""))
    lags = [int(r[8]) for r in rows if r[8].lstrip("-").isdigit()]
    if lags:
        summary += f"; max lag {max(lags)}"
    out.append(summary)
    return "\n".join(out), ok


def main(argv):
    ap = argparse.ArgumentParser(prog="raftctl view", description=__doc__.split("\n\n")[0])
    ap.add_argument("conninfo", help="one member's connection string (key=value or URI)")
    ap.add_argument("--watch", nargs="?", type=float, const=1.0, metavar="SECONDS",
                    help="redraw every SECONDS (default 1) until Ctrl-C")
    ap.add_argument("--count", type=int, default=0, help="with --watch: stop after N views")
    ap.add_argument("--timeout", type=float, default=3.0, help="seconds per connection and query")
    a = ap.parse_args(argv)
    n = 0
    ok = False
    while True:
        try:
            text, ok = render(*snapshot(a.conninfo, a.timeout))
        except psycopg2.Error as e:
            print(f"raftctl view: cannot read raft_peers: {(e.pgerror or str(e)).strip()}", file=sys.stderr)
            if not a.watch:
                return 2
            text, ok = "(the first node cannot be read)", False
        if a.watch and sys.stdout.isatty():
            sys.stdout.write("\033[H\033[2J")
        print(time.strftime("%H:%M:%S\n") + text if a.watch else text, flush=True)
        n += 1
        if not a.watch or (a.count and n >= a.count):
            return 0 if ok else 1
        try:
            time.sleep(a.watch)
        except KeyboardInterrupt:
            return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
