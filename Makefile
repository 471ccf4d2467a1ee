# raft_ext — top-level Makefile (PGXS).
#
#   make                 build raft_ext.so (warnings are errors; gcc or `make CC=clang`)
#   make install         install into the PostgreSQL that $(PG_CONFIG) describes
#   make installcheck    pg_regress (sql/, expected/) on a temporary instance, then the
#                        TAP tests (test/t/*.pl); PGXS's usual way, as a non-root user,
#                        after `make install`
#   make test            the whole suite, the one command CI runs: dependencies, build,
#                        core C tests, install, pg_regress, TAP (scripts/run-tests.sh)
#   make deps            install the build/test dependencies (scripts/install-deps.sh)
#   make deb             the Debian package, in build/deb/ (mk/deb.mk; make deb-test tests it)
#   make clean           also cleans test/
#
# Source files are picked up by wildcard: add src/*.c, src/raft/*.c, sql/*.sql,
# test/t/*.pl without touching this file.

# Debian's /usr/bin/pg_config may describe another major version (or only
# libpq): prefer PostgreSQL 15's own.
PG_CONFIG ?= $(firstword $(wildcard /usr/lib/postgresql/15/bin/pg_config) pg_config)

EXTENSION  = raft_ext
MODULE_big = raft_ext
OBJS = raft_ext.o $(patsubst %.c,%.o,$(sort $(wildcard src/*.c src/raft/*.c)))
DATA = $(sort $(wildcard raft_ext--*.sql))

# pg_regress: every sql/NAME.sql, compared with expected/NAME.out, in name order,
# on a temporary instance configured by test/regress.conf (a one-node cluster
# preloading raft_ext).  It listens on 127.0.0.1:$(REGRESS_PORT), the address
# regress.conf's raft_ext.peers gives for node 1: keep the two in step.
# (If that port is busy, pg_regress moves to the next free one and says so.)
REGRESS := $(sort $(basename $(notdir $(wildcard sql/*.sql))))
REGRESS_PORT = 55410
REGRESS_OPTS = --temp-instance=./tmp_regress --temp-config=test/regress.conf \
	--host=127.0.0.1 --port=$(REGRESS_PORT)
# Same results whatever the machine's locale: C locale, UTF8 encoding.
NO_LOCALE = 1
ENCODING = UTF8

# TAP tests (PostgreSQL::Test::Cluster): every test/t/*.pl, when there are any.
# (REGRESS and TAP_TESTS use := because PGXS tests them with ifdef.)
TAP_TESTS := $(if $(wildcard test/t/*.pl),1)
PROVE_TESTS = $(sort $(wildcard test/t/*.pl))

EXTRA_CLEAN = tmp_regress/ tmp_check/ results/ log/ regression.diffs regression.out build/deb/

PG_CPPFLAGS = -I$(libpq_srcdir) -Isrc -Isrc/raft
SHLIB_LINK += -L$(shell $(PG_CONFIG) --libdir) -lpq

# Warnings are errors (pg_cron's habit).  The -Wno-* keep PostgreSQL's
# idioms quiet under -Wextra: PG_FUNCTION_ARGS and hook signatures
# (unused-parameter), size macros such as VARSIZE_ANY_EXHDR compared with ints
# (sign-compare), {NULL}-terminated option tables (missing-field-initializers).
# PostgreSQL was configured with gcc, so under clang PGXS's CFLAGS hold options
# clang does not know, and its headers use format(gnu_printf, ...), which clang
# ignores: those warnings are switched off for clang only (the gcc build still
# checks printf formats).
PG_CFLAGS = -Wall -Wextra -Werror \
	-Wno-unused-parameter -Wno-sign-compare -Wno-missing-field-initializers \
	$(if $(findstring clang,$(shell $(CC) --version 2>/dev/null)),\
	-Wno-unknown-warning-option -Wno-ignored-optimization-argument \
	-Wno-ignored-attributes -Wno-compound-token-split-by-macro)

# No LLVM bitcode (it is only for JIT inlining, and needs clang at install).
override with_llvm = no

# pg_regress's database: the one regress.conf's raft_ext.database names.
override USE_MODULE_DB =

PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(wildcard $(PGXS)),)
include $(PGXS)
# PGXS tracks no header dependencies: a changed struct in a header must
# rebuild every object that may use it.
$(OBJS): $(wildcard src/*.h src/raft/*.h)
CONTRIB_TESTDB = contrib_regression
# Perl helper modules for the TAP tests live in test/perl (or beside them).
PG_PROVE_FLAGS += -I $(srcdir)/test/perl -I $(srcdir)/test/t
else
all install installcheck:
	@echo "raft_ext: PostgreSQL 15 development files not found (PG_CONFIG=$(PG_CONFIG))." >&2
	@echo "raft_ext: run 'make deps' (scripts/install-deps.sh) or set PG_CONFIG." >&2
	@exit 1
clean:
	rm -f raft_ext.so raft_ext.o src/*.o src/raft/*.o
	rm -rf $(EXTRA_CLEAN)
endif

.PHONY: test deps regresscheck tapcheck clean-test sim fuzz

# More simulation seeds than make test runs: make sim SEEDS=20000 [START=S]
# (a failing seed prints the one command that replays it with its trace).
SEEDS ?= 20000
sim:
	+$(MAKE) -C test sim SEEDS=$(SEEDS) $(if $(START),SIM_ARGS='--start $(START)')

# libFuzzer on the wire decoder: make fuzz FUZZ_TIME=300
fuzz:
	+$(MAKE) -C test fuzz $(if $(FUZZ_TIME),FUZZ_TIME=$(FUZZ_TIME))

# The fault-injection suite (chaos/; README, "Fault injection (make chaos)"), as root:
# real servers in network namespaces, faults, three workloads, the history checkers.
#   make chaos [CHAOS_TIME=600] [CHAOS_SEED=N] [CHAOS_NODES=5] [CHAOS_MIX=full|mild]
#              [CHAOS_COMPACT=1]  (a small log: nodes that fall behind install snapshots)
# It bounds itself; the timeout is a last resort against a hang.
CHAOS_TIME ?= 600
.PHONY: chaos
chaos: cluster-install
	@CHAOS_TIME='$(CHAOS_TIME)' CHAOS_SEED='$(CHAOS_SEED)' CHAOS_NODES='$(CHAOS_NODES)' \
		CHAOS_MIX='$(CHAOS_MIX)' CHAOS_RESULTS='$(CHAOS_RESULTS)' CHAOS_COMPACT='$(CHAOS_COMPACT)' \
		timeout -k 30 $$(( $(firstword $(subst ., ,$(CHAOS_TIME))) * 2 + 900 )) python3 -m chaos

# The one test command (test/ is a directory, hence .PHONY above).
test:
	+@MAKE='$(MAKE)' bash scripts/run-tests.sh

deps:
	@bash scripts/install-deps.sh

# The two halves of installcheck, run separately by scripts/run-tests.sh.
regresscheck:
ifneq ($(strip $(REGRESS)),)
	$(pg_regress_installcheck) $(REGRESS_OPTS) $(REGRESS)
else
	@echo "no pg_regress tests: sql/*.sql is empty"
endif

tapcheck:
ifneq ($(strip $(TAP_TESTS)),)
	$(prove_installcheck)
else
	@echo "no TAP tests: test/t/*.pl is empty"
endif

clean: clean-test
clean-test:
	$(if $(wildcard test/Makefile),$(MAKE) -C test clean)
include mk/cluster.mk
include mk/deb.mk
