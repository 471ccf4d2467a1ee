"""Faults: which ones, in what order (a pure function of the seed), and how each is
injected and healed.

``schedule(seed, ...)`` draws the whole sequence of faults up front from the seed alone:
kinds, durations, quiet gaps, and "picks" (random numbers used to choose targets).  Who is
leader is only known at run time, so targets are named by role ("the leader", "a
follower") and the picks choose among the nodes that have that role then: the same seed
gives the same sequence of faults, aimed the same way.

Kinds:

  partition-leader    the leader alone | everyone else
  partition-minority  a minority of followers cut off; the leader keeps a majority
  partition-majority  the leader on the minority side; the majority elects a new leader
  partition-bridge    two halves that cannot talk, and one node that talks to both
  partition-oneway    the leader's packets to the others are lost (or theirs to it), not the reverse
  loss                every node drops N% of the packets it receives (peers and clients)
  delay               tc netem delay on every node (only where the kernel has sch_netem)
  kill-follower / kill-leader / kill-all   kill -9 of the postmaster and all its children;
                      healed by starting the node again (crash recovery)
  pause-leader / pause-follower            SIGSTOP of the whole node; healed by SIGCONT
  disk-full           the disk node's data directory (a tmpfs) is filled to the last byte;
                      healed by removing the filler (and starting the node if it died)

A step is one fault, or (in the full mix) a network fault combined with a process or disk
fault.  Every step heals completely before the next, and the runner waits for the cluster
to converge in between.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field

NETWORK = ["partition-leader", "partition-minority", "partition-majority", "partition-bridge",
           "partition-oneway", "loss"]
PROCESS = ["kill-follower", "kill-leader", "kill-all", "pause-leader", "pause-follower"]
DISK = ["disk-full"]

# the short run of `make test`: real faults of each family, none that takes long to heal
MILD = {"partition": ["partition-leader", "partition-minority", "partition-oneway"],
        "kill": ["kill-follower", "kill-leader"],
        "pause": ["pause-leader", "pause-follower"]}


@dataclass
class Step:
    kinds: list[str]
    duration: float  # seconds the faults stay
    gap: float  # quiet seconds after healing and converging
    picks: list[int] = field(default_factory=list)
    loss_percent: int = 0
    direction: str = ""  # partition-oneway: "out" (nobody hears the leader) or "in"

    def describe(self) -> str:
        return " + ".join(self.kinds)


def schedule(seed: int, total: float, mix: str = "full", netem: bool = False,
             disk: bool = True, only: list[str] | None = None) -> list[Step]:
    """Enough steps to fill ``total`` seconds (the runner stops when time is up).
    ``only``: one fault at a time, drawn from these kinds (to study one kind)."""
    rng = random.Random(f"nemesis/{seed}/{mix}")
    steps: list[Step] = []
    network = NETWORK + (["delay"] if netem else [])
    elapsed = 0.0
    families = list(MILD)
    while elapsed < total:
        if only:
            kinds = [rng.choice(only)]
            duration = round(rng.uniform(5, 15), 1)
            gap = round(rng.uniform(3, 6), 1)
        elif mix == "mild":
            if len(steps) % len(families) == 0:
                rng.shuffle(families)
            kinds = [rng.choice(MILD[families[len(steps) % len(families)]])]
            duration = round(rng.uniform(4, 8), 1)
            gap = round(rng.uniform(2, 4), 1)
        else:
            r = rng.random()
            if r < 0.45:
                kinds = [rng.choice(network)]
            elif r < 0.75:
                kinds = [rng.choice(PROCESS + (DISK if disk else []))]
            else:  # a combination: one network fault and one process or disk fault
                kinds = [rng.choice(network), rng.choice(PROCESS + (DISK if disk else []))]
            duration = round(rng.uniform(5, 20), 1)
            if "kill-all" in kinds:
                duration = round(rng.uniform(2, 6), 1)
            gap = round(rng.uniform(3, 8), 1)
        steps.append(Step(kinds=kinds, duration=duration, gap=gap,
                          picks=[rng.randrange(1 << 30) for _ in range(4)],
                          loss_percent=rng.choice([10, 25, 40]),
                          direction=rng.choice(["out", "in"])))
        elapsed += duration + gap + 3  # + a typical convergence wait
    return steps


def split_for(kind: str, leader: int, nodes: list[int], picks: list[int]) -> list[set[int]]:
    """The sides of a partition (pure, unit-tested).  ``leader`` is a member of ``nodes``."""
    followers = [j for j in nodes if j != leader]
    n = len(nodes)
    minority = (n - 1) // 2
    shuffled = sorted(followers, key=lambda j: (picks[0] * 7919 + j * 104729) % 1000003)
    if kind == "partition-leader":
        return [{leader}, set(followers)]
    if kind == "partition-minority":
        cut = set(shuffled[:max(1, minority)])
        return [cut, set(nodes) - cut]
    if kind == "partition-majority":
        side = {leader} | set(shuffled[:max(0, minority - 1)])
        return [side, set(nodes) - side]
    if kind == "partition-bridge":
        bridge = nodes[picks[1] % n]
        rest = sorted((j for j in nodes if j != bridge), key=lambda j: (picks[2] * 31 + j * 7) % 101)
        half = len(rest) // 2
        return [set(rest[:half]) | {bridge}, set(rest[half:]) | {bridge}]
    raise ValueError(kind)


class NemesisLog:
    """The nemesis log: JSON Lines (time since t0 on the shared monotonic clock, wall
    clock, event), and a live line on the console."""

    def __init__(self, path: str, t0: float, echo=print):
        self.t0 = t0
        self.file = open(path, "w", encoding="utf-8")
        self.echo = echo

    def __call__(self, event: str, text: str, **fields) -> None:
        t = round(time.monotonic() - self.t0, 3)
        rec = {"time": t, "wall": time.strftime("%H:%M:%S", time.localtime()), "event": event, "text": text}
        rec.update(fields)
        self.file.write(json.dumps(rec) + "\n")
        self.file.flush()
        self.echo(f"[{t:7.1f}s {rec['wall']}] {event:<9} {text}")

    def close(self) -> None:
        self.file.close()


class Nemesis:
    """Injects and heals the steps of a schedule against a running cluster."""

    def __init__(self, cluster, net, log: NemesisLog):
        self.cluster = cluster
        self.net = net
        self.log = log
        self.counts: dict[str, int] = {}
        self._step_no = 0

    def _leader(self, picks: list[int]) -> tuple[int, str]:
        lead = self.cluster.current_leader(timeout=5)
        if lead:
            return lead, ""
        nodes = list(range(1, self.cluster.n + 1))
        return nodes[picks[3] % len(nodes)], " (no leader: a node chosen by the seed instead)"

    def apply(self, step: Step) -> list[tuple]:
        """Inject every fault of the step; returns what to undo."""
        self._step_no += 1
        nodes = list(range(1, self.cluster.n + 1))
        undo: list[tuple] = []
        for kind in step.kinds:
            leader, note = self._leader(step.picks)
            followers = [j for j in nodes if j != leader]
            follower = followers[step.picks[1] % len(followers)] if followers else leader
            name = f"s{self._step_no}_{kind.replace('-', '_')}"
            if kind.startswith("partition-") and kind != "partition-oneway":
                groups = split_for(kind, leader, nodes, step.picks)
                self.net.install(name, self.net.partition_rules(groups))
                what = " | ".join(",".join(map(str, sorted(g))) for g in groups)
                undo.append(("net", name))
                detail = f"leader {leader}{note}: {what}"
            elif kind == "partition-oneway":
                self.net.install(name, self.net.one_way_rules(leader, step.direction))
                undo.append(("net", name))
                detail = (f"nothing node {leader} (leader{note}) sends reaches the others" if step.direction == "out"
                          else f"node {leader} (leader{note}) hears nothing from the others")
            elif kind == "loss":
                self.net.install(name, self.net.loss_rules(step.loss_percent))
                undo.append(("net", name))
                detail = f"{step.loss_percent}% of packets dropped on every node"
            elif kind == "delay":
                self.net.delay(100)
                undo.append(("delay",))
                detail = "100 ms +- 50 ms on every node"
            elif kind.startswith("kill-"):
                targets = nodes if kind == "kill-all" else [leader if kind == "kill-leader" else follower]
                for t in targets:
                    self.cluster.kill(t)
                undo.append(("start", targets))
                detail = f"kill -9 node {','.join(map(str, targets))}" + (note if kind == "kill-leader" else "")
            elif kind.startswith("pause-"):
                t = leader if kind == "pause-leader" else follower
                if self.cluster.pause(t):
                    undo.append(("resume", t))
                detail = f"SIGSTOP node {t}" + (note if kind == "pause-leader" else "")
            elif kind == "disk-full":
                n = self.cluster.disk_node
                taken = self.cluster.fill_disk()
                undo.append(("disk", n))
                detail = f"node {n}'s data directory (tmpfs) filled: {taken // (1 << 20)} MB taken"
            else:
                raise ValueError(kind)
            self.counts[kind] = self.counts.get(kind, 0) + 1
            self.log("fault", f"#{self._step_no} {kind}: {detail} for {step.duration:.0f} s",
                     kind=kind, step=self._step_no, detail=detail)
        return undo

    def heal(self, undo: list[tuple]) -> None:
        for item in reversed(undo):
            what = item[0]
            if what == "net":
                self.net.remove(item[1])
            elif what == "delay":
                self.net.undelay()
            elif what == "resume":
                self.cluster.resume(item[1])
            elif what == "start":
                for t in item[1]:
                    self.cluster.start(t)
            elif what == "disk":
                self.cluster.free_disk()
                if not self.cluster.running(item[1]):
                    self.cluster.start(item[1])
        self.log("heal", f"#{self._step_no} healed", step=self._step_no)

    def total(self) -> int:
        return sum(self.counts.values())
