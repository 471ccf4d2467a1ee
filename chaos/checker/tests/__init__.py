"""Unit tests of the history checkers (run: python3 -m unittest discover -s chaos/checker/tests -t .)."""
