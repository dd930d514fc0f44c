# SPDX-License-Identifier: GPL-2.0-or-later
# Helpers of the podman end-to-end tests (test/e2e/podman.bats). They run
# inside the testbed (test/testbed/run), as root, with the real podman,
# crun and CRIU, after test/lib.bash.
#
# Every name they make starts with "pm-" (containers, image, networks) and
# every host path is under /tmp/pm-*, so that they touch nothing else.

PM_BASE=${PM_BASE:-/tmp/pm-e2e}
PM_IMAGE=${PM_IMAGE:-localhost/pm-udpapp}

pm_require() {
	require_stack || return 1
	command -v podman >/dev/null || { echo "podman not found: run the tests through test/testbed/run" >&2; return 1; }
}

# The receiver-only program: built by make once it is in TEST_APPS,
# otherwise built here (static, like the other test programs).
pm_udprecv() {
	local src=$UC_SRC/test/apps/udprecv.c bin=$UC_BUILD/test/udprecv
	if [ -x "$bin" ] && [ "$bin" -nt "$src" ]; then
		echo "$bin"
		return 0
	fi
	mkdir -p "$PM_BASE/bin"
	gcc -O2 -g -Wall -Wextra -static -o "$PM_BASE/bin/udprecv" "$src" >&2 || return 1
	echo "$PM_BASE/bin/udprecv"
}

# The image: /udpapp, /udprecv, /bin/busybox (for exec), empty /out and /tmp.
pm_image_create() {
	local r=$PM_BASE/rootfs recv
	recv=$(pm_udprecv) || return 1
	rm -rf "$r"
	mkdir -p "$r"/{out,tmp,bin,proc,sys,dev}
	cp "$UC_BUILD/test/udpapp" "$r/udpapp"
	cp "$recv" "$r/udprecv"
	cp /bin/busybox "$r/bin/busybox"
	tar -C "$r" -c . | podman import -q - "$PM_IMAGE" >/dev/null
}

pm_image_rm() {
	podman rmi -f "$PM_IMAGE" >/dev/null 2>&1 || true
	rm -rf "$PM_BASE/rootfs"
}

# Per-test host files: $PM_BASE/t/NAME/...
pm_dir() { echo "$PM_BASE/t/$1"; }
pm_out() { echo "$PM_BASE/t/$1/out"; }

# pm_run NAME vol|novol [podman run options...] -- CMD...
#   vol:   /out is the host directory $(pm_out NAME) (a bind mount);
#   novol: /out is the container's own filesystem (it travels with an
#          exported checkpoint; read it back with pm_collect).
pm_run() {
	local name=$1 mode=$2 opts=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	shift
	mkdir -p "$(pm_dir "$name")"
	if [ "$mode" = vol ]; then
		mkdir -p "$(pm_out "$name")"
		opts+=(-v "$(pm_out "$name"):/out")
	fi
	podman run -d --name "$name" "${opts[@]}" "$PM_IMAGE" "$@" >/dev/null </dev/null
}

# Does NAME have its /out on the host?
pm_has_vol() {
	podman inspect -f '{{range .Mounts}}{{.Destination}} {{end}}' "$1" 2>/dev/null | grep -qw /out
}

# pm_exec NAME CMD: a busybox shell command inside the running container.
pm_exec() { podman exec "$1" /bin/busybox sh -c "$2"; }

# pm_wait NAME FILE [SECONDS]: wait for /out/FILE in the container.
pm_wait() {
	local name=$1 file=$2 secs=${3:-15}
	if pm_has_vol "$name"; then
		wait_file "$(pm_out "$name")/$file" "$secs" && return 0
	else
		pm_exec "$name" "n=$((secs * 20)); while [ ! -e /out/$file ] && [ \$n -gt 0 ]; do sleep 0.05; n=\$((n - 1)); done; [ -e /out/$file ]" && return 0
		pm_exec "$name" "cat /out/log" >&2 2>/dev/null
	fi
	echo "timeout waiting for /out/$file in $name" >&2
	podman ps -a --format '{{.Names}} {{.Status}}' >&2
	return 1
}

# pm_go NAME: let the app uncork.
pm_go() {
	if pm_has_vol "$1"; then
		touch "$(pm_out "$1")/go"
	else
		pm_exec "$1" "touch /out/go"
	fi
}

# pm_collect NAME [SECONDS]: wait until the container exits (the app exits
# when it is done) with status 0, and have its /out at $(pm_out NAME).
pm_collect() {
	local name=$1 secs=${2:-30} rc
	rc=$(timeout "$secs" podman wait "$name") || { echo "$name did not exit in ${secs}s" >&2; return 1; }
	if ! pm_has_vol "$name"; then
		mkdir -p "$(pm_dir "$name")"
		rm -rf "$(pm_out "$name")"
		podman cp "$name:/out" "$(pm_out "$name")" || return 1
	fi
	[ "$rc" = 0 ] || { echo "$name exited with $rc" >&2; cat "$(pm_out "$name")/log" >&2; return 1; }
}

pm_pid() { podman inspect -f '{{.State.Pid}}' "$1"; }

# pm_ip NAME 4|6: the container's address on its (only) podman network.
pm_ip() {
	if [ "$2" = 4 ]; then
		podman inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$1"
	else
		podman inspect -f '{{range .NetworkSettings.Networks}}{{.GlobalIPv6Address}}{{end}}' "$1"
	fi
}

# pm_static NAME: the container's userdata directory; the checkpoint
# images are in its checkpoint/, CRIU's logs (with --keep) in it.
pm_static() { podman inspect -f '{{.StaticDir}}' "$1"; }

# pm_txq NAME PORT: the write queue (bytes) of the container's UDP socket
# bound to PORT, as the kernel reports it (like ct_txq).
pm_txq() {
	local pid
	pid=$(pm_pid "$1")
	txq_of "$pid" "$2" "container $1"
}

# CRIU's log of the last dump/restore of NAME (kept by --keep).
pm_criu_log() {
	local d
	d=$(pm_static "$1" 2>/dev/null) || return 0
	tail -n 40 "$d/$2.log" 2>/dev/null || true
}

# Remove only what these tests made.
pm_cleanup() {
	local c
	for c in $(podman ps -a --format '{{.Names}}' 2>/dev/null | grep '^pm-'); do
		podman rm -f -t0 "$c" >/dev/null 2>&1 || true
	done
	rm -rf "$PM_BASE/t"
}
