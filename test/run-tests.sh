#!/usr/bin/env bash
# Runs each C test program given; a program passes when it exits 0.
# Ends with the plain closing line "N passed, N failed" (programs).
passed=0; failed=0
for t in "$@"; do
	if "$t"; then passed=$((passed+1)); else failed=$((failed+1)); echo "FAILED: $t"; fi
done
echo "core tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
