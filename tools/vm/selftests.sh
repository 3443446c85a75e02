#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tools/vm/selftests.sh: runs every selftest binary against the real module
# in ONE boot of the test VM and counts the results (`make vm-selftests`).
#
# Owns the host side of the selftest run: boots tools/vm/run.sh with
# tools/vm/selftests-guest.sh, parses the TAP each binary printed, prints a
# per-binary table and writes $VM_OUT/selftests.counts as one line
#   passed=N failed=N
# Counting rules: `ok` is a pass; `not ok` is a failure; `ok ... # SKIP`
# (and a `1..0 # SKIP` plan) is a failure, so skipped tests are visibly not
# passed. On top of its TAP lines, a binary counts as failed
#   - once more if it exited non-zero with no failing or skipped result,
#   - for every planned result it never printed, at least once, if it timed
#     out or did not finish (guest hung or crashed),
#   - once if it never ran (earlier hang or crash, insmod failure, ...).
# A kernel splat or a failed rmmod adds one failure that no binary owns.
# A binary with no TAP output that exited 0 counts as one pass.
#
# usage: tools/vm/selftests.sh [DIR]   (default TREE/build/tests/selftests)
# environment: VM_TEST_TIMEOUT per-binary limit in seconds (default 300),
# VM_ST_ENV NAME=VALUE words the selftests run with in the guest,
# VM_ST_EXPECT the names the build made (each one missing from DIR, or not
# executable there, counts one failure), and everything tools/vm/run.sh
# takes (VM_TIMEOUT, VM_OUT, KVER, ...).
# Exit status: 0 when nothing failed, else 1.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tree=$(cd "$here/../.." && pwd)
dir=${1:-$tree/build/tests/selftests}
VM_OUT=${VM_OUT:-$tree/build/vm}
mkdir -p "$VM_OUT"
VM_OUT=$(cd "$VM_OUT" && pwd)
export VM_OUT
# Hold the VM lock for the whole run, parsing included, so that a run in
# the same tree cannot overwrite our logs; run.sh sees we hold it.
# shellcheck source=tools/vm/lock.sh
. "$here/lock.sh"
vm_lock 8 selftests
counts=$VM_OUT/selftests.counts
summary=$VM_OUT/selftests.summary
list=$VM_OUT/selftests.list
rm -f "$counts" "$summary"

if [ ! -d "$dir" ]; then
	echo "selftests: no directory $dir (run 'make selftests-build')" >&2
	echo "passed=0 failed=1" >"$counts"
	exit 1
fi
dir=$(cd "$dir" && pwd)
case "$dir" in
"$tree"/*) ;;
*)
	echo "selftests: $dir is outside the project tree $tree, so not in the VM" >&2
	echo "passed=0 failed=1" >"$counts"
	exit 1
	;;
esac
# The same selection the guest makes: executable regular files, byte order.
find "$dir" -mindepth 1 -maxdepth 1 -type f -perm -u+x -printf '%f\n' |
	LC_ALL=C sort >"$list"
if [ ! -s "$list" ]; then
	echo "selftests: no selftest binaries in $dir" >&2
	echo "passed=0 failed=1" >"$counts"
	exit 1
fi
echo "selftests: $(wc -l <"$list") binaries in ${dir#"$tree"/}" >&2

rel=${dir#"$tree"/}
run_rc=0
"$here/run.sh" -- "${VM_ST_ENV:+env $VM_ST_ENV }sh tools/vm/selftests-guest.sh '$rel' ${VM_TEST_TIMEOUT:-300}" ||
	run_rc=$?

status=infra
if [ -f "$VM_OUT/run.result" ]; then
	status=$(sed -n 's/^status=//p' "$VM_OUT/run.result")
fi
touch "$VM_OUT/cmd.log"

table=$(tr -d '\r' <"$VM_OUT/cmd.log" | awk -v listfile="$list" '
	function max(a, b) { return a > b ? a : b }
	BEGIN {
		while ((getline l < listfile) > 0) { order[++nb] = l; known[l] = 1 }
	}
	/^VANITY-SELFTEST-BEGIN / {
		cur = $2; begun[cur] = 1; plan[cur] = -1
		if (!(cur in known)) { order[++nb] = cur; known[cur] = 1 }
		next
	}
	/^VANITY-SELFTEST-END / {
		if ($2 == cur) {
			ended[cur] = 1
			for (i = 3; i <= NF; i++) {
				split($i, kv, "=")
				if (kv[1] == "rc") rc[cur] = kv[2] + 0
				else if (kv[1] == "timedout") to[cur] = kv[2] + 0
				else if (kv[1] == "secs") secs[cur] = kv[2]
			}
		}
		cur = ""
		next
	}
	cur == "" { next }
	/^1\.\.[0-9]+/ {
		plan[cur] = substr($0, 4) + 0
		if (plan[cur] == 0 && tolower($0) ~ /#[ \t]*skip/) planskip[cur] = 1
		next
	}
	/^not ok([ \t]|$)/ { nok[cur]++; seen[cur]++; next }
	/^ok([ \t]|$)/ {
		seen[cur]++
		if (tolower($0) ~ /#[ \t]*skip/) skip[cur]++; else okc[cur]++
		next
	}
	END {
		tp = tf = 0
		for (i = 1; i <= nb; i++) {
			b = order[i]
			p = okc[b] + 0; f = nok[b] + skip[b]; extra = 0; why = ""
			missing = (b in plan && plan[b] > seen[b]) ? plan[b] - seen[b] : 0
			if (!(b in begun)) {
				extra = 1; why = "never ran"
			} else if (!(b in ended)) {
				extra = max(1, missing); why = "did not finish (guest hung or crashed)"
			} else if (to[b]) {
				extra = max(1, missing); why = "timed out after " secs[b] "s"
			} else if (missing > 0) {
				extra = missing; why = missing " planned result(s) missing, exit " rc[b]
			} else if (seen[b] == 0 && planskip[b]) {
				extra = 1; why = "skipped entirely"
			} else if (rc[b] != 0 && nok[b] + skip[b] == 0) {
				extra = 1; why = "exit status " rc[b] " without a failing result"
			} else if (seen[b] + 0 == 0 && rc[b] == 0) {
				p = 1; why = "no TAP results, passed by exit status"
			}
			f += extra
			if (skip[b] > 0) why = (why == "" ? "" : why ", ") skip[b] " skipped"
			printf "%-32s %4d passed %4d failed%s\n", b, p, f, (why == "" ? "" : "  (" why ")")
			tp += p; tf += f
		}
		printf "TOTAL %d %d\n", tp, tf
	}')

printf '%s\n' "$table" | grep -v '^TOTAL ' >"$summary"
read -r _ passed failed < <(printf '%s\n' "$table" | grep '^TOTAL ')
case "$status" in
splat | rmmod-failed)
	echo "selftests: the VM run failed ($status): counted as one more failure" >&2
	failed=$((failed + 1))
	;;
ok | failed) ;;
*) echo "selftests: the VM run failed ($status)" >&2 ;;
esac
[ "$failed" -gt 0 ] || [ "$run_rc" = 0 ] || {
	echo "selftests: run.sh exited $run_rc with no failure counted: counted as one" >&2
	failed=1
}
# A binary the build should have made but the folder lacks as an
# executable (a link cut short leaves an empty file) ran nowhere.
for name in ${VM_ST_EXPECT:-}; do
	grep -qxF -- "$name" "$list" && continue
	echo "selftests: $name is not an executable in ${dir#"$tree"/}: counted as one failure" >&2
	failed=$((failed + 1))
done
echo "passed=$passed failed=$failed" >"$counts"

echo "---------------------------------------------------------------- selftests" >&2
cat "$summary" >&2
echo "selftests: $passed passed, $failed failed (VM: $status; $counts)" >&2
[ "$failed" = 0 ]
