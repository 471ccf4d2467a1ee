"""The PostgreSQL servers of a chaos run, one per network namespace.

Each node is configured as scripts/raftctl configures its loopback nodes (same settings,
one login role per node, raft_ext.peer_roles), except that the peers' roles are not
superusers but get the grants of README "The peers' login roles" (pg_read_all_data
included, which a snapshot install needs), and that it listens on its own address on
the suite's bridge, port 5432, and its peers are the other namespaces' addresses.  The
servers run as the ``postgres`` OS user (PostgreSQL refuses root), started with
``ip netns exec NS runuser -u postgres -- pg_ctl ...`` so that they and all their children
live in the node's namespace.

The suite's own control traffic (status, convergence, final state) goes over each node's
Unix socket, which no network fault touches: like Jepsen's SSH, the control plane must not
be part of the experiment.  The clients of the workloads use TCP over the bridge.

One node (``disk_node``) keeps its data directory on a small tmpfs of its own, for the
disk-full fault: filling it makes that node's WAL and table writes fail with ENOSPC, and
removing the filler heals it (the tmpfs is mounted before the server starts and unmounted
after it stopped).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import time

from .netns import SUBNET, Network, sh
from .pgwire import Connection, ConnectFailed, ConnectionLost, PgError

PGBIN = "/usr/lib/postgresql/15/bin"
PG_USER = "postgres"
DB = "postgres"
# README, "The peers' login roles": what every node grants every peer's role
PEER_GRANTS = ["GRANT USAGE ON SCHEMA raft_ext",
               "GRANT EXECUTE ON PROCEDURE raft_ext.deliver_stream()",
               "GRANT EXECUTE ON FUNCTION raft_ext.deliver(bytea)",
               "GRANT EXECUTE ON FUNCTION raft_ext.forward_submit(bytea, integer, bigint)",
               "GRANT pg_read_all_data"]
STATUS_SQL = ("SELECT node_id, role, term, coalesce(leader_id, 0), commit_index, last_applied, "
              "last_log_index, worker_state, apply_worker_state, coalesce(last_apply_error, '') "
              "FROM raft_status")


class NodeStatus:
    def __init__(self, node: int, row: tuple | None, problem: str = ""):
        self.node = node
        self.up = row is not None
        self.problem = problem
        if row is not None:
            (_, self.role, term, leader, commit, applied, last, self.worker_state,
             self.apply_state, self.apply_error) = row
            # NULLs while the Raft worker is starting
            self.term, self.leader = int(term or 0), int(leader or 0)
            self.commit, self.applied, self.last_log = int(commit or 0), int(applied or 0), int(last or 0)

    def __repr__(self) -> str:
        if not self.up:
            return f"node {self.node}: {self.problem}"
        return (f"node {self.node}: {self.role} term {self.term} leader {self.leader} commit {self.commit} "
                f"applied {self.applied} last_log {self.last_log} {self.worker_state}/{self.apply_state}"
                + (f" ({self.apply_error})" if self.apply_error else ""))


class Cluster:
    def __init__(self, net: Network, workdir: str, disk_node: int | None, disk_mb: int = 768,
                 log=print):
        self.net = net
        self.n = net.nodes
        self.workdir = workdir
        self.disk_node = disk_node
        self.disk_mb = disk_mb
        self.log = log
        self.paused: dict[int, list[int]] = {}
        pw = pwd.getpwnam(PG_USER)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid

    # -- paths

    def node_dir(self, i: int) -> str:
        return os.path.join(self.workdir, f"node{i}")

    def data_dir(self, i: int) -> str:
        return os.path.join(self.node_dir(i), "data")

    def log_file(self, i: int) -> str:
        return os.path.join(self.node_dir(i), "server.log")

    def disk_mount(self) -> str:
        return os.path.join(self.workdir, "disk")

    def filler(self) -> str:
        return os.path.join(self.disk_mount(), "filler")

    # -- creation

    def _as_pg(self, args: list[str], ns: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        cmd = ["runuser", "-u", PG_USER, "--"] + args
        if ns:
            cmd = ["ip", "netns", "exec", ns] + cmd
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd="/")

    def _chown(self, path: str) -> None:
        os.chown(path, self.uid, self.gid)

    def create(self, conf_extra: str = "") -> None:
        os.makedirs(self.workdir, exist_ok=True)
        os.chmod(self.workdir, 0o755)
        template = os.path.join(self.workdir, "template")
        os.makedirs(template, mode=0o700)
        self._chown(template)
        p = self._as_pg([f"{PGBIN}/initdb", "-D", template, "-U", PG_USER, "-A", "trust", "-E", "UTF8",
                         "--locale=C", "-N"])
        if p.returncode != 0:
            raise RuntimeError(f"initdb failed: {p.stderr[-2000:]}")
        for i in range(1, self.n + 1):
            os.makedirs(self.node_dir(i), mode=0o700)
            self._chown(self.node_dir(i))
            if i == self.disk_node:
                mnt = self.disk_mount()
                os.makedirs(mnt, exist_ok=True)
                sh(["mount", "-t", "tmpfs", "-o", f"size={self.disk_mb}m,mode=0755", "rxc-disk", mnt])
                self._chown(mnt)
                # the data directory lives on the tmpfs; node<i>/data points there
                target = os.path.join(mnt, "data")
                sh(["cp", "-a", template, target])
                os.symlink(target, self.data_dir(i))
            else:
                sh(["cp", "-a", template, self.data_dir(i)])
            self._write_conf(i, conf_extra)
        shutil.rmtree(template)
        for i in range(1, self.n + 1):
            self.start(i)
        roles = ", ".join(f"raft_node{k}" for k in range(1, self.n + 1))
        for i in range(1, self.n + 1):
            c = self.admin(i)
            try:
                # The peers' login roles as README "The peers' login roles" sets them up: one
                # role per node, not a superuser, with the grants the nodes need of each other,
                # made on every node through the write guard's escape hatch (the nodes cannot
                # talk before they exist).  pg_read_all_data: a node installing a snapshot
                # reads everything on the member it copies, as its role there.
                for k in range(1, self.n + 1):
                    c.query(f"CREATE ROLE raft_node{k} LOGIN", 10)
                c.query("CREATE EXTENSION raft_ext", 30)
                c.query("SET raft_ext.local_writes = on", 10)
                for grant in PEER_GRANTS:
                    c.query(f"{grant} TO {roles}", 10)
            finally:
                c.close()

    def _write_conf(self, i: int, extra: str) -> None:
        peers = ",".join(f"{k}=postgresql://raft_node{i}@{self.net.node_addr(k)}:5432/{DB}"
                         for k in range(1, self.n + 1))
        roles = ", ".join(f"{k}=raft_node{k}" for k in range(1, self.n + 1))
        with open(os.path.join(self.data_dir(i), "postgresql.conf"), "a") as f:
            f.write(f"""
# ---- chaos suite: node {i} in network namespace {self.net.node_ns(i)} ----
listen_addresses = '{self.net.node_addr(i)}'
port = 5432
unix_socket_directories = '{self.node_dir(i)}'
max_connections = 100
log_line_prefix = '%m [%p] %q%a '
shared_preload_libraries = 'raft_ext'
raft_ext.node_id = {i}
raft_ext.peers = '{peers}'
raft_ext.peer_roles = '{roles}'
raft_ext.database = '{DB}'
raft_ext.election_timeout_min = 150
raft_ext.election_timeout_max = 300
raft_ext.heartbeat_interval = 50
# keep pg_wal small: one node's data directory is a small tmpfs (the disk-full fault)
max_wal_size = '96MB'
min_wal_size = '32MB'
{extra}
""")
        with open(os.path.join(self.data_dir(i), "pg_hba.conf"), "w") as f:
            f.write("# chaos suite: the suite's own bridge only, trust\n"
                    "local all all trust\n"
                    f"host all all {SUBNET}.0/24 trust\n")

    # -- processes

    def postmaster_pid(self, i: int) -> int | None:
        try:
            with open(os.path.join(self.data_dir(i), "postmaster.pid")) as f:
                pid = int(f.readline())
        except (OSError, ValueError):
            return None
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
        except OSError:
            return None
        if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X") or not comm.startswith(("postgres", "postmaster")):
            return None
        return pid

    @staticmethod
    def children(pid: int) -> list[int]:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
        return [int(x) for x in out.split()]

    def running(self, i: int) -> bool:
        return self.postmaster_pid(i) is not None

    def start(self, i: int) -> bool:
        if self.running(i):
            return True
        self._clean_stale(i)
        p = self._as_pg([f"{PGBIN}/pg_ctl", "-D", self.data_dir(i), "-l", self.log_file(i), "-w", "-t", "60",
                         "-s", "start"], ns=self.net.node_ns(i), timeout=90)
        if p.returncode != 0:
            self.log(f"node {i} did not start: {(p.stderr or p.stdout).strip()[-300:]}")
            return False
        return True

    def _clean_stale(self, i: int) -> None:
        pidfile = os.path.join(self.data_dir(i), "postmaster.pid")
        if os.path.exists(pidfile) and not self.running(i):
            os.unlink(pidfile)
        self.paused.pop(i, None)

    def kill(self, i: int) -> bool:
        """kill -9 of the postmaster and every child at once, as a crash of the machine
        would (the postmaster alone would leave children holding its shared memory)."""
        pm = self.postmaster_pid(i)
        if pm is None:
            return False
        pids = [pm] + self.children(pm)
        for p in pids:
            for sig in (signal.SIGKILL, signal.SIGCONT):
                try:
                    os.kill(p, sig)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(os.path.exists(f"/proc/{p}") and _alive(p) for p in pids):
            time.sleep(0.02)
        self._clean_stale(i)
        return True

    def pause(self, i: int) -> bool:
        pm = self.postmaster_pid(i)
        if pm is None or i in self.paused:
            return False
        os.kill(pm, signal.SIGSTOP)  # first, so that it forks no new child meanwhile
        pids = [pm] + self.children(pm)
        for p in pids[1:]:
            try:
                os.kill(p, signal.SIGSTOP)
            except ProcessLookupError:
                pass
        self.paused[i] = pids
        return True

    def resume(self, i: int) -> bool:
        pids = self.paused.pop(i, None)
        if pids is None:
            return False
        pm = self.postmaster_pid(i)
        if pm is not None:
            pids = sorted(set(pids + [pm] + self.children(pm)))
        for p in pids:
            try:
                os.kill(p, signal.SIGCONT)
            except ProcessLookupError:
                pass
        return True

    def stop_all(self) -> None:
        for i in range(1, self.n + 1):
            if i in self.paused:
                self.resume(i)
            if self.running(i):
                p = self._as_pg([f"{PGBIN}/pg_ctl", "-D", self.data_dir(i), "-m", "immediate", "-w", "-t", "20",
                                 "-s", "stop"], ns=self.net.node_ns(i), timeout=40)
                if p.returncode != 0 or self.running(i):
                    self.kill(i)

    # -- disk

    def fill_disk(self) -> int:
        """Fill the disk node's tmpfs to the last byte; returns the bytes taken."""
        st = os.statvfs(self.disk_mount())
        free = st.f_bavail * st.f_frsize
        with open(self.filler(), "wb") as f:
            try:
                os.posix_fallocate(f.fileno(), 0, max(free, 4096))
            except OSError:
                pass  # ENOSPC past the last page: the disk is full, which is the point
        return free

    def free_disk(self) -> None:
        try:
            os.unlink(self.filler())
        except FileNotFoundError:
            pass

    def teardown(self) -> None:
        self.stop_all()
        if self.disk_node is not None and os.path.ismount(self.disk_mount()):
            subprocess.run(["umount", "-l", self.disk_mount()], capture_output=True)

    # -- SQL over the Unix socket (the control plane)

    def admin(self, i: int, timeout: float = 3) -> Connection:
        return Connection(self.node_dir(i), 5432, user=PG_USER, database=DB, connect_timeout=timeout,
                          application_name="chaos-control")

    def sql(self, i: int, query: str, timeout: float = 3) -> list[tuple]:
        c = self.admin(i, timeout)
        try:
            return c.query(query, timeout)
        finally:
            c.close()

    def status(self, i: int, timeout: float = 2) -> NodeStatus:
        if i in self.paused:
            return NodeStatus(i, None, "paused")
        if not self.running(i):
            return NodeStatus(i, None, "down")
        try:
            rows = self.sql(i, STATUS_SQL, timeout)
            return NodeStatus(i, rows[0])
        except (ConnectFailed, ConnectionLost, PgError) as e:
            return NodeStatus(i, None, " ".join(str(e).split())[:120])

    def statuses(self) -> list[NodeStatus]:
        return [self.status(i) for i in range(1, self.n + 1)]

    @staticmethod
    def leader_of(sts: list[NodeStatus]) -> int:
        """The leader every answering node agrees on (same term, same leader), or 0."""
        up = [s for s in sts if s.up]
        leaders = [s for s in up if s.role == "leader"]
        if not up or len(leaders) != 1:
            return 0
        lead = leaders[0]
        if all(s.term == lead.term and s.leader == lead.node for s in up):
            return lead.node
        return 0

    def current_leader(self, timeout: float = 0) -> int:
        """Who leads: the node claiming leadership in the highest term (not necessarily
        agreed by every node: enough to aim a fault at it).  0 if none within timeout."""
        deadline = time.monotonic() + timeout
        while True:
            sts = [s for s in self.statuses() if s.up and s.role == "leader"]
            if sts:
                return max(sts, key=lambda s: s.term).node
            if time.monotonic() >= deadline:
                return 0
            time.sleep(0.2)

    def wait_converged(self, timeout: float, quiesced: bool = False) -> tuple[bool, list[NodeStatus]]:
        """Until every node runs and answers, one leader is agreed, and every node has
        applied the leader's commit index as it was when agreement was first seen (with
        clients still writing, that target does not move away).  ``quiesced``: also every
        node at the same commit, applied and last log index (no client writing)."""
        deadline = time.monotonic() + timeout
        target = None
        sts: list[NodeStatus] = []
        while True:
            for i in range(1, self.n + 1):
                if not self.running(i) and i not in self.paused:
                    self.log(f"node {i} is down: starting it")
                    self.start(i)
            sts = self.statuses()
            lead = self.leader_of(sts)
            if lead and all(s.up for s in sts) and all(s.worker_state == "running" for s in sts):
                lst = sts[lead - 1]
                if target is None:
                    target = lst.commit
                if quiesced:
                    done = all(s.applied == lst.commit == s.commit and s.last_log == lst.last_log for s in sts)
                else:
                    done = all(s.applied >= target for s in sts)
                if done:
                    return True, sts
            if time.monotonic() >= deadline:
                return False, sts
            time.sleep(0.25)

    def submit(self, i: int, statement: str, timeout: float = 10) -> tuple:
        from .pgwire import literal
        return self.sql(i, f"SELECT * FROM raft_submit({literal(statement)})", timeout)[0]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False
