"""``python3 -m chaos.checker``: output lines and exit status, run as the suite will run it."""

import os
import subprocess
import sys

from chaos.checker.tests.support import CheckerTestCase, HistoryBuilder, same_on_all
from chaos.checker.tests.test_register import concurrent_history

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


class CommandLine(CheckerTestCase):
    def cli(self, *args):
        done = subprocess.run([sys.executable, "-m", "chaos.checker", *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
        return done.returncode, done.stdout.splitlines()

    def test_pass(self):
        h = HistoryBuilder("list-append").invoke(1, "append", key=1, value=5).ok(1)
        code, out = self.cli(*self.write(h, same_on_all({1: [5]})))
        self.assertEqual((code, out),
                         (0, ["check: PASS workload=list-append ops=1 ok=1 fail=0 info=0"]))

    def test_violation(self):
        h = HistoryBuilder("list-append").invoke(1, "append", key=1, value=5).ok(1)
        code, out = self.cli(*self.write(h, same_on_all({})))
        self.assertEqual(code, 1)
        self.assertTrue(out[0].startswith("check: FAIL lost-append: "), out)
        self.assertEqual([line.split(":")[0] for line in out[1:]],
                         ["  line 2", "  line 3", "  final node 1 key 1"])

    def test_malformed(self):
        code, out = self.cli(*self.write(['{"type":"header","workload":"list-append",'
                                          '"nodes":[1]}', '{"type":"ok"}'], {"nodes": {}}))
        self.assertEqual(code, 2)
        self.assertEqual(len(out), 1)
        self.assertRegex(out[0], r"^check: MALFORMED .*history\d+\.jsonl line 2: ")

    def test_missing_file(self):
        code, out = self.cli(os.path.join(self.dir, "nope.jsonl"), "nope.json")
        self.assertEqual(code, 2)
        self.assertIn("cannot read", out[0])

    def test_unknown(self):
        paths = self.write(concurrent_history(), same_on_all({1: 0}))
        code, out = self.cli(*paths, "--max-states", "1000")
        self.assertEqual(code, 3)
        self.assertTrue(out[0].startswith("check: UNKNOWN search-too-large: "), out)

    def test_bad_max_states(self):
        h = HistoryBuilder("register")
        code, _ = self.cli(*self.write(h, same_on_all({})), "--max-states", "0")
        self.assertEqual(code, 2)
