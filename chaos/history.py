"""Writing a history file in the checker's format (chaos/checker/README.md, "Input format").

The checker takes line order as real-time order ("A completed before B was invoked" is A's
completion line before B's invoke line).  So the time of an event is read *under the same
lock* that appends its line: lines are then in time order, never out of it, whatever the
threads do.  An invoke is written before the request leaves the client and a completion
after the answer came, so the recorded interval always contains the real one.

Times are seconds since the run's origin ``t0`` on CLOCK_MONOTONIC (``time.monotonic()``),
which every process of the machine shares: the nemesis log, written by another process,
uses the same origin, so the plot can lay both on one axis.
"""

from __future__ import annotations

import json
import threading
import time


class HistoryWriter:
    """One history file; thread-safe.  Each line is flushed as it is written, so a crash
    of the client process loses no event that happened (open operations are read as
    ``info`` by the checker)."""

    def __init__(self, path: str, header: dict, t0: float, clock=time.monotonic):
        self.path = path
        self.t0 = t0
        self._clock = clock
        self._lock = threading.Lock()
        self._last = 0.0
        self._file = open(path, "w", encoding="utf-8")
        self._open: dict[int, str] = {}  # process -> f of its outstanding invoke
        self.counts = {"invoke": 0, "ok": 0, "fail": 0, "info": 0}
        self._write(dict({"type": "header"}, **header))

    def _write(self, event: dict) -> None:
        self._file.write(json.dumps(event, separators=(",", ":")) + "\n")
        self._file.flush()

    def _now(self) -> float:
        # never backwards, even if two events read the clock in the same microsecond
        t = round(max(self._clock() - self.t0, self._last), 6)
        self._last = t
        return t

    def invoke(self, process: int, f: str, node: int, **fields) -> float:
        with self._lock:
            if process in self._open:
                raise ValueError(f"process {process} already has an outstanding {self._open[process]}")
            t = self._now()
            self._open[process] = f
            self.counts["invoke"] += 1
            event = {"type": "invoke", "process": process, "time": t, "f": f}
            event.update(fields)
            event["node"] = node
            self._write(event)
            return t

    def complete(self, kind: str, process: int, f: str, **fields) -> float:
        if kind not in ("ok", "fail", "info"):
            raise ValueError(f"not a completion type: {kind}")
        with self._lock:
            if self._open.get(process) != f:
                raise ValueError(f"process {process} has no outstanding {f}")
            t = self._now()
            del self._open[process]
            self.counts[kind] += 1
            event = {"type": kind, "process": process, "time": t, "f": f}
            event.update(fields)
            self._write(event)
            return t

    def close(self) -> None:
        with self._lock:
            self._file.close()
