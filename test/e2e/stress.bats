#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# Concurrency and load: two containers checkpointed at once, a checkpoint
# while another container restores, containers sharing a network namespace
# (udpcork touches only the target's sockets), and UDPCORK_LOAD_CYCLES
# (default 100) checkpoint/restore cycles under steady corked traffic with a
# receiver that counts lost, duplicated and reordered datagrams.

load ../lib

ct_standard_hooks

start_udpapp() { # NAME FAMILY MODE SIZES
	ct_create "$1" /udpapp -f "$2" -m "$3" -s "$4"
	ct_run "$1"
	ct_wait "$1" ready
}

finish() { # NAME LEN
	ct_finish "$1" "$2" 20
}

@test "two containers checkpointed at the same time, then restored at the same time" {
	start_udpapp para1 4 cork 100,3000
	start_udpapp para2 6 more 200,4000
	ct_checkpoint para1 &
	p1=$!
	ct_checkpoint para2 &
	p2=$!
	wait $p1
	wait $p2
	ct_restore para1 &
	p1=$!
	ct_restore para2 &
	p2=$!
	wait $p1
	wait $p2
	finish para1 3100
	finish para2 4200
}

@test "a checkpoint while another container restores" {
	start_udpapp cra 4 cork 100,3000
	ct_checkpoint cra
	start_udpapp crb 6 cork 300,3000
	ct_restore cra &
	p1=$!
	ct_checkpoint crb &
	p2=$!
	wait $p1
	wait $p2
	ct_restore crb
	finish cra 3100
	finish crb 3300
}

@test "two containers in one network namespace: the checkpoint of one never touches the other's sockets" {
	start_udpapp nsa 4 cork 100,3000
	# nsb joins nsa's network namespace, with its own corked socket
	ct_create nsb /udpapp -f 4 -m cork -s 500,500 -p 9100 -q 9101
	sed -i "s|\"type\": \"network\"|\"type\": \"network\", \"path\": \"/proc/$(ct_pid nsa)/ns/net\"|" "$(ct_dir nsb)/config.json"
	ct_run nsb
	ct_wait nsb ready
	before=$(ct_txq nsb 9101)
	assert [ "$before" -gt 0 ]
	run ct_checkpoint nsa --leave-running
	[ "$status" -eq 0 ] || { ct_criu_log nsa; false; }
	# only nsa's datagram in nsa's image; nsb's socket as it was
	run "$UC_BUILD/udpcork" show "$(ct_dir nsa)/img"
	assert_output --partial "0.0.0.0:9001"
	refute_output --partial ":9101"
	assert_equal "$(ct_txq nsb 9101)" "$before"
	touch "$(ct_out nsb)/go"
	ct_wait nsb done 20
	run cat "$(ct_out nsb)/recv.meta"
	assert_output "count=1 len=1000 sport=9101"
	finish nsa 3100
}

@test "load: checkpoint/restore cycles under steady corked traffic: nothing lost, duplicated or reordered" {
	local cycles=${UDPCORK_LOAD_CYCLES:-100} i carried=0 queued=0
	ct_app load seqapp -f 4 -i 3000
	ct_run load
	ct_wait load ready
	for ((i = 1; i <= cycles; i++)); do
		run ct_checkpoint load
		[ "$status" -eq 0 ] || { echo "cycle $i: checkpoint failed"; ct_criu_log load; false; }
		grep -q "saved 1 corked sockets" "$(ct_dir load)/work/dump.log" && carried=$((carried + 1))
		grep -q "saved [1-9][0-9]* unread datagrams" "$(ct_dir load)/work/dump.log" && queued=$((queued + 1))
		run ct_restore load
		[ "$status" -eq 0 ] || { echo "cycle $i: restore failed: $output"; ct_criu_log load; false; }
	done
	touch "$(ct_out load)/stop"
	ct_wait load done 30
	run cat "$(ct_out load)/result"
	echo "$cycles cycles: $output (sent $(cat "$(ct_out load)/sent"))"
	assert_output --regexp "^received=[0-9]+ lost=0 dup=0 reorder=0 bad=0 last=[0-9]+$"
	assert_equal "$(sed 's/.*received=\([0-9]*\).*/\1/' "$(ct_out load)/result")" "$(cat "$(ct_out load)/sent")"
	# udpcork really had datagrams to carry in many of the cycles
	echo "cycles with a pending datagram: $carried, with unread datagrams: $queued" >&3
	assert [ "$carried" -gt 0 ]
}

@test "processes forking and exiting all the time in the container: only its own sockets, data intact" {
	# a shell loop forks short-lived processes next to the app (paced: an
	# unpaced fork loop sometimes leaves a task in D state that CRIU itself
	# cannot seize, "Unseizable non-zombie ... state D", before udpcork runs)
	ct_create churn /bin/busybox sh -c \
		"exec >/out/churn.log 2>&1 </dev/null; (while :; do /bin/busybox true; /bin/busybox usleep 20000; done) & exec /udpapp -f 4 -m cork -s 100,3000"
	ct_run churn
	ct_wait churn ready
	for i in 1 2 3; do
		run ct_checkpoint churn
		if [ "$status" -ne 0 ] && grep -q "Unseizable non-zombie" "$(ct_dir churn)/work/dump.log"; then
			echo "# cycle $i: CRIU could not seize a task (not udpcork's step): once more" >&3
			run ct_checkpoint churn
		fi
		[ "$status" -eq 0 ] || { ct_criu_log churn; false; }
		run grep -h "saved 1 corked sockets, 3100 bytes" "$(ct_dir churn)/work/dump.log"
		assert_success
		run ct_restore churn
		[ "$status" -eq 0 ] || { echo "$output"; ct_criu_log churn; false; }
	done
	ct_finish churn 3100
}
