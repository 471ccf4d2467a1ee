#!/usr/bin/env bash
# scripts/install-deps.sh: make sure everything raft_ext's build and tests need
# is on this (Debian 12) machine.  Run by `make test` and `make deps`.
#
# Checks files and commands, not package names, so it works whatever installed
# them.  What is missing is installed with apt-get when running as root (CI);
# otherwise the exact apt-get command is printed and the script fails.
set -euo pipefail

PGBIN=/usr/lib/postgresql/15/bin
PGXSDIR=/usr/lib/postgresql/15/lib/pgxs

missing=()
need() {	# need PACKAGE TEST-COMMAND...: PACKAGE is needed when the test fails
	local pkg=$1; shift
	if ! "$@" >/dev/null 2>&1; then
		case " ${missing[*]-} " in *" $pkg "*) ;; *) missing+=("$pkg") ;; esac
	fi
}

libfuzzer_links() {
	local out
	out=$(mktemp)
	printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void) d; (void) n; return 0; }\n' |
		clang -fsanitize=fuzzer -x c - -o "$out" >/dev/null 2>&1
	local rc=$?
	rm -f "$out"
	return $rc
}

check_all() {
	missing=()
	need make            command -v make
	need gcc             command -v gcc
	need libc6-dev       test -e /usr/include/stdio.h
	need perl            command -v prove
	need python3         command -v python3
	# test/t/022_driver.pl: a real driver (server-side parameters, transparent mode)
	need python3-psycopg2 /usr/bin/python3 -c "import psycopg2"
	need postgresql-15   test -x $PGBIN/postgres -a -x $PGBIN/initdb -a -x $PGBIN/pg_ctl
	need postgresql-client-15 test -x $PGBIN/pg_config -a -x $PGBIN/psql \
		-a -x $PGXSDIR/src/test/regress/pg_regress \
		-a -f $PGXSDIR/src/test/perl/PostgreSQL/Test/Cluster.pm
	need postgresql-server-dev-15 test -f /usr/include/postgresql/15/server/postgres.h \
		-a -f $PGXSDIR/src/makefiles/pgxs.mk
	need libpq-dev       test -f /usr/include/postgresql/libpq-fe.h
	# PostgreSQL's libpq/libpq-be.h (for the stream's protocol reading, in
	# src/sql_control.c) includes <gssapi/gssapi.h> when the server was built
	# with GSSAPI, as Debian's is.
	need libkrb5-dev     test -f /usr/include/gssapi/gssapi.h
	need libipc-run-perl perl -MIPC::Run -e 1
	# test/t/017_tls.pl makes its CA and certificates with the openssl command.
	need openssl         command -v openssl
	# the fault-injection suite (chaos/): network namespaces and a bridge (ip), partitions
	# and packet loss (nft), the servers' processes (ps), the timeline plot (gnuplot)
	need iproute2        command -v ip
	need nftables        command -v nft
	need procps          command -v ps
	need gnuplot-nox     command -v gnuplot
	# test/t/023_prometheus.pl: monitoring/queries.yaml with the real exporter,
	# monitoring/alerts.yml with promtool (in the prometheus package)
	need prometheus-postgres-exporter command -v prometheus-postgres-exporter
	need prometheus      command -v promtool
	# make deb (debian/rules, scripts/build-deb.sh): dpkg-buildpackage, debhelper and
	# postgresql-common's pgxs_loop sequence and pg_buildext (postgresql-server-dev-all),
	# lintian on the result
	need dpkg-dev        command -v dpkg-buildpackage
	need debhelper       command -v dh
	need postgresql-server-dev-all test -f /usr/share/perl5/Debian/Debhelper/Sequence/pgxs_loop.pm \
		-a -x /usr/bin/pg_buildext
	need lintian         command -v lintian
	need clang           command -v clang
	if command -v clang >/dev/null 2>&1; then
		need libclang-rt-dev libfuzzer_links
	else
		need libclang-rt-dev false
	fi
}

check_all
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all build and test dependencies are present"
	exit 0
fi

cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing: ${missing[*]}" >&2
	echo "install-deps: as root, run:" >&2
	echo "  $cmd" >&2
	exit 1
fi

echo "install-deps: installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Installing postgresql-15 would create and start a 'main' cluster on port
# 5432; the tests make their own servers, so ask postgresql-common not to.
if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
	mkdir -p /etc/postgresql-common
	echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.conf
fi
# prometheus and prometheus-postgres-exporter start their daemons (on ports
# 9090 and 9187) when installed; nothing here needs them running.  Unless the
# machine already has a policy (containers often do), deny every service
# start for the time of the install.
policy=/usr/sbin/policy-rc.d
if [ ! -e $policy ]; then
	printf '#!/bin/sh\n# scripts/install-deps.sh: no service starts during the install\nexit 101\n' >$policy
	chmod 755 $policy
	trap 'rm -f $policy' EXIT
fi
apt_opts=(-y -q --no-install-recommends
	-o DPkg::Lock::Timeout=600
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
apt-get update -q </dev/null
apt-get install "${apt_opts[@]}" "${missing[@]}" </dev/null

check_all
if [ ${#missing[@]} -ne 0 ]; then
	echo "install-deps: still missing after apt-get install: ${missing[*]}" >&2
	exit 1
fi
echo "install-deps: all build and test dependencies are present"
