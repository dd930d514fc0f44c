#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# Bad input to the hooks: each gets a clear one-line error and a non-zero
# exit, and nothing is sent or changed (the app's datagram stays pending).

load ../lib

setup_file() {
	require_stack
}

setup() {
	load_bats_libs
	P=$UC_LIBEXEC/udpcork-prestop
	S=$UC_LIBEXEC/udpcork-poststart
	IMG=$BATS_TEST_TMPDIR/img
	mkdir -p "$IMG"
}

teardown() {
	ct_cleanup_all
}

one_line_error() {
	assert_failure 1
	assert_equal "${#lines[@]}" 1
	assert_output --regexp "^udpcork-(prestop|poststart): error: "
}

crio() { # ACTION PID DIR -- HOOK
	env CRTOOLS_SCRIPT_ACTION="$1" CRTOOLS_INIT_PID="$2" CRTOOLS_IMAGE_DIR="$3" "$4"
}

@test "CRIU env: dead pid, pid 0, garbage pid" {
	run crio network-lock 4000000 "$IMG" "$P"
	one_line_error
	assert_output --partial "container init pid 4000000"
	run crio network-lock 0 "$IMG" "$P"
	one_line_error
	run crio network-lock 12abc "$IMG" "$P"
	one_line_error
	run crio post-restore 4000000 "$IMG" "$S"
	assert_success # no image: nothing to restore, nothing touched
}

@test "image directory missing, read-only, or a symlink given by hand: refused before any socket is touched" {
	ct_create bad /udpapp -f 4 -m cork -s 100,3000
	ct_run bad
	ct_wait bad ready
	pid=$(ct_pid bad)
	before=$(ct_txq bad 9001)
	run crio network-lock "$pid" /nonexistent "$P"
	one_line_error
	assert_output --partial "/nonexistent"
	mkdir -p /tmp/uc-ro && mount -t tmpfs -o ro tmpfs /tmp/uc-ro
	run crio network-lock "$pid" /tmp/uc-ro "$P"
	umount /tmp/uc-ro
	one_line_error
	assert_output --partial "Read-only file system"
	assert_equal "$(ct_txq bad 9001)" "$before"
	ln -sfn "$IMG" /tmp/uc-link
	crun pause bad
	run sh -c "crun state bad | $P --image-dir /tmp/uc-link"
	crun resume bad
	one_line_error
	assert_output --partial "symbolic link"
	assert_equal "$(ct_txq bad 9001)" "$before"
	# udpcork recover checks its DIR the same way
	run udpcork recover --pid "$pid" /tmp/uc-link
	assert_failure 1
	assert_output --regexp "^udpcork: error: .*symbolic link"
	assert_equal "${#lines[@]}" 1
	touch "$(ct_out bad)/go"
	ct_wait bad done
	run cat "$(ct_out bad)/recv.meta"
	assert_output "count=1 len=3100 sport=9001"
}

@test "OCI state: a pid that is not in a container, a pid of another container" {
	ct_create other /udpapp -f 4 -m cork -s 100
	ct_run other
	ct_wait other ready
	run sh -c "echo '{\"ociVersion\":\"1.0.2\",\"id\":\"x\",\"status\":\"paused\",\"pid\":$$}' | $P --image-dir $IMG"
	one_line_error
	assert_output --partial "is not in a container"
	run sh -c "echo '{\"ociVersion\":\"1.0.2\",\"id\":\"someone-else\",\"status\":\"paused\",\"pid\":$(ct_pid other)}' | $P --image-dir $IMG"
	one_line_error
	assert_output --partial "belongs to container other, not to someone-else"
	run ls "$IMG"
	assert_output ""
}

@test "an image whose sockets do not exist in the restored container: named, nothing sent, image kept" {
	ct_create src /udpapp -f 4 -m cork -s 100,3000
	ct_run src
	ct_wait src ready
	ct_checkpoint src --leave-running
	# another container (its fd 5 is a socket on another port)
	ct_create dst /udpapp -f 4 -m cork -s 10 -p 9200 -q 9201
	ct_run dst
	ct_wait dst ready
	before=$(ct_txq dst 9201)
	crun pause dst
	run sh -c "crun state dst | $S --image-dir $(ct_dir src)/img"
	crun resume dst
	one_line_error
	assert_output --partial "not the saved socket"
	assert_output --partial "stays in the image"
	assert_equal "$(ct_txq dst 9201)" "$before"
	run "$UC_BUILD/udpcork" show "$(ct_dir src)/img"
	assert_output --partial "3100"
}

@test "hostile state JSON: huge, deep, not UTF-8" {
	run sh -c "head -c 5000000 /dev/zero | tr '\\\\0' ' ' | $P --image-dir $IMG"
	one_line_error
	run sh -c "printf '%.0s[' \$(seq 1 100000) | $P --image-dir $IMG"
	one_line_error
	run sh -c "printf '{\"ociVersion\":\"\\377\\376\",\"id\":\"a\",\"status\":\"paused\",\"pid\":1}' | $P --image-dir $IMG"
	one_line_error
}
