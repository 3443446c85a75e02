# SPDX-License-Identifier: GPL-2.0
# `make bench-ring`: NOPs through Vanity's submission ring (ENTER and
# SQPOLL) against io_uring NOPs (liburing, with and without SQPOLL) on the
# same guest kernel, throughput and latency at batches 1, 8, 32, 128, with
# the ratios and one `target ...: met|missed` line per goal. A benchmark,
# not a test: nothing fails on a missed target. It must run inside the
# test VM (the host cannot load modules), so the target builds the binary
# and boots one VM (tools/vm/run.sh) that runs it; the table is printed
# from the VM's cmd.log at the end. About 2 minutes under TCG.
# Knobs: RING_BENCH_SECS (0.15 s per cell run), RING_BENCH_REPS (7),
# RING_BENCH_VM_OUT (build/vm-bench-ring); RING_BENCH_ONLY=path/mode/batch
# (e.g. vanity-sqpoll/latency/1) measures that cell alone and prints each
# repetition instead of the table. Needs liburing-dev.

RING_BENCH_SRCS := $(sort $(wildcard tests/bench/ring/*.c))
RING_BENCH_OBJS := $(call obj,$(RING_BENCH_SRCS))
RING_BENCH_BIN := $(BUILD)/tests/bench/ring/bench-ring
RING_BENCH_SECS ?= 0.15
RING_BENCH_REPS ?= 7
RING_BENCH_VM_OUT ?= $(BUILD)/vm-bench-ring
RING_BENCH_URING_LIBS = $(shell $(PKG_CONFIG) --libs liburing 2>/dev/null || echo -luring)

.PHONY: bench-ring bench-ring-build
bench-ring-build: $(RING_BENCH_BIN)

# libvanity statically, as the selftests do: the VM needs no library path.
$(RING_BENCH_BIN): $(RING_BENCH_OBJS) $(BUILD)/libvanityctl.a lib/libvanity.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(RING_BENCH_OBJS) $(BUILD)/libvanityctl.a \
		lib/libvanity.a $(NL_LIBS) $(RING_BENCH_URING_LIBS)

bench-ring: $(RING_BENCH_BIN) kmod/vanity.ko
	@mkdir -p $(RING_BENCH_VM_OUT)
	VM_OUT=$(RING_BENCH_VM_OUT) VM_PCI=0 VM_TIMEOUT=600 $(VM_ENV) \
		tools/vm/run.sh 'RING_BENCH_SECS=$(RING_BENCH_SECS)' \
		'RING_BENCH_REPS=$(RING_BENCH_REPS)' \
		'RING_BENCH_ONLY=$(RING_BENCH_ONLY)' $(RING_BENCH_BIN) \
		>$(RING_BENCH_VM_OUT)/run.out 2>&1 || \
		{ rc=$$?; tail -40 $(RING_BENCH_VM_OUT)/run.out; exit $$rc; }
	@grep -v '^bench-ring: rep ' $(RING_BENCH_VM_OUT)/cmd.log
