"""How a client error becomes an outcome in the history: ``fail`` or ``info``.

The rule (README, "Using it", the SQLSTATE table; chaos/checker/README.md, "Outcomes"):
``fail`` is a promise that the operation did not take effect, ``info`` says nothing.  A
wrong ``fail`` makes the checker report a product bug that is not one (or hide one), a
wrong ``info`` only weakens the check, so anything not known to be a refusal is ``info``.

For raft_submit:

* the statement's own error (raised with the context line "applied as Raft log entry N")
  was applied and rolled back on every node: no effect, ``fail``;
* refused before anything was appended: 42601 syntax, 25001 transaction block,
  0A000 not supported, 22004/22023/54000 NULL/empty/too large, 42501 no grant,
  57014 timed out before the append (README: "nothing was appended"): ``fail``;
* 40003 (appended, outcome unknown): ``info``;
* no session could be opened (nothing sent): ``fail``;
* the connection broke or the client's deadline passed after the query was sent, a FATAL
  error (the server or backend went away mid-query), anything else: ``info``.

A read has no effect whatever happens, so any error makes it a ``fail`` (the checkers
ignore failed reads).
"""

from __future__ import annotations

from .pgwire import ConnectFailed, ConnectionLost, PgError

# Refused before append, per README's table.  57014 is there too: raft_submit raises it only
# while nothing was appended (a cancel after the append is turned into 40003 by the server).
REFUSED_BEFORE_APPEND = {"42601", "25001", "0A000", "22004", "22023", "54000", "42501", "57014"}
UNKNOWN = "40003"
APPLIED_CONTEXT = "applied as Raft log entry"


def describe(exc: BaseException) -> str:
    """A short one-line description for the history's ``error`` field."""
    if isinstance(exc, PgError):
        text = f"{exc.code} {exc.message}"
    elif isinstance(exc, ConnectionLost):
        text = ("timeout: " if exc.timed_out else "connection lost: ") + str(exc)
    elif isinstance(exc, ConnectFailed):
        text = "not connected: " + str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())[:300]


def classify_write(exc: BaseException) -> str:
    """Outcome of a raft_submit (append, write, cas, transfer) that raised ``exc``."""
    if isinstance(exc, ConnectFailed):
        return "fail"
    if isinstance(exc, PgError):
        if exc.severity in ("FATAL", "PANIC"):
            return "info"
        if APPLIED_CONTEXT in exc.context:
            return "fail"
        if exc.code == UNKNOWN:
            return "info"
        if exc.code in REFUSED_BEFORE_APPEND:
            return "fail"
        return "info"
    return "info"


def classify_read(exc: BaseException) -> str:
    """Outcome of a read (with or without raft_barrier) that raised ``exc``."""
    return "fail"
