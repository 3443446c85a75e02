# SPDX-License-Identifier: GPL-2.0
# `make bench-irq`: a passed device's interrupt to the program waiting for
# it, Vanity's IRQ_WAIT (a shard spinning on its CQ, and one asleep in
# ENTER) against vfio-pci's MSI eventfd read by a blocked thread, on QEMU's
# edu in the same boot (tests/bench/irq/irq_bench.c). p50/p99, the ratios,
# one `target ...: met|missed` line per goal. A benchmark, not a test: it
# fails only when it cannot measure. It runs in the test VM (q35 with
# intel-iommu, the stock vfio-pci modules loaded), about a minute under
# TCG. Knobs: BENCH_IRQ_ROUNDS (3), BENCH_IRQ_SAMPLES (1000 per path and
# round), BENCH_IRQ_GAP_US (1000), BENCH_IRQ_VM_OUT (build/vm-bench-irq);
# VM_KROOT/VANITY_KO/VM_ARCH as for tools/vm/run.sh to use another kernel.

IRQ_BENCH_SRCS := $(sort $(wildcard tests/bench/irq/*.c))
IRQ_BENCH_OBJS := $(call obj,$(IRQ_BENCH_SRCS))
IRQ_BENCH_BIN := $(BUILD)/tests/bench/irq/bench-irq
BENCH_IRQ_ROUNDS ?= 3
BENCH_IRQ_SAMPLES ?= 1000
BENCH_IRQ_GAP_US ?= 1000
BENCH_IRQ_VM_OUT ?= $(BUILD)/vm-bench-irq

.PHONY: bench-irq bench-irq-build
bench-irq-build: $(IRQ_BENCH_BIN)
# Built with the tests (it needs nothing `make check` does not): a change
# that breaks it fails the build, not the next benchmark run.
tests: bench-irq-build

# libvanity statically, as the selftests do: the VM needs no library path.
$(IRQ_BENCH_BIN): $(IRQ_BENCH_OBJS) lib/libvanity.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -pthread -o $@ $(IRQ_BENCH_OBJS) lib/libvanity.a

bench-irq: $(IRQ_BENCH_BIN) kmod/vanity.ko tools/vanityctl
	@mkdir -p $(BENCH_IRQ_VM_OUT)
	VM_OUT=$(BENCH_IRQ_VM_OUT) VM_MODULES=vfio-pci VM_TIMEOUT=900 $(VM_ENV) \
		tools/vm/run.sh 'BENCH_IRQ_ROUNDS=$(BENCH_IRQ_ROUNDS)' \
		'BENCH_IRQ_SAMPLES=$(BENCH_IRQ_SAMPLES)' \
		'BENCH_IRQ_GAP_US=$(BENCH_IRQ_GAP_US)' $(IRQ_BENCH_BIN) \
		>$(BENCH_IRQ_VM_OUT)/run.out 2>&1 || \
		{ rc=$$?; tail -40 $(BENCH_IRQ_VM_OUT)/run.out; exit $$rc; }
	@grep -v '^bench-irq: round ' $(BENCH_IRQ_VM_OUT)/cmd.log
