# SPDX-License-Identifier: GPL-2.0-or-later
# make check-kernels: boot Debian's own kernels (bullseye 5.10, bookworm 6.1,
# trixie 6.12, sid 7.x) under qemu TCG and run the end-to-end subset in each, with pure
# cgroup v2 and with hybrid cgroups. Root; see test/vm/run-matrix.
# Kernels are cached in /var/cache/udpcork/kernels, results go to vm-out/
# (vm-out/matrix.txt).
.PHONY: check-kernels
check-kernels:
	test/vm/run-matrix
