#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# tools/vm/selftests-guest.sh: runs INSIDE the Vanity test VM (busybox ash),
# started by tools/vm/selftests.sh through tools/vm/run.sh.
#
# usage: tools/vm/selftests-guest.sh DIR [PER_BINARY_TIMEOUT_SECONDS]
# Runs every executable regular file directly in DIR, in byte-sorted name
# order, from the current directory (the project tree: tests open paths
# like kmod/vanity.ko relative to it), each in its own session under a
# timeout (default 300 s; the whole session is killed on expiry), and frames
# each one's output (its TAP) with
#   VANITY-SELFTEST-BEGIN <name>
#   VANITY-SELFTEST-END <name> rc=<status> timedout=<0|1> secs=<n>
# for the host to parse. Exits 1 if any binary exited non-zero or timed out,
# 2 if there was none to run.
set -eu
# shellcheck disable=SC3040 # busybox ash has pipefail
set -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tools/vm/guest-lib.sh
. "$here/guest-lib.sh"

dir=${1:?usage: selftests-guest.sh DIR [TIMEOUT]}
per=${2:-300}
top=$(pwd)
dir=$(cd "$dir" && pwd)

n=0
bad=0
vm_timed_out=0
# shellcheck disable=SC2012 # test binary names are plain words
for name in $(ls -1 "$dir" | LC_ALL=C sort); do
	[ -f "$dir/$name" ] && [ -x "$dir/$name" ] || continue
	n=$((n + 1))
	echo "VANITY-SELFTEST-BEGIN $name"
	start=$(date +%s)
	rc=0
	vm_run_timeout "$per" "$dir/$name" || rc=$?
	cd "$top"
	end=$(date +%s)
	echo "VANITY-SELFTEST-END $name rc=$rc timedout=$vm_timed_out secs=$((end - start))"
	[ "$rc" = 0 ] || bad=$((bad + 1))
done
if [ "$n" = 0 ]; then
	echo "selftests-guest: no executables in $dir"
	exit 2
fi
echo "selftests-guest: $n binaries, $bad exited non-zero or timed out"
[ "$bad" = 0 ]
