# SPDX-License-Identifier: GPL-2.0
# The storage example (examples/nvme/): the polled NVMe driver, the
# storage shard on it or, on the hosted simulator, on a file through
# io_uring (liburing), and the client shard.
#
# The client is an ordinary example (cross built with the others); the
# storage shard links liburing, which the cross guests do not have, so it
# is this machine's only.

NVME_DIR := examples/nvme
NVME_HDRS := $(wildcard $(NVME_DIR)/*.h)
NVME_CLIENT := $(NVME_DIR)/client
NVME_STORAGE := $(NVME_DIR)/storage
NVME_BINS := $(NVME_CLIENT) $(NVME_STORAGE)
EXAMPLES += $(NVME_CLIENT)
NATIVE_EXAMPLES += $(NVME_STORAGE)
NVME_URING_LIBS = $(shell $(PKG_CONFIG) --libs liburing 2>/dev/null || echo -luring)

$(BUILD)/$(NVME_DIR)/%.o: $(NVME_HDRS)

$(NVME_STORAGE): $(BUILD)/$(NVME_DIR)/storage.o $(BUILD)/$(NVME_DIR)/nvme.o lib/libvanity.so
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) -Llib -lvanity $(NVME_URING_LIBS) \
		-Wl,-rpath,'$$ORIGIN/../../lib'

# `make demo-storage`: a client writing, reading and verifying 4 KiB blocks
# through the storage shard for about 10 s on this machine's default
# backend (the module when /dev/vanity exists, with the controller the
# manifest passes; else the hosted simulator on a file), then IOPS,
# latency percentiles and verification counts.
.PHONY: demo-storage demo-storage-run
demo-storage:
	+@$(DEPS) --install demo
	+@$(MAKE) --no-print-directory demo-storage-run

demo-storage-run: tools/vanityctl $(NVME_BINS)
	@mkdir -p $(BUILD)
	tools/vanityctl run $(NVME_DIR)/storage.ini -j > $(BUILD)/demo-storage.log
	$(NVME_DIR)/summary.sh < $(BUILD)/demo-storage.log
