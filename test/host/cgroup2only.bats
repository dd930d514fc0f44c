#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# A cgroup2-only host (Debian 12 and most distributions by default; this
# machine is hybrid): seen from a private mount namespace where only
# cgroup2 is mounted at /sys/fs/cgroup, the testbed picks its cgroup v2
# layout by itself and crun and podman checkpoint/restore pass. Runs on the
# HOST.

setup() {
	cd "$BATS_TEST_DIRNAME/../.."
}

@test "on a cgroup2-only host the testbed uses cgroup v2 by default: crun and podman checkpoint/restore pass" {
	run unshare -m bash -c 'mount --make-rprivate / && umount -R /sys/fs/cgroup &&
		mount -t cgroup2 cgroup2 /sys/fs/cgroup && test "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs &&
		test/testbed/run sh -c "stat -f -c %T /sys/fs/cgroup; bats --tap -f \"IPv4 UDP_CORK 5 writes|twice in a row\" test/e2e/crun.bats test/e2e/podman.bats"'
	echo "$output"
	[ "$status" -eq 0 ]
	grep -qx cgroup2fs <<<"$output"
	grep -q "^ok 1 IPv4 UDP_CORK 5 writes" <<<"$output"
	grep -q "^ok 2 podman checkpoint/restore twice in a row" <<<"$output"
	! grep -q "^not ok" <<<"$output"
}
