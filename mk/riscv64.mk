# SPDX-License-Identifier: GPL-2.0
# riscv64 (issues 7 and 15): the userspace cross built with
# riscv64-linux-gnu-gcc and run under qemu-riscv64 (user mode), and the
# module, built against Debian 13's 6.12 riscv64 headers (mk/kernels.mk;
# Debian 12 has no riscv64 kernel), with every selftest but one in one boot
# of Debian 13's stock riscv64 kernel under qemu-system-riscv64 (the VM
# section below). Everything lands in build/riscv64/ and build/vm-riscv64/.
#
#   make ARCH=riscv64         the same as `make riscv64` (CROSS_COMPILE=,
#                             default riscv64-linux-gnu-, names the
#                             toolchain): libvanity.so/.a
#                             (the portable core inside), the examples (on
#                             the .so, by $ORIGIN, as natively), the test
#                             shard programs, the channel stress, and
#                             vanityctl (static, on libnl and libinih cross
#                             built from Debian's sources)
#   make deps-riscv64         the cross compiler (tools/deps.sh riscv64),
#                             then fetch and unpack Debian's libinih and
#                             libnl3 source packages (tools/riscv64/deps.sh;
#                             a private apt source list, nothing installed);
#                             `make deps` and `make check` run it
#   make stress-riscv64       the channel stress under qemu-riscv64, reduced
#                             counts, after stress-riscv64-orders (the fast
#                             path's fences and AMOs, read from the riscv64
#                             objects: TCG runs them with x86's ordering)
#   make check-riscv64        what `make check` runs (tools/check.sh): the
#                             orders, the stress, then tools/riscv64/check.sh:
#                             vanityctl build under qemu-riscv64 gives the
#                             x86_64 build's image bytes for every example
#                             manifest and the same refusal for a bad one;
#                             riscv64 shard programs run by the x86_64
#                             vanityctl on its hosted simulator
#   make vm-selftests-riscv64 the selftests in one boot of Debian 13's
#                             riscv64 kernel; counts in
#                             $(RV64_VM_OUT)/selftests.counts; also
#                             selftests-riscv64, vm-run-riscv64 CMD=...,
#                             vm-shell-riscv64, check-vm-riscv64
#                             (mk/guest.mk)
#
# Not here, and why (README.md, Architectures): the Criterion unit tests
# (BoxFort 0.1.2 has no riscv64 trampoline, and it runs each test by
# exec'ing /proc/self/exe, which qemu-user cannot do without binfmt_misc),
# and, under qemu-user, anything that execs a riscv64 program from a
# riscv64 one (vanityctl run, the integration test), for the same reason:
# the riscv64 VM runs those.
# Host packages: tools/deps.sh --list riscv64 (the cross compiler, bison and
# flex for libnl's configure), vm (qemu-user, qemu-system-misc) and
# trixie (the kernel, by `make deps-trixie`).

ifeq ($(CROSS_ARCH),riscv64)
RV64_CROSS ?= $(or $(CROSS_COMPILE),riscv64-linux-gnu-)
endif
RV64_CROSS ?= riscv64-linux-gnu-
RV64_CC ?= $(RV64_CROSS)gcc
RV64_OBJDUMP ?= $(RV64_CROSS)objdump
RV64_RUN ?= qemu-riscv64
# The riscv64 C library of libc6-riscv64-cross, for dynamic programs.
RV64_LIBC ?= /usr/riscv64-linux-gnu
RV64_OUT := $(BUILD)/riscv64
RV64_OBJ := $(RV64_OUT)/obj
RV64_SYSROOT := $(RV64_OUT)/sysroot
RV64_LIBS_STAMP := $(RV64_SYSROOT)/.vanity-libs
RV64_CFLAGS := -O2 -g -std=gnu11 $(WARN) -fPIC -pthread
RV64_CTL_CPPFLAGS := -I$(RV64_SYSROOT)/include/libnl3 -I$(RV64_SYSROOT)/include

# `make ARCH=riscv64` means the riscv64 build; other goals with it would
# hand ARCH=riscv64 to the x86_64 module build.
ifeq ($(CROSS_ARCH),riscv64)
ifneq ($(filter-out riscv64 %-riscv64 stress-riscv64-build stress-riscv64-orders,$(MAKECMDGOALS)),)
$(error ARCH=riscv64: the goals are riscv64 (the default), deps-riscv64, stress-riscv64, check-riscv64, selftests-riscv64, vm-run-riscv64, vm-selftests-riscv64, vm-shell-riscv64, clean-riscv64)
endif
.DEFAULT_GOAL := riscv64
endif

rvobj = $(patsubst %.c,$(RV64_OBJ)/%.o,$(1))
RV64_CORE_OBJS := $(call rvobj,$(CORE_SRCS))
RV64_LIB_OBJS := $(call rvobj,$(LIB_SRCS))
RV64_CTL_OBJS := $(call rvobj,$(CTL_SRCS) $(CTL_MAIN))
RV64_EXAMPLES := $(addprefix $(RV64_OUT)/,$(EXAMPLES))
RV64_SHARDS := $(patsubst tests/shards/%.c,$(RV64_OUT)/tests/shards/%, \
	$(sort $(wildcard tests/shards/*.c)))
RV64_STRESS_BIN := $(RV64_OUT)/tests/stress/chan_stress
RV64_ORDERS_OBJ := $(RV64_OBJ)/tests/stress/orders.o
RV64_CTL := $(RV64_OUT)/tools/vanityctl
RV64_SO := $(RV64_OUT)/lib/libvanity.so.$(LIB_VERSION)

.PHONY: riscv64 deps-riscv64 libs-riscv64 stress-riscv64-build \
	stress-riscv64-orders stress-riscv64 check-riscv64 clean-riscv64

riscv64: $(RV64_OUT)/lib/libvanity.so $(RV64_OUT)/lib/libvanity.a \
	$(RV64_EXAMPLES) $(RV64_SHARDS) $(RV64_STRESS_BIN) $(RV64_ORDERS_OBJ) \
	$(RV64_CTL)

$(RV64_OBJ)/%.o: %.c
	@mkdir -p $(@D)
	$(RV64_CC) $(CPPFLAGS) $(RV64_CFLAGS) -MMD -MP -c $< -o $@

# vanityctl's objects see the cross built libnl and libinih headers.
$(RV64_CTL_OBJS): $(RV64_OBJ)/%.o: %.c $(RV64_LIBS_STAMP)
	@mkdir -p $(@D)
	$(RV64_CC) $(CPPFLAGS) $(RV64_CTL_CPPFLAGS) $(RV64_CFLAGS) -MMD -MP -c $< -o $@

# ---------------------------------------------------------------- library
$(RV64_SO): $(RV64_LIB_OBJS) $(RV64_CORE_OBJS) lib/libvanity.map
	@mkdir -p $(@D)
	$(RV64_CC) -shared -Wl,-soname,libvanity.so.$(LIB_SOVER) \
		-Wl,--version-script=lib/libvanity.map -Wl,-z,defs \
		-pthread -o $@ $(RV64_LIB_OBJS) $(RV64_CORE_OBJS)
$(RV64_OUT)/lib/libvanity.so: $(RV64_SO)
	ln -sf libvanity.so.$(LIB_VERSION) $(@D)/libvanity.so.$(LIB_SOVER)
	ln -sf libvanity.so.$(LIB_VERSION) $@
$(RV64_OUT)/lib/libvanity.a: $(RV64_LIB_OBJS) $(RV64_CORE_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && $(RV64_CROSS)ar rcs $@ $^

# Examples on the shared library, found by $ORIGIN as natively
# (build/riscv64/examples/X/Y -> build/riscv64/lib).
$(RV64_OUT)/examples/%: $(RV64_OBJ)/examples/%.o $(RV64_OUT)/lib/libvanity.so
	@mkdir -p $(@D)
	$(RV64_CC) -pthread -o $@ $< -L$(RV64_OUT)/lib -lvanity \
		-Wl,-rpath,'$$ORIGIN/../../lib'
$(RV64_OBJ)/examples/pipeline/%.o: $(wildcard examples/pipeline/*.h)

# Test shard programs, static on libvanity.a as natively.
$(RV64_OUT)/tests/shards/%: $(RV64_OBJ)/tests/shards/%.o $(RV64_OUT)/lib/libvanity.a
	@mkdir -p $(@D)
	$(RV64_CC) -static -pthread -o $@ $^

# ---------------------------------------------------------------- vanityctl
deps-riscv64:
	+@$(DEPS) --install riscv64
	tools/riscv64/deps.sh $(RV64_OUT)
	@$(DEPS) --give-back $(RV64_OUT)

# libnl and libinih for riscv64, rebuilt when deps-riscv64 fetched others.
libs-riscv64: $(RV64_LIBS_STAMP)
$(RV64_LIBS_STAMP): $(wildcard $(RV64_OUT)/src/*.version) tools/riscv64/libs.sh
	@test -f $(RV64_OUT)/src/libnl3.version -a -f $(RV64_OUT)/src/libinih.version || \
		{ echo "no libnl3/libinih sources for riscv64: run 'make deps-riscv64' (or make deps)" >&2; exit 1; }
	RV64_CROSS=$(RV64_CROSS) tools/riscv64/libs.sh $(RV64_OUT)/src $(RV64_OUT)/libs $(RV64_SYSROOT)

$(RV64_CTL): $(RV64_CTL_OBJS) $(RV64_CORE_OBJS) $(RV64_LIBS_STAMP)
	@mkdir -p $(@D)
	$(RV64_CC) -static -pthread -o $@ $(RV64_CTL_OBJS) $(RV64_CORE_OBJS) \
		-L$(RV64_SYSROOT)/lib -lnl-genl-3 -lnl-3 -linih -lpthread -lm

# ---------------------------------------------------------------- stress
# Static, so qemu-riscv64 needs no sysroot; the passes of mk/stress.mk.
RV64_SPIN ?= 5000000
RV64_WRAP ?= 5000000
RV64_BLOCKING ?= 5000000
RV64_BLOCKING_SMALL ?= 1000000
RV64_SLEEPY ?= 1000000
RV64_TINY ?= 500000
RV64_TINY_SIZES ?= 64

$(RV64_STRESS_BIN): $(call rvobj,$(STRESS_SRCS) $(STRESS_UNDER_TEST))
	@mkdir -p $(@D)
	$(RV64_CC) -static -pthread -o $@ $^

stress-riscv64-build: $(RV64_STRESS_BIN) $(RV64_ORDERS_OBJ)

stress-riscv64-orders: $(RV64_ORDERS_OBJ) $(RV64_OBJ)/lib/channel.o
	tests/stress/check_orders.sh $(RV64_OBJDUMP) $^

stress-riscv64: $(RV64_STRESS_BIN) stress-riscv64-orders
	@command -v $(RV64_RUN) >/dev/null || \
		{ echo "no $(RV64_RUN): apt-get install qemu-user" >&2; exit 1; }
	$(call stress_passes,$(RV64_RUN) $(RV64_STRESS_BIN) --quiet --stuck-ms 5000 $(STRESS_ARGS),RV64)

# ---------------------------------------------------------------- the VM
# Debian 13's stock riscv64 kernel (6.12) under qemu-system-riscv64 -M virt
# (tools/vm/arch.sh), unpacked by `make deps-trixie`, with the module built
# against its headers (mk/kernels.mk): every selftest but iommu_test,
# device_test, whose subject is not there (QEMU 7.2's virt has no IOMMU,
# and 6.12 no riscv64 IOMMU driver, so no device can be passed), and
# storage_test, whose storage shard links liburing, which this guest's
# tree does not have (mk/nvme.mk). The static programs, the guest's tree
# (build/vm-riscv64/tree) and the goals (selftests-riscv64,
# vm-run-riscv64, vm-selftests-riscv64, vm-shell-riscv64,
# check-vm-riscv64): mk/guest.mk, from these.
RV64_VM := $(BUILD)/vm-riscv64
RV64_TREE := $(RV64_VM)/tree
RV64_VM_OUT ?= $(CURDIR)/$(RV64_VM)/out
RV64_AR := $(RV64_CROSS)ar
RV64_U_CPPFLAGS = $(CPPFLAGS) $(RV64_CTL_CPPFLAGS)
RV64_U_CFLAGS := $(RV64_CFLAGS)
RV64_U_LIBS := -L$(RV64_SYSROOT)/lib -lnl-genl-3 -lnl-3 -linih -lpthread -lm
RV64_U_DEPS := $(RV64_LIBS_STAMP)
RV64_LIBA := $(RV64_OUT)/lib/libvanity.a
RV64_KO := $(KERNELS_OUT)/6.12-riscv64/vanity.ko
RV64_ST_OMIT := iommu_test device_test storage_test
RV64_VM_ENV = VM_ARCH=riscv64 VM_KROOT='$(TRIXIE_ROOT)' VM_OUT='$(RV64_VM_OUT)' \
	VANITY_KO='$(CURDIR)/$(RV64_TREE)/kmod/vanity.ko'
# mk/kernels.mk's goal builds the module (kbuild decides what is stale).
$(RV64_KO): kmod-6.12-riscv64 ;
$(eval $(call guest_vm,riscv64,RV64))

# ---------------------------------------------------------------- check
# Every part prints "riscv64: ok ..." or "riscv64: FAIL ..." (the stress
# and the orders their own lines); tools/check.sh counts them.
check-riscv64: riscv64 tools/vanityctl
	@rc=0; $(MAKE) --no-print-directory stress-riscv64 || rc=1; \
	RV64_RUN=$(RV64_RUN) RV64_LIBC=$(RV64_LIBC) tools/riscv64/check.sh \
		$(RV64_OUT) || rc=1; exit $$rc

clean-riscv64:
	rm -rf $(RV64_OBJ) $(RV64_OUT)/lib $(RV64_OUT)/examples $(RV64_OUT)/tests \
		$(RV64_OUT)/tools $(RV64_OUT)/libs $(RV64_SYSROOT) $(RV64_OUT)/check \
		$(RV64_TREE)
