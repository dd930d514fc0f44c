# SPDX-License-Identifier: GPL-2.0-or-later
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
	local name=$1 b
	shift
	b=$(ct_dir "$name")
	ip netns del "$name" 2>/dev/null || true
	ip netns add "$name"
	ip -n "$name" link set lo up
	bundle_new "$b"
	(cd "$b" && runc spec)
	bundle_set_args "$b/config.json" "$@"
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

rc_pid() { rt_pid runc "$1"; }

# rc_checkpoint NAME [runc checkpoint options]
rc_checkpoint() { rt_checkpoint rc_runc "$@"; }

rc_restore() { rt_restore rc_runc "$1"; }

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
	ct_rm_cgroup_parent
	rm -rf "$CT_BASE"
}

# The CRIU and runc logs of the last checkpoint/restore of NAME.
rc_logs() {
	local b
	b=$(ct_dir "$1")
	tail -n 30 "$b/work"/*.log "$CT_BASE/runc.log" 2>/dev/null || true
}

rc_txq() { txq_of "$(rc_pid "$1")" "$2"; }

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
