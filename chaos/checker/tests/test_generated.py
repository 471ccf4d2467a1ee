"""Property tests: random valid histories pass; each seeded mutation of them is caught.

The histories come from chaos/checker/tests/generate.py.  Every mutation is chosen so
that the result is certainly invalid (e.g. a swap only of two appends that were
real-time ordered), and the test asserts which rule reports it.
"""

import copy
import random
from collections import Counter

from chaos.checker.history import load_history
from chaos.checker.tests.generate import bank_history, list_append_history, register_history
from chaos.checker.tests.support import CheckerTestCase

SEEDS = range(20)
FRESH = 10**9  # a value no generator ever writes


class Generated(CheckerTestCase):
    def setUp(self):
        super().setUp()
        self.tried = Counter()

    def ops_of(self, builder):
        return load_history(self.write(builder, "{}")[0]).ops

    def mutant(self, name, rule, builder, final, edit):
        """Apply ``edit(builder_copy, final_copy)`` and expect ``rule`` to report it."""
        builder, final = copy.deepcopy(builder), copy.deepcopy(final)
        edit(builder, final)
        with self.subTest(mutation=name):
            self.assertViolation(rule, builder, final)
        self.tried[name] += 1

    def assertAllTried(self, names, at_least=5):
        for name in names:
            self.assertGreaterEqual(self.tried[name], at_least,
                                    f"mutation {name} was rarely applicable: {self.tried}")

    def test_register(self):
        for seed in SEEDS:
            with self.subTest(seed=seed):
                self.register_seed(seed)
        self.assertAllTried(["read-fresh", "final-fresh", "node-differs", "stale-read"])

    def register_seed(self, seed):
        h, final = register_history(seed)
        self.assertPass(h, final)
        rng = random.Random(seed)
        ops = self.ops_of(h)
        reads = [op for op in ops if op.f == "read" and op.acked]

        if reads:
            read = rng.choice(reads)

            def fresh_read(b, f):
                b.events[read.complete_line - 2]["value"] = FRESH
            self.mutant("read-fresh", "not-linearizable", h, final, fresh_read)

        key = str(rng.choice(sorted({op.key for op in ops})))

        def fresh_final(b, f):
            for node in f["nodes"].values():
                node[key] = FRESH
        self.mutant("final-fresh", "not-linearizable", h, final, fresh_final)

        def one_node_differs(b, f):
            f["nodes"]["2"][key] = FRESH
        self.mutant("node-differs", "final-divergence", h, final, one_node_differs)

        # A read returning u, where u's write was overwritten by another write that
        # completed before the read began.  Values are unique, so u cannot come back.
        writes = [op for op in ops if op.acked and op.f in ("write", "cas")]
        stale = [(r, w1) for r in reads for w1 in writes for w2 in writes
                 if r.key == w1.key == w2.key and w1.complete_line < w2.invoke_line
                 and w2.complete_line < r.invoke_line]
        if stale:
            read, w1 = rng.choice(stale)
            old = w1.value if w1.f == "write" else w1.value[1]

            def stale_read(b, f):
                b.events[read.complete_line - 2]["value"] = old
            self.mutant("stale-read", "not-linearizable", h, final, stale_read)

    def test_list_append(self):
        for seed in SEEDS:
            with self.subTest(seed=seed):
                self.list_append_seed(seed)
        self.assertAllTried(["drop-acked", "failed-appears", "duplicate", "swap",
                             "barrier-read-truncated", "info-on-one-node"])

    def list_append_seed(self, seed):
        h, final = list_append_history(seed)
        self.assertPass(h, final)
        rng = random.Random(seed)
        ops = self.ops_of(h)
        appends = [op for op in ops if op.f == "append"]
        lists = {int(k): v for k, v in final["nodes"]["1"].items()}
        present = {v for values in lists.values() for v in values}
        acked = [op for op in appends if op.acked]

        if acked:
            lost, node = rng.choice(acked), rng.choice("123")

            def drop_acked(b, f):
                f["nodes"][node][str(lost.key)].remove(lost.value)
            self.mutant("drop-acked", "lost-append", h, final, drop_acked)

        failed = [op for op in appends if op.status == "fail"]
        if failed:
            ghost = rng.choice(failed)

            def failed_appears(b, f):
                for node in f["nodes"].values():
                    node.setdefault(str(ghost.key), []).append(ghost.value)
            self.mutant("failed-appears", "failed-append-present", h, final, failed_appears)

        if present:
            again = rng.choice(sorted(present))
            key = next(k for k, values in lists.items() if again in values)

            def duplicate(b, f):
                for node in f["nodes"].values():
                    node[str(key)].append(again)
            self.mutant("duplicate", "duplicate", h, final, duplicate)

        # Swap a (acknowledged) and b in every final list, where a was acknowledged before
        # b was invoked.  Depending on the reads this breaks a prefix, makes a barrier
        # read stale, or is visible only as an order violation.
        ordered = [(a, b) for a in acked for b in appends
                   if b.value in present and a.key == b.key and a.complete_line < b.invoke_line]
        if ordered:
            a, b_op = rng.choice(ordered)

            def swap(b, f):
                for node in f["nodes"].values():
                    values = node[str(a.key)]
                    i, j = values.index(a.value), values.index(b_op.value)
                    values[i], values[j] = values[j], values[i]
            self.mutant("swap", ("realtime-order", "not-prefix", "stale-read"), h, final, swap)

        # Cut a barrier read just before an append acknowledged before it began.
        barrier_reads = [(r, a) for r in ops if r.f == "read" and r.acked and r.barrier
                         for a in acked if a.key == r.key and a.complete_line < r.invoke_line]
        if barrier_reads:
            read, a = rng.choice(barrier_reads)

            def truncate_read(b, f):
                result = b.events[read.complete_line - 2]["value"]
                del result[result.index(a.value):]
            self.mutant("barrier-read-truncated", "stale-read", h, final, truncate_read)

        indeterminate = [op for op in appends if op.status == "info" and op.value in present]
        if indeterminate:
            maybe = rng.choice(indeterminate)

            def info_on_one_node(b, f):
                f["nodes"]["3"][str(maybe.key)].remove(maybe.value)
            self.mutant("info-on-one-node", "final-divergence", h, final, info_on_one_node)

    def test_bank(self):
        for seed in SEEDS:
            with self.subTest(seed=seed):
                self.bank_seed(seed)
        self.assertAllTried(["read-off-by-one", "final-moved"])

    def bank_seed(self, seed):
        h, final = bank_history(seed)
        self.assertPass(h, final)
        rng = random.Random(seed)
        reads = [op for op in self.ops_of(h) if op.f == "read_all" and op.acked]
        if reads:
            read = rng.choice(reads)

            def off_by_one(b, f):
                b.events[read.complete_line - 2]["value"]["1"] += 1
            self.mutant("read-off-by-one", "read-sum", h, final, off_by_one)

        def moved(b, f):
            balances = f["nodes"]["2"]
            rich = max(balances, key=balances.get)
            poor = min(balances, key=balances.get)
            balances[rich] -= 1
            balances[poor] += 1
        self.mutant("final-moved", "final-divergence", h, final, moved)
