# SPDX-License-Identifier: GPL-2.0-or-later
# Shared settings of the kernel-matrix scripts (test/vm/*). Sourced, not run.
# Everything downloaded or built lives outside the checkout, under
# $UDPCORK_VM_CACHE (default /var/cache/udpcork/kernels); results go to
# $UDPCORK_VM_OUT (default <checkout>/vm-out).

vm_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
vm_src=$(cd "$vm_here/../.." && pwd)
VM_CACHE=${UDPCORK_VM_CACHE:-/var/cache/udpcork/kernels}
VM_OUT=${UDPCORK_VM_OUT:-$vm_src/vm-out}
VM_MIRROR=${UDPCORK_VM_MIRROR:-http://deb.debian.org/debian}
# Suite the guest's user-space tools (kmod) come from: the testbed's.
VM_TOOLS_SUITE=${UDPCORK_TESTBED_SUITE:-forky}
# Architecture of the guests (make check-kernels-arm64: arm64); its kernels,
# tools, stage and cells carry the suffix VM_SFX. Suites whose own kernel is
# tested, oldest first: bullseye 5.10 (its cells take ~11 min each under
# TCG), bookworm 6.1, trixie 6.12, sid (newest, 7.x); arm64: trixie 6.12
# (its subset runs the netfilter link and the cgroup_skb path both).
# VM_EXTRA: cells of other test families, SUITE:CGMODE:FAMILY (run-cell):
# containerd.bats on cgroup v2, which the host's testbed cannot give it.
VM_ARCH=${UDPCORK_VM_ARCH:-amd64}
case $VM_ARCH in
amd64) VM_SFX= VM_SUITES=${UDPCORK_VM_SUITES:-bullseye bookworm trixie sid} VM_EXTRA=${UDPCORK_VM_EXTRA-sid:v2:containerd} ;;
arm64) VM_SFX=-arm64 VM_SUITES=${UDPCORK_VM_SUITES:-trixie} VM_EXTRA=${UDPCORK_VM_EXTRA-} ;;
*) echo "vm: error: UDPCORK_VM_ARCH=$VM_ARCH: amd64 or arm64" >&2; exit 1 ;;
esac

# vm_cell SUITE CGMODE FAMILY: a cell's name (crun cells: SUITE-CGMODE)
vm_cell() { local n=$1$VM_SFX-$2; [ "$3" = crun ] || n+=-$3; echo "$n"; }

vm_log() { echo "vm: $*" >&2; }
vm_die() { echo "vm: error: $*" >&2; exit 1; }

# vm_apt SUITE apt-get|apt-cache ARGS...: apt with a private configuration
# that sees only SUITE (never the host's sources, lists or dpkg status).
vm_apt() {
	local suite=$1 tool=$2 d keyring
	shift 2
	d=$VM_CACHE/apt/$suite$VM_SFX
	keyring=/usr/share/keyrings/debian-archive-keyring.gpg
	if [ ! -f "$d/sources.list" ]; then
		mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
		echo "deb [signed-by=$keyring] $VM_MIRROR $suite main" >"$d/sources.list"
		: >"$d/status"
	fi
	"$tool" -o Dir::Etc::sourcelist="$d/sources.list" -o Dir::Etc::sourceparts=- \
		-o Dir::State::Lists="$d/lists" -o Dir::State::status="$d/status" \
		-o Dir::Cache="$d/cache" -o Acquire::Check-Valid-Until=false \
		-o Acquire::Languages=none -o APT::Sandbox::User=root \
		-o APT::Architecture="$VM_ARCH" -o APT::Architectures="$VM_ARCH" "$@"
}

# vm_root: the guests' user space: the testbed root (amd64) or the arm64
# root (test/vm/arm64-root); UDPCORK_TESTBED_ROOT overrides either.
vm_root() {
	if [ -n "${UDPCORK_TESTBED_ROOT:-}" ]; then
		echo "$UDPCORK_TESTBED_ROOT"
	elif [ "$VM_ARCH" = arm64 ]; then
		"$vm_here/arm64-root"
	else
		"$vm_src/test/testbed/build"
	fi
}

# Host tools (deps/packages, groups kernels and vm): installed by the make
# targets through deps/install; missing ones are an error here.
vm_host_tools() {
	"$vm_src/deps/install" --check kernels "$@" || vm_die "host packages missing"
	export PATH=$PATH:/usr/sbin:/sbin
}
