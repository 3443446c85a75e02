# shellcheck shell=bash disable=SC2034 # sets variables for its callers
# SPDX-License-Identifier: GPL-2.0
# tools/vm/arch.sh: the one place that knows what differs between guest
# architectures and kernels (QEMU binary, machine, CPU, kernel image,
# console device, busybox, how to list an ELF file's shared libraries,
# where the kernel's modules are). Sourced by tools/vm/run.sh and
# tools/vm/mkinitramfs.sh; not executable on its own.
#
# Input:  VM_ARCH (default: the host's, i.e. x86_64 here), KVER (optional),
#         VM_ARM64_ROOT (arm64: the unpacked packages; default
#         TREE/build/arm64/root), VM_KROOT (x86_64: boot a kernel unpacked
#         there instead of this machine's /boot; riscv64: where its kernel
#         is, default TREE/build/vm-trixie/root).
# Output: the VM_A_* variables below, set by vm_arch_setup (VM_A_MODROOT:
#         the root holding lib/modules/KVER, empty for this machine's); for
#         arm64 also VANITY_KO (TREE/build/arm64/vanity.ko) when unset and
#         present.
#
# x86_64: Debian 12's 6.1 from /boot, or Debian 13's 6.12 (VM_KROOT);
# arm64: qemu-system-aarch64 -M virt, ttyAMA0, Debian 12's arm64 kernel and
# busybox-static:arm64 unpacked with dpkg -x by `make deps-arm64`
# (mk/arm64.mk); riscv64: qemu-system-riscv64 -M virt with OpenSBI, ttyS0,
# Debian 13's riscv64 kernel and busybox-static:riscv64 unpacked by `make
# deps-trixie` (mk/kernels.mk). The foreign guests run static programs only.

# This file's directory and the project tree holding it.
vm_a_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
vm_a_tree=$(cd "$vm_a_here/../.." && pwd)

vm_die() {
	echo "vm: error: $*" >&2
	exit 125
}

# vm_newest_kver SUFFIX [DIR]: newest DIR/vmlinuz-*-SUFFIX release (DIR:
# /boot), by version.
vm_newest_kver() {
	local suffix=$1 dir=${2:-/boot} k best=""
	for k in "$dir"/vmlinuz-*-"$suffix"; do
		[ -e "$k" ] || continue
		best+="${k#"$dir"/vmlinuz-}"$'\n'
	done
	printf '%s' "$best" | sort -V | tail -n 1
}

vm_arch_setup() {
	VM_ARCH=${VM_ARCH:-$(uname -m)}
	VM_A_MODROOT=""
	case "$VM_ARCH" in
	x86_64 | amd64)
		VM_ARCH=x86_64
		VM_A_DEBARCH=amd64
		VM_A_QEMU=qemu-system-x86_64
		VM_A_CPU=(-accel "${VM_ACCEL:-tcg,thread=multi}" -cpu max)
		if [ "${VM_PCI:-1}" = 1 ]; then
			# q35 with a VT-d IOMMU, so each passed device sits in
			# its own IOMMU group and DMA confinement is real.
			# shellcheck disable=SC2054 # commas are qemu syntax
			VM_A_MACHINE=(-machine q35,kernel-irqchip=split
				-device intel-iommu,intremap=on)
			VM_A_CMDLINE_ARCH="intel_iommu=on iommu.strict=1"
		else
			VM_A_MACHINE=(-machine pc)
			VM_A_CMDLINE_ARCH=""
		fi
		# TSC unstable from boot, as 6.1 decides by itself under TCG:
		# 6.12 trusts it at boot, and when its watchdog later marks it
		# unstable on a loaded host, the sched_clock static key is
		# patched at run time, and TCG can run a stale int3 of that
		# patch ("Oops: int3" in sched_clock_cpu, seen once in CI).
		VM_A_CMDLINE_ARCH+="${VM_A_CMDLINE_ARCH:+ }tsc=unstable"
		VM_A_CONSOLE=ttyS0
		# Another kernel than this machine's: Debian's packages
		# unpacked under VM_KROOT (e.g. Debian 13's 6.12 by `make
		# deps`), its newest -amd64 image unless KVER names one.
		if [ -n "${VM_KROOT:-}" ]; then
			[ -d "$VM_KROOT/boot" ] || vm_die "no $VM_KROOT/boot (VM_KROOT): run 'make deps'"
			# This machine's KVER is not one of VM_KROOT's.
			[ -e "$VM_KROOT/boot/vmlinuz-${KVER:-none}" ] || KVER=""
			KVER=${KVER:-$(vm_newest_kver amd64 "$VM_KROOT/boot")}
			[ -n "$KVER" ] || vm_die "no $VM_KROOT/boot/vmlinuz-*-amd64"
			VM_A_KERNEL=$VM_KROOT/boot/vmlinuz-$KVER
			VM_A_MODROOT=$VM_KROOT
		else
			KVER=${KVER:-$(vm_newest_kver amd64)}
			[ -n "$KVER" ] || vm_die "no /boot/vmlinuz-*-amd64: apt-get install linux-image-amd64"
			VM_A_KERNEL=/boot/vmlinuz-$KVER
		fi
		VM_A_BUSYBOX=${VM_BUSYBOX:-/bin/busybox}
		# Host and guest share the ABI, so the host's ldd answers
		# for the guest too.
		VM_A_LDD=ldd
		VM_A_ELF_MACHINE=62 # EM_X86_64
		VM_A_MULTIARCH=x86_64-linux-gnu
		;;
	arm64 | aarch64)
		VM_ARCH=arm64
		VM_A_DEBARCH=arm64
		VM_A_QEMU=qemu-system-aarch64
		# pauth-impdef: QEMU's cheap pointer-authentication hash, the
		# architected one (QARMA) is slow under TCG.
		# shellcheck disable=SC2054 # commas are qemu syntax
		VM_A_CPU=(-accel "${VM_ACCEL:-tcg,thread=multi}" -cpu max,pauth-impdef=on)
		# virt's PCIe host bridge takes the same edu, nvme and e1000e
		# devices as on x86_64 (tools/vm/run.sh adds them), behind an
		# SMMUv3 (built into Debian's kernel) so each passed device
		# sits in its own IOMMU group; strict invalidation as on x86.
		if [ "${VM_PCI:-1}" = 1 ]; then
			# shellcheck disable=SC2054 # commas are qemu syntax
			VM_A_MACHINE=(-machine virt,gic-version=3,iommu=smmuv3)
			VM_A_CMDLINE_ARCH="iommu.strict=1"
		else
			# shellcheck disable=SC2054 # commas are qemu syntax
			VM_A_MACHINE=(-machine virt,gic-version=3)
			VM_A_CMDLINE_ARCH=""
		fi
		VM_A_CONSOLE=ttyAMA0
		# Debian's arm64 kernel, busybox-static:arm64 and libraries
		# unpacked by `make deps-arm64` (tools/arm64/deps.sh), found
		# from the tree holding this file: TREE/build/arm64/root, or,
		# for the arm64 tree that `make vm-selftests-arm64` stages
		# in build/vm-arm64/tree, the main tree's.
		local d
		if [ -z "${VM_ARM64_ROOT:-}" ]; then
			for d in "$vm_a_tree/build/arm64/root" "$vm_a_tree/../../arm64/root"; do
				if [ -d "$d/boot" ]; then
					VM_ARM64_ROOT=$(cd "$d" && pwd)
					break
				fi
			done
		fi
		if [ -z "${VM_ARM64_ROOT:-}" ] || [ ! -d "$VM_ARM64_ROOT/boot" ]; then
			vm_die "no arm64 root (VM_ARM64_ROOT=${VM_ARM64_ROOT:-}): run 'make deps-arm64'"
		fi
		# A KVER left over from the x86_64 side is not ours.
		case "${KVER:-}" in *-arm64) ;; *) KVER="" ;; esac
		if [ -z "$KVER" ]; then
			local k
			for k in "$VM_ARM64_ROOT"/boot/vmlinuz-*-arm64; do
				[ -e "$k" ] || continue
				KVER+="${k##*/vmlinuz-}"$'\n'
			done
			KVER=$(printf '%s' "$KVER" | sort -V | tail -n 1)
		fi
		[ -n "$KVER" ] || vm_die "no $VM_ARM64_ROOT/boot/vmlinuz-*-arm64: run 'make deps-arm64'"
		VM_A_KERNEL=$VM_ARM64_ROOT/boot/vmlinuz-$KVER
		VM_A_MODROOT=$VM_ARM64_ROOT
		VM_A_BUSYBOX=${VM_BUSYBOX:-$VM_ARM64_ROOT/bin/busybox}
		# No host ldd answers for aarch64: static programs only
		# (tools/vm/cross-ldd.sh reports any dynamic one as missing).
		VM_A_LDD=$vm_a_here/cross-ldd.sh
		VM_A_ELF_MACHINE=183 # EM_AARCH64
		VM_A_MULTIARCH=aarch64-linux-gnu
		# The arm64 module built by `make kmod-arm64`, unless told.
		if [ -z "${VANITY_KO:-}" ] && [ -f "$vm_a_tree/build/arm64/vanity.ko" ]; then
			VANITY_KO=$vm_a_tree/build/arm64/vanity.ko
		fi
		;;
	riscv64)
		VM_A_DEBARCH=riscv64
		VM_A_QEMU=qemu-system-riscv64
		VM_A_CPU=(-accel "${VM_ACCEL:-tcg,thread=multi}" -cpu rv64)
		# virt (PLIC, no AIA: with aia=aplic-imsic 6.12 never reached
		# /init under QEMU 7.2's TCG, a hard lockup on a secondary CPU)
		# and OpenSBI (qemu-system-data's, -bios default). No IOMMU:
		# QEMU 7.2's virt has none, and 6.12 no riscv64 driver for one
		# (6.13 brought it), so the PCI devices for passthrough are
		# left out.
		VM_A_MACHINE=(-machine virt -bios default)
		VM_PCI=0
		VM_A_CMDLINE_ARCH=""
		VM_A_CONSOLE=ttyS0
		# Debian 13's riscv64 kernel (Debian 12 has none), unpacked by
		# `make deps-trixie` under VM_KROOT; by default the tree's
		# build/vm-trixie/root, or, for the riscv64 tree that `make
		# vm-selftests-riscv64` stages in build/vm-riscv64/tree, the
		# main tree's.
		local d
		if [ -z "${VM_KROOT:-}" ]; then
			for d in "$vm_a_tree/build/vm-trixie/root" "$vm_a_tree/../../vm-trixie/root"; do
				if [ -d "$d/boot" ]; then
					VM_KROOT=$(cd "$d" && pwd)
					break
				fi
			done
		fi
		if [ -z "${VM_KROOT:-}" ] || [ ! -d "$VM_KROOT/boot" ]; then
			vm_die "no riscv64 kernel root (VM_KROOT=${VM_KROOT:-}): run 'make deps-trixie'"
		fi
		case "${KVER:-}" in *-riscv64) ;; *) KVER="" ;; esac
		[ -e "$VM_KROOT/boot/vmlinux-${KVER:-none}" ] || KVER=""
		if [ -z "$KVER" ]; then
			local k
			for k in "$VM_KROOT"/boot/vmlinux-*-riscv64; do
				[ -e "$k" ] || continue
				KVER+="${k##*/vmlinux-}"$'\n'
			done
			KVER=$(printf '%s' "$KVER" | sort -V | tail -n 1)
		fi
		[ -n "$KVER" ] || vm_die "no $VM_KROOT/boot/vmlinux-*-riscv64: run 'make deps-trixie'"
		# Debian's riscv64 "vmlinux" is the flat Image (an EFI stub's
		# PE header in front), which OpenSBI jumps into.
		VM_A_KERNEL=$VM_KROOT/boot/vmlinux-$KVER
		VM_A_MODROOT=$VM_KROOT
		VM_A_BUSYBOX=${VM_BUSYBOX:-$VM_KROOT/usr/bin/busybox}
		VM_A_LDD=$vm_a_here/cross-ldd.sh
		VM_A_ELF_MACHINE=243 # EM_RISCV
		VM_A_MULTIARCH=riscv64-linux-gnu
		;;
	*)
		vm_die "unknown VM_ARCH=$VM_ARCH"
		;;
	esac
	[ -r "$VM_A_KERNEL" ] || vm_die "kernel image $VM_A_KERNEL not found (KVER=$KVER)"
}
