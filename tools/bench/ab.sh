#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tools/bench/ab.sh: `make bench-ab`: bench-ring and bench-channels, BASE
# against the working tree, alternating in one boot / one run (A/B).
#
# usage: tools/bench/ab.sh BASE     (run by `make bench-ab BASE=<rev>`,
#                                    which builds side B's artifacts first)
# Side A is BASE, exported with `git archive` into build/ab/base/ and built
# there (its module, its bench-channels, and its bench-ring when that is to
# run: see AB_RING_BIN); side B is this working tree's kmod/vanity.ko,
# bench-ring and bench-channels.
# Both sides' artifacts are copied to build/ab/{a,b}/ first, so that a
# rebuild of the tree meanwhile cannot change a side halfway.
#   ring      one VM boot (tools/vm/run.sh, no module loaded at boot) runs
#             tools/bench/ab-ring-guest.sh: per round rmmod, insmod A's
#             module, bench-ring; rmmod, insmod B's, bench-ring
#   channels  natively, per round A's bench-channels then B's
# The machine-wide VM lock (tools/vm/lock.sh) is held from the first run
# to the last, so that no other VM's TCG threads share the two cores with
# either bench. Output: per bench one table (tools/bench/ab-summary.awk
# says what its columns mean); everything else under build/ab/: the runs'
# full output (ring.log, channels/*.out), the parsed records (*.tsv), the
# full tables (*.summary), the base build's log (base-build.log).
#
# Environment (mk/bench-ab.mk sets them from its knobs):
#   AB_ROUNDS        rounds per bench, each one run of each side (3)
#   AB_BENCHES       which benches: "ring channels" (both)
#   AB_RING_BIN      which bench-ring drives which module: auto (B's for
#                    both when include/uapi/linux/vanity.h is unchanged,
#                    else own), own (each side its own), a or b (that
#                    side's for both: a module that still takes the other
#                    side's ABI, so that only the modules differ)
#   AB_RUN_TIMEOUT   seconds one run of a bench may take (300)
#   AB_VM_TIMEOUT    seconds the whole ring boot may take (default
#                    240 + 2 x rounds x AB_RUN_TIMEOUT)
#   RING_BENCH_SECS, RING_BENCH_REPS, BENCH_QUICK, BENCH_REPS: the benches'
#                    own knobs, the same for both sides
#   KDIR             kernel build tree for A's module, the one B's make
#                    used (unset: A's Makefile picks it as B's did)
#   B_KO, B_RING_BIN, B_CHAN_BIN   side B's artifacts
#   KVER and the VM_* variables reach tools/vm/run.sh unchanged.
# Exit status: 0, or 1 if a build, a run or the VM failed (the tables
# still print what the other runs measured).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tree=$(cd "$here/../.." && pwd)
cd "$tree"

die() { echo "bench-ab: $*" >&2; exit 1; }

{ [ $# -eq 1 ] && [ -n "$1" ]; } || die "usage: make bench-ab BASE=<commit> (e.g. BASE=HEAD~1)"
base_rev=$1
rounds=${AB_ROUNDS:-3}
benches=${AB_BENCHES:-ring channels}
per=${AB_RUN_TIMEOUT:-300}
vm_timeout=${AB_VM_TIMEOUT:-$((240 + 2 * rounds * per))}
quick=${BENCH_QUICK-1}
case "$rounds" in '' | *[!0-9]* | 0) die "AB_ROUNDS=$rounds: a number >= 1" ;; esac
for b in $benches; do
	case "$b" in ring | channels) ;; *) die "AB_BENCHES: ring and/or channels, not $b" ;; esac
done
want() { case " $benches " in *" $1 "*) return 0 ;; esac; return 1; }

out=$tree/build/ab
srcdir=$out/base
mkdir -p "$out"
sha=$(git rev-parse --verify -q "$base_rev^{commit}") || die "BASE=$base_rev: not a commit here"
head=$(git rev-parse --short HEAD)
dirty=$(git status --porcelain --untracked-files=normal -- . ':!build' | wc -l)
b_desc="working tree (HEAD $head + $dirty changed files)"
[ "$dirty" != 0 ] || b_desc="working tree (HEAD $head, clean)"
a_desc="BASE $(git rev-parse --short "$sha")"
[ "$sha" != "$(git rev-parse HEAD)" ] || [ "$dirty" != 0 ] ||
	echo "bench-ab: warning: BASE is HEAD and the tree is clean: an A/A run" >&2

fail=0

# ------------------------------------------------------------ side A's build
# A fresh export per commit; kept between runs of the same BASE so that a
# second run builds nothing. No dependency files (-MF /dev/null): the main
# tree's Makefile includes every *.d under build/, and A's would add A's
# headers to B's objects.
if [ "$(cat "$srcdir/.ab-commit" 2>/dev/null)" != "$sha" ]; then
	rm -rf "$srcdir"
	mkdir -p "$srcdir"
	git archive --format=tar "$sha" | tar -x -C "$srcdir"
	echo "$sha" >"$srcdir/.ab-commit"
fi
# Which bench-ring drives which module: with the UAPI unchanged one binary
# (B's) drives both, so that only the modules differ.
ring_use=${AB_RING_BIN:-auto}
uapi="include/uapi/linux/vanity.h identical"
if ! git diff --quiet "$sha" -- include/uapi/linux/vanity.h; then
	uapi="include/uapi/linux/vanity.h differs"
	[ "$ring_use" != auto ] || ring_use=own
fi
case "$ring_use" in
auto) ring_use=b ;;
own | a | b) ;;
*) die "AB_RING_BIN=$ring_use: auto, own, a or b" ;;
esac
a_goals=()
want channels && a_goals+=(build/tests/bench/bench-channels)
want ring && [ "$ring_use" != b ] && a_goals+=(build/tests/bench/ring/bench-ring)
# The outer make's flags stay out: A is built with the tree's defaults
# and this KDIR only, as B was by `make`.
amake() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -j"$(nproc)" -C "$srcdir" \
		${KDIR:+KDIR="$KDIR"} "$@"
}
echo "bench-ab: building $a_desc in ${srcdir#"$tree"/} (log build/ab/base-build.log)" >&2
{
	{ ! want ring || amake kmod; } &&
		{ [ ${#a_goals[@]} = 0 ] || CFLAGS="-O2 -g -MF /dev/null" amake "${a_goals[@]}"; }
} >"$out/base-build.log" 2>&1 || {
	tail -30 "$out/base-build.log" >&2
	die "building $a_desc failed (build/ab/base-build.log)"
}
find "$srcdir" -name '*.d' -type f -delete

# ------------------------------------------------------------ snapshot
rm -rf "$out/a" "$out/b"
mkdir -p "$out/a" "$out/b"
if want ring; then
	cp "$srcdir/kmod/vanity.ko" "$out/a/vanity.ko"
	cp "$B_KO" "$out/b/vanity.ko"
	cp "$B_RING_BIN" "$out/b/bench-ring"
	[ "$ring_use" = b ] || cp "$srcdir/build/tests/bench/ring/bench-ring" "$out/a/bench-ring"
	ring_a=$out/a/bench-ring ring_b=$out/b/bench-ring
	case "$ring_use" in
	own) ring_bin="each side its own bench-ring ($uapi)" ;;
	a) ring_b=$ring_a ring_bin="one bench-ring binary, A's, for both ($uapi)" ;;
	b) ring_a=$ring_b ring_bin="one bench-ring binary, B's, for both ($uapi)" ;;
	esac
	for s in a b; do
		v=$(modinfo -F vermagic "$out/$s/vanity.ko" 2>/dev/null || :)
		[ -z "${KVER:-}" ] || [ "${v%% *}" = "$KVER" ] ||
			echo "bench-ab: warning: $s/vanity.ko is for ${v%% *}, the VM boots $KVER" >&2
	done
	a_src=$(sha1sum "$out/a/vanity.ko" | cut -c1-10)
	b_src=$(sha1sum "$out/b/vanity.ko" | cut -c1-10)
	[ "$a_src" != "$b_src" ] ||
		echo "bench-ab: warning: both sides' vanity.ko are the same file (sha1 $a_src...)" >&2
fi
if want channels; then
	cp "$srcdir/build/tests/bench/bench-channels" "$out/a/bench-channels"
	cp "$B_CHAN_BIN" "$out/b/bench-channels"
fi

# The benches from here on: no other VM meanwhile. tools/vm/run.sh sees
# the lock held by its caller and does not wait for itself.
# shellcheck source=tools/vm/lock.sh
. "$tree/tools/vm/lock.sh"
vm_lock 8 bench-ab

tables=()
# summarize NAME SHOW CONTROL TITLE: every figure in build/ab/NAME.summary,
# those matching SHOW in the table printed at the end.
summarize() {
	local show to
	for to in summary short; do
		show=.
		[ "$to" = summary ] || show=$2
		awk -F'\t' -v nrounds="$rounds" -v show="$show" -v control="$3" \
			-v title="$4" -v full="build/ab/$1.summary" \
			-f "$here/ab-summary.awk" "$out/$1.tsv" >"$out/$1.$to"
	done
	tables+=("$out/$1.short")
}

# ------------------------------------------------------------ ring, in the VM
# Records of each run that exited 0; the others are reported.
parse_ring() {
	awk -v OFS='\t' '
	function add(f, better, v, goal) {
		sub(/x?\*?$/, "", v)
		if (v ~ /^[0-9.]+$/)
			buf[++n] = side OFS round OFS f OFS better OFS v OFS goal
	}
	/^AB-RING-BEGIN / {
		split($2, a, "="); side = a[2]
		split($3, a, "="); round = a[2]
		n = 0; on = 1; next
	}
	/^AB-RING-END / {
		split($4, a, "="); rc = a[2]
		if (rc == 0)
			for (i = 1; i <= n; i++) print buf[i]
		else
			printf "bench-ab: ring side %s round %s failed (%s %s), left out\n", side, round, $4, $5 > "/dev/stderr"
		on = 0; next
	}
	!on { next }
	/^(throughput|latency) +[0-9]+ +\|/ {
		add("vanity-enter/" $1 "/" $2, "lo", $4)
		add("io_uring/" $1 "/" $2, "lo", $5)
		add("vanity-sqpoll/" $1 "/" $2, "lo", $8)
		add("io_uring-sqpoll/" $1 "/" $2, "lo", $9)
		next
	}
	/^Empty kernel entries/ {
		s = substr($0, index($0, "): ") + 3)
		k = split(s, it, "; ")
		for (i = 1; i <= k; i++) {
			m = split(it[i], w, " ")
			name = w[1]
			for (j = 2; j < m; j++) name = name " " w[j]
			add("floor/" name, "lo", w[m])
		}
		next
	}
	/^target .*: [0-9.]+x \(goal [0-9.]+x\)/ {
		match($0, /: [0-9.]+x \(goal /)
		name = substr($0, 8, RSTART - 8)
		v = substr($0, RSTART + 2); sub(/x .*/, "", v)
		g = substr($0, RSTART + RLENGTH); sub(/x\).*/, "", g)
		add("target/" name, "hi", v, g)
	}' "$@"
}

if want ring; then
	echo "bench-ab: ring: one VM boot, $rounds rounds A,B (about $((rounds * 2)) min under TCG; limit ${vm_timeout}s)" >&2
	vm_rc=0
	VM_OUT=$out/vm VM_PCI=0 VANITY_KO=none VM_TIMEOUT=$vm_timeout \
		tools/vm/run.sh "RING_BENCH_SECS=${RING_BENCH_SECS:-0.15}" \
		"RING_BENCH_REPS=${RING_BENCH_REPS:-7}" RING_BENCH_ONLY= \
		sh tools/bench/ab-ring-guest.sh "$rounds" "$per" \
		"$out/a/vanity.ko" "$ring_a" "$out/b/vanity.ko" "$ring_b" \
		>"$out/ring-vm.out" 2>&1 || vm_rc=$?
	cp "$out/vm/cmd.log" "$out/ring.log" 2>/dev/null || : >"$out/ring.log"
	if [ "$vm_rc" != 0 ]; then
		fail=1
		grep '^vm: ' "$out/ring-vm.out" | tail -12 >&2 || :
		echo "bench-ab: ring: the VM run failed (status $vm_rc; build/ab/ring-vm.out, build/ab/vm/)" >&2
	fi
	# Each run names the module it loaded: the side's own, or no figures.
	if awk -v a="ko=$a_src" -v b="ko=$b_src" '/^AB-RING-BEGIN / &&
		!(($2 == "side=A" && $4 == a) || ($2 == "side=B" && $4 == b)) { bad = 1 }
		END { exit !bad }' "$out/ring.log"; then
		fail=1
		echo "bench-ab: ring: a run loaded the other side's module (build/ab/ring.log): no table" >&2
		: >"$out/ring.log"
	fi
	parse_ring "$out/ring.log" >"$out/ring.tsv"
	summarize ring . '^io_uring|^floor/(getppid|io_uring_enter|cache-line)' \
		"== bench-ab ring: A = $a_desc (vanity.ko sha1 $a_src), B = $b_desc (vanity.ko sha1 $b_src); $rounds rounds A,B in one boot; $ring_bin; ns/op, lower is better; RING_BENCH_SECS=${RING_BENCH_SECS:-0.15} RING_BENCH_REPS=${RING_BENCH_REPS:-7}"
fi

# ------------------------------------------------------------ channels, natively
parse_channels() { # SIDE ROUND FILE
	awk -v OFS='\t' -v side="$1" -v round="$2" '
	function add(f, better, v, goal) {
		sub(/[x*%]+$/, "", v)
		if (v ~ /^[0-9.]+$/)
			print side, round, f, better, v, goal
	}
	/^size +burst +\|/ {
		split($0, seg, "|"); nt = split(seg[2], tpn, " "); sect = "tp"; next
	}
	sect == "tp" && /^ *[0-9]+B +[0-9]+ +\|/ {
		split($0, seg, "|"); split(seg[1], k, " "); nv = split(seg[2], tv, " ")
		for (i = 1; i <= nv && i <= nt; i++)
			add("tp/" tpn[i] "/" k[1] "/b" k[2], "hi", tv[i])
		next
	}
	/^peer +p50 +p99 +p99\.9/ { sect = "rt"; next }
	sect == "rt" && /^floor:/ { sect = ""; next }
	sect == "rt" && NF >= 4 && $2 ~ /^[0-9]+$/ {
		add("rt/" $1 "/p50", "lo", $2); add("rt/" $1 "/p99", "lo", $3)
		add("rt/" $1 "/p99.9", "lo", $4); next
	}
	/^ +gap +\|/ {
		n = split($0, seg, "|"); nw = 0
		for (i = 2; i <= n; i++) {
			split(seg[i], w, " ")
			# "vanity/0" (spin budget 0): one path component
			if (w[1] != "") { gsub(/\//, "-", w[1]); wkn[++nw] = w[1] }
		}
		sect = "wake"; next
	}
	sect == "wake" && /^ *[0-9]+(us|ms) +\|/ {
		n = split($0, seg, "|"); gap = seg[1]; gsub(/ /, "", gap)
		for (i = 2; i <= n && i - 1 <= nw; i++) {
			split(seg[i], w, " ")
			add("wake/" wkn[i - 1] "/" gap "/p50", "lo", w[1])
			add("wake/" wkn[i - 1] "/" gap "/p99", "lo", w[2])
		}
		next
	}
	/membarrier\(PRIVATE_EXPEDITED\) with the peer busy/ {
		sect = ""
		s = $0; sub(/.*: p50 /, "", s); split(s, w, " ")
		add("mb/membarrier/p50", "lo", w[1])
		s = $0; sub(/.*, p99 /, "", s); split(s, w, " ")
		add("mb/membarrier/p99", "lo", w[1])
		next
	}
	/^target .*: [0-9.]+x \(goal [0-9.]+x\)/ {
		match($0, /: [0-9.]+x \(goal /)
		name = substr($0, 8, RSTART - 8)
		v = substr($0, RSTART + 2); sub(/x .*/, "", v)
		g = substr($0, RSTART + RLENGTH); sub(/x\).*/, "", g)
		add("target/" name, "hi", v, g); next
	}
	/^elapsed [0-9.]+ s; other processes took [0-9]+%/ {
		add("host/elapsed-s", "lo", $2)
		s = $0; sub(/.*other processes took /, "", s); sub(/%.*/, "", s)
		add("host/other-load-%", "lo", s)
	}' "$3"
}

if want channels; then
	echo "bench-ab: channels: $rounds rounds A,B natively, BENCH_QUICK=$quick (about $((rounds * 2 * (${quick:-0} == 1 ? 25 : 100))) s)" >&2
	rm -rf "$out/channels"
	mkdir -p "$out/channels"
	: >"$out/channels.tsv"
	for r in $(seq "$rounds"); do
		for side in A B; do
			bin=$out/$(tr AB ab <<<"$side")/bench-channels
			f=$out/channels/$side.$r.out
			rc=0
			BENCH_QUICK=$quick BENCH_REPS=${BENCH_REPS:-} BENCH_EXP='' BENCH_ONLY='' \
				timeout -k 10 "$per" "$bin" >"$f" 2>&1 || rc=$?
			if [ "$rc" != 0 ]; then
				fail=1
				echo "bench-ab: channels side $side round $r: exit $rc (build/ab/channels/$side.$r.out)" >&2
			fi
			parse_channels "$side" "$r" "$f" >>"$out/channels.tsv"
		done
	done
	summarize channels '^(tp/vanity|rt/vanity|wake/vanity|target/|host/)' \
		'^(tp/(rte_ring|msg_ring|pipe|eventfd)|rt/(floor|floor-2line|rte_ring|msg_ring|eventfd|pipe)|wake/(eventfd|futex)|mb)/' \
		"== bench-ab channels: A = $a_desc, B = $b_desc; $rounds rounds A,B natively ($(nproc) CPUs); BENCH_QUICK=$quick; tp Mmsg/s (hi), rt/wake/mb ns (lo)"
fi

# ------------------------------------------------------------ report
for t in "${tables[@]}"; do
	echo
	cat "$t"
done | tee "$out/summary.txt"
exit "$fail"
