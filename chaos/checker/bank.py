"""Checker for the bank workload: money is neither created nor destroyed.

Transfers move money between N accounts, so every consistent snapshot sums to the total
given in the header.  Transfers themselves are not replayed (their amounts are only
validated as input): a snapshot that does not add up is already the violation, whichever
transfers caused it.  Checked in this order, reporting the first violation:

  wrong-accounts    an ok read_all (in history order), then each node's final state,
                    does not hold exactly the accounts 0..N-1
  read-sum          an ok read_all does not sum to the total
  negative-balance  a read_all or a final state holds a negative balance, when the header
                    has "allow_negative": false (the default)
  final-sum         a node's final balances do not sum to the total
  final-divergence  the nodes' final balances differ
"""

from __future__ import annotations

from .history import FinalState, History, Op
from .result import Excerpt, Result, passed, violation

WORKLOAD = "bank"


def check(history: History, final: FinalState) -> Result:
    counts = history.counts()
    accounts = set(range(history.header["accounts"]))
    total = history.header["total"]
    allow_negative = history.header.get("allow_negative", False)
    nodes = sorted(final.nodes)

    def fail(rule: str, message: str, excerpt: Excerpt) -> Result:
        return violation(WORKLOAD, counts, rule, message, excerpt)

    def snapshot_problem(balances: dict[int, int], what: str, excerpt: Excerpt,
                         sum_rule: str) -> Result | None:
        if set(balances) != accounts:
            missing = sorted(accounts - set(balances))
            extra = sorted(set(balances) - accounts)
            return fail("wrong-accounts",
                        f"{what} has the wrong accounts (missing {missing or 'none'}, "
                        f"unexpected {extra or 'none'}; expected 0..{len(accounts) - 1})",
                        excerpt)
        if sum(balances.values()) != total:
            return fail(sum_rule,
                        f"{what} sums to {sum(balances.values())}, not the total {total}",
                        excerpt)
        if not allow_negative:
            negative = sorted(a for a, b in balances.items() if b < 0)
            if negative:
                return fail("negative-balance",
                            f"{what} has account {negative[0]} at {balances[negative[0]]}, "
                            "and negative balances are not allowed", excerpt)
        return None

    reads: list[Op] = [op for op in history.ops if op.f == "read_all" and op.acked]
    for op in reads:
        problem = snapshot_problem(op.result, f"read_all on line {op.complete_line} (node "
                                   f"{op.node})", Excerpt().op(op), "read-sum")
        if problem:
            return problem

    for node in nodes:
        balances = final.nodes[node]
        excerpt = Excerpt().note(f"final node {node}: {_render(balances)}")
        problem = snapshot_problem(balances, f"node {node}'s final state", excerpt, "final-sum")
        if problem:
            return problem

    first = final.nodes[nodes[0]]
    for node in nodes[1:]:
        other = final.nodes[node]
        if other != first:
            account = min(a for a in accounts if first.get(a) != other.get(a))
            return fail("final-divergence",
                        f"final balances differ: account {account} is {first.get(account)} "
                        f"on node {nodes[0]} but {other.get(account)} on node {node}",
                        Excerpt().note(f"final node {nodes[0]}: {_render(first)}")
                        .note(f"final node {node}: {_render(other)}"))
    return passed(WORKLOAD, counts)


def _render(balances: dict[int, int]) -> str:
    return "{" + ", ".join(f"{a}: {balances[a]}" for a in sorted(balances)) + "}"
