"""python3 -m chaos [--time S] [--seed N] [--nodes N] [--mix full|mild] [--results DIR] [--compact 1|KEEP:HOLD]

The fault-injection suite (chaos/README.md; `make chaos` runs it as root).  Settings also
come from the environment: CHAOS_TIME, CHAOS_SEED, CHAOS_NODES, CHAOS_MIX, CHAOS_RESULTS, CHAOS_FAULTS,
CHAOS_COMPACT.
"""

import argparse
import os
import sys

from .runner import COMPACT_HOLD, COMPACT_KEEP, Config, Run, parse_compact


def main() -> int:
    env = os.environ.get
    p = argparse.ArgumentParser(prog="python3 -m chaos", description=__doc__.splitlines()[2])
    p.add_argument("--time", type=float, default=float(env("CHAOS_TIME") or 600),
                   help="seconds of faults and client load (default 600)")
    p.add_argument("--seed", default=env("CHAOS_SEED") or None, help="default: random, printed")
    p.add_argument("--nodes", type=int, default=int(env("CHAOS_NODES") or 5))
    p.add_argument("--mix", choices=["full", "mild"], default=env("CHAOS_MIX") or "full",
                   help="full: every fault kind, alone and combined; mild: one partition, kill or "
                        "pause at a time (make test's short run)")
    p.add_argument("--results", default=env("CHAOS_RESULTS") or None,
                   help="default: chaos/results/<date>-seed<seed>/")
    p.add_argument("--faults", default=env("CHAOS_FAULTS") or "",
                   help="comma-separated fault kinds: only these, one at a time (chaos/nemesis.py)")
    p.add_argument("--no-disk", action="store_true", help="no disk-full fault (no tmpfs)")
    p.add_argument("--compact", default=env("CHAOS_COMPACT") or "",
                   help="1: a small raft_ext.log_keep_entries and log_hold_entries "
                        f"({COMPACT_KEEP}:{COMPACT_HOLD}), so that nodes that fall behind install "
                        "snapshots; KEEP:HOLD: these two values; 0 or empty: the defaults")
    a = p.parse_args()
    if a.nodes < 3 or a.nodes > 9:
        p.error("--nodes: 3 to 9")
    from .nemesis import DISK, NETWORK, PROCESS
    only = [k for k in a.faults.split(",") if k]
    for k in only:
        if k not in NETWORK + PROCESS + DISK + ["delay"]:
            p.error(f"--faults: no fault kind {k!r} (kinds: {', '.join(NETWORK + PROCESS + DISK + ['delay'])})")
    try:
        compact = parse_compact(a.compact)
    except ValueError as e:
        p.error(f"--compact: {e}")
    cfg = Config(time=a.time, seed=a.seed, nodes=a.nodes, mix=a.mix, results=a.results,
                 disk=not a.no_disk, only=only, compact=compact)
    return Run(cfg).main()


if __name__ == "__main__":
    sys.exit(main())
