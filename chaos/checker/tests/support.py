"""Helpers for writing histories in tests: a builder, final states, and running a check."""

from __future__ import annotations

import copy
import json
import os
import tempfile
import unittest

from chaos.checker import check

_MISSING = object()


class HistoryBuilder:
    """Builds a history event by event; every event is one second after the last.

    ``h.invoke(1, "append", key=1, value=5).ok(1)`` records an invocation and its
    completion; completions repeat the process's last invoked ``f`` automatically.
    """

    def __init__(self, workload: str, nodes=(1, 2, 3), **params):
        self.header = {"type": "header", "workload": workload, "nodes": list(nodes), **params}
        self.events: list[dict] = []
        self.time = 0.0
        self._f: dict[int, str] = {}

    def _add(self, event: dict) -> HistoryBuilder:
        self.time += 1.0
        self.events.append({**event, "time": self.time})
        return self

    def invoke(self, process: int, f: str, key=None, value=_MISSING, node: int = 1,
               **extra) -> HistoryBuilder:
        event = {"type": "invoke", "process": process, "f": f, "node": node}
        if key is not None:
            event["key"] = key
        if value is not _MISSING:
            event["value"] = value
        if f == "read" and self.header["workload"] == "list-append":
            event.setdefault("barrier", False)
        event.update(extra)
        self._f[process] = f
        return self._add(event)

    def ok(self, process: int, value=_MISSING, **extra) -> HistoryBuilder:
        event = {"type": "ok", "process": process, "f": self._f[process], **extra}
        if value is not _MISSING:
            event["value"] = value
        return self._add(event)

    def fail(self, process: int, error: str = "ERROR: failed", **extra) -> HistoryBuilder:
        return self._add({"type": "fail", "process": process, "f": self._f[process],
                          "error": error, **extra})

    def info(self, process: int, error: str = "timeout", **extra) -> HistoryBuilder:
        return self._add({"type": "info", "process": process, "f": self._f[process],
                          "error": error, **extra})

    def lines(self) -> list[str]:
        return [json.dumps(self.header)] + [json.dumps(e) for e in self.events]


def same_on_all(state: dict, nodes=(1, 2, 3)) -> dict:
    """A final-state document where every node holds ``state`` (key -> value).

    Each node gets its own copy, so a test can change one node's lists alone.
    """
    return {"nodes": {str(n): {str(k): copy.deepcopy(v) for k, v in state.items()}
                      for n in nodes}}


def per_node(states: dict) -> dict:
    """A final-state document from node -> (key -> value)."""
    return {"nodes": {str(n): {str(k): v for k, v in s.items()} for n, s in states.items()}}


class CheckerTestCase(unittest.TestCase):
    """Writes histories to a temporary directory and runs the checker on them."""

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="chaos-checker-test-")
        self.addCleanup(self._tmp.cleanup)
        self.dir = self._tmp.name
        self._n = 0

    def write(self, history, final) -> tuple[str, str]:
        """Write a builder (or a list of raw lines) and a final-state document to files."""
        self._n += 1
        hpath = os.path.join(self.dir, f"history{self._n}.jsonl")
        fpath = os.path.join(self.dir, f"final{self._n}.json")
        lines = history.lines() if isinstance(history, HistoryBuilder) else history
        with open(hpath, "w", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in lines))
        with open(fpath, "w", encoding="utf-8") as f:
            f.write(final if isinstance(final, str) else json.dumps(final))
        return hpath, fpath

    def run_check(self, history, final, **kwargs):
        return check(*self.write(history, final), **kwargs)

    def assertPass(self, history, final, **kwargs):
        result = self.run_check(history, final, **kwargs)
        self.assertTrue(result.ok, result.render())
        return result

    def assertViolation(self, rule, history, final, **kwargs):
        result = self.run_check(history, final, **kwargs)
        self.assertFalse(result.ok, "expected a violation")
        self.assertEqual(result.status, "FAIL", result.render())
        if isinstance(rule, str):
            self.assertEqual(result.rule, rule, result.render())
        else:
            self.assertIn(result.rule, rule, result.render())
        self.assertTrue(result.excerpt, "a violation comes with an excerpt")
        return result
