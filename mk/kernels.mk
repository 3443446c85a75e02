# SPDX-License-Identifier: GPL-2.0
# The module against each stock kernel it supports, from one source (issue
# 15; the API differences live in kmod/compat.h): Debian 12's 6.1 for amd64
# and arm64, Debian 13's 6.12 for amd64, arm64 and riscv64, each with the
# compiler its kernel was built with (gcc-12, gcc-14).
#
#   make deps-trixie      Debian 13's 6.12 headers (amd64, arm64, riscv64),
#                         its kbuild, gcc-14 for the three, binutils, pahole,
#                         and the amd64 and riscv64 kernel images, unpacked
#                         (nothing installed) into build/vm-trixie/root
#                         (tools/trixie/deps.sh; build/trixie/root and
#                         build/trixie/debs link there); `make deps` runs it
#   make kmod-K-ARCH      one build, W=1, in build/kernels/K-ARCH/ from a
#                         copy of the sources there (neither kbuild has MO=):
#                         build/kernels/K-ARCH/vanity.ko and build.log, for
#                         K-ARCH one of 6.1-amd64, 6.1-arm64, 6.12-amd64,
#                         6.12-arm64, 6.12-riscv64
#   make kmod-6.12        the three 6.12 builds
#   make kmod-kernels     all five; tests/build/kernels_test.sh (in `make
#                         check`) runs each afresh, one line each
#
# Any warning fails a build, the compiler's (W=1) and modpost's alike, and
# takes its objects with it, so that the next build compiles everything
# again and shows it again: an up-to-date build is as strict as a fresh one.
# Each goal always runs kbuild, which rebuilds what changed (the sources,
# the headers, the command line) and runs modpost. The 6.1 builds use
# Debian's headers, the newest installed linux-headers-*-amd64 (what `make
# kmod` uses unless the running kernel has its own) and mk/arm64.mk's
# arm64 ones, with the host's gcc-12;
# the 6.12 ones find gcc-14 through PATH, the headers naming it themselves.
# Large parts live under build/vm-trixie/ for the reason mk/arm64.mk gives
# (the x86_64 guest leaves build/vm-* out); the VM runner leaves
# build/kernels/ out too.

TRIXIE_VM := $(BUILD)/vm-trixie
TRIXIE_OUT := $(BUILD)/trixie
TRIXIE_ROOT := $(CURDIR)/$(TRIXIE_VM)/root
# One ABI in the root (tools/trixie/deps.sh unpacks a new root for a new one).
trixie_kdir = $(firstword $(wildcard $(TRIXIE_ROOT)/usr/src/linux-headers-*-$(1)))

KERNELS_612 := 6.12-amd64 6.12-arm64 6.12-riscv64
KERNELS := 6.1-amd64 6.1-arm64 $(KERNELS_612)
KERNELS_OUT := $(BUILD)/kernels
KERNELS_SRCS = $(filter-out %.mod.c,$(KMOD_SRCS))

# Per build: its headers (KB_KDIR_), what goes first in PATH (KB_PATH_),
# what kbuild is told besides (KB_ARGS_).
KB_KDIR_6.1-amd64 = $(NEWEST_KDIR)
KB_KDIR_6.1-arm64 = $(ARM64_KDIR)
KB_ARGS_6.1-arm64 = ARCH=arm64 CROSS_COMPILE=$(ARM64_CROSS)
$(foreach a,amd64 arm64 riscv64, \
	$(eval KB_KDIR_6.12-$(a) = $$(call trixie_kdir,$(a))) \
	$(eval KB_PATH_6.12-$(a) = $(TRIXIE_ROOT)/usr/bin:))

.PHONY: deps-trixie trixie-have-deps kmod-kernels kmod-6.12 \
	$(addprefix kmod-,$(KERNELS)) $(addprefix kernels-have-deps-,$(KERNELS)) \
	clean-kernels

# ---------------------------------------------------------------- deps
deps-trixie:
	+@$(DEPS) --install trixie
	tools/trixie/deps.sh $(TRIXIE_VM)
	@mkdir -p $(TRIXIE_OUT)
	@ln -sfn ../vm-trixie/root $(TRIXIE_OUT)/root
	@ln -sfn ../vm-trixie/debs $(TRIXIE_OUT)/debs
	@$(DEPS) --give-back $(TRIXIE_VM) $(TRIXIE_OUT)

trixie-have-deps:
	@test -f $(TRIXIE_ROOT)/.vanity-deps -a -n "$(call trixie_kdir,amd64)" -a \
		-n "$(call trixie_kdir,arm64)" -a -n "$(call trixie_kdir,riscv64)" || \
		{ echo "no Debian 13 kernel headers and toolchain in $(TRIXIE_VM)/root:" \
		"run 'make deps-trixie'" >&2; exit 1; }

kernels-have-deps-6.1-amd64:
	@test -n "$(NEWEST_KDIR)" -a -f "$(NEWEST_KDIR)/Makefile" || \
		{ echo "no linux-headers-*-$(HOST_DEBARCH) in /usr/src: run 'make deps'" >&2; exit 1; }
kernels-have-deps-6.1-arm64: arm64-have-deps
$(addprefix kernels-have-deps-,$(KERNELS_612)): trixie-have-deps

# ---------------------------------------------------------------- builds
kmod-kernels: $(addprefix kmod-,$(KERNELS))
kmod-6.12: $(addprefix kmod-,$(KERNELS_612))

# The kbuild line runs under `make -n` too (it names $(MAKE)), kbuild then
# only listing its commands (into the folder the + line makes); so it only
# records kbuild's status, and the next line, which `make -n` does not run,
# judges.
$(addprefix kmod-,$(KERNELS)): kmod-%: kernels-have-deps-%
	+@mkdir -p $(KERNELS_OUT)/$*/src
	@cp -p --parents $(KERNELS_SRCS) $(KERNELS_OUT)/$*/src/
	@o=$(KERNELS_OUT)/$*; rc=0; set -o pipefail; \
	PATH='$(KB_PATH_$*)'"$$PATH" $(MAKE) -C $(KB_KDIR_$*) M=$(CURDIR)/$$o/src \
		W=1 $(KB_ARGS_$*) modules 2>&1 | tee $$o/build.log.new || rc=$$?; \
	echo $$rc >$$o/build.rc
	@o=$(KERNELS_OUT)/$*; mv -f $$o/build.log.new $$o/build.log; \
	rc=$$(cat $$o/build.rc); n=$$(grep -ci 'warning:' $$o/build.log); \
	if [ "$$rc" != 0 ] || [ "$$n" != 0 ]; then \
		rm -rf $$o/src $$o/vanity.ko; \
		echo "kmod-$*: FAIL: kbuild exit $$rc, $$n warning(s) ($$o/build.log);" \
			"objects removed" >&2; \
		exit 1; \
	fi
	@cp $(KERNELS_OUT)/$*/src/kmod/vanity.ko $(KERNELS_OUT)/$*/vanity.ko

clean-kernels:
	rm -rf $(KERNELS_OUT)
