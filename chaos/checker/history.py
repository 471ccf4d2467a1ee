"""Reading and validating the checkers' two inputs: the history and the final state.

The history is a JSON Lines file: a header line, then one invoke or completion event per
line, in the order the events happened.  This module pairs every invocation with its
completion into an :class:`Op` and rejects anything that does not follow the contract
(see README.md) with :class:`MalformedInput`, which names the file and the line.  The
checkers themselves can then assume well-typed operations and concentrate on consistency.

Line numbers double as the real-time order: the file is written in the order events
happened and times must not go backwards, so "A completed before B was invoked" is
exactly "A's completion line comes before B's invoke line", which also settles ties
between equal timestamps.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

WORKLOADS = {
    "list-append": ("append", "read"),
    "register": ("write", "cas", "read"),
    "bank": ("transfer", "read_all"),
}
KEYED_FUNCTIONS = {"append", "read", "write", "cas"}
COMPLETION_TYPES = ("ok", "fail", "info")

_INT_STRING = re.compile(r"-?(0|[1-9][0-9]*)")


class MalformedInput(ValueError):
    """The input does not follow the file contract; it is not a consistency verdict."""

    def __init__(self, path: str, line: int | None, what: str):
        self.path = str(path)
        self.line = line
        self.what = what
        where = f"{self.path} line {line}" if line is not None else self.path
        super().__init__(f"{where}: {what}")


@dataclass(eq=False)
class Op:
    """One client operation: its invocation and, if one was recorded, its completion.

    ``outcome`` is ``"ok"``, ``"fail"``, ``"info"`` or ``None`` when the history ended
    before the operation completed; :attr:`status` folds ``None`` into ``"info"``, since
    an operation nobody heard back from is just as indeterminate as a timeout.
    """

    index: int  # position among all operations, in invocation order
    process: int
    f: str
    key: int | None
    value: Any  # the request: appended/written value, [expected, new], transfer map
    node: int
    barrier: bool
    invoke_line: int
    invoke_time: float
    invoke_raw: str
    outcome: str | None = None
    complete_line: int | None = None
    complete_raw: str | None = None
    result: Any = None  # what an ok read returned
    error: str | None = None
    cas_failed: bool = False

    @property
    def status(self) -> str:
        return self.outcome or "info"

    @property
    def acked(self) -> bool:
        return self.outcome == "ok"

    def __repr__(self) -> str:  # compact, for test failure messages
        return (f"Op({self.f} key={self.key} value={self.value!r} -> {self.status}"
                f" lines {self.invoke_line}-{self.complete_line})")


@dataclass
class History:
    path: str
    header: dict
    workload: str
    nodes: list[int]
    ops: list[Op]
    last_line: int  # the last line number of the file, for synthetic "after the end" events

    def counts(self) -> dict[str, int]:
        counts = {"ops": len(self.ops), "ok": 0, "fail": 0, "info": 0}
        for op in self.ops:
            counts[op.status] += 1
        return counts


@dataclass
class FinalState:
    """What each node held once the run was over: node id -> key -> value."""

    path: str
    nodes: dict[int, dict[int, Any]] = field(default_factory=dict)


def is_int(x: Any) -> bool:
    # JSON true/false load as bool, a subclass of int; they are never a valid integer here.
    return isinstance(x, int) and not isinstance(x, bool)


def _is_time(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN and Infinity, which are not JSON and would poison time order.
    raise ValueError(f"{name} is not valid JSON")


def _int_key(text: str) -> int | None:
    return int(text) if _INT_STRING.fullmatch(text) else None


def _describe(x: Any) -> str:
    text = json.dumps(x)
    return text if len(text) <= 60 else text[:57] + "..."


class _Reader:
    """Validates one history file event by event, keeping the per-process bookkeeping."""

    def __init__(self, path: str):
        self.path = str(path)
        self.header: dict | None = None
        self.workload = ""
        self.nodes: list[int] = []
        self.ops: list[Op] = []
        self.outstanding: dict[int, Op] = {}
        self.retired: dict[int, Op] = {}  # process -> the op that ended in info
        self.append_values: dict[int, Op] = {}
        self.last_time = -math.inf
        self.line = 0

    def fail(self, what: str) -> MalformedInput:
        return MalformedInput(self.path, self.line, what)

    def read(self) -> History:
        try:
            with open(self.path, encoding="utf-8") as f:
                for self.line, raw in enumerate(f, 1):
                    raw = raw.rstrip("\r\n")
                    if not raw.strip():
                        continue  # a trailing newline or blank line carries no event
                    try:
                        obj = json.loads(raw, parse_constant=_reject_constant)
                    except ValueError as e:
                        raise self.fail(f"not valid JSON ({e})") from None
                    if not isinstance(obj, dict):
                        raise self.fail("expected a JSON object")
                    if self.header is None:
                        self.read_header(obj)
                    else:
                        self.read_event(obj, raw)
        except UnicodeDecodeError as e:
            raise MalformedInput(self.path, self.line + 1, f"not UTF-8 ({e.reason})") from None
        if self.header is None:
            raise MalformedInput(self.path, None, "empty file: the header line is missing")
        return History(self.path, self.header, self.workload, self.nodes, self.ops, self.line)

    def read_header(self, obj: dict) -> None:
        if obj.get("type") != "header":
            raise self.fail('the first line must be the header ({"type":"header",...})')
        workload = obj.get("workload")
        if workload not in WORKLOADS:
            raise self.fail(f"unknown workload {_describe(workload)}; expected one of "
                            + ", ".join(WORKLOADS))
        nodes = obj.get("nodes")
        if (not isinstance(nodes, list) or not nodes or not all(is_int(n) for n in nodes)
                or len(set(nodes)) != len(nodes)):
            raise self.fail('header "nodes" must be a non-empty list of distinct integers')
        if workload == "bank":
            if not is_int(obj.get("accounts")) or obj["accounts"] < 1:
                raise self.fail('bank header needs "accounts", a positive integer')
            if not is_int(obj.get("total")):
                raise self.fail('bank header needs "total", an integer')
            if not isinstance(obj.get("allow_negative", False), bool):
                raise self.fail('header "allow_negative" must be true or false')
        self.header, self.workload, self.nodes = obj, workload, nodes

    def read_event(self, ev: dict, raw: str) -> None:
        kind = ev.get("type")
        if kind not in ("invoke",) + COMPLETION_TYPES:
            raise self.fail(f'"type" must be invoke, ok, fail or info, not {_describe(kind)}')
        process = ev.get("process")
        if not is_int(process):
            raise self.fail('"process" must be an integer')
        time = ev.get("time")
        if not _is_time(time):
            raise self.fail('"time" must be a finite number')
        if time < self.last_time:
            raise self.fail(f"time {time} goes backwards (previous event: {self.last_time})")
        self.last_time = time
        f = ev.get("f")
        if f not in WORKLOADS[self.workload]:
            raise self.fail(f'"f" {_describe(f)} is not an operation of the {self.workload} '
                            "workload (" + ", ".join(WORKLOADS[self.workload]) + ")")
        if kind == "invoke":
            self.read_invoke(ev, raw, process, f, time)
        else:
            self.read_completion(ev, raw, kind, process, f)

    def read_invoke(self, ev: dict, raw: str, process: int, f: str, time: float) -> None:
        if process in self.outstanding:
            prior = self.outstanding[process]
            raise self.fail(f"process {process} invokes while its {prior.f} invoked on line "
                            f"{prior.invoke_line} is still outstanding")
        if process in self.retired:
            raise self.fail(f"process {process} invokes again after its {self.retired[process].f}"
                            f" ended in info on line {self.retired[process].complete_line}")
        node = ev.get("node")
        if not is_int(node) or node not in self.nodes:
            raise self.fail(f'"node" must be one of the header\'s nodes {self.nodes}, '
                            f"not {_describe(node)}")
        key = ev.get("key")
        if f in KEYED_FUNCTIONS:
            if not is_int(key):
                raise self.fail(f'{f} needs an integer "key"')
        else:
            key = None
        barrier = ev.get("barrier", False)
        if f == "read" and self.workload == "list-append" and "barrier" not in ev:
            raise self.fail('a list-append read must say "barrier": true or false')
        if not isinstance(barrier, bool):
            raise self.fail('"barrier" must be true or false')
        value = self.check_request(ev, f)
        op = Op(index=len(self.ops), process=process, f=f, key=key, value=value, node=node,
                barrier=barrier, invoke_line=self.line, invoke_time=time, invoke_raw=raw)
        if f == "append":
            if value in self.append_values:
                raise self.fail(f"append value {value} was already appended on line "
                                f"{self.append_values[value].invoke_line}; values must be "
                                "unique across the run")
            self.append_values[value] = op
        self.ops.append(op)
        self.outstanding[process] = op

    def check_request(self, ev: dict, f: str) -> Any:
        value = ev.get("value")
        if f in ("append", "write"):
            if not is_int(value):
                raise self.fail(f'{f} needs an integer "value"')
        elif f == "cas":
            if (not isinstance(value, list) or len(value) != 2
                    or not (value[0] is None or is_int(value[0])) or not is_int(value[1])):
                raise self.fail('cas needs "value": [expected, new] (expected an integer or '
                                "null, new an integer)")
            value = (value[0], value[1])
        elif f == "transfer":
            accounts = self.header["accounts"]
            if not isinstance(value, dict) or not all(is_int(value.get(k))
                                                      for k in ("from", "to", "amount")):
                raise self.fail('transfer needs "value": {"from": a, "to": b, "amount": x} '
                                "with integers")
            for k in ("from", "to"):
                if not 0 <= value[k] < accounts:
                    raise self.fail(f'transfer "{k}" {value[k]} is not an account '
                                    f"(0..{accounts - 1})")
        else:
            value = None  # reads carry no request value
        return value

    def read_completion(self, ev: dict, raw: str, kind: str, process: int, f: str) -> None:
        op = self.outstanding.pop(process, None)
        if op is None:
            raise self.fail(f"{kind} for process {process}, which has no outstanding invoke")
        if f != op.f:
            raise self.fail(f'completion "f" {f} does not match the {op.f} invoked on line '
                            f"{op.invoke_line}")
        if "key" in ev and ev["key"] != op.key and op.key is not None:
            raise self.fail(f"completion key {_describe(ev['key'])} does not match key {op.key} "
                            f"invoked on line {op.invoke_line}")
        cas_failed = ev.get("cas_failed", False)
        if not isinstance(cas_failed, bool):
            raise self.fail('"cas_failed" must be true or false')
        if cas_failed and (kind != "fail" or f != "cas"):
            raise self.fail('"cas_failed": true belongs only on a fail of a cas')
        if kind in ("fail", "info"):
            if not isinstance(ev.get("error"), str):
                raise self.fail(f'a {kind} completion needs an "error" string')
            op.error = ev["error"]
        elif f in ("read", "read_all"):
            if "value" not in ev:
                raise self.fail(f'an ok {f} needs the result in "value"')
            op.result = self.check_result(ev["value"], f)
        op.outcome, op.complete_line, op.complete_raw = kind, self.line, raw
        op.cas_failed = cas_failed
        if kind == "info":
            self.retired[process] = op

    def check_result(self, value: Any, f: str) -> Any:
        if f == "read_all":
            if not isinstance(value, dict):
                raise self.fail('an ok read_all returns {"account": balance, ...}')
            balances = {}
            for k, v in value.items():
                account = _int_key(k)
                if account is None or not is_int(v):
                    raise self.fail(f"read_all entry {_describe(k)}: {_describe(v)} is not "
                                    "integer account: integer balance")
                balances[account] = v
            return balances
        if self.workload == "list-append":
            if not isinstance(value, list) or not all(is_int(x) for x in value):
                raise self.fail("an ok list-append read returns a list of integers")
            return value
        if not (value is None or is_int(value)):
            raise self.fail("an ok register read returns an integer or null")
        return value


def load_history(path: str) -> History:
    """Parse and validate a history file; raise :class:`MalformedInput` on any breach."""
    return _Reader(path).read()


def load_final(path: str, history: History) -> FinalState:
    """Parse and validate the final-state file against the history's header."""
    path = str(path)
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f, parse_constant=_reject_constant)
    except UnicodeDecodeError as e:
        raise MalformedInput(path, None, f"not UTF-8 ({e.reason})") from None
    except json.JSONDecodeError as e:
        raise MalformedInput(path, e.lineno, f"not valid JSON ({e.msg})") from None
    except ValueError as e:
        raise MalformedInput(path, None, f"not valid JSON ({e})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("nodes"), dict):
        raise MalformedInput(path, None, 'expected {"nodes": {"<node>": {...}, ...}}')
    wanted = {str(n) for n in history.nodes}
    if set(doc["nodes"]) != wanted:
        raise MalformedInput(path, None, f"final state has nodes {sorted(doc['nodes'])}, the "
                             f"history header has {sorted(wanted)}; every node needs one")
    final = FinalState(path)
    for name, state in doc["nodes"].items():
        if not isinstance(state, dict):
            raise MalformedInput(path, None, f"node {name}: expected an object key -> value")
        values = {}
        for k, v in state.items():
            key = _int_key(k)
            where = f'node {name} key "{k}"'
            if key is None:
                raise MalformedInput(path, None, f"{where}: keys must be integers")
            if history.workload == "list-append":
                if not isinstance(v, list) or not all(is_int(x) for x in v):
                    raise MalformedInput(path, None, f"{where}: expected a list of integers")
            elif history.workload == "register":
                if not (v is None or is_int(v)):
                    raise MalformedInput(path, None, f"{where}: expected an integer or null")
            elif not is_int(v):
                raise MalformedInput(path, None, f"{where}: expected an integer balance")
            values[key] = v
        final.nodes[int(name)] = values
    return final
