"""The nemesis schedule is a pure function of the seed; partitions split as documented."""

import unittest

from chaos import nemesis
from chaos.netns import Network


class ScheduleTest(unittest.TestCase):
    def test_same_seed_same_schedule(self):
        a = nemesis.schedule(42, 600, "full")
        b = nemesis.schedule(42, 600, "full")
        self.assertEqual(a, b)
        self.assertNotEqual(a, nemesis.schedule(43, 600, "full"))

    def test_mix_and_seed_both_matter(self):
        self.assertNotEqual(nemesis.schedule(7, 120, "mild"), nemesis.schedule(7, 120, "full"))

    def test_schedule_fills_the_time(self):
        steps = nemesis.schedule(1, 600, "full")
        self.assertGreaterEqual(sum(s.duration + s.gap for s in steps), 600 * 0.5)
        for s in steps:
            self.assertTrue(1 <= len(s.kinds) <= 2)
            self.assertGreater(s.duration, 0)
            self.assertEqual(len(s.picks), 4)

    def test_full_mix_covers_every_kind_and_combines(self):
        steps = nemesis.schedule(3, 3000, "full")
        seen = {k for s in steps for k in s.kinds}
        self.assertEqual(seen, set(nemesis.NETWORK + nemesis.PROCESS + nemesis.DISK))
        combos = [s for s in steps if len(s.kinds) == 2]
        self.assertTrue(combos)
        for s in combos:  # one network fault with one process or disk fault
            self.assertIn(s.kinds[0], nemesis.NETWORK)
            self.assertIn(s.kinds[1], nemesis.PROCESS + nemesis.DISK)

    def test_delay_and_disk_only_when_available(self):
        kinds = {k for s in nemesis.schedule(5, 3000, "full", netem=False, disk=False) for k in s.kinds}
        self.assertNotIn("delay", kinds)
        self.assertNotIn("disk-full", kinds)
        kinds = {k for s in nemesis.schedule(5, 3000, "full", netem=True) for k in s.kinds}
        self.assertIn("delay", kinds)

    def test_mild_mix_has_a_partition_a_kill_and_a_pause_in_every_three_steps(self):
        for seed in range(20):
            steps = nemesis.schedule(seed, 120, "mild")
            self.assertGreaterEqual(len(steps), 3)
            for i in range(0, len(steps) - 2, 3):
                families = {k.split("-")[0] for s in steps[i:i + 3] for k in s.kinds}
                self.assertEqual(families, {"partition", "kill", "pause"}, (seed, steps[i:i + 3]))
            for s in steps:
                self.assertEqual(len(s.kinds), 1)
                self.assertNotIn("kill-all", s.kinds)


class SplitTest(unittest.TestCase):
    nodes = [1, 2, 3, 4, 5]

    def check_partition(self, groups):
        self.assertEqual(set().union(*groups), set(self.nodes))

    def test_leader_alone(self):
        self.assertEqual(nemesis.split_for("partition-leader", 3, self.nodes, [1, 2, 3, 4]), [{3}, {1, 2, 4, 5}])

    def test_minority_excludes_the_leader(self):
        for pick in range(50):
            cut, rest = nemesis.split_for("partition-minority", 2, self.nodes, [pick, 0, 0, 0])
            self.assertEqual(len(cut), 2)
            self.assertNotIn(2, cut)
            self.check_partition([cut, rest])

    def test_majority_side_without_the_leader(self):
        for pick in range(50):
            side, rest = nemesis.split_for("partition-majority", 4, self.nodes, [pick, 0, 0, 0])
            self.assertIn(4, side)
            self.assertEqual(len(side), 2)
            self.assertEqual(len(rest), 3)
        self.assertEqual(nemesis.split_for("partition-majority", 1, [1, 2, 3], [5, 0, 0, 0]), [{1}, {2, 3}])

    def test_bridge_node_in_both_halves(self):
        a, b = nemesis.split_for("partition-bridge", 1, self.nodes, [0, 7, 11, 0])
        self.assertEqual(len(a & b), 1)
        self.check_partition([a, b])
        a, b = nemesis.split_for("partition-bridge", 1, [1, 2, 3], [0, 1, 0, 0])
        self.assertEqual(a & b, {2})


class RulesTest(unittest.TestCase):
    net = Network(5)

    def test_partition_rules_drop_the_other_side_only(self):
        rules = self.net.partition_rules([{1, 2}, {2, 3, 4, 5}])
        self.assertEqual(rules[2], [])  # the bridge hears everyone
        self.assertIn("10.213.0.3", rules[1][0])
        self.assertNotIn("10.213.0.2", rules[1][0])
        self.assertIn("10.213.0.1", rules[5][0])
        self.assertTrue(all(r.startswith("in ") and r.endswith(" drop") for v in rules.values() for r in v))

    def test_one_way(self):
        out = self.net.one_way_rules(3, "out")
        self.assertEqual(list(out), [3])
        self.assertTrue(out[3][0].startswith("out ") and "daddr" in out[3][0])
        self.assertNotIn("10.213.0.3,", out[3][0])
        self.assertIn("saddr", self.net.one_way_rules(3, "in")[3][0])

    def test_loss(self):
        rules = self.net.loss_rules(25)
        self.assertEqual(set(rules), {1, 2, 3, 4, 5})
        self.assertIn("numgen random mod 100 < 25 drop", rules[1][0])


if __name__ == "__main__":
    unittest.main()
