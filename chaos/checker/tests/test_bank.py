"""Hand-made bank histories: conservation of money in reads and final states."""

from chaos.checker.tests.support import CheckerTestCase, HistoryBuilder, per_node, same_on_all

EVEN = {0: 25, 1: 25, 2: 25, 3: 25}


def bank(**params):
    return HistoryBuilder("bank", **{"total": 100, "accounts": 4, "allow_negative": False,
                                     **params})


def transfer(h, p, a, b, amount, outcome="ok"):
    h.invoke(p, "transfer", value={"from": a, "to": b, "amount": amount})
    return getattr(h, outcome)(p)


def read_all(h, p, balances, node=1):
    return h.invoke(p, "read_all", node=node).ok(p, value={str(a): v for a, v in
                                                           balances.items()})


class Rejected(CheckerTestCase):
    def test_read_with_wrong_sum(self):
        h = bank()
        transfer(h, 1, 0, 1, 10)
        read_all(h, 2, {0: 15, 1: 25, 2: 25, 3: 25}, node=3)
        r = self.assertViolation("read-sum", h, same_on_all({0: 15, 1: 35, 2: 25, 3: 25}))
        self.assertIn("sums to 90", r.message)
        self.assertIn("node 3", r.message)

    def test_negative_balance_in_read(self):
        h = bank()
        read_all(h, 2, {0: -5, 1: 55, 2: 25, 3: 25})
        self.assertViolation("negative-balance", h, same_on_all(EVEN))

    def test_negative_balance_in_final_state(self):
        h = bank()
        transfer(h, 1, 0, 1, 30)
        self.assertViolation("negative-balance", h, same_on_all({0: -5, 1: 55, 2: 25, 3: 25}))

    def test_read_missing_an_account(self):
        h = bank()
        read_all(h, 2, {0: 50, 1: 25, 2: 25})
        r = self.assertViolation("wrong-accounts", h, same_on_all(EVEN))
        self.assertIn("missing [3]", r.message)

    def test_final_state_with_wrong_sum(self):
        self.assertViolation("final-sum", bank(), same_on_all({0: 25, 1: 25, 2: 25, 3: 26}))

    def test_final_states_differ(self):
        h = bank()
        transfer(h, 1, 0, 1, 10, outcome="info")
        r = self.assertViolation("final-divergence", h,
                                 per_node({1: EVEN, 2: {0: 15, 1: 35, 2: 25, 3: 25}, 3: EVEN}))
        self.assertIn("account 0", r.message)


class Accepted(CheckerTestCase):
    def test_empty_history(self):
        r = self.assertPass(bank(), same_on_all(EVEN))
        self.assertEqual(r.summary(), "check: PASS workload=bank ops=0 ok=0 fail=0 info=0")

    def test_transfers_and_consistent_reads(self):
        h = bank()
        transfer(h, 1, 0, 1, 10)
        transfer(h, 1, 2, 3, 5, outcome="fail")
        transfer(h, 2, 3, 0, 7, outcome="info")  # indeterminate: either snapshot is fine
        read_all(h, 3, {0: 15, 1: 35, 2: 25, 3: 25})
        read_all(h, 3, {0: 22, 1: 35, 2: 25, 3: 18})
        r = self.assertPass(h, same_on_all({0: 22, 1: 35, 2: 25, 3: 18}))
        self.assertEqual(r.counts, {"ops": 5, "ok": 3, "fail": 1, "info": 1})

    def test_negative_balances_when_allowed(self):
        h = bank(allow_negative=True)
        transfer(h, 1, 0, 1, 30)
        read_all(h, 2, {0: -5, 1: 55, 2: 25, 3: 25})
        self.assertPass(h, same_on_all({0: -5, 1: 55, 2: 25, 3: 25}))

    def test_failed_reads_are_ignored(self):
        h = bank()
        h.invoke(1, "read_all").fail(1)
        self.assertPass(h, same_on_all(EVEN))
