"""The suite's virtual network: Linux network namespaces on a bridge, and nftables faults.

Layout (every name starts with the prefix, default ``rxc``, so a later run can find and
remove what a crashed run left):

    rxc-hub              holds the bridge ``br0`` and nothing else
    rxc-n1 .. rxc-nN     one PostgreSQL server each; ``eth0`` = 10.213.0.<i>/24
    rxc-cli              the clients; ``eth0`` = 10.213.0.200/24

Each namespace's ``eth0`` is one end of a veth pair whose other end is a port of ``br0`` in
the hub.  The bridge lives in a namespace of its own, not in the root namespace, so the
machine's own interfaces, routes and firewall are never touched and no packet of the suite
can leave by them: inside these namespaces 10.213.0.0/24 is the only network there is.

Faults are nftables tables inside the node namespaces (``table inet rxc_<name>``), one per
fault, so that faults combine and each heals by deleting its own table.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

SUBNET = "10.213.0"
CLIENT_HOST = 200


def sh(args: list[str], input: str | None = None, check: bool = True, timeout: float = 30) -> str:
    p = subprocess.run(args, input=input, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: exit {p.returncode}: {p.stderr.strip() or p.stdout.strip()}")
    return p.stdout


def namespaces_available() -> tuple[bool, str]:
    """Whether this process can build the network (root, ip, nft, netns).  The reason
    when not, for a skip message."""
    if os.geteuid() != 0:
        return False, "not root (network namespaces and nftables need root)"
    for tool in ("ip", "nft"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode != 0:
            return False, f"'{tool}' is not installed (scripts/install-deps.sh)"
    probe = "rxcprobe"
    try:
        sh(["ip", "netns", "add", probe])
        sh(["ip", "netns", "exec", probe, "nft", "list", "ruleset"])
    except Exception as e:  # noqa: BLE001 - any failure means "cannot"
        return False, f"cannot create a network namespace with nftables: {e}"
    finally:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return True, ""


class Network:
    def __init__(self, nodes: int, prefix: str = "rxc"):
        self.nodes = nodes
        self.prefix = prefix
        self.hub = f"{prefix}-hub"
        self.client_ns = f"{prefix}-cli"
        self.netem = False

    def node_ns(self, i: int) -> str:
        return f"{self.prefix}-n{i}"

    @staticmethod
    def node_addr(i: int) -> str:
        return f"{SUBNET}.{i}"

    @staticmethod
    def client_addr() -> str:
        return f"{SUBNET}.{CLIENT_HOST}"

    # -- life cycle

    def ours(self) -> list[str]:
        out = sh(["ip", "netns", "list"], check=False)
        names = [line.split()[0] for line in out.splitlines() if line.strip()]
        return [n for n in names if n.startswith(self.prefix + "-")]

    def cleanup(self) -> list[str]:
        """Remove every namespace of ours, killing what still runs in it first (a
        namespace's processes keep it alive after `ip netns del`).  Returns their names."""
        names = self.ours()
        for ns in names:
            pids = sh(["ip", "netns", "pids", ns], check=False).split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
        for ns in names:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        return names

    def create(self) -> None:
        self.cleanup()
        sh(["ip", "netns", "add", self.hub])
        hub = ["ip", "-n", self.hub]
        sh(hub + ["link", "add", "br0", "type", "bridge"])
        sh(hub + ["link", "set", "br0", "up"])
        sh(hub + ["link", "set", "lo", "up"])
        members = [(self.node_ns(i), f"n{i}", self.node_addr(i)) for i in range(1, self.nodes + 1)]
        members.append((self.client_ns, "cli", self.client_addr()))
        for ns, port, addr in members:
            sh(["ip", "netns", "add", ns])
            # create the pair inside the hub, then move one end into the member's namespace
            sh(hub + ["link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns])
            sh(hub + ["link", "set", port, "master", "br0", "up"])
            sh(["ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", "eth0"])
            sh(["ip", "-n", ns, "link", "set", "eth0", "up"])
            sh(["ip", "-n", ns, "link", "set", "lo", "up"])
        self.netem = self._probe_netem()

    def _probe_netem(self) -> bool:
        """tc netem (delay) needs the sch_netem kernel module, which this kernel may lack."""
        ns = self.client_ns
        p = subprocess.run(["ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "lo", "root",
                            "netem", "delay", "1ms"], capture_output=True)
        if p.returncode != 0:
            return False
        subprocess.run(["ip", "netns", "exec", ns, "tc", "qdisc", "del", "dev", "lo", "root"],
                       capture_output=True)
        return True

    # -- faults

    def install(self, name: str, rules: dict[int, list[str]]) -> None:
        """Install fault ``name``: for node i, ``rules[i]`` are nft rule bodies, each
        starting with ``in`` or ``out`` (the chain), e.g. ``in ip saddr 10.213.0.2 drop``."""
        for i, lines in rules.items():
            if not lines:
                continue
            table = f"rxc_{name}"
            body = [f"table inet {table} {{",
                    "  chain in { type filter hook input priority 0; policy accept; }",
                    "  chain out { type filter hook output priority 0; policy accept; }",
                    "}"]
            for line in lines:
                chain, rule = line.split(" ", 1)
                body.append(f"add rule inet {table} {chain} {rule}")
            sh(["ip", "netns", "exec", self.node_ns(i), "nft", "-f", "-"], input="\n".join(body) + "\n")

    def remove(self, name: str) -> None:
        for i in range(1, self.nodes + 1):
            subprocess.run(["ip", "netns", "exec", self.node_ns(i), "nft", "delete", "table", "inet",
                            f"rxc_{name}"], capture_output=True)

    def heal_all(self) -> None:
        for i in range(1, self.nodes + 1):
            subprocess.run(["ip", "netns", "exec", self.node_ns(i), "nft", "flush", "ruleset"],
                           capture_output=True)
            if self.netem:
                subprocess.run(["ip", "netns", "exec", self.node_ns(i), "tc", "qdisc", "del", "dev",
                                "eth0", "root"], capture_output=True)

    # -- rule builders (pure: unit-tested)

    def partition_rules(self, groups: list[set[int]]) -> dict[int, list[str]]:
        """Each node hears only the nodes of the groups it belongs to (a node may belong to
        several: the bridge node).  Dropping on input at both ends cuts both directions."""
        rules: dict[int, list[str]] = {}
        for i in range(1, self.nodes + 1):
            seen = set().union(*[g for g in groups if i in g]) if any(i in g for g in groups) else {i}
            cut = sorted(j for j in range(1, self.nodes + 1) if j not in seen)
            rules[i] = ([f"in iifname \"eth0\" ip saddr {{ {', '.join(self.node_addr(j) for j in cut)} }} drop"]
                        if cut else [])
        return rules

    def one_way_rules(self, node: int, direction: str) -> dict[int, list[str]]:
        """``out``: nothing ``node`` sends reaches the other nodes (it hears them);
        ``in``: it hears nothing from them (they hear it)."""
        others = [j for j in range(1, self.nodes + 1) if j != node]
        addrs = ", ".join(self.node_addr(j) for j in others)
        if direction == "out":
            return {node: [f"out oifname \"eth0\" ip daddr {{ {addrs} }} drop"]}
        return {node: [f"in iifname \"eth0\" ip saddr {{ {addrs} }} drop"]}

    def loss_rules(self, percent: int) -> dict[int, list[str]]:
        """Every packet a node receives on eth0 (peers and clients alike) is dropped with
        probability percent/100."""
        rule = f"in iifname \"eth0\" numgen random mod 100 < {int(percent)} drop"
        return {i: [rule] for i in range(1, self.nodes + 1)}

    def delay(self, ms: int) -> None:
        for i in range(1, self.nodes + 1):
            sh(["ip", "netns", "exec", self.node_ns(i), "tc", "qdisc", "replace", "dev", "eth0",
                "root", "netem", "delay", f"{ms}ms", f"{ms // 2}ms"])

    def undelay(self) -> None:
        for i in range(1, self.nodes + 1):
            subprocess.run(["ip", "netns", "exec", self.node_ns(i), "tc", "qdisc", "del", "dev",
                            "eth0", "root"], capture_output=True)
