#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# Receive queues: unread datagrams survive checkpoint/restore in order, with
# the same payload, source address and port, PKTINFO destination, TTL and
# TOS (real crun + CRIU).

load ../lib

ct_standard_hooks

# rx_case NAME FAMILY N [rxq options]: fill the queue, checkpoint, restore,
# read: rx.txt must equal sent.txt line for line.
rx_case() {
	local name=$1 fam=$2 n=$3
	shift 3
	ct_app "$name" rxq -f "$fam" -n "$n" "$@"
	ct_run "$name"
	ct_wait "$name" ready 30
	run ct_checkpoint "$name"
	[ "$status" -eq 0 ] || { ct_criu_log "$name"; false; }
	run grep -h "saved $n unread datagrams" "$(ct_dir "$name")"/work/dump.log
	assert_success
	run ct_restore "$name"
	[ "$status" -eq 0 ] || { echo "$output"; ct_criu_log "$name"; false; }
	run grep -h "$n unread datagrams put back" "$(ct_dir "$name")"/work/restore.log
	assert_success
	if [[ " $* " == *" -c "* ]]; then
		# the same socket's corked datagram is pending again too
		assert [ "$(ct_txq "$name" 9100)" -gt 0 ]
	fi
	touch "$(ct_out "$name")/go"
	ct_wait "$name" done 30
	assert_equal "$(wc -l <"$(ct_out "$name")/rx.txt")" "$n"
	run diff "$(ct_out "$name")/sent.txt" "$(ct_out "$name")/rx.txt"
	[ "$status" -eq 0 ] || { echo "$output" | head -20; false; }
}

@test "IPv4 receive queue: 200 datagrams from 4 sources (one port still bound), 2 destinations, TTL/TOS" {
	rx_case rx4 4 200
}

@test "IPv6 receive queue: 200 datagrams, TTL/TCLASS" {
	rx_case rx6 6 200
}

@test "IPv4 receive queue: 3000 small datagrams" {
	rx_case rxmany 4 3000 -s 1,16,0,64
}

@test "IPv4 receive queue: 64 KiB datagrams" {
	rx_case rxbig 4 40 -s 65507,65000,1
}

@test "a socket with both a receive queue and a corked datagram" {
	rx_case rxcork 4 50 -c
}

@test "without udpcork CRIU drops the receive queue (the test can fail)" {
	udpcork_disable
	ct_app rxplain rxq -f 4 -n 20
	ct_run rxplain
	ct_wait rxplain ready
	ct_checkpoint rxplain
	ct_restore rxplain
	touch "$(ct_out rxplain)/go"
	ct_wait rxplain done 30
	assert_equal "$(wc -l <"$(ct_out rxplain)/rx.txt")" 0
	udpcork_enable
}

@test "--leave-running: the queue stays readable and intact" {
	ct_app rxleave rxq -f 6 -n 100
	ct_run rxleave
	ct_wait rxleave ready
	run ct_checkpoint rxleave --leave-running
	[ "$status" -eq 0 ] || { ct_criu_log rxleave; false; }
	touch "$(ct_out rxleave)/go"
	ct_wait rxleave done 30
	run diff "$(ct_out rxleave)/sent.txt" "$(ct_out rxleave)/rx.txt"
	assert_success
}

@test "a dump that fails after udpcork saved the queue: the queue stays readable and intact" {
	cat >/tmp/uc-fail-rx <<-'SH'
	#!/bin/sh
	[ "$CRTOOLS_SCRIPT_ACTION" = network-lock ] && exit 1
	exit 0
	SH
	chmod +x /tmp/uc-fail-rx
	echo "action-script /tmp/uc-fail-rx" >>/etc/criu/default.conf
	ct_app rxfail rxq -f 4 -n 100
	ct_run rxfail
	ct_wait rxfail ready
	run ct_checkpoint rxfail
	sed -i '/uc-fail-rx/d' /etc/criu/default.conf
	assert_failure
	run grep -h "saved 100 unread datagrams" "$(ct_dir rxfail)"/work/dump.log
	assert_success
	touch "$(ct_out rxfail)/go"
	ct_wait rxfail done 30
	run diff "$(ct_out rxfail)/sent.txt" "$(ct_out rxfail)/rx.txt"
	assert_success
}

@test "SO_PEEK_OFF in use: after restore the application's next peek is the datagram after those it had peeked" {
	ct_app rxpeek rxq -f 4 -n 30 -k 7 -s 1,100,1400,9000
	ct_run rxpeek
	ct_wait rxpeek ready
	run ct_checkpoint rxpeek
	[ "$status" -eq 0 ] || { ct_criu_log rxpeek; false; }
	ct_restore rxpeek
	touch "$(ct_out rxpeek)/go"
	ct_wait rxpeek done 30
	assert_equal "$(cat "$(ct_out rxpeek)/peek.txt")" "$(sed -n 8p "$(ct_out rxpeek)/sent.txt")"
	run diff "$(ct_out rxpeek)/sent.txt" "$(ct_out rxpeek)/rx.txt"
	assert_success
}

@test "a zero-length datagram the application already peeked: the checkpoint is refused, the queue stays intact" {
	# sizes 1,100,1400,0,...: the 4th datagram is empty, and the app peeks 7
	ct_app rxpeek0 rxq -f 4 -n 30 -k 7
	ct_run rxpeek0
	ct_wait rxpeek0 ready
	run ct_checkpoint rxpeek0
	assert_failure
	run grep -h "cannot save this queue exactly" "$(ct_dir rxpeek0)"/work/dump.log
	assert_success
	touch "$(ct_out rxpeek0)/go"
	ct_wait rxpeek0 done 30
	run diff "$(ct_out rxpeek0)/sent.txt" "$(ct_out rxpeek0)/rx.txt"
	assert_success
}
