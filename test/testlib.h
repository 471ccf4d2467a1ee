/*
 * testlib.h — the few macros the core's C tests share.
 *
 * A test program counts its checks; CHECK records a failure with file and
 * line and carries on, REQUIRE stops the current test function.  Each program
 * ends with test_summary(), which prints "N passed, N failed" and returns the
 * exit status.
 */
#ifndef RAFT_TESTLIB_H
#define RAFT_TESTLIB_H

#include <stdio.h>
#include <stdlib.h>

static int	test_passed_count;
static int	test_failed_count;
static const char *test_current_name = "";

#define CHECK(cond) \
	do { \
		if (cond) \
			test_passed_count++; \
		else \
		{ \
			test_failed_count++; \
			fprintf(stderr, "%s:%d: %s: check failed: %s\n", \
					__FILE__, __LINE__, test_current_name, #cond); \
		} \
	} while (0)

#define REQUIRE(cond) \
	do { \
		if (!(cond)) \
		{ \
			test_failed_count++; \
			fprintf(stderr, "%s:%d: %s: requirement failed: %s\n", \
					__FILE__, __LINE__, test_current_name, #cond); \
			return; \
		} \
		test_passed_count++; \
	} while (0)

#define RUN_TEST(fn) \
	do { \
		int failed_before_ = test_failed_count; \
		test_current_name = #fn; \
		fn(); \
		printf("%s %s\n", test_failed_count == failed_before_ ? "ok  " : "FAIL", #fn); \
	} while (0)

static inline int
test_summary(const char *program)
{
	printf("%s: %d passed, %d failed\n", program, test_passed_count, test_failed_count);
	return test_failed_count == 0 ? 0 : 1;
}

#endif
