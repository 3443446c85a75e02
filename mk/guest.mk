# SPDX-License-Identifier: GPL-2.0
# The guest of a cross-architecture test VM, written once for arm64
# (mk/arm64.mk: Debian 12's 6.1) and riscv64 (mk/riscv64.mk: Debian 13's
# 6.12): the selftests, test shards, vanityctl and examples built static
# for the guest, laid out at the paths the selftests use in a small tree of
# the guest's own (it cannot run the host's programs), and the goals that
# boot it. The runner is the x86_64 one (tools/vm/, VM_ARCH=NAME).
#
# Each architecture's file sets its inputs, then
#   $(eval $(call guest_vm,NAME,P))
# where P is the prefix of those inputs:
#   P_CC, P_AR        the cross compiler and archiver
#   P_OBJ             the objects' folder: P_OBJ/DIR/FILE.o from DIR/FILE.c,
#                     by the architecture's own pattern rule (the library,
#                     the core, vanityctl, the examples, the shards)
#   P_U_CPPFLAGS      the selftests' preprocessor flags (the libnl and
#                     libinih headers for the guest)
#   P_U_CFLAGS        their compiler flags
#   P_U_LIBS          what static programs link besides (-lnl-3 ...)
#   P_U_DEPS          what the selftests' objects wait for (headers)
#   P_LIBA            the static libvanity
#   P_KO              the module for the guest's kernel
#   P_TREE            the guest's tree (build/vm-NAME/tree)
#   P_VM_ENV          the environment of tools/vm/run.sh (VM_ARCH, VM_OUT,
#                     VANITY_KO=P_TREE/kmod/vanity.ko, ...)
#   P_VM_OUT          the runner's output folder
#   P_ST_OMIT         selftests left out of this guest (the reason is the
#                     architecture file's to say)
# and gets:
#   P_ST_DIR, P_ST_BINS, P_SHARD_BINS
#   selftests-NAME    the static programs, in P_TREE
#   vm-tree-NAME      the whole guest tree: the programs, tools/vm/ (copied
#                     each time, so that edits reach it), the module at
#                     kmod/vanity.ko, the example manifests
#   vm-run-NAME CMD=  boot, insmod, run CMD in the tree
#   vm-selftests-NAME every selftest in one boot; counts in
#                     P_VM_OUT/selftests.counts
#   vm-shell-NAME     an interactive shell in the guest (Ctrl-A x quits)
#   check-vm-NAME     vm-selftests-NAME ending "N passed, N failed", as
#                     tools/check.sh reads it

# Data files the tests and examples read by relative path.
GUEST_TREE_DATA = $(wildcard examples/*/*.ini)

define guest_vm
$(2)_ST_DIR := $$($(2)_TREE)/build/tests/selftests
$(2)_ST_BINS := $$(patsubst tests/selftests/%.c,$$($(2)_ST_DIR)/%, \
	$$(filter-out $$(addprefix tests/selftests/,$$(addsuffix .c,$$($(2)_ST_OMIT))),$$(ST_SRCS)))
$(2)_SHARD_BINS := $$(patsubst tests/shards/%.c,$$($(2)_TREE)/build/tests/shards/%,$$(SHARD_SRCS))
$(2)_CTL_LIB := $$($(2)_OBJ)/libvanityctl.a

$$($(2)_OBJ)/tests/selftests/%.o: tests/selftests/%.c $$(KSFT_HDR) | $$($(2)_U_DEPS)
	@mkdir -p $$(@D)
	$$($(2)_CC) $$($(2)_U_CPPFLAGS) $$(ST_CPPFLAGS) $$($(2)_U_CFLAGS) -MMD -MP -c $$< -o $$@

$$($(2)_CTL_LIB): $$(patsubst %.c,$$($(2)_OBJ)/%.o,$$(CTL_SRCS) $$(CORE_SRCS))
	rm -f $$@ && $$($(2)_AR) rcs $$@ $$^

# Objects before archives: a binary's extra objects (below) come last in $$^.
$$($(2)_ST_DIR)/%: $$($(2)_OBJ)/tests/selftests/%.o $$($(2)_OBJ)/tests/selftests/common.o \
		$$($(2)_CTL_LIB) $$($(2)_LIBA)
	@mkdir -p $$(@D)
	$$($(2)_CC) -static -pthread -o $$@ $$(filter %.o,$$^) $$(filter %.a,$$^) $$($(2)_U_LIBS)
$$(addprefix $$($(2)_ST_DIR)/,$$(ST_RING_TESTS)): $$($(2)_OBJ)/tests/selftests/ring_backend.o

$$($(2)_TREE)/tools/vanityctl: $$($(2)_OBJ)/$$(CTL_MAIN:.c=.o) $$($(2)_CTL_LIB)
	@mkdir -p $$(@D)
	$$($(2)_CC) -static -pthread -o $$@ $$^ $$($(2)_U_LIBS)

$$($(2)_TREE)/examples/%: $$($(2)_OBJ)/examples/%.o $$($(2)_LIBA)
	@mkdir -p $$(@D)
	$$($(2)_CC) -static -pthread -o $$@ $$^

$$($(2)_TREE)/build/tests/shards/%: $$($(2)_OBJ)/tests/shards/%.o $$($(2)_LIBA)
	@mkdir -p $$(@D)
	$$($(2)_CC) -static -pthread -o $$@ $$^

.PHONY: selftests-$(1) vm-tree-$(1) vm-run-$(1) vm-selftests-$(1) vm-shell-$(1) check-vm-$(1)
selftests-$(1): $$($(2)_ST_BINS) $$($(2)_SHARD_BINS) $$($(2)_TREE)/tools/vanityctl \
	$$(addprefix $$($(2)_TREE)/,$$(EXAMPLES))

vm-tree-$(1): $$($(2)_KO) selftests-$(1)
	@mkdir -p $$($(2)_TREE)/tools $$($(2)_TREE)/kmod
	@rm -rf $$($(2)_TREE)/tools/vm && cp -pr tools/vm $$($(2)_TREE)/tools/vm
	cp -p $$($(2)_KO) $$($(2)_TREE)/kmod/vanity.ko
	$$(if $$(GUEST_TREE_DATA),cp -p --parents $$(GUEST_TREE_DATA) $$($(2)_TREE)/)

vm-run-$(1): export VM_CMD = $$(value CMD)
vm-run-$(1): vm-tree-$(1)
	@test -n "$$$$VM_CMD" || { echo "usage: make vm-run-$(1) CMD='command'" >&2; exit 2; }
	$$($(2)_VM_ENV) $$($(2)_TREE)/tools/vm/run.sh

vm-selftests-$(1): vm-tree-$(1)
	$$($(2)_VM_ENV) VM_ST_EXPECT='$$(notdir $$($(2)_ST_BINS))' \
		$$($(2)_TREE)/tools/vm/selftests.sh $$($(2)_ST_DIR)

vm-shell-$(1): vm-tree-$(1)
	$$($(2)_VM_ENV) VM_INTERACTIVE=1 $$($(2)_TREE)/tools/vm/run.sh sh

check-vm-$(1):
	@rc=0; $$(MAKE) --no-print-directory vm-selftests-$(1) || rc=$$$$?; \
	c=$$($(2)_VM_OUT)/selftests.counts; \
	p=$$$$(sed -n 's/.*passed=\([0-9]*\).*/\1/p' $$$$c 2>/dev/null); \
	f=$$$$(sed -n 's/.*failed=\([0-9]*\).*/\1/p' $$$$c 2>/dev/null); \
	p=$$$${p:-0}; f=$$$${f:-1}; \
	if [ $$$$rc != 0 ] && [ $$$$f = 0 ]; then f=1; fi; \
	echo "$$$$p passed, $$$$f failed"; [ $$$$f = 0 ]
endef
