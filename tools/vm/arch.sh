# shellcheck shell=bash disable=SC2034 # sets variables for its callers
# SPDX-License-Identifier: GPL-2.0
# tools/vm/arch.sh: the one place that knows what differs between guest
# architectures (QEMU binary, machine, CPU, kernel image, console device,
# busybox, how to list an ELF file's shared libraries). Sourced by
# tools/vm/run.sh and tools/vm/mkinitramfs.sh; not executable on its own.
#
# Input:  VM_ARCH (default: the host's, i.e. x86_64 here), KVER (optional).
# Output: the VM_A_* variables below, set by vm_arch_setup.
#
# Only x86_64 is implemented. arm64 (qemu-system-aarch64 -M virt, ttyAMA0,
# Debian's arm64 kernel and busybox-static:arm64 unpacked with dpkg -x, see
# the BRIEF) slots in as one more case here.

vm_die() {
	echo "vm: error: $*" >&2
	exit 125
}

# vm_newest_kver SUFFIX: newest /boot/vmlinuz-*-SUFFIX release, by version.
vm_newest_kver() {
	local suffix=$1 k best=""
	for k in /boot/vmlinuz-*-"$suffix"; do
		[ -e "$k" ] || continue
		best+="${k#/boot/vmlinuz-}"$'\n'
	done
	printf '%s' "$best" | sort -V | tail -n 1
}

vm_arch_setup() {
	VM_ARCH=${VM_ARCH:-$(uname -m)}
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
			VM_A_CMDLINE_ARCH="intel_iommu=on iommu=strict"
		else
			VM_A_MACHINE=(-machine pc)
			VM_A_CMDLINE_ARCH=""
		fi
		VM_A_CONSOLE=ttyS0
		KVER=${KVER:-$(vm_newest_kver amd64)}
		[ -n "$KVER" ] || vm_die "no /boot/vmlinuz-*-amd64: apt-get install linux-image-amd64"
		VM_A_KERNEL=/boot/vmlinuz-$KVER
		VM_A_BUSYBOX=${VM_BUSYBOX:-/bin/busybox}
		# Host and guest share the ABI, so the host's ldd answers
		# for the guest too.
		VM_A_LDD=ldd
		VM_A_ELF_MACHINE=62 # EM_X86_64
		VM_A_MULTIARCH=x86_64-linux-gnu
		;;
	arm64 | aarch64)
		vm_die "VM_ARCH=$VM_ARCH is not implemented yet (x86_64 only)"
		;;
	*)
		vm_die "unknown VM_ARCH=$VM_ARCH"
		;;
	esac
	[ -r "$VM_A_KERNEL" ] || vm_die "kernel image $VM_A_KERNEL not found (KVER=$KVER)"
}
