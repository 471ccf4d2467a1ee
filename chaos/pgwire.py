"""A minimal PostgreSQL client (protocol 3.0, simple query, trust authentication).

Why not psycopg2: the suite must know exactly *when* a request left the client, to tell
"refused before anything was sent" (fail) from "sent, then the connection died or the
deadline passed" (info), and it needs a hard client-side deadline on every read, because a
SIGSTOPped or partitioned server never answers and never times out by itself.  The wire
protocol makes that explicit in ~200 lines of the standard library, works with whatever
python3 runs the suite (Debian's python3-psycopg2 is only importable from /usr/bin/python3),
and never opens an implicit transaction (raft_submit refuses to run inside one).

Values come back as text (or None for NULL); the caller parses them.
"""

from __future__ import annotations

import socket
import struct
import time


class ConnectFailed(Exception):
    """No query was sent: the server could not be reached or refused the session."""


class ConnectionLost(Exception):
    """A query was sent and no complete answer came: the connection broke or the client's
    deadline passed.  Whatever the query asked for may or may not have happened."""

    def __init__(self, message: str, timed_out: bool = False):
        super().__init__(message)
        self.timed_out = timed_out


class PgError(Exception):
    """An ErrorResponse: ``fields`` maps the protocol's one-letter codes to strings
    (C = SQLSTATE, M = message, D = detail, H = hint, W = context, V = severity)."""

    def __init__(self, fields: dict[str, str]):
        self.fields = fields
        super().__init__(f"{self.code} {self.message}")

    @property
    def code(self) -> str:
        return self.fields.get("C", "")

    @property
    def message(self) -> str:
        return self.fields.get("M", "")

    @property
    def context(self) -> str:
        return self.fields.get("W", "")

    @property
    def severity(self) -> str:
        return self.fields.get("V") or self.fields.get("S", "")


class Connection:
    """One session.  ``host`` is an IP address, or a directory holding the server's Unix
    socket (as libpq's host= does when it starts with '/').  ``settings`` are sent in the
    startup packet (e.g. statement_timeout), so they hold from the first query on."""

    def __init__(self, host: str, port: int = 5432, user: str = "postgres",
                 database: str = "postgres", connect_timeout: float = 3.0,
                 settings: dict[str, str] | None = None, application_name: str = "chaos"):
        self.closed = True
        deadline = time.monotonic() + connect_timeout
        try:
            if host.startswith("/"):
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                target: object = f"{host}/.s.PGSQL.{port}"
            else:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                target = (host, port)
            sock.settimeout(connect_timeout)
            sock.connect(target)
        except OSError as e:
            raise ConnectFailed(f"connect to {host}:{port}: {e}") from None
        self.sock = sock
        self._buf = b""
        params = {"user": user, "database": database, "application_name": application_name,
                  "client_encoding": "UTF8"}
        params.update(settings or {})
        body = struct.pack("!I", 196608)
        for k, v in params.items():
            body += k.encode() + b"\0" + str(v).encode() + b"\0"
        body += b"\0"
        try:
            sock.sendall(struct.pack("!I", len(body) + 4) + body)
            while True:
                kind, payload = self._read_message(deadline)
                if kind == b"R":
                    (code,) = struct.unpack("!I", payload[:4])
                    if code != 0:
                        raise ConnectFailed(f"server asks for authentication method {code}; "
                                            "the suite's clusters use trust")
                elif kind == b"E":
                    # e.g. 57P03 "the database system is starting up": no query was sent
                    err = PgError(_fields(payload))
                    raise ConnectFailed(f"{err.code} {err.message}")
                elif kind == b"Z":
                    break
                # S (parameter status), K (backend key), N (notice): nothing to keep
        except ConnectionLost as e:
            sock.close()
            raise ConnectFailed(f"session start on {host}:{port}: {e}") from None
        except ConnectFailed:
            sock.close()
            raise
        self.closed = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            try:
                self.sock.sendall(b"X\0\0\0\4")
            except OSError:
                pass
        try:
            self.sock.close()
        except OSError:
            pass

    def query(self, sql: str, timeout: float) -> list[tuple]:
        """Run one simple query; return the rows of its (last) result set.

        Raises PgError for an ErrorResponse (after the server said it is ready again, so
        the session can go on; a FATAL one also closes it), ConnectionLost when the
        answer did not come whole within ``timeout`` seconds (the session is then closed:
        its state is unknown)."""
        if self.closed:
            raise ConnectionLost("the connection is closed")
        deadline = time.monotonic() + timeout
        data = sql.encode()
        try:
            self.sock.sendall(b"Q" + struct.pack("!I", len(data) + 5) + data + b"\0")
        except OSError as e:
            # Part of the query may have reached the server: that is not "nothing sent".
            self.close()
            raise ConnectionLost(f"send: {e}") from None
        rows: list[tuple] = []
        error: PgError | None = None
        try:
            while True:
                kind, payload = self._read_message(deadline)
                if kind == b"T":
                    rows = []
                elif kind == b"D":
                    rows.append(_data_row(payload))
                elif kind == b"E":
                    error = PgError(_fields(payload))
                    if error.severity in ("FATAL", "PANIC"):
                        self.close()
                        raise error
                elif kind == b"Z":
                    break
                # C (command complete), N (notice), S, A, I: nothing to keep
        except ConnectionLost:
            self.close()
            raise
        if error is not None:
            raise error
        return rows

    # -- framing

    def _read_message(self, deadline: float) -> tuple[bytes, bytes]:
        header = self._read_exact(5, deadline)
        (length,) = struct.unpack("!I", header[1:5])
        return header[:1], self._read_exact(length - 4, deadline)

    def _read_exact(self, n: int, deadline: float) -> bytes:
        while len(self._buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ConnectionLost("no answer before the client's deadline", timed_out=True)
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise ConnectionLost("no answer before the client's deadline",
                                     timed_out=True) from None
            except OSError as e:
                raise ConnectionLost(f"receive: {e}") from None
            if not chunk:
                raise ConnectionLost("the server closed the connection")
            self._buf += chunk
        out, self._buf = self._buf[:n], self._buf[n:]
        return out


def _fields(payload: bytes) -> dict[str, str]:
    out = {}
    for part in payload.split(b"\0"):
        if part:
            out[chr(part[0])] = part[1:].decode("utf-8", "replace")
    return out


def _data_row(payload: bytes) -> tuple:
    (n,) = struct.unpack("!H", payload[:2])
    pos = 2
    values = []
    for _ in range(n):
        (length,) = struct.unpack("!i", payload[pos:pos + 4])
        pos += 4
        if length < 0:
            values.append(None)
        else:
            values.append(payload[pos:pos + length].decode("utf-8", "replace"))
            pos += length
    return tuple(values)


def literal(text: str) -> str:
    """A SQL string literal (standard_conforming_strings is on since PostgreSQL 9.1)."""
    return "'" + text.replace("'", "''") + "'"
