#!/usr/bin/env bats
# Per-container opt-out, and containers in CRIU's own network namespace
# (host networking), with the real crun and CRIU.

load ../lib

setup_file() {
	require_stack
}

setup() {
	load_bats_libs
}

teardown() {
	ct_cleanup_all
}

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
	touch "$(ct_out "$1")/go"
	ct_wait "$1" done 15
	run cat "$(ct_out "$1")/recv.meta"
	assert_output "count=1 len=$2 sport=9001"
	assert_equal "$(sha256sum <"$(ct_out "$1")/recv.bin")" "$(sha256sum <"$(ct_out "$1")/sent.bin")"
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
