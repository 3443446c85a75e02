#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tools/riscv64/libs.sh: cross builds, as static archives for riscv64, the
# two libraries vanityctl links that Debian 12 has no riscv64 binaries of,
# from the source packages tools/riscv64/deps.sh unpacked:
#   libinih  ini.c with the flags of Debian's build (INI_HANDLER_LINENO=1,
#            its "distro_install" meson option), plain cc: no meson needed;
#   libnl3   configure --host=riscv64-linux-gnu, then only libnl-3 and
#            libnl-genl-3 (about 10 s here); configure wants bison and flex.
# Installs headers and archives into SYSROOT/{include,lib}; the build trees
# stay in OUT/. A few seconds when nothing changed is not needed: make
# calls this only when SYSROOT/.vanity-libs is older than the sources.
#
# usage: tools/riscv64/libs.sh SRC OUT SYSROOT     (SRC: deps.sh's DIR/src)
# environment: RV64_CROSS (default riscv64-linux-gnu-), MAKE.
set -euo pipefail

src=${1:?usage: libs.sh SRC OUT SYSROOT}
out=${2:?usage: libs.sh SRC OUT SYSROOT}
sysroot=${3:?usage: libs.sh SRC OUT SYSROOT}
cross=${RV64_CROSS:-riscv64-linux-gnu-}
make=${MAKE:-make}

die() {
	echo "libs-riscv64: error: $*" >&2
	exit 1
}

for p in libinih libnl3; do
	[ -d "$src/$p/" ] || die "no $src/$p: run 'make deps-riscv64' (as root: make deps)"
done
command -v "${cross}gcc" >/dev/null || die "no ${cross}gcc: apt-get install gcc-riscv64-linux-gnu"
mkdir -p "$out" "$sysroot/include" "$sysroot/lib"
out=$(cd "$out" && pwd)
sysroot=$(cd "$sysroot" && pwd)
src=$(cd "$src" && pwd)

# ---------------------------------------------------------------- libinih
inih=$src/libinih
rm -rf "$out/inih" && mkdir -p "$out/inih"
"${cross}gcc" -O2 -g -fPIC -DINI_HANDLER_LINENO=1 -c "$inih/ini.c" -o "$out/inih/ini.o"
rm -f "$sysroot/lib/libinih.a"
"${cross}ar" rcs "$sysroot/lib/libinih.a" "$out/inih/ini.o"
cp "$inih/ini.h" "$sysroot/include/ini.h"
echo "libs-riscv64: libinih $(cat "$src/libinih.version")" >&2

# ---------------------------------------------------------------- libnl3
# Out of the source tree, so the unpacked package stays as Debian made it.
nl=$src/libnl3
b=$out/libnl
if [ ! -f "$b/config.status" ] || [ "$nl/configure" -nt "$b/config.status" ]; then
	rm -rf "$b" && mkdir -p "$b"
	(cd "$b" && "$nl/configure" --host="${cross%-}" --prefix=/usr \
		--disable-shared --enable-static --disable-cli --disable-debug \
		CFLAGS='-O2 -g -fPIC') >"$out/libnl-configure.log" 2>&1 ||
		{ tail -20 "$out/libnl-configure.log" >&2; die "libnl configure failed (log: $out/libnl-configure.log)"; }
fi
"$make" -C "$b" -j"$(nproc)" lib/libnl-3.la lib/libnl-genl-3.la \
	>"$out/libnl-make.log" 2>&1 ||
	{ tail -20 "$out/libnl-make.log" >&2; die "libnl build failed (log: $out/libnl-make.log)"; }
cp "$b/lib/.libs/libnl-3.a" "$b/lib/.libs/libnl-genl-3.a" "$sysroot/lib/"
# The headers: the package's own, and the generated version.h.
rm -rf "$sysroot/include/libnl3" && mkdir -p "$sysroot/include/libnl3"
cp -r "$nl/include/netlink" "$sysroot/include/libnl3/"
cp "$b/include/netlink/version.h" "$sysroot/include/libnl3/netlink/version.h"
echo "libs-riscv64: libnl3 $(cat "$src/libnl3.version")" >&2
touch "$sysroot/.vanity-libs"
