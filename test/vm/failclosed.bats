#!/usr/bin/env bats
# For kernels without the netfilter BPF link (CONFIG_NETFILTER_BPF_LINK,
# Linux < 6.4, e.g. Debian 12's 6.1): udpcork cannot capture, so it must
# fail closed. The checkpoint is refused with udpcork's error naming the
# missing kernel feature, and the app keeps its pending datagram: after
# "go" the receiver gets it intact, once. Run by test/vm (check-kernels)
# instead of the crun.bats subset on such kernels.

load ../lib

setup_file() {
	require_stack
	# UC_FORCE_FAILCLOSED=1: check fail-closed on any kernel where udpcork
	# cannot capture (e.g. its BPF object does not load there)
	if [ "${UC_FORCE_FAILCLOSED:-0}" != 1 ] &&
		grep -qx 'CONFIG_NETFILTER_BPF_LINK=y' "/usr/lib/modules/$(uname -r)/config" 2>/dev/null; then
		echo "this kernel has the netfilter BPF link: run test/e2e/crun.bats instead" >&2
		return 1
	fi
}

setup() {
	load_bats_libs
	udpcork_enable
}

teardown() {
	ct_cleanup_all
	udpcork_enable
}

assert_delivered() {
	local name=$1 len=$2 out
	out=$(ct_out "$name")
	run cat "$out/recv.meta"
	assert_output "count=1 len=$len sport=9001"
	assert_equal "$(sha256sum <"$out/recv.bin")" "$(sha256sum <"$out/sent.bin")"
}

# failclosed NAME FAMILY MODE SIZES LEN [crun checkpoint options]
failclosed() {
	local name=$1 fam=$2 mode=$3 sizes=$4 len=$5
	shift 5
	ct_create "$name" /udpapp -f "$fam" -m "$mode" -s "$sizes"
	ct_run "$name"
	ct_wait "$name" ready
	run ct_checkpoint "$name" "$@"
	assert_failure
	# udpcork refused, naming the missing kernel feature
	run grep -h "udpcork-prestop.*kernel >= 6.4" "$(ct_dir "$name")"/work/dump.log
	assert_success
	echo "# $name: $output" >&3
	# nothing was captured
	assert [ ! -s "$(ct_dir "$name")/img/udpcork.img" ]
	# the app runs on with its datagram, which arrives intact, once
	assert [ "$(ct_txq "$name" 9001)" -gt 0 ]
	touch "$(ct_out "$name")/go"
	ct_wait "$name" done 15
	assert_delivered "$name" "$len"
}

@test "no netfilter BPF link: IPv4 UDP_CORK 3400 B checkpoint refused, data kept" {
	failclosed fc4 4 cork 100,100,100,100,3000 3400
}

@test "no netfilter BPF link: IPv6 MSG_MORE 3400 B checkpoint refused (not lost), data kept" {
	failclosed fc6 6 more 100,100,100,100,3000 3400
}

@test "no netfilter BPF link: --leave-running checkpoint refused, data kept" {
	failclosed fcleave 6 cork 100,100,3000 3200 --leave-running
}
