# Helpers of the end-to-end tests. They run inside the testbed
# (test/testbed/run), as root, with the real crun and CRIU.

UC_SRC=${UC_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
UC_BUILD=$UC_SRC/${UDPCORK_BUILD:-build}
CT_BASE=${CT_BASE:-/tmp/udpcork-ct}
UC_LIBEXEC=${UC_LIBEXEC:-/usr/libexec/oci/hooks.d}

load_bats_libs() {
	local d
	for d in /usr/lib/bats /usr/lib/bats-core /usr/local/lib/bats; do
		if [ -f "$d/bats-support/load.bash" ]; then
			load "$d/bats-support/load.bash"
			load "$d/bats-assert/load.bash"
			return 0
		fi
	done
	echo "bats-support/bats-assert not found" >&2
	return 1
}

# The real stack must be here: refuse to run (not skip) without it.
require_stack() {
	command -v criu >/dev/null || { echo "criu not found: run the tests through test/testbed/run" >&2; return 1; }
	command -v crun >/dev/null || { echo "crun not found" >&2; return 1; }
	[ -x "$UC_LIBEXEC/udpcork-prestop" ] || { echo "udpcork not installed in $UC_LIBEXEC" >&2; return 1; }
}

ct_dir() { echo "$CT_BASE/$1"; }
ct_out() { echo "$CT_BASE/$1/rootfs/out"; }

# ct_create NAME ARG...: a bundle whose init runs ARG... (udpapp is /udpapp).
ct_create() {
	local name=$1 b args="" a
	shift
	b=$(ct_dir "$name")
	rm -rf "$b"
	mkdir -p "$b/rootfs"/{proc,dev,sys,tmp,out,bin} "$b/img" "$b/work"
	cp "$UC_BUILD/test/udpapp" "$b/rootfs/udpapp"
	cp /bin/busybox "$b/rootfs/bin/busybox" 2>/dev/null || true
	for a in "$@"; do args+="\"$a\", "; done
	args=${args%, }
	args=${args//\\/\\\\}
	args=${args//&/\\&}
	args=${args//|/\\|}
	(cd "$b" && crun spec)
	sed -i -e 's/"terminal": true/"terminal": false/' \
		-e 's/"readonly": true/"readonly": false/' \
		-e "s|^\\([[:space:]]*\\)\"sh\"\$|\\1$args|" \
		-e 's/"CAP_NET_BIND_SERVICE"/"CAP_NET_BIND_SERVICE", "CAP_NET_ADMIN", "CAP_NET_RAW"/' \
		"$b/config.json"
}

ct_run() {
	local name=$1
	crun run -d --bundle "$(ct_dir "$name")" "$name" </dev/null
}

# ct_wait NAME FILE [SECONDS]: wait for /out/FILE in the container.
ct_wait() {
	local f
	f="$(ct_out "$1")/$2"
	local n=$((${3:-10} * 20))
	while [ ! -e "$f" ] && [ $n -gt 0 ]; do
		sleep 0.05
		n=$((n - 1))
	done
	[ -e "$f" ] || { echo "timeout waiting for $f" >&2; cat "$(ct_out "$1")/log" >&2 2>/dev/null; return 1; }
}

ct_pid() { crun state "$1" | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p'; }

# ct_checkpoint NAME [crun checkpoint options]
ct_checkpoint() {
	local name=$1 b
	shift
	b=$(ct_dir "$name")
	rm -rf "$b/img" "$b/work"
	mkdir -p "$b/img" "$b/work"
	crun checkpoint --image-path "$b/img" --work-path "$b/work" "$@" "$name"
}

ct_restore() {
	local name=$1 b
	b=$(ct_dir "$name")
	crun restore -d --image-path "$b/img" --work-path "$b/work" --bundle "$b" "$name" </dev/null
}

ct_rm() {
	crun kill "$1" KILL >/dev/null 2>&1 || true
	crun delete -f "$1" >/dev/null 2>&1 || true
	ct_rm_cgroups "$1"
}

# A failed `crun restore` leaves the container's (empty) cgroups behind in
# the host's hierarchies, and the next restore of the same name then fails
# ("write to devices.deny"): remove them.
ct_rm_cgroups() {
	local d
	for d in /sys/fs/cgroup/*/"$1" /sys/fs/cgroup/"$1"; do
		[ -d "$d" ] && { rmdir "$d" 2>/dev/null || true; }
	done
	return 0
}

ct_cleanup_all() {
	local c
	for c in $(crun list -q 2>/dev/null); do ct_rm "$c"; done
	for c in "$CT_BASE"/*/; do [ -d "$c" ] && ct_rm_cgroups "$(basename "$c")"; done
	rm -rf "$CT_BASE"
}

# The CRIU log of the last dump/restore of NAME (for failure messages).
ct_criu_log() {
	local b
	b=$(ct_dir "$1")
	tail -n 30 "$b/work"/*.log 2>/dev/null || true
}

# Take udpcork's lines out of (or put them back into) /etc/criu/default.conf.
udpcork_disable() { LIBEXECDIR=$UC_LIBEXEC sh "$UC_SRC/oci-examples/criu-conf" remove >/dev/null; }
udpcork_enable() { LIBEXECDIR=$UC_LIBEXEC sh "$UC_SRC/oci-examples/criu-conf" add >/dev/null; }

# ct_txq NAME PORT: the write queue (tx_queue, bytes) of the container's UDP
# socket bound to PORT, as the kernel reports it in /proc/net/udp{,6}.
ct_txq() {
	local pid hex
	pid=$(ct_pid "$1")
	hex=$(printf '%04X' "$2")
	hex=$(nsenter -t "$pid" -n cat /proc/net/udp /proc/net/udp6 |
		awk -v p=":$hex" '$2 ~ p"$" { split($5, q, ":"); print q[1]; exit }')
	[ -n "$hex" ] || { echo "no UDP socket on port $2 in container $1" >&2; return 1; }
	echo $((16#$hex))
}

# ct_annotate NAME KEY VALUE: add an OCI annotation to the bundle's config.
ct_annotate() {
	sed -i "0,/\"ociVersion\"/s//\"annotations\": {\"$2\": \"$3\"},\n\t&/" "$(ct_dir "$1")/config.json"
}

# ct_host_network NAME: the container shares the network namespace of the
# caller (and so of CRIU), like podman --network host.
ct_host_network() {
	sed -i '/"type": "network"/d' "$(ct_dir "$1")/config.json"
	# drop the now-empty object left behind: {  },
	sed -i -z 's/{[[:space:]]*},\?[[:space:]]*{[[:space:]]*"type"/{\n"type"/g' "$(ct_dir "$1")/config.json"
}

# ct_app NAME PROG ARG...: a bundle whose init is build/test/PROG.
ct_app() {
	local name=$1 prog=$2
	shift 2
	ct_create "$name" "/$prog" "$@"
	cp "$UC_BUILD/test/$prog" "$(ct_dir "$name")/rootfs/$prog"
}
