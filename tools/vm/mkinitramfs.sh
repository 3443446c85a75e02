#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tools/vm/mkinitramfs.sh: builds the base initramfs of the Vanity test VM.
#
# Owns the guest's root file system layout: busybox-static with its applet
# links, /init (tools/vm/init), minimal /etc, the shared libraries (and
# dynamic loader) every ELF program in the project tree needs, optional
# stock modules (VM_MODULES), and the whole project tree at the SAME
# absolute path as on the host, so relative paths work after `cd` there.
# Per-run content (the command, the module to insmod) is NOT in here:
# tools/vm/run.sh appends it as a second cpio archive.
#
# usage: tools/vm/mkinitramfs.sh [-o OUTPUT] [-t TREE]
#   -o OUTPUT  default $VM_OUT/initramfs.cpio (.cpio.gz with VM_COMPRESS=gzip)
#   -t TREE    project tree to copy, default: the tree holding this script
# environment:
#   VM_OUT          output directory (default TREE/build/vm)
#   VM_COMPRESS     none (default; fastest to build and to unpack under TCG)
#                   or gzip
#   VM_MODULES      stock module names (e.g. "nvme e1000e") to include with
#                   their dependencies; /init insmods them before vanity.ko
#   VM_EXTRA_FILES  extra host files (absolute paths) to copy in, together
#                   with the shared libraries they need
#   VM_ARCH, KVER   see tools/vm/arch.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tools/vm/arch.sh
. "$here/arch.sh"

tree=$(cd "$here/../.." && pwd)
out=""
while getopts "o:t:h" opt; do
	case "$opt" in
	o) out=$OPTARG ;;
	t) tree=$(cd "$OPTARG" && pwd) ;;
	h)
		sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
		exit 0
		;;
	*) exit 2 ;;
	esac
done
[ "$tree" != / ] || vm_die "refusing to copy / as the project tree"

vm_arch_setup
VM_OUT=${VM_OUT:-$tree/build/vm}
mkdir -p "$VM_OUT"
VM_OUT=$(cd "$VM_OUT" && pwd)
case "${VM_COMPRESS:-none}" in
none) out=${out:-$VM_OUT/initramfs.cpio} ;;
gzip) out=${out:-$VM_OUT/initramfs.cpio.gz} ;;
*) vm_die "VM_COMPRESS must be none or gzip" ;;
esac

[ -x "$VM_A_BUSYBOX" ] || vm_die "no $VM_A_BUSYBOX: apt-get install busybox-static"
if "$VM_A_LDD" "$VM_A_BUSYBOX" >/dev/null 2>&1; then
	vm_die "$VM_A_BUSYBOX is dynamically linked: install busybox-static"
fi

stage=$VM_OUT/initramfs.d
rm -rf "$stage"
mkdir -p "$stage"
for d in bin sbin usr/bin usr/sbin etc root proc sys dev tmp run mnt \
	var/log lib "lib/$VM_A_MULTIARCH" lib64; do
	mkdir -p "$stage/$d"
done

# ---------------------------------------------------------------- busybox
cp "$VM_A_BUSYBOX" "$stage/bin/busybox"
# Applet links at build time (no --install at boot); the list comes from
# the host's busybox, which is the same Debian version.
while read -r applet; do
	[ -n "$applet" ] && [ ! -e "$stage/$applet" ] || continue
	ln -s /bin/busybox "$stage/$applet"
done < <(busybox --list-full 2>/dev/null || "$VM_A_BUSYBOX" --list-full)
[ -e "$stage/bin/sh" ] || vm_die "busybox has no sh applet"

install -m 0755 "$here/init" "$stage/init"

cat >"$stage/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$stage/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
echo vanity-vm >"$stage/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tvanity-vm\n' >"$stage/etc/hosts"
# The kernel opens /dev/console before /init mounts devtmpfs.
if [ "$(id -u)" = 0 ]; then
	mknod -m 600 "$stage/dev/console" c 5 1
	mknod -m 666 "$stage/dev/null" c 1 3
fi

# ---------------------------------------------------------------- the tree
# Everything except .git, VM output directories (build/vm, build/vm-*,
# $VM_OUT), the module's builds for other kernels (build/kernels,
# mk/kernels.mk) and object/build intermediates (the module's *.o, *.cmd,
# *.mod, *.mod.c, .tmp*; userspace *.o, build/**/*.d).
tree_rel=${tree#/}
out_rel=${VM_OUT#/}
tree_list=$VM_OUT/tree.list
(
	cd /
	# Parent directories first: the kernel's unpacker does not create them.
	p=$(dirname "$tree_rel")
	anc=()
	while [ "$p" != . ] && [ "$p" != / ]; do
		anc=("$p" "${anc[@]}")
		p=$(dirname "$p")
	done
	[ ${#anc[@]} -eq 0 ] || printf '%s\n' "${anc[@]}"
	find "$tree_rel" \
		\( -path "$tree_rel/.git" -o -path "$out_rel" -o -path "$tree_rel/build/vm" \
		-o -path "$tree_rel/build/vm-*" -o -path "$tree_rel/build/kernels" \
		-o -name '.tmp*' \) -prune -o \
		\( -type f \( -name '*.o' -o -name '*.cmd' -o -name '*.mod' \
		-o -name '*.mod.c' -o -path "$tree_rel/build/*.d" \) \) -o -print
) >"$tree_list"

# ---------------------------------------------------------------- libraries
declare -A seen_lib=()
missing_libs=0

# elf_dynamic FILE: true for an ELF executable or shared object of the
# guest's machine type.
elf_dynamic() {
	local b
	# bytes 0-3 magic, 16-17 e_type (2 EXEC, 3 DYN), 18-19 e_machine
	# shellcheck disable=SC2207 # od prints plain numbers
	b=($(od -An -tu1 -N20 "$1" 2>/dev/null)) || return 1
	[ "${#b[@]}" -ge 20 ] || return 1
	[ "${b[0]}" = 127 ] && [ "${b[1]}" = 69 ] && [ "${b[2]}" = 76 ] && [ "${b[3]}" = 70 ] || return 1
	[ "${b[16]}" = 2 ] || [ "${b[16]}" = 3 ] || return 1
	[ $((b[18] + 256 * b[19])) = "$VM_A_ELF_MACHINE" ]
}

# add_lib PATH: copy a host library (following links) to the same path.
add_lib() {
	local lib=$1
	[ -z "${seen_lib[$lib]:-}" ] || return 0
	seen_lib[$lib]=1
	case "$lib" in "$tree"/*) return 0 ;; esac # already in the tree
	mkdir -p "$stage$(dirname "$lib")"
	cp -L "$lib" "$stage$lib"
}

# add_needed FILE: copy every library FILE needs, as the loader resolves
# them (with the tree's lib/ on the library path, as in the guest).
add_needed() {
	local file=$1 line lib
	while IFS= read -r line; do
		case "$line" in
		*"=> not found"*)
			echo "mkinitramfs: warning: ${file#"$tree"/}: ${line#"${line%%[! 	]*}"}" >&2
			missing_libs=$((missing_libs + 1))
			;;
		*"=> /"*)
			lib=${line#*=> }
			add_lib "${lib%% (0x*}"
			;;
		[[:space:]]/*)
			lib=${line#"${line%%[! 	]*}"}
			add_lib "${lib%% (0x*}"
			;;
		esac
	done < <(LD_LIBRARY_PATH="$tree/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
		"$VM_A_LDD" "$file" 2>/dev/null || true)
}

nelf=0
while IFS= read -r rel; do
	f=/$rel
	[ -f "$f" ] && [ ! -L "$f" ] || continue
	case "$f" in
	*.so | *.so.*) ;;
	*) [ -x "$f" ] || continue ;;
	esac
	elf_dynamic "$f" || continue
	nelf=$((nelf + 1))
	add_needed "$f"
done <"$tree_list"

for f in ${VM_EXTRA_FILES:-}; do
	[ -e "$f" ] || vm_die "VM_EXTRA_FILES: no such file: $f"
	mkdir -p "$stage$(dirname "$f")"
	cp -L "$f" "$stage$f"
	if elf_dynamic "$f"; then add_needed "$f"; fi
done

# glibc dlopen()s libgcc_s for pthread_cancel/pthread_exit unwinding.
if [ ${#seen_lib[@]} -gt 0 ]; then
	for lib in "/lib/$VM_A_MULTIARCH/libgcc_s.so.1" "/usr/lib/$VM_A_MULTIARCH/libgcc_s.so.1"; do
		if [ -e "$lib" ]; then
			add_lib "$lib"
			break
		fi
	done
fi

# ---------------------------------------------------------------- stock modules
: >"$stage/vanity-modules"
if [ -n "${VM_MODULES:-}" ]; then
	command -v modprobe >/dev/null || vm_die "VM_MODULES needs modprobe (apt-get install kmod)"
	# The booted kernel's modules: this machine's, or those unpacked
	# under VM_A_MODROOT (arch.sh), indexed there first if need be.
	mroot=()
	if [ -n "$VM_A_MODROOT" ]; then
		mroot=(-d "$VM_A_MODROOT")
		[ -d "$VM_A_MODROOT/lib/modules/$KVER" ] ||
			vm_die "VM_MODULES: no $VM_A_MODROOT/lib/modules/$KVER"
		[ -s "$VM_A_MODROOT/lib/modules/$KVER/modules.dep" ] ||
			depmod -b "$VM_A_MODROOT" "$KVER" ||
			vm_die "depmod -b $VM_A_MODROOT $KVER failed"
	fi
	declare -A seen_mod=()
	# shellcheck disable=SC2086 # VM_MODULES is a list of names
	deps=$(modprobe -a -S "$KVER" "${mroot[@]}" --show-depends $VM_MODULES) ||
		vm_die "modprobe -a -S $KVER ${mroot[*]} --show-depends $VM_MODULES failed"
	while read -r verb path _; do
		[ "$verb" = insmod ] || continue
		[ -z "${seen_mod[$path]:-}" ] || continue
		seen_mod[$path]=1
		# In the guest at its path under /lib/modules/KVER, stored
		# uncompressed: busybox's insmod reads no .xz or .zst.
		rel=${path#"$VM_A_MODROOT"}
		rel=/lib/modules/$KVER/${rel#*/lib/modules/"$KVER"/}
		case "$rel" in
		*.ko) cat=(cat) ;;
		*.ko.xz) cat=(xz -dc) rel=${rel%.xz} ;;
		*.ko.zst) cat=(zstd -qdc) rel=${rel%.zst} ;;
		*.ko.gz) cat=(gzip -dc) rel=${rel%.gz} ;;
		*) vm_die "VM_MODULES: $path is no module file" ;;
		esac
		mkdir -p "$stage$(dirname "$rel")"
		"${cat[@]}" "$path" >"$stage$rel" || vm_die "cannot unpack $path"
		echo "$rel" >>"$stage/vanity-modules"
	done <<<"$deps"
fi

# ---------------------------------------------------------------- archive
# Two newc archives back to back (the kernel unpacks concatenated archives):
# the staged root, then the tree straight from its host path.
tmp=$out.tmp
{
	(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0)
	(cd / && cpio --quiet -o -H newc -R 0:0 <"$tree_list")
} | if [ "${VM_COMPRESS:-none}" = gzip ]; then gzip -1; else cat; fi >"$tmp"
mv -f "$tmp" "$out"

echo "mkinitramfs: $out: $(du -h "$out" | cut -f1)," \
	"$(wc -l <"$tree_list") tree entries, $nelf ELF programs," \
	"${#seen_lib[@]} libraries, $(wc -l <"$stage/vanity-modules") stock modules" >&2
[ "$missing_libs" = 0 ] ||
	echo "mkinitramfs: warning: $missing_libs unresolved library reference(s); those programs will not start in the VM" >&2
