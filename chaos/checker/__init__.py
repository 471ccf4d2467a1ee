"""History checkers for raft_ext's fault-injection suite.

``check(history_path, final_path)`` reads a recorded history (JSON Lines) and the nodes'
final state (JSON), validates both against the file contract in README.md, and runs the
checker of the workload named in the history's header:

  list-append  chaos.checker.list_append
  register     chaos.checker.register (linearizability, chaos.checker.wgl)
  bank         chaos.checker.bank

It returns a :class:`Result` (PASS, FAIL with a rule and an excerpt, or UNKNOWN when a
linearizability search exceeded ``max_states``) and raises :class:`MalformedInput` when the
input breaks the contract.  ``python3 -m chaos.checker`` is the command-line front end.
"""

from __future__ import annotations

from . import bank, list_append, register
from .history import MalformedInput, load_final, load_history
from .result import FAIL, PASS, UNKNOWN, Result

__all__ = ["check", "Result", "MalformedInput", "DEFAULT_MAX_STATES", "PASS", "FAIL", "UNKNOWN"]

# Per key.  A search that reaches it takes about 5 s and 150 MB (measured), so even a run
# with several undecidable keys finishes in minutes, in bounded memory.
DEFAULT_MAX_STATES = 2_000_000


def check(history_path: str, final_path: str, max_states: int = DEFAULT_MAX_STATES) -> Result:
    """Check one run.  Raises MalformedInput (with file and line) on invalid input."""
    if max_states < 1:
        raise ValueError("max_states must be positive")
    history = load_history(history_path)
    final = load_final(final_path, history)
    if history.workload == "list-append":
        return list_append.check(history, final)
    if history.workload == "register":
        return register.check(history, final, max_states)
    return bank.check(history, final)
