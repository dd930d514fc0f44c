#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# End to end with the real podman (crun, CRIU, netavark): a container's
# corked datagram survives `podman container checkpoint` + `restore`
# (in place, --leave-running, --export/--import, a second copy with
# --name), also when it goes over podman's bridge to another container.
# udpcork runs only through the action-script lines of /etc/criu/default.conf.

load ../lib
load ../lib-podman

setup_file() {
	pm_require
	pm_cleanup
	pm_image_create
}

teardown_file() {
	pm_cleanup
	podman network rm -f pm-net6 >/dev/null 2>&1 || true
	pm_image_rm
	rm -rf "$PM_BASE"
	# podman's cgroupfs parent in the host's hierarchies (cgroups of a
	# failed restore stay busy: see the README's limits)
	local d
	for d in /sys/fs/cgroup/*/libpod_parent/*/ /sys/fs/cgroup/*/libpod_parent/; do
		rmdir "$d" 2>/dev/null || true
	done
}

setup() {
	load_bats_libs
}

teardown() {
	pm_cleanup
	udpcork_enable
}

# assert_delivered RECEIVER SENDER LEN: the receiver got exactly one
# datagram, LEN bytes, the same bytes as the sender's sent.bin, from 9001.
assert_delivered() { assert_delivered_in "$(pm_out "$1")" "$3" "$(pm_out "$2")"; }

# checkpoint NAME [options]: podman container checkpoint --keep (CRIU's
# log stays); on failure show the log. udpcork must have saved 1 socket.
checkpoint() {
	local name=$1
	shift
	run podman container checkpoint --keep "$@" "$name"
	[ "$status" -eq 0 ] || { echo "$output"; pm_criu_log "$name" dump; false; }
	run grep -h "udpcork-prestop: info: container pid [0-9]*: saved 1 corked sockets" "$(pm_static "$name")/dump.log"
	[ "$status" -eq 0 ] || { pm_criu_log "$name" dump; false; }
}

# restore NAME ARGS...: podman container restore --keep ARGS..., where the
# restored container is NAME; udpcork must have put the datagram back.
restore() {
	local name=$1 log
	shift
	run podman container restore --keep "$@"
	[ "$status" -eq 0 ] || { echo "$output"; pm_criu_log "$name" restore; false; }
	log="$(pm_static "$name")/restore.log"
	run grep -h "udpcork-poststart: info: socket container pid 1 fd [0-9]* udp.*:9001: [0-9]* bytes pending again" "$log"
	[ "$status" -eq 0 ] || { pm_criu_log "$name" restore; false; }
}

# in_place FAMILY MODE SIZES: checkpoint, restore, uncork, check.
in_place() {
	local fam=$1 mode=$2 sizes=$3 name=pm-ip len
	len=$(sum_sizes "$sizes")
	pm_run $name vol -- /udpapp -f "$fam" -m "$mode" -s "$sizes"
	pm_wait $name ready
	checkpoint $name
	assert_equal "$(podman inspect -f '{{.State.Status}}' $name)" exited
	run udpcork show "$(pm_static $name)/checkpoint"
	assert_success
	assert_output --partial " $len "
	assert_output --partial "$([ "$mode" = cork ] && echo UDP_CORK || echo MSG_MORE)"
	restore $name $name
	assert_equal "$(podman inspect -f '{{.State.Status}}' $name)" running
	# the restored socket holds a pending datagram again (kernel's view)
	assert [ "$(pm_txq $name 9001)" -gt 0 ]
	pm_go $name
	pm_collect $name
	assert_delivered $name $name "$len"
}

@test "podman checkpoint/restore: IPv4 UDP_CORK, 3 writes, 3200 B" {
	in_place 4 cork 100,100,3000
}

@test "podman checkpoint/restore: IPv6 MSG_MORE, 2 writes, 3100 B" {
	in_place 6 more 100,3000
}

@test "podman checkpoint/restore: IPv6 UDP_CORK 65507 B" {
	in_place 6 cork 65507
}

@test "podman checkpoint --leave-running: the app goes on, its datagram arrives intact, once" {
	local name=pm-leave
	pm_run $name vol -- /udpapp -f 6 -m cork -s 100,100,3000
	pm_wait $name ready
	checkpoint $name --leave-running
	assert_equal "$(podman inspect -f '{{.State.Status}}' $name)" running
	assert_equal "$(cut -d" " -f1 "$(pm_static $name)/checkpoint/udpcork.journal")" returned
	run grep -h "network-unlock: gave 1 sockets their 3200 pending bytes back" "$(pm_static $name)/dump.log"
	assert_success
	assert [ "$(pm_txq $name 9001)" -gt 0 ]
	pm_go $name
	pm_collect $name
	assert_delivered $name $name 3200
}

@test "podman checkpoint --leave-running, IPv4 MSG_MORE: the datagram arrives intact, once" {
	local name=pm-leave4
	pm_run $name vol -- /udpapp -f 4 -m more -s 1000,1000
	pm_wait $name ready
	checkpoint $name --leave-running
	assert_equal "$(cut -d" " -f1 "$(pm_static $name)/checkpoint/udpcork.journal")" returned
	assert [ "$(pm_txq $name 9001)" -gt 0 ]
	pm_go $name
	pm_collect $name
	assert_delivered $name $name 2000
}

@test "podman checkpoint/restore twice in a row (IPv4 MSG_MORE): the datagram arrives once" {
	local name=pm-twice
	pm_run $name vol -- /udpapp -f 4 -m more -s 100,100,3000
	pm_wait $name ready
	# without --keep, as a user would: podman removes the images after restore
	run podman container checkpoint $name
	assert_success
	run podman container restore $name
	assert_success
	checkpoint $name
	restore $name $name
	assert [ "$(pm_txq $name 9001)" -gt 0 ]
	pm_go $name
	pm_collect $name
	assert_delivered $name $name 3200
}

# podman keeps a --leave-running checkpoint's images (userdata/checkpoint,
# udpcork.journal included) and dumps the next checkpoint into the same
# directory.
@test "podman checkpoint --leave-running, then checkpoint + restore: the datagram arrives once" {
	local name=pm-again
	pm_run $name vol -- /udpapp -f 4 -m cork -s 100,3000
	pm_wait $name ready
	run podman container checkpoint --leave-running $name
	assert_success
	assert [ "$(pm_txq $name 9001)" -gt 0 ]
	checkpoint $name
	restore $name $name
	assert [ "$(pm_txq $name 9001)" -gt 0 ]
	pm_go $name
	pm_collect $name
	assert_delivered $name $name 3100
}

# export_import FAMILY MODE SIZES: checkpoint --export, rm, restore --import.
export_import() {
	local fam=$1 mode=$2 sizes=$3 name=pm-exp len tarball
	len=$(sum_sizes "$sizes")
	tarball=$(pm_dir $name)/ckpt.tar.gz
	pm_run $name vol -- /udpapp -f "$fam" -m "$mode" -s "$sizes"
	pm_wait $name ready
	checkpoint $name --export "$tarball" --compress gzip
	# the saved datagram travels in the archive, next to CRIU's images
	run tar tzf "$tarball"
	assert_success
	assert_line --regexp '^(\./)?checkpoint/udpcork\.img$'
	assert_line --regexp '^(\./)?checkpoint/inventory\.img$'
	# udpcork show and checkpointctl-udpcork read the archive directly
	run udpcork show "$tarball"
	assert_success
	assert_output --regexp "$len +[0-9-]+ +[0-9-]+ [0-9a-f]{12}"
	run checkpointctl-udpcork "$tarball"
	assert_success
	assert_output --partial "Engine: Podman"
	assert_output --partial "UDP datagrams saved by udpcork:"
	assert_output --regexp "$len +[0-9-]+ +[0-9-]+ [0-9a-f]{12}"
	podman rm -f -t0 $name >/dev/null
	run podman container exists $name
	assert_failure
	restore $name --import "$tarball"
	assert_equal "$(podman inspect -f '{{.State.Status}}' $name)" running
	assert [ "$(pm_txq $name 9001)" -gt 0 ]
	pm_go $name
	pm_collect $name
	assert_delivered $name $name "$len"
}

@test "podman checkpoint --export, rm, restore --import: IPv4 MSG_MORE 3200 B" {
	export_import 4 more 100,100,3000
}

@test "podman checkpoint --export, rm, restore --import: IPv6 UDP_CORK 100 B" {
	export_import 6 cork 100
}

@test "podman restore --import --name: a second copy next to the running original, both deliver once" {
	local tarball
	# /out in the containers' own filesystems: each copy has its own
	pm_run pm-orig novol -- /udpapp -f 6 -m more -s 100,100,100,100,3000
	tarball=$(pm_dir pm-orig)/ckpt.tar.gz
	pm_wait pm-orig ready
	checkpoint pm-orig --leave-running --export "$tarball" --compress gzip
	run tar tzf "$tarball"
	assert_line --regexp '^(\./)?checkpoint/udpcork\.img$'
	assert_equal "$(podman inspect -f '{{.State.Status}}' pm-orig)" running
	restore pm-other --import "$tarball" --name pm-other
	assert_equal "$(podman inspect -f '{{.State.Status}}' pm-other)" running
	assert_equal "$(podman inspect -f '{{.State.Status}}' pm-orig)" running
	assert [ "$(pm_txq pm-orig 9001)" -gt 0 ]
	assert [ "$(pm_txq pm-other 9001)" -gt 0 ]
	# the copy has the original's files up to the checkpoint, not its own yet
	run pm_exec pm-other "ls /out"
	assert_line ready
	refute_line recv.meta
	pm_go pm-other
	pm_collect pm-other
	assert_delivered pm-other pm-other 3400
	# the original is still waiting, its datagram still pending
	assert_equal "$(podman inspect -f '{{.State.Status}}' pm-orig)" running
	assert [ "$(pm_txq pm-orig 9001)" -gt 0 ]
	pm_go pm-orig
	pm_collect pm-orig
	assert_delivered pm-orig pm-orig 3400
}

# bridge FAMILY MODE SIZES NETWORK: the app's datagram goes over podman's
# bridge to a receiver in another container on NETWORK.
bridge() {
	local fam=$1 mode=$2 sizes=$3 net=$4 len peer from
	len=$(sum_sizes "$sizes")
	pm_run pm-peer vol --network "$net" -- /udprecv -f "$fam" -p 9000
	pm_wait pm-peer listening
	peer=$(pm_ip pm-peer "$fam")
	assert [ -n "$peer" ]
	pm_run pm-app vol --network "$net" -- /udpapp -R -f "$fam" -m "$mode" -s "$sizes" -d "$peer" -p 9000
	pm_wait pm-app ready
	checkpoint pm-app
	restore pm-app pm-app
	assert [ "$(pm_txq pm-app 9001)" -gt 0 ]
	from=$(pm_ip pm-app "$fam")
	# nothing has arrived yet: the datagram is still corked
	assert [ ! -e "$(pm_out pm-peer)/recv.meta" ]
	pm_go pm-app
	pm_collect pm-app
	pm_collect pm-peer
	assert_delivered pm-peer pm-app "$len"
	assert_equal "$(cat "$(pm_out pm-peer)/recv.from")" "$from"
}

@test "podman bridge network: IPv4 UDP_CORK datagram reaches a peer container after restore" {
	bridge 4 cork 100,100,3000 podman
}

@test "podman bridge network: IPv6 MSG_MORE datagram reaches a peer container after restore" {
	podman network create --ipv6 pm-net6 >/dev/null
	bridge 6 more 100,3000 pm-net6
	podman network rm -f pm-net6 >/dev/null
}

# A copy restored with --import --name next to the running original gets a
# new address on the bridge; the app's socket is bound to the wildcard
# address, so its datagram should now leave from the copy's address.
@test "podman bridge network: a copy restored with --import --name (new address) delivers its datagram to the peer" {
	local peer tarball copy_ip
	pm_run pm-peer vol -- /udprecv -f 4 -p 9000
	pm_wait pm-peer listening
	peer=$(pm_ip pm-peer 4)
	pm_run pm-orig novol -- /udpapp -R -f 4 -m more -s 100,3000 -d "$peer" -p 9000
	pm_wait pm-orig ready
	tarball=$(pm_dir pm-orig)/ckpt.tar.gz
	checkpoint pm-orig --leave-running --export "$tarball" --compress gzip
	restore pm-copy --import "$tarball" --name pm-copy
	copy_ip=$(pm_ip pm-copy 4)
	refute [ "$copy_ip" = "$(pm_ip pm-orig 4)" ]
	assert [ "$(pm_txq pm-copy 9001)" -gt 0 ]
	pm_go pm-copy
	pm_collect pm-copy
	pm_collect pm-peer
	assert_delivered pm-peer pm-copy 3100
	assert_equal "$(cat "$(pm_out pm-peer)/recv.from")" "$copy_ip"
	# and udpcork said why it did not force the old source address
	run grep -h "does not exist in the restored network namespace" "$(pm_static pm-copy)/restore.log"
	assert_success
}

@test "podman opt-out annotation io.github.udpcork.disable=true: the checkpoint fails as without udpcork, data kept" {
	local name=pm-optout
	pm_run $name vol --annotation io.github.udpcork.disable=true -- /udpapp -f 4 -m cork -s 100,3000
	pm_wait $name ready
	run podman container checkpoint --keep $name
	assert_failure
	run grep -h "opted out with io.github.udpcork.disable=true" "$(pm_static $name)/dump.log"
	assert_success
	run grep -h "Can't dump corked dgram socket" "$(pm_static $name)/dump.log"
	assert_success
	assert_equal "$(podman inspect -f '{{.State.Status}}' $name)" running
	pm_go $name
	pm_collect $name
	assert_delivered $name $name 3100
}

@test "podman opt-in per container: org.criu.config names udpcork's CRIU config (not in default.conf)" {
	local name=pm-optin
	udpcork_disable
	pm_run $name vol --annotation org.criu.config=/usr/share/udpcork/criu-udpcork.conf -- \
		/udpapp -f 6 -m cork -s 100,100,3000
	pm_wait $name ready
	checkpoint $name
	restore $name $name
	udpcork_enable
	pm_go $name
	pm_collect $name
	assert_delivered $name $name 3200
}
