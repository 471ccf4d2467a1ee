# mk/deb.mk — the Debian package (debian/).  Included from the top-level Makefile.
#
#   make deb            build/deb/postgresql-15-raft-ext_<version>_<arch>.deb, built
#                       with dpkg-buildpackage and pg_buildext in a scratch copy, checked
#                       with lintian (scripts/build-deb.sh)
#   make deb-test       as root: build it, install it with apt-get, create a three-node
#                       cluster from the installed files only, remove the package, then
#                       make install again (scripts/test-deb.sh)
#   make check-version  the version is raft_ext.control's default_version; say where
#                       debian/changelog or README.md disagree (scripts/check-version.sh)
#
# deb-test replaces the installed extension's files: on a machine shared with
# other test runs, hold their lock around it.

RAFT_DEB_ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)
# make deb-test bounds itself (every wait has a timeout); this is a last resort.
DEB_TEST_TIMEOUT ?= 300

.PHONY: deb deb-test check-version

deb:
	@bash $(RAFT_DEB_ROOT)/scripts/build-deb.sh

deb-test:
	@timeout -k 30 $(DEB_TEST_TIMEOUT) bash $(RAFT_DEB_ROOT)/scripts/test-deb.sh

check-version:
	@bash $(RAFT_DEB_ROOT)/scripts/check-version.sh
