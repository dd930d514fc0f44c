# SPDX-License-Identifier: GPL-2.0-or-later
# Helpers of the end-to-end tests. They run inside the testbed
# (test/testbed/run), as root, with the real crun and CRIU.

UC_SRC=${UC_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
UC_BUILD=$UC_SRC/${UDPCORK_BUILD:-build-testbed}
# One id per test session (test/testbed/run sets it), for cgroup paths.
UC_RUN=${UC_RUN:-$(cut -c1-8 /proc/sys/kernel/random/uuid)}
export UC_RUN
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

# bundle_new DIR: an empty bundle directory DIR (rootfs with /udpapp, img/,
# work/), for `crun spec` / `runc spec`.
bundle_new() {
	rm -rf "$1"
	mkdir -p "$1/rootfs"/{proc,dev,sys,tmp,out,bin} "$1/img" "$1/work"
	cp "$UC_BUILD/test/udpapp" "$1/rootfs/udpapp"
}

# bundle_set_args CONFIG ARG...: the spec CONFIG (from `crun spec` or `runc
# spec`) runs ARG..., without a terminal, with a writable root and
# CAP_NET_ADMIN, CAP_NET_RAW.
bundle_set_args() {
	local config=$1 args="" a name
	shift
	name=$(basename "$(dirname "$config")")
	for a in "$@"; do args+="\"$a\", "; done
	args=${args%, }
	args=${args//\\/\\\\}
	args=${args//&/\\&}
	args=${args//|/\\|}
	sed -i -e 's/"terminal": true/"terminal": false/' \
		-e 's/"readonly": true/"readonly": false/' \
		-e "s|^\\([[:space:]]*\\)\"sh\"\$|\\1$args|" \
		-e 's/"CAP_NET_BIND_SERVICE"/"CAP_NET_BIND_SERVICE", "CAP_NET_ADMIN", "CAP_NET_RAW"/' \
		"$config"
	# Cgroups of their own per test session: a restore that fails leaves
	# its cgroups busy in the host's hierarchies (see the README), and a
	# later container of the same name must not run into them.
	jq --arg p "/$(ct_cgroup_parent)/$name" '.linux.cgroupsPath = $p' "$config" >"$config.new" &&
		mv "$config.new" "$config"
	# Kernels < 5.13 have no PTRACE_GET_RSEQ_CONFIGURATION: CRIU refuses to
	# dump a task that registered rseq ("has rseq but kernel lacks
	# get_rseq_conf feature"), and glibc >= 2.35 registers it in every
	# thread. There the apps run without it (CRIU's documented workaround).
	if ! uc_have_rseq_conf; then
		jq '.process.env += ["GLIBC_TUNABLES=glibc.pthread.rseq=0"]' "$config" >"$config.new" &&
			mv "$config.new" "$config"
	fi
}

# uc_have_rseq_conf: can CRIU dump tasks that use rseq on this kernel?
uc_have_rseq_conf() {
	if [ -z "${UC_RSEQ_CONF:-}" ]; then
		UC_RSEQ_CONF=no
		criu check --feature get_rseq_conf >/dev/null 2>&1 && UC_RSEQ_CONF=yes
		export UC_RSEQ_CONF
	fi
	[ "$UC_RSEQ_CONF" = yes ]
}

# The parent cgroup of this session's containers.
ct_cgroup_parent() { echo "udpcork-test-$UC_RUN"; }

# ct_create NAME ARG...: a bundle whose init runs ARG... (udpapp is /udpapp).
ct_create() {
	local name=$1 b
	shift
	b=$(ct_dir "$name")
	bundle_new "$b"
	cp /bin/busybox "$b/rootfs/bin/busybox" 2>/dev/null || true
	(cd "$b" && crun spec)
	bundle_set_args "$b/config.json" "$@"
}

ct_run() {
	local name=$1
	crun run -d --bundle "$(ct_dir "$name")" "$name" </dev/null
}

# wait_file FILE [SECONDS]: wait for FILE (default 10 s); on a timeout show
# the log next to it (the app's OUTDIR/log).
wait_file() {
	local n=$((${2:-10} * 20))
	while [ ! -e "$1" ] && [ $n -gt 0 ]; do
		sleep 0.05
		n=$((n - 1))
	done
	[ -e "$1" ] || { echo "timeout waiting for $1" >&2; cat "$(dirname "$1")/log" >&2 2>/dev/null; return 1; }
}

# ct_wait NAME FILE [SECONDS]: wait for /out/FILE in the container.
ct_wait() { wait_file "$(ct_out "$1")/$2" "${3:-10}"; }

# rt_pid RUNTIME NAME: the container's pid, as RUNTIME (crun, runc) says.
rt_pid() { "$1" state "$2" | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p'; }

# rt_checkpoint RUNTIME NAME [checkpoint options]: RUNTIME (crun, rc_runc)
# checkpoints NAME into its bundle's fresh img/ and work/.
rt_checkpoint() {
	local rt=$1 name=$2 b
	shift 2
	b=$(ct_dir "$name")
	rm -rf "$b/img" "$b/work"
	mkdir -p "$b/img" "$b/work"
	"$rt" checkpoint --image-path "$b/img" --work-path "$b/work" "$@" "$name"
}

# rt_restore RUNTIME NAME: RUNTIME restores NAME (detached) from its bundle.
rt_restore() {
	local rt=$1 name=$2 b
	b=$(ct_dir "$name")
	"$rt" restore -d --image-path "$b/img" --work-path "$b/work" --bundle "$b" "$name" </dev/null
}

ct_pid() { rt_pid crun "$1"; }

# ct_checkpoint NAME [crun checkpoint options]
ct_checkpoint() { rt_checkpoint crun "$@"; }

ct_restore() { rt_restore crun "$1"; }

ct_rm() {
	crun kill "$1" KILL >/dev/null 2>&1 || true
	crun delete -f "$1" >/dev/null 2>&1 || true
	ct_rm_cgroups "$1"
}

# A failed `crun restore` leaves the container's (empty) cgroups behind in
# the host's hierarchies, and the next restore of the same name then fails
# ("write to devices.deny"): remove them.
ct_rm_cgroups() {
	local d p
	p=$(ct_cgroup_parent)
	for d in /sys/fs/cgroup/*/"$p/$1" /sys/fs/cgroup/"$p/$1"; do
		[ -d "$d" ] && { rmdir "$d" 2>/dev/null || true; }
	done
	return 0
}

ct_cleanup_all() {
	local c
	for c in $(crun list -q 2>/dev/null); do ct_rm "$c"; done
	for c in "$CT_BASE"/*/; do [ -d "$c" ] && ct_rm_cgroups "$(basename "$c")"; done
	ct_rm_cgroup_parent
	rm -rf "$CT_BASE"
}

# The session's parent cgroup, once its containers are gone.
ct_rm_cgroup_parent() {
	local c
	for c in /sys/fs/cgroup/*/"$(ct_cgroup_parent)" /sys/fs/cgroup/"$(ct_cgroup_parent)"; do
		[ -d "$c" ] && { rmdir "$c" 2>/dev/null || true; }
	done
	return 0
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

# lift_criu_lock PID: remove the network lock CRIU leaves in PID's network
# namespace when it dies or leaves the tasks stopped, as an operator would
lift_criu_lock() {
	local t
	for t in iptables ip6tables; do
		nsenter -t "$1" -n "$t" -D INPUT -j CRIU 2>/dev/null || true
		nsenter -t "$1" -n "$t" -D OUTPUT -j CRIU 2>/dev/null || true
	done
}

# udpq_of 1|2 PID PORT [WHAT]: the write (1: tx_queue) or receive (2:
# rx_queue) queue, in bytes, of the UDP socket bound to PORT in the network
# namespace of PID, as the kernel reports it in /proc/net/udp{,6}; WHAT
# names that namespace in the error.
udpq_of() {
	local hex q
	hex=$(printf '%04X' "$3")
	q=$(nsenter -t "$2" -n cat /proc/net/udp /proc/net/udp6 |
		awk -v p=":$hex" -v f="$1" '$2 ~ p"$" { split($5, q, ":"); print q[f]; exit }')
	[ -n "$q" ] || { echo "no UDP socket on port $3 in ${4:-the netns of pid $2}" >&2; return 1; }
	echo $((16#$q))
}
txq_of() { udpq_of 1 "$@"; } # PID PORT [WHAT]
rxq_of() { udpq_of 2 "$@"; } # PID PORT [WHAT]

# ct_txq NAME PORT: the write queue of the container's UDP socket on PORT.
ct_txq() {
	local pid
	pid=$(ct_pid "$1")
	txq_of "$pid" "$2" "container $1"
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

# sum_sizes S1,S2,...: their sum (an app's -s SIZES: the datagram's length).
sum_sizes() {
	local IFS=, t=0 s
	for s in $1; do t=$((t + s)); done
	echo $t
}

# assert_delivered_in DIR LEN [SENT_DIR]: the receiver that wrote to DIR got
# exactly one datagram of LEN bytes, the ones the app sent (SENT_DIR/sent.bin,
# default DIR/sent.bin), from the app's port (9001).
assert_delivered_in() {
	local out=$1 len=$2 sent=${3:-$1}
	run cat "$out/recv.meta"
	assert_output "count=1 len=$len sport=9001"
	assert_equal "$(sha256sum <"$out/recv.bin")" "$(sha256sum <"$sent/sent.bin")"
}

# ct_finish NAME LEN [SECONDS]: let the udpapp of NAME uncork (/out/go),
# wait for it to be done (default 15 s), and check that its receiver got
# the datagram, LEN bytes, intact and once.
ct_finish() {
	touch "$(ct_out "$1")/go"
	ct_wait "$1" done "${3:-15}"
	assert_delivered_in "$(ct_out "$1")" "$2"
}

# ct_standard_hooks [--udpcork]: called at the top of a .bats file, the
# usual hooks of the crun tests: the stack is required, bats-assert loaded,
# and every container removed after each test; with --udpcork, udpcork is
# enabled in CRIU's config before and after each test (for tests that
# disable it). A file may redefine any of them after.
ct_standard_hooks() {
	setup_file() { require_stack; }
	if [ "${1:-}" = --udpcork ]; then
		setup() {
			load_bats_libs
			udpcork_enable
		}
		teardown() {
			ct_cleanup_all
			udpcork_enable
		}
	else
		setup() { load_bats_libs; }
		teardown() { ct_cleanup_all; }
	fi
}
