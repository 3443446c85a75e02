# SPDX-License-Identifier: GPL-2.0
# aarch64 on Debian's stock arm64 kernel (issue 7): the module cross built
# against the arm64 headers, the selftests cross built statically, both run
# in qemu-system-aarch64 (TCG) by the same VM runner (tools/vm/, VM_ARCH=
# arm64). `make deps` and `make check` run deps-arm64 first, and `make
# check` (tools/check.sh) runs check-arm64 after the x86_64 VM.
#
#   make ARCH=arm64           the same as `make arm64`, as Kbuild takes ARCH:
#                             the module and the userspace for arm64, in
#                             build/arm64/ (CROSS_COMPILE=, default
#                             aarch64-linux-gnu-, names the toolchain): the
#                             module, lib/libvanity.so/.a, and the
#                             selftests-arm64 and stress-arm64-build programs
#   make deps-arm64           the cross compiler (tools/deps.sh arm64), then
#                             download and unpack (dpkg -x, nothing is
#                             installed) Debian's arm64 kernel image and
#                             headers, busybox-static:arm64, libnl and
#                             libinih: build/arm64/{debs,root}; idempotent
#   make kmod-arm64           build/arm64/vanity.ko (W=1), built from a copy
#                             of the sources in build/arm64/src/
#   make selftests-arm64      static aarch64 selftests in build/arm64/selftests/
#                             (and vanityctl, the examples: build/arm64/tools/
#                             and build/arm64/examples/)
#   make vm-run-arm64 CMD=... boot the arm64 VM, insmod, run CMD
#   make vm-selftests-arm64   one boot running every arm64 selftest; counts
#                             in $(ARM64_VM_OUT)/selftests.counts
#   make check-arm64          the same, ending "N passed, N failed"
#   make vm-shell-arm64       interactive shell in the arm64 VM (Ctrl-A x)
# ARM64_VM_OUT (default build/vm-arm64/out) is the VM output directory;
# the tools/vm/run.sh knobs (VM_TIMEOUT, VM_PCI, ...) apply as on x86_64.
# Host packages: tools/deps.sh --list arm64 (the build: the cross compiler,
# linux-kbuild-6.1 through linux-headers-amd64) and vm (qemu-system-arm).
#
# Layout: the large and guest-side parts live under build/vm-arm64/ (the VM
# runner's initramfs leaves build/vm-* out of the x86_64 guest); the
# documented paths build/arm64/{root,debs,selftests} are links into it.
# The arm64 guest sees its own small tree, build/vm-arm64/tree: tools/vm/,
# kmod/vanity.ko, tools/vanityctl, the examples (and their .ini files),
# build/tests/selftests/ and build/tests/shards/, all aarch64, at the paths
# the selftests use.

# The toolchain, also for the stress build of mk/stress.mk.
ifeq ($(CROSS_ARCH),arm64)
ARM64_CROSS ?= $(or $(CROSS_COMPILE),aarch64-linux-gnu-)
endif
ARM64_CROSS ?= aarch64-linux-gnu-
ARM64_CC ?= $(ARM64_CROSS)gcc
ARM64_OBJDUMP ?= $(ARM64_CROSS)objdump
# The kernel ABI of the installed amd64 headers (6.1.0-56), so the host's
# linux-kbuild serves the arm64 headers too.
ARM64_ABI ?= $(patsubst linux-headers-%-$(HOST_DEBARCH),%,$(notdir $(NEWEST_KDIR)))
ARM64_KVER := $(ARM64_ABI)-arm64
ARM64_VM := $(BUILD)/vm-arm64
ARM64_OUT := $(BUILD)/arm64
ARM64_ROOT := $(ARM64_OUT)/root
ARM64_KDIR ?= $(CURDIR)/$(ARM64_ROOT)/usr/src/linux-headers-$(ARM64_KVER)
ARM64_SRC := $(ARM64_OUT)/src
ARM64_KMOD_SRCS = $(filter-out %.mod.c,$(KMOD_SRCS))
ARM64_KO := $(ARM64_OUT)/vanity.ko
ARM64_TREE := $(ARM64_VM)/tree
ARM64_VM_OUT ?= $(CURDIR)/$(ARM64_VM)/out
ARM64_OBJ := $(ARM64_OUT)/obj
ARM64_LIBA := $(ARM64_OUT)/lib/libvanity.a
ARM64_SO := $(ARM64_OUT)/lib/libvanity.so.$(LIB_VERSION)

# `make ARCH=arm64` means the arm64 build. The host's goals with it would
# hand ARCH=arm64 to the x86_64 build of kmod/ (and overwrite its objects).
ifeq ($(CROSS_ARCH),arm64)
ifneq ($(filter-out arm64 %-arm64 stress-arm64-build stress-arm64-orders,$(MAKECMDGOALS)),)
$(error ARCH=arm64: the goals are arm64 (the default), deps-arm64, kmod-arm64, selftests-arm64, stress-arm64, check-arm64, vm-run-arm64, vm-selftests-arm64, vm-shell-arm64, clean-arm64)
endif
.DEFAULT_GOAL := arm64
endif

.PHONY: arm64 build-arm64 arm64-have-deps deps-arm64 fetch-deps-arm64 \
	kmod-arm64 check-arm64 clean-arm64

# The check first, even under -j: a fresh tree gets its one line, not a
# compiler's errors.
arm64: arm64-have-deps
	+@$(MAKE) --no-print-directory build-arm64
build-arm64: $(ARM64_KO) $(ARM64_OUT)/lib/libvanity.so $(ARM64_LIBA) \
	selftests-arm64 stress-arm64-build

# ---------------------------------------------------------------- deps
# The packages (tools/deps.sh), then, in a new make that sees the amd64
# headers they may have brought (the ABI), the arm64 files, handed to the
# tree's owner when root fetched them for someone else.
deps-arm64:
	+@$(DEPS) --install arm64
	+@$(MAKE) --no-print-directory fetch-deps-arm64
fetch-deps-arm64:
	@test -n "$(ARM64_ABI)" || { echo "no amd64 kernel headers to take the ABI from: make deps, or ARM64_ABI=" >&2; exit 1; }
	tools/arm64/deps.sh $(ARM64_ABI) $(ARM64_VM)/debs $(ARM64_VM)/root
	@mkdir -p $(ARM64_OUT)
	@ln -sfn ../vm-arm64/root $(ARM64_ROOT)
	@ln -sfn ../vm-arm64/debs $(ARM64_OUT)/debs
	@$(DEPS) --give-back $(ARM64_VM) $(ARM64_OUT)

# What the arm64 build needs and cannot build: the cross compiler (Debian's,
# or the one CROSS_COMPILE names), then the arm64 headers and libraries
# deps-arm64 unpacks.
arm64-have-deps:
	@$(if $(filter aarch64-linux-gnu-,$(ARM64_CROSS)),$(DEPS) --check arm64, \
		command -v $(ARM64_CC) >/dev/null || \
		{ echo "no $(ARM64_CC) (CROSS_COMPILE=$(ARM64_CROSS))" >&2; exit 1; })
	@test -f $(ARM64_KDIR)/Makefile -a -d $(ARM64_ROOT)/usr/include/libnl3 \
		-a -f $(ARM64_ROOT)/usr/include/liburing.h || \
		{ echo "no arm64 kernel headers and libraries for $(ARM64_KVER) in" \
		"$(ARM64_ROOT): run 'make deps-arm64'" >&2; exit 1; }

# ---------------------------------------------------------------- module
# kbuild builds in M=, so the sources are copied (mtimes kept, so kbuild's
# own dependency tracking still works) to build/arm64/src first.
kmod-arm64: $(ARM64_KO)
$(ARM64_KO): $(ARM64_KMOD_SRCS) | arm64-have-deps
	@mkdir -p $(ARM64_SRC)
	cp -p --parents $(ARM64_KMOD_SRCS) $(ARM64_SRC)/
	$(MAKE) -C $(ARM64_KDIR) M=$(CURDIR)/$(ARM64_SRC) ARCH=arm64 \
		CROSS_COMPILE=$(ARM64_CROSS) W=1 modules
	cp $(ARM64_SRC)/kmod/vanity.ko $@

# ---------------------------------------------------------------- userspace
# Programs static, against the libnl and libinih archives of the arm64 -dev
# packages; libvanity also shared, as natively.
ARM64_LIBDIRS := $(ARM64_ROOT)/lib/aarch64-linux-gnu $(ARM64_ROOT)/usr/lib/aarch64-linux-gnu
ARM64_U_CPPFLAGS := $(CPPFLAGS) -I$(ARM64_ROOT)/usr/include/libnl3 \
	-idirafter $(ARM64_ROOT)/usr/include
ARM64_U_CFLAGS := -O2 -g -std=gnu11 $(WARN) -fPIC -pthread
ARM64_U_LIBS := $(addprefix -L,$(ARM64_LIBDIRS)) -lnl-genl-3 -lnl-3 -linih -lpthread -lm

a64obj = $(patsubst %.c,$(ARM64_OBJ)/%.o,$(1))
ARM64_CORE_OBJS := $(call a64obj,$(CORE_SRCS))
ARM64_LIB_OBJS := $(call a64obj,$(LIB_SRCS))

$(ARM64_OBJ)/%.o: %.c | arm64-have-deps
	@mkdir -p $(@D)
	$(ARM64_CC) $(ARM64_U_CPPFLAGS) $(ARM64_U_CFLAGS) -MMD -MP -c $< -o $@

$(ARM64_LIBA): $(ARM64_LIB_OBJS) $(ARM64_CORE_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && $(ARM64_CROSS)ar rcs $@ $^
$(ARM64_SO): $(ARM64_LIB_OBJS) $(ARM64_CORE_OBJS) lib/libvanity.map
	@mkdir -p $(@D)
	$(ARM64_CC) -shared -Wl,-soname,libvanity.so.$(LIB_SOVER) \
		-Wl,--version-script=lib/libvanity.map -Wl,-z,defs \
		-pthread -o $@ $(ARM64_LIB_OBJS) $(ARM64_CORE_OBJS)
$(ARM64_OUT)/lib/libvanity.so: $(ARM64_SO)
	ln -sf libvanity.so.$(LIB_VERSION) $(@D)/libvanity.so.$(LIB_SOVER)
	ln -sf libvanity.so.$(LIB_VERSION) $@

# ---------------------------------------------------------------- the VM
# The static programs, the guest's tree and the goals that boot it
# (selftests-arm64, vm-tree-arm64, vm-run-arm64, vm-selftests-arm64,
# vm-shell-arm64, check-vm-arm64): mk/guest.mk, from these.
ARM64_AR := $(ARM64_CROSS)ar
ARM64_U_DEPS := arm64-have-deps
ARM64_VM_ENV = VM_ARCH=arm64 KVER='$(ARM64_KVER)' VM_ARM64_ROOT='$(CURDIR)/$(ARM64_ROOT)' \
	VM_OUT='$(ARM64_VM_OUT)' VANITY_KO='$(CURDIR)/$(ARM64_TREE)/kmod/vanity.ko' \
	VM_MODULES='$(VM_ST_MODULES)' VM_ST_ENV='$(VM_ST_FEW_ROUNDS)'
$(eval $(call guest_vm,arm64,ARM64))

# The storage example's shard (mk/nvme.mk), static on the arm64 liburing
# deps-arm64 unpacks: storage_test drives the guest's NVMe controller
# behind the SMMU with it.
ARM64_STORAGE := $(ARM64_TREE)/examples/nvme/storage
$(ARM64_STORAGE): $(ARM64_OBJ)/examples/nvme/storage.o $(ARM64_OBJ)/examples/nvme/nvme.o 		$(ARM64_LIBA)
	@mkdir -p $(@D)
	$(ARM64_CC) -static -pthread -o $@ $^ $(addprefix -L,$(ARM64_LIBDIRS)) -luring
$(ARM64_OBJ)/examples/nvme/%.o: $(NVME_HDRS)
selftests-arm64: $(ARM64_STORAGE)

# The documented paths of the arm64 programs.
selftests-arm64: arm64-tree-links
.PHONY: arm64-tree-links
arm64-tree-links: | $(ARM64_ST_BINS)
	@mkdir -p $(ARM64_OUT)
	@ln -sfn ../vm-arm64/tree/build/tests/selftests $(ARM64_OUT)/selftests
	@ln -sfn ../vm-arm64/tree/tools $(ARM64_OUT)/tools
	@ln -sfn ../vm-arm64/tree/examples $(ARM64_OUT)/examples

# The arm64 verdict, also part of `make check`: the selftests in one arm64
# boot, last line "N passed, N failed" as tools/check.sh prints.
check-arm64: check-vm-arm64

clean-arm64:
	rm -rf $(ARM64_OUT)/src $(ARM64_OUT)/obj $(ARM64_KO) $(ARM64_OUT)/*.a \
		$(ARM64_OUT)/lib $(ARM64_TREE) $(ARM64_OUT)/selftests \
		$(ARM64_OUT)/tools $(ARM64_OUT)/examples
