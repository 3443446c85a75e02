#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tests/build/kernels_test.sh: the module builds from one source, without a
# single warning (W=1: the compiler's and modpost's), against every stock
# kernel it supports: Debian 12's 6.1 for amd64 and arm64, Debian 13's 6.12
# for amd64, arm64 and riscv64 (mk/kernels.mk).
#
# Each build afresh (its build/kernels/K-ARCH/ removed first) through `make
# kmod-K-ARCH`, which fails on any warning; then the module must be for that
# kernel (its vermagic names a release of series K) and that machine (its
# ELF header). Missing headers or compilers are a failure naming the make
# goal that fetches them, never a skip. Prints "kernels: ok K-ARCH (RELEASE,
# COMPILER)" or "kernels: FAIL K-ARCH: WHY" (the build's warnings and
# errors follow, indented) per build; exits 1 when any failed.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tree=$(cd "$here/../.." && pwd)
kernels=(6.1-amd64 6.1-arm64 6.12-amd64 6.12-arm64 6.12-riscv64)

failed=0
fail() {
	echo "kernels: FAIL $1"
	failed=$((failed + 1))
}
# No make settings inherited from a make that runs this test.
mk() {
	(cd "$tree" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u ARCH -u CROSS_COMPILE \
		make --no-print-directory "$@" 2>&1)
}
# machine ARCH: how readelf -h names ARCH's machine.
machine() {
	case "$1" in
	amd64) echo 'Advanced Micro Devices X86-64' ;;
	arm64) echo AArch64 ;;
	riscv64) echo RISC-V ;;
	esac
}

for k in "${kernels[@]}"; do
	series=${k%-*}
	arch=${k#*-}
	out=$tree/build/kernels/$k
	ko=$out/vanity.ko
	rm -rf "$out"
	log=$(mk -j"$(nproc)" "kmod-$k")
	rc=$?
	if [ "$rc" != 0 ]; then
		why=$(grep -E "^kmod-$k: FAIL: |^no |run 'make deps" <<<"$log" | tail -n 1)
		fail "$k: make kmod-$k exited $rc: ${why:-$(tail -n 1 <<<"$log")}"
		grep -iE 'warning:|error:' <<<"$log" | head -n 40 | sed 's/^/  | /'
		continue
	fi
	vermagic=$(modinfo -F vermagic "$ko" 2>/dev/null)
	release=${vermagic%% *}
	case "$release" in
	"$series".*) ;;
	*)
		fail "$k: $ko is for kernel '${release:-none}', not $series"
		continue
		;;
	esac
	if ! readelf -h "$ko" 2>/dev/null | grep -qE "^ *Machine: *$(machine "$arch")\$"; then
		fail "$k: $ko is not an $arch object: $(readelf -h "$ko" 2>&1 | grep Machine:)"
		continue
	fi
	cc=$(readelf -p .comment "$ko" 2>/dev/null | sed -n 's/^ *\[ *[0-9a-f]*\] *GCC: *//p' | head -n 1)
	echo "kernels: ok $k ($release, gcc ${cc:-unknown})"
done
[ "$failed" = 0 ]
