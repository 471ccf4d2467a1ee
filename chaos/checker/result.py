"""The verdict of a check, and the history excerpt that backs a violation.

Every checker returns a :class:`Result`.  A violation names a rule, says in one line what
went wrong, and quotes the history lines involved (verbatim, with their line numbers) so
that whoever reads the report can find them in the file without re-running anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .history import Op

PASS, FAIL, UNKNOWN = "PASS", "FAIL", "UNKNOWN"

# A report is read by a person: past a screenful the excerpt stops helping.
EXCERPT_LIMIT = 30
# Reads of long lists make long lines; the start of the line is what identifies the event.
LINE_LIMIT = 400


@dataclass
class Result:
    status: str  # PASS, FAIL or UNKNOWN
    workload: str
    counts: dict[str, int]
    rule: str | None = None
    message: str = ""
    excerpt: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True only for PASS: an undecided search is not a pass."""
        return self.status == PASS

    @property
    def exit_code(self) -> int:
        return {PASS: 0, FAIL: 1, UNKNOWN: 3}[self.status]

    def summary(self) -> str:
        if self.status == PASS:
            c = self.counts
            return (f"check: PASS workload={self.workload} ops={c['ops']} ok={c['ok']} "
                    f"fail={c['fail']} info={c['info']}")
        return f"check: {self.status} {self.rule}: {self.message}"

    def render(self) -> str:
        return "\n".join([self.summary()] + [f"  {line}" for line in self.excerpt])


def passed(workload: str, counts: dict[str, int]) -> Result:
    return Result(PASS, workload, counts)


class Excerpt:
    """Collects the history lines and final-state entries that show a violation."""

    def __init__(self) -> None:
        self._lines: dict[int, str] = {}
        self._final: list[str] = []

    def op(self, op: Op, upto: float = float("inf")) -> Excerpt:
        """Quote an op's invoke line and, if it is not after ``upto``, its completion."""
        self._lines[op.invoke_line] = op.invoke_raw
        if op.complete_line is not None and op.complete_line <= upto:
            self._lines[op.complete_line] = op.complete_raw
        return self

    def ops(self, ops: list[Op]) -> Excerpt:
        for op in ops:
            self.op(op)
        return self

    def final(self, node: int | str, key: Any, value: Any) -> Excerpt:
        self._final.append(f"final node {node} key {key}: {short(value, 40)}")
        return self

    def note(self, text: str) -> Excerpt:
        self._final.append(text)
        return self

    def lines(self) -> list[str]:
        out = []
        for number in sorted(self._lines):
            raw = self._lines[number]
            if len(raw) > LINE_LIMIT:
                raw = raw[:LINE_LIMIT] + f" ...({len(raw) - LINE_LIMIT} more characters)"
            out.append(f"line {number}: {raw}")
        out += self._final
        if len(out) > EXCERPT_LIMIT:
            out = out[:EXCERPT_LIMIT - 1] + [f"... ({len(out) - EXCERPT_LIMIT + 1} more lines)"]
        return out


def violation(workload: str, counts: dict[str, int], rule: str, message: str,
              excerpt: Excerpt) -> Result:
    return Result(FAIL, workload, counts, rule, " ".join(message.split()), excerpt.lines())


def short(value: Any, limit: int = 12) -> str:
    """A list as [a, b, ..., y, z] when it is long, so a message stays on one line."""
    if isinstance(value, list) and len(value) > limit:
        half = limit // 2
        return ("[" + ", ".join(map(str, value[:half])) + f", ...{len(value) - 2 * half} more..., "
                + ", ".join(map(str, value[-half:])) + "]")
    if value is None:
        return "null"
    return str(value)
