#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# test/host/leftovers, the check that ends make check, sees what a session
# could leave on the host: a file in the host's cgroup tmpfs under a cgroup
# mount point, a cgroup of no test session; it lists a busy session cgroup
# with its reason, and removes one that can go. Runs on the HOST.

setup() {
	cd "$BATS_TEST_DIRNAME/../.."
	BEFORE=$BATS_TEST_TMPDIR/before
	test/host/snapshot >"$BEFORE"
	# a cgroup v1 hierarchy of this host to play in
	H=$(findmnt -rn -o TARGET -t cgroup | head -1)
}

teardown() {
	[ -z "${busy:-}" ] || kill "$busy" 2>/dev/null
	wait 2>/dev/null || true
	for d in "$H/udpcork-test-lo-busy" "$H/udpcork-test-lo-free" "$H/uc-lo-other"; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null || true
	done
	tmpfs_rm uc-lo-file
}

# tmpfs_rm NAME / tmpfs_add NAME: NAME in the host's /sys/fs/cgroup tmpfs,
# below the first cgroup mount point (hidden under it on the host)
tmpfs_path() { echo "/mnt/$(basename "$H")/$1"; }
tmpfs_add() { test/host/cgtmpfs touch "$(tmpfs_path "$1")"; }
tmpfs_rm() { test/host/cgtmpfs rm -f "$(tmpfs_path "$1")"; }

@test "leftovers: nothing new: ok" {
	run test/host/leftovers "$BEFORE"
	echo "$output"
	[ "$status" -eq 0 ]
	grep -qE "^ok - make check left the host as it found it" <<<"$output"
}

@test "leftovers: a file in the host's cgroup tmpfs below a cgroup mount point fails" {
	[ "$(stat -f -c %T /sys/fs/cgroup)" = tmpfs ] || skip "the host's /sys/fs/cgroup is not a tmpfs (pure cgroup2): nothing can hide below a mount point there"
	tmpfs_add uc-lo-file
	run test/host/leftovers "$BEFORE"
	echo "$output"
	grep -qF "new: $(tmpfs_path uc-lo-file)" <<<"$output"
	grep -qE "^not ok - make check left the host" <<<"$output"
}

@test "leftovers: a cgroup of no test session fails; a free session cgroup is removed; a busy one is listed with its processes" {
	[ -n "$H" ] || skip "no cgroup v1 hierarchy on this host"
	mkdir "$H/uc-lo-other"
	run test/host/leftovers "$BEFORE"
	echo "$output"
	grep -qF "new: $H/uc-lo-other" <<<"$output"
	grep -qE "^not ok - make check left the host" <<<"$output"
	rmdir "$H/uc-lo-other"
	mkdir "$H/udpcork-test-lo-free" "$H/udpcork-test-lo-busy"
	sleep 300 &
	busy=$!
	echo "$busy" >"$H/udpcork-test-lo-busy/cgroup.procs"
	run test/host/leftovers "$BEFORE"
	echo "$output"
	grep -qF "clean-host: removed cgroup $H/udpcork-test-lo-free" <<<"$output"
	grep -qE "clean-host: left: cgroup $H/udpcork-test-lo-busy: busy: processes $busy \(sleep\)" <<<"$output"
	grep -qE "^ok - make check left the host as it found it but for 1 busy cgroups listed above" <<<"$output"
	[ ! -d "$H/udpcork-test-lo-free" ]
}
