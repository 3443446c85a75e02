#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tools/arm64/deps.sh: fetches what the aarch64 test VM and the arm64
# cross builds need from Debian's archive, without installing any arm64
# package (`make deps-arm64`; idempotent).
#
#   1. `dpkg --add-architecture arm64` and `apt-get update`, only when arm64
#      is not a foreign architecture yet or apt does not know the packages;
#   2. `apt-get download` into DEBS the packages below that are not there;
#   3. `dpkg -x` each of them into ROOT (again only when a .deb changed),
#      then points the headers at the host's kbuild (linux-kbuild-6.1):
#      their scripts/ and tools/ links are relative to /usr/src, and the
#      arm64 Makefile includes the -common Makefile by absolute path.
#
# usage: tools/arm64/deps.sh ABI DEBS ROOT     e.g. 6.1.0-56 (the kernel ABI
#        of the installed amd64 headers, so one kbuild serves both)
# Host packages it relies on: gcc-aarch64-linux-gnu, libc6-dev-arm64-cross,
# qemu-system-arm, linux-kbuild-6.1 (with linux-headers-amd64).
set -euo pipefail

abi=${1:?usage: deps.sh ABI DEBS ROOT}
debs=${2:?usage: deps.sh ABI DEBS ROOT}
root=${3:?usage: deps.sh ABI DEBS ROOT}

# name:arch of every package; the libraries for the static selftests,
# vanityctl and the storage example's shard (liburing) (the -dev packages
# ship the .a files and headers), their shared
# runtime packages for anything linked dynamically later.
pkgs=(
	"linux-headers-$abi-arm64:arm64"
	"linux-headers-$abi-common:all"
	"linux-image-$abi-arm64-unsigned:arm64"
	busybox-static:arm64
	libnl-3-200:arm64 libnl-genl-3-200:arm64
	libnl-3-dev:arm64 libnl-genl-3-dev:arm64
	libinih1:arm64 libinih-dev:arm64
	liburing2:arm64 liburing-dev:arm64
	libc6:arm64
)

die() {
	echo "deps-arm64: error: $*" >&2
	exit 1
}

# apt's name for a package: arch-independent ones without a suffix.
aptname() { case "$1" in *:all) echo "${1%:all}" ;; *) echo "$1" ;; esac; }

# candidates: "name:arch version" for every package apt knows (one call;
# apt-cache is slow to start).
candidates() {
	local names=() p
	for p in "${pkgs[@]}"; do names+=("$(aptname "$p")"); done
	apt-cache policy "${names[@]}" 2>/dev/null | awk '
		/^[^ ].*:$/ { name = substr($0, 1, length($0) - 1); next }
		/^  Candidate: / && $2 != "(none)" { print name, $2 }'
}
# cand P: the candidate version of package P (name:arch), or nothing.
cand() {
	local n
	n=$(aptname "$1")
	# apt-cache prints arch-qualified names for foreign packages only.
	awk -v a="$n" -v b="${n%:amd64}" '$1 == a || $1 == b { print $2; exit }' <<<"$cands"
}
known() { [ -n "$(cand "$1")" ]; }

# Only these two steps need root; tools/deps.sh (run first by make
# deps-arm64) has done the first when it was needed.
need_root() {
	[ "$(id -u)" = 0 ] || die "$1: run as root: make deps-arm64"
}
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
	need_root "dpkg has no arm64 architecture"
	echo "deps-arm64: dpkg --add-architecture arm64" >&2
	dpkg --add-architecture arm64
	need_update=1
else
	need_update=0
	cands=$(candidates)
	for p in "${pkgs[@]}"; do known "$p" || need_update=1; done
fi
if [ "$need_update" = 1 ]; then
	need_root "apt does not know every arm64 package for kernel $abi yet"
	echo "deps-arm64: apt-get update" >&2
	apt-get update -q
	cands=$(candidates)
	for p in "${pkgs[@]}"; do
		known "$p" || die "apt does not know $(aptname "$p") (kernel ABI $abi still in the archive?)"
	done
fi

mkdir -p "$debs" "$root"
debs=$(cd "$debs" && pwd)
root=$(cd "$root" && pwd)

# ---------------------------------------------------------------- download
# The candidate version's file name, as apt-get download names it.
changed=0
for p in "${pkgs[@]}"; do
	name=${p%%:*}
	arch=${p##*:}
	ver=$(cand "$p")
	[ -n "$ver" ] || die "no candidate version of $p"
	file="${name}_${ver//:/%3a}_${arch}.deb"
	if [ ! -s "$debs/$file" ]; then
		echo "deps-arm64: apt-get download $(aptname "$p")=$ver" >&2
		# apt-get download writes to the current directory; as root it
		# drops privileges to _apt, which needs to write there.
		tmp=$(mktemp -d)
		chmod 0777 "$tmp"
		(cd "$tmp" && apt-get download -q "$(aptname "$p")=$ver")
		mv -f "$tmp"/*.deb "$debs/"
		rmdir "$tmp"
		# Older versions of the same package go.
		for old in "$debs/${name}"_*"_${arch}.deb"; do
			[ "$old" = "$debs/$file" ] || rm -f "$old"
		done
		changed=1
	fi
done

# ---------------------------------------------------------------- extract
stamp=$root/.vanity-deps
want=$(cd "$debs" && printf '%s\n' ./*.deb | LC_ALL=C sort)
if [ "$changed" = 1 ] || [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
	echo "deps-arm64: extracting $(wc -l <<<"$want") packages into $root" >&2
	rm -rf "$root"
	mkdir -p "$root"
	for d in "$debs"/*.deb; do dpkg -x "$d" "$root"; done

	hdr=$root/usr/src/linux-headers-$abi-arm64
	common=$root/usr/src/linux-headers-$abi-common
	[ -f "$hdr/Makefile" ] || die "no $hdr/Makefile after extraction"
	# scripts -> ../../lib/linux-kbuild-6.1/scripts: give that path the
	# host's kbuild (host tools, arch independent; same package version).
	kb=$(readlink "$hdr/scripts")
	kb=${kb#../../lib/}
	kb=${kb%/scripts}
	[ -d "/usr/lib/$kb" ] || die "no /usr/lib/$kb: apt-get install $kb (the host's kbuild)"
	mkdir -p "$root/usr/lib"
	ln -sfn "/usr/lib/$kb" "$root/usr/lib/$kb"
	# The -common headers of this extraction, not the host's.
	sed -i "s|^include /usr/src/|include $root/usr/src/|" "$hdr/Makefile"
	[ -d "$common" ] || die "no $common after extraction"
	printf '%s\n' "$want" >"$stamp"
else
	echo "deps-arm64: $root is up to date" >&2
fi

# The kbuild versions must match, or modpost and fixdep may disagree.
hv=$(dpkg-query -W -f='${Version}' "linux-headers-$abi-common" 2>/dev/null || :)
av=$(cd "$debs" && printf '%s\n' "linux-headers-$abi-common"_*_all.deb | sed 's/.*common_\(.*\)_all.deb/\1/;s/%3a/:/')
kv=$(dpkg-query -W -f='${Version}' "$(basename "$(readlink "$root/usr/lib/"linux-kbuild-*)")" 2>/dev/null || :)
if [ -n "$kv" ] && [ "$kv" != "$av" ]; then
	echo "deps-arm64: warning: host kbuild $kv, arm64 headers $av (amd64 headers ${hv:-none})" >&2
fi
ndebs=$(find "$debs" -maxdepth 1 -name '*.deb' | wc -l)
echo "deps-arm64: ok: kernel $abi-arm64, $ndebs packages in $debs" >&2
