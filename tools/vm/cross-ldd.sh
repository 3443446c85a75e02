#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tools/vm/cross-ldd.sh: `ldd` for a guest whose programs the host cannot
# run (VM_A_LDD of tools/vm/arch.sh for arm64). It reads the ELF dynamic
# section instead of running anything. A static program: prints "not a
# dynamic executable" and exits 1, as ldd does. A dynamic one: prints
# "NAME => not found" for each needed library (the guest's libraries are
# not resolved yet), so tools/vm/mkinitramfs.sh warns about it.
#
# usage: tools/vm/cross-ldd.sh FILE
set -euo pipefail
f=${1:?usage: cross-ldd.sh FILE}
readelf=readelf
command -v "$readelf" >/dev/null || readelf=aarch64-linux-gnu-readelf
[ -r "$f" ] || { echo "cross-ldd: $f: cannot read" >&2; exit 1; }
hdr=$("$readelf" -h "$f" 2>/dev/null) || { echo "	not a dynamic executable" >&2; exit 1; }
dyn=$("$readelf" -d "$f" 2>/dev/null || :)
if ! grep -q 'There is no dynamic section' <<<"$dyn" && grep -q '(NEEDED)' <<<"$dyn"; then
	sed -n 's/.*(NEEDED).*\[\(.*\)\]$/	\1 => not found/p' <<<"$dyn"
	exit 0
fi
# static-pie has a dynamic section but needs nothing: still static.
: "$hdr"
echo "	not a dynamic executable" >&2
exit 1
