"""Fault-injection (Jepsen-style) test tooling for raft_ext: ``python3 -m chaos`` (make chaos).

  runner.py     one run, start to finish (README, "Fault injection (make chaos)")
  netns.py      network namespaces on a bridge of the suite's own; nftables faults
  cluster.py    the PostgreSQL servers: create, start, kill -9, SIGSTOP, a full disk, status
  nemesis.py    which faults, from the seed; injecting and healing them
  workloads.py  list-append, register, bank: operations, statements, final state
  clients.py    the client process (in its own namespace): threads, histories
  outcome.py    error -> fail or info, per the README's SQLSTATE table
  history.py    the history file (the checker's format)
  pgwire.py     a minimal PostgreSQL client with explicit deadlines
  plot.py       the timeline PNG (gnuplot)
  checker/      the history checkers (their own README)
"""
