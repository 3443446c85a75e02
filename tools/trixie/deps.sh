#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tools/trixie/deps.sh: fetches Debian 13's (trixie's) stock kernel, its
# headers and the toolchain it was built with into DIR, without installing
# anything, so that the module builds against 6.12 here on Debian 12
# (mk/kernels.mk). `make deps-trixie`; `make deps` runs it. Needs no root.
#
#   1. a private apt configuration under DIR/apt (trixie, trixie-updates,
#      trixie-security; its own lists and cache, no dpkg status: /etc/apt
#      and the host's packages play no part), `apt-get update`; offline,
#      with DIR/root complete from an earlier run, it keeps that and stops;
#   2. names and versions from the archive's metadata, never from this
#      file: the kernel ABI (6.12.118+deb13) from the linux-headers-ARCH
#      meta packages, the same for every architecture (one kbuild serves
#      them all); the compiler from the amd64 headers' Depends (gcc-14);
#      the host libraries trixie's programs need from their packages'
#      Depends; apt's candidate, so trixie-security's where newer;
#   3. only when that list of .deb files differs from the one DIR/root was
#      unpacked from (DIR/root/.vanity-deps): `apt-get download` the missing
#      files into DIR/debs (other files there go), `dpkg-deb -x` every one
#      into a new DIR/root, then make it work from Debian 12:
#      - the headers' Makefiles include the -common Makefile of DIR/root;
#      - every host program in it (gcc-14, binutils, pahole, the kbuild's
#        scripts) becomes a sh wrapper that runs the program through
#        trixie's own dynamic loader and libraries: trixie's programs need
#        glibc 2.38 or newer, Debian 12 has 2.36;
#      - the native gcc finds trixie's as and ld (the cross ones find
#        theirs under DIR/root/usr/TRIPLET/bin);
#      - depmod for the images' modules, as their postinst would.
#   4. one line on stderr: what it did.
#
# What DIR/root holds: headers for amd64, arm64 and riscv64 (ABI-ARCH under
# usr/src), the kbuild, gcc-N for each (x86_64-, aarch64-, riscv64-linux-
# gnu-gcc-N in usr/bin), binutils, pahole (BTF for the modules), the amd64
# (-unsigned) and riscv64 kernel images with their modules, and
# busybox-static:riscv64 (the riscv64 VM's; the amd64 VM uses the host's).
# Build a module with PATH=DIR/root/usr/bin:$PATH make -C
# DIR/root/usr/src/linux-headers-ABI-ARCH M=... modules: the headers name
# their compiler (CROSS_COMPILE, CC) themselves.
#
# usage: tools/trixie/deps.sh DIR          e.g. build/vm-trixie
# Host packages it relies on: apt, dpkg-dev (dpkg-architecture), binutils
# (readelf), kmod (depmod), debian-archive-keyring (tools/deps.sh --list
# trixie).
set -euo pipefail

dir=${1:?usage: tools/trixie/deps.sh DIR}
# Headers for each; images for the architectures the 6.12 VMs boot.
arches=(amd64 arm64 riscv64)
images=(amd64 riscv64)

die() {
	echo "deps-trixie: error: $*" >&2
	exit 1
}

keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$keyring" ] || die "no $keyring (apt-get install debian-archive-keyring)"
host=$(dpkg --print-architecture)
# The programs unpacked here run on this machine: built for amd64 hosts.
[ "$host" = amd64 ] || die "runs on amd64 hosts only (this one is $host)"
hostma=$(dpkg-architecture -a "$host" -qDEB_HOST_MULTIARCH 2>/dev/null)
# gnu ARCH: the GNU triplet of ARCH (aarch64-linux-gnu), as in a cross
# toolchain's program names.
gnu() { dpkg-architecture -a "$1" -qDEB_HOST_GNU_TYPE 2>/dev/null; }

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
case "$dir" in *"'"*) die "DIR may not contain a single quote: $dir" ;; esac
apt=$dir/apt
debs=$dir/debs
root=$dir/root

# ---------------------------------------------------------------- apt
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/parts" "$apt/prefs" "$debs"
cat >"$apt/sources.list" <<EOL
deb [signed-by=$keyring] http://deb.debian.org/debian trixie main
deb [signed-by=$keyring] http://deb.debian.org/debian trixie-updates main
deb [signed-by=$keyring] http://deb.debian.org/debian-security trixie-security main
EOL
A=(
	-o "Dir::Etc::SourceList=$apt/sources.list"
	-o "Dir::Etc::SourceParts=$apt/parts"
	-o "Dir::Etc::Preferences=$apt/prefs/none"
	-o "Dir::Etc::PreferencesParts=$apt/prefs"
	-o "Dir::State::Lists=$apt/lists"
	-o "Dir::Cache=$apt/cache"
	# The binary cache, which some hosts turn off (docker-clean): each
	# apt-cache call would parse every list again, a second or two each.
	-o "Dir::Cache::pkgcache=pkgcache.bin"
	-o "Dir::Cache::srcpkgcache="
	-o "Dir::State::Status=/dev/null"
	-o "Acquire::Languages=none"
	-o "APT::Architecture=$host"
	-o "APT::Sandbox::User=$(id -un)"
)
for a in "${arches[@]}"; do A+=(-o "APT::Architectures::=$a"); done
# The lists stay (about 60 MB), so that the next run fetches only changes.
# Offline, what an earlier run unpacked serves (it only goes stale).
stamp=$root/.vanity-deps
if ! apt-get "${A[@]}" update -q >"$apt/update.log" 2>&1; then
	if [ -f "$stamp" ]; then
		echo "deps-trixie: apt-get update failed ($apt/update.log); keeping what $root holds" >&2
		exit 0
	fi
	cat "$apt/update.log" >&2
	die "apt-get update (trixie) failed"
fi

# ---------------------------------------------------------------- resolve
# depends PKG...: the packages PKG... depend on (Depends, Pre-Depends),
# one a line, no virtual ones.
depends() {
	apt-cache "${A[@]}" depends --important "$@" 2>/dev/null |
		awk '$1 ~ /Depends:$/ && $2 !~ /^</ { print $2 }'
}
candidate() {
	apt-cache "${A[@]}" policy "$1" 2>/dev/null | awk '$1 == "Candidate:" && $2 != "(none)" { print $2; exit }'
}

abi=
for a in "${arches[@]}"; do
	h=$(depends "linux-headers-$a:$a" | sed -n "s/^linux-headers-\(.*\)-$a\(:$a\)\{0,1\}\$/\1/p" | head -1)
	[ -n "$h" ] || die "trixie has no linux-headers-$a:$a"
	[ -z "$abi" ] || [ "$h" = "$abi" ] ||
		die "linux-headers-$a is for kernel $h, linux-headers-${arches[0]} for $abi: one kbuild cannot serve both (run again when the archive has caught up)"
	abi=$h
done
kver=$(candidate "linux-headers-$abi-common")
[ -n "$kver" ] || die "no linux-headers-$abi-common in trixie"
gcc=$(depends "linux-headers-$abi-$host" | grep -xE 'gcc-[0-9]+' | head -1)
[ -n "$gcc" ] || die "linux-headers-$abi-$host names no gcc-N in its Depends"
gv=${gcc#gcc-}

kernel=("linux-headers-$abi-common=$kver" "linux-kbuild-$abi=$kver")
for a in "${arches[@]}"; do
	kernel+=("linux-headers-$abi-$a:$a=$kver")
done
for a in "${images[@]}"; do
	# The unsigned image where there is one (the signed one differs only
	# by its signatures); riscv64 has only one.
	img=linux-image-$abi-$a-unsigned
	[ -n "$(candidate "$img:$a")" ] || img=linux-image-$abi-$a
	kernel+=("$img:$a=$kver")
	[ "$a" = "$host" ] || kernel+=("busybox-static:$a")
done
# The compilers: gcc-N and its cpp (cc1), binutils, and gcc's own headers
# (stdarg.h: libgcc-N-dev, or its -cross package for a cross compiler);
# pahole, which the kbuild runs for the modules' BTF.
tools=(pahole)
gccdev=()
for a in "${arches[@]}"; do
	t=$(gnu "$a")
	[ -n "$t" ] || die "dpkg-architecture knows no $a"
	t=${t//_/-}
	tools+=("gcc-$gv-$t" "cpp-$gv-$t" "binutils-$t")
	if [ "$a" = "$host" ]; then gccdev+=("libgcc-$gv-dev"); else gccdev+=("libgcc-$gv-dev-$a-cross"); fi
done
# The host libraries those programs and the kbuild's run on: the lib*
# packages (and gcc's -base) they depend on, transitively; the cross
# compilers' target libraries (-cross) and -dev packages are not run.
libs=()
next=("linux-kbuild-$abi" "${tools[@]}")
while [ "${#next[@]}" -gt 0 ]; do
	mapfile -t next < <(depends "${next[@]}" | grep -xE "lib[^:]*|gcc-$gv-base" |
		grep -vE -- '-(cross|dev)$' | LC_ALL=C sort -u |
		LC_ALL=C comm -23 - <(printf '%s\n' "${libs[@]}" | LC_ALL=C sort -u))
	libs+=("${next[@]}")
done
pkgs=("${kernel[@]}" "${tools[@]}" "${gccdev[@]}" "${libs[@]}")

# The .deb files apt would fetch: "FILE SIZE" lines.
files=$(apt-get "${A[@]}" download --print-uris "${pkgs[@]}" 2>"$apt/resolve.log" |
	awk '{ print $2, $3 }' | LC_ALL=C sort) ||
	{ cat "$apt/resolve.log" >&2; die "apt cannot resolve the package list"; }
[ "$(wc -l <<<"$files")" = "${#pkgs[@]}" ] ||
	{ cat "$apt/resolve.log" >&2; die "apt resolved ${#pkgs[@]} packages to $(wc -l <<<"$files") files"; }
what="kernel $abi ($kver), $gcc, ${#pkgs[@]} packages"

want=$(printf 'root=%s\n%s\n' "$root" "$(cut -d' ' -f1 <<<"$files")")
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	echo "deps-trixie: up to date: $what in $root" >&2
	exit 0
fi

# ---------------------------------------------------------------- download
# FILE is NAME_VERSION_ARCH.deb (an epoch's colon as %3a): apt-get download
# NAME:ARCH=VERSION, into a scratch folder first so that an interrupted
# download leaves no partial file under its final name.
got=0
bytes=0
tmp=$(mktemp -d "$dir/download.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# apt-get download as root hands the file to _apt, which must write here.
chmod 0777 "$tmp"
specs=()
while read -r f size; do
	[ ! -s "$debs/$f" ] || continue
	b=${f%.deb}
	arch=${b##*_}
	b=${b%_*}
	ver=${b##*_}
	name=${b%_*}
	[ "$arch" = all ] || name+=:$arch
	specs+=("$name=${ver//%3a/:}")
	got=$((got + 1))
	bytes=$((bytes + size))
done <<<"$files"
if [ "${#specs[@]}" -gt 0 ]; then
	(cd "$tmp" && apt-get "${A[@]}" download -q "${specs[@]}") >"$apt/download.log" 2>&1 ||
		{ cat "$apt/download.log" >&2; die "apt-get download failed"; }
	mv -f "$tmp"/*.deb "$debs/"
fi
# Files no longer wanted (older versions) go.
for f in "$debs"/*.deb; do
	grep -qxF -- "$(basename "$f")" <(cut -d' ' -f1 <<<"$files") || rm -f "$f"
done

# ---------------------------------------------------------------- unpack
new=$tmp/root
mkdir -p "$new"
while read -r f _; do
	dpkg-deb -x "$debs/$f" "$new"
done <<<"$files"
# Merged /usr, as trixie's own root: depmod -b and modprobe -d look in
# ROOT/lib/modules.
[ -e "$new/lib" ] || ln -s usr/lib "$new/lib"

# The headers include the -common Makefile by absolute path: DIR/root's,
# where this new root is about to move.
for a in "${arches[@]}"; do
	mk=$new/usr/src/linux-headers-$abi-$a/Makefile
	[ -f "$mk" ] || die "no linux-headers-$abi-$a/Makefile in the packages"
	sed -i "s|^include /usr/src/|include $root/usr/src/|" "$mk"
done

# Trixie's loader and libraries, as they will be once the root moves.
ldso=
for f in "$new/usr/lib/$hostma"/ld-linux*.so.*; do
	[ ! -e "$f" ] || ldso=$root/usr/lib/$hostma/$(basename "$f")
done
[ -n "$ldso" ] || die "no dynamic loader in trixie's libc6 ($new/usr/lib/$hostma)"
libpath=$root/usr/lib/$hostma
# Every dynamically linked program of the host's machine (PT_INTERP):
# FILE becomes FILE.elf, and FILE a wrapper that runs it with trixie's
# loader; --argv0 keeps the name the program was called by, from which
# gcc finds cc1 and the kbuild's modpost its real binary.
nwrap=0
while IFS= read -r -d '' f; do
	hdr=$(readelf -hlW "$f" 2>/dev/null) || continue
	grep -q 'Requesting program interpreter' <<<"$hdr" || continue
	grep -qE 'Machine:.*X86-64' <<<"$hdr" || continue
	mv -f "$f" "$f.elf"
	rel=${f#"$new"}
	printf "#!/bin/sh\n# trixie's %s, run by trixie's loader (tools/trixie/deps.sh)\nexec '%s' --library-path '%s' --argv0 \"\$0\" '%s.elf' \"\$@\"\n" \
		"$rel" "$ldso" "$libpath" "$root$rel" >"$f"
	chmod 0755 "$f"
	nwrap=$((nwrap + 1))
done < <(find "$new/usr/bin" "$new/usr/libexec" "$new/usr/lib/linux-kbuild-$abi" \
	-type f -perm -u+x ! -name '*.so' ! -name '*.so.*' -print0)
[ "$nwrap" -gt 0 ] || die "no program to wrap in $new"

# The native gcc looks for as and ld next to cc1, then in PATH, where the
# host's older binutils would answer.
t=$(gnu "$host")
ln -s "../../../../bin/$t-as" "$new/usr/libexec/gcc/$t/$gv/as"
ln -s "../../../../bin/$t-ld" "$new/usr/libexec/gcc/$t/$gv/ld"

for m in "$new"/usr/lib/modules/*/; do
	[ ! -d "$m/kernel" ] || depmod -b "$new" "$(basename "$m")"
done

rm -rf "$root"
mv "$new" "$root"
printf '%s\n' "$want" >"$stamp"
echo "deps-trixie: $what: downloaded $got ($((bytes / 1000000)) MB), unpacked into $root ($nwrap programs wrapped)" >&2
