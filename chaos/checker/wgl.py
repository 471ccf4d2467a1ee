"""A Wing–Gong linearizability search, with Lowe's memoization.

G. Lowe, "Testing for linearizability", Concurrency and Computation 29(4), 2017.
The history is a doubly linked list of call and return entries in real-time order.  The
search walks it from the front: at a call it tries to linearize that operation now (if the
sequential model accepts it in the current state), removing ("lifting") the call and its
return from the list and starting again at the front; reaching a return whose operation
is not yet linearized means the choices so far cannot work, so it backtracks.  A
configuration is the set of linearized operations plus the model state; one that was
already explored cannot lead anywhere new, which is what keeps the search tractable.

Operations whose outcome is unknown are *optional*: they may take effect at any point
after their call, or never.  Their return is placed after every other entry, so reaching
one means every required operation has been linearized: the search has succeeded, and
the optional ones still in the list simply never took effect.

The model is a plain function ``step(state, payload) -> new state or INVALID``; states
must be hashable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

INF = math.inf
INVALID = object()  # what step() returns when the operation cannot happen in that state


class SearchTooLarge(Exception):
    """The configured number of configurations was explored without a verdict."""

    def __init__(self, explored: int):
        super().__init__(f"more than {explored} configurations explored")
        self.explored = explored


@dataclass(frozen=True)
class Call:
    """An operation as the search sees it.

    ``call`` and ``ret`` are positions in real time (line numbers); ``ret`` is ``INF`` for
    an optional operation.  ``tag`` is whatever the caller needs to map it back.
    """

    call: float
    ret: float
    payload: Any
    tag: Any = None

    @property
    def optional(self) -> bool:
        return self.ret == INF

    def as_optional(self) -> Call:
        return replace(self, ret=INF)


def search(calls: Sequence[Call], init: Any, step: Callable[[Any, Any], Any],
           max_states: int) -> tuple[bool, int]:
    """Is there a linearization?  Returns (verdict, configurations explored).

    Raises :class:`SearchTooLarge` once more than ``max_states`` configurations have been
    explored.
    """
    n = len(calls)
    # Entry 0 is the head sentinel and entry 2n+1 the tail; entries 1..2n are the calls and
    # returns in real-time order.  Equal positions only happen between optional returns
    # (all INF), whose relative order does not matter.
    points = sorted([(c.call, 0, i) for i, c in enumerate(calls)]
                    + [(c.ret, 1, i) for i, c in enumerate(calls)])
    size = 2 * n + 2
    tail = size - 1
    nxt = list(range(1, size)) + [tail]
    prv = [0] + list(range(0, size - 1))
    op_of = [-1] * size
    is_call = [False] * size
    ret_entry = [0] * size  # call entry -> its return entry
    call_entry = [0] * n
    for entry, (_, kind, i) in enumerate(points, 1):
        op_of[entry] = i
        if kind == 0:
            is_call[entry] = True
            call_entry[i] = entry
        else:
            ret_entry[call_entry[i]] = entry
    optional = [c.optional for c in calls]
    payloads = [c.payload for c in calls]

    def lift(e: int) -> None:
        for x in (e, ret_entry[e]):
            nxt[prv[x]] = nxt[x]
            prv[nxt[x]] = prv[x]

    def unlift(e: int) -> None:
        # Dancing links: undo in the reverse order of lift, so the pointers kept in the
        # lifted entries are still right.
        for x in (ret_entry[e], e):
            nxt[prv[x]] = x
            prv[nxt[x]] = x

    # The memo key packs the state's number above the n bits of the linearized set, so a
    # configuration is one int: far lighter than a tuple when millions are stored.
    state_ids: dict[Any, int] = {}
    seen: set[int] = set()
    linearized = 0
    state = init
    stack: list[tuple[int, Any]] = []
    e = nxt[0]
    while e != tail:
        i = op_of[e]
        if is_call[e]:
            new_state = step(state, payloads[i])
            if new_state is not INVALID:
                bits = linearized | (1 << i)
                sid = state_ids.setdefault(new_state, len(state_ids))
                config = bits | (sid << n)
                if config not in seen:
                    if len(seen) >= max_states:
                        raise SearchTooLarge(len(seen))
                    seen.add(config)
                    stack.append((e, state))
                    state, linearized = new_state, bits
                    lift(e)
                    e = nxt[0]
                    continue
            e = nxt[e]
        elif optional[i]:
            return True, len(seen)
        elif not stack:
            return False, len(seen)
        else:
            e, state = stack.pop()
            linearized &= ~(1 << op_of[e])
            unlift(e)
            e = nxt[e]
    return True, len(seen)
