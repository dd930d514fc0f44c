#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# End to end with the real crun and CRIU: a container's corked datagram
# survives `crun checkpoint` + `crun restore`, byte for byte.

load ../lib

ct_standard_hooks --udpcork

# e2e FAMILY MODE SIZES: cork, checkpoint, restore, uncork, check.
e2e() {
	local fam=$1 mode=$2 sizes=$3 name len
	name="c$fam-$mode-$(echo "$sizes" | tr , -)"
	len=$(sum_sizes "$sizes")
	ct_create "$name" /udpapp -f "$fam" -m "$mode" -s "$sizes"
	ct_run "$name"
	ct_wait "$name" ready
	run ct_checkpoint "$name"
	[ "$status" -eq 0 ] || { ct_criu_log "$name"; false; }
	assert [ -f "$(ct_dir "$name")/img/udpcork.img" ]
	run udpcork show "$(ct_dir "$name")/img"
	assert_success
	assert_output --partial "$len"
	run ct_restore "$name"
	[ "$status" -eq 0 ] || { echo "$output"; ct_criu_log "$name"; false; }
	# the restored socket holds a pending datagram again (kernel's view)
	assert [ "$(ct_txq "$name" 9001)" -gt 0 ]
	ct_finish "$name" "$len"
}

@test "IPv4 UDP_CORK 100 B survives crun checkpoint/restore" { e2e 4 cork 100; }
@test "IPv4 UDP_CORK 5 writes, 3400 B (linear + page frags)" { e2e 4 cork 100,100,100,100,3000; }
@test "IPv4 UDP_CORK 0 B" { e2e 4 cork 0; }
@test "IPv4 UDP_CORK 65507 B" { e2e 4 cork 65507; }
@test "IPv4 MSG_MORE 100 B survives crun checkpoint/restore" { e2e 4 more 100; }
@test "IPv4 MSG_MORE 5 writes, 3400 B (linear + page frags)" { e2e 4 more 100,100,100,100,3000; }
@test "IPv4 MSG_MORE 0 B" { e2e 4 more 0; }
@test "IPv4 MSG_MORE 65507 B" { e2e 4 more 65507; }
@test "IPv6 UDP_CORK 100 B survives crun checkpoint/restore" { e2e 6 cork 100; }
@test "IPv6 UDP_CORK 5 writes, 3400 B (linear + page frags)" { e2e 6 cork 100,100,100,100,3000; }
@test "IPv6 UDP_CORK 0 B" { e2e 6 cork 0; }
@test "IPv6 UDP_CORK 65507 B" { e2e 6 cork 65507; }
@test "IPv6 MSG_MORE 100 B survives crun checkpoint/restore" { e2e 6 more 100; }
@test "IPv6 MSG_MORE 5 writes, 3400 B (linear + page frags)" { e2e 6 more 100,100,100,100,3000; }
@test "IPv6 MSG_MORE 0 B" { e2e 6 more 0; }
@test "IPv6 MSG_MORE 65507 B" { e2e 6 more 65507; }

@test "without udpcork: CRIU refuses the UDP_CORK socket (and the app keeps its data)" {
	udpcork_disable
	ct_create nocork /udpapp -f 4 -m cork -s 100,3000
	ct_run nocork
	ct_wait nocork ready
	run ct_checkpoint nocork
	assert_failure
	run grep -h "Can't dump corked dgram socket" "$(ct_dir nocork)"/work/dump.log
	assert_success
	# the failed dump left the app running with its datagram
	ct_finish nocork 3100
}

@test "without udpcork: CRIU loses the MSG_MORE datagram" {
	udpcork_disable
	ct_create nomore /udpapp -f 4 -m more -s 100,3000
	ct_run nomore
	ct_wait nomore ready
	ct_checkpoint nomore
	grep -q "isn't empty" "$(ct_dir nomore)"/work/dump.log
	ct_restore nomore
	assert_equal "$(ct_txq nomore 9001)" 0
	touch "$(ct_out nomore)/go"
	ct_wait nomore done 15
	# only the app's final empty write arrives: the 3100 bytes are gone
	run cat "$(ct_out nomore)/recv.meta"
	assert_output "count=1 len=0 sport=9001"
}

@test "crun checkpoint --leave-running: the app goes on and its datagram arrives intact, once" {
	ct_create leave /udpapp -f 6 -m cork -s 100,100,3000
	ct_run leave
	ct_wait leave ready
	run ct_checkpoint leave --leave-running
	[ "$status" -eq 0 ] || { ct_criu_log leave; false; }
	assert_equal "$(cut -d" " -f1 "$(ct_dir leave)/img/udpcork.journal")" returned
	ct_finish leave 3200
}

@test "a dump that fails after the capture: the running app's datagram arrives intact, once" {
	# an action script after udpcork's that fails at network-lock
	cat >/tmp/uc-fail <<-'SH'
	#!/bin/sh
	[ "$CRTOOLS_SCRIPT_ACTION" = network-lock ] && { echo "uc-fail: failing the dump on purpose" >&2; exit 1; }
	exit 0
	SH
	chmod +x /tmp/uc-fail
	echo "action-script /tmp/uc-fail" >>/etc/criu/default.conf
	ct_create fail /udpapp -f 4 -m more -s 100,100,3000
	ct_run fail
	ct_wait fail ready
	run ct_checkpoint fail
	sed -i '/uc-fail/d' /etc/criu/default.conf
	assert_failure
	grep -q "failing the dump on purpose" "$(ct_dir fail)"/work/dump.log
	assert_equal "$(cut -d" " -f1 "$(ct_dir fail)/img/udpcork.journal")" returned
	ct_finish fail 3200
}

@test "fail closed: a netfilter chain that runs before udpcork makes the checkpoint fail, data kept" {
	ct_create nfdrop /udpapp -f 4 -m cork -s 100,3000
	ct_run nfdrop
	ct_wait nfdrop ready
	pid=$(ct_pid nfdrop)
	nsenter -t "$pid" -n nft -f - <<-'NFT'
	table inet ucblock {
		chain out { type filter hook output priority -2147483648; meta l4proto udp drop; }
	}
	NFT
	run ct_checkpoint nfdrop
	assert_failure
	run grep -h "capture check failed" "$(ct_dir nfdrop)"/work/dump.log
	assert_success
	assert_output --partial "No socket was touched"
	nsenter -t "$pid" -n nft delete table inet ucblock
	# nothing was captured, nothing sent: the app still has its datagram
	assert [ ! -e "$(ct_dir nfdrop)/img/udpcork.img" ]
	ct_finish nfdrop 3100
}

# Kernels without the netfilter BPF link (< 6.4) capture through a
# cgroup_skb egress program at the cgroup2 root; forced here on this kernel
# (the kernel matrix runs it where it is the only path).
cg_path() {
	export UDPCORK_CAPTURE=cgroup
	e2e "$@"
	unset UDPCORK_CAPTURE
	run grep -h "capture via cgroup_skb egress" "$(ct_dir "c$1-$2-$(echo "$3" | tr , -)")"/work/dump.log
	assert_success
}

@test "cgroup_skb capture path: IPv4 UDP_CORK 3400 B" { cg_path 4 cork 100,100,100,100,3000; }
@test "cgroup_skb capture path: IPv6 MSG_MORE 65507 B" { cg_path 6 more 65507; }
