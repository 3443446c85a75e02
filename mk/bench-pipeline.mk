# SPDX-License-Identifier: GPL-2.0
# `make bench-pipeline`: the packet pipeline of examples/pipeline built three
# ways in one run on the same CPUs (the shard programs over Vanity channels
# under `vanityctl run`; the same stage code as threads over DPDK rte_rings;
# and over pipes), at full speed and at one fixed rate, each build three
# times taking turns (the median shown), with Mpps, latency percentiles,
# ratios and one `target ...: met|missed` line per goal. A benchmark, not a
# test (not part of `make check`). About a minute.
# Knobs: BENCH_PIPELINE_SECS (2 s of traffic per run), BENCH_PIPELINE_REPS
# (3 runs per build and mode), BENCH_PIPELINE_RATE
# (frames/s of the fixed-rate runs; default a quarter of the slowest build's full
# speed), BENCH_PIPELINE_CPUS (a,b), BENCH_PIPELINE_BURST (32),
# BENCH_PIPELINE_WARMUP_MS (200), BENCH_PIPELINE_BACKEND (module|hosted).
# Needs Debian's dpdk-dev (`make bench-deps`).

BP_SRCS := $(sort $(wildcard tests/bench/pipeline/*.c))
BP_OBJS := $(call obj,$(BP_SRCS))
BP_BIN := $(BUILD)/tests/bench/pipeline/bench-pipeline
BP_KNOBS := BENCH_PIPELINE_SECS BENCH_PIPELINE_REPS BENCH_PIPELINE_RATE BENCH_PIPELINE_CPUS \
	BENCH_PIPELINE_BURST BENCH_PIPELINE_WARMUP_MS BENCH_PIPELINE_BACKEND

# Evaluated only when the bench is built, not on every make.
BP_DPDK_CFLAGS = $(shell $(PKG_CONFIG) --cflags libdpdk 2>/dev/null)
BP_DPDK_LIBS = $(shell $(PKG_CONFIG) --libs libdpdk 2>/dev/null)

# The stage code is the examples' own (header only); only the rte_ring
# port sees DPDK's flags.
$(BP_OBJS): CPPFLAGS += -Iexamples/pipeline
$(BUILD)/tests/bench/pipeline/ring.o: CFLAGS += $(BP_DPDK_CFLAGS)
$(BP_OBJS): | bench-pipeline-have-deps

.PHONY: bench-pipeline bench-pipeline-build bench-pipeline-have-deps
bench-pipeline-have-deps:
	@$(DEPS) --check bench

bench-pipeline-build: $(BP_BIN)
$(BP_BIN): $(BP_OBJS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(BP_OBJS) $(BP_DPDK_LIBS)

# The Vanity build runs the example programs through vanityctl.
bench-pipeline: $(BP_BIN) tools/vanityctl $(PIPELINE_BINS)
	$(foreach k,$(BP_KNOBS),$(if $($(k)),$(k)='$($(k))')) $(BP_BIN)
