"""One chaos run, start to finish (what `make chaos` runs):

 1. remove what an earlier run left (namespaces, servers, the tmpfs), build the network and
    the cluster, create the workloads' tables through raft_submit;
 2. start the client process (chaos.clients) in the clients' namespace, and run the
    nemesis schedule while it works: fault, hold, heal, wait for convergence, quiet gap;
 3. when the time is up: heal everything, stop the clients, wait until every node has
    applied everything the leader committed and nothing is moving;
 4. collect every node's final state for the checkers, compare the nodes' tables and
    raft_status directly, and run raft_verify() (the product's own consistency check);
 5. run the checkers on the three histories, print the summary line, draw the plot,
    keep histories, nemesis log and server logs in the results directory;
 6. always (also on Ctrl-C, SIGTERM or an exception): stop the servers, remove the
    namespaces and the tmpfs.

Exit status: 0 PASS, 1 a violation (or no convergence, or nodes that differ),
2 the suite itself could not run, 3 a checker could not decide, 77 skipped (not root /
no network namespaces).
"""

from __future__ import annotations

import fcntl
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

from . import nemesis as nem
from . import plot
from .checker import check
from .cluster import PGBIN, Cluster
from .netns import Network, namespaces_available
from .workloads import WORKLOADS

SKIP = 77
WORKDIR = "/tmp/raft_ext-chaos"  # the servers' data (fixed, so a crashed run's leftovers are found)
LOCKFILE = "/tmp/raft_ext-chaos.lock"

# CHAOS_COMPACT=1: raft_ext.log_keep_entries and log_hold_entries this small (defaults
# 100000 and 1000000, which a run never reaches).  The suite's clients write about 100 to
# 150 entries a second (fewer during faults), so a member behind by more than HOLD
# entries (7 to 10 s of writes; right after a leader change, KEEP: a new leader's match
# index of a member it has not heard from yet is 0) is no longer waited for, the log is
# compacted past what it holds, and it must install a snapshot when it is back: a
# follower killed, paused or cut off for the longer faults, an old leader cut off or
# killed (6 and 7 installs in two 300 s runs).  KEEP also bounds how long an install may
# take: the leader goes on compacting while a node copies it, and the node catches up from
# the entries after the copy only if those are still in the leader's log (KEEP entries: 3
# to 5 s of writes; an install of the suite's 0.1 to 1.4 MB took 1.3 to 4.0 s on a 2-core
# machine running all five servers and the clients, the leader's log then starting 200 to
# 480 entries before the copy's index).
COMPACT_KEEP = 500
COMPACT_HOLD = 1000


def parse_compact(value: str) -> tuple[int, int] | None:
    """CHAOS_COMPACT: "" or "0": None (the defaults); "1": (COMPACT_KEEP, COMPACT_HOLD);
    "KEEP:HOLD": those two values."""
    value = (value or "").strip()
    if value in ("", "0"):
        return None
    if value == "1":
        return COMPACT_KEEP, COMPACT_HOLD
    try:
        keep, hold = (int(x) for x in value.split(":"))
    except ValueError:
        raise ValueError(f"{value!r}: 1, 0 or KEEP:HOLD (two numbers)") from None
    if keep < 1 or hold < 0:
        raise ValueError(f"{value!r}: KEEP at least 1, HOLD at least 0 (0: no limit)")
    return keep, hold


def snapshot_report(logs: list[str]) -> dict:
    """What the server logs say about snapshots: installs started, installed, failed (with
    their cause), and how often a node was told it needs one (its WARNING)."""
    import re
    rep = {"installed": [], "failed": [], "needed": 0, "started": 0}
    for path in logs:
        try:
            with open(path, errors="replace") as f:
                for line in f:
                    if "installed a snapshot of node" in line:
                        rep["installed"].append(line.strip())
                    elif "did not install a snapshot" in line:
                        rep["failed"].append(line.strip())
                    elif re.search(r"raft_ext: node \d+ needs a snapshot", line):
                        rep["needed"] += 1
                    elif "installs a snapshot of its leader" in line:
                        rep["started"] += 1
        except OSError:
            pass
    return rep


class Config:
    def __init__(self, **kw):
        self.time = float(kw.get("time", 600))
        self.seed = kw.get("seed")
        self.nodes = int(kw.get("nodes", 5))
        self.mix = kw.get("mix", "full")
        self.results = kw.get("results")
        self.threads = {"list-append": 4, "register": 4, "bank": 3}
        self.max_ops = int(kw.get("max_ops", 100000))  # per workload
        self.statement_timeout_ms = 2000
        self.converge_timeout = float(kw.get("converge_timeout", 60))
        self.final_timeout = float(kw.get("final_timeout", 180))
        self.disk = kw.get("disk", True)
        self.only = kw.get("only") or None
        self.compact = kw.get("compact")  # None, or (log_keep_entries, log_hold_entries)


def installed_library() -> str:
    """A fingerprint of the raft_ext.so that servers started now would load."""
    import hashlib
    libdir = subprocess.run([os.path.join(PGBIN, "pg_config"), "--pkglibdir"], capture_output=True,
                            text=True).stdout.strip()
    try:
        with open(os.path.join(libdir, "raft_ext.so"), "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return ""


def say(*a, **kw):
    print(*a, **kw, flush=True)


class Run:
    def __init__(self, cfg: Config):
        self.cfg = cfg
        if cfg.seed in (None, ""):
            cfg.seed = random.SystemRandom().randrange(1, 1 << 31)
        cfg.seed = int(cfg.seed)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        self.results = os.path.abspath(cfg.results or os.path.join(root, "chaos", "results",
                                                                   f"{stamp}-seed{cfg.seed}"))
        self.net = Network(cfg.nodes)
        self.cluster: Cluster | None = None
        self.clients: subprocess.Popen | None = None
        self.problems: list[str] = []
        self.warnings: list[str] = []

    # -- cleanup (also of a crashed earlier run)

    def cleanup(self) -> None:
        if self.clients is not None and self.clients.poll() is None:
            self.clients.kill()
            self.clients.wait(10)
        if self.cluster is not None:
            try:
                self.cluster.teardown()
            except Exception as e:  # noqa: BLE001 - cleanup goes on
                say(f"chaos: teardown: {e}")
        self.net.cleanup()
        disk = os.path.join(WORKDIR, "disk")
        if os.path.ismount(disk):
            subprocess.run(["umount", "-l", disk], capture_output=True)
        shutil.rmtree(WORKDIR, ignore_errors=True)

    # -- the run

    def main(self) -> int:
        ok, why = namespaces_available()
        if not ok:
            say(f"chaos: SKIP {why}")
            return SKIP
        # One chaos run at a time on a machine: a second one would remove the first one's
        # namespaces as leftovers.  flock is released when the process dies, however it dies.
        self._lock = open(LOCKFILE, "w")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"chaos: ERROR another chaos run holds {LOCKFILE}")
            return 2
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, lambda s, f: (_ for _ in ()).throw(KeyboardInterrupt(f"signal {s}")))
        started = time.monotonic()
        try:
            return self._run(started)
        except KeyboardInterrupt as e:
            say(f"chaos: interrupted ({e or 'Ctrl-C'}): cleaning up")
            return 2
        except Exception:  # noqa: BLE001 - the suite failed, not the product: say so, then clean up
            import traceback
            traceback.print_exc()
            say("chaos: ERROR the suite could not complete the run (traceback above)")
            return 2
        finally:
            self._keep_logs()
            self.cleanup()
            say(f"chaos: results in {self.results} ({time.monotonic() - started:.0f} s in all)")

    def _run(self, started: float) -> int:
        cfg = self.cfg
        os.makedirs(self.results, exist_ok=True)
        say(f"chaos: seed {cfg.seed}, {cfg.time:.0f} s, {cfg.nodes} nodes, {cfg.mix} fault mix; "
            f"results in {self.results}")
        conf_extra = ""
        if cfg.compact:
            keep, hold = cfg.compact
            conf_extra = (f"# CHAOS_COMPACT: a small log, so that nodes that fall behind install snapshots\n"
                          f"raft_ext.log_keep_entries = {keep}\nraft_ext.log_hold_entries = {hold}\n")
            say(f"chaos: compaction: raft_ext.log_keep_entries = {keep}, raft_ext.log_hold_entries = {hold}")
        left = self.net.ours()
        if left or os.path.exists(WORKDIR):
            say(f"chaos: removing what an earlier run left: {', '.join(left) or WORKDIR}")
        self.cleanup()
        self.net.create()
        if not self.net.netem:
            say("chaos: tc netem is not available in this kernel (no sch_netem): delay is not covered")
        disk_node = cfg.nodes if cfg.disk else None
        self.library = installed_library()
        self.cluster = Cluster(self.net, WORKDIR, disk_node, log=lambda m: say(f"chaos: {m}"))
        self.cluster.create(conf_extra)
        ok, sts = self.cluster.wait_converged(60)
        if not ok:
            raise RuntimeError(f"the new cluster elected no leader: {sts}")
        lead = self.cluster.leader_of(sts)
        for w in WORKLOADS.values():
            for stmt in w.setup:
                self.cluster.submit(lead, stmt)
        say(f"chaos: cluster up, node {lead} leads; namespaces {self.net.prefix}-n1..n{cfg.nodes} on "
            f"10.213.0.0/24, clients in {self.net.client_ns}")

        t0 = time.monotonic()
        log = nem.NemesisLog(os.path.join(self.results, "nemesis.jsonl"), t0, echo=say)
        log("start", f"seed {cfg.seed}, {cfg.time:.0f} s, {cfg.mix} mix, {cfg.nodes} nodes"
            + (f", log_keep_entries {cfg.compact[0]}, log_hold_entries {cfg.compact[1]}" if cfg.compact else ""))
        self._start_clients(t0)
        steps = nem.schedule(cfg.seed, cfg.time, cfg.mix, netem=self.net.netem, disk=cfg.disk,
                              only=cfg.only)
        nemesis = nem.Nemesis(self.cluster, self.net, log)
        warmup, tail = min(5.0, cfg.time / 10), min(15.0, cfg.time / 6)
        time.sleep(warmup)
        not_converged = 0
        for step in steps:
            now = time.monotonic() - t0
            if now + step.duration + 5 > cfg.time - tail:
                break
            undo = nemesis.apply(step)
            try:
                time.sleep(step.duration)
            finally:
                nemesis.heal(undo)
            w0 = time.monotonic()
            ok, sts = self.cluster.wait_converged(cfg.converge_timeout)
            if ok:
                log("converged", f"after {time.monotonic() - w0:.1f} s: node {self.cluster.leader_of(sts)} leads, "
                                 f"commit {max(s.commit for s in sts)}")
            else:
                not_converged += 1
                log("slow", f"not converged {cfg.converge_timeout:.0f} s after healing: "
                            + "; ".join(map(repr, sts)))
            time.sleep(step.gap)
        # the clients go on for the tail without faults: the healed cluster must serve them
        remaining = cfg.time - (time.monotonic() - t0)
        if remaining > 0:
            time.sleep(remaining)
        log("end", f"{nemesis.total()} faults; stopping the clients")
        self._stop_clients()

        self.net.heal_all()
        w0 = time.monotonic()
        ok, sts = self.cluster.wait_converged(cfg.final_timeout, quiesced=True)
        log("final", ("converged" if ok else "NOT converged") + f" after {time.monotonic() - w0:.1f} s: "
            + "; ".join(map(repr, sts)))
        log.close()
        if self.cluster.disk_node:
            st = os.statvfs(self.cluster.disk_mount())
            used = (st.f_blocks - st.f_bfree) * st.f_frsize >> 20
            say(f"chaos: node {self.cluster.disk_node}'s tmpfs data directory: {used} MB used of {self.cluster.disk_mb} MB")
        if installed_library() != self.library:
            # The servers load raft_ext.so when they start: a node restarted after another
            # `make install` on this machine runs another build than the others.
            self.warnings.append("the installed raft_ext.so changed during the run (another make install on "
                                 "this machine?): nodes restarted after that ran another build")
        if not ok:
            self.problems.append(f"no-convergence: the healed cluster did not converge within "
                                 f"{cfg.final_timeout:.0f} s: " + "; ".join(map(repr, sts)))
        else:
            self._compare_nodes(sts)
        verdicts = self._check(ok)
        self._summary(verdicts, nemesis, not_converged, started)
        png = plot.draw(self.results, f"raft_ext chaos: seed {cfg.seed}, {cfg.time:.0f} s, {cfg.nodes} nodes")
        if png:
            say(f"chaos: timeline plot {png}")
        if any(v.status == "FAIL" for v in verdicts.values()) or self.problems:
            return 1
        if any(v.status == "UNKNOWN" for v in verdicts.values()):
            return 3
        return 0

    # -- clients

    def _start_clients(self, t0: float) -> None:
        cfg = self.cfg
        conf = {
            "t0": t0, "duration": cfg.time, "seed": cfg.seed,
            "nodes": list(range(1, cfg.nodes + 1)),
            "addresses": {str(i): self.net.node_addr(i) for i in range(1, cfg.nodes + 1)},
            "statement_timeout_ms": cfg.statement_timeout_ms, "client_grace_s": 2.0,
            "connect_timeout_s": 2.0, "ops_per_connection": 20, "think_ms": 20,
            # CHAOS_COMPACT (the servers' settings, recorded with the run; the clients ignore it)
            "compact": ({"log_keep_entries": cfg.compact[0], "log_hold_entries": cfg.compact[1]}
                        if cfg.compact else None),
            "stop_file": os.path.join(self.results, "clients.stop"),
            "workloads": {name: {"threads": n, "max_ops": cfg.max_ops,
                                 "history": os.path.join(self.results, f"history-{name}.jsonl")}
                          for name, n in cfg.threads.items()},
        }
        path = os.path.join(self.results, "clients.json")
        with open(path, "w") as f:
            json.dump(conf, f, indent=1)
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ, PYTHONPATH=root)
        self.client_log = open(os.path.join(self.results, "clients.log"), "w")
        self.clients = subprocess.Popen(["ip", "netns", "exec", self.net.client_ns, sys.executable, "-m",
                                         "chaos.clients", path], cwd=root, env=env,
                                        stdout=self.client_log, stderr=subprocess.STDOUT)

    def _stop_clients(self) -> None:
        open(os.path.join(self.results, "clients.stop"), "w").close()
        try:
            self.clients.wait(timeout=self.cfg.statement_timeout_ms / 1000 + 30)
        except subprocess.TimeoutExpired:
            self.clients.kill()
            self.clients.wait(10)
            self.problems.append("clients: the client process did not stop by itself")
        if self.clients.returncode not in (0, None, -9):
            self.problems.append(f"clients: exited {self.clients.returncode} (see clients.log)")

    # -- final state

    def _compare_nodes(self, sts) -> None:
        """Beyond the checkers: the nodes' tables, row for row, and their raft_status."""
        c = self.cluster
        keys = {(s.term, s.commit, s.applied, s.last_log, s.leader) for s in sts}
        if len(keys) != 1:
            self.problems.append("status-divergence: raft_status differs: " + "; ".join(map(repr, sts)))
        bad = [s for s in sts if s.worker_state != "running"]
        if bad:
            self.problems.append("worker-state: " + "; ".join(map(repr, bad)))
        # A node whose outcome check failed says "diverged" (and stops applying).  Once
        # that was also a stale flag on nodes that applied everything (a check applied in
        # the same batch as the entries it covers did not see their outcomes; fixed in
        # src/apply.c): either way it is a failure.
        flagged = [s.node for s in sts if s.apply_state == "diverged"]
        if flagged:
            self.problems.append(f"diverged: raft_status.apply_worker_state is 'diverged' on node(s) "
                                 f"{','.join(map(str, flagged))}")
        for w in WORKLOADS.values():
            for table in w.tables:
                digests = {}
                for i in range(1, c.n + 1):
                    rows = c.sql(i, f"SELECT count(*), md5(coalesce(string_agg(t::text, ';' ORDER BY t::text), '')) "
                                    f"FROM {table} t", 10)
                    digests[i] = rows[0]
                if len(set(digests.values())) != 1:
                    self.problems.append(f"table-divergence: table {table} differs between nodes: {digests}")
                else:
                    n, _ = next(iter(digests.values()))
                    say(f"chaos: table {table}: {n} rows, identical on all {c.n} nodes")
        # raft_ext's own check: every node checksums every table at the same log index
        try:
            lead = c.leader_of(sts)
            idx = int(c.sql(lead, "SELECT raft_verify()", 10)[0][0])
            deadline = time.monotonic() + 60
            verdict = None
            while time.monotonic() < deadline:
                rows = c.sql(lead, f"SELECT bool_and(consistent), count(DISTINCT node_id) FROM raft_consistency "
                                   f"WHERE log_index = {idx}", 10)
                if rows and rows[0][0] is not None and int(rows[0][1]) == c.n:
                    verdict = rows[0][0] == "t"
                    break
                time.sleep(0.5)
            if verdict is None:
                say(f"chaos: raft_verify() at log index {idx}: no verdict within 60 s (not counted)")
            elif not verdict:
                problem = c.sql(lead, "SELECT last_check_problem FROM raft_status", 10)[0][0]
                self.problems.append(f"raft_verify: the nodes' checksums differ at log index {idx}: {problem}")
            else:
                say(f"chaos: raft_verify() at log index {idx}: consistent on all {c.n} nodes")
        except Exception as e:  # noqa: BLE001 - an extra check; its failure to run is reported, not fatal
            say(f"chaos: raft_verify() could not run: {e}")

    def _final_state(self, w) -> dict:
        nodes = {}
        for i in range(1, self.cluster.n + 1):
            nodes[str(i)] = w.final_value(self.cluster.sql(i, w.final_query, 30))
        return {"nodes": nodes}

    def _check(self, converged: bool) -> dict:
        verdicts = {}
        for name, w in WORKLOADS.items():
            hist = os.path.join(self.results, f"history-{name}.jsonl")
            final = os.path.join(self.results, f"final-{name}.json")
            if not os.path.exists(hist):
                self.problems.append(f"{name}: no history was written (see clients.log)")
                continue
            try:
                state = self._final_state(w)
            except Exception as e:  # noqa: BLE001
                self.problems.append(f"{name}: could not read the final state: {e}")
                continue
            with open(final, "w") as f:
                json.dump(state, f)
            result = check(hist, final)
            verdicts[name] = result
            with open(os.path.join(self.results, f"check-{name}.txt"), "w") as f:
                f.write(result.render() + "\n")
            say(f"chaos: {name}: {result.render().splitlines()[0]}")
        return verdicts

    def _summary(self, verdicts: dict, nemesis, not_converged: int, started: float) -> None:
        counts = {"ops": 0, "ok": 0, "fail": 0, "info": 0}
        for v in verdicts.values():
            for k in counts:
                counts[k] += v.counts.get(k, 0)
        kinds = ", ".join(f"{k}={n}" for k, n in sorted(nemesis.counts.items()))
        say(f"chaos: faults by kind: {kinds or 'none'}")
        covered = [] if self.net.netem else ["delay (no tc netem in this kernel)"]
        covered.append("clock jumps (not safe here: CLOCK_REALTIME is machine-wide, "
                       "time namespaces do not offset it)")
        say(f"chaos: not covered: {'; '.join(covered)}")
        snap = snapshot_report([os.path.join(WORKDIR, f"node{i}", "server.log")
                                for i in range(1, self.cfg.nodes + 1)])
        snap_line = ""
        if self.cfg.compact or snap["installed"] or snap["failed"]:
            snap_line = (f"snapshots: {len(snap['installed'])} installed, {len(snap['failed'])} failed, "
                         f"{snap['started']} started by a node itself (auto_snapshot), "
                         f"{snap['needed']} 'needs a snapshot' warnings (server logs)")
            say(f"chaos: {snap_line}")
            for ln in snap["failed"][:10]:
                say(f"  {ln}")
            if self.cfg.compact and not snap["installed"]:
                self.warnings.append("CHAOS_COMPACT: no node installed a snapshot in this run")
        for w in self.warnings:
            say(f"chaos: WARNING {w}")
        if not_converged:
            say(f"chaos: {not_converged} heal(s) took longer than {self.cfg.converge_timeout:.0f} s to converge")
        line = (f"ops={counts['ops']} ok={counts['ok']} fail={counts['fail']} unknown={counts['info']} "
                f"faults={nemesis.total()} seed={self.cfg.seed} time={time.monotonic() - started:.0f}s")
        failed = [(n, v) for n, v in verdicts.items() if v.status == "FAIL"]
        summary_path = os.path.join(self.results, "summary.txt")
        with open(summary_path, "w") as f:
            if failed:
                name, v = failed[0]
                text = f"chaos: FAIL {name} {v.rule}: {v.message} ({line})"
                f.write(text + "\n" + "\n".join(v.excerpt) + "\n")
                say(text)
                for ex in v.excerpt[:40]:
                    say("  " + ex)
            elif self.problems:
                text = f"chaos: FAIL {self.problems[0]} ({line})"
                f.write(text + "\n" + "\n".join(self.problems[1:]) + "\n")
                say(text)
                for p in self.problems[1:]:
                    say("  " + p)
            elif any(v.status == "UNKNOWN" for v in verdicts.values()):
                text = f"chaos: UNKNOWN {line}"
                f.write(text + "\n")
                say(text)
            else:
                text = f"chaos: PASS {line}"
                f.write(text + "\n")
                say(text)
            f.write(f"faults by kind: {kinds}\n")
            if snap_line:
                f.write(snap_line + "\n")
            for w in self.warnings:
                f.write(f"warning: {w}\n")

    def _keep_logs(self) -> None:
        if not os.path.isdir(self.results):
            return
        for i in range(1, self.cfg.nodes + 1):
            src = os.path.join(WORKDIR, f"node{i}", "server.log")
            if os.path.exists(src):
                shutil.copy(src, os.path.join(self.results, f"server-node{i}.log"))
