# SPDX-License-Identifier: GPL-2.0
# Vanity top-level build: the module through Kbuild, userspace with
# -Wall -Wextra -Werror, tests, and the VM that runs the selftests.

.DEFAULT_GOAL := all
.SECONDARY:
SHELL := /bin/bash

# ---------------------------------------------------------------- kernel
HOST_DEBARCH := $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
RUNNING_KDIR := /lib/modules/$(shell uname -r)/build
NEWEST_KDIR := $(lastword $(sort $(wildcard /usr/src/linux-headers-*-$(HOST_DEBARCH))))
KDIR ?= $(if $(wildcard $(RUNNING_KDIR)/Makefile),$(RUNNING_KDIR),$(NEWEST_KDIR))
KVER := $(shell $(MAKE) -s -C $(KDIR) kernelrelease 2>/dev/null)

# ---------------------------------------------------------------- userspace
CC ?= gcc
AR ?= ar
BUILD := build
PKG_CONFIG ?= pkg-config
NL_CFLAGS := $(shell $(PKG_CONFIG) --cflags libnl-genl-3.0 2>/dev/null)
NL_LIBS := $(shell $(PKG_CONFIG) --libs libnl-genl-3.0 2>/dev/null)
INIH_LIBS := $(shell $(PKG_CONFIG) --libs inih 2>/dev/null || echo -linih)

WARN := -Wall -Wextra -Werror -Wno-missing-field-initializers
CPPFLAGS := -Iinclude/uapi -Ikmod/core -Ilib/include -Ilib -Itools/ctl -D_GNU_SOURCE
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 $(WARN) -fPIC -pthread
LDFLAGS += -pthread

LIB_SOVER := 0
LIB_VERSION := 0.1.0

CORE_SRCS := kmod/core/crc32c.c kmod/core/image.c kmod/core/cpulist.c \
	     kmod/core/chan.c kmod/core/opdef.c
LIB_SRCS := lib/attach.c lib/channel.c lib/hosted.c lib/bell_futex.c lib/cycles.c \
	    lib/log.c lib/hosted_ring.c
CTL_SRCS := tools/ctl/imgwrite.c tools/ctl/manifest.c tools/ctl/cmd_build.c \
	    tools/ctl/sim.c tools/ctl/sim_ring.c \
	    tools/ctl/cmd_run.c \
	    tools/ctl/runlog.c \
	    tools/ctl/nl.c
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

tools: tools/vanityctl $(EXAMPLES)
tools/vanityctl: $(call obj,$(CTL_MAIN)) $(CTL_OBJS) $(CORE_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(NL_LIBS) $(INIH_LIBS)

# Examples link the shared library as users do, found through $ORIGIN.
EXAMPLES := examples/hello/hello
examples: $(EXAMPLES)
examples/%: $(BUILD)/examples/%.o lib/libvanity.so
	$(CC) $(LDFLAGS) -o $@ $< -Llib -lvanity -Wl,-rpath,'$$ORIGIN/../../lib'

# Internal archive shared by vanityctl, unit tests and selftests.
$(BUILD)/libvanityctl.a: $(CTL_OBJS) $(CORE_OBJS)
	rm -f $@ && $(AR) rcs $@ $^

-include mk/unit.mk
-include mk/selftests.mk
-include mk/examples.mk
-include mk/bench-ring.mk
-include mk/stress.mk
-include mk/bench.mk
-include mk/bench-pipeline.mk
-include mk/vm.mk
-include mk/arm64.mk
-include mk/riscv64.mk

# The UAPI header must stand alone as strict C99 with its layout pins.
$(BUILD)/uapi-c99.stamp: include/uapi/linux/vanity.h
	@mkdir -p $(@D)
	printf '#include <linux/vanity.h>\nint vanity_uapi_c99;\n' | \
		$(CC) -std=c99 -pedantic -Wall -Wextra -Werror -Iinclude/uapi \
		-x c -c - -o /dev/null
	@touch $@

tests: unit-build selftests-build $(BUILD)/uapi-c99.stamp

# ---------------------------------------------------------------- deps
DEB_PKGS := build-essential pkg-config linux-headers-$(HOST_DEBARCH) \
	linux-image-$(HOST_DEBARCH) linux-source-6.1 qemu-system-x86 \
	busybox-static cpio kmod xz-utils sparse liburing-dev libnl-3-dev \
	libnl-genl-3-dev libcriterion-dev libinih-dev dpdk-dev \
	gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user qemu-system-arm \
	gcc-riscv64-linux-gnu libc6-dev-riscv64-cross bison flex
deps:
	@missing=$$(for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y --no-install-recommends $$missing; \
	else echo "deps: all installed"; fi
	@# Debian's arm64 kernel, headers and libraries, downloaded and unpacked
	$(MAKE) --no-print-directory deps-arm64
	@# Debian's libinih and libnl3 sources, for the riscv64 cross build
	$(MAKE) --no-print-directory deps-riscv64

check: all
	tools/check.sh

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean >/dev/null 2>&1
	rm -rf $(BUILD) lib/libvanity.so* lib/libvanity.a lib/vanity.pc \
		tools/vanityctl $(EXAMPLES)
