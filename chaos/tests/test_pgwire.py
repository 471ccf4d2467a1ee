"""The wire client's framing helpers, and its two kinds of connection failure (no server)."""

import socket
import struct
import threading
import unittest

from chaos import pgwire


class HelpersTest(unittest.TestCase):
    def test_literal(self):
        self.assertEqual(pgwire.literal("it's"), "'it''s'")

    def test_fields(self):
        f = pgwire._fields(b"SERROR\0VERROR\0C40003\0Mraft_submit: unknown\0Wapplied as\0\0")
        e = pgwire.PgError(f)
        self.assertEqual((e.code, e.message, e.context, e.severity), ("40003", "raft_submit: unknown", "applied as",
                                                                      "ERROR"))

    def test_data_row(self):
        payload = struct.pack("!H", 3) + struct.pack("!i", 2) + b"17" + struct.pack("!i", -1) + struct.pack("!i", 0)
        self.assertEqual(pgwire._data_row(payload), ("17", None, ""))


class FailureTest(unittest.TestCase):
    def test_refused_is_connect_failed(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()  # nothing listens there now
        with self.assertRaises(pgwire.ConnectFailed):
            pgwire.Connection("127.0.0.1", port, connect_timeout=2)

    def test_silent_server_after_the_query_is_connection_lost(self):
        """A server that accepts the session, then never answers the query: the client's
        deadline ends it with ConnectionLost(timed_out=True), i.e. an unknown outcome."""
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        port = srv.getsockname()[1]

        def serve():
            c, _ = srv.accept()
            c.recv(4096)  # the startup packet
            c.sendall(b"R" + struct.pack("!II", 8, 0) + b"Z" + struct.pack("!I", 5) + b"I")
            c.recv(4096)  # the query: never answered
            threading.Event().wait(3)
            c.close()

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        conn = pgwire.Connection("127.0.0.1", port, connect_timeout=2)
        with self.assertRaises(pgwire.ConnectionLost) as cm:
            conn.query("SELECT 1", timeout=0.3)
        self.assertTrue(cm.exception.timed_out)
        self.assertTrue(conn.closed)
        srv.close()


if __name__ == "__main__":
    unittest.main()
