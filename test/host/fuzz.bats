#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# Fuzzing (libFuzzer + ASan + UBSan) of the readers of untrusted input and
# of the consumers behind them,
# and the unit tests under ASan + UBSan.  Runs on the HOST (Debian 12,
# clang 14 + libclang-rt-14-dev, from deps/packages).
# UDPCORK_FUZZ_SECONDS (default 30) is the time per fuzz target.

setup_file() {
	cd "$BATS_TEST_DIRNAME/../.."
	export FUZZ_SECONDS=${UDPCORK_FUZZ_SECONDS:-30}
}

setup() {
	cd "$BATS_TEST_DIRNAME/../.."
}

# make fuzz for one target; fails on a non-zero status, a sanitizer or
# libFuzzer report, or a missing "ok fuzz" line.
fuzz_one() {
	run make -s fuzz FUZZ_TARGETS="$1" FUZZ_SECONDS="$FUZZ_SECONDS"
	echo "$output"
	[ "$status" -eq 0 ]
	! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:|ERROR: libFuzzer|deadly signal|FAIL fuzz' <<<"$output"
	grep -q "^ok fuzz: $1: .* no crash" <<<"$output"
}

@test "fuzz: every target in test/fuzz has its test in this file" {
	local f name missing=
	for f in test/fuzz/fuzz-*.c; do
		name=${f#test/fuzz/fuzz-}
		name=${name%.c}
		grep -q "^	fuzz_one $name\$" "$BATS_TEST_FILENAME" || missing="$missing $name"
	done
	[ -z "$missing" ] || { echo "no test runs:$missing"; false; }
}

@test "fuzz: state JSON reader, ${UDPCORK_FUZZ_SECONDS:-30} s, no crash" {
	fuzz_one state
}

@test "fuzz: image reader, validation and consumers (control messages, raw packets, printing), ${UDPCORK_FUZZ_SECONDS:-30} s, no crash" {
	fuzz_one image
}

@test "fuzz: capture-log reader and consumers, ${UDPCORK_FUZZ_SECONDS:-30} s, no crash" {
	fuzz_one log
}

@test "fuzz: checkpoint-archive reader (libarchive: tar, gzip, zstd, xz), ${UDPCORK_FUZZ_SECONDS:-30} s, no crash" {
	fuzz_one archive
}

@test "fuzz: capture decoder, validation, control messages, ${UDPCORK_FUZZ_SECONDS:-30} s, no crash" {
	fuzz_one capture
}

@test "unit tests pass under ASan+UBSan" {
	# test/unit.bats runs in a nested bats: without this bats' variables
	# (BATS_ROOT, ...) and its libexec directory in PATH (there `bats` is
	# the inner script, not /usr/bin/bats), which confuse the inner one
	unset=$(env | sed -n 's/^\(BATS_[A-Za-z0-9_]*\)=.*/-u \1/p')
	path=$(tr : '\n' <<<"$PATH" | grep -v 'bats-core' | paste -sd:)
	run env $unset PATH="$path" make -s sanitize
	echo "$output"
	[ "$status" -eq 0 ]
	! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:|^not ok ' <<<"$output"
	grep -qE '^ok [0-9]+ ' <<<"$output"
}
