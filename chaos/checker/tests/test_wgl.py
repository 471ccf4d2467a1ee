"""The WGL search and the window minimization, cross-checked against brute force.

Random small histories (not necessarily linearizable) are decided both by the search and
by trying every order of every subset of optional operations; the verdicts must agree.
For the non-linearizable ones, the reported window must itself be non-linearizable by
brute force, from the initial value or, for a cut window, from every possible value.
"""

import itertools
import random
import unittest

from chaos.checker import register, wgl
from chaos.checker.register import CAS, CAS_FAILED, READ, WRITE
from chaos.checker.wgl import INF, Call

VALUES = (None, 1, 2)


def brute_force(calls, init):
    required = [c for c in calls if not c.optional]
    optional = [c for c in calls if c.optional]
    for k in range(len(optional) + 1):
        for extra in itertools.combinations(optional, k):
            for order in itertools.permutations(required + list(extra)):
                # Real time: nothing may be ordered after an op invoked after it returned.
                if any(order[j].ret < order[i].call
                       for i in range(len(order)) for j in range(i + 1, len(order))):
                    continue
                state = init
                for c in order:
                    state = register.step(state, c.payload)
                    if state is wgl.INVALID:
                        break
                else:
                    return True
    return False


def random_calls(rng, n):
    points = rng.sample(range(1, 4 * n), 2 * n)
    calls = []
    for i in range(n):
        call, ret = sorted(points[2 * i:2 * i + 2])
        kind = rng.choice([READ, WRITE, CAS, CAS_FAILED])
        if kind in (READ, WRITE):
            payload = (kind, rng.choice(VALUES) if kind == READ else rng.choice(VALUES[1:]))
        elif kind == CAS:
            payload = (kind, rng.choice(VALUES), rng.choice(VALUES[1:]))
        else:
            payload = (kind, rng.choice(VALUES))
        optional = kind in (WRITE, CAS) and rng.random() < 0.3
        calls.append(Call(call, INF if optional else ret, payload, tag=i))
    return calls


class Search(unittest.TestCase):
    def test_empty_history_is_linearizable(self):
        self.assertEqual(wgl.search([], None, register.step, 10), (True, 0))

    def test_simple_verdicts(self):
        w1 = Call(1, 2, (WRITE, 1))
        w2 = Call(3, 4, (WRITE, 2))
        self.assertTrue(wgl.search([w1, w2, Call(5, 6, (READ, 2))], None, register.step,
                                   100)[0])
        self.assertFalse(wgl.search([w1, w2, Call(5, 6, (READ, 1))], None, register.step,
                                    100)[0])
        # Concurrent with the second write, the read may see either value.
        self.assertTrue(wgl.search([w1, Call(3, 6, (WRITE, 2)), Call(4, 5, (READ, 1))], None,
                                   register.step, 100)[0])

    def test_optional_may_or_may_not_happen(self):
        lost = Call(1, INF, (WRITE, 1))
        self.assertTrue(wgl.search([lost, Call(5, 6, (READ, 1))], None, register.step, 100)[0])
        self.assertTrue(wgl.search([lost, Call(5, 6, (READ, None))], None, register.step,
                                   100)[0])
        # ...but not before it was invoked.
        self.assertFalse(wgl.search([Call(3, INF, (WRITE, 1)), Call(1, 2, (READ, 1))], None,
                                    register.step, 100)[0])

    def test_state_cap(self):
        # Many concurrent optional writes read back in an impossible combination.
        calls = [Call(i, INF, (WRITE, i)) for i in range(1, 15)]
        calls += [Call(20, 21, (READ, 3)), Call(22, 23, (READ, 99))]
        with self.assertRaises(wgl.SearchTooLarge):
            wgl.search(calls, None, register.step, 50)

    def test_agrees_with_brute_force(self):
        rng = random.Random(20240601)
        verdicts = {True: 0, False: 0}
        for _ in range(400):
            calls = random_calls(rng, rng.randint(1, 6))
            init = rng.choice([None, register.ANY])
            expected = brute_force(calls, init)
            got, _ = wgl.search(calls, init, register.step, 10**6)
            self.assertEqual(got, expected, calls)
            # Pruning unobserved optional writes must not change the verdict.
            self.assertEqual(wgl.search(register.prune(calls), init, register.step, 10**6)[0],
                             expected, calls)
            verdicts[expected] += 1
        self.assertGreater(min(verdicts.values()), 50, verdicts)  # both kinds were exercised

    def test_window_is_itself_a_proof(self):
        rng = random.Random(7)
        checked = 0
        while checked < 120:
            calls = random_calls(rng, rng.randint(2, 7))
            if brute_force(calls, None):
                continue
            window, from_any, _ = register.minimal_window(calls, register._Budget(10**6))
            self.assertLessEqual(len(window), len(calls))
            # From any value: the values used in the window, plus one used nowhere.
            starts = list(VALUES) + [3] if from_any else [None]
            for start in starts:
                self.assertFalse(brute_force(window, start), (calls, window, start))
            checked += 1

    def test_reductions_keep_linearizable_histories_linearizable(self):
        # A window proves a violation only if every reduction maps a linearizable history
        # to a linearizable one; check that on linearizable histories, with concrete
        # starting values standing in for the symbolic one.
        rng = random.Random(11)
        checked = 0
        while checked < 150:
            calls = random_calls(rng, rng.randint(2, 6))
            if not brute_force(calls, None):
                continue
            for u in sorted({c.ret for c in calls if not c.optional}):
                self.assertTrue(brute_force(register._truncate(calls, u), None), (calls, u))
            for k in register._cuts(calls):
                cut = register._cut(calls, k)
                self.assertTrue(any(brute_force(cut, s) for s in list(VALUES) + [3]),
                                (calls, k))
            for c in calls:
                if c.payload[0] in (READ, CAS_FAILED):
                    self.assertTrue(brute_force([x for x in calls if x is not c], None))
            checked += 1


if __name__ == "__main__":
    unittest.main()
