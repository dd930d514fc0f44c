#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# End to end with the real containerd 2.1 (runc shim, runc, CRIU), started
# by this file as a daemon on its own socket and state dirs: `ctr` task and
# container checkpoints, and the CRI CheckpointContainer RPC the kubelet
# calls (through test/cri/cri-client.py), with restore of its archive
# through CRI CreateContainer. udpcork runs only through the action-script
# lines of /etc/criu/default.conf (or an org.criu.config file).
# Needs containerd, containernetworking-plugins, python3-grpcio and
# python3-grpc-tools in the testbed (test/testbed/packages).

load ../lib
load ../lib-containerd

setup_file() {
	# the testbed's cgroup v2 mode on a hybrid host has no cpu controller
	# (bound to v1); containerd's pod sandboxes set CPU shares, which runc
	# writes to cpu.weight there
	if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] && ! grep -qw cpu /sys/fs/cgroup/cgroup.controllers; then
		skip "cgroup2 here has no cpu controller ($(cat /sys/fs/cgroup/cgroup.controllers)): containerd's sandboxes need cpu.weight; containerd runs on the hybrid layout here and on cgroup v2 in the kernel matrix cell sid-v2-containerd"
	fi
	cd_require
	cd_stop
	rm -rf "$CD_BASE"
	cd_start
	cd_images
	cd_registry
}

teardown_file() {
	cd_stop
	rm -rf "$CD_BASE"
}

setup() {
	load_bats_libs
	udpcork_enable
}

teardown() {
	cri_cleanup
	cd_cleanup_ctr
	# a failed config-file probe must not leave its lines to later tests
	sed -i "\|$CD_BASE/probe-|d" /etc/criu/default.conf
	rm -f /etc/criu/runc.conf /etc/criu/crun.conf
	udpcork_enable
}

# delivered NAME LEN: the app of NAME (its /out) delivered its datagram once.
delivered() {
	touch "$(cd_out "$1")/go"
	wait_file "$(cd_out "$1")/done" 15
	assert_delivered_in "$(cd_out "$1")" "$2"
}

@test "ctr task checkpoint --image-path: udpcork.img in the image dir, the task runs on, its datagram arrives once" {
	local d
	d=$(cd_dir cd-leave)
	cd_run cd-leave -- /udpapp -f 4 -m cork -s 100,100,3000
	wait_file "$(cd_out cd-leave)/ready" 10
	run cd_ctr tasks checkpoint --image-path "$d/img" --work-path "$d/work" cd-leave
	[ "$status" -eq 0 ] || { echo "$output"; tail -n 30 "$d/work/dump.log"; false; }
	run grep -h "udpcork-prestop: info: container pid [0-9]*: saved 1 corked sockets, 3200 bytes" "$d/work/dump.log"
	assert_success
	run udpcork show "$d/img"
	assert_success
	assert_output --partial "UDP_CORK   3200"
	assert_equal "$(cd_status cd-leave)" RUNNING
	assert_equal "$(cut -d" " -f1 "$d/img/udpcork.journal")" returned
	assert [ "$(txq_of "$(cd_pid cd-leave)" 9001)" -gt 0 ]
	delivered cd-leave 3200
}

@test "ctr container checkpoint --task --image, restore --live as a new container: IPv6 MSG_MORE 3100 B" {
	cd_run cd-img -- /udpapp -f 6 -m more -s 100,3000
	wait_file "$(cd_out cd-img)/ready" 10
	run cd_ctr containers checkpoint --task --image --rw cd-img localhost/cd-img-ckpt:1
	assert_success
	# the CRIU image tar inside the checkpoint image holds udpcork.img
	local idx blob
	idx=$(cd_ctr images ls | awk '$1 == "localhost/cd-img-ckpt:1" { print $3 }')
	blob=$(cd_ctr content get "$idx" | jq -r '.manifests[] | select(.mediaType | endswith("criu.tar")) | .digest')
	run bash -c "ctr --address $CD_SOCK -n $CD_NS content get $blob | tar t"
	assert_line udpcork.img
	cd_rm cd-img
	rm -f "$(cd_out cd-img)/ready"
	run cd_ctr containers restore --live --rw cd-img2 localhost/cd-img-ckpt:1
	assert_success
	assert_equal "$(cd_status cd-img2)" RUNNING
	assert [ "$(txq_of "$(cd_pid cd-img2)" 9001)" -gt 0 ]
	delivered cd-img 3100
}

@test "ctr: CRIU reads default.conf and runc.conf; org.criu.config replaces runc.conf; crun (--runc-binary) reads crun.conf" {
	local p d
	for p in default runc crun annot; do
		printf '#!/bin/sh\necho "%s $CRTOOLS_SCRIPT_ACTION" >>%s/probe.log\n' $p "$CD_BASE" >"$CD_BASE/probe-$p"
		chmod +x "$CD_BASE/probe-$p"
	done
	echo "action-script $CD_BASE/probe-default" >>/etc/criu/default.conf
	echo "action-script $CD_BASE/probe-runc" >/etc/criu/runc.conf
	echo "action-script $CD_BASE/probe-crun" >/etc/criu/crun.conf
	echo "action-script $CD_BASE/probe-annot" >"$CD_BASE/annot.conf"
	probe() { cut -d" " -f1 "$CD_BASE/probe.log" | sort -u | paste -sd" "; }
	cd_run cd-c1 -- /udpapp -f 4 -m cork -s 100
	cd_run cd-c2 --annotation "org.criu.config=$CD_BASE/annot.conf" -- /udpapp -f 4 -m cork -s 100
	cd_run cd-c3 --runc-binary /usr/bin/crun -- /udpapp -f 4 -m cork -s 100
	for p in cd-c1 cd-c2 cd-c3; do
		wait_file "$(cd_out $p)/ready" 10
		: >"$CD_BASE/probe.log"
		d=$(cd_dir $p)
		cd_ctr tasks checkpoint --image-path "$d/img" --work-path "$d/work" $p
		echo "$p: $(probe)" >>"$CD_BASE/probes"
	done
	sed -i "\|$CD_BASE/probe-default|d" /etc/criu/default.conf
	rm -f /etc/criu/crun.conf
	run cat "$CD_BASE/probes"
	assert_line "cd-c1: default runc"
	assert_line "cd-c2: annot default"
	assert_line "cd-c3: crun default"
}

@test "CRI CheckpointContainer: the archive holds checkpoint/udpcork.img, the container runs on with its datagram, udpcork show lists it" {
	local pod id a=$CD_BASE/cri-leave.tar
	pod=$(cri_pod pod-leave)
	id=$(cri_ctr "$pod=pod-leave" c-leave -- /udpapp -f 4 -m cork -s 100,100,3000)
	wait_file "$(cd_out c-leave)/ready" 10
	run cri checkpoint "$id" "$a"
	[ "$status" -eq 0 ] || { echo "$output"; tail -n 20 "$CD_BASE/containerd.log"; false; }
	run tar tf "$a"
	assert_line checkpoint/udpcork.img
	assert_line checkpoint/inventory.img
	assert_line dump.log
	run bash -c "tar xOf $a dump.log | grep 'udpcork-prestop: info: network-unlock: gave 1 sockets their 3200 pending bytes back'"
	assert_success
	assert_equal "$(cri_state "$id")" CONTAINER_RUNNING
	assert [ "$(txq_of "$(cri_pid "$id")" 9001)" -gt 0 ]
	run udpcork show "$a"
	assert_success
	assert_output --regexp "0\.0\.0\.0:9001 +127\.0\.0\.1:9000 +UDP_CORK +3200"
	delivered c-leave 3200
}

@test "CRI restore: CreateContainer with the checkpoint archive as image, in a new pod: IPv6 MSG_MORE 3200 B" {
	local pod id pod2 id2 a=$CD_BASE/cri-move.tar
	pod=$(cri_pod pod-m1)
	id=$(cri_ctr "$pod=pod-m1" c-move -- /udpapp -f 6 -m more -s 100,100,3000)
	wait_file "$(cd_out c-move)/ready" 10
	cri checkpoint "$id" "$a"
	cri stop "$id"
	cri rm "$id"
	pod2=$(cri_pod pod-m2)
	rm -f "$(cd_out c-move)/ready"
	run cri create "$pod2=pod-m2" c-move "$a" -m "$(cd_out c-move):/out"
	[ "$status" -eq 0 ] || { echo "$output"; tail -n 20 "$CD_BASE/containerd.log"; false; }
	id2=$output
	run cri start "$id2"
	[ "$status" -eq 0 ] || { echo "$output"; tail -n 30 "$(cd_restore_log)"; false; }
	assert_equal "$(cri status "$id2" | jq -r .annotations.restored)" true
	run grep -h "udpcork-poststart: info: container pid [0-9]*: 1 corked sockets restored, 3200 bytes" "$(cd_restore_log)"
	assert_success
	assert [ "$(txq_of "$(cri_pid "$id2")" 9001)" -gt 0 ]
	delivered c-move 3200
}

@test "CRI restore: a receive queue (50 datagrams) and a corked datagram on the same socket" {
	local pod id pod2 id2 a=$CD_BASE/cri-rxq.tar
	pod=$(cri_pod pod-q1)
	id=$(cri_ctr "$pod=pod-q1" c-rxq -- /rxq -f 4 -n 50 -c)
	wait_file "$(cd_out c-rxq)/ready" 20
	cri checkpoint "$id" "$a"
	run udpcork show "$a"
	assert_output --regexp "0\.0\.0\.0:9100 +50 +[0-9]+"
	cri stop "$id"
	cri rm "$id"
	pod2=$(cri_pod pod-q2)
	rm -f "$(cd_out c-rxq)/ready"
	id2=$(cri create "$pod2=pod-q2" c-rxq "$a" -m "$(cd_out c-rxq):/out")
	cri start "$id2"
	run grep -h "50 unread datagrams" "$(cd_restore_log)"
	assert_success
	touch "$(cd_out c-rxq)/go"
	wait_file "$(cd_out c-rxq)/done" 30
	run diff "$(cd_out c-rxq)/sent.txt" "$(cd_out c-rxq)/rx.txt"
	assert_success
}

@test "CRI opt-in: org.criu.config as a container annotation (the runtime lists it in container_annotations), udpcork not in default.conf" {
	local pod id a=$CD_BASE/cri-optin.tar
	udpcork_disable
	pod=$(cri_pod pod-in)
	id=$(cri_ctr "$pod=pod-in" c-in -a org.criu.config=/usr/share/udpcork/criu-udpcork.conf -- /udpapp -f 4 -m cork -s 100,3000)
	wait_file "$(cd_out c-in)/ready" 10
	run cri checkpoint "$id" "$a"
	assert_success
	run tar tf "$a"
	assert_line checkpoint/udpcork.img
	delivered c-in 3100
}

@test "CRI without the annotation list: org.criu.config never reaches runc, CRIU refuses the corked socket" {
	local pod id a=$CD_BASE/cri-plain.tar
	udpcork_disable
	pod=$(CRI_RUNTIME_HANDLER=runc-plain cri_pod pod-pl)
	id=$(cri_ctr "$pod=pod-pl" c-pl -a org.criu.config=/usr/share/udpcork/criu-udpcork.conf -- /udpapp -f 4 -m cork -s 100,3000)
	wait_file "$(cd_out c-pl)/ready" 10
	run cri checkpoint "$id" "$a"
	assert_failure
	# the shim keeps CRIU's log of a failed dump in the task's state dir
	# (the CRI checkpoint dir with dump.log is already gone) and names it
	assert_output --regexp "criu failed: type DUMP errno 0 path= /.*/criu-dump.log"
	run grep -h "Can't dump corked dgram socket" "${output##*path= }"
	assert_success
	assert_equal "$(cri_state "$id")" CONTAINER_RUNNING
	delivered c-pl 3100
}

@test "checkpointctl-udpcork: plugin description (exit 42), tree view, JSON merged under checkpointctl's socket entries (and a one-line error without jq)" {
	local pod id a=$CD_BASE/cri-ck.tar p=checkpointctl-udpcork
	pod=$(cri_pod pod-ck)
	id=$(cri_ctr "$pod=pod-ck" c-ck -- /rxq -f 4 -n 20 -c)
	wait_file "$(cd_out c-ck)/ready" 20
	cri checkpoint "$id" "$a"
	run "$p" --plugin-description
	assert_equal "$status" 42
	assert_equal "${#lines[@]}" 1
	run "$p" "$a"
	assert_success
	assert_output --partial "Engine: containerd"
	assert_output --partial "[UDP]  0.0.0.0:9100"
	assert_output --regexp "0\.0\.0\.0:9100 +127\.0\.0\.1:9999 +UDP_CORK +500"
	assert_output --regexp "0\.0\.0\.0:9100 +20 +[0-9]+"
	run bash -c "'$p' --format json '$a' | jq -c '[.[0].sockets[] | .pid as \$p | .open_sockets[] | select(.udpcork) | {pid: \$p, port: .data.src_port, fd: .udpcork.fd, bytes: .udpcork.pending.bytes, queued: .udpcork.rx_queue.datagrams}]'"
	assert_success
	assert_output '[{"pid":1,"port":9100,"fd":4,"bytes":500,"queued":20}]'
	# JSON without jq on PATH: one line saying what to install
	local nojq=$BATS_TEST_TMPDIR/nojq
	mkdir -p "$nojq"
	ln -s "$(command -v checkpointctl)" "$(command -v udpcork)" "$nojq/"
	run env PATH="$nojq" "$(command -v "$p")" --format json "$a"
	assert_equal "$status" 2
	assert_output --partial "jq, which is not installed"
	assert_equal "${#lines[@]}" 1
}

@test "CRI restore from a checkpoint OCI image (the Kubernetes way: image annotated org.criu.checkpoint.container.name)" {
	local pod id pod2 id2 a=$CD_BASE/cri-oci.tar
	pod=$(cri_pod pod-o1)
	id=$(cri_ctr "$pod=pod-o1" c-oci -- /udpapp -f 4 -m more -s 1000,1000)
	wait_file "$(cd_out c-oci)/ready" 10
	cri checkpoint "$id" "$a"
	cri stop "$id"
	cri rm "$id"
	cd_ckpt_image "$a" localhost/cd-ckpt-c-oci:1 c-oci
	pod2=$(cri_pod pod-o2)
	rm -f "$(cd_out c-oci)/ready"
	id2=$(cri create "$pod2=pod-o2" c-oci localhost/cd-ckpt-c-oci:1 -m "$(cd_out c-oci):/out")
	run cri start "$id2"
	[ "$status" -eq 0 ] || { echo "$output"; tail -n 30 "$(cd_restore_log)"; false; }
	run grep -h "Found checkpoint of container c-oci in localhost/cd-ckpt-c-oci:1" "$CD_BASE/containerd.log"
	assert_success
	run grep -h "udpcork-poststart: info: container pid [0-9]*: 1 corked sockets restored, 2000 bytes" "$(cd_restore_log)"
	assert_success
	delivered c-oci 2000
	ctr --address "$CD_SOCK" -n k8s.io images rm localhost/cd-ckpt-c-oci:1 >/dev/null
}

@test "CRI restore pulls the checkpoint's base image by its repo digest: without the registry it fails (even with the image present)" {
	local pod id pod2 a=$CD_BASE/cri-noreg.tar
	pod=$(cri_pod pod-r1)
	id=$(cri_ctr "$pod=pod-r1" c-noreg -- /udpapp -f 4 -m cork -s 100)
	wait_file "$(cd_out c-noreg)/ready" 10
	cri checkpoint "$id" "$a"
	cri stop "$id"
	cri rm "$id"
	kill "$(cat "$CD_BASE/registry.pid")"
	rm -f "$CD_BASE/registry.pid"
	pod2=$(cri_pod pod-r2)
	run cri create "$pod2=pod-r2" c-noreg "$a" -m "$(cd_out c-noreg):/out"
	cd_registry
	assert_failure
	assert_output --partial "failed to pull checkpoint base image $CD_REGISTRY/uc-udpapp@sha256:"
}
