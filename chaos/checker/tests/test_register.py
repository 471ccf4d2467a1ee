"""Hand-made register histories: rejected (not linearizable) and accepted ones."""

from chaos.checker.tests.support import CheckerTestCase, HistoryBuilder, per_node, same_on_all


def register():
    return HistoryBuilder("register")


def write(h, p, key, value):
    return h.invoke(p, "write", key=key, value=value).ok(p)


def read(h, p, key, value):
    return h.invoke(p, "read", key=key).ok(p, value=value)


class Rejected(CheckerTestCase):
    def test_read_of_old_value_after_later_write(self):
        h = register()
        write(h, 1, 1, 10)
        write(h, 1, 1, 11)
        read(h, 2, 1, 10)
        r = self.assertViolation("not-linearizable", h, same_on_all({1: 11}))
        # The window is the second write and the read: the first write is cut off.
        self.assertIn("of 2 operations (lines 4-7)", r.message)
        self.assertIn("from any earlier value", r.message)
        self.assertEqual([line.split(":")[0] for line in r.excerpt],
                         ["line 4", "line 5", "line 6", "line 7"])

    def test_cas_against_a_value_that_cannot_be_current(self):
        h = register()
        write(h, 1, 1, 10)
        write(h, 1, 1, 11)
        h.invoke(2, "cas", key=1, value=[10, 12]).ok(2)
        self.assertViolation("not-linearizable", h, same_on_all({1: 12}))

    def test_read_of_a_value_never_written(self):
        h = register()
        read(h, 1, 1, 5)
        r = self.assertViolation("not-linearizable", h, same_on_all({}))
        self.assertIn("from the initial null", r.message)

    def test_final_state_contradicts_history(self):
        h = register()
        write(h, 1, 1, 10)
        r = self.assertViolation("not-linearizable", h, same_on_all({1: 9}))
        self.assertIn("of 1 operation (lines 2-3) and the final state", r.message)
        self.assertTrue(r.excerpt[-1].startswith("final key 1: 9"), r.excerpt)

    def test_acknowledged_write_lost_from_final_state(self):
        h = register()
        write(h, 1, 1, 10)
        self.assertViolation("not-linearizable", h, same_on_all({}))

    def test_final_states_differ_between_nodes(self):
        h = register()
        write(h, 1, 1, 10)
        self.assertViolation("final-divergence", h,
                             per_node({1: {1: 10}, 2: {1: 10}, 3: {1: None}}))

    def test_cas_failed_although_value_matched(self):
        h = register()
        write(h, 1, 1, 10)
        h.invoke(2, "cas", key=1, value=[10, 12]).fail(2, cas_failed=True)
        self.assertViolation("not-linearizable", h, same_on_all({1: 10}))

    def test_definitely_failed_write_observed(self):
        h = register()
        h.invoke(1, "write", key=1, value=10).fail(1)
        read(h, 2, 1, 10)
        self.assertViolation("not-linearizable", h, same_on_all({1: 10}))

    def test_reads_go_back_in_time(self):
        # The write is concurrent with both reads, but once one read has seen it a later
        # read cannot miss it.
        h = register()
        h.invoke(1, "write", key=1, value=10)
        read(h, 2, 1, 10)
        read(h, 3, 1, None)
        h.ok(1)
        self.assertViolation("not-linearizable", h, same_on_all({1: 10}))

    def test_indeterminate_write_cannot_act_before_its_invoke(self):
        h = register()
        read(h, 2, 1, 10)
        h.invoke(1, "write", key=1, value=10).info(1)
        self.assertViolation("not-linearizable", h, same_on_all({1: 10}))

    def test_window_skips_an_earlier_clean_prefix_and_a_later_key(self):
        h = register()
        for i in range(20):
            write(h, 1, 1, i)
            read(h, 2, 1, i)
        write(h, 1, 1, 100)
        read(h, 2, 1, 19)  # stale
        write(h, 1, 2, 5)  # another key, fine
        r = self.assertViolation("not-linearizable", h, same_on_all({1: 100, 2: 5}))
        self.assertIn("key 1: no linearization of 2 operations (lines 82-85)", r.message)
        self.assertEqual(len(r.excerpt), 4)

    def test_first_failing_key_in_history_order(self):
        h = register()
        read(h, 1, 7, 1)
        read(h, 1, 3, 1)
        r = self.assertViolation("not-linearizable", h, same_on_all({}))
        self.assertIn("key 7", r.message)


class Accepted(CheckerTestCase):
    def test_empty_history(self):
        r = self.assertPass(register(), same_on_all({}))
        self.assertEqual(r.summary(), "check: PASS workload=register ops=0 ok=0 fail=0 info=0")

    def test_sequential_writes_cas_and_reads(self):
        h = register()
        read(h, 1, 1, None)
        h.invoke(1, "cas", key=1, value=[None, 1]).ok(1)
        write(h, 1, 1, 10)
        h.invoke(2, "cas", key=1, value=[10, 11]).ok(2)
        read(h, 2, 1, 11)
        self.assertPass(h, same_on_all({1: 11}))

    def test_concurrent_write_and_read_either_value(self):
        for seen in (None, 10):
            h = register()
            h.invoke(1, "write", key=1, value=10)
            read(h, 2, 1, seen)
            h.ok(1)
            self.assertPass(h, same_on_all({1: 10}))

    def test_concurrent_writes_either_order(self):
        for last in (10, 11):
            h = register()
            h.invoke(1, "write", key=1, value=10).invoke(2, "write", key=1, value=11)
            h.ok(1).ok(2)
            read(h, 3, 1, last)
            self.assertPass(h, same_on_all({1: last}))

    def test_indeterminate_write_that_took_effect_late(self):
        # It timed out, and took effect after the client gave up.
        h = register()
        write(h, 1, 1, 10)
        h.invoke(2, "write", key=1, value=11).info(2, error="outcome unknown")
        read(h, 3, 1, 10)
        read(h, 3, 1, 11)
        r = self.assertPass(h, same_on_all({1: 11}))
        self.assertEqual(r.counts, {"ops": 4, "ok": 3, "fail": 0, "info": 1})

    def test_indeterminate_write_that_never_took_effect(self):
        h = register()
        write(h, 1, 1, 10)
        h.invoke(2, "write", key=1, value=11).info(2)
        h.invoke(4, "cas", key=1, value=[10, 12])  # never completes
        read(h, 3, 1, 10)
        self.assertPass(h, same_on_all({1: 10}))

    def test_indeterminate_cas_that_took_effect(self):
        h = register()
        write(h, 1, 1, 10)
        h.invoke(2, "cas", key=1, value=[10, 12]).info(2)
        self.assertPass(h, same_on_all({1: 12}))

    def test_cas_failed_observation(self):
        # The cas saw 11 (the concurrent write) at its linearization point.
        h = register()
        write(h, 1, 1, 10)
        h.invoke(1, "write", key=1, value=11)
        h.invoke(2, "cas", key=1, value=[10, 12]).fail(2, cas_failed=True)
        h.ok(1)
        self.assertPass(h, same_on_all({1: 11}))

    def test_cas_failed_on_absent_value(self):
        h = register()
        h.invoke(2, "cas", key=1, value=[10, 12]).fail(2, cas_failed=True)
        self.assertPass(h, same_on_all({}))

    def test_failed_ops_and_failed_reads_are_ignored(self):
        h = register()
        h.invoke(1, "write", key=1, value=10).fail(1, error="ERROR: no leader")
        h.invoke(1, "cas", key=1, value=[None, 11]).fail(1, error="ERROR: no leader")
        h.invoke(1, "read", key=1).fail(1)
        h.invoke(2, "read", key=1).info(2)
        self.assertPass(h, same_on_all({1: None}))

    def test_many_lost_writes_are_cheap(self):
        # Twenty indeterminate writes nobody observed: pruned, not searched 2^20 ways.
        h = register()
        for p in range(20):
            h.invoke(p, "write", key=1, value=100 + p).info(p)
        read(h, 50, 1, None)
        self.assertPass(h, same_on_all({}), max_states=1000)


def concurrent_history():
    """Twelve concurrent writes, then reads of every value: impossible, but costly to refute."""
    h = register()
    for p in range(12):
        h.invoke(p, "write", key=1, value=p)
    for p in range(12):
        h.ok(p)
    for p in range(12):
        read(h, 100, 1, p)
    return h


class Undecided(CheckerTestCase):
    def test_search_too_large_is_unknown(self):
        r = self.run_check(concurrent_history(), same_on_all({1: 0}), max_states=1000)
        self.assertEqual(r.status, "UNKNOWN", r.render())
        self.assertFalse(r.ok)
        self.assertEqual(r.exit_code, 3)
        self.assertEqual(r.rule, "search-too-large")
        self.assertIn("key 1 (24 ops)", r.message)

    def test_definite_violation_on_another_key_wins_over_unknown(self):
        h = concurrent_history()
        read(h, 101, 2, 5)
        r = self.run_check(h, same_on_all({1: 0}), max_states=1000)
        self.assertEqual(r.status, "FAIL", r.render())
