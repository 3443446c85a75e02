#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tools/riscv64/check.sh: the riscv64 checks of `make check-riscv64` beyond
# the channel stress, on what `make riscv64` built (in OUT). Each prints
# one line, "riscv64: ok ..." or "riscv64: FAIL ...", which tools/check.sh
# counts; exit 1 when any failed.
#
#   image     vanityctl build under qemu-riscv64 writes the same bytes as
#             the x86_64 vanityctl for every examples/*/*.ini
#   refuse    a bad manifest is refused by both with the same message,
#             exit 1 and no image left behind (one line per manifest)
#   routes    the riscv64 mkroutes writes the x86_64 one's route file
#   hello     the x86_64 vanityctl run, on its hosted simulator, starts the
#             riscv64 hello shards (each under qemu-riscv64): both attach,
#             map their region and both channels, exit 0
#   pipeline  the same with the four-stage pipeline, all riscv64, then
#             mixed (gen and route riscv64, parse and sink x86_64, so every
#             channel has one endpoint of each): every frame accounted for
#             from the stages' own counts, none lost or duplicated
#
# usage: tools/riscv64/check.sh OUT        (OUT: build/riscv64)
# environment: RV64_RUN (qemu-riscv64), RV64_LIBC (/usr/riscv64-linux-gnu,
# the C library of the dynamically linked examples).
set -uo pipefail

out=${1:?usage: check.sh OUT}
run=${RV64_RUN:-qemu-riscv64}
libc=${RV64_LIBC:-/usr/riscv64-linux-gnu}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tree=$(cd "$here/../.." && pwd)
cd "$tree" || exit 1
out=${out%/}
work=$out/check
rm -rf "$work" && mkdir -p "$work"
ctl=tools/vanityctl
rvctl=$out/tools/vanityctl
qemu=$(command -v "$run") || { echo "riscv64: FAIL no $run (apt-get install qemu-user)"; exit 1; }
fail=0

ok() { echo "riscv64: ok $*"; }
bad() { echo "riscv64: FAIL $*"; fail=1; }

# ---------------------------------------------------------------- image
for m in examples/*/*.ini; do
	n=$(basename "$(dirname "$m")")-$(basename "$m" .ini)
	if ! "$ctl" build "$m" -o "$work/$n.x86_64.vimg" >/dev/null 2>"$work/$n.err"; then
		bad "image $m: the x86_64 vanityctl refused it: $(head -1 "$work/$n.err")"
	elif ! "$run" "$rvctl" build "$m" -o "$work/$n.riscv64.vimg" >/dev/null 2>"$work/$n.err"; then
		bad "image $m: the riscv64 vanityctl refused it: $(head -1 "$work/$n.err")"
	elif ! cmp -s "$work/$n.x86_64.vimg" "$work/$n.riscv64.vimg"; then
		bad "image $m: riscv64 and x86_64 images differ ($(cmp "$work/$n.x86_64.vimg" "$work/$n.riscv64.vimg" 2>&1 | head -1))"
	else
		ok "image $m: $(stat -c %s "$work/$n.riscv64.vimg") bytes, the same as x86_64's"
	fi
done

# ---------------------------------------------------------------- refuse
# name, then the manifest
refusals=(
	"memory-not-4k" $'[system]\nname = bad\n\n[shard a]\ncpus = 1\nmemory = 3K\n'
	"unknown-key" $'[system]\nname = bad\ncolour = blue\n\n[shard a]\ncpus = 1\nmemory = 4K\n'
	"equal-endpoints" $'[system]\nname = bad\n\n[shard a]\ncpus = 1\nmemory = 4K\n\n[channel c]\nfrom = a\nto = a\nslot_size = 64\nslots = 8\n'
	"slots-not-power-of-two" $'[system]\nname = bad\n\n[shard a]\ncpus = 1\nmemory = 4K\n\n[shard b]\ncpus = 1\nmemory = 4K\n\n[channel c]\nfrom = a\nto = b\nslot_size = 64\nslots = 7\n'
)
for ((i = 0; i < ${#refusals[@]}; i += 2)); do
	n=${refusals[i]}
	m=$work/refuse-$n.ini
	printf '%s' "${refusals[i + 1]}" >"$m"
	rx=0 rr=0
	"$ctl" build "$m" -o "$work/refuse-$n.x86_64.vimg" >/dev/null 2>"$work/refuse-$n.x86_64.err" || rx=$?
	"$run" "$rvctl" build "$m" -o "$work/refuse-$n.riscv64.vimg" >/dev/null 2>"$work/refuse-$n.riscv64.err" || rr=$?
	if [ "$rx" != 1 ] || [ "$rr" != 1 ]; then
		bad "refuse $n: exit $rx (x86_64), $rr (riscv64), want 1"
	elif [ ! -s "$work/refuse-$n.x86_64.err" ] ||
		! cmp -s "$work/refuse-$n.x86_64.err" "$work/refuse-$n.riscv64.err"; then
		bad "refuse $n: messages differ: '$(head -1 "$work/refuse-$n.x86_64.err")' vs '$(head -1 "$work/refuse-$n.riscv64.err")'"
	elif [ -e "$work/refuse-$n.x86_64.vimg" ] || [ -e "$work/refuse-$n.riscv64.vimg" ]; then
		bad "refuse $n: an image was left behind"
	else
		ok "refuse $n: $(head -1 "$work/refuse-$n.riscv64.err")"
	fi
done

# ---------------------------------------------------------------- routes
# (the x86_64 file is the pipeline runs' below)
examples/pipeline/mkroutes -o "$work/routes.x86_64.txt" >/dev/null 2>&1
if "$run" -L "$libc" "$out/examples/pipeline/mkroutes" -o "$work/routes.riscv64.txt" >/dev/null 2>&1 &&
	[ -s "$work/routes.x86_64.txt" ] &&
	cmp -s "$work/routes.riscv64.txt" "$work/routes.x86_64.txt"; then
	ok "routes: mkroutes writes the same $(wc -l <"$work/routes.riscv64.txt") routes on both"
else
	bad "routes: riscv64 and x86_64 mkroutes disagree or failed"
fi

# ---------------------------------------------------------------- hosted
# The shards' program lines, rewritten to run the riscv64 build under qemu.
rv_prog="$qemu -L $libc $out/"

hello=$work/hello.ini
sed "s|^program = \./|program = ${rv_prog}examples/hello/|" examples/hello/hello.ini >"$hello"
rc=0
timeout 120 "$ctl" run "$hello" --backend hosted >"$work/hello.log" 2>&1 || rc=$?
# hello's lines, printed by itself or carried by vanityctl run's log events
att=$(grep -cE 'hello: shard (left|right) \(index [01]\).* 65536 bytes of memory' "$work/hello.log")
chans=$(grep -cE 'hello: channel (ltr|rtl): (sending|receiving) end' "$work/hello.log")
if [ "$rc" = 0 ] && [ "$att" = 2 ] && [ "$chans" = 4 ]; then
	ok "hello: riscv64 shards on the x86_64 hosted simulator: 2 attached, 4 channel ends mapped"
else
	bad "hello: exit $rc, $att of 2 shards attached, $chans of 4 channel ends (log: $work/hello.log)"
fi

# num LINE KEY: the number after "KEY": in a JSON line.
num() { sed -n "s/.*\"$2\":\([0-9][0-9]*\).*/\1/p" <<<"$1" | head -1; }

# stage NAME LOG: the JSON line of pipeline stage NAME's counts, printed by
# itself or carried by vanityctl run's log event.
stage() { grep -E "^\{\"shard\":\"$1\"|\"json\":\{\"shard\":\"$1\"" "$2" | tail -1; }

# pipeline NAME SED...: run the pipeline manifest rewritten by SED and
# account for every frame from the four stages' JSON lines.
pipeline() {
	local name=$1 m=$work/pipeline-$1.ini log=$work/pipeline-$1.log rc=0
	local gen parse route sink why=
	shift
	# Then the x86_64 programs, ./NAME beside the original manifest.
	sed "$@" -e "s|^program = \./|program = $tree/examples/pipeline/|" \
		examples/pipeline/pipeline.ini >"$m"
	timeout 300 "$ctl" run "$m" --backend hosted -j >"$log" 2>&1 || rc=$?
	gen=$(stage gen "$log") parse=$(stage parse "$log")
	route=$(stage route "$log") sink=$(stage sink "$log")
	local tx good prx ptx pdrop rrx rtx rdrop del lost dup v
	tx=$(num "$gen" tx) good=$(num "$gen" good)
	prx=$(num "$parse" rx) ptx=$(num "$parse" tx) pdrop=$(num "$parse" dropped)
	rrx=$(num "$route" rx) rtx=$(num "$route" tx) rdrop=$(num "$route" dropped)
	del=$(num "$sink" delivered) lost=$(num "$sink" lost) dup=$(num "$sink" dup)
	for v in "$tx" "$good" "$prx" "$ptx" "$pdrop" "$rrx" "$rtx" "$rdrop" \
		"$del" "$lost" "$dup"; do
		[ -n "$v" ] || why="a stage's counts are missing"
	done
	if [ "$rc" != 0 ] || ! grep -q '"event":"summary".*"ok":true' "$log"; then
		why="run exit $rc, not ok"
	elif [ -n "$why" ]; then
		:
	elif [ "$tx" = 0 ] || [ "$prx" != "$tx" ] || [ "$ptx" != "$good" ] ||
		[ $((ptx + pdrop)) != "$prx" ] || [ "$rrx" != "$ptx" ] ||
		[ $((rtx + rdrop)) != "$rrx" ] || [ "$del" != "$rtx" ]; then
		why="frames unaccounted: gen $tx ($good good), parse $prx in $ptx out $pdrop dropped, route $rrx in $rtx out $rdrop dropped, sink $del"
	elif [ "$lost" != 0 ] || [ "$dup" != 0 ]; then
		why="sink: $lost lost, $dup duplicated"
	fi
	if [ -n "$why" ]; then
		bad "pipeline $name: $why (log: $log)"
	else
		ok "pipeline $name: $tx frames, the $pdrop generated bad dropped by parse, $del delivered, none lost or duplicated"
	fi
}
pipeline riscv64 -e "s|^program = \./|program = ${rv_prog}examples/pipeline/|"
pipeline mixed -e "s|^program = \./gen|program = ${rv_prog}examples/pipeline/gen|" \
	-e "s|^program = \./route|program = ${rv_prog}examples/pipeline/route|"

exit $fail
