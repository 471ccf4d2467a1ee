"""Hand-made list-append histories: one rejected per rule, and the accepted shapes."""

from chaos.checker.tests.support import CheckerTestCase, HistoryBuilder, per_node, same_on_all


def appended(*pairs, outcome="ok"):
    """A history where process i appends pairs[i] = (key, value) one after the other."""
    h = HistoryBuilder("list-append")
    for p, (key, value) in enumerate(pairs):
        h.invoke(p, "append", key=key, value=value)
        getattr(h, outcome)(p)
    return h


class Rejected(CheckerTestCase):
    def test_lost_acknowledged_append(self):
        h = appended((1, 10), (1, 11))
        r = self.assertViolation("lost-append", h,
                                 per_node({1: {1: [10, 11]}, 2: {1: [10, 11]}, 3: {1: [10]}}))
        self.assertIn("11", r.message)
        self.assertIn("node 3", r.message)
        self.assertTrue(any(line.startswith("line 4:") for line in r.excerpt), r.excerpt)

    def test_lost_append_key_missing_from_final(self):
        self.assertViolation("lost-append", appended((1, 10)), same_on_all({}))

    def test_failed_append_present_in_final(self):
        h = appended((1, 10))
        h.invoke(9, "append", key=1, value=11).fail(9, error="ERROR: not the leader")
        r = self.assertViolation("failed-append-present", h, same_on_all({1: [10, 11]}))
        self.assertIn("not the leader", r.message)

    def test_failed_append_present_in_read(self):
        h = HistoryBuilder("list-append")
        h.invoke(1, "append", key=1, value=11).fail(1)
        h.invoke(2, "read", key=1).ok(2, value=[11])
        self.assertViolation("failed-append-present", h, same_on_all({1: []}))

    def test_phantom_value(self):
        h = appended((1, 10))
        self.assertViolation("phantom-value", h, same_on_all({1: [10, 99]}))

    def test_value_in_the_wrong_key(self):
        h = appended((1, 10), (2, 20))
        r = self.assertViolation("phantom-value", h, same_on_all({1: [10, 20], 2: [20]}))
        self.assertIn("appended to key 2", r.message)

    def test_duplicate_in_final(self):
        h = appended((1, 10), (1, 11))
        self.assertViolation("duplicate", h, same_on_all({1: [10, 11, 10]}))

    def test_duplicate_in_read(self):
        h = appended((1, 10))
        h.invoke(5, "read", key=1).ok(5, value=[10, 10])
        self.assertViolation("duplicate", h, same_on_all({1: [10]}))

    def test_final_lists_differ_between_nodes(self):
        # An indeterminate append landed on two nodes only: no acknowledged write is lost,
        # but the replicas disagree.
        h = appended((1, 10))
        h.invoke(7, "append", key=1, value=11).info(7)
        r = self.assertViolation("final-divergence", h,
                                 per_node({1: {1: [10, 11]}, 2: {1: [10, 11]}, 3: {1: [10]}}))
        self.assertIn("index 1", r.message)

    def test_final_lists_in_different_orders(self):
        h = appended((1, 10))
        h.invoke(7, "append", key=1, value=11).invoke(8, "append", key=1, value=12).ok(7).ok(8)
        self.assertViolation("final-divergence", h,
                             per_node({1: {1: [10, 11, 12]}, 2: {1: [10, 12, 11]},
                                       3: {1: [10, 11, 12]}}))

    def test_read_not_a_prefix(self):
        h = HistoryBuilder("list-append")
        h.invoke(1, "append", key=1, value=10).invoke(2, "append", key=1, value=11)
        h.ok(1).ok(2)
        h.invoke(3, "read", key=1).ok(3, value=[11])
        r = self.assertViolation("not-prefix", h, same_on_all({1: [10, 11]}))
        self.assertIn("index 0", r.message)

    def test_read_longer_than_final_with_info_value(self):
        # The read saw an indeterminate append that the final state does not have.
        h = appended((1, 10))
        h.invoke(7, "append", key=1, value=11).info(7)
        h.invoke(3, "read", key=1).ok(3, value=[10, 11])
        self.assertViolation("not-prefix", h, same_on_all({1: [10]}))

    def test_stale_barrier_read(self):
        h = appended((1, 10), (1, 11))
        h.invoke(5, "read", key=1, barrier=True).ok(5, value=[10])
        r = self.assertViolation("stale-read", h, same_on_all({1: [10, 11]}))
        self.assertIn("without 11", r.message)

    def test_realtime_order_violation(self):
        h = appended((1, 10), (1, 11))  # 10 acknowledged before 11 was invoked
        r = self.assertViolation("realtime-order", h, same_on_all({1: [11, 10]}))
        self.assertIn("before 10", r.message)

    def test_realtime_order_against_indeterminate_append(self):
        h = appended((1, 10))
        h.invoke(7, "append", key=1, value=11).info(7)
        self.assertViolation("realtime-order", h, same_on_all({1: [11, 10]}))

    def test_read_from_the_future(self):
        h = HistoryBuilder("list-append")
        h.invoke(3, "read", key=1).ok(3, value=[10])
        h.invoke(1, "append", key=1, value=10).ok(1)
        self.assertViolation("read-from-future", h, same_on_all({1: [10]}))

    def test_first_violation_is_reported(self):
        # Both a lost append (key 2) and a later-rule violation (key 1) are present:
        # the rules are checked in order, so the lost append wins.
        h = appended((1, 10), (1, 11), (2, 20))
        self.assertViolation("lost-append", h, same_on_all({1: [11, 10], 2: []}))


class Accepted(CheckerTestCase):
    def test_empty_history(self):
        r = self.assertPass(HistoryBuilder("list-append"), same_on_all({}))
        self.assertEqual(r.summary(), "check: PASS workload=list-append ops=0 ok=0 fail=0 info=0")

    def test_sequential_appends_and_reads(self):
        h = appended((1, 10), (1, 11), (2, 20))
        h.invoke(5, "read", key=1, barrier=True).ok(5, value=[10, 11])
        h.invoke(5, "read", key=2, barrier=False).ok(5, value=[20])
        r = self.assertPass(h, same_on_all({1: [10, 11], 2: [20]}))
        self.assertEqual(r.counts, {"ops": 5, "ok": 5, "fail": 0, "info": 0})

    def test_indeterminate_append_took_effect(self):
        h = appended((1, 10))
        h.invoke(7, "append", key=1, value=11).info(7, error="connection lost")
        h.invoke(5, "read", key=1, barrier=True).ok(5, value=[10, 11])
        r = self.assertPass(h, same_on_all({1: [10, 11]}))
        self.assertEqual(r.counts["info"], 1)

    def test_indeterminate_append_did_not_take_effect(self):
        h = appended((1, 10))
        h.invoke(7, "append", key=1, value=11).info(7)
        self.assertPass(h, same_on_all({1: [10]}))

    def test_append_never_completed(self):
        h = appended((1, 10))
        h.invoke(7, "append", key=1, value=11)  # the history ends while it is running
        r = self.assertPass(h, same_on_all({1: [10, 11]}))
        self.assertEqual(r.counts["info"], 1)

    def test_concurrent_appends_in_either_order(self):
        for order in ([10, 11], [11, 10]):
            h = HistoryBuilder("list-append")
            h.invoke(1, "append", key=1, value=10).invoke(2, "append", key=1, value=11)
            h.ok(2).ok(1)
            self.assertPass(h, same_on_all({1: order}))

    def test_stale_read_without_barrier_is_allowed(self):
        h = appended((1, 10), (1, 11))
        h.invoke(5, "read", key=1, barrier=False).ok(5, value=[10])
        self.assertPass(h, same_on_all({1: [10, 11]}))

    def test_barrier_read_concurrent_with_append_may_miss_it(self):
        h = appended((1, 10))
        h.invoke(1, "append", key=1, value=11)
        h.invoke(5, "read", key=1, barrier=True).ok(5, value=[10])
        h.ok(1)
        self.assertPass(h, same_on_all({1: [10, 11]}))

    def test_failed_append_absent_and_failed_reads_ignored(self):
        h = appended((1, 10))
        h.invoke(9, "append", key=1, value=11).fail(9)
        h.invoke(5, "read", key=1, barrier=True).fail(5)
        h.invoke(6, "read", key=1, barrier=True).info(6)
        self.assertPass(h, same_on_all({1: [10]}))
