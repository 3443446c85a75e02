# SPDX-License-Identifier: GPL-2.0
# Selftests: kselftest-harness programs run as root inside the test VM.
# The harness header is extracted from Debian's linux-source tarball at
# build time; it is never copied into the repository.

KSFT_TARBALL ?= $(lastword $(sort $(wildcard /usr/src/linux-source-*.tar.xz)))
KSFT_DIR := $(BUILD)/kselftest
KSFT_HDR := $(KSFT_DIR)/kselftest_harness.h

$(KSFT_HDR):
	@test -n "$(KSFT_TARBALL)" || \
		{ echo "no linux-source tarball: run 'make deps'" >&2; exit 1; }
	@mkdir -p $(KSFT_DIR)
	tar -xJf $(KSFT_TARBALL) -C $(KSFT_DIR) --strip-components=4 --wildcards \
		'*/tools/testing/selftests/kselftest_harness.h' \
		'*/tools/testing/selftests/kselftest.h'
	@touch $@

ST_SRCS := $(sort $(wildcard tests/selftests/*_test.c))
ST_BINS := $(patsubst tests/selftests/%.c,$(BUILD)/tests/selftests/%,$(ST_SRCS))
ST_COMMON := $(call obj,tests/selftests/common.c)
# The ring tests' backend layer (module or hosted simulator), only theirs.
ST_RING_TESTS := ring_test ring_module_test
ST_CPPFLAGS := -isystem $(KSFT_DIR) -Itests/selftests -Iexamples/nvme

$(BUILD)/tests/selftests/%.o: tests/selftests/%.c $(KSFT_HDR)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ST_CPPFLAGS) $(NL_CFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

# Statically linked to libvanity so the VM needs no library path. Objects
# before archives: a binary's extra objects (below) come last in $^.
$(BUILD)/tests/selftests/%: $(BUILD)/tests/selftests/%.o $(ST_COMMON) \
		$(BUILD)/libvanityctl.a lib/libvanity.a
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(filter %.a,$^) $(NL_LIBS) $(INIH_LIBS)
$(addprefix $(BUILD)/tests/selftests/,$(ST_RING_TESTS)): \
	$(call obj,tests/selftests/ring_backend.c)

.PHONY: selftests-build
selftests-build: $(ST_BINS)
tests: selftests-build

# Test shard programs, started by `vanityctl run` in the integration test
# on either backend; static so the VM needs no library path.
SHARD_SRCS := $(sort $(wildcard tests/shards/*.c))
SHARD_BINS := $(patsubst tests/shards/%.c,$(BUILD)/tests/shards/%,$(SHARD_SRCS))
$(BUILD)/tests/shards/%: $(BUILD)/tests/shards/%.o lib/libvanity.a
	$(CC) $(LDFLAGS) -o $@ $^
selftests-build: $(SHARD_BINS)
