# SPDX-License-Identifier: GPL-2.0
# Vanity top-level build: the module through Kbuild, userspace with
# -Wall -Wextra -Werror, tests, and the VM that runs the selftests.

.DEFAULT_GOAL := all
.SECONDARY:
SHELL := /bin/bash

# ---------------------------------------------------------------- ARCH
# ARCH as Kbuild takes it, from the command line or the environment:
# `make ARCH=arm64 [CROSS_COMPILE=aarch64-linux-gnu-]` and `make ARCH=riscv64`
# build that architecture into build/ARCH/ (mk/arm64.mk, mk/riscv64.mk,
# which refuse the host's goals with it, so that it never reaches the
# host's module build); without ARCH (or with the host's) make builds for
# this machine.
CROSS_ARCH := $(if $(filter command environment,$(firstword $(origin ARCH))),$(filter-out x86 x86_64,$(ARCH)))
ifneq ($(filter-out arm64 riscv64,$(CROSS_ARCH)),)
$(error ARCH=$(ARCH): this tree builds for this machine (no ARCH), ARCH=arm64 or ARCH=riscv64)
endif
ifneq ($(if $(CROSS_ARCH),,$(filter command environment,$(firstword $(origin CROSS_COMPILE)))),)
ifneq ($(CROSS_COMPILE),)
$(error CROSS_COMPILE=$(CROSS_COMPILE) without ARCH: make ARCH=arm64 CROSS_COMPILE=$(CROSS_COMPILE) (or ARCH=riscv64); the host's build uses the host's compiler)
endif
endif

# ---------------------------------------------------------------- kernel
HOST_DEBARCH := $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
RUNNING_KDIR := /lib/modules/$(shell uname -r)/build
# By version, not by text: 6.1.0-10 is newer than 6.1.0-9.
NEWEST_KDIR := $(lastword $(shell ls -d /usr/src/linux-headers-*-$(HOST_DEBARCH) 2>/dev/null | sort -V))
KDIR ?= $(if $(wildcard $(RUNNING_KDIR)/Makefile),$(RUNNING_KDIR),$(NEWEST_KDIR))
# The module's kernel release costs a second make: asked of Kbuild the
# first time a recipe expands $(KVER) (mk/vm.mk), never at parse time.
KVER = $(eval KVER := $(shell $(MAKE) -s -C $(KDIR) kernelrelease 2>/dev/null))$(KVER)

# ---------------------------------------------------------------- userspace
CC ?= gcc
AR ?= ar
BUILD := build
PKG_CONFIG ?= pkg-config
NL_CFLAGS := $(shell $(PKG_CONFIG) --cflags libnl-genl-3.0 2>/dev/null)
NL_LIBS := $(shell $(PKG_CONFIG) --libs libnl-genl-3.0 2>/dev/null)
INIH_LIBS := $(shell $(PKG_CONFIG) --libs inih 2>/dev/null || echo -linih)

WARN := -Wall -Wextra -Werror -Wno-missing-field-initializers
CPPFLAGS := -Iinclude/uapi -Ikmod/core -Ilib/include -Ilib -Itools/ctl -Itools/sim -D_GNU_SOURCE
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 $(WARN) -fPIC -pthread
LDFLAGS += -pthread

LIB_SOVER := 0
LIB_VERSION := 0.1.0

CORE_SRCS := kmod/core/crc32c.c kmod/core/image.c kmod/core/cpulist.c \
	     kmod/core/chan.c kmod/core/opdef.c kmod/core/ring_engine.c kmod/core/pci.c \
	     kmod/core/dma.c
LIB_SRCS := lib/attach.c lib/channel.c lib/hosted.c lib/bell_futex.c lib/cycles.c \
	    lib/log.c lib/hosted_ring.c lib/device.c
# The simulator: its server, its ring platform, its wire protocol (wire.h).
SIM_SRCS := tools/sim/server.c tools/sim/ring.c
CTL_SRCS := tools/ctl/imgwrite.c tools/ctl/manifest.c tools/ctl/cmd_build.c tools/ctl/json.c \
	    $(SIM_SRCS) \
	    tools/ctl/backend.c \
	    tools/ctl/cmd_run.c tools/ctl/run_supervise.c tools/ctl/run_logs.c \
	    tools/ctl/run_rates.c tools/ctl/run_table.c \
	    tools/ctl/runlog.c \
	    tools/ctl/nl.c tools/ctl/cmd_events.c \
	    tools/ctl/pci_sysfs.c tools/ctl/cmd_devices.c
CTL_MAIN := tools/ctl/main.c

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
CORE_OBJS := $(call obj,$(CORE_SRCS))
LIB_OBJS := $(call obj,$(LIB_SRCS))
CTL_OBJS := $(call obj,$(CTL_SRCS))

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(NL_CFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

-include $(shell find $(BUILD) -name '*.d' -type f 2>/dev/null)

.PHONY: all kmod lib tools tests examples check unit clean deps
all: kmod lib tools examples tests

kmod: kmod/vanity.ko
KMOD_SRCS := $(wildcard kmod/*.c kmod/*.h kmod/core/*.c kmod/core/*.h) \
	     include/uapi/linux/vanity.h Kbuild kmod/Kbuild
kmod/vanity.ko: $(KMOD_SRCS)
	@test -z "$(CROSS_ARCH)" || { echo "kmod/vanity.ko is this machine's" \
		"module, not ARCH=$(CROSS_ARCH)'s (make ARCH=$(CROSS_ARCH))" >&2; exit 1; }
	@test -n "$(KDIR)" -a -f "$(KDIR)/Makefile" || \
		{ echo "no kernel headers: run 'make deps' or pass KDIR=" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules

# libvanity: shared (soname, version map, -z defs), static, pkg-config file
lib: lib/libvanity.so lib/libvanity.a lib/vanity.pc
lib/libvanity.so.$(LIB_VERSION): $(LIB_OBJS) $(CORE_OBJS) lib/libvanity.map
	$(CC) -shared -Wl,-soname,libvanity.so.$(LIB_SOVER) \
		-Wl,--version-script=lib/libvanity.map -Wl,-z,defs \
		$(LDFLAGS) -o $@ $(LIB_OBJS) $(CORE_OBJS)
lib/libvanity.so: lib/libvanity.so.$(LIB_VERSION)
	ln -sf libvanity.so.$(LIB_VERSION) lib/libvanity.so.$(LIB_SOVER)
	ln -sf libvanity.so.$(LIB_VERSION) $@
lib/libvanity.a: $(LIB_OBJS) $(CORE_OBJS)
	rm -f $@ && $(AR) rcs $@ $^
lib/vanity.pc: lib/vanity.pc.in Makefile
	sed -e 's|@PREFIX@|$(or $(PREFIX),/usr/local)|' -e 's|@VERSION@|$(LIB_VERSION)|' $< > $@

tools/vanityctl: $(call obj,$(CTL_MAIN)) $(CTL_OBJS) $(CORE_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(NL_LIBS) $(INIH_LIBS)

# Examples link the shared library as users do, found through $ORIGIN.
# mk/examples.mk adds its own to EXAMPLES; the goals that list them
# (tools, examples) come after the fragments, as make expands a rule's
# prerequisites when it reads the rule.
EXAMPLES := examples/hello/hello
# Examples built for this machine only (they link what the cross guests lack).
NATIVE_EXAMPLES :=
examples/%: $(BUILD)/examples/%.o lib/libvanity.so
	$(CC) $(LDFLAGS) -o $@ $< -Llib -lvanity -Wl,-rpath,'$$ORIGIN/../../lib'

# Internal archive shared by vanityctl, unit tests and selftests.
$(BUILD)/libvanityctl.a: $(CTL_OBJS) $(CORE_OBJS)
	rm -f $@ && $(AR) rcs $@ $^

# Every fragment must be there: a missing one would drop its goals.
include mk/unit.mk
include mk/selftests.mk
include mk/examples.mk
include mk/nvme.mk
include mk/bench-ring.mk
include mk/bench-irq.mk
include mk/bench-nvme.mk
include mk/stress.mk
include mk/bench.mk
include mk/bench-pipeline.mk
include mk/bench-ab.mk
include mk/vm.mk
include mk/kernels.mk
include mk/guest.mk
include mk/arm64.mk
include mk/riscv64.mk

tools: tools/vanityctl $(EXAMPLES) $(NATIVE_EXAMPLES)
examples: $(EXAMPLES) $(NATIVE_EXAMPLES)

# The UAPI header must stand alone as strict C99 with its layout pins.
$(BUILD)/uapi-c99.stamp: include/uapi/linux/vanity.h
	@mkdir -p $(@D)
	printf '#include <linux/vanity.h>\nint vanity_uapi_c99;\n' | \
		$(CC) -std=c99 -pedantic -Wall -Wextra -Werror -Iinclude/uapi \
		-x c -c - -o /dev/null
	@touch $@

# Each public header stands alone (liburing's habit): included first and
# alone, it compiles warning-free.
PUB_HDRS := vanity.h vanity/channel.h vanity/ring.h vanity/log.h vanity/arch.h
$(BUILD)/headers.stamp: $(wildcard lib/include/*.h lib/include/vanity/*.h \
		lib/include/vanity/arch/*.h) include/uapi/linux/vanity.h
	@mkdir -p $(@D)
	for h in $(PUB_HDRS); do \
		printf '#include <%s>\nint vanity_hdr;\n' $$h | \
		$(CC) -std=gnu11 $(WARN) -Iinclude/uapi -Ilib/include \
			-x c -c - -o /dev/null || exit 1; \
	done
	@touch $@

tests: unit-build selftests-build $(BUILD)/uapi-c99.stamp $(BUILD)/headers.stamp

# ---------------------------------------------------------------- deps
# What each goal needs from Debian is listed once, in tools/deps.sh. The
# goals that must work on a fresh machine run it first: nothing missing, it
# says nothing; something missing, root gets it installed, anyone else a
# line naming it and the one command to run as root, before anything is
# built. The build then runs in a new make, which sees what was just
# installed (KDIR, the pkg-config flags). `+`: also under `make -n`, which
# tests/deps/deps_test.sh uses to see what each goal would build.
DEPS := tools/deps.sh

.PHONY: deps-demo
# Everything (what `make check` and the benchmarks need), including the
# downloads for the arm64 VM, the riscv64 libraries and Debian 13's
# kernels and toolchain (mk/kernels.mk).
deps:
	+@$(DEPS) --install all
	+@$(MAKE) --no-print-directory deps-arm64 deps-riscv64 deps-trixie

deps-demo:
	+@$(DEPS) --install demo

check:
	+@$(DEPS) --install check
	+@$(MAKE) --no-print-directory deps-arm64 deps-riscv64 deps-trixie
	+@$(MAKE) --no-print-directory all
	tools/check.sh

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean >/dev/null 2>&1
	rm -rf $(BUILD) lib/libvanity.so* lib/libvanity.a lib/vanity.pc \
		tools/vanityctl $(EXAMPLES) $(NATIVE_EXAMPLES)
