# SPDX-License-Identifier: GPL-2.0-or-later
# make bench: what udpcork's hooks cost at checkpoint and restore.
#   builds the testbed if needed, runs test/bench/run inside it, plots on the
#   host (test/bench/plot), prints the table. Results in bench-out/:
#   results.json, runs.tsv, table.txt, summary.txt, bench.png.
#   BENCH_QUICK=1 reduced grid; BENCH_REPS=N repetitions (default 5);
#   BENCH_BIG=0 without the N=10000 points.
.PHONY: bench
bench:
	@[ "$$(id -u)" = 0 ] || { echo "make bench must run as root (namespaces, CRIU, BPF)" >&2; exit 1; }
	deps/install testbed bench
	UDPCORK_TESTBED_ROOT=$$(test/testbed/build) && export UDPCORK_TESTBED_ROOT && \
	  BENCH_QUICK='$(BENCH_QUICK)' BENCH_REPS='$(BENCH_REPS)' BENCH_BIG='$(BENCH_BIG)' \
	  test/testbed/run test/bench/run
	test/bench/plot bench-out
	@cat bench-out/summary.txt
