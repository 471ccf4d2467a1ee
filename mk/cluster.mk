# mk/cluster.mk — run raft_ext like a user: a local three-node cluster, the
# guided demo, the live view and the benchmark.  Included from the end of the
# top-level Makefile (`include mk/cluster.mk`).
#
#   make cluster       install what is missing (scripts/install-deps.sh), build,
#                      install, then create and start a three-node cluster on
#                      127.0.0.1:55501-55503 (scripts/raftctl create 3), wait for
#                      the election and print how to connect
#   make cluster-stop  stop the cluster and remove its directory (raftctl destroy)
#   make demo          the guided tour: writes, kill -9 of the leader, failover,
#                      catch-up (creates the cluster first when there is none)
#   make watch         live view of the cluster, redrawn every 0.5 s (Ctrl-C quits)
#   make bench         the benchmark (bench/run.sh): plain PostgreSQL vs synchronous
#                      replication vs raft_ext, failover and catch-up; report and
#                      plot in bench/results/
#   make bench-smoke   a seconds-long run of the benchmark that checks its report
#                      is well formed (for make test; needs the extension installed)
#
# Settings, from the environment or the command line: RAFT_NODES (3),
# RAFT_CLUSTER_DIR (/tmp/raft_ext-cluster), RAFT_BASE_PORT (55501), the other
# RAFT_* of scripts/raftctl, and BENCH_* of bench/run.sh (bench/run.sh --help).

RAFT_MK_ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)
# Keep the including Makefile's default goal (`make` alone builds), wherever
# this file is included.
raft_mk_default_goal := $(.DEFAULT_GOAL)

RAFT_NODES ?= 3
RAFTCTL = RAFTCTL_NAME=scripts/raftctl $(RAFT_MK_ROOT)/scripts/raftctl
BENCH_SMOKE_TIMEOUT ?= 240

.PHONY: cluster cluster-install cluster-stop demo watch bench bench-smoke

# dependencies, build, install (what make test does first)
cluster-install:
	@bash $(RAFT_MK_ROOT)/scripts/install-deps.sh
	+@$(MAKE) --no-print-directory -C $(RAFT_MK_ROOT)
	+@$(MAKE) --no-print-directory -C $(RAFT_MK_ROOT) install

cluster: cluster-install
	@$(RAFTCTL) create $(RAFT_NODES)

cluster-stop:
	@$(RAFTCTL) destroy

demo:
	+@$(RAFTCTL) exists || $(MAKE) --no-print-directory -f $(firstword $(MAKEFILE_LIST)) cluster-install
	@RAFTCTL_NAME=scripts/raftctl bash $(RAFT_MK_ROOT)/scripts/demo.sh

watch:
	@$(RAFTCTL) watch

bench: cluster-install
	@bash $(RAFT_MK_ROOT)/bench/run.sh

# The smoke run bounds itself (every wait has a timeout, every server is
# stopped on exit); the timeout here is only a last resort against a hang.
bench-smoke:
	@timeout -k 30 $(BENCH_SMOKE_TIMEOUT) bash $(RAFT_MK_ROOT)/bench/run.sh --smoke

.DEFAULT_GOAL := $(or $(raft_mk_default_goal),all)
