#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# The Debian package in the forky testbed (run by test/pkg/run, in a session
# where nothing was installed from the checkout): apt-get install, the crun
# and podman end-to-end subset against the installed files, a reinstall and
# an upgrade to a newer version, a remove and a purge that leave /etc/criu/default.conf as it was and nothing
# of udpcork behind. The tests build on each other, in order.

load ../lib

DEB=$(ls /src/deb-out/udpcork_*.deb 2>/dev/null | head -1)
CONF=/etc/criu/default.conf
STATE=/tmp/uc-deb

setup_file() {
	[ -f "$DEB" ] || { echo "no package in /src/deb-out: run make deb" >&2; return 1; }
	mkdir -p "$STATE"
	# the testbed's own udpcork lines go; an administrator's line stays
	LIBEXECDIR=/usr/libexec/oci/hooks.d sh /src/oci-examples/criu-conf remove >/dev/null
	echo "log-file /tmp/admin-criu.log # an administrator's own line" >>"$CONF"
	cp -p "$CONF" "$STATE/default.conf.before"
	make -C /src -s testapps >&2
}

setup() { load_bats_libs; }

files_of_package() { dpkg -L udpcork | while read -r f; do if [ -f "$f" ]; then echo "$f"; fi; done; }

@test "apt-get install ./udpcork_*.deb: files in place, one action-script line added, the administrator's lines kept" {
	run apt-get install -y --no-install-recommends "$DEB"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	files_of_package >"$STATE/files"
	for f in /usr/libexec/oci/hooks.d/udpcork-prestop /usr/libexec/oci/hooks.d/udpcork-poststart \
		/usr/libexec/oci/hooks.d/udpcork-criu /usr/bin/udpcork /usr/bin/checkpointctl-udpcork \
		/usr/share/containers/oci/hooks.d/udpcork.json /usr/share/udpcork/criu-udpcork.conf \
		/usr/share/man/man1/udpcork.1.gz /usr/share/man/man8/udpcork-prestop.8.gz; do
		grep -qx "$f" "$STATE/files" || { echo "missing: $f"; false; }
	done
	assert_equal "$(stat -c %a /var/lib/udpcork/images)" 700
	assert_equal "$(grep -c '^action-script /usr/libexec/oci/hooks.d/udpcork-criu$' "$CONF")" 1
	run grep -x "log-file /tmp/admin-criu.log # an administrator's own line" "$CONF"
	assert_success
	run udpcork --version
	assert_success
	run checkpointctl-udpcork --plugin-description
	assert_equal "$status" 42
}

@test "installed package: crun end-to-end subset (the hooks run from the package's files)" {
	run bats --tap -f 'IPv4 UDP_CORK 5 writes|IPv6 MSG_MORE 65507|leave-running' /src/test/e2e/crun.bats
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"ok 1 "* ]]
	# the package's hooks ran: the binaries of the checkout were never installed
	run cmp /usr/libexec/oci/hooks.d/udpcork-prestop /src/build-testbed/udpcork-prestop
	assert_failure
}

@test "installed package: podman end-to-end subset" {
	run bats --tap -f 'podman checkpoint/restore: IPv4 UDP_CORK|export, rm, restore --import' /src/test/e2e/podman.bats
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"ok 1 "* ]]
}

@test "upgrade (the package installed again over itself): still exactly one action-script line" {
	run apt-get install -y --no-install-recommends --reinstall "$DEB"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	run dpkg --force-confold -i "$DEB"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	assert_equal "$(grep -c 'udpcork-criu' "$CONF")" 1
}

@test "upgrade to a newer version: exactly one action-script line, the administrator's lines kept, the new programs" {
	local up
	up=$(ls /src/deb-out/upgrade/udpcork_*.deb)
	run apt-get install -y --no-install-recommends "$up"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	assert_equal "$(dpkg-query -W -f '${Version}' udpcork)" 0.1.0+test1
	assert_equal "$(grep -c 'udpcork-criu' "$CONF")" 1
	run grep -x "log-file /tmp/admin-criu.log # an administrator's own line" "$CONF"
	assert_success
	run udpcork --version
	assert_output --partial 0.1.0+test1
}

@test "apt-get remove (not purge): the action-script line goes, default.conf exactly as before, the programs go" {
	run apt-get remove -y udpcork
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	run cmp "$STATE/default.conf.before" "$CONF"
	[ "$status" -eq 0 ] || { diff "$STATE/default.conf.before" "$CONF"; false; }
	assert [ ! -e /usr/bin/udpcork ]
	assert [ ! -e /usr/libexec/oci/hooks.d/udpcork-criu ]
	assert_equal "$(dpkg-query -W -f '${db:Status-Abbrev}' udpcork)" "rc "
}

@test "apt-get purge: default.conf exactly as before, nothing of udpcork left" {
	run apt-get purge -y udpcork
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	run cmp "$STATE/default.conf.before" "$CONF"
	[ "$status" -eq 0 ] || { diff "$STATE/default.conf.before" "$CONF"; false; }
	run dpkg -s udpcork
	assert_failure
	while read -r f; do
		[ ! -e "$f" ] || { echo "left: $f"; false; }
	done <"$STATE/files"
	assert [ ! -e /var/lib/udpcork ]
	assert [ ! -e /usr/share/udpcork ]
	run sh -c 'ls -d /sys/fs/bpf/udpcork/progs:* 2>/dev/null'
	assert_output ''
}

@test "a default.conf the package made goes with the purge" {
	mv "$CONF" "$STATE/default.conf.saved"
	run apt-get install -y --no-install-recommends "$DEB"
	[ "$status" -eq 0 ] || { mv "$STATE/default.conf.saved" "$CONF"; echo "$output"; false; }
	assert_equal "$(grep -c 'udpcork-criu' "$CONF")" 1
	run apt-get purge -y udpcork
	assert [ ! -e "$CONF" ]
	assert [ -d /etc/criu ] # not the package's to remove: it was there
	mv "$STATE/default.conf.saved" "$CONF"
}
