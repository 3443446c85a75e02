#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tools/deps.sh: the one list of what each part of the build needs from
# Debian, and the one check that `make demo`, `make check`, `make ARCH=arm64`
# and the deps targets run before they build anything.
#
# usage: tools/deps.sh [--install|--check|--list] PURPOSE...
#        tools/deps.sh --give-back DIR...
#
#   PURPOSE  demo     the hosted demos (`make demo`, `make demo-storage`):
#                     compiler, make, pkg-config, libnl, libinih, liburing
#                     (the storage shard's file backend); no kernel, no qemu
#            build    `make`: demo's, the kernel headers, Criterion, the
#                     kernel source (kselftest harness), sparse
#            vm       what `make check` runs things in: the x86_64 VM
#                     (kernel image, qemu, busybox, cpio, kmod), the arm64
#                     VM (qemu-system-arm), the riscv64 VM (qemu-system-misc)
#                     and qemu-user
#            arm64    `make ARCH=arm64`: the cross compiler and C library,
#                     the host's kbuild (with the amd64 headers), and dpkg's
#                     arm64 architecture, so that `make deps-arm64` can
#                     download Debian's arm64 kernel and libraries
#            riscv64  `make ARCH=riscv64`: the cross compiler and C library,
#                     bison and flex (libnl's configure), dpkg-source and
#                     the archive keyring (`make deps-riscv64`)
#            trixie   `make deps-trixie` (Debian 13's kernels and gcc-14,
#                     unpacked into build/): the archive keyring,
#                     dpkg-architecture, readelf and depmod
#            bench    the benchmarks: DPDK, liburing
#            check    build vm arm64 riscv64 trixie: all that `make check`
#                     needs
#            all      check bench: `make deps`
#   --install  (default) nothing missing: exit 0 at once, silently. Else,
#              as root: apt-get install what is missing (dpkg
#              --add-architecture arm64 first where needed), check again;
#              as anyone else: one line on stderr,
#                deps: missing PKG, PKG; run as root: make TARGET
#              and exit 1, before anything is built.
#   --check    the same line when something is missing (exit 1), never
#              installs; exit 0 when nothing is
#   --list     the packages, one a line (dpkg's architecture items as
#              "arch:ARCH")
#   --give-back  run as root in a tree that someone else owns (`sudo make
#              deps`): hand DIR, its root-owned contents and the root-owned
#              folders between it and the tree to the tree's owner, so that
#              the owner's next build can write there
#
# The one command named is a make target rather than an apt-get line: it
# covers the steps that are not apt-get install (dpkg's arm64 architecture,
# the downloads into build/ for the arm64 VM, the riscv64 libraries and
# Debian 13's kernels),
# runs this same list, and hands what it leaves in build/ back to the tree's
# owner. Runs dpkg-query, dpkg, apt-get and id from PATH
# (tests/deps/deps_test.sh puts fakes there).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tree=$(cd "$here/.." && pwd)

usage() {
	echo "usage: tools/deps.sh [--install|--check|--list] PURPOSE... | --give-back DIR..." >&2
	echo "       PURPOSE: demo build vm arm64 riscv64 trixie bench check all" >&2
	exit 2
}

debarch=$(dpkg --print-architecture 2>/dev/null || echo amd64)

# pkgs PURPOSE: its packages and architecture items, one a line.
pkgs() {
	case "$1" in
	demo) printf '%s\n' build-essential pkg-config libnl-3-dev libnl-genl-3-dev libinih-dev liburing-dev ;;
	build)
		pkgs demo
		printf '%s\n' "linux-headers-$debarch" linux-source-6.1 xz-utils libcriterion-dev sparse \
			python3-yaml
		;;
	vm)
		printf '%s\n' "linux-image-$debarch" qemu-system-x86 busybox-static cpio kmod xz-utils \
			qemu-system-arm qemu-system-misc qemu-user
		;;
	arm64)
		printf '%s\n' gcc-aarch64-linux-gnu libc6-dev-arm64-cross "linux-headers-$debarch" arch:arm64
		;;
	riscv64)
		printf '%s\n' gcc-riscv64-linux-gnu libc6-dev-riscv64-cross bison flex dpkg-dev \
			debian-archive-keyring
		;;
	trixie) printf '%s\n' debian-archive-keyring dpkg-dev binutils kmod ;;
	bench) printf '%s\n' dpdk-dev liburing-dev ;;
	check) pkgs build; pkgs vm; pkgs arm64; pkgs riscv64; pkgs trixie ;;
	all) pkgs check; pkgs bench ;;
	esac
}

# target: the make target that installs the purposes asked for.
target() {
	case "$*" in
	demo) echo deps-demo ;;
	arm64) echo deps-arm64 ;;
	riscv64) echo deps-riscv64 ;;
	trixie) echo deps-trixie ;;
	bench) echo bench-deps ;;
	*) echo deps ;;
	esac
}

# missing: the wanted items that are not there, one a line, in list order.
missing() {
	local have p
	# One dpkg-query for all (it is slow to start): "NAME STATUS" lines,
	# an error on stderr for packages it has never heard of.
	have=$(dpkg-query -W -f='${Package} ${Status}\n' "${want_pkgs[@]}" 2>/dev/null |
		awk '$NF == "installed" && $(NF-1) == "ok" { print $1 }' || true)
	for p in "${want_pkgs[@]}"; do
		grep -qxF -- "$p" <<<"$have" || echo "$p"
	done
	for p in "${want_archs[@]}"; do
		dpkg --print-foreign-architectures 2>/dev/null | grep -qxF -- "$p" ||
			echo "arch:$p"
	done
}

# describe ITEM...: the missing items as the message names them.
describe() {
	local out='' i
	for i in "$@"; do
		case "$i" in
		arch:*) i="dpkg architecture ${i#arch:}" ;;
		esac
		out+=${out:+, }$i
	done
	printf '%s' "$out"
}

give_back() {
	local owner d p
	[ "$(id -u)" = 0 ] || return 0
	owner=$(stat -c %u:%g "$tree")
	[ "${owner%%:*}" != 0 ] || return 0
	for d in "$@"; do
		[ -e "$d" ] || continue
		d=$(cd "$d" && pwd)
		case "$d/" in "$tree"/*) ;; *) echo "deps: --give-back: $d is not in $tree" >&2; exit 1 ;; esac
		find "$d" -user 0 -exec chown -h "$owner" {} +
		p=$(dirname "$d")
		while [ "$p" != "$tree" ]; do
			[ "$(stat -c %u "$p")" != 0 ] || chown "$owner" "$p"
			p=$(dirname "$p")
		done
	done
}

mode=--install
case "${1:-}" in
--install | --check | --list) mode=$1; shift ;;
--give-back) shift; give_back "$@"; exit 0 ;;
-h | --help) usage ;;
-*) usage ;;
esac
[ $# -gt 0 ] || usage

for purpose in "$@"; do
	case "$purpose" in
	demo | build | vm | arm64 | riscv64 | trixie | bench | check | all) ;;
	*) echo "tools/deps.sh: unknown purpose '$purpose'" >&2; usage ;;
	esac
done
# Unique, first mention kept.
mapfile -t want < <(for purpose in "$@"; do pkgs "$purpose"; done | awk '!seen[$0]++')
if [ "$mode" = --list ]; then
	printf '%s\n' "${want[@]}"
	exit 0
fi
want_pkgs=()
want_archs=()
for w in "${want[@]}"; do
	case "$w" in
	arch:*) want_archs+=("${w#arch:}") ;;
	*) want_pkgs+=("$w") ;;
	esac
done

mapfile -t miss < <(missing)
[ "${#miss[@]}" -gt 0 ] || exit 0

if [ "$mode" = --check ] || [ "$(id -u)" != 0 ]; then
	echo "deps: missing $(describe "${miss[@]}"); run as root: make $(target "$@")" >&2
	exit 1
fi

# ---------------------------------------------------------------- install
echo "deps: installing $(describe "${miss[@]}")" >&2
pk=()
for m in "${miss[@]}"; do
	case "$m" in
	arch:*) dpkg --add-architecture "${m#arch:}" ;;
	*) pk+=("$m") ;;
	esac
done
apt-get update -q
if [ "${#pk[@]}" -gt 0 ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pk[@]}"
fi
mapfile -t miss < <(missing)
if [ "${#miss[@]}" -gt 0 ]; then
	echo "deps: still missing after apt-get install: $(describe "${miss[@]}")" >&2
	exit 1
fi
