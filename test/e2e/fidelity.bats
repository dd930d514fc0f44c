#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# Randomized fidelity (GitHub issue "Fidelity"): a restored pending datagram
# must be indistinguishable, on the wire and to the receiver, from the one
# the kernel would have sent without the checkpoint. For each seed below,
# test/fidelity/gen makes the cases (family, connected or not, bound or
# auto-bound, UDP_CORK or MSG_MORE, 1..6 writes up to the largest datagram,
# TTL/TOS/source/priority/mark as socket options or cmsgs, SO_BINDTODEVICE,
# SO_REUSEPORT, sockets of forked children, dup()ed fds); test/apps/fidelity
# runs them in a CONTROL container (no checkpoint) and in a CHECKPOINT
# container (crun checkpoint + crun restore while they are pending); what
# the receivers saw must be the same, byte for byte. A failure prints the
# seed, the diff and the case lines; rerun one seed with
#   test/testbed/run test/fidelity/run-many -s SEED -n 40 -k
# UC_FIDELITY_NEXT=1 also looks at the socket options as CRIU restores them (see gen).

CT_BASE=/tmp/fz-ct
load ../lib
load ../fidelity/lib

FZ_CASES=40  # per seed
FZ_GROUPS=4  # containers per run (x2: control, checkpoint)

setup_file() {
	require_stack
	fz_build_app
}

setup() {
	udpcork_enable
}

teardown() {
	local c
	for c in $(crun list -q 2>/dev/null | grep '^fz-'); do ct_rm "$c"; done
	rm -rf /tmp/fz-ct
}

fidelity() {
	run fz_seed "$1" "$FZ_CASES" "$FZ_GROUPS"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "fidelity seed 1" { fidelity 1; }
@test "fidelity seed 2" { fidelity 2; }
@test "fidelity seed 3" { fidelity 3; }
@test "fidelity seed 4" { fidelity 4; }
@test "fidelity seed 5" { fidelity 5; }
@test "fidelity seed 6" { fidelity 6; }
@test "fidelity seed 7" { fidelity 7; }
@test "fidelity seed 8" { fidelity 8; }
@test "fidelity seed 20240601" { fidelity 20240601; }
@test "fidelity seed 424242" { fidelity 424242; }
