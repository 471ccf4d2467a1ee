"""Command line: ``python3 -m chaos.checker HISTORY.jsonl FINAL.json [--max-states N]``.

Prints one summary line (then, for a violation, the history excerpt) and exits 0 on PASS,
1 on a violation, 2 on malformed input and 3 when a search was too large to decide.
"""

from __future__ import annotations

import argparse
import sys

from . import DEFAULT_MAX_STATES, MalformedInput, check

EXIT_MALFORMED = 2


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text}") from None
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 -m chaos.checker",
        description="Check a raft_ext chaos-test history for consistency violations.")
    parser.add_argument("history", help="the history, JSON Lines (header line first)")
    parser.add_argument("final", help="the nodes' final state, JSON")
    parser.add_argument("--max-states", type=_positive, default=DEFAULT_MAX_STATES,
                        help="register workload: give up on a key after exploring this many "
                             f"search states (default {DEFAULT_MAX_STATES})")
    args = parser.parse_args(argv)
    try:
        result = check(args.history, args.final, max_states=args.max_states)
    except MalformedInput as e:
        print(f"check: MALFORMED {e}")
        return EXIT_MALFORMED
    except OSError as e:
        print(f"check: MALFORMED cannot read {e.filename}: {e.strerror}")
        return EXIT_MALFORMED
    print(result.render())
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
