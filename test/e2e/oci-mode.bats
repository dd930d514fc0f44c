#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# The hooks as OCI hooks: container state JSON on stdin, --image-dir.

load ../lib

ct_standard_hooks

@test "OCI mode: prestop refuses a running container and changes nothing" {
	ct_create ocirun /udpapp -f 4 -m cork -s 100,3000
	ct_run ocirun
	ct_wait ocirun ready
	before=$(ct_txq ocirun 9001)
	mkdir -p /tmp/oci-img
	run sh -c "crun state ocirun | $UC_LIBEXEC/udpcork-prestop --image-dir /tmp/oci-img"
	assert_failure 1
	assert_output --partial "is \`running\`"
	assert_output --partial "paused"
	assert_equal "$(ct_txq ocirun 9001)" "$before"
	assert [ ! -e /tmp/oci-img/udpcork.img ]
	touch "$(ct_out ocirun)/go"
	ct_wait ocirun done 15
	run cat "$(ct_out ocirun)/recv.meta"
	assert_output "count=1 len=3100 sport=9001"
}

@test "OCI mode: paused container, prestop then poststart with the state JSON on stdin" {
	ct_create ocipause /udpapp -f 6 -m more -s 100,100,3000
	ct_run ocipause
	ct_wait ocipause ready
	crun pause ocipause
	rm -rf /tmp/oci-img2 && mkdir -p /tmp/oci-img2
	run sh -c "crun state ocipause | $UC_LIBEXEC/udpcork-prestop --image-dir /tmp/oci-img2"
	assert_success
	assert_output --partial "saved 3200 pending bytes"
	assert_equal "$(ct_txq ocipause 9001)" 0
	run sh -c "crun state ocipause | $UC_LIBEXEC/udpcork-poststart --image-dir /tmp/oci-img2"
	assert_success
	assert_output --partial "3200 bytes pending again"
	assert [ "$(ct_txq ocipause 9001)" -gt 0 ]
	crun resume ocipause
	touch "$(ct_out ocipause)/go"
	ct_wait ocipause done 15
	run cat "$(ct_out ocipause)/recv.meta"
	assert_output "count=1 len=3200 sport=9001"
	assert_equal "$(sha256sum <"$(ct_out ocipause)/recv.bin")" "$(sha256sum <"$(ct_out ocipause)/sent.bin")"
}

@test "hooks: --help, --version, bad usage, empty or malformed state" {
	for h in udpcork-prestop udpcork-poststart; do
		run "$UC_LIBEXEC/$h" --help
		assert_success
		assert_output --partial "Usage: $h"
		run "$UC_LIBEXEC/$h" --version
		assert_output "$h 0.1.0"
		run "$UC_LIBEXEC/$h" --bogus
		assert_failure 2
		run sh -c "$UC_LIBEXEC/$h --image-dir /tmp </dev/null"
		assert_failure 1
		assert_output --partial "no OCI state on stdin"
		run sh -c "echo '{\"ociVersion\": 1}' | $UC_LIBEXEC/$h --image-dir /tmp"
		assert_failure 1
		assert_output --partial "invalid OCI state"
	done
}

@test "CRIU action script without a pid or image dir: clear error" {
	run env CRTOOLS_SCRIPT_ACTION=network-lock CRTOOLS_INIT_PID= CRTOOLS_IMAGE_DIR=/tmp "$UC_LIBEXEC/udpcork-prestop"
	assert_failure 1
	assert_output --partial "network-lock: no container pid"
	run env CRTOOLS_SCRIPT_ACTION=network-lock CRTOOLS_INIT_PID=$$ "$UC_LIBEXEC/udpcork-prestop"
	assert_failure 1
	assert_output --partial "CRTOOLS_IMAGE_DIR is not set"
	# actions udpcork does not act on are accepted silently
	run env CRTOOLS_SCRIPT_ACTION=pre-dump "$UC_LIBEXEC/udpcork-prestop"
	assert_success
	assert_output ""
}
