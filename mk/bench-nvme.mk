# SPDX-License-Identifier: GPL-2.0
# `make bench-nvme`: 4 KiB random reads (QD1, QD32) and writes (QD1) on
# QEMU's NVMe controller in the test VM, Vanity's polled driver (called
# directly by one shard, and through the storage shard over channels)
# against io_uring on the kernel's nvme driver (IOPOLL on a poll queue,
# and interrupt-driven) and pread (tests/bench/nvme/nvme_bench.c). The VM
# gets two more controllers like the first (same model, a fresh 64 MiB
# file each): the kernel keeps the first, the direct shard and the storage
# shard take one each; the paths run interleaved in rounds. IOPS,
# p50/p99/p99.9, ratios, `target ...: met|missed` lines and where the time
# goes (with the host's yardstick, so that TCG's slowdown of guest code is
# a measured factor). A benchmark, not a test: it fails only when it
# cannot measure. Knobs: BENCH_NVME_OPS (3000 per path at QD1),
# BENCH_NVME_OPS32 (10000), BENCH_NVME_ROUNDS (5), BENCH_NVME_WARMUP (50
# per round), BENCH_NVME_CLIENT_SLEEPS (0; 1: the storage shard's client
# sleeps on its doorbell), BENCH_NVME_VM_OUT (build/vm-bench-nvme);
# VM_KROOT/VANITY_KO as for tools/vm/run.sh to use another kernel.

NVME_BENCH_OBJ := $(BUILD)/tests/bench/nvme/nvme_bench.o
NVME_BENCH_BIN := $(BUILD)/tests/bench/nvme/bench-nvme
BENCH_NVME_OPS ?= 3000
BENCH_NVME_OPS32 ?= 10000
BENCH_NVME_ROUNDS ?= 5
BENCH_NVME_WARMUP ?= 50
BENCH_NVME_CLIENT_SLEEPS ?= 0
BENCH_NVME_VM_OUT ?= $(BUILD)/vm-bench-nvme

.PHONY: bench-nvme bench-nvme-build
bench-nvme-build: $(NVME_BENCH_BIN)
# Built with the tests, so that a change that breaks it fails the build.
tests: bench-nvme-build

$(NVME_BENCH_OBJ): CPPFLAGS += -Iexamples/nvme
$(NVME_BENCH_OBJ): $(NVME_HDRS)

# libvanity statically, as the selftests do; liburing as the storage shard.
$(NVME_BENCH_BIN): $(NVME_BENCH_OBJ) $(BUILD)/$(NVME_DIR)/nvme.o lib/libvanity.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) lib/libvanity.a $(NVME_URING_LIBS)

bench-nvme: $(NVME_BENCH_BIN) kmod/vanity.ko tools/vanityctl $(NVME_STORAGE)
	@mkdir -p $(BENCH_NVME_VM_OUT)
	for i in 1 2; do rm -f $(BENCH_NVME_VM_OUT)/nvme$$i.img && \
		truncate -s 64M $(BENCH_NVME_VM_OUT)/nvme$$i.img || exit 1; done
	host=$$($(NVME_BENCH_BIN) --yardstick) && \
	VM_OUT=$(BENCH_NVME_VM_OUT) VM_MODULES=nvme VM_TIMEOUT=1800 $(VM_ENV) \
		VM_QEMU_ARGS='$(foreach i,1 2,-drive if=none,id=vnvme$(i),file=$(abspath $(BENCH_NVME_VM_OUT))/nvme$(i).img,format=raw -device nvme,serial=vanity$(i),drive=vnvme$(i))' \
		tools/vm/run.sh 'BENCH_NVME_OPS=$(BENCH_NVME_OPS)' \
		'BENCH_NVME_OPS32=$(BENCH_NVME_OPS32)' 'BENCH_NVME_ROUNDS=$(BENCH_NVME_ROUNDS)' \
		'BENCH_NVME_WARMUP=$(BENCH_NVME_WARMUP)' "BENCH_NVME_HOST_YARDSTICK='$$host'" \
		'BENCH_NVME_CLIENT_SLEEPS=$(BENCH_NVME_CLIENT_SLEEPS)' \
		$(NVME_BENCH_BIN) >$(BENCH_NVME_VM_OUT)/run.out 2>&1 || \
		{ rc=$$?; tail -40 $(BENCH_NVME_VM_OUT)/run.out; exit $$rc; }
	@cat $(BENCH_NVME_VM_OUT)/cmd.log
