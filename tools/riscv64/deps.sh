#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tools/riscv64/deps.sh: fetches the Debian source packages of libinih and
# libnl3, which Debian 12 ships no riscv64 binaries of (riscv64 is only a
# debian-ports architecture for bookworm), so that `make riscv64` can cross
# build them (tools/riscv64/libs.sh) for a static riscv64 vanityctl.
# `make deps-riscv64`; idempotent, and offline once the sources are there.
#
#   1. a private apt configuration under DIR/apt (its own deb-src list,
#      lists and cache; /etc/apt is not touched), `apt-get update` of the
#      Sources indexes of bookworm, then trixie for what bookworm's files
#      lack here;
#   2. for each package, the versions apt knows, oldest (bookworm's) first:
#      `apt-get source` (files checked against the signed index, then
#      dpkg-source -x with Debian's patches) until one downloads;
#   3. DIR/src/PKG links to the unpacked tree; DIR/src/PKG.version says
#      which version it is. The indexes are deleted again (about 60 MB).
#
# usage: tools/riscv64/deps.sh DIR        e.g. build/riscv64
# Host packages it relies on: apt, dpkg-dev (dpkg-source), debian-archive-keyring.
set -euo pipefail

dir=${1:?usage: deps.sh DIR}
pkgs=(libinih libnl3)

die() {
	echo "deps-riscv64: error: $*" >&2
	exit 1
}

mkdir -p "$dir/src"
dir=$(cd "$dir" && pwd)
src=$dir/src

have=1
for p in "${pkgs[@]}"; do
	[ -f "$src/$p.version" ] && [ -d "$src/$p/" ] || have=0
done
if [ "$have" = 1 ]; then
	echo "deps-riscv64: sources up to date:" \
		"$(for p in "${pkgs[@]}"; do printf '%s %s ' "$p" "$(cat "$src/$p.version")"; done)" >&2
	exit 0
fi

apt=$dir/apt
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$keyring" ] || die "no $keyring (apt-get install debian-archive-keyring)"
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/parts"
cat >"$apt/sources.list" <<EOL
deb-src [signed-by=$keyring] http://deb.debian.org/debian bookworm main
deb-src [signed-by=$keyring] http://deb.debian.org/debian trixie main
EOL
aptopts=(
	-o "Dir::Etc::SourceList=$apt/sources.list"
	-o "Dir::Etc::SourceParts=$apt/parts"
	-o "Dir::State::Lists=$apt/lists"
	-o "Dir::Cache=$apt/cache"
	-o "APT::Sandbox::User=$(id -un)"
)
echo "deps-riscv64: apt-get update (private source list $apt/sources.list)" >&2
apt-get "${aptopts[@]}" update -q >"$apt/update.log" 2>&1 ||
	{ cat "$apt/update.log" >&2; die "apt-get update failed"; }

for p in "${pkgs[@]}"; do
	[ -f "$src/$p.version" ] && [ -d "$src/$p/" ] && continue
	# Every version apt knows, oldest first.
	mapfile -t vers < <(apt-cache "${aptopts[@]}" showsrc "$p" 2>/dev/null |
		sed -n 's/^Version: //p' | sort -u -V)
	[ "${#vers[@]}" -gt 0 ] || die "apt knows no source package $p"
	ok=
	for v in "${vers[@]}"; do
		work=$src/$p-$v
		rm -rf "$work"
		mkdir -p "$work"
		echo "deps-riscv64: apt-get source $p=$v" >&2
		if (cd "$work" && apt-get "${aptopts[@]}" source -q "$p=$v") \
				>"$work.log" 2>&1; then
			ok=$v
			break
		fi
		grep -E '^(E|W):' "$work.log" >&2 || true
		rm -rf "$work"
	done
	[ -n "$ok" ] || die "no version of $p could be fetched (${vers[*]})"
	tree=$(find "$src/$p-$ok" -mindepth 1 -maxdepth 1 -type d | head -1)
	[ -n "$tree" ] || die "apt-get source $p=$ok unpacked nothing"
	if [ "$p" = libnl3 ]; then
		# The tarball's generated autotools files serve as they are:
		# Debian's one Makefile.am patch drops symbol versioning from the
		# shared libraries, and libs.sh builds static archives. One mtime
		# for the whole tree, so make does not try to run automake.
		find "$tree" -exec touch -h -d "@$(date +%s)" {} +
	fi
	ln -sfn "${tree#"$src"/}" "$src/$p"
	echo "$ok" >"$src/$p.version"
	echo "deps-riscv64: $p $ok in $tree" >&2
done
# The indexes are large and only needed again for another version.
rm -rf "$apt/lists" "$apt/cache"
echo "deps-riscv64: ok:" \
	"$(for p in "${pkgs[@]}"; do printf '%s %s ' "$p" "$(cat "$src/$p.version")"; done)" >&2
