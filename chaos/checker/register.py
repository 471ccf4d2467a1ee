"""Checker for the register workload: linearizability of read/write/cas, key by key.

Linearizability is compositional, so each key is searched on its own (chaos/checker/wgl.py).
How each recorded operation enters the search:

  ok write / ok cas           required: takes effect once, between invoke and completion
  fail with "cas_failed"      required observation: the value was != expected at some
                              point between invoke and completion; changes nothing
  ok read                     required observation of the returned value
  info / never completed      optional write or cas: takes effect after the invoke, or never
  any other fail, failed or   left out: it definitely did not take effect, or told us
  indeterminate read          nothing

The final state is one more required read of the key, invoked after the whole history
(the nodes' final values must agree; a disagreement is reported as final-divergence).

When a key cannot be linearized the checker looks for a small window of the key's
operations that cannot be linearized on its own, using only reductions that preserve
non-linearizability, so the window is itself the proof:

  * truncation at a line u: operations invoked after u are dropped, and operations still
    running at u become optional (reads among them are dropped);
  * a prefix cut: operations that completed before every remaining required operation
    was invoked are dropped, and the window starts from an arbitrary value (modelled
    symbolically, see :class:`AnyBut`);
  * dropping a read or a cas_failed observation.

Truncation, then cut, then dropping observations are repeated until nothing changes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from . import wgl
from .history import FinalState, History, Op
from .result import UNKNOWN, Excerpt, Result, passed, short, violation

WORKLOAD = "register"
READ, WRITE, CAS, CAS_FAILED = "read", "write", "cas", "cas_failed"


@dataclass(frozen=True)
class AnyBut:
    """An unknown value, known only not to be one of ``excluded``.

    A window cut out of the middle of a history starts from whatever value the register
    held then.  Rather than trying every candidate value, the state stays symbolic until
    an operation pins it down: a read or a successful cas binds it, a cas_failed narrows it.
    """

    excluded: frozenset = frozenset()


ANY = AnyBut()


def _matches(state: Any, value: Any) -> bool:
    if isinstance(state, AnyBut):
        return value not in state.excluded
    return state == value


def step(state: Any, payload: tuple) -> Any:
    """The sequential register; a payload is (kind, value) or (CAS, expected, new)."""
    kind = payload[0]
    if kind == WRITE:
        return payload[1]
    if kind == READ:
        return payload[1] if _matches(state, payload[1]) else wgl.INVALID
    if kind == CAS:
        return payload[2] if _matches(state, payload[1]) else wgl.INVALID
    # CAS_FAILED: observed a value other than the expected one
    expected = payload[1]
    if isinstance(state, AnyBut):
        return AnyBut(state.excluded | {expected})
    return state if state != expected else wgl.INVALID


@dataclass(frozen=True)
class _Final:
    """The tag of the synthetic read that stands for the final state."""

    key: int
    value: Any


def _calls_for(ops: list[Op], key: int, final_value: Any, final_line: int) -> list[wgl.Call]:
    calls = []
    for op in ops:
        ret = op.complete_line if op.outcome in ("ok", "fail") else wgl.INF
        if op.f == "read":
            if op.acked:
                calls.append(wgl.Call(op.invoke_line, ret, (READ, op.result), op))
        elif op.status == "fail":
            if op.cas_failed:
                calls.append(wgl.Call(op.invoke_line, ret, (CAS_FAILED, op.value[0]), op))
        elif op.f == "write":
            calls.append(wgl.Call(op.invoke_line, ret, (WRITE, op.value), op))
        else:
            calls.append(wgl.Call(op.invoke_line, ret, (CAS, *op.value), op))
    calls.append(wgl.Call(final_line + 1, final_line + 2, (READ, final_value),
                          _Final(key, final_value)))
    return calls


def prune(calls: list[wgl.Call]) -> list[wgl.Call]:
    """Drop optional writes and cases whose new value nothing ever observes.

    Without cas_failed observations, putting an unobserved value in the register can only
    make later reads and cases impossible until something overwrites it, so such an
    optional operation never helps and "it never took effect" is always as good.  Lost
    writes are common under faults, and each one left in would double the search.
    """
    if any(c.payload[0] == CAS_FAILED for c in calls):
        return calls
    observed = {c.payload[1] for c in calls if c.payload[0] in (READ, CAS)}
    return [c for c in calls
            if not (c.optional and c.payload[0] in (WRITE, CAS) and c.payload[-1] not in observed)]


class _Budget:
    """Bounds the total work of the window minimization, which is a nicety."""

    def __init__(self, states: int):
        self.left = states

    def linearizable(self, calls: list[wgl.Call], init: Any) -> bool | None:
        """The verdict, or None if the search could not finish within what is left."""
        if self.left <= 0:
            return None
        try:
            ok, explored = wgl.search(prune(calls), init, step, self.left)
        except wgl.SearchTooLarge:
            self.left = 0
            return None
        self.left -= explored
        return ok


def _truncate(calls: list[wgl.Call], u: float) -> list[wgl.Call]:
    out = []
    for c in calls:
        if c.call > u:
            continue
        if c.ret <= u or c.optional:
            out.append(c)
        elif c.payload[0] in (WRITE, CAS):
            out.append(c.as_optional())  # still running at u: may or may not have happened
    return out


def _cuts(calls: list[wgl.Call]) -> list[int]:
    """Sizes k for which the k earliest-completing required calls can be cut off.

    Sound when every other required call was invoked after all k had completed: then in
    any linearization they all come first, and their combined effect is just "some value".
    Optional calls stay in the window (as optional) wherever they were invoked.
    """
    required = sorted((c for c in calls if not c.optional), key=lambda c: c.ret)
    later_call = [wgl.INF] * (len(required) + 1)  # min call among required[k:]
    for k in range(len(required) - 1, -1, -1):
        later_call[k] = min(later_call[k + 1], required[k].call)
    return [k for k in range(1, len(required) + 1) if required[k - 1].ret < later_call[k]]


def _cut(calls: list[wgl.Call], k: int) -> list[wgl.Call]:
    required = sorted((c for c in calls if not c.optional), key=lambda c: c.ret)
    dropped = {id(c) for c in required[:k]}
    return [c for c in calls if id(c) not in dropped]


def _last_true(candidates: list, holds) -> int | None:
    """Binary search over a list on which ``holds`` is true, then false; the last true."""
    lo, hi, best = 0, len(candidates) - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        if holds(candidates[mid]):
            best, lo = mid, mid + 1
        else:
            hi = mid - 1
    return best


def minimal_window(calls: list[wgl.Call], budget: _Budget) -> tuple[list[wgl.Call], bool, float]:
    """A small sub-history that is not linearizable on its own.

    ``calls`` must be known not to be linearizable from the initial null.  Returns the
    window, whether it starts from an arbitrary value, and the line it is truncated at.
    """
    window, from_any, upto = prune(calls), False, wgl.INF
    changed = True
    while changed and budget.left > 0:
        changed = False
        init = ANY if from_any else None
        # Truncate as early as possible.  A later truncation point keeps more, so
        # latest-first the verdicts run "not linearizable" and then "linearizable".
        ends = sorted({c.ret for c in window if not c.optional}, reverse=True)
        i = _last_true(ends, lambda u: budget.linearizable(_truncate(window, u), init)
                       is False)
        if i is not None and ends[i] < upto:
            upto = ends[i]
            window, changed = prune(_truncate(window, upto)), True
        # Cut off as much of the beginning as possible (a bigger cut keeps less).
        cuts = _cuts(window)
        j = _last_true(cuts, lambda k: budget.linearizable(_cut(window, k), ANY) is False)
        if j is not None:
            window, from_any, changed = prune(_cut(window, cuts[j])), True, True
            init = ANY
        # Drop observations that are not part of the contradiction.
        for c in [c for c in window if c.payload[0] in (READ, CAS_FAILED)]:
            smaller = [x for x in window if x is not c]
            if budget.linearizable(smaller, init) is False:
                window, changed = prune(smaller), True
    return window, from_any, upto


def check(history: History, final: FinalState, max_states: int) -> Result:
    counts = history.counts()
    nodes = sorted(final.nodes)
    by_key: dict[int, list[Op]] = defaultdict(list)
    for op in history.ops:
        by_key[op.key].append(op)
    final_keys = {k for state in final.nodes.values() for k in state}
    # Keys in the order the history first uses them: the first one that fails is reported.
    keys = list(by_key) + sorted(final_keys - set(by_key))

    for key in sorted(final_keys):
        values = {node: final.nodes[node].get(key) for node in nodes}  # absent is null
        first = values[nodes[0]]
        for node in nodes[1:]:
            if values[node] != first:
                return violation(WORKLOAD, counts, "final-divergence",
                                 f"key {key} ends as {short(first)} on node {nodes[0]} but "
                                 f"{short(values[node])} on node {node}",
                                 Excerpt().final(nodes[0], key, first)
                                 .final(node, key, values[node]))

    too_large = []
    for key in keys:
        final_value = final.nodes[nodes[0]].get(key)
        calls = _calls_for(by_key.get(key, []), key, final_value, history.last_line)
        try:
            ok, _ = wgl.search(prune(calls), None, step, max_states)
        except wgl.SearchTooLarge:
            too_large.append((key, len(by_key.get(key, []))))
            continue
        if not ok:
            return _report(key, calls, max_states, counts, nodes, history.last_line)
    if too_large:
        shown = ", ".join(f"key {k} ({n} ops)" for k, n in too_large[:5])
        more = f" and {len(too_large) - 5} more" if len(too_large) > 5 else ""
        return Result(UNKNOWN, WORKLOAD, counts, "search-too-large",
                      f"no verdict for {shown}{more}: more than {max_states} states explored "
                      "(raise --max-states, or use fewer operations per key); every other "
                      "key is linearizable")
    return passed(WORKLOAD, counts)


def _report(key: int, calls: list[wgl.Call], max_states: int, counts: dict,
            nodes: list[int], last_line: int) -> Result:
    window, from_any, upto = minimal_window(calls, _Budget(max_states))
    excerpt = Excerpt()
    lines: list[int] = []
    ops = 0
    running = False  # an acknowledged op of the window completes after the truncation
    for c in sorted(window, key=lambda c: c.call):
        if isinstance(c.tag, _Final):
            excerpt.note(f"final key {key}: {short(c.tag.value)} (on every node: "
                         f"{', '.join(map(str, nodes))})")
            continue
        ops += 1
        excerpt.op(c.tag, upto)
        lines.append(c.tag.invoke_line)
        if c.tag.complete_line is not None and c.tag.complete_line <= upto:
            lines.append(c.tag.complete_line)
        elif c.tag.outcome in ("ok", "fail"):
            running = True
    what = [f"{ops} operation{'s' if ops != 1 else ''} (lines {min(lines)}-{max(lines)})"] \
        if ops else []
    if any(isinstance(c.tag, _Final) for c in window):
        what.append("the final state")
    start = "from any earlier value" if from_any else "from the initial null"
    note = (f"; ops still running at line {int(upto)} count as indeterminate"
            if running and upto <= last_line else "")
    return violation(WORKLOAD, counts, "not-linearizable",
                     f"key {key}: no linearization of {' and '.join(what)}, starting "
                     f"{start}{note}", excerpt)
