"""CHAOS_COMPACT's parsing and the snapshot count read from the server logs."""

import os
import tempfile
import unittest

from chaos.runner import COMPACT_HOLD, COMPACT_KEEP, parse_compact, snapshot_report


class CompactTest(unittest.TestCase):
    def test_off_by_default(self):
        self.assertIsNone(parse_compact(""))
        self.assertIsNone(parse_compact("0"))
        self.assertIsNone(parse_compact(None))

    def test_one_and_explicit_values(self):
        self.assertEqual(parse_compact("1"), (COMPACT_KEEP, COMPACT_HOLD))
        self.assertEqual(parse_compact("300:600"), (300, 600))
        self.assertEqual(parse_compact("300:0"), (300, 0))

    def test_bad_values(self):
        for v in ("yes", "300", "0:10", "-1:10", "a:b", "1:2:3"):
            with self.assertRaises(ValueError, msg=v):
                parse_compact(v)

    def test_snapshot_report(self):
        lines = [
            "LOG:  raft_ext: node 2 installs a snapshot of its leader (it needs log entry 439 or later)",
            "WARNING:  raft_ext: node 2 needs a snapshot: its leader, node 1, no longer holds the log entries",
            "WARNING:  raft_ext: node 2 did not install a snapshot: raft_ext: no leader is known",
            "LOG:  raft_ext: node 2 installed a snapshot of node 1 at log entry 493 (term 1): 3 tables",
            "LOG:  something else",
        ]
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "server.log")
            with open(path, "w") as f:
                f.write("\n".join(lines) + "\n")
            rep = snapshot_report([path, os.path.join(d, "missing.log")])
        self.assertEqual(len(rep["installed"]), 1)
        self.assertEqual(len(rep["failed"]), 1)
        self.assertEqual(rep["needed"], 1)
        self.assertEqual(rep["started"], 1)


if __name__ == "__main__":
    unittest.main()
