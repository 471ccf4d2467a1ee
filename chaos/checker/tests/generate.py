"""Random valid histories, recorded from simulated correct stores.

A simulation runs a few client processes against an in-memory store that executes one
operation at a time.  Each step, at random, invokes an operation for an idle process,
makes one running operation take effect (its linearization point: the store applies it
and fixes its result), or completes one.  So operations overlap arbitrarily, yet the
history is linearizable by construction.  Outcomes are drawn too: an operation may
fail (and never take effect), or end in info, having taken effect (possibly after the
client gave up) or not; an info op sometimes never gets its completion line at all.
Every value written or appended is unique, which the mutation tests rely on.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from typing import Any

from chaos.checker.tests.support import HistoryBuilder, same_on_all


@dataclass(eq=False)
class SimOp:
    process: int
    f: str
    key: Any
    request: Any
    fate: str  # ok, fail or info
    takes_effect: bool
    applied: bool = False
    result: Any = None
    cas_failed: bool = False
    barrier: bool = False


@dataclass
class Simulation:
    """The client side: processes, running operations, and the random schedule."""

    rng: random.Random
    builder: HistoryBuilder
    ops: int
    processes: int = 4
    p_info: float = 0.1
    p_fail: float = 0.05
    idle: list[int] = field(default_factory=list)
    running: list[SimOp] = field(default_factory=list)
    ghosts: list[SimOp] = field(default_factory=list)  # gave up on, but still to apply

    def __post_init__(self):
        self.idle = list(range(self.processes))
        self.next_process = itertools.count(self.processes)

    def fate(self) -> tuple[str, bool]:
        r = self.rng.random()
        if r < self.p_info:
            return "info", self.rng.random() < 0.5
        if r < self.p_info + self.p_fail:
            return "fail", False
        return "ok", True

    def run(self, new_op, apply) -> None:
        """``new_op(process)`` invokes and returns a SimOp; ``apply(op)`` executes it."""
        started = 0
        while started < self.ops or self.running:
            waiting = [op for op in self.running if op.takes_effect and not op.applied]
            done = [op for op in self.running if op.applied or not op.takes_effect
                    or op.fate == "info"]
            choices = []
            if self.idle and started < self.ops:
                choices.append("invoke")
            if waiting or self.ghosts:
                choices.append("apply")
            if done:
                choices.append("complete")
            choice = self.rng.choice(choices)
            if choice == "invoke":
                process = self.idle.pop(self.rng.randrange(len(self.idle)))
                self.running.append(new_op(process))
                started += 1
            elif choice == "apply":
                op = self.rng.choice(waiting + self.ghosts)
                apply(op)
                op.applied = True
                if op in self.ghosts:
                    self.ghosts.remove(op)
            else:
                self.complete(self.rng.choice(done))
        for op in self.ghosts:  # the run ends only once the store has settled
            apply(op)

    def complete(self, op: SimOp) -> None:
        self.running.remove(op)
        h, p = self.builder, op.process
        if op.fate == "info":
            if op.takes_effect and not op.applied:
                self.ghosts.append(op)
            if self.rng.random() < 0.7:  # else the history ends with it still running
                h.info(p, error="timeout")
            self.idle.append(next(self.next_process))
            return
        if op.fate == "fail":
            h.fail(p, error="ERROR: not the leader")
        elif op.cas_failed:
            h.fail(p, error="compare failed", cas_failed=True)
        elif op.f in ("read", "read_all"):
            h.ok(p, value=op.result)
        else:
            h.ok(p)
        self.idle.append(p)


def register_history(seed: int, keys: int = 3, ops: int = 60, processes: int = 4,
                     p_info: float = 0.1):
    """A linearizable register history; returns (builder, final document)."""
    rng = random.Random(seed)
    h = HistoryBuilder("register")
    sim = Simulation(rng, h, ops, processes, p_info)
    state: dict[int, Any] = {}
    written: list[int] = []
    values = itertools.count(1)

    def new_op(process: int) -> SimOp:
        f = rng.choice(["write", "cas", "read", "read"])
        key = rng.randrange(keys)
        node = rng.choice([1, 2, 3])
        if f == "write":
            request = next(values)
            h.invoke(process, f, key=key, value=request, node=node)
        elif f == "cas":
            expected = rng.choice([state.get(key), state.get(key), None]
                                  + written[-3:])
            request = (expected, next(values))
            h.invoke(process, f, key=key, value=list(request), node=node)
        else:
            request = None
            h.invoke(process, f, key=key, node=node)
        fate, effect = sim.fate()
        return SimOp(process, f, key, request, fate, effect and not (f == "read" and fate != "ok"))

    def apply(op: SimOp) -> None:
        if op.f == "read":
            op.result = state.get(op.key)
        elif op.f == "write":
            state[op.key] = op.request
            written.append(op.request)
        elif state.get(op.key) == op.request[0]:
            state[op.key] = op.request[1]
            written.append(op.request[1])
        else:
            op.cas_failed = True  # at its linearization point the value did not match

    sim.run(new_op, apply)
    return h, same_on_all(state)


def list_append_history(seed: int, keys: int = 3, ops: int = 80, processes: int = 5,
                        p_info: float = 0.1):
    """A valid list-append history; returns (builder, final document)."""
    rng = random.Random(seed)
    h = HistoryBuilder("list-append")
    sim = Simulation(rng, h, ops, processes, p_info)
    lists: dict[int, list[int]] = {k: [] for k in range(keys)}
    values = itertools.count(1)

    def new_op(process: int) -> SimOp:
        key = rng.randrange(keys)
        node = rng.choice([1, 2, 3])
        fate, effect = sim.fate()
        if rng.random() < 0.6:
            value = next(values)
            h.invoke(process, "append", key=key, value=value, node=node)
            return SimOp(process, "append", key, value, fate, effect)
        barrier = rng.random() < 0.5
        h.invoke(process, "read", key=key, barrier=barrier, node=node)
        return SimOp(process, "read", key, None, fate, fate == "ok", barrier=barrier)

    def apply(op: SimOp) -> None:
        if op.f == "append":
            lists[op.key].append(op.request)
        elif op.barrier:
            op.result = list(lists[op.key])
        else:  # a follower may lag: any prefix of the current list
            op.result = lists[op.key][:rng.randint(0, len(lists[op.key]))]

    sim.run(new_op, apply)
    return h, same_on_all(lists)


def bank_history(seed: int, accounts: int = 4, total: int = 100, ops: int = 60):
    """A valid bank history (no overdrafts); returns (builder, final document)."""
    rng = random.Random(seed)
    h = HistoryBuilder("bank", total=total, accounts=accounts, allow_negative=False)
    sim = Simulation(rng, h, ops)
    balances = {a: total // accounts for a in range(accounts)}
    balances[0] += total - sum(balances.values())

    def new_op(process: int) -> SimOp:
        fate, effect = sim.fate()
        if rng.random() < 0.7:
            a, b = rng.sample(range(accounts), 2)
            request = {"from": a, "to": b, "amount": rng.randint(1, total // 3)}
            h.invoke(process, "transfer", value=request, node=rng.choice([1, 2, 3]))
            return SimOp(process, "transfer", None, request, fate, effect)
        h.invoke(process, "read_all", node=rng.choice([1, 2, 3]))
        return SimOp(process, "read_all", None, None, fate, fate == "ok")

    def apply(op: SimOp) -> None:
        if op.f == "read_all":
            op.result = {str(a): b for a, b in balances.items()}
            return
        t = op.request
        if balances[t["from"]] >= t["amount"]:  # an overdraft is a no-op, like the SQL
            balances[t["from"]] -= t["amount"]
            balances[t["to"]] += t["amount"]

    sim.run(new_op, apply)
    return h, same_on_all(balances)
