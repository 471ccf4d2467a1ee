"""Fault-injection (Jepsen-style) test tooling for raft_ext.

Only the history checkers live here so far, in :mod:`chaos.checker`.
"""
