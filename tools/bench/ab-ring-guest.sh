#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# tools/bench/ab-ring-guest.sh: the guest side of `make bench-ab`'s ring
# A/B; runs INSIDE the test VM (busybox ash), started by tools/bench/ab.sh.
#
# usage: ab-ring-guest.sh ROUNDS PER_RUN_TIMEOUT KO_A BIN_A KO_B BIN_B
# For each of ROUNDS rounds, side A then side B (A,B,A,B,... in one boot):
# unload any vanity module, insmod that side's KO, run that side's
# bench-ring binary (RING_BENCH_* from the environment) under the timeout,
# and frame its output, progress lines dropped, with
#   AB-RING-BEGIN side=<A|B> round=<n> ko=<sha1 of the module loaded, 10 hex>
#   AB-RING-END side=<A|B> round=<n> rc=<status> timedout=<0|1> secs=<n>
# for the host to parse. Unloads the module at the end. Exits 1 if a run
# failed or timed out, 2 if a module would not load or unload.
set -eu
# shellcheck disable=SC3040 # busybox ash has pipefail
set -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tools/vm/guest-lib.sh
. "$here/../vm/guest-lib.sh"

usage="usage: ab-ring-guest.sh ROUNDS PER_RUN_TIMEOUT KO_A BIN_A KO_B BIN_B"
[ $# -eq 6 ] || { echo "$usage" >&2; exit 2; }
rounds=$1 per=$2

unload() {
	[ -d /sys/module/vanity ] || return 0
	rmmod vanity || { echo "ab-ring: rmmod vanity failed" >&2; return 1; }
}

bad=0
vm_timed_out=0
r=1
while [ "$r" -le "$rounds" ]; do
	for side in A B; do
		if [ "$side" = A ]; then ko=$3 bin=$4; else ko=$5 bin=$6; fi
		unload || exit 2
		insmod "$ko" || { echo "ab-ring: insmod $ko failed" >&2; exit 2; }
		[ -d /sys/module/vanity ] || { echo "ab-ring: $ko loaded, yet no /sys/module/vanity" >&2; exit 2; }
		echo "AB-RING-BEGIN side=$side round=$r ko=$(sha1sum "$ko" | cut -c1-10)"
		start=$(date +%s)
		rc=0
		vm_run_timeout "$per" "$bin" >/tmp/ab-ring.out 2>&1 || rc=$?
		grep -v '^bench-ring: rep ' /tmp/ab-ring.out || :
		echo "AB-RING-END side=$side round=$r rc=$rc timedout=$vm_timed_out secs=$(($(date +%s) - start))"
		[ "$rc" = 0 ] || bad=1
	done
	r=$((r + 1))
done
unload || exit 2
exit "$bad"
