#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# The man pages render without groff warnings (host: it has man/groff).

@test "man pages: udpcork(1), udpcork-prestop(8), udpcork-poststart(8) render cleanly" {
	cd "$BATS_TEST_DIRNAME/../.."
	for m in man/udpcork.1 man/checkpointctl-udpcork.1 man/udpcork-prestop.8 man/udpcork-poststart.8; do
		run groff -man -ww -z "$m"
		[ "$status" -eq 0 ]
		[ -z "$output" ] || { echo "$m: $output"; false; }
		run sh -c "MANWIDTH=80 man -l $m | head -3"
		[[ "$output" == *UDPCORK* ]]
	done
}
