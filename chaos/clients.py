"""The client process: threads that run the workloads against the nodes over the bridge.

The runner starts it inside the clients' network namespace:

    ip netns exec rxc-cli python3 -m chaos.clients CONFIG.json

so every connection goes through the suite's bridge to a node's address, like an
application's would.  Each workload has its own threads and its own history file.  A
thread connects to a node chosen at random, and moves to another random node after a few
operations, after any error and after every ``info`` (when it also becomes a new
process, as the checker requires: a process whose operation ended in ``info`` never invokes
again).

The process ends by itself when the duration or the operation budget is spent, or when
the runner creates the stop file; an operation still running then finishes within its own
deadline (statement_timeout on the server, a client-side deadline a little longer).
"""

from __future__ import annotations

import json
import os
import random
import sys
import threading
import time

from . import outcome
from .history import HistoryWriter
from .pgwire import Connection, ConnectFailed, ConnectionLost
from .workloads import WORKLOADS, Generator, Workload


class Client(threading.Thread):
    def __init__(self, workload: Workload, gen: Generator, writer: HistoryWriter, cfg: dict,
                 index: int, threads: int, max_ops: int):
        super().__init__(name=f"{workload.name}-{index}", daemon=True)
        self.workload, self.gen, self.writer, self.cfg = workload, gen, writer, cfg
        self.process = index
        self.stride = threads
        self.max_ops = max_ops
        self.rng = random.Random(f"{cfg['seed']}/{workload.name}/{index}")
        self.conn: Connection | None = None
        self.node = 0
        self.ops_on_node = 0

    def stopping(self) -> bool:
        return (time.monotonic() >= self.cfg["t0"] + self.cfg["duration"]
                or os.path.exists(self.cfg["stop_file"]))

    def drop_connection(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn = None
        self.node = 0

    def run(self) -> None:
        timeout = self.cfg["statement_timeout_ms"] / 1000.0
        # the server gives up at statement_timeout; past this the client stops waiting
        deadline = timeout + self.cfg["client_grace_s"]
        nodes = self.cfg["nodes"]
        while not self.stopping():
            if self.gen.count >= self.max_ops:
                break
            if self.node == 0 or self.ops_on_node >= self.cfg["ops_per_connection"]:
                self.drop_connection()
                self.node = self.rng.choice(nodes)
                self.ops_on_node = 0
            op = self.gen.next(self.rng)
            self.writer.invoke(self.process, op.f, self.node, **op.fields())
            self.ops_on_node += 1
            try:
                if self.conn is None:
                    self.conn = Connection(self.cfg["addresses"][str(self.node)], 5432,
                                           connect_timeout=self.cfg["connect_timeout_s"],
                                           settings={"statement_timeout": str(self.cfg["statement_timeout_ms"])},
                                           application_name=f"chaos {self.workload.name} p{self.process}")
                kind, fields = self.workload.execute(self.conn, op, deadline)
            except Exception as e:  # noqa: BLE001 - every error is an outcome to record
                write = op.f in ("append", "write", "cas", "transfer")
                kind = outcome.classify_write(e) if write else outcome.classify_read(e)
                fields = {"error": outcome.describe(e)}
                if isinstance(e, (ConnectFailed, ConnectionLost)) or (self.conn is not None and self.conn.closed):
                    self.drop_connection()
                else:
                    self.ops_on_node = self.cfg["ops_per_connection"]  # try another node next
            self.writer.complete(kind, self.process, op.f, **fields)
            if kind == "info":
                self.process += self.stride
                self.drop_connection()
            if kind != "ok":
                time.sleep(self.rng.uniform(0.05, 0.2))  # do not hammer a node that refuses
            time.sleep(self.rng.uniform(0, self.cfg["think_ms"] / 1000.0))
        self.drop_connection()


def main(config_path: str) -> int:
    with open(config_path) as f:
        cfg = json.load(f)
    threads: list[Client] = []
    writers = []
    for name, w in cfg["workloads"].items():
        workload = WORKLOADS[name]
        writer = HistoryWriter(w["history"], workload.header(cfg["nodes"]), cfg["t0"])
        writers.append(writer)
        gen = workload.generator()
        for i in range(w["threads"]):
            threads.append(Client(workload, gen, writer, cfg, i, w["threads"], w["max_ops"]))
    for t in threads:
        t.start()
    hard_end = cfg["t0"] + cfg["duration"] + cfg["statement_timeout_ms"] / 1000.0 + cfg["client_grace_s"] + 10
    for t in threads:
        t.join(max(0.0, hard_end - time.monotonic()))
    # A thread still stuck here left its operation open: the checker reads it as info.
    for w in writers:
        w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
