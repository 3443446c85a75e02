# SPDX-License-Identifier: GPL-2.0
# The test VM: Debian's stock kernel under QEMU (TCG) with an initramfs
# holding busybox, this tree at its host path and vanity.ko (tools/vm/).
#
#   make vm-run CMD='...'     boot, insmod vanity.ko, run CMD in the tree
#                             as root; exit with CMD's status (124 hung,
#                             125 VM/insmod/rmmod failure, 126 kernel splat)
#   make vm-selftests         one boot running every build/tests/selftests
#                             binary; counts in build/vm/selftests.counts
#   make vm-selftests-6.12    the same on Debian 13's 6.12 (build/vm-6.12/)
#   make vm-shell             interactive shell in the VM (Ctrl-A x quits)
#   make vm-initramfs         only build build/vm/initramfs.cpio
# Knobs (environment or make variables): VM_TIMEOUT, VM_TEST_TIMEOUT,
# VM_PCI, VM_MEM, VM_SMP, VM_CMDLINE, VANITY_KO_ARGS, ...: see
# tools/vm/run.sh --help. Output: build/vm/{console,dmesg,cmd}.log,
# build/vm/run.result. `make check` runs tools/check.sh (unit + VM).

# The kernel to boot must be the one the module was built for. Debian's
# headers report the upstream version from `make kernelrelease` (6.1.x),
# while the image is /boot/vmlinuz-<UTS_RELEASE>, so prefer UTS_RELEASE.
VM_UTS_RELEASE := $(shell sed -n 's/^\#define UTS_RELEASE "\(.*\)"/\1/p' \
	$(KDIR)/include/generated/utsrelease.h 2>/dev/null)
VM_KVER ?= $(or $(if $(wildcard /boot/vmlinuz-$(KVER)),$(KVER)),$(VM_UTS_RELEASE),$(KVER))

VM_ENV = KVER='$(VM_KVER)'
# The host drivers of the VM's nvme and e1000e, and vfio-pci, loaded in every selftest
# boot that has them: device_test takes each function from its driver
# and gives it back, 100 times, and checks the driver works each time,
# and finds a device vfio holds refused untouched.
VM_ST_MODULES := nvme e1000e vfio-pci
# Those rounds in full (100 each) on this boot; the other boots with
# devices take 20 each (VANITY_HANDBACK_ROUNDS): every round resets the
# device, a memory-map change that QEMU 7.2's multi-threaded TCG can race
# with another vCPU's MMIO and crash on (README, "Passed devices").
VM_ST_FEW_ROUNDS := VANITY_HANDBACK_ROUNDS=20

.PHONY: vm-run vm-selftests vm-selftests-6.12 vm-shell vm-initramfs

# CMD is taken verbatim ($(value)), so `$VAR` and quotes reach the guest.
vm-run: export VM_CMD = $(value CMD)
vm-run: all
	@test -n "$$VM_CMD" || { echo "usage: make vm-run CMD='command'" >&2; exit 2; }
	$(VM_ENV) tools/vm/run.sh

vm-selftests: all selftests-build
	$(VM_ENV) VM_MODULES='$(VM_ST_MODULES)' VM_ST_EXPECT='$(notdir $(ST_BINS))' \
		tools/vm/selftests.sh $(BUILD)/tests/selftests

# The same selftests in one boot of Debian 13's stock 6.12 kernel (x86_64),
# unpacked by `make deps-trixie`, with the module built against its
# headers (mk/kernels.mk); counts in build/vm-6.12/selftests.counts.
vm-selftests-6.12: all selftests-build kmod-6.12-amd64
	VM_KROOT='$(TRIXIE_ROOT)' VANITY_KO='$(CURDIR)/$(KERNELS_OUT)/6.12-amd64/vanity.ko' \
		VM_OUT='$(BUILD)/vm-6.12' VM_MODULES='$(VM_ST_MODULES)' \
		VM_ST_ENV='$(VM_ST_FEW_ROUNDS)' \
		VM_ST_EXPECT='$(notdir $(ST_BINS))' \
		tools/vm/selftests.sh $(BUILD)/tests/selftests

vm-shell: all
	$(VM_ENV) VM_INTERACTIVE=1 tools/vm/run.sh sh

vm-initramfs: all
	$(VM_ENV) tools/vm/mkinitramfs.sh
