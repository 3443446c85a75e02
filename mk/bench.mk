# SPDX-License-Identifier: GPL-2.0
# Benchmarks (not tests: nothing here asserts on time). `make bench-channels`
# builds and runs the channel benchmark: Vanity channels against DPDK
# rte_ring, io_uring msg_ring, a pipe and eventfd + shared memory, plus the
# cache-line ping-pong floor, all in one run on CPUs 0 and 1, ending with
# one verdict line per target. BENCH_QUICK=1 runs it in about 20 s;
# BENCH_EXP=1 adds the experimental protocol variants (tests/bench/exp*.c).
# Needs Debian's dpdk-dev and liburing-dev (`make bench-deps`).

BENCH_SRCS := $(sort $(wildcard tests/bench/*.c))
BENCH_OBJS := $(call obj,$(BENCH_SRCS))
BENCH_BIN := $(BUILD)/tests/bench/bench-channels
# The channel code of libvanity (what lib/libvanity.a would contribute to
# this link), named directly so that a broken unrelated file of the
# library does not stop the benchmark.
BENCH_LIB_OBJS := $(call obj,lib/channel.c lib/hosted.c lib/hosted_ring.c lib/bell_futex.c kmod/core/chan.c)
BENCH_QUICK ?=
BENCH_EXP ?=
BENCH_REPS ?=

# Evaluated only when the bench is built, not on every make.
DPDK_CFLAGS = $(shell $(PKG_CONFIG) --cflags libdpdk 2>/dev/null)
DPDK_LIBS = $(shell $(PKG_CONFIG) --libs libdpdk 2>/dev/null)
URING_LIBS = $(shell $(PKG_CONFIG) --libs liburing 2>/dev/null || echo -luring)

# Only the rte_ring peer sees DPDK's flags (its -march and rte_config.h);
# the Vanity fast path is compiled with the project's flags, as users get.
$(BUILD)/tests/bench/dpdk.o: CFLAGS += $(DPDK_CFLAGS)

.PHONY: bench-build bench-channels bench-deps bench-have-deps
bench-build: $(BENCH_BIN)

bench-have-deps:
	@$(DEPS) --check bench

$(BENCH_OBJS): | bench-have-deps

$(BENCH_BIN): $(BENCH_OBJS) $(BENCH_LIB_OBJS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(BENCH_OBJS) $(BENCH_LIB_OBJS) $(DPDK_LIBS) \
		$(URING_LIBS)

bench-channels: $(BENCH_BIN)
	BENCH_QUICK=$(BENCH_QUICK) BENCH_EXP=$(BENCH_EXP) \
		BENCH_REPS=$(BENCH_REPS) $(BENCH_BIN)

bench-deps:
	+@$(DEPS) --install bench
