#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# End to end with the real runc and CRIU: a container's corked datagram
# survives `runc checkpoint` + `runc restore`, byte for byte. udpcork's hooks
# run as CRIU action scripts from /etc/criu/default.conf (runc drives CRIU
# through its RPC, which reads that file too).

load ../lib-runc

setup_file() {
	require_runc
}

setup() {
	load_bats_libs
	udpcork_enable
}

teardown() {
	rc_cleanup_all
	udpcork_enable
}

# rc_e2e NAME FAMILY MODE SIZES: cork, checkpoint, restore, uncork, check.
rc_e2e() {
	local name=$1 fam=$2 mode=$3 sizes=$4 len b
	len=$(sum_sizes "$sizes")
	b=$(ct_dir "$name")
	rc_create "$name" /udpapp -f "$fam" -m "$mode" -s "$sizes"
	rc_run "$name"
	ct_wait "$name" ready
	run rc_checkpoint "$name"
	[ "$status" -eq 0 ] || { echo "$output"; rc_logs "$name"; false; }
	# runc checkpoint stopped the container; CRIU ran udpcork-prestop
	run grep -h "udpcork-prestop: info: .*saved 1 corked sockets, $len bytes" "$b/work/dump.log"
	assert_success
	assert [ -f "$b/img/udpcork.img" ]
	run "$UC_BUILD/udpcork" show "$b/img"
	assert_success
	assert_output --partial "$len"
	run rc_restore "$name"
	[ "$status" -eq 0 ] || { echo "$output"; rc_logs "$name"; false; }
	run grep -h "udpcork-poststart: info: .* 1 corked sockets restored, $len bytes" "$b/work/restore.log"
	assert_success
	# the restored socket holds a pending datagram again (kernel's view)
	assert [ "$(rc_txq "$name" 9001)" -gt 0 ]
	touch "$(ct_out "$name")/go"
	ct_wait "$name" "done" 15
	assert_delivered_in "$(ct_out "$name")" "$len"
}

@test "runc: IPv4 UDP_CORK, 5 writes, 3400 B survives runc checkpoint/restore" {
	rc_e2e rc-cork4 4 cork 100,100,100,100,3000
}

@test "runc: IPv6 MSG_MORE, 4 writes, 3300 B survives runc checkpoint/restore" {
	rc_e2e rc-more6 6 more 100,100,100,3000
}

@test "runc checkpoint --leave-running: the app goes on and its datagram arrives intact, once" {
	b=$(ct_dir rc-leave)
	rc_create rc-leave /udpapp -f 4 -m cork -s 100,100,3000
	rc_run rc-leave
	ct_wait rc-leave ready
	run rc_checkpoint rc-leave --leave-running
	[ "$status" -eq 0 ] || { echo "$output"; rc_logs rc-leave; false; }
	run runc state rc-leave
	assert_output --partial '"status": "running"'
	assert [ -f "$b/img/udpcork.img" ]
	assert_equal "$(cut -d" " -f1 "$b/img/udpcork.journal")" returned
	# the datagram was given back to the running socket
	assert [ "$(rc_txq rc-leave 9001)" -gt 0 ]
	touch "$(ct_out rc-leave)/go"
	ct_wait rc-leave "done" 15
	assert_delivered_in "$(ct_out rc-leave)" 3200
}

@test "runc without udpcork: CRIU refuses the UDP_CORK socket (and the app keeps its data)" {
	udpcork_disable
	run grep -c "action-script.*udpcork" /etc/criu/default.conf
	assert_output 0
	b=$(ct_dir rc-nocork)
	rc_create rc-nocork /udpapp -f 4 -m cork -s 100,3000
	rc_run rc-nocork
	ct_wait rc-nocork ready
	run rc_checkpoint rc-nocork
	assert_failure
	run grep -h "Can't dump corked dgram socket" "$b/work/dump.log"
	assert_success
	assert [ ! -e "$b/img/udpcork.img" ]
	# the failed dump left the container running with its datagram
	run runc state rc-nocork
	assert_output --partial '"status": "running"'
	touch "$(ct_out rc-nocork)/go"
	ct_wait rc-nocork "done" 15
	assert_delivered_in "$(ct_out rc-nocork)" 3100
}

@test "runc with a netns runc made itself: CRIU brings its loopback back down, the restore fails naming why, the image keeps the datagram" {
	local name=rc-ownns-$RANDOM b # a failed restore leaves busy cgroups (README, limits)
	b=$(ct_dir "$name")
	rc_create "$name" /udpapp -f 4 -m cork -s 100,3000
	# no external netns: runc creates one (and tells CRIU not to dump its config)
	jq '.linux.namespaces |= map(if .type == "network" then del(.path) else . end)' "$b/config.json" >"$b/c.json"
	mv "$b/c.json" "$b/config.json"
	rc_run "$name"
	ct_wait "$name" ready
	run rc_checkpoint "$name"
	[ "$status" -eq 0 ] || { echo "$output"; rc_logs "$name"; false; }
	run rc_restore "$name"
	assert_failure
	run grep -h "is the destination routable" "$b/work/restore.log"
	assert_success
	run "$UC_BUILD/udpcork" show "$b/img"
	assert_success
	assert_output --partial "3100"
	runc delete -f "$name" >/dev/null 2>&1 || true
}
