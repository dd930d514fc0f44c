# Helpers of the end-to-end tests with runc (test/e2e/runc.bats) and with
# bare CRIU (test/e2e/criu.bats), on top of test/lib.bash. They run inside
# the testbed (test/testbed/run), as root.
#
# Names: runc containers are "rc-*" with their bundles under /tmp/rc-ct;
# bare-CRIU runs live under /tmp/cr-*.

CT_BASE=${CT_BASE:-/tmp/rc-ct}
# shellcheck source=test/lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

require_runc() {
	require_stack || return 1
	command -v runc >/dev/null || { echo "runc not found: run the tests through test/testbed/run" >&2; return 1; }
}

# rc_create NAME ARG...: like ct_create, but the config comes from `runc spec`
# and the container joins the network namespace /run/netns/NAME (made here,
# loopback up), the way Docker, containerd or Kubernetes run runc. runc always
# checkpoints a network namespace it made itself with CRIU's empty_ns (runc
# "doesn't manage network devices"): such a container comes back with its
# loopback down, and nothing can be sent there after the restore.
rc_create() {
	local name=$1 b args="" a
	shift
	b=$(ct_dir "$name")
	rm -rf "$b"
	ip netns del "$name" 2>/dev/null || true
	ip netns add "$name"
	ip -n "$name" link set lo up
	mkdir -p "$b/rootfs"/{proc,dev,sys,tmp,out,bin} "$b/img" "$b/work"
	cp "$UC_BUILD/test/udpapp" "$b/rootfs/udpapp"
	for a in "$@"; do args+="\"$a\", "; done
	args=${args%, }
	(cd "$b" && runc spec)
	sed -i -e 's/"terminal": true/"terminal": false/' \
		-e 's/"readonly": true/"readonly": false/' \
		-e "s|^\\([[:space:]]*\\)\"sh\"\$|\\1$args|" \
		-e 's/"CAP_NET_BIND_SERVICE"/"CAP_NET_BIND_SERVICE", "CAP_NET_ADMIN", "CAP_NET_RAW"/' \
		"$b/config.json"
	grep -q '"/udpapp"' "$b/config.json" || { echo "rc_create: could not set the args in $b/config.json" >&2; return 1; }
	jq --arg p "/run/netns/$name" \
		'.linux.namespaces |= map(if .type == "network" then .path = $p else . end)' \
		"$b/config.json" >"$b/config.json.new"
	mv "$b/config.json.new" "$b/config.json"
	grep -q "\"/run/netns/$name\"" "$b/config.json" || { echo "rc_create: no network namespace path in $b/config.json" >&2; return 1; }
}

# runc's own log (--log) goes to the bundle, so that a failure can be shown.
rc_runc() { runc --log "$CT_BASE/runc.log" "$@"; }

rc_run() {
	local name=$1
	rc_runc run -d --bundle "$(ct_dir "$name")" "$name" </dev/null
}

rc_pid() { runc state "$1" | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p'; }

# rc_checkpoint NAME [runc checkpoint options]
rc_checkpoint() {
	local name=$1 b
	shift
	b=$(ct_dir "$name")
	rm -rf "$b/img" "$b/work"
	mkdir -p "$b/img" "$b/work"
	rc_runc checkpoint --image-path "$b/img" --work-path "$b/work" "$@" "$name"
}

rc_restore() {
	local name=$1 b
	b=$(ct_dir "$name")
	rc_runc restore -d --image-path "$b/img" --work-path "$b/work" --bundle "$b" "$name" </dev/null
}

rc_rm() {
	runc kill "$1" KILL >/dev/null 2>&1 || true
	runc delete -f "$1" >/dev/null 2>&1 || true
}

rc_cleanup_all() {
	local c
	for c in $(runc list -q 2>/dev/null); do
		case $c in rc-*) rc_rm "$c" ;; esac
	done
	for c in $(ip netns list 2>/dev/null | awk '{ print $1 }'); do
		case $c in rc-*) ip netns del "$c" ;; esac
	done
	rm -rf "$CT_BASE"
}

# The CRIU and runc logs of the last checkpoint/restore of NAME.
rc_logs() {
	local b
	b=$(ct_dir "$1")
	tail -n 30 "$b/work"/*.log "$CT_BASE/runc.log" 2>/dev/null || true
}

# txq_of PID PORT: the write queue (bytes) of the UDP socket bound to PORT in
# the network namespace of PID, as /proc/net/udp{,6} shows it.
txq_of() {
	local hex q
	hex=$(printf '%04X' "$2")
	q=$(nsenter -t "$1" -n cat /proc/net/udp /proc/net/udp6 |
		awk -v p=":$hex" '$2 ~ p"$" { split($5, q, ":"); print q[1]; exit }')
	[ -n "$q" ] || { echo "no UDP socket on port $2 in the netns of pid $1" >&2; return 1; }
	echo $((16#$q))
}

rc_txq() { txq_of "$(rc_pid "$1")" "$2"; }

sum_sizes() {
	local IFS=, t=0 s
	for s in $1; do t=$((t + s)); done
	echo $t
}

# wait_file FILE [SECONDS]
wait_file() {
	local n=$((${2:-10} * 20))
	while [ ! -e "$1" ] && [ $n -gt 0 ]; do
		sleep 0.05
		n=$((n - 1))
	done
	[ -e "$1" ] || { echo "timeout waiting for $1" >&2; cat "$(dirname "$1")/log" >&2 2>/dev/null; return 1; }
}

# assert_delivered_in DIR LEN: the receiver that wrote to DIR got exactly one
# datagram of LEN bytes, the ones the app sent, from the app's port (9001).
assert_delivered_in() {
	local out=$1 len=$2
	run cat "$out/recv.meta"
	assert_output "count=1 len=$len sport=9001"
	assert_equal "$(sha256sum <"$out/recv.bin")" "$(sha256sum <"$out/sent.bin")"
}

# --- bare CRIU (no container runtime) -------------------------------------

# cr_start DIR ARG...: run udpapp ARG... -o DIR/out as the root of its own
# process tree, in a new session and a new network namespace (loopback up),
# with no file of ours open (stdio from/to files), so that `criu dump -t PID`
# sees a self-contained tree. Prints nothing; DIR/pid holds the root's pid.
cr_start() {
	local d=$1
	shift
	rm -rf "$d"
	mkdir -p "$d/out" "$d/img" "$d/work"
	# bash closes every fd above 2 (bats keeps some), brings lo up in the
	# new netns, writes its pid and becomes udpapp (same pid).
	# shellcheck disable=SC2016 # expanded by the inner bash
	setsid unshare --net bash -c '
		for f in /proc/$$/fd/*; do
			n=${f##*/}
			[ "$n" -gt 2 ] 2>/dev/null && eval "exec $n>&-"
		done
		ip link set lo up || exit 1
		echo $$ >"$0/pid"
		exec "$@"' "$d" "$UC_BUILD/test/udpapp" "$@" -o "$d/out" \
		</dev/null >"$d/start.log" 2>&1 3>&- &
	disown $!   # no "Killed" job notice when CRIU's dump ends the tree
	wait_file "$d/out/ready" 10 || { cat "$d/start.log" >&2; return 1; }
}

cr_pid() { cat "$1/pid"; }

# cr_dump DIR [criu dump options]
cr_dump() {
	local d=$1
	shift
	criu dump -t "$(cr_pid "$d")" -D "$d/img" --work-dir "$d/work" -o dump.log -v4 "$@"
}

# cr_restore DIR [criu restore options]
cr_restore() {
	local d=$1
	shift
	criu restore -d -D "$d/img" --work-dir "$d/work" -o restore.log -v4 "$@" </dev/null
}

cr_logs() { tail -n 30 "$1/work"/*.log 2>/dev/null || true; }

# cr_kill DIR: kill the session of DIR's app (original or restored: CRIU
# keeps its pids and session) and remove DIR.
cr_kill() {
	local d=$1 sid p
	if [ -f "$d/pid" ]; then
		sid=$(cat "$d/pid")
		for p in $(ps -e -o pid= -o sid= | awk -v s="$sid" '$2 == s { print $1 }'); do
			kill -KILL "$p" 2>/dev/null || true
		done
	fi
	rm -rf "$d"
}
