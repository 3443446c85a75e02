#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tests/deps/deps_test.sh: `make demo` and `make check` bring in what they
# need first (tools/deps.sh), without root when nothing is missing, and stop
# before building, with one line naming the command to run as root, when
# something is missing and they are not root.
#
# Needs no root and installs nothing: dpkg-query, dpkg, apt-get and id are
# fakes put first in PATH (the installed packages, dpkg's architectures and
# the uid are files in a temporary folder; apt-get and dpkg
# --add-architecture only log what they were asked). The make goals run
# with -n where they would otherwise build (the deps step runs under -n
# too), for real where they must stop first.
# Prints one line per check, "deps: ok NAME" or "deps: FAIL NAME" (what
# went wrong follows a FAIL); exits 1 when any failed.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tree=$(cd "$here/../.." && pwd)
deps=$tree/tools/deps.sh

fake=$(mktemp -d)
trap 'rm -rf "$fake"' EXIT
mkdir -p "$fake/bin"
real_dpkg=$(command -v dpkg || echo /usr/bin/dpkg)
real_id=$(command -v id)

# ---------------------------------------------------------------- fakes
cat >"$fake/bin/dpkg-query" <<'EOF'
#!/bin/bash
# -W [-f FORMAT|-f=FORMAT|--showformat=FORMAT] PKG...: ${Package} and
# ${Status} of the packages listed in $FAKE/installed.
fmt='${Package}\t${Status}\n'
pk=()
while [ $# -gt 0 ]; do
	case "$1" in
	-W | --show) ;;
	-f | --showformat) fmt=$2; shift ;;
	-f=* | --showformat=*) fmt=${1#*=} ;;
	*) pk+=("$1") ;;
	esac
	shift
done
rc=0
for p in "${pk[@]}"; do
	if grep -qxF -- "$p" "$FAKE/installed"; then
		line=${fmt//'${Package}'/$p}
		line=${line//'${Status}'/install ok installed}
		printf "${line//%/%%}"
	else
		echo "dpkg-query: no packages found matching $p" >&2
		rc=1
	fi
done
exit $rc
EOF
cat >"$fake/bin/dpkg" <<'EOF'
#!/bin/bash
case "${1:-}" in
--print-architecture) echo amd64 ;;
--print-foreign-architectures) cat "$FAKE/archs" ;;
--add-architecture) echo "dpkg $*" >>"$FAKE/log"; echo "$2" >>"$FAKE/archs" ;;
*) exec "$REAL_DPKG" "$@" ;;
esac
EOF
cat >"$fake/bin/apt-get" <<'EOF'
#!/bin/bash
echo "apt-get $*" >>"$FAKE/log"
[ ! -e "$FAKE/apt-fail" ] || exit 100
if [ "${1:-}" = install ]; then
	for a in "${@:2}"; do
		case "$a" in -*) ;; *) echo "$a" >>"$FAKE/installed" ;; esac
	done
fi
exit 0
EOF
cat >"$fake/bin/id" <<'EOF'
#!/bin/bash
case "$*" in
-u) cat "$FAKE/uid" ;;
-un) [ "$(cat "$FAKE/uid")" = 0 ] && echo root || echo tester ;;
*) exec "$REAL_ID" "$@" ;;
esac
EOF
chmod +x "$fake/bin/"*
# A kernel build folder whose every goal succeeds at once: `make -n check`
# runs the module's Kbuild make (a $(MAKE) line), which fails under -n when
# the module is out of date; what Kbuild does is not this test's business.
mkdir -p "$fake/kdir"
printf '%%:\n\t@:\n' >"$fake/kdir/Makefile"
export FAKE=$fake REAL_DPKG=$real_dpkg REAL_ID=$real_id

# state UID [MISSING...]: everything installed and arm64 known to dpkg,
# but the MISSING packages (or "arch:arm64"); uid UID; an empty log.
state() {
	echo "$1" >"$fake/uid"
	shift
	PATH="$fake/bin:$PATH" "$deps" --list all | grep -v '^arch:' >"$fake/installed"
	echo arm64 >"$fake/archs"
	local m
	for m in "$@"; do
		case "$m" in
		arch:*) sed -i "/^${m#arch:}\$/d" "$fake/archs" ;;
		*) sed -i "/^$m\$/d" "$fake/installed" ;;
		esac
	done
	: >"$fake/log"
	rm -f "$fake/apt-fail"
}

# run CMD...: in the tree with the fakes, no make settings inherited from
# a make that runs this test; output in $out, status in $rc.
run() {
	out=$(cd "$tree" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u ARCH -u CROSS_COMPILE \
		PATH="$fake/bin:$PATH" "$@" 2>&1)
	rc=$?
}

failed=0
why=()
expect() { "$@" || why+=("expected: $*"); }
has() { grep -qxF -- "$1" <<<"$out"; }
has_re() { grep -qE -- "$1" <<<"$out"; }
no_re() { ! grep -qE -- "$1" <<<"$out"; }
log_is() { [ "$(cat "$fake/log")" = "$1" ]; }
# only LINE...: every line of the output is one of LINEs or make's own
# error line (nothing else was printed, so nothing else was run).
only() {
	local l a ok
	while IFS= read -r l; do
		ok=0
		for a in "$@"; do [ "$l" = "$a" ] && ok=1; done
		[[ $l =~ ^make(\[[0-9]+\])?:\ \*\*\*\  ]] && ok=1
		[ "$ok" = 1 ] || return 1
	done <<<"$out"
}
verdict() {
	if [ "${#why[@]}" = 0 ]; then
		echo "deps: ok $1"
	else
		echo "deps: FAIL $1"
		printf '  %s\n' "${why[@]}" "status $rc, output:"
		tail -20 <<<"$out" | sed 's/^/  | /'
		printf '  log: %s\n' "$(tr '\n' ';' <"$fake/log")"
		failed=$((failed + 1))
	fi
	why=()
}

# ---------------------------------------------------------------- lists
state 1000
run "$deps" --list demo
for p in build-essential pkg-config libnl-3-dev libnl-genl-3-dev libinih-dev liburing-dev; do
	expect has "$p"
done
expect no_re 'qemu|linux-image|linux-headers|linux-source|aarch64|riscv64|criterion|dpdk'
verdict demo_needs_only_what_the_hosted_demo_uses

# Everything `make deps` installed before it was split, and the arm64
# architecture, are in what `make check` brings in.
run "$deps" --list check
for p in build-essential pkg-config linux-headers-amd64 linux-image-amd64 \
	linux-source-6.1 qemu-system-x86 busybox-static cpio kmod xz-utils sparse \
	libnl-3-dev libnl-genl-3-dev libcriterion-dev libinih-dev \
	gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user qemu-system-arm qemu-system-misc \
	gcc-riscv64-linux-gnu libc6-dev-riscv64-cross bison flex arch:arm64; do
	expect has "$p"
done
verdict check_needs_the_full_set
run "$deps" --list all
expect has dpdk-dev
expect has liburing-dev
verdict deps_installs_check_and_bench

# ---------------------------------------------------------------- nothing missing
state 1000
start=$(date +%s%N)
run "$deps" --install check
ms=$((($(date +%s%N) - start) / 1000000))
expect test "$rc" = 0
expect test -z "$out"
expect log_is ""
expect test "$ms" -lt 5000
verdict nothing_missing_is_a_quiet_quick_no_op

state 1000
run make --no-print-directory -n demo
expect test "$rc" = 0
expect no_re '^deps: '
expect has 'make --no-print-directory demo-run'
expect has_re '^tools/vanityctl run '
# The hosted demo builds no module, no tests, fetches nothing.
expect no_re 'M=|kselftest|criterion|qemu|arm64|riscv64|check\.sh'
expect log_is ""
verdict demo_proceeds_without_root_when_nothing_is_missing

state 1000
run make --no-print-directory -n check KDIR="$fake/kdir"
expect test "$rc" = 0
expect no_re '^deps: '
expect has 'make --no-print-directory all'
expect has 'tools/check.sh'
expect log_is ""
verdict check_proceeds_without_root_when_nothing_is_missing

# `make deps` fetches Debian 13's kernels and compiler too, which the
# kernels test (tests/build/kernels_test.sh) builds with.
state 1000
run make --no-print-directory -n deps
expect test "$rc" = 0
expect has 'tools/deps.sh --install trixie'
expect has 'tools/trixie/deps.sh build/vm-trixie'
expect log_is ""
verdict deps_fetches_debian_13s_kernels_and_compiler

# ---------------------------------------------------------------- missing, not root
state 1000 libinih-dev
run make --no-print-directory demo
expect test "$rc" != 0
expect has 'deps: missing libinih-dev; run as root: make deps-demo'
expect only 'deps: missing libinih-dev; run as root: make deps-demo'
expect log_is ""
verdict demo_stops_before_building_without_root

state 1000 qemu-system-arm arch:arm64
run make --no-print-directory -n check KDIR="$fake/kdir"
expect test "$rc" != 0
msg='deps: missing qemu-system-arm, dpkg architecture arm64; run as root: make deps'
expect has "$msg"
expect only "$msg" 'tools/deps.sh --install check'
expect log_is ""
verdict check_stops_before_building_without_root

state 1000 gcc-aarch64-linux-gnu
run make --no-print-directory -j2 ARCH=arm64
expect test "$rc" != 0
msg='deps: missing gcc-aarch64-linux-gnu; run as root: make deps-arm64'
expect has "$msg"
expect only "$msg"
verdict arch_arm64_stops_before_building_without_its_compiler

state 1000
run make --no-print-directory -j1 ARCH=arm64 ARM64_ABI=0.0.0-0
expect test "$rc" != 0
msg="no arm64 kernel headers and libraries for 0.0.0-0-arm64 in build/arm64/root: run 'make deps-arm64'"
expect has "$msg"
expect only "$msg"
verdict arch_arm64_without_headers_names_deps_arm64

state 0 libinih-dev
run "$deps" --check demo
expect test "$rc" = 1
expect has 'deps: missing libinih-dev; run as root: make deps-demo'
expect log_is ""
verdict check_mode_never_installs

# ---------------------------------------------------------------- missing, root
state 0 libinih-dev
run make --no-print-directory -n demo
expect test "$rc" = 0
expect log_is $'apt-get update -q\napt-get install -y --no-install-recommends libinih-dev'
expect has_re '^tools/vanityctl run '
verdict demo_as_root_installs_what_is_missing_then_proceeds

state 0 arch:arm64 gcc-riscv64-linux-gnu bison
run make --no-print-directory -n check KDIR="$fake/kdir"
expect test "$rc" = 0
expect log_is $'dpkg --add-architecture arm64\napt-get update -q\napt-get install -y --no-install-recommends gcc-riscv64-linux-gnu bison'
expect has 'tools/check.sh'
verdict check_as_root_adds_arm64_and_installs_what_is_missing

state 0 libinih-dev
touch "$fake/apt-fail"
run make --no-print-directory -n demo
expect test "$rc" != 0
expect no_re 'demo-run|vanityctl'
verdict a_failed_install_stops_the_build

[ "$failed" = 0 ]
