# SPDX-License-Identifier: GPL-2.0-or-later
# Helpers of the containerd end-to-end tests (test/e2e/containerd.bats),
# on top of test/lib.bash. They run inside the testbed (test/testbed/run), as
# root, in its private mount/net/pid namespaces.
#
# containerd runs as a real daemon of the test session, on its own socket
# and state dirs (nothing under /var/lib/containerd, /run/containerd):
#   root   $CD_BASE/root   (tmpfs /tmp: overlayfs snapshots work there,
#                           not on the testbed's overlay root)
#   state  /run/uc-ctrd/state, socket /run/uc-ctrd/containerd.sock
# Images are made here (static busybox + test programs) and imported as OCI
# tars: no registry is reached. The CRI plugin gets a pod sandbox image
# ("pause") made the same way, a CNI config of its own (bridge + host-local
# IPAM in the testbed's private netns: the pod gets its own netns, lo and
# eth0) and runc with the cgroupfs driver.

CD_BASE=${CD_BASE:-/tmp/uc-ctrd}
CD_RUN=${CD_RUN:-/run/uc-ctrd}
CD_SOCK=$CD_RUN/containerd.sock
CD_NS=${CD_NS:-udpcork}        # namespace of the ctr tests
CD_REGISTRY=${CD_REGISTRY:-127.0.0.1:5000}
CD_IMAGE=${CD_IMAGE:-$CD_REGISTRY/uc-udpapp:latest}
CD_PAUSE=${CD_PAUSE:-localhost/uc-pause:latest}

# ctr on our socket, namespace $CD_NS (override with CD_NS=k8s.io cd_ctr ...)
cd_ctr() { ctr --address "$CD_SOCK" --namespace "$CD_NS" "$@"; }

cd_require() {
	require_stack || return 1
	local b
	for b in containerd containerd-shim-runc-v2 ctr runc python3; do
		command -v $b >/dev/null || { echo "$b not found: run the tests through test/testbed/run (testbed packages: containerd, python3-grpcio ...)" >&2; return 1; }
	done
	python3 -c "import grpc, grpc_tools" 2>/dev/null || { echo "python3-grpcio / python3-grpc-tools missing" >&2; return 1; }
	[ -x /usr/lib/cni/bridge ] || { echo "containernetworking-plugins missing" >&2; return 1; }
}

# cd_config: write $CD_BASE/config.toml (and the CNI config).
cd_config() {
	mkdir -p "$CD_BASE/root" "$CD_BASE/cni" "$CD_BASE/cni-state" "$CD_BASE/criu-work" "$CD_RUN/state"
	# A bridge inside the testbed's own netns (the dummy plugin cannot work
	# here: "failed to create dummy: operation not supported").
	cat >"$CD_BASE/cni/10-uc.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "uc-pod",
  "plugins": [
    { "type": "bridge", "bridge": "uc-cni0", "isGateway": true, "ipMasq": false,
      "ipam": { "type": "host-local", "dataDir": "$CD_BASE/cni-state",
                "ranges": [ [ { "subnet": "10.77.0.0/24" } ] ] } }
  ]
}
EOF
	cat >"$CD_BASE/config.toml" <<EOF
version = 3
root = "$CD_BASE/root"
state = "$CD_RUN/state"
# the plugins that cannot work here (or are not needed)
disabled_plugins = [
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.blockfile",
  "io.containerd.snapshotter.v1.erofs",
  "io.containerd.differ.v1.erofs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
  "io.containerd.nri.v1.nri",
]

[grpc]
  address = "$CD_SOCK"
[ttrpc]
  address = "$CD_SOCK.ttrpc"
[debug]
  address = "$CD_RUN/debug.sock"
  level = "${CD_LOG_LEVEL:-info}"

[plugins."io.containerd.internal.v1.opt"]
  path = "$CD_BASE/opt"

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "$CD_PAUSE"

[plugins."io.containerd.cri.v1.runtime"]
  enable_cdi = false
  disable_apparmor = true
  # this machine has no CAP_SYS_RESOURCE: the pause container's -998 is refused
  restrict_oom_score_adj = true
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    # CRI passes a container annotation to the OCI spec (where runc reads
    # org.criu.config) only if the runtime lists it
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      container_annotations = ["org.criu.config", "io.github.udpcork.*"]
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        SystemdCgroup = false
        # CRIU's logs of restores stay here (by default they go to the image
        # dir, which the CRI restore deletes once the container runs)
        CriuWorkPath = "$CD_BASE/criu-work"
    # the same without the annotation list
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc-plain]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc-plain.options]
        SystemdCgroup = false
        CriuWorkPath = "$CD_BASE/criu-work"
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = "$CD_BASE/cni"
    max_conf_num = 1

[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
EOF
}

# cd_start: start containerd (log $CD_BASE/containerd.log), wait for it.
cd_start() {
	cd_config
	containerd --config "$CD_BASE/config.toml" >"$CD_BASE/containerd.log" 2>&1 </dev/null &
	echo $! >"$CD_BASE/containerd.pid"
	local n=200
	until ctr --address "$CD_SOCK" version >/dev/null 2>&1; do
		n=$((n - 1))
		[ $n -gt 0 ] && kill -0 "$(cat "$CD_BASE/containerd.pid")" 2>/dev/null ||
			{ echo "containerd did not start:" >&2; tail -n 30 "$CD_BASE/containerd.log" >&2; return 1; }
		sleep 0.05
	done
}

# cd_stop: remove every task and container of every namespace, stop
# containerd, unmount what it left.
cd_stop() {
	local ns c pid m
	if [ -S "$CD_SOCK" ]; then
		for ns in $(ctr --address "$CD_SOCK" namespaces list -q 2>/dev/null); do
			for c in $(ctr --address "$CD_SOCK" -n "$ns" tasks list -q 2>/dev/null); do
				ctr --address "$CD_SOCK" -n "$ns" tasks kill -s KILL "$c" >/dev/null 2>&1 || true
			done
			for c in $(ctr --address "$CD_SOCK" -n "$ns" containers list -q 2>/dev/null); do
				ctr --address "$CD_SOCK" -n "$ns" tasks delete -f "$c" >/dev/null 2>&1 || true
				ctr --address "$CD_SOCK" -n "$ns" containers delete "$c" >/dev/null 2>&1 || true
			done
		done
	fi
	if [ -f "$CD_BASE/registry.pid" ]; then
		kill "$(cat "$CD_BASE/registry.pid")" 2>/dev/null || true
		rm -f "$CD_BASE/registry.pid"
	fi
	if [ -f "$CD_BASE/containerd.pid" ]; then
		pid=$(cat "$CD_BASE/containerd.pid")
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
		kill -KILL "$pid" 2>/dev/null || true
		rm -f "$CD_BASE/containerd.pid"
	fi
	# shims outlive containerd: end those of our state dir
	for pid in $(pgrep -f "containerd-shim-runc-v2 .*-address $CD_SOCK" 2>/dev/null); do
		kill -KILL "$pid" 2>/dev/null || true
	done
	cd_rm_cgroups
	for m in $(awk -v b="$CD_BASE" -v r="$CD_RUN" '$2 ~ "^("b"|"r")/" { print $2 }' /proc/self/mounts | sort -r); do
		umount -l "$m" 2>/dev/null || true
	done
}

# The cgroup parents of this session's containers in the host's v1
# hierarchies (ctr: --cgroup; CRI: the pod's cgroup_parent), and their removal.
cd_cgroup_parent() { echo "uc-ctrd-$UC_RUN"; }
export CRI_CGROUP_PARENT=/uc-ctrd-$UC_RUN
cd_rm_cgroups() {
	local d
	for d in /sys/fs/cgroup/*/"$(cd_cgroup_parent)"; do
		[ -d "$d" ] || continue
		find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
	done
	return 0
}

# cd_oci_tar ROOTFS NAME DIR [CMD...]: an OCI image layout in DIR (and
# DIR.tar) of the directory ROOTFS (one uncompressed layer), entrypoint
# CMD, named NAME (REPO:TAG) and REPO@DIGEST, as an image pulled from a
# registry would be (containerd's CRI then reports the digest as the
# container's image_ref, and its checkpoint restore pulls the base image by it).
cd_oci_tar() {
	local rootfs=$1 name=$2 d=$3 ldig lsize cfg cdig csize man mdig msize args
	shift 3
	rm -rf "$d" "$d.tar"
	mkdir -p "$d/blobs/sha256"
	tar -C "$rootfs" --numeric-owner --owner=0 --group=0 -cf "$d/layer.tar" .
	ldig=$(sha256sum "$d/layer.tar" | cut -d' ' -f1)
	lsize=$(stat -c %s "$d/layer.tar")
	mv "$d/layer.tar" "$d/blobs/sha256/$ldig"
	args=$(printf '%s\n' "$@" | jq -R . | jq -s -c .)
	cfg=$(jq -n -c --arg l "sha256:$ldig" --argjson a "$args" '{
		architecture: "amd64", os: "linux",
		config: { Cmd: $a, WorkingDir: "/", Env: ["PATH=/bin"] },
		rootfs: { type: "layers", diff_ids: [$l] } }')
	cdig=$(printf '%s' "$cfg" | sha256sum | cut -d' ' -f1)
	csize=$(printf '%s' "$cfg" | wc -c)
	printf '%s' "$cfg" >"$d/blobs/sha256/$cdig"
	man=$(jq -n -c --arg c "sha256:$cdig" --argjson cs "$csize" --arg l "sha256:$ldig" --argjson ls "$lsize" '{
		schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
		config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs },
		layers: [ { mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $l, size: $ls } ] }')
	mdig=$(printf '%s' "$man" | sha256sum | cut -d' ' -f1)
	msize=$(printf '%s' "$man" | wc -c)
	printf '%s' "$man" >"$d/blobs/sha256/$mdig"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$d/oci-layout"
	jq -n -c --arg m "sha256:$mdig" --argjson ms "$msize" --arg n "$name" '
		{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $m, size: $ms,
		  platform: { architecture: "amd64", os: "linux" } } as $desc |
		{ schemaVersion: 2, manifests: [
			($desc + { annotations: { "io.containerd.image.name": $n,
				"org.opencontainers.image.ref.name": ($n | sub(".*:"; "")) } }),
			($desc + { annotations: { "io.containerd.image.name": (($n | sub(":[^:/]*$"; "")) + "@" + $m) } }) ] }' >"$d/index.json"
	tar -C "$d" -cf "$d.tar" oci-layout index.json blobs
}

# cd_rootfs DIR: a root filesystem with busybox, the test programs and pause.
cd_rootfs() {
	local r=$1 p
	rm -rf "$r"
	mkdir -p "$r"/{out,tmp,bin,proc,sys,dev,etc}
	cp /bin/busybox "$r/bin/busybox"
	ln -s busybox "$r/bin/sh"
	for p in udpapp udprecv rxq; do
		[ -x "$UC_BUILD/test/$p" ] && cp "$UC_BUILD/test/$p" "$r/$p"
	done
	cd_pause_bin >"$r/pause.tmp" && mv "$r/pause.tmp" "$r/pause" && chmod 755 "$r/pause"
}

# A static pause: sleeps forever, reaps children, ends on SIGTERM/SIGINT.
cd_pause_bin() {
	local b=$CD_BASE/pause
	if [ ! -x "$b" ]; then
		cat >"$CD_BASE/pause.c" <<'EOF'
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
static void bye (int s) { (void) s; _exit (0); }
static void reap (int s) { (void) s; while (waitpid (-1, NULL, WNOHANG) > 0) ; }
int main (void) { signal (SIGTERM, bye); signal (SIGINT, bye); signal (SIGCHLD, reap); for (;;) pause (); }
EOF
		gcc -O2 -static -o "$b" "$CD_BASE/pause.c" >&2 || return 1
	fi
	cat "$b"
}

# cd_images: import the test image and the pause image into the ctr
# namespace and into k8s.io (CRI). The layouts stay in $CD_BASE/oci for
# cd_registry.
cd_images() {
	local r=$CD_BASE/rootfs ns
	cd_rootfs "$r"
	cd_oci_tar "$r" "$CD_IMAGE" "$CD_BASE/oci/udpapp" /udpapp
	cd_oci_tar "$r" "$CD_PAUSE" "$CD_BASE/oci/pause" /pause
	for ns in "$CD_NS" k8s.io; do
		ctr --address "$CD_SOCK" -n "$ns" images import "$CD_BASE/oci/udpapp.tar" >/dev/null || return 1
		ctr --address "$CD_SOCK" -n "$ns" images import "$CD_BASE/oci/pause.tar" >/dev/null || return 1
	done
}

# cd_registry: serve the test images read-only on $CD_REGISTRY (loopback),
# for the pull that containerd's CRI restore makes. Stopped by cd_stop.
cd_registry() {
	python3 "$UC_SRC/test/cri/mini-registry.py" "${CD_REGISTRY##*:}" "$CD_BASE/oci/udpapp" \
		>"$CD_BASE/registry.log" 2>&1 </dev/null &
	echo $! >"$CD_BASE/registry.pid"
	local n=100
	until python3 -c "import urllib.request as u; u.urlopen('http://$CD_REGISTRY/v2/')" 2>/dev/null; do
		n=$((n - 1)); [ $n -gt 0 ] || { cat "$CD_BASE/registry.log" >&2; return 1; }
		sleep 0.05
	done
}

# --- ctr containers: "cd-*", each in its own netns /run/netns/NAME (lo up),
# joined like Kubernetes does (a netns runc made itself comes back from a
# restore with lo down, see test/lib-runc.bash), /out = $CD_BASE/t/NAME/out.

cd_dir() { echo "$CD_BASE/t/$1"; }
cd_out() { echo "$CD_BASE/t/$1/out"; }

# cd_run NAME [ctr run options] -- CMD...
cd_run() {
	local name=$1 opts=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	ip netns del "$name" 2>/dev/null || true
	ip netns add "$name"
	ip -n "$name" link set lo up
	mkdir -p "$(cd_out "$name")" "$(cd_dir "$name")/img" "$(cd_dir "$name")/work"
	cd_ctr run -d --with-ns "network:/run/netns/$name" --cgroup "/$(cd_cgroup_parent)/$name" \
		--mount "type=bind,src=$(cd_out "$name"),dst=/out,options=rbind:rw" \
		"${opts[@]}" "$CD_IMAGE" "$name" "$@" </dev/null >/dev/null
}

cd_pid() { cd_ctr tasks ls | awk -v n="$1" '$1 == n { print $2 }'; }
cd_status() { cd_ctr tasks ls | awk -v n="$1" '$1 == n { print $3 }'; }

# cd_rm NAME: its task, container, netns
cd_rm() {
	cd_ctr tasks kill -s KILL "$1" >/dev/null 2>&1 || true
	cd_ctr tasks delete -f "$1" >/dev/null 2>&1 || true
	cd_ctr containers delete "$1" >/dev/null 2>&1 || true
}

cd_cleanup_ctr() {
	local c
	for c in $(cd_ctr containers list -q 2>/dev/null); do cd_rm "$c"; done
	for c in $(cd_ctr images ls -q 2>/dev/null | grep '^localhost/cd-'); do cd_ctr images rm "$c" >/dev/null 2>&1 || true; done
	for c in $(ip netns list 2>/dev/null | awk '{ print $1 }'); do
		case $c in cd-*) ip netns del "$c" ;; esac
	done
	rm -rf "$CD_BASE/t"
}

# --- CRI (the kubelet's calls), through test/cri/cri-client.py --------------

cri() { python3 "$UC_SRC/test/cri/cri-client.py" -s "$CD_SOCK" "$@"; }

# cri_pod NAME: a pod sandbox (own netns from the CNI config); prints its id
cri_pod() {
	local id
	id=$(cri runp "$1") || return 1
	echo "$id" >>"$CD_BASE/pods"
	echo "$id"
}

# cri_ctr POD_ID=POD_NAME NAME [create options] -- ARGS...: create and start
# a container, /out = $CD_BASE/t/NAME/out; prints its id
cri_ctr() {
	local pod=$1 name=$2 id
	shift 2
	mkdir -p "$(cd_out "$name")"
	id=$(cri create "$pod" "$name" "$CD_IMAGE" -m "$(cd_out "$name"):/out" "$@") || return 1
	cri start "$id" || return 1
	echo "$id"
}

cri_pid() { cri status "$1" | jq -r .pid; }
cri_state() { cri status "$1" | jq -r .state; }

cri_cleanup() {
	local p
	[ -f "$CD_BASE/pods" ] || return 0
	for p in $(cat "$CD_BASE/pods"); do
		cri stopp "$p" >/dev/null 2>&1 || true
		cri rmp "$p" >/dev/null 2>&1 || true
	done
	rm -f "$CD_BASE/pods"
}

# The CRIU log of the last restore through containerd (CriuWorkPath).
cd_restore_log() { echo "$CD_BASE/criu-work/restore.log"; }

# cd_ckpt_image ARCHIVE NAME CONTAINER: import into k8s.io an OCI image NAME
# made from a CRI checkpoint ARCHIVE, the way Kubernetes users do (buildah
# from the archive): one layer = the archive's files, the image's target an
# index annotated org.criu.checkpoint.container.name=CONTAINER (containerd's
# CRI recognises a checkpoint image by that annotation on the index).
cd_ckpt_image() {
	local archive=$1 name=$2 ctr=$3 d ldig lsize cfg cdig csize man mdig msize idx idig isize
	d=$CD_BASE/oci/ckpt-$ctr
	rm -rf "$d" "$d.tar"
	mkdir -p "$d/blobs/sha256"
	ldig=$(sha256sum "$archive" | cut -d' ' -f1)
	lsize=$(stat -c %s "$archive")
	cp "$archive" "$d/blobs/sha256/$ldig"
	cfg=$(jq -n -c --arg l "sha256:$ldig" '{ architecture: "amd64", os: "linux", config: {},
		rootfs: { type: "layers", diff_ids: [$l] } }')
	cdig=$(printf '%s' "$cfg" | sha256sum | cut -d' ' -f1)
	csize=$(printf '%s' "$cfg" | wc -c)
	printf '%s' "$cfg" >"$d/blobs/sha256/$cdig"
	man=$(jq -n -c --arg c "sha256:$cdig" --argjson cs "$csize" --arg l "sha256:$ldig" --argjson ls "$lsize" '{
		schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
		config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs },
		layers: [ { mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $l, size: $ls } ] }')
	mdig=$(printf '%s' "$man" | sha256sum | cut -d' ' -f1)
	msize=$(printf '%s' "$man" | wc -c)
	printf '%s' "$man" >"$d/blobs/sha256/$mdig"
	idx=$(jq -n -c --arg m "sha256:$mdig" --argjson ms "$msize" --arg c "$ctr" '{
		schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
		manifests: [ { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $m, size: $ms,
			platform: { architecture: "amd64", os: "linux" } } ],
		annotations: { "org.criu.checkpoint.container.name": $c } }')
	idig=$(printf '%s' "$idx" | sha256sum | cut -d' ' -f1)
	isize=$(printf '%s' "$idx" | wc -c)
	printf '%s' "$idx" >"$d/blobs/sha256/$idig"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$d/oci-layout"
	jq -n -c --arg i "sha256:$idig" --argjson is "$isize" --arg n "$name" '{ schemaVersion: 2,
		manifests: [ { mediaType: "application/vnd.oci.image.index.v1+json", digest: $i, size: $is,
			annotations: { "io.containerd.image.name": $n } } ] }' >"$d/index.json"
	tar -C "$d" -cf "$d.tar" oci-layout index.json blobs
	ctr --address "$CD_SOCK" -n k8s.io images import "$d.tar" >/dev/null
}
