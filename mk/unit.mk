# SPDX-License-Identifier: GPL-2.0
# Native unit tests (Criterion) of the portable core, the image writer,
# the manifest compiler and libvanity's channel code, as one binary:
# `make unit` builds and runs it.

UNIT_SRCS := $(sort $(wildcard tests/unit/*.c))
UNIT_OBJS := $(call obj,$(UNIT_SRCS))
UNIT_BIN := $(BUILD)/tests/unit/vanity-unit
# The objects under test, not $(BUILD)/libvanityctl.a: the archive also
# carries the netlink client, and these tests need neither it nor libnl.
UNIT_UNDER_TEST := $(CORE_OBJS) \
	$(call obj,tools/ctl/imgwrite.c tools/ctl/manifest.c tools/ctl/cmd_build.c tools/ctl/json.c \
		tools/ctl/pci_sysfs.c \
		$(SIM_SRCS) tools/ctl/runlog.c) \
	$(call obj,lib/channel.c lib/hosted.c lib/bell_futex.c lib/cycles.c \
		lib/log.c lib/attach.c lib/hosted_ring.c lib/device.c) \
	$(call obj,examples/nvme/nvme.c)
# test_nvme.c drives the storage example's NVMe driver (its nvme.h).
$(call obj,tests/unit/test_nvme.c): CPPFLAGS += -Iexamples/nvme
# e.g. make unit UNIT_ARGS='--filter=manifest/*' or UNIT_ARGS=--verbose
UNIT_ARGS ?=
UNIT_VGLOGS := $(BUILD)/tests/unit/valgrind
# --vgdb=no: a worker's child killed by a test leaves gdbserver FIFOs
# that the rest of the run then complains about.
UNIT_VALGRIND := valgrind --quiet --fair-sched=yes --leak-check=full \
	--show-leak-kinds=definite,indirect --trace-children=yes --vgdb=no \
	--log-file=$(UNIT_VGLOGS)/%p.log

.PHONY: unit-build unit unit-valgrind
unit-build: $(UNIT_BIN)

$(UNIT_BIN): $(UNIT_OBJS) $(UNIT_UNDER_TEST)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ -lcriterion $(INIH_LIBS) -lpthread

# Criterion exits non-zero when any test fails, and so does make.
unit: $(UNIT_BIN)
	$(UNIT_BIN) $(UNIT_ARGS)

# One worker at a time, each traced and left to exit normally so its
# leaks are counted. A worker's valgrind status does not reach criterion,
# so any non-empty per-process log fails the target instead.
unit-valgrind: $(UNIT_BIN)
	rm -rf $(UNIT_VGLOGS) && mkdir -p $(UNIT_VGLOGS)
	CRITERION_NO_EARLY_EXIT=1 $(UNIT_VALGRIND) $(UNIT_BIN) --jobs=1 $(UNIT_ARGS)
	@if grep -q . $(UNIT_VGLOGS)/*.log; then \
		cat $$(grep -l . $(UNIT_VGLOGS)/*.log); \
		echo "valgrind: problems above, logs in $(UNIT_VGLOGS)" >&2; exit 1; \
	fi
