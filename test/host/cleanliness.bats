#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# The testbed leaves the host as it found it: no cgroup copies, no sysctl
# changes, no leftover processes, mounts, links, BPF programs or links.
# Runs on the HOST, around a real testbed session (checkpoint + restore).

setup_file() {
	cd "$BATS_TEST_DIRNAME/../.."
}

bpf_objects() {
	# the testbed's bpftool sees every program and link of the machine
	UDPCORK_NO_INSTALL=1 test/testbed/run sh -c 'bpftool prog list; bpftool link list' |
		grep -E 'udpcork|netfilter' || true
}

@test "a testbed session with checkpoint/restore leaves the host as it found it" {
	before=$(test/host/snapshot)
	bpf_before=$(bpf_objects)
	run test/testbed/run bats -f 'IPv4 UDP_CORK 5 writes' test/e2e/crun.bats
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"ok 1 "* ]]
	after=$(test/host/snapshot)
	diff <(echo "$before") <(echo "$after")
	[ "$(bpf_objects)" = "$bpf_before" ]
	[ -z "$bpf_before" ] || echo "note: BPF objects existed before: $bpf_before"
}

@test "a testbed session in cgroup v2 mode leaves the host as it found it" {
	before=$(test/host/snapshot)
	run env UDPCORK_TESTBED_CGROUP=v2 test/testbed/run bats -f 'IPv4 UDP_CORK 5 writes|twice in a row' test/e2e/crun.bats test/e2e/podman.bats
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"ok 2 "* ]]
	after=$(test/host/snapshot)
	diff <(echo "$before") <(echo "$after")
}
