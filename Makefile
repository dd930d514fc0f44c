# SPDX-License-Identifier: GPL-2.0-or-later
# udpcork — keep corked UDP datagrams across CRIU checkpoint/restore.
#
#   make            build build/udpcork-prestop, build/udpcork-poststart, build/udpcork
#   make install    install (PREFIX, DESTDIR, SYSCONFDIR honoured)
#   make check      set up everything (Debian packages, testbed) and run every test
#   make demo       set up everything and show a datagram surviving checkpoint/restore
#   make unit       unit tests only (no kernel features needed)

VERSION    := 0.1.0
PREFIX     ?= /usr/local
SYSCONFDIR ?= /etc
LIBEXECDIR ?= $(PREFIX)/libexec/oci/hooks.d
BINDIR     ?= $(PREFIX)/bin
DATADIR    ?= $(PREFIX)/share/udpcork
MANDIR     ?= $(PREFIX)/share/man
HOOKSDIR   ?= $(PREFIX)/share/containers/oci/hooks.d
# Image directories named by the annotation io.github.udpcork.image-dir
# must lie under this root-owned directory.
IMAGEROOT  ?= /var/lib/udpcork/images
DESTDIR    ?=

BUILD   ?= build
CC      ?= gcc
CLANG   ?= clang
BPFTOOL ?= bpftool
LLVM_STRIP ?= llvm-strip
PROTOC_C ?= protoc-c
PKG_CONFIG ?= pkg-config
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

PKGS := libbpf yajl libprotobuf-c
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) libarchive 2>/dev/null)
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
ARCHIVE_LIBS := $(shell $(PKG_CONFIG) --libs libarchive 2>/dev/null)

CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
           -D_GNU_SOURCE -DUDPCORK_VERSION='"$(VERSION)"' -DUC_IMAGE_ROOT='"$(IMAGEROOT)"' \
           -ffunction-sections -fdata-sections -Isrc -Ibpf -I$(BUILD) $(PKG_CFLAGS) $(EXTRA_CFLAGS)
# each binary keeps only the functions it reaches (a hook does not carry
# the other hook's steps because one object of the library serves both)
LDFLAGS += -Wl,--gc-sections $(EXTRA_LDFLAGS)
LDLIBS  += $(PKG_LIBS)

# -Wno-missing-declarations: the BTF of Linux 7.x embeds anonymous named
# structs (-fms-extensions) that clang < 19 ignores with that warning.
# -DBPF_NO_KFUNC_PROTOTYPES: bpftool >= 7.4 writes kfunc prototypes into
# vmlinux.h; the programs declare the kfuncs they use themselves (with
# local types that exist whatever the BTF).
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -I$(BUILD) -Ibpf -Wall -Wno-unused-function \
              -fdebug-prefix-map=$(CURDIR)=. \
              -Wno-missing-declarations -DBPF_NO_KFUNC_PROTOTYPES

# User-space sources, one file per step of the data path, all in one static
# library: each binary takes only the objects it uses.
#   PURE_SRC   no system call on a container: formats, validation, codecs
#              (unit tests and fuzz targets use these alone)
#   KERNEL_SRC what acts on containers, sockets and BPF
PURE_SRC   := src/error.c src/log.c src/util.c src/xalloc.c src/state.c src/image_write.c src/image_read.c \
              src/fileio.c src/pbwire.c src/validate.c src/packet.c src/cmsg.c src/criuimg.c src/sha256.c \
              src/archive_image.c src/fault.c src/show.c $(BUILD)/udpcork.pb-c.c
KERNEL_SRC := src/container.c src/bpfobj.c src/bpfpin.c src/bpfslots.c src/bpfleftover.c src/discover.c \
              src/capture.c src/caps.c src/reinject.c src/route.c src/dumpdir.c src/rxsave.c src/rxinject.c \
              src/putback.c src/recover.c src/recover_cli.c src/runtime.c src/imgdir.c src/sock.c src/prestop.c \
              src/poststart.c src/hookmain.c
BPF_SRC    := bpf/udpcork.bpf.c
SKELS      := $(BUILD)/udpcork.skel.h $(BUILD)/udpcork.bpfid.h

COMMON_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(notdir $(PURE_SRC)))
KERNEL_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(notdir $(KERNEL_SRC)))
LIB        := $(BUILD)/libudpcork.a

BINS := $(BUILD)/udpcork-prestop $(BUILD)/udpcork-poststart $(BUILD)/udpcork $(BUILD)/udpcork-criu
# Found by name (test/README): test/apps/NAME.c (static, for containers),
# test/unit/test-NAME.c (unit tests), test/tools/NAME.c (test tools).
TEST_APPS  := $(patsubst test/apps/%.c,$(BUILD)/test/%,$(wildcard test/apps/*.c))
UNIT_TESTS := $(patsubst test/unit/test-%.c,$(BUILD)/test/unit-%,$(wildcard test/unit/test-*.c))
TEST_TOOLS := $(patsubst test/tools/%.c,$(BUILD)/test/%,$(wildcard test/tools/*.c))

.PHONY: all clean install uninstall unit check demo testapps test-progs deps clean-host deb FORCE
all: $(BINS)

vpath %.c src hooks $(BUILD) test/unit test/apps

$(BUILD)/obj $(BUILD)/test:
	mkdir -p $@

# --- generated files (never committed) -----------------------------------
# vmlinux.h comes from VMLINUX_BTF (default: the running kernel's). The BPF
# code is CO-RE with local flavours for every field that moved, so the BTF
# of any kernel from 5.10 to 7.x builds objects that run on all of them.
# The stamp remembers which BTF made vmlinux.h: another one rebuilds it.
$(BUILD)/vmlinux.btf-id: FORCE | $(BUILD)/obj
	@[ -r '$(VMLINUX_BTF)' ] || { echo "no kernel BTF at $(VMLINUX_BTF): build on a kernel with CONFIG_DEBUG_INFO_BTF, or give VMLINUX_BTF=FILE (a raw BTF blob or a vmlinux ELF)" >&2; exit 1; }
	@id="$(abspath $(VMLINUX_BTF)) $$(stat -L -c '%s' '$(VMLINUX_BTF)')"; \
	[ "$$(cat $@ 2>/dev/null)" = "$$id" ] || echo "$$id" > $@

$(BUILD)/vmlinux.h: $(BUILD)/vmlinux.btf-id
	$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@.tmp && mv $@.tmp $@

$(BUILD)/udpcork.bpf.o: $(BPF_SRC) bpf/udpcork.h $(BUILD)/vmlinux.h Makefile
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(LLVM_STRIP) -g $@.tmp && mv $@.tmp $@

$(BUILD)/udpcork.skel.h: $(BUILD)/udpcork.bpf.o
	$(BPFTOOL) gen skeleton $< name udpcork_bpf > $@.tmp && mv $@.tmp $@

# The name the loaded programs are pinned under (src/bpfpin.c): another
# build never picks up programs that are not its own.
$(BUILD)/udpcork.bpfid.h: $(BUILD)/udpcork.bpf.o
	printf '#define UC_BPF_OBJ_ID "%s"\n' "$$(sha256sum $< | cut -c1-16)" > $@.tmp && mv $@.tmp $@

$(BUILD)/udpcork.pb-c.c $(BUILD)/udpcork.pb-c.h &: src/udpcork.proto | $(BUILD)/obj
	$(PROTOC_C) --proto_path=src --c_out=$(BUILD) src/udpcork.proto

# --- objects ---------------------------------------------------------------
$(COMMON_OBJ) $(KERNEL_OBJ): $(BUILD)/udpcork.pb-c.h $(wildcard src/*.h) bpf/udpcork.h | $(BUILD)/obj
$(KERNEL_OBJ): $(SKELS)

$(BUILD)/obj/%.o: %.c
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(COMMON_OBJ) $(KERNEL_OBJ)
	rm -f $@ && $(AR) rcs $@ $^

# The hooks run as root at every checkpoint and restore: no archive code.
$(BUILD)/udpcork-prestop: $(BUILD)/obj/main-prestop.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/udpcork-poststart: $(BUILD)/obj/main-poststart.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/udpcork: $(BUILD)/obj/main-udpcork.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(ARCHIVE_LIBS)

# Static and without libraries: it runs at every CRIU action. The packager's
# flags apply; sanitizers do not (ASan cannot link statically).
$(BUILD)/udpcork-criu: hooks/criu-dispatch.c | $(BUILD)/obj
	$(CC) -O2 -g -Wall -Wextra $(filter-out -fsanitize% -fno-sanitize%,$(EXTRA_CFLAGS)) -static -o $@ $<

$(BUILD)/obj/main-%.o: hooks/%.c $(BUILD)/udpcork.pb-c.h $(wildcard src/*.h) | $(BUILD)/obj
	$(CC) $(CFLAGS) -c $< -o $@

# --- tests -----------------------------------------------------------------
# Test programs that run inside containers: static, no libc NSS.
$(BUILD)/test/%: test/apps/%.c | $(BUILD)/test
	$(CC) -O2 -g -Wall -Wextra -static -o $@ $<
testapps: $(TEST_APPS)

$(BUILD)/test/unit-%: test/unit/test-%.c $(LIB) | $(BUILD)/test
	$(CC) $(CFLAGS) -o $@ $< $(LIB) $(LDLIBS) $(ARCHIVE_LIBS)

$(BUILD)/test/%: test/tools/%.c $(LIB) | $(BUILD)/test
	$(CC) $(CFLAGS) -o $@ $< $(LIB) $(LDLIBS) $(ARCHIVE_LIBS)

test-progs: $(TEST_APPS) $(UNIT_TESTS) $(TEST_TOOLS)

unit: $(UNIT_TESTS) $(TEST_TOOLS) $(BUILD)/udpcork
	bats test/unit.bats

# Everything below sets itself up: host packages (deps/install, the one
# list in deps/packages), then the testbed.
deps:
	deps/install

check:
	test/run-all

# What test sessions could not remove when they ended (cgroups a failed
# restore kept busy, ...): removed now, the rest listed with the reason.
clean-host:
	test/host/clean-host

# The Debian package (debian/), built with Debian 12's own tools:
# ../udpcork_VERSION_ARCH.deb, then copied to deb-out/.
deb:
	deps/install build deb
	dpkg-buildpackage -us -uc -b
	mkdir -p deb-out && mv ../udpcork_$(VERSION)_*.deb ../udpcork-dbgsym_$(VERSION)_*.deb ../udpcork_$(VERSION)_*.buildinfo ../udpcork_$(VERSION)_*.changes deb-out/
	lintian --fail-on error deb-out/udpcork_$(VERSION)_*.changes

demo:
	test/demo

# --- install ---------------------------------------------------------------
# PREBUILT=1: install what BUILD holds without (re)building it (binaries
# made elsewhere, e.g. on the Debian 12 host, installed in the testbed).
install: $(if $(PREBUILT),,$(BINS))
	install -d $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)
	install -m 0755 $(BUILD)/udpcork-prestop $(BUILD)/udpcork-poststart $(BUILD)/udpcork-criu $(DESTDIR)$(LIBEXECDIR)/
	install -m 0755 $(BUILD)/udpcork $(DESTDIR)$(BINDIR)/
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8
	install -m 0644 man/udpcork.1 man/checkpointctl-udpcork.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 man/udpcork-prestop.8 man/udpcork-poststart.8 $(DESTDIR)$(MANDIR)/man8/
	sed -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' -e 's|@DATADIR@|$(DATADIR)|g' oci-examples/criu-udpcork.conf.in > $(DESTDIR)$(DATADIR)/criu-udpcork.conf
	chmod 0644 $(DESTDIR)$(DATADIR)/criu-udpcork.conf
	install -m 0755 oci-examples/checkpointctl-udpcork $(DESTDIR)$(BINDIR)/
	install -d -m 0700 $(DESTDIR)$(IMAGEROOT)
	install -d $(DESTDIR)$(HOOKSDIR)
	sed 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' oci-examples/udpcork-hook.json.in > $(DESTDIR)$(HOOKSDIR)/udpcork.json
	chmod 0644 $(DESTDIR)$(HOOKSDIR)/udpcork.json
ifneq ($(CRIU_CONF),no)
	DESTDIR='$(DESTDIR)' SYSCONFDIR='$(SYSCONFDIR)' LIBEXECDIR='$(LIBEXECDIR)' sh oci-examples/criu-conf add
endif

uninstall:
	DESTDIR='$(DESTDIR)' SYSCONFDIR='$(SYSCONFDIR)' LIBEXECDIR='$(LIBEXECDIR)' sh oci-examples/criu-conf remove
	rm -f $(DESTDIR)$(LIBEXECDIR)/udpcork-prestop $(DESTDIR)$(LIBEXECDIR)/udpcork-poststart $(DESTDIR)$(LIBEXECDIR)/udpcork-criu
	rm -f $(DESTDIR)$(BINDIR)/udpcork $(DESTDIR)$(BINDIR)/checkpointctl-udpcork $(DESTDIR)$(MANDIR)/man1/udpcork.1
	rm -f $(DESTDIR)$(MANDIR)/man1/checkpointctl-udpcork.1
	rm -f $(DESTDIR)$(HOOKSDIR)/udpcork.json
	rm -f $(DESTDIR)$(MANDIR)/man8/udpcork-prestop.8 $(DESTDIR)$(MANDIR)/man8/udpcork-poststart.8
	rm -rf $(DESTDIR)$(DATADIR)
	-rmdir $(DESTDIR)$(IMAGEROOT) 2>/dev/null

clean:
	rm -rf $(BUILD)

# Further targets (fuzzing, benchmarks, kernel matrix), one file each.
-include $(wildcard mk/*.mk)
