#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# The trust boundary: images, capture logs and annotations are hostile
# input to a root program. Each finding of the review has a crafted input
# here (test/tools/imgedit edits a real image); each must end with a clear
# one-line error or a stated policy, nothing sent where it must not go,
# nothing crashed (this file also runs under ASan + UBSan), data kept.

load ../lib

ct_standard_hooks

P=$UC_LIBEXEC/udpcork-prestop
S=$UC_LIBEXEC/udpcork-poststart

teardown() {
	unset UDPCORK_FAULT
	ct_cleanup_all
	umount /var/lib/udpcork/images/t-mnt 2>/dev/null || true
	rm -rf /tmp/uc-trust /var/lib/udpcork/images/t-*
	ip netns del uct6u 2>/dev/null || true
}

edit() { "${UC_IMGEDIT:-$UC_BUILD/test/imgedit}" "$@"; }

one_line_error() {
	assert_failure 1
	assert_equal "${#lines[@]}" 1
	assert_output --regexp "^udpcork-(prestop|poststart): error: "
}

# saved_app NAME PROG ARGS...: a container NAME running build/test/PROG
# ARGS..., checkpointed with --leave-running: its image (a real one) in
# $(ct_dir NAME)/img.
saved_app() {
	local name=$1
	ct_app "$@"
	ct_run "$name"
	ct_wait "$name" ready
	run ct_checkpoint "$name" --leave-running
	[ "$status" -eq 0 ] || { ct_criu_log "$name"; false; }
}

saved() { # NAME ARGS...: the same with udpapp
	local name=$1
	shift
	saved_app "$name" udpapp "$@"
}

# target NAME ARGS...: a fresh container running the same app: the image's
# sockets exist there (same pid, fd, address).
target() {
	local name=$1
	shift
	ct_create "$name" /udpapp "$@"
	ct_run "$name"
	ct_wait "$name" ready
}

# emptied NAME: pause NAME and take its own pending datagram out (OCI-mode
# prestop into a scratch directory): its socket is ready for an image.
emptied() {
	mkdir -p "/tmp/uc-trust/own-$1"
	crun pause "$1"
	run sh -c "crun state $1 | $P --image-dir /tmp/uc-trust/own-$1"
	assert_success
	assert_equal "$(ct_txq "$1" 9001)" 0
}

# poststart NAME DIR [OPTION...]: udpcork-poststart in OCI mode on paused NAME
poststart() {
	local name=$1 dir=$2
	crun pause "$name"
	run sh -c "crun state $name | $S --image-dir $dir"
	crun resume "$name"
}

@test "finding 1: 3000 bytes of IPv4 options in an image: one-line error at post-restore, recover and network-unlock; nothing sent" {
	saved t1src -f 4 -m cork -s 100,3000
	edit "$(ct_dir t1src)/img/udpcork.img" dgram.0.ip_options=len:3000
	target t1 -f 4 -m cork -s 100,3000
	before=$(ct_txq t1 9001)
	poststart t1 "$(ct_dir t1src)/img"
	one_line_error
	assert_output --partial "entry 1 (dgram 1 of 1): ip_options has 3000 bytes (the kernel allows 40)"
	assert_equal "$(ct_txq t1 9001)" "$before"
	# the same in a capture log: udpcork recover, and network-unlock
	mkdir -p /tmp/uc-trust/log
	edit --to-log "$(ct_dir t1src)/img/udpcork.img" /tmp/uc-trust/log/udpcork.capture
	run "$UC_BUILD/udpcork" recover --pid "$(ct_pid t1)" /tmp/uc-trust/log
	assert_failure 1
	assert_output --partial "ip_options has 3000 bytes"
	run env CRTOOLS_SCRIPT_ACTION=network-unlock CRTOOLS_INIT_PID="$(ct_pid t1)" CRTOOLS_IMAGE_DIR=/tmp/uc-trust/log "$P"
	one_line_error
	assert_output --partial "ip_options has 3000 bytes"
	assert_equal "$(ct_txq t1 9001)" "$before"
}

@test "finding 2: a 200000-byte unread datagram in an image: one-line error, nothing injected" {
	saved_app t2src rxq -f 4 -n 5
	edit "$(ct_dir t2src)/img/udpcork.img" rxdgram.0.payload=len:200000
	ct_app t2 rxq -f 4 -n 0
	ct_run t2
	ct_wait t2 ready
	crun pause t2
	run sh -c "crun state t2 | $S --image-dir $(ct_dir t2src)/img"
	crun resume t2
	one_line_error
	assert_output --partial "payload of 200000 bytes is larger than udpcork can put back for IPv4 (65507)"
	touch "$(ct_out t2)/go"
	ct_wait t2 done 30
	assert_equal "$(wc -l <"$(ct_out t2)/rx.txt")" 0
}

@test "finding 3: no command and no remote access on archive input, also under strace" {
	saved t3src -f 4 -m cork -s 100
	mkdir -p /tmp/uc-trust/arc/x
	cp "$(ct_dir t3src)/img/udpcork.img" /tmp/uc-trust/arc/x/
	cd /tmp/uc-trust
	tar -C arc -cf evil.tar --transform 's|^x/udpcork.img$|--use-compress-program=sh -c id>out x/udpcork.img|' x/udpcork.img
	cp evil.tar host:x.tar
	for a in evil.tar host:x.tar; do
		# (LeakSanitizer cannot run under a tracer: off here in sanitizer runs)
		run env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
			strace -f -qq -e trace=execve,connect -o /tmp/uc-trust/trace "$UC_BUILD/udpcork" show "$a"
		echo "$output"
		assert_success
		assert_output --partial "no udpcork.img in $a"
		[ ! -e out ]
		# one execve (udpcork itself), no connect
		assert_equal "$(grep -c execve /tmp/uc-trust/trace)" 1
		run grep -c connect /tmp/uc-trust/trace
		assert_output 0
	done
}

# rx_target NAME: an empty rxq container with a route out of its network
# namespace (veth uc0 -> 10.99.0.1) and a counter of every packet that
# leaves it through another interface than lo.
rx_target() {
	local pid
	ct_app "$1" rxq -f 4 -n 0
	ct_run "$1"
	ct_wait "$1" ready
	pid=$(ct_pid "$1")
	nsenter -t "$pid" -n sh -ec '
		ip link add uc0 type veth peer name uc1
		ip addr add 10.99.0.2/24 dev uc0
		ip link set uc0 up; ip link set uc1 up
		ip route add default via 10.99.0.1
		nft add table ip uct
		nft add chain ip uct out "{ type filter hook output priority 0; policy accept; }"
		nft add rule ip uct out oifname != "lo" counter'
}

leaving() { # NAME: packets that left the netns through another interface than lo
	nsenter -t "$(ct_pid "$1")" -n nft list chain ip uct out | sed -n 's/.*counter packets \([0-9]*\).*/\1/p'
}

@test "finding 4: unread datagrams sent to addresses that are not local (elsewhere, multicast, broadcast) never leave the namespace" {
	saved_app t4src rxq -f 4 -n 5
	edit "$(ct_dir t4src)/img/udpcork.img" rxdgram.0.dst_addr=10.9.9.9 rxdgram.1.dst_addr=239.1.1.1 \
		rxdgram.2.dst_addr=255.255.255.255
	rx_target t4
	crun pause t4
	run sh -c "crun state t4 | $S --image-dir $(ct_dir t4src)/img"
	crun resume t4
	echo "$output"
	assert_success
	assert_output --partial "3 unread datagrams were sent to an address that is not local here"
	assert_equal "$(leaving t4)" 0
	touch "$(ct_out t4)/go"
	ct_wait t4 done 30
	assert_equal "$(wc -l <"$(ct_out t4)/rx.txt")" 5
	# the three went to the loopback instead; the other two kept theirs
	assert_equal "$(head -3 "$(ct_out t4)/rx.txt" | awk '{ print $3 }' | sort -u)" 127.0.0.1
	assert_equal "$(tail -2 "$(ct_out t4)/rx.txt" | cut -d' ' -f1-2,4-)" "$(tail -2 "$(ct_out t4src)/sent.txt" | cut -d' ' -f1-2,4-)"
}

@test "finding 4: a NAT rule in the restored namespace does not turn a re-injected datagram out of it" {
	saved_app t4nsrc rxq -f 4 -n 3
	rx_target t4n
	nsenter -t "$(ct_pid t4n)" -n sh -ec '
		nft add table ip ucnat
		nft add chain ip ucnat out "{ type nat hook output priority -100; }"
		nft add rule ip ucnat out udp dport 9100 counter dnat to 10.99.0.1'
	crun pause t4n
	run sh -c "crun state t4n | $S --image-dir $(ct_dir t4nsrc)/img"
	crun resume t4n
	echo "$output"
	# the rule saw them (so they were rewritten), none left through uc0
	nsenter -t "$(ct_pid t4n)" -n nft list chain ip ucnat out | grep -q "counter packets [1-9]"
	assert_equal "$(leaving t4n)" 0
}

@test "finding 4: receive queues are never injected into the host's network namespace" {
	saved_app t4hsrc rxq -f 4 -n 3
	ct_app t4h rxq -f 4 -n 0 -p 9100
	ct_host_network t4h
	ct_run t4h
	ct_wait t4h ready
	crun pause t4h
	run sh -c "crun state t4h | $S --image-dir $(ct_dir t4hsrc)/img"
	crun resume t4h
	one_line_error
	assert_output --partial "shares the host's network namespace"
	touch "$(ct_out t4h)/go"
	ct_wait t4h done 30
	assert_equal "$(wc -l <"$(ct_out t4h)/rx.txt")" 0
}

# state_with_dir NAME DIR: the OCI state of NAME with the image-dir annotation
state_with_dir() {
	crun state "$1" | jq -c --arg d "$2" '.annotations["io.github.udpcork.image-dir"] = $d'
}

@test "finding 5: annotation image directories only under the image root, no symlink on the way, root-owned, not writable by others, the container's own" {
	saved t5 -f 4 -m cork -s 100,300
	emptied t5
	root=/var/lib/udpcork/images
	[ -d "$root" ]
	mkdir -p /tmp/uc-trust/evil "$root/t-good" "$root/t-user" "$root/t-open" "$root/t-real/sub"
	cp "$(ct_dir t5)/img/udpcork.img" /tmp/uc-trust/evil/
	ln -sfn /tmp/uc-trust/evil "$root/t-link"
	ln -sfn "$root/t-real" "$root/t-mid"
	chown 1000 "$root/t-user"
	chmod 0777 "$root/t-open"
	mkdir -p "$root/t-mnt"
	mount -t tmpfs -o mode=0700 tmpfs "$root/t-mnt"
	cp "$(ct_dir t5)/img/udpcork.img" "$root/t-mnt/"
	# with openat2, and with its fallback (openat2 failing with ENOSYS, as
	# on Linux < 5.6 or under a seccomp filter): the same refusals
	for wrap in "" "$UC_BUILD/test/noopenat2"; do
		for d in /tmp/uc-trust/evil "$root/../../../../tmp/uc-trust/evil" "$root/t-link" "$root/t-mid/sub" \
			"$root/t-user" "$root/t-open" "$root/t-mnt"; do
			state_with_dir t5 "$d" >/tmp/uc-trust/state.json
			run sh -c "$wrap $S </tmp/uc-trust/state.json"
			echo "${wrap:-openat2} $d: $output"
			one_line_error
			assert_output --partial "refusing"
		done
	done
	# the fallback ran, and said why each was refused
	state_with_dir t5 "$root/t-mid/sub" >/tmp/uc-trust/state.json
	run sh -c "$UC_BUILD/test/noopenat2 $S --verbose </tmp/uc-trust/state.json"
	assert_output --partial "no openat2 (Function not implemented): walking"
	assert_output --partial "component \`t-mid\` is a symbolic link"
	state_with_dir t5 "$root/t-mnt" >/tmp/uc-trust/state.json
	run sh -c "$UC_BUILD/test/noopenat2 $S </tmp/uc-trust/state.json"
	assert_output --partial "component \`t-mnt\` is on another mount"
	umount "$root/t-mnt"
	assert_equal "$(ct_txq t5 9001)" 0
	cp "$(ct_dir t5)/img/udpcork.img" "$root/t-good/"
	chmod 0700 "$root/t-good"
	# another container naming t5's directory gets nothing of it, and its
	# dump does not replace it
	target t5x -f 4 -m cork -s 100,300
	emptied t5x
	for hook in "$S" "$P"; do
		state_with_dir t5x "$root/t-good" >/tmp/uc-trust/state.json
		run sh -c "$hook </tmp/uc-trust/state.json"
		echo "$output"
		one_line_error
		assert_output --partial "holds the image of container t5, not of t5x: refusing"
	done
	assert_equal "$(ct_txq t5x 9001)" 0
	cmp "$(ct_dir t5)/img/udpcork.img" "$root/t-good/udpcork.img"
	# t5's own annotation: the image is put back
	state_with_dir t5 "$root/t-good" >/tmp/uc-trust/state.json
	run sh -c "$S </tmp/uc-trust/state.json"
	crun resume t5
	echo "$output"
	assert_success
	assert_output --partial "400 bytes pending again"
	touch "$(ct_out t5)/go"
	ct_wait t5 done 15
	run cat "$(ct_out t5)/recv.meta"
	assert_output "count=1 len=400 sport=9001"
}

# unprivileged NAME: the bundle of NAME without CAP_NET_ADMIN and CAP_NET_RAW
unprivileged() {
	local c
	c=$(ct_dir "$1")/config.json
	jq '.process.capabilities |= with_entries(.value |= map(select(. != "CAP_NET_ADMIN" and . != "CAP_NET_RAW")))' \
		"$c" >"$c.new" && mv "$c.new" "$c"
	! grep -q CAP_NET_ADMIN "$c"
}

# mark_counter NAME: count NAME's datagrams to port 9000 and those with mark
# 0x1234; a process keeps the network namespace (and its counters) after
# the app is done. Sets $keeper.
mark_counter() {
	nsenter -t "$(ct_pid "$1")" -n sleep 120 &
	keeper=$!
	nsenter -t "$(ct_pid "$1")" -n sh -ec '
		nft add table inet uct
		nft add chain inet uct out "{ type filter hook output priority 0; policy accept; }"
		nft add rule inet uct out meta mark 0x1234 counter
		nft add rule inet uct out udp dport 9000 counter'
}

counters() { # "MARKED SENT"
	nsenter -t "$keeper" -n nft list chain inet uct out | sed -n 's/.*counter packets \([0-9]*\).*/\1/p' | paste -sd' '
	kill "$keeper"
}

@test "finding 6: a mark and a priority the socket's owner could not set, and CIPSO options, are not sent with root's privilege" {
	ct_create t6 /udpapp -f 4 -m cork -s 100,300
	unprivileged t6
	ct_run t6
	ct_wait t6 ready
	run ct_checkpoint t6 --leave-running
	[ "$status" -eq 0 ] || { ct_criu_log t6; false; }
	edit "$(ct_dir t6)/img/udpcork.img" dgram.0.mark=0x1234 dgram.0.priority=7
	mark_counter t6
	emptied t6
	run sh -c "crun state t6 | $S --image-dir $(ct_dir t6)/img"
	crun resume t6
	echo "$output"
	assert_success
	assert_output --partial "mark 0x1234 of the pending datagram not restored"
	assert_output --partial "priority 7 of the pending datagram not restored"
	touch "$(ct_out t6)/go"
	ct_wait t6 done 15
	run cat "$(ct_out t6)/recv.meta"
	assert_output "count=1 len=400 sport=9001"
	# the datagram left (second rule), without the mark (first rule)
	assert_equal "$(counters)" "0 1"
	# IPv4 options of a privileged kind (CIPSO): left out, the datagram stays
	ct_create t6b /udpapp -f 4 -m cork -s 100
	unprivileged t6b
	ct_run t6b
	ct_wait t6b ready
	run ct_checkpoint t6b --leave-running
	[ "$status" -eq 0 ] || { ct_criu_log t6b; false; }
	edit "$(ct_dir t6b)/img/udpcork.img" dgram.0.ip_options=hex:8608000000010000
	emptied t6b
	run sh -c "crun state t6b | $S --image-dir $(ct_dir t6b)/img"
	crun resume t6b
	assert_success
	assert_output --partial "IPv4 options of the pending datagram not restored: they need CAP_NET_RAW"
	assert [ "$(ct_txq t6b 9001)" -gt 0 ]
}

@test "finding 6: a container with CAP_NET_ADMIN gets its per-datagram mark back (sent with its own capabilities)" {
	saved t6c -f 4 -m cork -s 100,300
	grep -q CAP_NET_ADMIN "$(ct_dir t6c)/config.json"
	edit "$(ct_dir t6c)/img/udpcork.img" dgram.0.mark=0x1234
	mark_counter t6c
	emptied t6c
	run sh -c "crun state t6c | $S --image-dir $(ct_dir t6c)/img"
	crun resume t6c
	assert_success
	refute_output --partial "not restored"
	touch "$(ct_out t6c)/go"
	ct_wait t6c done 15
	assert_equal "$(counters)" "1 1"
}

@test "finding 6: a user-namespaced container on a network namespace it does not own: its capabilities count for nothing there" {
	ip netns add uct6u
	ip -n uct6u link set lo up
	ct_create t6u /udpapp -f 4 -m cork -s 100,300
	c=$(ct_dir t6u)/config.json
	jq '.linux.namespaces |= (map(select(.type != "network")) + [{type: "user"}, {type: "network", path: "/run/netns/uct6u"}])
	    | .linux.uidMappings = [{containerID: 0, hostID: 200000, size: 65536}]
	    | .linux.gidMappings = [{containerID: 0, hostID: 200000, size: 65536}]' "$c" >"$c.new" && mv "$c.new" "$c"
	chown -R 200000:200000 "$(ct_dir t6u)/rootfs"
	ct_run t6u
	ct_wait t6u ready
	grep -q "^CapEff:.*[1-9a-f]" "/proc/$(ct_pid t6u)/status"
	mark_counter t6u
	emptied t6u
	edit /tmp/uc-trust/own-t6u/udpcork.img dgram.0.mark=0x1234
	run sh -c "crun state t6u | $S --image-dir /tmp/uc-trust/own-t6u"
	crun resume t6u
	echo "$output"
	assert_success
	assert_output --partial "mark 0x1234 of the pending datagram not restored"
	touch "$(ct_out t6u)/go"
	ct_wait t6u done 15
	assert_equal "$(counters)" "0 1"
}

@test "finding 6, CRIU restore: the pending datagram is re-sent at pre-resume with the restored owner's own capabilities" {
	ct_create t6d /udpapp -f 4 -m cork -s 100,300
	unprivileged t6d
	ct_run t6d
	ct_wait t6d ready
	run ct_checkpoint t6d
	[ "$status" -eq 0 ] || { ct_criu_log t6d; false; }
	edit "$(ct_dir t6d)/img/udpcork.img" dgram.0.mark=0x1234
	run ct_restore t6d
	[ "$status" -eq 0 ] || { echo "$output"; ct_criu_log t6d; false; }
	run grep -h "mark 0x1234 of the pending datagram not restored" "$(ct_dir t6d)"/work/restore.log
	[ "$status" -eq 0 ] || { grep udpcork "$(ct_dir t6d)"/work/restore.log; false; }
	mark_counter t6d
	touch "$(ct_out t6d)/go"
	ct_wait t6d done 15
	assert_equal "$(counters)" "0 1"
}

@test "finding 7: prestop killed between the uncork and the capture-log append: the pinned map keeps the datagram, network-unlock gives it back" {
	ct_app t7 manysock -f 4 -n 3 -s 1000
	ct_run t7
	ct_wait t7 ready
	export UDPCORK_FAULT=uncorked:2
	run ct_checkpoint t7
	unset UDPCORK_FAULT
	assert_failure
	run grep -h "still in the pinned capture map" "$(ct_dir t7)"/work/dump.log
	[ "$status" -eq 0 ] || { ct_criu_log t7; false; }
	run grep -h "gave 2 sockets their 2000 pending bytes back" "$(ct_dir t7)"/work/dump.log
	[ "$status" -eq 0 ] || { grep udpcork "$(ct_dir t7)"/work/dump.log; false; }
	# the dump's slot pin is gone and no socket stays armed in the shared
	# capture map (only the pinned programs remain)
	run sh -c 'ls /sys/fs/bpf/udpcork | grep -v "^progs:"'
	assert_output ''
	for m in /sys/fs/bpf/udpcork/progs:*/armed; do
		run bpftool -j map dump pinned "$m"
		[ "$status" -eq 0 ] && [ "$output" = '[]' ] || { echo "$m: $output"; grep udpcork "$(ct_dir t7)"/work/dump.log; false; }
	done
	touch "$(ct_out t7)/go"
	ct_wait t7 done 30
	run cat "$(ct_out t7)/result"
	assert_output "count=3 bytes=3000"
}

@test "finding 8: a second poststart appends nothing (restore marker), nor a third without the marker (sockets already hold data)" {
	ct_create t8 /udpapp -f 6 -m more -s 100,100,3000
	ct_run t8
	ct_wait t8 ready
	crun pause t8
	mkdir -p /tmp/uc-trust/img8
	run sh -c "crun state t8 | $P --image-dir /tmp/uc-trust/img8"
	assert_success
	run sh -c "crun state t8 | $S --image-dir /tmp/uc-trust/img8"
	assert_success
	q=$(ct_txq t8 9001)
	run sh -c "crun state t8 | $S --image-dir /tmp/uc-trust/img8"
	assert_success
	assert_output --partial "the datagrams of this image were already restored"
	assert_equal "$(ct_txq t8 9001)" "$q"
	rm /tmp/uc-trust/img8/udpcork.restored
	run sh -c "crun state t8 | $S --image-dir /tmp/uc-trust/img8"
	echo "$output"
	assert_success
	assert_output --partial "already holds pending data: not appended to"
	assert_equal "$(ct_txq t8 9001)" "$q"
	crun resume t8
	touch "$(ct_out t8)/go"
	ct_wait t8 done 15
	run cat "$(ct_out t8)/recv.meta"
	assert_output "count=1 len=3200 sport=9001"
}

@test "finding 8: OCI mode: a later start of the container (a new init, not a restore) gets no datagram of an image already restored" {
	local d=/tmp/uc-trust/img8s
	ct_app t8q rxq -f 4 -n 5
	ct_run t8q
	ct_wait t8q ready
	crun pause t8q
	mkdir -p "$d"
	run sh -c "crun state t8q | $P --image-dir $d"
	assert_success
	ct_rm t8q
	# the restore: a container whose socket is empty gets the 5 datagrams
	ct_app t8r rxq -f 4 -n 0
	ct_run t8r
	ct_wait t8r ready
	run sh -c "crun state t8r | $S --image-dir $d"
	assert_success
	assert_output --partial "and 5 unread datagrams"
	assert [ "$(rxq_of "$(ct_pid t8r)" 9100)" -gt 0 ]
	ct_rm t8r
	# a later start, not a restore: nothing
	ct_app t8s rxq -f 4 -n 0
	ct_run t8s
	ct_wait t8s ready
	run sh -c "crun state t8s | $S --image-dir $d"
	assert_success
	assert_output --partial "the datagrams of this image were already restored"
	assert_equal "$(rxq_of "$(ct_pid t8s)" 9100)" 0
	ct_rm t8s
}

@test "low: prestop killed while peeking a receive queue: network-unlock puts SO_PEEK_OFF and the receive options back" {
	ct_app tpk rxq -f 4 -n 10 -k 2
	ct_run tpk
	ct_wait tpk ready
	export UDPCORK_FAULT=peeking
	run ct_checkpoint tpk
	unset UDPCORK_FAULT
	assert_failure
	run grep -h "receive options of 1 sockets put back" "$(ct_dir tpk)"/work/dump.log
	assert_success
	touch "$(ct_out tpk)/go"
	ct_wait tpk done 30
	# the application's own peek offset: its first peek after go is datagram 3
	assert_equal "$(cat "$(ct_out tpk)/peek.txt")" "$(sed -n 3p "$(ct_out tpk)/sent.txt")"
	run diff "$(ct_out tpk)/sent.txt" "$(ct_out tpk)/rx.txt"
	assert_success
}
