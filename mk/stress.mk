# SPDX-License-Identifier: GPL-2.0
# Hosted stress of the channel protocol: a producer and a consumer process
# on one shared region, no module (tests/stress/). Natively and, cross
# compiled, on aarch64 under qemu user-mode emulation (riscv64: the same
# passes, make stress-riscv64 in mk/riscv64.mk).
#
#   make stress-build    native binaries
#   make stress          the native run behind `make check` (1-2 minutes)
#   make stress-full     100 million messages per slot size where a pass
#                        can afford it, millions of doorbell sleeps
#   make stress-inject   each deliberate fault must be caught
#   make stress-arm64    aarch64 build run under qemu-aarch64, reduced
#                        counts, after stress-arm64-orders: the fast path's
#                        acquire/release/fence instructions, read from the
#                        aarch64 object (what emulation cannot show)
#
# Every pass prints one line "chan_stress: ok ..." or "chan_stress: FAIL
# ..." with the header's sleep and wakeup counters (why it failed, and all
# counters, follow a FAIL); a run exits non-zero when a pass failed.
# e.g. make stress STRESS_ARGS='--seed 1234' repeats a run's random choices.

STRESS_DIR := $(BUILD)/tests/stress
STRESS_BIN := $(STRESS_DIR)/chan_stress
STRESS_SRCS := tests/stress/chan_stress.c tests/stress/hosted_bell.c
# The library's channel code and the core's region geometry, as objects:
# no libvanity.so, no libnl.
STRESS_UNDER_TEST := lib/channel.c lib/hosted.c lib/hosted_ring.c lib/bell_futex.c kmod/core/chan.c
STRESS_ARGS ?=

# The passes, for command $(1) and the messages per slot size in the
# variables $(2)_SPIN etc.: copy/zero-copy mix without doorbell, the same
# across the 2^32 wrap, blocking calls with a 500 ns spin budget (on a
# 256-slot ring, then a 64-slot one across the wrap), sleepy (spin budget
# 0, random delays, wakeup probes) on 64 slots, and across the wrap, and
# sleepy on a two-slot ring, where nearly every call sleeps.
define stress_passes
	$(1) --messages $($(2)_SPIN)
	$(1) --messages $($(2)_WRAP) --start wrap
	$(1) --messages $($(2)_BLOCKING) --blocking
	$(1) --messages $($(2)_BLOCKING_SMALL) --blocking --slots 64 --start wrap
	$(1) --messages $($(2)_SLEEPY) --sleepy --slots 64
	$(1) --messages $($(2)_SLEEPY) --sleepy --slots 64 --start wrap
	$(1) --messages $($(2)_TINY) --sleepy --slots 2 --max-burst 4 --sizes $($(2)_TINY_SIZES)
endef

# `make stress` (and so `make check`). Slot sizes 8, 64 and 256 in each
# pass but the last. The copy/zero-copy mix moves 100 M per size in 10-30
# seconds here; the doorbell modes pay a membarrier and a futex per sleep.
STRESS_SPIN ?= 100000000
STRESS_WRAP ?= 20000000
STRESS_BLOCKING ?= 20000000
STRESS_BLOCKING_SMALL ?= 3000000
STRESS_SLEEPY ?= 1000000
STRESS_TINY ?= 1000000
STRESS_TINY_SIZES ?= 64
# `make stress-full`: several minutes; the two-slot sleepy pass alone makes
# about 3 million doorbell waits (sleeps) per slot size.
STRESS_FULL_SPIN ?= 100000000
STRESS_FULL_WRAP ?= 100000000
STRESS_FULL_BLOCKING ?= 100000000
STRESS_FULL_BLOCKING_SMALL ?= 20000000
STRESS_FULL_SLEEPY ?= 5000000
STRESS_FULL_TINY ?= 5000000
STRESS_FULL_TINY_SIZES ?= 8,64,256

.PHONY: stress-build stress stress-full stress-inject \
	stress-arm64-build stress-arm64-orders stress-arm64

stress-build: $(STRESS_BIN)

$(STRESS_BIN): $(call obj,$(STRESS_SRCS) $(STRESS_UNDER_TEST))
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^

stress: $(STRESS_BIN)
	$(call stress_passes,$(STRESS_BIN) --quiet $(STRESS_ARGS),STRESS)

stress-full: $(STRESS_BIN)
	$(call stress_passes,$(STRESS_BIN) --quiet $(STRESS_ARGS),STRESS_FULL)

# The checker must catch each fault (exit 1 with a FAIL for each size).
STRESS_INJECT := byte@4242 tear@777 skip@100000 dup@100000 swap@31
stress-inject: $(STRESS_BIN)
	@for f in $(STRESS_INJECT); do \
		echo "stress-inject: $$f"; \
		if $(STRESS_BIN) --quiet --messages 200000 --inject $$f \
				--sizes 8,256 >$(STRESS_DIR)/inject.log 2>&1 || \
		   [ $$? != 1 ]; then \
			cat $(STRESS_DIR)/inject.log; \
			echo "stress-inject: '$$f' was not caught" >&2; exit 1; \
		fi; \
		grep -c 'chan_stress: FAIL' $(STRESS_DIR)/inject.log | \
			grep -qx 2 || { cat $(STRESS_DIR)/inject.log; exit 1; }; \
	done
	@for m in --blocking --sleepy; do \
		echo "stress-inject: nowake@100 $$m"; \
		if $(STRESS_BIN) --quiet --messages 200000 --inject nowake@100 \
				--sizes 64 --slots 64 $$m \
				>$(STRESS_DIR)/inject.log 2>&1 || [ $$? != 1 ]; then \
			cat $(STRESS_DIR)/inject.log; \
			echo "stress-inject: dropped doorbells ($$m) not caught" >&2; \
			exit 1; \
		fi; \
		grep -q 'lost wakeup' $(STRESS_DIR)/inject.log || \
			{ cat $(STRESS_DIR)/inject.log; exit 1; }; \
	done
	@echo "stress-inject: every fault was caught"

# ---------------------------------------------------------------- aarch64
# Static, so qemu-aarch64 needs no sysroot. Debian: gcc-aarch64-linux-gnu
# libc6-dev-arm64-cross qemu-user. qemu's TCG runs the guest's loads and
# stores with x86's ordering, so the run proves the code builds and works
# on arm64, not that its memory orders are enough for arm64 hardware:
# stress-arm64-orders checks the instructions they became instead.
# ARM64_CC and ARM64_OBJDUMP: mk/arm64.mk (CROSS_COMPILE with ARCH=arm64).
ARM64_RUN ?= qemu-aarch64
ARM64_BUILD := $(BUILD)/arm64
ARM64_CPPFLAGS := -Iinclude/uapi -Ikmod/core -Ilib/include -Itools/sim -D_GNU_SOURCE
ARM64_CFLAGS := -O2 -g -std=gnu11 $(WARN) -pthread
ARM64_STRESS_BIN := $(ARM64_BUILD)/tests/stress/chan_stress
ARM64_ORDERS_OBJ := $(ARM64_BUILD)/tests/stress/orders.o
# Emulated: fewer messages, and a longer stuck timeout.
ARM64_SPIN ?= 5000000
ARM64_WRAP ?= 5000000
ARM64_BLOCKING ?= 5000000
ARM64_BLOCKING_SMALL ?= 1000000
ARM64_SLEEPY ?= 1000000
ARM64_TINY ?= 500000
ARM64_TINY_SIZES ?= 64

$(ARM64_BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(ARM64_CC) $(ARM64_CPPFLAGS) $(ARM64_CFLAGS) -MMD -MP -c $< -o $@

$(ARM64_STRESS_BIN): $(patsubst %.c,$(ARM64_BUILD)/%.o,$(STRESS_SRCS) \
		$(STRESS_UNDER_TEST))
	@mkdir -p $(@D)
	$(ARM64_CC) -static -pthread -o $@ $^

stress-arm64-build: $(ARM64_STRESS_BIN) $(ARM64_ORDERS_OBJ)

stress-arm64-orders: $(ARM64_ORDERS_OBJ) $(ARM64_BUILD)/lib/channel.o
	tests/stress/check_orders.sh $(ARM64_OBJDUMP) $^

stress-arm64: $(ARM64_STRESS_BIN) stress-arm64-orders
	@command -v $(ARM64_RUN) >/dev/null || \
		{ echo "no $(ARM64_RUN): apt-get install qemu-user" >&2; exit 1; }
	$(call stress_passes,$(ARM64_RUN) $(ARM64_STRESS_BIN) --quiet --stuck-ms 5000 $(STRESS_ARGS),ARM64)
