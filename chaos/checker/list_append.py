"""Checker for the list-append workload.

Every key holds a list; clients append run-unique integers and read whole lists.  Because
each value is appended at most once, a value seen anywhere names the one append that put
it there, which turns most of the consistency question into set and order comparisons
against the final lists.  The rules are checked one after the other, in the order below,
and the first violation found is reported (within a rule, the earliest in the history):

  lost-append            an acknowledged append is missing from some node's final list
  failed-append-present  an append that definitely failed shows up in a read or final list
  phantom-value          a read or final list holds a value never appended to that key
  duplicate              a value occurs twice in one list
  final-divergence       the nodes' final lists of a key differ
  not-prefix             an ok read is not a prefix of the (common) final list
  stale-read             a barrier read misses an append acknowledged before it was invoked
  realtime-order         append A was acknowledged before append B was invoked, yet B
                         precedes A in the final list
  read-from-future       a read returned a value whose append was invoked only after the
                         read had completed

Indeterminate appends (info, or never completed) may be present or absent; when present
they are held to the duplicate, prefix and order rules like any other, but having no
acknowledgement they never count as "completed before" anything.
"""

from __future__ import annotations

from .history import FinalState, History, Op
from .result import Excerpt, Result, passed, short, violation

WORKLOAD = "list-append"


class _Listing:
    """One observed list: an ok read's result or a node's final list of a key."""

    def __init__(self, key: int, values: list[int], read: Op | None = None,
                 node: int | None = None):
        self.key, self.values, self.read, self.node = key, values, read, node

    def describe(self) -> str:
        if self.read is not None:
            return f"the read of key {self.key} on line {self.read.invoke_line}"
        return f"node {self.node}'s final list of key {self.key}"

    def quote(self, excerpt: Excerpt) -> Excerpt:
        if self.read is not None:
            return excerpt.op(self.read)
        return excerpt.final(self.node, self.key, self.values)


def check(history: History, final: FinalState) -> Result:
    counts = history.counts()

    def fail(rule: str, message: str, excerpt: Excerpt) -> Result:
        return violation(WORKLOAD, counts, rule, message, excerpt)

    appends = {op.value: op for op in history.ops if op.f == "append"}
    reads = [op for op in history.ops if op.f == "read" and op.acked]
    nodes = sorted(final.nodes)
    keys = sorted({op.key for op in history.ops}
                  | {k for state in final.nodes.values() for k in state})

    def final_list(node: int, key: int) -> list[int]:
        return final.nodes[node].get(key, [])  # a key a node never heard of is empty

    listings = [_Listing(op.key, op.result, read=op) for op in reads]
    listings += [_Listing(key, final_list(node, key), node=node)
                 for node in nodes for key in keys]

    # lost-append
    final_sets = {(node, key): set(final_list(node, key)) for node in nodes for key in keys}
    for op in appends.values():
        if op.acked:
            for node in nodes:
                if op.value not in final_sets[(node, op.key)]:
                    return fail("lost-append",
                                f"append of {op.value} to key {op.key} was acknowledged "
                                f"(line {op.complete_line}) but node {node}'s final list of "
                                "the key does not hold it",
                                Excerpt().op(op).final(node, op.key, final_list(node, op.key)))

    # failed-append-present: report the earliest failed append, where it was first seen.
    seen_in: dict[int, _Listing] = {}
    for listing in listings:
        for v in listing.values:
            seen_in.setdefault(v, listing)
    for op in appends.values():
        if op.status == "fail" and op.value in seen_in:
            listing = seen_in[op.value]
            return fail("failed-append-present",
                        f"append of {op.value} to key {op.key} failed (line "
                        f"{op.complete_line}: {op.error}) yet {listing.describe()} holds it",
                        listing.quote(Excerpt().op(op)))

    for listing in listings:
        for v in listing.values:
            origin = appends.get(v)
            if origin is None or origin.key != listing.key:
                elsewhere = (f" (it was appended to key {origin.key} on line "
                             f"{origin.invoke_line})" if origin else "")
                excerpt = listing.quote(Excerpt())
                if origin:
                    excerpt.op(origin)
                return fail("phantom-value",
                            f"{listing.describe()} holds {v}, which no client appended to "
                            f"that key{elsewhere}", excerpt)

    for listing in listings:
        seen: set[int] = set()
        for v in listing.values:
            if v in seen:
                return fail("duplicate",
                            f"{listing.describe()} holds {v} twice: {short(listing.values)}",
                            listing.quote(Excerpt().op(appends[v])))
            seen.add(v)

    for key in keys:
        first = final_list(nodes[0], key)
        for node in nodes[1:]:
            other = final_list(node, key)
            if other != first:
                i = next((i for i, (a, b) in enumerate(zip(first, other)) if a != b),
                         min(len(first), len(other)))
                return fail("final-divergence",
                            f"final lists of key {key} differ between node {nodes[0]} and "
                            f"node {node} at index {i} ({_at(first, i)} vs {_at(other, i)})",
                            Excerpt().final(nodes[0], key, first).final(node, key, other))
    common = {key: final_list(nodes[0], key) for key in keys}

    for op in reads:
        full = common[op.key]
        if op.result != full[:len(op.result)]:
            i = next((i for i, (a, b) in enumerate(zip(op.result, full)) if a != b), len(full))
            found = full[i] if i < len(full) else "the end"
            return fail("not-prefix",
                        f"read of key {op.key} (line {op.invoke_line}) returned "
                        f"{short(op.result)}, not a prefix of the final list: index {i} is "
                        f"{op.result[i]} in the read, {found} in the final list",
                        Excerpt().op(op).final(nodes[0], op.key, full))

    position = {v: i for key in keys for i, v in enumerate(common[key])}
    return (_check_real_time(history, appends, reads, position, common, nodes[0], fail)
            or passed(WORKLOAD, counts))


def _check_real_time(history: History, appends: dict[int, Op], reads: list[Op],
                     position: dict[int, int], common: dict[int, list[int]], node: int,
                     fail) -> Result | None:
    """stale-read, realtime-order and read-from-future, in one sweep over the events.

    By now every read is a prefix of its key's final list and every acknowledged append
    sits in it, so a position in the final list stands for "when it took effect".  While
    sweeping the events in file order, ``latest[key]`` is the acknowledged append with the
    highest final position so far: whatever is invoked next must come after it.
    """
    events = []  # (line, is_invoke, op)
    for op in history.ops:
        if op.f == "append" or (op.f == "read" and op.acked):
            events.append((op.invoke_line, True, op))
            if op.acked:
                events.append((op.complete_line, False, op))
    events.sort(key=lambda e: e[0])

    latest: dict[int, Op] = {}
    bound: dict[Op, Op] = {}  # an invoked op -> the append it must follow
    for _, is_invoke, op in events:
        if is_invoke:
            if op.key in latest:
                bound[op] = latest[op.key]
        elif op.f == "append":
            best = latest.get(op.key)
            if best is None or position[op.value] > position[best.value]:
                latest[op.key] = op

    stale = [op for op in reads if op.barrier and op in bound
             and position[bound[op].value] >= len(op.result)]
    if stale:
        op = stale[0]
        missing = min((a for a in appends.values()
                       if a.key == op.key and a.acked and a.complete_line < op.invoke_line
                       and a.value not in op.result), key=lambda a: a.complete_line)
        return fail("stale-read",
                    f"barrier read of key {op.key} (line {op.invoke_line}) returned "
                    f"{short(op.result)} without {missing.value}, whose append was "
                    f"acknowledged earlier (line {missing.complete_line})",
                    Excerpt().op(missing).op(op))

    for b in sorted(bound, key=lambda op: op.invoke_line):
        a = bound[b]
        if b.f == "append" and b.value in position and position[a.value] > position[b.value]:
            return fail("realtime-order",
                        f"append of {a.value} to key {a.key} was acknowledged (line "
                        f"{a.complete_line}) before append of {b.value} was invoked (line "
                        f"{b.invoke_line}), but the final list has {b.value} at index "
                        f"{position[b.value]} before {a.value} at index {position[a.value]}",
                        Excerpt().op(a).op(b).final(node, a.key, common[a.key]))

    for op in reads:
        for v in op.result:
            origin = appends[v]
            if origin.invoke_line > op.complete_line:
                return fail("read-from-future",
                            f"read of key {op.key} (completed line {op.complete_line}) "
                            f"returned {v}, whose append was invoked later (line "
                            f"{origin.invoke_line})", Excerpt().op(op).op(origin))
    return None


def _at(values: list[int], i: int) -> str:
    return str(values[i]) if i < len(values) else "the end"
