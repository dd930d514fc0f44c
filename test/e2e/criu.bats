#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# End to end with bare CRIU (no container runtime): a process tree in its own
# network namespace corks a datagram, `criu dump` + `criu restore`, and the
# receiver gets exactly the bytes once. udpcork's hooks run as CRIU action
# scripts from /etc/criu/default.conf, which the criu command line reads too.

load ../lib-runc

setup_file() {
	require_stack
}

setup() {
	load_bats_libs
	udpcork_enable
	D=/tmp/cr-t$BATS_TEST_NUMBER
}

teardown() {
	cr_kill "$D"
	udpcork_enable
}

# cr_e2e FAMILY MODE SIZES: cork, dump, restore, uncork, check.
cr_e2e() {
	local fam=$1 mode=$2 sizes=$3 len pid mname
	len=$(sum_sizes "$sizes")
	mname=$([ "$mode" = cork ] && echo UDP_CORK || echo MSG_MORE)
	cr_start "$D" -f "$fam" -m "$mode" -s "$sizes"
	pid=$(cr_pid "$D")
	assert [ "$(readlink "/proc/$pid/ns/net")" != "$(readlink /proc/self/ns/net)" ]
	assert [ "$(txq_of "$pid" 9001)" -gt 0 ]
	run cr_dump "$D"
	[ "$status" -eq 0 ] || { echo "$output"; cr_logs "$D"; false; }
	# the dump killed the tree; udpcork-prestop saved the datagram
	assert [ ! -e "/proc/$pid" ]
	run grep -h "udpcork-prestop: info: .*: saved $len pending bytes for .* ($mname)" "$D/work/dump.log"
	assert_success
	run grep -h "udpcork-prestop: info: container pid $pid: saved 1 corked sockets, $len bytes" "$D/work/dump.log"
	assert_success
	run "$UC_BUILD/udpcork" show "$D/img"
	assert_success
	assert_output --partial "$mname"
	run cr_restore "$D"
	[ "$status" -eq 0 ] || { echo "$output"; cr_logs "$D"; false; }
	run grep -h "udpcork-poststart: info: .* 1 corked sockets restored, $len bytes" "$D/work/restore.log"
	assert_success
	# same pid, and the restored socket holds the pending datagram again
	assert [ -e "/proc/$pid" ]
	assert [ "$(txq_of "$pid" 9001)" -gt 0 ]
	touch "$D/out/go"
	wait_file "$D/out/done" 15
	assert_delivered_in "$D/out" "$len"
}

@test "bare criu: IPv4 UDP_CORK, 5 writes, 3400 B survives criu dump/restore" {
	cr_e2e 4 cork 100,100,100,100,3000
}

@test "bare criu: IPv6 MSG_MORE, 4 writes, 3300 B survives criu dump/restore" {
	cr_e2e 6 more 100,100,100,3000
}

@test "bare criu dump --leave-stopped: the datagram stays in the image, a next dump refuses, udpcork recover gives it back" {
	cr_start "$D" -f 4 -m cork -s 100,3000
	pid=$(cr_pid "$D")
	run cr_dump "$D" --leave-stopped
	[ "$status" -eq 0 ] || { echo "$output"; cr_logs "$D"; false; }
	# CRIU runs no network-unlock: the stopped tree's socket stays empty,
	# its datagram is in the image only, and the journal says so with the
	# dumped root
	assert_equal "$(ps -o stat= -p "$pid" | cut -c1)" T
	assert_equal "$(txq_of "$pid" 9001)" 0
	run grep -h "udpcork-prestop: info: post-dump: the datagrams stay in udpcork.img" "$D/work/dump.log"
	assert_success
	run cat "$D/img/udpcork.journal"
	assert_output --regexp "^captured criu-[0-9]+-[0-9]+ root-$pid-[0-9]+$"
	# a dump into the same directory refuses while that tree still lives
	mkdir "$D/work2"
	run criu dump -t "$pid" -D "$D/img" --work-dir "$D/work2" -o dump.log -v4 --leave-stopped
	assert_failure
	run grep -h "never got back (a dump with --leave-stopped, or CRIU or udpcork killed): run \`udpcork recover --pid $pid DIR\`" "$D/work2/dump.log"
	assert_success
	run "$UC_BUILD/udpcork" recover --pid "$pid" "$D/img"
	assert_success
	assert_output --partial "gave 1 sockets their 3100 pending bytes back"
	assert [ "$(txq_of "$pid" 9001)" -gt 0 ]
	lift_criu_lock "$pid"
	kill -CONT -- "-$pid"
	touch "$D/out/go"
	wait_file "$D/out/done" 15
	assert_delivered_in "$D/out" 3100
}

@test "bare criu: a dump into the directory of an earlier dump whose tree is gone replaces its files" {
	cr_start "$D" -f 4 -m more -s 1000
	run cr_dump "$D"
	[ "$status" -eq 0 ] || { echo "$output"; cr_logs "$D"; false; }
	assert_equal "$(cut -d' ' -f1 "$D/img/udpcork.journal")" captured
	run cr_restore "$D"
	[ "$status" -eq 0 ] || { echo "$output"; cr_logs "$D"; false; }
	# the restored tree (same pid, another process) is dumped into the same
	# directory: the earlier dump's tree is gone, its files are replaced
	run cr_dump "$D"
	[ "$status" -eq 0 ] || { echo "$output"; cr_logs "$D"; false; }
	run grep -h "saved 1 corked sockets, 1000 bytes" "$D/work/dump.log"
	assert_success
	run cr_restore "$D"
	[ "$status" -eq 0 ] || { echo "$output"; cr_logs "$D"; false; }
	touch "$D/out/go"
	wait_file "$D/out/done" 15
	assert_delivered_in "$D/out" 1000
}

@test "bare criu without udpcork: CRIU refuses the UDP_CORK socket (and the app keeps its data)" {
	udpcork_disable
	run grep -c "action-script.*udpcork" /etc/criu/default.conf
	assert_output 0
	cr_start "$D" -f 4 -m cork -s 100,3000
	pid=$(cr_pid "$D")
	run cr_dump "$D"
	assert_failure
	run grep -h "Can't dump corked dgram socket" "$D/work/dump.log"
	assert_success
	# the failed dump left the tree running with its datagram
	assert [ -e "/proc/$pid" ]
	assert [ "$(txq_of "$pid" 9001)" -gt 0 ]
	touch "$D/out/go"
	wait_file "$D/out/done" 15
	assert_delivered_in "$D/out" 3100
}
