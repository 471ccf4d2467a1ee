"""SQLSTATEs and client errors become history outcomes per README's table."""

import unittest

from chaos import outcome
from chaos.pgwire import ConnectFailed, ConnectionLost, PgError


def err(code, message="m", context="", severity="ERROR"):
    return PgError({"C": code, "M": message, "W": context, "V": severity, "S": severity})


class ClassifyWriteTest(unittest.TestCase):
    def test_outcome_unknown_is_info(self):
        self.assertEqual(outcome.classify_write(err("40003", "raft_submit: the outcome of the statement is unknown")),
                         "info")

    def test_refused_before_append_is_fail(self):
        for code in ("42601", "25001", "0A000", "22004", "22023", "54000", "42501"):
            self.assertEqual(outcome.classify_write(err(code)), "fail", code)

    def test_timeout_before_append_is_fail(self):
        e = err("57014", "raft_submit: timed out before the statement could be appended to the Raft log")
        self.assertEqual(outcome.classify_write(e), "fail")

    def test_statement_own_error_is_fail(self):
        e = err("23505", "duplicate key", context="applied as Raft log entry 17 (term 3)")
        self.assertEqual(outcome.classify_write(e), "fail")
        # even a code that would otherwise be unknown, once it is the applied entry's outcome
        self.assertEqual(outcome.classify_write(err("XX000", context="applied as Raft log entry 9 (term 2)")),
                         "fail")

    def test_anything_else_is_info(self):
        for code in ("XX000", "53100", "08006", "57P01", "40001", ""):
            self.assertEqual(outcome.classify_write(err(code)), "info", code)

    def test_fatal_is_info_even_with_a_refusal_code(self):
        self.assertEqual(outcome.classify_write(err("57014", severity="FATAL")), "info")
        self.assertEqual(outcome.classify_write(err("57P01", "terminating connection", severity="FATAL")), "info")

    def test_connection_errors(self):
        self.assertEqual(outcome.classify_write(ConnectFailed("refused")), "fail")  # nothing was sent
        self.assertEqual(outcome.classify_write(ConnectionLost("eof")), "info")
        self.assertEqual(outcome.classify_write(ConnectionLost("deadline", timed_out=True)), "info")
        self.assertEqual(outcome.classify_write(ValueError("odd")), "info")

    def test_reads_always_fail(self):
        for e in (err("40003"), err("57014"), ConnectionLost("x"), ConnectFailed("y")):
            self.assertEqual(outcome.classify_read(e), "fail")

    def test_describe_is_one_short_line(self):
        d = outcome.describe(err("40003", "raft_submit: the outcome\nis unknown " + "x" * 500))
        self.assertTrue(d.startswith("40003 raft_submit: the outcome is unknown"))
        self.assertNotIn("\n", d)
        self.assertLessEqual(len(d), 300)
        self.assertTrue(outcome.describe(ConnectionLost("t", timed_out=True)).startswith("timeout"))


if __name__ == "__main__":
    unittest.main()
