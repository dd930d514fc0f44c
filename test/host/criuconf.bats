#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# oci-examples/criu-conf, which make install and the Debian package's
# maintainer scripts use to add and remove udpcork's line in
# /etc/criu/default.conf: one block however often it is added, and the
# administrator's file byte for byte as it was once it is removed.
# Runs on the HOST, on files in a temporary directory.

setup() {
	cd "$BATS_TEST_DIRNAME/../.."
	D=$BATS_TEST_TMPDIR/root
	CONF=$D/etc/criu/default.conf
	mkdir -p "$D/etc/criu"
}

cc() { DESTDIR=$D LIBEXECDIR=/usr/libexec/oci/hooks.d sh oci-examples/criu-conf "$@" >/dev/null; }

# round_trip CONTENT: add twice, one block; remove, the same bytes again
round_trip() {
	printf "$1" >"$CONF"
	cp "$CONF" "$BATS_TEST_TMPDIR/before"
	cc add
	cc add
	[ "$(grep -c '^action-script /usr/libexec/oci/hooks.d/udpcork-criu$' "$CONF")" = 1 ]
	[ "$(grep -c '^# BEGIN udpcork' "$CONF")" = 1 ]
	# the administrator's lines are whole lines of their own
	head -n "$(printf "$1" | grep -c '')" "$CONF" | cmp - <(printf "$1" | sed '$a\')
	cc remove
	cmp "$BATS_TEST_TMPDIR/before" "$CONF"
}

@test "criu-conf: a file ending with a newline" {
	round_trip 'tcp-established\nlog-file /tmp/x\n'
}

@test "criu-conf: a file without a final newline: the block on a line of its own, the file as it was after remove" {
	round_trip 'tcp-established\nlog-file /tmp/x'
}

@test "criu-conf: an empty file" {
	round_trip ''
}

@test "criu-conf: lines the administrator added after the block stay, after remove too" {
	printf 'tcp-established' >"$CONF"
	cc add
	echo 'shell-job' >>"$CONF"
	cc remove
	printf 'tcp-established\nshell-job\n' | cmp - "$CONF"
}

@test "criu-conf: the block of an older udpcork (its marker text) is replaced, not kept beside the new one" {
	printf 'tcp-established\n# BEGIN udpcork (managed by make install; make uninstall removes it)\naction-script /usr/local/libexec/oci/hooks.d/udpcork-criu\n# END udpcork\n' >"$CONF"
	cc add
	[ "$(grep -c 'udpcork-criu' "$CONF")" = 1 ]
	grep -q '^action-script /usr/libexec/oci/hooks.d/udpcork-criu$' "$CONF"
	cc remove
	printf 'tcp-established\n' | cmp - "$CONF"
}
