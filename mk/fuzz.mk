# SPDX-License-Identifier: GPL-2.0-or-later
# Fuzzing and sanitizer builds (included by the main Makefile).
#
#   make fuzz-build     build the libFuzzer targets into $(BUILD)/fuzz/ (clang)
#   make fuzz           build them, then run each for FUZZ_SECONDS (default 60)
#                       on a temporary copy of its seed corpus test/fuzz/corpus/NAME;
#                       fails on any crash, sanitizer report, leak or timeout.
#                       FUZZ_TARGETS="state image" picks the targets.
#   make sanitize       build build-san/udpcork and the unit test programs with
#                       ASan+UBSan (BUILD_SAN, SAN_CC) and run test/unit.bats on them.
#
# libFuzzer needs the compiler-rt of FUZZ_CC: on Debian 12 libclang-rt-14-dev
# (deps/install fuzz installs what is missing).

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
# every test/fuzz/fuzz-NAME.c is a target NAME
FUZZ_TARGETS ?= $(patsubst test/fuzz/fuzz-%.c,%,$(wildcard test/fuzz/fuzz-*.c))
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS   = $(CFLAGS) -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link
FUZZ_OBJ     := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(notdir $(PURE_SRC)))
FUZZ_BINS    := $(addprefix $(FUZZ_DIR)/fuzz-,$(FUZZ_TARGETS))
FUZZ_ENV     := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=1 \
                UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
# Lines that mean a bug even if the exit status were 0.
FUZZ_BAD     := ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|ERROR: libFuzzer|==[0-9]+== ?ERROR|SUMMARY: (Address|Undefined|Leak)Sanitizer

BUILD_SAN ?= build-san
SAN_CC    ?= clang
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SAN_ENV   := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
SAN_ENV_LOG = ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:log_path=$(SAN_REPORTS)/asan \
              UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$(SAN_REPORTS)/ubsan

.PHONY: fuzz fuzz-build fuzz-check sanitize sanitize-build

# Say which package is missing instead of a linker error.
fuzz-check:
	@v=$$($(FUZZ_CC) -dumpversion 2>/dev/null | cut -d. -f1); \
	if [ -z "$$v" ]; then echo "fuzz: $(FUZZ_CC) not found: install clang (Debian: apt-get install clang), or run deps/install fuzz" >&2; exit 1; fi; \
	t=$$(mktemp -d); \
	printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput (const uint8_t *d, size_t n) { return 0; }\n' > $$t/t.c; \
	if ! $(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $$t/t $$t/t.c >$$t/log 2>&1; then \
		cat $$t/log >&2; rm -rf $$t; \
		echo "fuzz: $(FUZZ_CC) cannot link libFuzzer/ASan: package libclang-rt-$$v-dev is missing (apt-get install libclang-rt-$$v-dev, or run deps/install fuzz)" >&2; \
		exit 1; \
	fi; rm -rf $$t

fuzz-build: fuzz-check $(FUZZ_BINS)

$(FUZZ_DIR)/obj:
	mkdir -p $@

$(FUZZ_OBJ) $(patsubst %,$(FUZZ_DIR)/obj/fuzz-%.o,$(FUZZ_TARGETS)): $(BUILD)/udpcork.pb-c.h $(wildcard src/*.h) \
	$(wildcard test/fuzz/*.h) | $(FUZZ_DIR)/obj

$(FUZZ_DIR)/obj/%.o: src/%.c
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@
$(FUZZ_DIR)/obj/%.o: $(BUILD)/%.c
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@
$(FUZZ_DIR)/obj/%.o: test/fuzz/%.c
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Itest/fuzz -c $< -o $@

$(FUZZ_DIR)/fuzz-%: $(FUZZ_DIR)/obj/fuzz-%.o $(FUZZ_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS) $(ARCHIVE_LIBS)

# Each target runs on a copy of its corpus (the repository is not touched);
# crash inputs are kept in $(FUZZ_DIR)/crashes/.
fuzz: fuzz-build
	@fail=0; \
	for t in $(FUZZ_TARGETS); do \
		tmp=$$(mktemp -d /tmp/udpcork-fuzz-$$t.XXXXXX); \
		cp -r test/fuzz/corpus/$$t $$tmp/corpus; \
		dict=; [ ! -f test/fuzz/$$t.dict ] || dict=-dict=test/fuzz/$$t.dict; \
		echo "fuzz: $$t for $(FUZZ_SECONDS) s ($$(ls $$tmp/corpus | wc -l) seeds)"; \
		$(FUZZ_ENV) $(FUZZ_DIR)/fuzz-$$t $$dict -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
			-print_final_stats=1 -artifact_prefix=$$tmp/ $$tmp/corpus >$$tmp/log 2>&1; rc=$$?; \
		if [ $$rc -ne 0 ] || grep -qE '$(FUZZ_BAD)' $$tmp/log; then \
			fail=1; \
			grep -E -A40 '$(FUZZ_BAD)|deadly signal|Test unit written' $$tmp/log | head -120; \
			mkdir -p $(FUZZ_DIR)/crashes; \
			for a in $$tmp/crash-* $$tmp/leak-* $$tmp/timeout-* $$tmp/oom-*; do \
				[ -e "$$a" ] && cp "$$a" $(FUZZ_DIR)/crashes/$$t-$$(basename "$$a") && echo "fuzz: input kept as $(FUZZ_DIR)/crashes/$$t-$$(basename "$$a")"; \
			done; \
			cp $$tmp/log $(FUZZ_DIR)/crashes/$$t.log; \
			echo "FAIL fuzz: $$t (exit $$rc), log in $(FUZZ_DIR)/crashes/$$t.log"; \
		else \
			echo "ok fuzz: $$t: $$(grep -E 'stat::number_of_executed_units' $$tmp/log | awk '{print $$2}') runs, $$(ls $$tmp/corpus | wc -l) corpus entries, no crash"; \
		fi; \
		rm -rf $$tmp; \
	done; \
	exit $$fail

# --- ASan + UBSan build of the unit tests ----------------------------------
# A sub-make with BUILD=$(BUILD_SAN); CFLAGS/LDFLAGS go through the
# environment so that the main Makefile's `+=` still adds -Isrc etc.
SAN_MAKE_ENV = CC='$(SAN_CC)' CFLAGS='-O1 -g $(SAN_FLAGS)' LDFLAGS='$(SAN_FLAGS)'
SAN_BINS = $(BUILD_SAN)/udpcork $(patsubst test/unit/test-%.c,$(BUILD_SAN)/test/unit-%,$(wildcard test/unit/test-*.c))

sanitize-build:
	env $(SAN_MAKE_ENV) $(MAKE) BUILD=$(BUILD_SAN) $(SAN_BINS)
	@for b in $(SAN_BINS); do \
		nm "$$b" 2>/dev/null | grep -q __asan_init || { echo "sanitize: $$b is not built with ASan" >&2; exit 1; }; \
	done

# test/unit.bats runs `make $$BUILD/udpcork` in setup_file: with the same
# environment, anything it rebuilds gets the sanitizers too (checked after).
# Reports also go to files under $(BUILD_SAN)/san-reports/: a test that only
# checks for a non-zero exit status would not notice an abort, this does.
SAN_REPORTS = $(abspath $(BUILD_SAN))/san-reports
sanitize: sanitize-build
	@rm -rf $(SAN_REPORTS) && mkdir -p $(SAN_REPORTS)
	env $(SAN_MAKE_ENV) BUILD=$(BUILD_SAN) $(SAN_ENV_LOG) bats test/unit.bats; rc=$$?; \
	if [ -n "$$(ls -A $(SAN_REPORTS))" ]; then \
		cat $(SAN_REPORTS)/*; echo "sanitize: sanitizer reports in $(SAN_REPORTS) (see above)" >&2; exit 1; \
	fi; exit $$rc
	@for b in $(SAN_BINS); do \
		nm "$$b" 2>/dev/null | grep -q __asan_init || { echo "sanitize: $$b lost its sanitizers" >&2; exit 1; }; \
	done
