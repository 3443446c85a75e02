#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tests/build/kstyle.sh: the module's kernel style, as a patch reviewer
# checks it: checkpatch.pl --no-tree on every kmod/ source and header and
# on the UAPI header, and sparse over the whole module (Kbuild's C=2)
# against the host's headers.
#
# checkpatch.pl and its data files are extracted from Debian's
# linux-source tarball into build/kstyle/ (never copied into the tree).
# Prints "kstyle: ok CHECK" or "kstyle: FAIL CHECK" per file and one for
# sparse; exits 1 when any failed.
#
# Checkpatch types ignored: YIELD everywhere (the ring's YIELD op is
# defined as giving the CPU up, kmod/ring.c, until cooperative scheduling
# replaces it); PREFER_DEFINED_ATTRIBUTE_MACRO in the portable core's shim
# (its userspace half defines __printf, which only the kernel has); and
# LINUX_VERSION_CODE with CONSTANT_COMPARISON (which takes the macro for
# the constant) in kmod/compat.h, the one place an out-of-tree module
# built for several kernels tests the version, where no macro marks a
# change.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tree=$(cd "$here/../.." && pwd)
cd "$tree" || exit 1
out=$tree/build/kstyle
failed=0
ok() { echo "kstyle: ok $1"; }
fail() { echo "kstyle: FAIL $1"; failed=$((failed + 1)); }

tarball=$(ls /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -n 1)
if [ -z "$tarball" ]; then
	fail "checkpatch: no /usr/src/linux-source-*.tar.xz (make deps)"
	exit 1
fi
if [ ! -x "$out/scripts/checkpatch.pl" ] || [ "$tarball" -nt "$out/scripts/checkpatch.pl" ]; then
	mkdir -p "$out"
	tar -xJf "$tarball" -C "$out" --strip-components=1 --wildcards \
		'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
		'*/scripts/const_structs.checkpatch' || { fail "checkpatch: extract"; exit 1; }
	touch "$out/scripts/checkpatch.pl"
fi

for f in $(git ls-files 'kmod/*.c' 'kmod/*.h' 'kmod/**/*.c' 'kmod/**/*.h' \
	include/uapi/linux/vanity.h | sort -u); do
	ignore=YIELD
	[ "$f" != kmod/core/shim.h ] || ignore+=,PREFER_DEFINED_ATTRIBUTE_MACRO
	[ "$f" != kmod/compat.h ] || ignore+=,LINUX_VERSION_CODE,CONSTANT_COMPARISON
	log=$("$out/scripts/checkpatch.pl" --no-tree --terse --show-types \
		--ignore "$ignore" -f "$f" 2>&1 | grep -E ': (ERROR|WARNING|CHECK):')
	if [ -z "$log" ]; then
		ok "checkpatch $f"
	else
		printf '%s\n' "$log" >&2
		fail "checkpatch $f"
	fi
done

kdir=${KDIR:-$(ls -d /usr/src/linux-headers-*-"$(dpkg --print-architecture)" 2>/dev/null | sort -V | tail -n 1)}
if [ -z "$kdir" ] || ! command -v sparse >/dev/null; then
	fail "sparse: no kernel headers or no sparse (make deps)"
else
	# C=2: sparse on every source, built or not; objects are remade only
	# when out of date, as by `make kmod`.
	log=$(make -s -C "$kdir" M="$tree" C=2 W=1 modules 2>&1)
	rc=$?
	diag=$(printf '%s\n' "$log" | grep -E 'warning:|error:' || true)
	if [ "$rc" = 0 ] && [ -z "$diag" ]; then
		ok "sparse kmod"
	else
		printf '%s\n' "$log" >&2
		fail "sparse kmod"
	fi
fi
[ "$failed" = 0 ]
