#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tests/build/build_test.sh: the top-level make's own promises: every mk/
# fragment is required, `make kernelrelease` runs only for goals that need
# it, `tools` lists every example, and ARCH=arm64 means the arm64 build
# (its own folder, CROSS_COMPILE honoured, the host's goals refused).
#
# Builds nothing: make -n/-q/-p only, with a fake kernel build folder whose
# `kernelrelease` leaves a mark. Prints "build: ok NAME" or "build: FAIL
# NAME" per check; exits 1 when any failed.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tree=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/kdir"
printf 'kernelrelease:\n\t@touch %s/asked; echo 6.1.0-0-amd64\n%%:\n\t@:\n' "$tmp" >"$tmp/kdir/Makefile"

failed=0
ok() { echo "build: ok $1"; }
fail() { echo "build: FAIL $1: $2"; failed=$((failed + 1)); }
mk() { (cd "$tree" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u ARCH -u CROSS_COMPILE \
	make --no-print-directory "$@" 2>&1); }

# A missing fragment stops make (a copy of the makefiles, one renamed;
# the goal asked for is another fragment's, which needs no sources).
cp -a "$tree/Makefile" "$tree/mk" "$tmp/"
mv "$tmp/mk/stress.mk" "$tmp/mk/stress.mk.gone"
out=$(cd "$tmp" && env -u MAKEFLAGS make -q bench-have-deps 2>&1) && rc=0 || rc=$?
if [ "$rc" = 2 ] && grep -q 'mk/stress.mk' <<<"$out"; then ok a_missing_fragment_stops_make
else fail a_missing_fragment_stops_make "make -q exited $rc: $(tail -1 <<<"$out")"; fi

rm -f "$tmp/asked"
mk -n unit KDIR="$tmp/kdir" >/dev/null
if [ ! -e "$tmp/asked" ]; then ok unit_does_not_ask_kbuild_for_the_release
else fail unit_does_not_ask_kbuild_for_the_release "make -n unit ran make kernelrelease"; fi
rm -f "$tmp/asked"
mk -n vm-initramfs KDIR="$tmp/kdir" >/dev/null
if [ -e "$tmp/asked" ]; then ok the_vm_still_asks_kbuild_for_the_release
else fail the_vm_still_asks_kbuild_for_the_release "make -n vm-initramfs did not"; fi

db=$(mk -pq tools)
tools=$(sed -n 's/^tools: //p' <<<"$db")
examples=$(sed -n 's/^EXAMPLES := //p' <<<"$db")
missing=$(for e in $examples; do grep -qw -- "$e" <<<"$tools" || echo "$e"; done)
if [ -n "$examples" ] && [ -z "$missing" ]; then ok tools_lists_every_example
else fail tools_lists_every_example "not prerequisites of tools: ${missing:-no EXAMPLES}"; fi

out=$(mk -n ARCH=arm64 kmod) && rc=0 || rc=$?
if [ "$rc" != 0 ] && grep -q 'ARCH=arm64: .*kmod-arm64' <<<"$out"; then
	ok arch_arm64_refuses_the_hosts_goals
else fail arch_arm64_refuses_the_hosts_goals "make -n ARCH=arm64 kmod exited $rc"; fi

out=$(mk -n ARCH=mips unit) && rc=0 || rc=$?
if [ "$rc" != 0 ] && grep -q 'ARCH=mips: this tree builds for' <<<"$out"; then
	ok an_unknown_arch_is_refused
else fail an_unknown_arch_is_refused "make -n ARCH=mips unit exited $rc"; fi

out=$(mk -n CROSS_COMPILE=aarch64-linux-gnu- unit) && rc=0 || rc=$?
if [ "$rc" != 0 ] && grep -q 'CROSS_COMPILE=aarch64-linux-gnu- without ARCH' <<<"$out"; then
	ok cross_compile_without_arch_is_refused
else fail cross_compile_without_arch_is_refused "make -n CROSS_COMPILE=... unit exited $rc"; fi

db=$(mk -pq ARCH=arm64 CROSS_COMPILE=foo- clean-arm64)
# shellcheck disable=SC2016 # make's text, not the shell's
if grep -qx '.DEFAULT_GOAL := arm64' <<<"$db" &&
	grep -qx 'ARM64_CROSS = $(or $(CROSS_COMPILE),aarch64-linux-gnu-)' <<<"$db"; then
	ok arch_arm64_builds_arm64_with_cross_compile
else fail arch_arm64_builds_arm64_with_cross_compile "default goal or toolchain"; fi

[ "$failed" = 0 ]
