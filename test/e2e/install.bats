#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# make install / uninstall: files, the CRIU configuration kept intact,
# checkpointctl-udpcork, the hooks.d JSON accepted by podman.

load ../lib

setup() {
	load_bats_libs
	D=$BATS_TEST_TMPDIR/dest
}

@test "make install: files in place, existing default.conf kept, idempotent; uninstall removes only ours" {
	mkdir -p "$D/etc/criu"
	printf 'tcp-established\ncgroup-dump-controller cpu\n' >"$D/etc/criu/default.conf"
	make -s -C "$UC_SRC" install DESTDIR="$D" PREFIX=/usr BUILD="${UDPCORK_BUILD:-build}" >/dev/null
	make -s -C "$UC_SRC" install DESTDIR="$D" PREFIX=/usr BUILD="${UDPCORK_BUILD:-build}" >/dev/null
	for f in usr/libexec/oci/hooks.d/udpcork-prestop usr/libexec/oci/hooks.d/udpcork-poststart usr/libexec/oci/hooks.d/udpcork-criu usr/bin/udpcork \
		usr/bin/checkpointctl-udpcork usr/share/man/man1/udpcork.1 usr/share/man/man1/checkpointctl-udpcork.1 usr/share/man/man8/udpcork-prestop.8 \
		usr/share/man/man8/udpcork-poststart.8 usr/share/udpcork/criu-udpcork.conf \
		usr/share/containers/oci/hooks.d/udpcork.json; do
		assert [ -f "$D/$f" ]
	done
	run cat "$D/etc/criu/default.conf"
	assert_line --index 0 tcp-established
	assert_line --index 1 "cgroup-dump-controller cpu"
	assert_equal "$(grep -c 'action-script /usr/libexec/oci/hooks.d/udpcork-criu' "$D/etc/criu/default.conf")" 1
	run grep -c '^action-script' "$D/usr/share/udpcork/criu-udpcork.conf"
	assert_output 1
	make -s -C "$UC_SRC" uninstall DESTDIR="$D" PREFIX=/usr >/dev/null
	assert_equal "$(cat "$D/etc/criu/default.conf")" "$(printf 'tcp-established\ncgroup-dump-controller cpu')"
	assert [ ! -e "$D/usr/bin/udpcork" ]
	assert [ ! -e "$D/usr/libexec/oci/hooks.d/udpcork-prestop" ]
}
