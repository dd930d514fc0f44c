#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# Faults: udpcork-prestop / udpcork-poststart killed (SIGKILL) at each step,
# CRIU failing or killed after the capture. After each: every datagram is
# still in its socket, or in a complete image / capture log that the next
# run (or `udpcork recover`) puts back - exactly once, never twice, never
# lost. The app (manysock) corks 3 datagrams of 1000 bytes on 3 sockets; its
# receiver counts what arrives (duplicates would show as count > 3).

load ../lib

ct_standard_hooks

teardown() {
	unset UDPCORK_FAULT
	sed -i '/uc-killer/d' /etc/criu/default.conf
	ct_cleanup_all
}

start() { # NAME
	ct_app "$1" manysock -f 4 -n 3 -s 1000
	ct_run "$1"
	ct_wait "$1" ready
}

# every datagram arrives exactly once
delivered_once() { # NAME
	touch "$(ct_out "$1")/go"
	ct_wait "$1" done 30
	run cat "$(ct_out "$1")/result"
	assert_output "count=3 bytes=3000"
}

# the dump was aborted and udpcork gave everything back
aborted_and_returned() { # NAME
	local img
	img=$(ct_dir "$1")/img
	assert [ ! -e "$img/udpcork.capture" ]
	assert_equal "$(cut -d' ' -f1 "$img/udpcork.journal")" returned
}

prestop_killed_at() { # NAME POINT SOCKETS-TAKEN
	start "$1"
	export UDPCORK_FAULT=$2
	run ct_checkpoint "$1"
	unset UDPCORK_FAULT
	assert_failure
	aborted_and_returned "$1"
	run grep -h "gave $3 sockets their $(($3 * 1000)) pending bytes back" "$(ct_dir "$1")"/work/dump.log
	assert_success
	delivered_once "$1"
}

@test "prestop killed after discovery: nothing taken, the dump fails, data in the sockets" {
	start kdisc
	export UDPCORK_FAULT=discovered
	run ct_checkpoint kdisc
	unset UDPCORK_FAULT
	assert_failure
	assert [ ! -e "$(ct_dir kdisc)/img/udpcork.journal" ]
	delivered_once kdisc
}

@test "prestop killed after the 1st capture: network-unlock gives it back from the capture log" {
	prestop_killed_at kcap1 captured:1 1
}

@test "prestop killed after the 3rd capture" {
	prestop_killed_at kcap3 captured:3 3
}

@test "prestop killed after the image write, before the journal" {
	prestop_killed_at kimg image-written 3
}

@test "prestop killed after the journal, before the capture log is removed" {
	prestop_killed_at kjrn journal-written 3
}

@test "network-unlock give-back killed after 2 of 3 sockets (--leave-running): the 3rd stays in the image, udpcork recover gives it back, no duplicate" {
	start kret
	pid=$(ct_pid kret)
	export UDPCORK_FAULT=returned:2
	run ct_checkpoint kret --leave-running
	unset UDPCORK_FAULT
	# CRIU ignores a failing network-unlock script: the app goes on
	assert_success
	run grep -h "post-dump: the datagrams stay in udpcork.img" "$(ct_dir kret)"/work/dump.log
	assert_success
	assert_equal "$(cut -d' ' -f1 "$(ct_dir kret)/img/udpcork.journal")" captured
	# a next checkpoint into the directory refuses while the container runs
	# without its datagram
	mkdir "$(ct_dir kret)/work2"
	run crun checkpoint --image-path "$(ct_dir kret)/img" --work-path "$(ct_dir kret)/work2" --leave-running kret
	assert_failure
	run grep -h "never got back (a dump with --leave-stopped, or CRIU or udpcork killed): run \`udpcork recover --pid $pid DIR\`" \
		"$(ct_dir kret)"/work2/dump.log
	assert_success
	run "$UC_BUILD/udpcork" recover --pid "$pid" "$(ct_dir kret)/img"
	assert_success
	assert_output --partial "gave 1 sockets their 1000 pending bytes back"
	assert_equal "$(echo "$output" | grep -c "already holds its 1000 pending bytes again: left alone")" 2
	aborted_and_returned kret
	delivered_once kret
}

@test "the image cannot be written (ENOSPC) after 3 captures: every socket gets its datagram back from the capture log, once" {
	local b
	b=$(ct_dir knospc)
	ct_app knospc manysock -f 4 -n 3 -s 3000
	ct_run knospc
	ct_wait knospc ready
	# room for the capture log (3 x 3 KiB: 3 pages), not for the image too
	mkdir -p "$b/img" "$b/work"
	mount -t tmpfs -o size=16k,mode=0700 uc-nospc "$b/img"
	run crun checkpoint --image-path "$b/img" --work-path "$b/work" knospc
	assert_failure
	run grep -h "image not saved; every socket has its datagram back" "$b/work/dump.log"
	[ "$status" -eq 0 ] || { grep -h udpcork "$b/work/dump.log"; umount "$b/img"; false; }
	assert [ ! -e "$b/img/udpcork.capture" ]
	assert [ ! -e "$b/img/udpcork.journal" ]
	umount "$b/img"
	touch "$(ct_out knospc)/go"
	ct_wait knospc done 30
	run cat "$(ct_out knospc)/result"
	assert_output "count=3 bytes=9000"
}

@test "poststart killed after 1 of 3 sockets: the restore fails, the image is intact, a second restore delivers once" {
	kpost=kpost-$RANDOM # a failed restore leaves busy cgroups behind (see README)
	start $kpost
	ct_checkpoint $kpost
	export UDPCORK_FAULT=restored:1
	run ct_restore $kpost
	unset UDPCORK_FAULT
	assert_failure
	ct_rm $kpost
	run "$UC_BUILD/udpcork" show "$(ct_dir $kpost)/img"
	assert_success
	assert_equal "$(echo "$output" | grep -c UDP_CORK)" 3
	# under another container id and cgroup: the failed restore's cgroups
	# stay busy (see the README)
	jq '.linux.cgroupsPath += "-again"' "$(ct_dir $kpost)/config.json" >"$(ct_dir $kpost)/c.json"
	mv "$(ct_dir $kpost)/c.json" "$(ct_dir $kpost)/config.json"
	mkdir -p "$(ct_dir $kpost)/work2"
	run crun restore -d --image-path "$(ct_dir $kpost)/img" --work-path "$(ct_dir $kpost)/work2" \
		--bundle "$(ct_dir $kpost)" "${kpost}b" </dev/null
	[ "$status" -eq 0 ] || { echo "$output"; tail -20 "$(ct_dir $kpost)/work2/restore.log"; false; }
	delivered_once $kpost
}

@test "CRIU killed after the capture: udpcork recover gives the datagrams back, once" {
	cat >/tmp/uc-killer <<-'SH'
	#!/bin/sh
	# CRTOOLS_IMAGE_DIR is /proc/<criu>/fd/N
	criu=${CRTOOLS_IMAGE_DIR#/proc/}
	[ "$CRTOOLS_SCRIPT_ACTION" = network-lock ] && kill -9 "${criu%%/*}"
	exit 0
	SH
	chmod +x /tmp/uc-killer
	# CRIU runs the action scripts of its configuration last line first:
	# this one goes first so that it runs after udpcork-prestop
	sed -i "1i action-script /tmp/uc-killer" /etc/criu/default.conf
	start kcriu
	pid=$(ct_pid kcriu)
	run ct_checkpoint kcriu
	assert_failure
	sed -i '/uc-killer/d' /etc/criu/default.conf
	# the sockets are empty now: the datagrams are only in the image dir
	assert_equal "$(ct_txq kcriu 20000)" 0
	run "$UC_BUILD/udpcork" recover --pid "$pid" "$(ct_dir kcriu)/img"
	assert_success
	assert_output --partial "gave 3 sockets their 3000 pending bytes back"
	# a second recover finds nothing to do
	run "$UC_BUILD/udpcork" recover --pid "$pid" "$(ct_dir kcriu)/img"
	assert_success
	assert_output --partial "nothing to recover"
	# CRIU died with its network lock in place
	lift_criu_lock "$pid"
	delivered_once kcriu
}
