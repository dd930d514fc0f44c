#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# Per-container opt-out, and containers in CRIU's own network namespace
# (host networking), with the real crun and CRIU.

load ../lib

ct_standard_hooks

start_app() { # NAME ARG...
	local name=$1
	shift
	ct_create "$name" /udpapp "$@"
	[ -z "${HOSTNET:-}" ] || ct_host_network "$name"
	[ -z "${OPTOUT:-}" ] || ct_annotate "$name" io.github.udpcork.disable true
	ct_run "$name"
	ct_wait "$name" ready
}

finish_app() { # NAME LEN: the app still has its datagram and sends it
	ct_finish "$1" "$2"
}

@test "opt-out annotation: udpcork leaves the container alone, CRIU fails as without udpcork" {
	OPTOUT=1 start_app optout -f 4 -m cork -s 100,3000
	run ct_checkpoint optout
	assert_failure
	run grep -h "opted out with io.github.udpcork.disable=true" "$(ct_dir optout)"/work/dump.log
	assert_success
	run grep -h "Can't dump corked dgram socket" "$(ct_dir optout)"/work/dump.log
	assert_success
	assert [ ! -e "$(ct_dir optout)/img/udpcork.img" ]
	finish_app optout 3100
}

@test "host network, MSG_MORE: the checkpoint is refused at post-dump, the app keeps its datagram" {
	HOSTNET=1 start_app hostmore -f 4 -m more -s 100,3000
	run ct_checkpoint hostmore
	assert_failure
	run grep -h "shares CRIU's network namespace" "$(ct_dir hostmore)"/work/dump.log
	assert_success
	assert_output --partial "keeps running with its data"
	finish_app hostmore 3100
}

@test "host network, UDP_CORK: CRIU refuses the socket, the app keeps its datagram" {
	HOSTNET=1 start_app hostcork -f 6 -m cork -s 100,3000
	run ct_checkpoint hostcork
	assert_failure
	run grep -h "Can't dump corked dgram socket" "$(ct_dir hostcork)"/work/dump.log
	assert_success
	finish_app hostcork 3100
}

@test "host network, nothing corked yet: udpcork does not get in the way" {
	ct_create hostidle /bin/busybox sh -c "exec /bin/busybox sleep 1000 >/out/log 2>&1 </dev/null"
	ct_host_network hostidle
	ct_run hostidle
	run ct_checkpoint hostidle --leave-running
	[ "$status" -eq 0 ] || { ct_criu_log hostidle; false; }
}

# oddsock MODE: a corked socket the UDP iterator does not visit.
odd_socket() {
	local name=$1 mode=$2
	ct_create "$name" /oddsock "$mode"
	cp "$UC_BUILD/test/oddsock" "$(ct_dir "$name")/rootfs/oddsock"
	ct_run "$name"
	local n=200
	while [ ! -e "$(ct_out "$name")/ready" ] && [ ! -e "$(ct_out "$name")/unsupported" ] && [ $n -gt 0 ]; do
		sleep 0.05
		n=$((n - 1))
	done
}

@test "fail closed: a corked socket unhashed by connect(AF_UNSPEC) is named and the checkpoint refused, data kept" {
	odd_socket unhashed unhashed
	assert [ -e "$(ct_out unhashed)/ready" ]
	run ct_checkpoint unhashed
	assert_failure
	run grep -h "UDP iterator cannot see" "$(ct_dir unhashed)"/work/dump.log
	assert_success
	assert_output --partial "unhashed"
	assert_output --partial "(container pid 1) fd "
	touch "$(ct_out unhashed)/go"
	ct_wait unhashed done
	# the pending datagram is still in the socket
	assert [ "$(cat "$(ct_out unhashed)/outq")" -gt 3000 ]
}

@test "fail closed: a corked UDP-Lite socket is named and the checkpoint refused, data kept" {
	odd_socket lite udplite
	if [ -e "$(ct_out lite)/unsupported" ]; then
		skip "this kernel has no UDP-Lite: $(cat "$(ct_out lite)/unsupported")"
	fi
	run ct_checkpoint lite
	assert_failure
	run grep -h "UDP-Lite is not supported" "$(ct_dir lite)"/work/dump.log
	assert_success
	touch "$(ct_out lite)/go"
	ct_wait lite done
	assert [ "$(cat "$(ct_out lite)/outq")" -gt 3000 ]
}
