"""The three workloads: what operations they generate, how one runs, the final state.

Every write goes through ``raft_submit``; reads are local SELECTs, after
``raft_barrier()`` when they must be linearizable (register reads, and half of the other
reads, so that both kinds are checked).  The statements are chosen so that their result
tells the outcome without a second query:

* list-append: ``INSERT ... ON CONFLICT DO UPDATE SET vals = vals || ...`` on one row per
  key: the list's order is the order in which entries were applied, which is log order.
* register: write is an upsert; cas is ``UPDATE ... WHERE k = key AND v = expected``,
  whose row count (returned by raft_submit from the leader's apply) says whether it
  swapped (1: ok) or compared unequal (0: a fail with ``cas_failed``).  Keys are rotated so
  that no key has more than ~50 operations (the linearizability search grows with that).
* bank: a transfer is one UPDATE of both accounts guarded by the source's balance: 2 rows
  moved the money, 0 rows means insufficient funds (a fail: nothing changed).

Op generation is a pure function of a seeded ``random.Random`` and a shared counter, so it
is unit-testable; ``Generator`` holds the counter (threads share it, under a lock).
"""

from __future__ import annotations

import random
import threading

from .pgwire import Connection, literal


class Op(dict):
    """One operation to invoke: ``f`` and its fields for the history (key, value, barrier)."""

    @property
    def f(self) -> str:
        return self["f"]

    def fields(self) -> dict:
        return {k: v for k, v in self.items() if k != "f"}


def parse_int_array(text: str | None) -> list[int]:
    if text is None or text in ("{}", ""):
        return []
    return [int(x) for x in text.strip("{}").split(",")]


class UnexpectedResult(Exception):
    """A statement answered something that none of the outcomes explains (info: safe)."""


def _submit(conn: Connection, statement: str, timeout: float) -> tuple:
    rows = conn.query(f"SELECT log_index, term, command_tag, rows FROM raft_submit({literal(statement)})",
                      timeout)
    if len(rows) != 1:
        raise UnexpectedResult(f"raft_submit returned {len(rows)} rows")
    return rows[0]


def _barrier(conn: Connection, timeout: float) -> None:
    conn.query("SELECT raft_barrier()", timeout)


class Workload:
    name = ""
    setup: list[str] = []  # statements submitted once, before the clients start

    def header(self, nodes: list[int]) -> dict:
        return {"workload": self.name, "nodes": nodes}

    def generator(self) -> "Generator":
        return Generator(self)

    def next_op(self, rng: random.Random, count: int, unique: int) -> Op:
        """The ``count``-th operation of the run (counted over all threads); ``unique`` is a
        value never handed out before (for appended values)."""
        raise NotImplementedError

    def execute(self, conn: Connection, op: Op, timeout: float) -> tuple[str, dict]:
        """Run ``op``; returns (``ok`` | ``fail``, completion fields).  Raises on errors:
        the caller classifies them (chaos.outcome)."""
        raise NotImplementedError

    final_query = ""

    def final_value(self, rows: list[tuple]) -> dict:
        raise NotImplementedError

    tables: list[str] = []


class Generator:
    """The run's operation counter and unique values, shared by the workload's threads."""

    def __init__(self, workload: Workload):
        self.workload = workload
        self._lock = threading.Lock()
        self.count = 0

    def next(self, rng: random.Random) -> Op:
        with self._lock:
            count = self.count
            self.count += 1
        return self.workload.next_op(rng, count, count + 1)


class ListAppend(Workload):
    name = "list-append"
    keys_active = 4
    rotate_every = 200  # operations; then the next 4 keys
    setup = ["CREATE TABLE la (k int PRIMARY KEY, vals int[] NOT NULL)"]
    tables = ["la"]
    final_query = "SELECT k, vals FROM la ORDER BY k"

    def next_op(self, rng, count, unique):
        key = self.keys_active * (count // self.rotate_every) + rng.randrange(self.keys_active)
        if rng.random() < 0.5:
            return Op(f="append", key=key, value=unique)
        return Op(f="read", key=key, barrier=rng.random() < 0.5)

    def execute(self, conn, op, timeout):
        k = int(op["key"])
        if op.f == "append":
            v = int(op["value"])
            _, _, tag, rows = _submit(conn, f"INSERT INTO la AS t VALUES ({k}, ARRAY[{v}]) "
                                            "ON CONFLICT (k) DO UPDATE SET vals = t.vals || EXCLUDED.vals",
                                      timeout)
            if tag != "INSERT" or rows != "1":
                raise UnexpectedResult(f"append answered {tag} {rows}")
            return "ok", {}
        if op["barrier"]:
            _barrier(conn, timeout)
        rows = conn.query(f"SELECT vals FROM la WHERE k = {k}", timeout)
        return "ok", {"value": parse_int_array(rows[0][0]) if rows else []}

    def final_value(self, rows):
        return {str(int(k)): parse_int_array(v) for k, v in rows}


class Register(Workload):
    name = "register"
    keys_active = 3
    rotate_every = 150
    values = 5
    setup = ["CREATE TABLE reg (k int PRIMARY KEY, v int)"]
    tables = ["reg"]
    final_query = "SELECT k, v FROM reg ORDER BY k"

    def next_op(self, rng, count, unique):
        key = self.keys_active * (count // self.rotate_every) + rng.randrange(self.keys_active)
        r = rng.random()
        if r < 0.4:
            return Op(f="read", key=key, barrier=True)
        if r < 0.7:
            return Op(f="write", key=key, value=rng.randrange(self.values))
        return Op(f="cas", key=key, value=[rng.randrange(self.values), rng.randrange(self.values)])

    def execute(self, conn, op, timeout):
        k = int(op["key"])
        if op.f == "write":
            v = int(op["value"])
            _, _, tag, rows = _submit(conn, f"INSERT INTO reg AS t VALUES ({k}, {v}) "
                                            "ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v", timeout)
            if tag != "INSERT" or rows != "1":
                raise UnexpectedResult(f"write answered {tag} {rows}")
            return "ok", {}
        if op.f == "cas":
            expected, new = (int(x) for x in op["value"])
            _, _, tag, rows = _submit(conn, f"UPDATE reg SET v = {new} WHERE k = {k} AND v = {expected}",
                                      timeout)
            if tag == "UPDATE" and rows == "1":
                return "ok", {}
            if tag == "UPDATE" and rows == "0":
                return "fail", {"error": "compare failed", "cas_failed": True}
            raise UnexpectedResult(f"cas answered {tag} {rows}")
        _barrier(conn, timeout)
        rows = conn.query(f"SELECT v FROM reg WHERE k = {k}", timeout)
        return "ok", {"value": int(rows[0][0]) if rows and rows[0][0] is not None else None}

    def final_value(self, rows):
        return {str(int(k)): (int(v) if v is not None else None) for k, v in rows}


class Bank(Workload):
    name = "bank"
    accounts = 5
    initial = 100
    tables = ["bank"]
    final_query = "SELECT id, balance FROM bank ORDER BY id"

    @property
    def setup(self):  # type: ignore[override]
        rows = ", ".join(f"({a}, {self.initial})" for a in range(self.accounts))
        return ["CREATE TABLE bank (id int PRIMARY KEY, balance bigint NOT NULL)",
                f"INSERT INTO bank VALUES {rows}"]

    def header(self, nodes):
        return {"workload": self.name, "nodes": nodes, "accounts": self.accounts,
                "total": self.accounts * self.initial, "allow_negative": False}

    def next_op(self, rng, count, unique):
        if rng.random() < 0.6:
            a, b = rng.sample(range(self.accounts), 2)
            return Op(f="transfer", value={"from": a, "to": b, "amount": rng.randint(1, 20)})
        return Op(f="read_all", barrier=rng.random() < 0.5)

    def execute(self, conn, op, timeout):
        if op.f == "transfer":
            a, b, x = (int(op["value"][k]) for k in ("from", "to", "amount"))
            _, _, tag, rows = _submit(
                conn, f"UPDATE bank SET balance = balance + CASE WHEN id = {a} THEN -{x} ELSE {x} END "
                      f"WHERE id IN ({a}, {b}) AND (SELECT balance FROM bank WHERE id = {a}) >= {x}", timeout)
            if tag == "UPDATE" and rows == "2":
                return "ok", {}
            if tag == "UPDATE" and rows == "0":
                return "fail", {"error": "insufficient funds"}
            raise UnexpectedResult(f"transfer answered {tag} {rows}")
        if op["barrier"]:
            _barrier(conn, timeout)
        rows = conn.query("SELECT id, balance FROM bank ORDER BY id", timeout)
        return "ok", {"value": {str(int(i)): int(v) for i, v in rows}}

    def final_value(self, rows):
        return {str(int(i)): int(v) for i, v in rows}


WORKLOADS = {w.name: w for w in (ListAppend(), Register(), Bank())}
