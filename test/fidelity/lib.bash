# SPDX-License-Identifier: GPL-2.0-or-later
# The randomized fidelity test (GitHub issue "Fidelity"), shared by
# test/e2e/fidelity.bats and test/fidelity/run-many. Runs inside the testbed;
# needs test/lib.bash loaded first.
#
# fz_seed SEED NCASES NGROUPS: the cases of SEED (test/fidelity/gen) split
# into NGROUPS containers; every group runs twice, in a CONTROL container
# (no checkpoint) and in a CHECKPOINT container (crun checkpoint + crun
# restore while the datagrams are pending); the receivers' records
# (OUTDIR/result) of the two must be byte for byte the same.

FZ_DIR=${FZ_DIR:-/tmp/fz-work}
FZ_APP=$UC_BUILD/test/fidelity

# The test program; built here until it is in the Makefile's TEST_APPS.
fz_build_app() {
	[ "$FZ_APP" -nt "$UC_SRC/test/apps/fidelity.c" ] && return 0
	mkdir -p "$(dirname "$FZ_APP")"
	gcc -O2 -g -static -Wall -Wextra -o "$FZ_APP" "$UC_SRC/test/apps/fidelity.c"
}

fz_create() { # NAME CASEFILE
	ct_create "$1" /fidelity /out/cases
	cp "$FZ_APP" "$(ct_dir "$1")/rootfs/fidelity"
	cp "$2" "$(ct_out "$1")/cases"
}

fz_seed() {
	local seed=$1 n=$2 ng=$3 g d names=() ckps=() name rc=0 t0=$SECONDS
	d=$FZ_DIR/$seed
	rm -rf "$d"
	mkdir -p "$d"
	"${FZ_GEN:-$UC_SRC/test/fidelity/gen}" "$seed" "$n" "$ng" >"$d/cases" || return 1
	for ((g = 0; g < ng; g++)); do
		grep -E "^id=[0-9]+ grp=$g " "$d/cases" >"$d/cases.$g" || continue
		# odd seeds: lo at MTU 1500, so that big corked datagrams sit in
		# several skbs (and leave as fragments)
		# (IPV6_DONTFRAG then makes writes above the MTU fail: left out)
		if [ $((seed % 2)) = 1 ]; then
			sed -i -e '1i mtu=1500' -e 's/ df=[sc]:1 / df=- /' "$d/cases.$g"
		fi
		fz_create "fz-$seed-$g-ctl" "$d/cases.$g"
		fz_create "fz-$seed-$g-ckp" "$d/cases.$g"
		names+=("fz-$seed-$g-ctl" "fz-$seed-$g-ckp")
		ckps+=("fz-$seed-$g-ckp")
	done
	for name in "${names[@]}"; do ct_run "$name" || { echo "seed $seed: crun run $name failed"; rc=1; }; done
	for name in "${names[@]}"; do ct_wait "$name" ready 30 || { echo "seed $seed: $name not ready"; rc=1; }; done
	# FZ_NOCHECKPOINT=1: both runs are controls (is the test itself deterministic?)
	if [ $rc = 0 ] && [ "${FZ_NOCHECKPOINT:-0}" != 1 ]; then
		for name in "${ckps[@]}"; do
			if ! ct_checkpoint "$name" >"$d/$name.ckpt" 2>&1; then
				echo "seed $seed: crun checkpoint $name failed:"
				cat "$d/$name.ckpt"; ct_criu_log "$name"; rc=1; break
			fi
			if ! ct_restore "$name" >"$d/$name.rst" 2>&1; then
				echo "seed $seed: crun restore $name failed:"
				cat "$d/$name.rst"; ct_criu_log "$name"; rc=1; break
			fi
		done
	fi
	if [ $rc = 0 ]; then
		for name in "${names[@]}"; do touch "$(ct_out "$name")/go"; done
		for name in "${names[@]}"; do ct_wait "$name" done 60 || { echo "seed $seed: $name not done"; rc=1; }; done
	fi
	if [ $rc = 0 ]; then
		for ((g = 0; g < ng; g++)); do
			[ -s "$d/cases.$g" ] || continue
			cp "$(ct_out "fz-$seed-$g-ctl")/result" "$d/result.$g.ctl"
			cp "$(ct_out "fz-$seed-$g-ckp")/result" "$d/result.$g.ckp"
			if grep -q ERR "$d/result.$g.ctl" "$d/result.$g.ckp"; then
				echo "seed $seed group $g: errors:"
				grep -h ERR "$d/result.$g.ctl" "$d/result.$g.ckp"
				rc=1
			fi
			if ! cmp -s "$d/result.$g.ctl" "$d/result.$g.ckp"; then
				echo "seed $seed group $g: CHECKPOINT differs from CONTROL (UC_FIDELITY_ALL=${UC_FIDELITY_ALL:-1} UC_FIDELITY_NEXT=${UC_FIDELITY_NEXT:-0}):"
				diff -U0 "$d/result.$g.ctl" "$d/result.$g.ckp" | grep -v '^@@' || true
				local id
				for id in $(diff "$d/result.$g.ctl" "$d/result.$g.ckp" | sed -n 's/^[<>] id=\([0-9]*\) .*/\1/p' | sort -un); do
					echo "case: $(grep -E "^id=$id " "$d/cases")"
				done
				rc=1
			fi
		done
	fi
	for name in "${ckps[@]}"; do
		cat "$(ct_dir "$name")"/work/dump.log >"$d/$name.dump.log" 2>/dev/null
		cat "$(ct_dir "$name")"/work/restore.log >"$d/$name.restore.log" 2>/dev/null
	done
	for name in "${names[@]}"; do ct_rm "$name"; rm -rf "$(ct_dir "$name")"; done
	echo "seed $seed: $n cases in $ng containers x 2: $([ $rc = 0 ] && echo same || echo DIFFERENT) ($((SECONDS - t0)) s)"
	[ $rc = 0 ] && [ "${FZ_KEEP:-0}" != 1 ] && rm -rf "$d"
	return $rc
}
