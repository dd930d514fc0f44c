# SPDX-License-Identifier: GPL-2.0-or-later
# make check-kernels: boot Debian's own kernels (bullseye 5.10, bookworm 6.1,
# trixie 6.12, sid 7.x) under qemu TCG and run the end-to-end subset in each, with pure
# cgroup v2 and with hybrid cgroups. Root; see test/vm/run-matrix.
# Kernels are cached in /var/cache/udpcork/kernels, results go to vm-out/
# (vm-out/matrix.txt).
.PHONY: check-kernels
check-kernels:
	test/vm/run-matrix

# make check-kernels-arm64: the same for arm64 (not in CI: ~27 min with a cached arm64
# root, ~13 min more to build the root).
# udpcork is built natively in a forky arm64 root under qemu-user
# (test/vm/arm64-root, arm64-chroot), Debian's arm64 kernel boots in
# qemu-system-aarch64 (TCG); vm-out/matrix-arm64.txt.
.PHONY: check-kernels-arm64
check-kernels-arm64:
	UDPCORK_VM_ARCH=arm64 test/vm/run-matrix
