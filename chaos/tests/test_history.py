"""The history writer produces what the checker accepts, in time order."""

import json
import os
import random
import tempfile
import threading
import unittest

from chaos.checker import check
from chaos.history import HistoryWriter
from chaos.workloads import WORKLOADS, parse_int_array


class FakeClock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        self.t += 0.001
        return self.t


class HistoryWriterTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.path = os.path.join(self.dir, "h.jsonl")

    def lines(self):
        with open(self.path) as f:
            return [json.loads(x) for x in f]

    def test_format(self):
        w = HistoryWriter(self.path, {"workload": "list-append", "nodes": [1, 2, 3]}, 100.0, FakeClock())
        w.invoke(0, "append", 2, key=1, value=5)
        w.complete("ok", 0, "append")
        w.invoke(0, "read", 3, key=1, barrier=True)
        w.complete("ok", 0, "read", value=[5])
        w.close()
        lines = self.lines()
        self.assertEqual(lines[0], {"type": "header", "workload": "list-append", "nodes": [1, 2, 3]})
        self.assertEqual(lines[1]["type"], "invoke")
        self.assertEqual((lines[1]["key"], lines[1]["value"], lines[1]["node"]), (1, 5, 2))
        self.assertEqual(lines[4]["value"], [5])
        times = [x["time"] for x in lines[1:]]
        self.assertEqual(times, sorted(times))
        self.assertGreater(times[0], 0)
        final = os.path.join(self.dir, "f.json")
        with open(final, "w") as f:
            json.dump({"nodes": {"1": {"1": [5]}, "2": {"1": [5]}, "3": {"1": [5]}}}, f)
        self.assertEqual(check(self.path, final).status, "PASS")

    def test_one_outstanding_operation_per_process(self):
        w = HistoryWriter(self.path, {"workload": "register", "nodes": [1]}, 0.0, FakeClock())
        w.invoke(1, "read", 1, key=0)
        with self.assertRaises(ValueError):
            w.invoke(1, "read", 1, key=0)
        with self.assertRaises(ValueError):
            w.complete("ok", 2, "read")
        with self.assertRaises(ValueError):
            w.complete("maybe", 1, "read")
        w.close()

    def test_time_never_goes_back(self):
        ticks = iter([5.0, 4.0, 6.0, 3.0, 7.0])
        w = HistoryWriter(self.path, {"workload": "register", "nodes": [1]}, 0.0, lambda: next(ticks))
        w.invoke(1, "write", 1, key=0, value=1)
        w.complete("ok", 1, "write")
        w.invoke(1, "write", 1, key=0, value=2)
        w.complete("info", 1, "write", error="timeout")
        w.close()
        times = [x["time"] for x in self.lines()[1:]]
        self.assertEqual(times, [5.0, 5.0, 6.0, 6.0])

    def test_threads_write_a_valid_history(self):
        """Many threads, a simulated correct register: the checker must accept it."""
        w = HistoryWriter(self.path, {"workload": "register", "nodes": [1, 2]}, 0.0)
        lock = threading.Lock()
        state = {}

        def worker(p):
            rng = random.Random(p)
            for _ in range(50):
                k = rng.randrange(2)
                if rng.random() < 0.5:
                    v = rng.randrange(5)
                    w.invoke(p, "write", 1, key=k, value=v)
                    with lock:
                        state[k] = v
                    w.complete("ok", p, "write")
                else:
                    w.invoke(p, "read", 2, key=k)
                    with lock:
                        v = state.get(k)
                    w.complete("ok", p, "read", value=v)

        threads = [threading.Thread(target=worker, args=(p,)) for p in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        w.close()
        final = os.path.join(self.dir, "f.json")
        with open(final, "w") as f:
            nodes = {str(k): v for k, v in state.items()}
            json.dump({"nodes": {"1": nodes, "2": nodes}}, f)
        r = check(self.path, final)
        self.assertEqual(r.status, "PASS", r.render())
        self.assertEqual(r.counts["ops"], 300)


class WorkloadTest(unittest.TestCase):
    def test_ops_are_deterministic_and_well_formed(self):
        for w in WORKLOADS.values():
            a = [w.next_op(random.Random(9), i, i + 1) for i in range(300)]
            b = [w.next_op(random.Random(9), i, i + 1) for i in range(300)]
            self.assertEqual(a, b)
            for op in a:
                self.assertIn(op.f, {"append", "read", "write", "cas", "transfer", "read_all"})

    def test_register_keys_rotate(self):
        w = WORKLOADS["register"]
        rng = random.Random(1)
        keys = [w.next_op(rng, i, i + 1)["key"] for i in range(600)]
        self.assertEqual(set(keys[:150]), {0, 1, 2})
        self.assertEqual(set(keys[150:300]), {3, 4, 5})

    def test_bank_header_and_transfers(self):
        w = WORKLOADS["bank"]
        self.assertEqual(w.header([1, 2, 3])["total"], w.accounts * w.initial)
        rng = random.Random(2)
        for i in range(200):
            op = w.next_op(rng, i, i + 1)
            if op.f == "transfer":
                self.assertNotEqual(op["value"]["from"], op["value"]["to"])
                self.assertGreater(op["value"]["amount"], 0)

    def test_parse_int_array(self):
        self.assertEqual(parse_int_array(None), [])
        self.assertEqual(parse_int_array("{}"), [])
        self.assertEqual(parse_int_array("{3,-1,20}"), [3, -1, 20])


if __name__ == "__main__":
    unittest.main()
