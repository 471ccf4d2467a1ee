"""Unit tests of the history checkers.

Run from the repository root: python3 -m unittest discover -s chaos/checker/tests -t .
"""
