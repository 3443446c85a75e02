#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tools/check.sh: the whole test verdict behind `make check` (which runs
# `make all` first, then this).
#
# Owns the tally: (a) the Criterion unit binary build/tests/unit/vanity-unit,
# counted from its TAP report (`ok` passes; `not ok` fails; `# SKIP` is a
# skip, and a failure too when run as root, where nothing may skip: CI runs
# as root, so no skip hides a failure there; a non-zero exit with no
# failing result, or no report at all, is one more failure); (b) the selftests against the real module in the VM, through
# `make vm-selftests` (counts from build/vm/selftests.counts; a kernel
# splat, hung or crashed guest always makes the failed count positive);
# (b1) the same selftests in one boot of Debian 13's stock 6.12 kernel
# (make vm-selftests-6.12, counts in build/vm-6.12/).
# (b2) the integration and ring selftests natively on the hosted
# simulator (VANITY_BACKEND=hosted, one TAP each in build/check/); (b3') the
# build's, the dependency step's and the README's promises (tests/build,
# tests/deps, tests/hosted: one "NAME: ok|FAIL CHECK" line each);
# (b3) the same selftests on Debian's stock arm64 kernel (make
# vm-selftests-arm64, counts in build/vm-arm64/out/), and (b4) on Debian
# 13's stock riscv64 kernel (make vm-selftests-riscv64, build/vm-riscv64/out/);
# (c) the hosted channel stress, native and aarch64 (make stress,
# make stress-arm64);
# (d) riscv64 (make check-riscv64): the cross build, its instruction-level
# order check and channel stress under qemu-riscv64, and
# tools/riscv64/check.sh (one "riscv64: ok|FAIL" line per check).
# The last line printed is exactly `N passed, N failed, N skipped` (all
# parts summed; a skip counted as a failure as root is in both); the exit
# status is non-zero when anything failed.
#
# environment: UNIT_ARGS (extra arguments for the unit binary), MAKE,
# CHECK_SKIP_VM=1 (unit tests only; the VM part then counts one failure so
# the result cannot pass by accident), and everything tools/vm/run.sh takes.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tree=$(cd "$here/.." && pwd)
cd "$tree"
build=$tree/build
out=$build/check
mkdir -p "$out"
MAKE=${MAKE:-make}
as_root=0
[ "$(id -u)" != 0 ] || as_root=1

# ---------------------------------------------------------------- unit
unit_pass=0
unit_fail=0
unit_skip=0
unit_bin=$build/tests/unit/vanity-unit
tap=$out/unit.tap
rm -f "$tap"
echo "==== unit tests: $unit_bin" >&2
if [ ! -x "$unit_bin" ]; then
	echo "check: FAIL: no unit test binary $unit_bin (make unit-build)" >&2
	unit_fail=1
else
	unit_rc=0
	# shellcheck disable=SC2086 # UNIT_ARGS is a list of options
	"$unit_bin" --tap="$tap" ${UNIT_ARGS:-} || unit_rc=$?
	if [ ! -s "$tap" ]; then
		echo "check: FAIL: $unit_bin wrote no TAP report (exit $unit_rc)" >&2
		unit_fail=1
	else
		read -r unit_pass unit_fail unit_skip < <(awk '
			/^not ok([ \t]|$)/ { f++; next }
			/^ok([ \t]|$)/ { if (tolower($0) ~ /#[ \t]*skip/) s++; else p++ }
			END { print p + 0, f + 0, s + 0 }' "$tap")
		if [ "$unit_skip" != 0 ]; then
			grep -iE '^ok .*#[[:space:]]*skip' "$tap" >&2 || true
			if [ "$as_root" = 1 ]; then
				echo "check: $unit_skip unit test(s) skipped as root, counted as failed" >&2
				unit_fail=$((unit_fail + unit_skip))
			fi
		fi
		if [ "$unit_rc" != 0 ] && [ "$unit_fail" = 0 ]; then
			echo "check: FAIL: $unit_bin exited $unit_rc with no failing test reported" >&2
			unit_fail=1
		fi
		if [ $((unit_pass + unit_fail + unit_skip)) = 0 ]; then
			echo "check: FAIL: $unit_bin ran no tests" >&2
			unit_fail=1
		fi
	fi
fi
echo "check: unit: $unit_pass passed, $unit_fail failed, $unit_skip skipped" >&2

# ---------------------------------------------------------------- hosted
# The selftests that also run in the VM against the module, here natively
# on the hosted simulator: the integration tests (same shard binaries), the
# submission ring's tests (the simulator in a thread of each test) and the
# storage example's (its file backend where the VM passes a controller).
h_pass=0
h_fail=0
h_skip=0
for hname in integration_test ring_test storage_test; do
	hbin=$build/tests/selftests/$hname
	htap=$out/hosted-$hname.tap
	echo "==== $hname on the hosted simulator: $hbin" >&2
	if [ ! -x "$hbin" ]; then
		echo "check: FAIL: no $hbin" >&2
		h_fail=$((h_fail + 1))
		continue
	fi
	h_rc=0
	VANITY_BACKEND=hosted "$hbin" >"$htap" 2>&1 || h_rc=$?
	grep -E '^(not )?ok |^# ' "$htap" >&2 || true
	skip=$(grep -cE '^ok [0-9]+ .*# SKIP' "$htap" || true)
	pass=$(($(grep -cE '^ok [0-9]+' "$htap" || true) - skip))
	fail=$(grep -cE '^not ok [0-9]+' "$htap" || true)
	if [ "$skip" != 0 ] && [ "$as_root" = 1 ]; then
		echo "check: $skip hosted test(s) of $hname skipped as root, counted as failed" >&2
		fail=$((fail + skip))
	fi
	if [ "$h_rc" != 0 ] && [ "$fail" = 0 ]; then
		echo "check: FAIL: $hbin exited $h_rc" >&2
		fail=1
	fi
	if [ $((pass + fail + skip)) = 0 ]; then
		echo "check: FAIL: $hbin ran no tests" >&2
		fail=1
	fi
	h_pass=$((h_pass + pass))
	h_fail=$((h_fail + fail))
	h_skip=$((h_skip + skip))
done
echo "check: hosted: $h_pass passed, $h_fail failed, $h_skip skipped" >&2

# ---------------------------------------------------------------- scripts
# The build's and the README's own promises, as scripts that print one
# "NAME: ok CHECK" or "NAME: FAIL CHECK" line each: the top-level make,
# the module's kernel style, checkpatch and sparse, and its warning-free
# build against each supported kernel, 6.1 and 6.12 (tests/build), the
# dependency step (tests/deps), the README's hosted
# commands run as an unprivileged user (tests/hosted). A script that
# exits non-zero without a FAIL line counts one failure.
sc_pass=0
sc_fail=0
for script in tests/build/build_test.sh tests/build/kstyle.sh tests/build/kernels_test.sh \
	tests/build/ynl_test.sh tests/deps/deps_test.sh tests/hosted/readme.sh; do
	echo "==== $script" >&2
	log=$out/$(basename "$script" .sh).log
	rc=0
	"$tree/$script" >"$log" 2>&1 || rc=$?
	grep -E '^[a-z0-9]+: (ok|FAIL) ' "$log" >&2 || true
	ok=$(grep -cE '^[a-z0-9]+: ok ' "$log" || true)
	bad=$(grep -cE '^[a-z0-9]+: FAIL ' "$log" || true)
	if [ "$rc" != 0 ] && [ "$bad" = 0 ]; then
		tail -20 "$log" >&2
		echo "check: FAIL: $script exited $rc" >&2
		bad=1
	fi
	if [ "$ok" = 0 ] && [ "$bad" = 0 ]; then
		echo "check: FAIL: $script checked nothing" >&2
		bad=1
	fi
	sc_pass=$((sc_pass + ok))
	sc_fail=$((sc_fail + bad))
done
echo "check: scripts: $sc_pass passed, $sc_fail failed" >&2

# ---------------------------------------------------------------- VM
# vm_selftests TARGET VM_OUT: run `make TARGET` (one boot running every
# selftest) and print "PASSED FAILED" from VM_OUT/selftests.counts; a
# kernel splat, a hung or crashed guest, a failed insmod or rmmod, no
# counts or a failing target with no failing test each count a failure.
vm_selftests() {
	local target=$1 vmout=$2 counts=$2/selftests.counts result=$2/run.result
	local p=0 f=0 rc=0 status=none
	rm -f "$counts" "$result"
	"$MAKE" --no-print-directory "$target" >&2 || rc=$?
	if [ -f "$counts" ]; then
		p=$(sed -n 's/.*passed=\([0-9]*\).*/\1/p' "$counts")
		f=$(sed -n 's/.*failed=\([0-9]*\).*/\1/p' "$counts")
		p=${p:-0} f=${f:-1}
	else
		echo "check: FAIL: make $target wrote no $counts (exit $rc)" >&2
		f=1
	fi
	[ ! -f "$result" ] || status=$(sed -n 's/^status=//p' "$result")
	case "$status" in
	splat | hung | crashed | insmod-failed | rmmod-failed)
		echo "check: FAIL: the VM run ended as: $status (see $vmout/)" >&2
		[ "$f" -gt 0 ] || f=1
		;;
	esac
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		echo "check: FAIL: make $target exited $rc" >&2
		f=1
	fi
	echo "$p $f"
}

# vm_boot LABEL TARGET VM_OUT SKIP: one boot's selftests (vm_selftests),
# printed as "check: LABEL: P passed, F failed" and added to vm_pass and
# vm_fail; SKIP=1 counts one failure instead, so that a run that skipped a
# boot cannot pass by accident.
vm_pass=0
vm_fail=0
vm_boot() {
	local label=$1 target=$2 vmout=$3 skip=$4 p=0 f=0
	if [ "$skip" = 1 ]; then
		echo "check: FAIL: $label skipped" >&2
		f=1
	else
		echo "==== $label: make $target" >&2
		read -r p f < <(vm_selftests "$target" "$vmout")
	fi
	echo "check: $label: $p passed, $f failed" >&2
	vm_pass=$((vm_pass + p))
	vm_fail=$((vm_fail + f))
}

# Every selftest against the real module, one boot per kernel: Debian 12's
# 6.1 and Debian 13's 6.12 on x86_64 (the module built against each one's
# headers), Debian 12's arm64 kernel under qemu-system-aarch64, Debian 13's
# riscv64 kernel under qemu-system-riscv64 (all but iommu_test there:
# mk/riscv64.mk says why); the foreign ones cross built.
vm_boot selftests vm-selftests "$build/vm" "${CHECK_SKIP_VM:-0}"
vm_boot "6.12 selftests" vm-selftests-6.12 "$build/vm-6.12" "${CHECK_SKIP_VM:-0}"
vm_boot "arm64 selftests" vm-selftests-arm64 "$build/vm-arm64/out" "${CHECK_SKIP_ARM64:-0}"
vm_boot "riscv64 selftests" vm-selftests-riscv64 "$build/vm-riscv64/out" "${CHECK_SKIP_VM:-0}"

# ---------------------------------------------------------------- stress
# The hosted channel stress, natively and as aarch64 under qemu-user (run
# before nothing else competes for the CPUs: the VM is done by now). Each
# pass prints "chan_stress: ok" or "chan_stress: FAIL"; a target that fails
# without a FAIL line counts one failure.
stress_pass=0
stress_fail=0
for target in stress stress-arm64; do
	echo "==== $target" >&2
	log=$out/$target.log
	rc=0
	"$MAKE" --no-print-directory "$target" >"$log" 2>&1 || rc=$?
	grep -E '^(chan_stress|check_orders): ' "$log" >&2 || true
	ok=$(grep -cE '^(chan_stress|check_orders): ok' "$log" || true)
	bad=$(grep -cE '^(chan_stress|check_orders): FAIL' "$log" || true)
	if [ "$rc" != 0 ] && [ "$bad" = 0 ]; then
		tail -20 "$log" >&2
		echo "check: FAIL: make $target exited $rc" >&2
		bad=1
	fi
	stress_pass=$((stress_pass + ok))
	stress_fail=$((stress_fail + bad))
done
echo "check: stress: $stress_pass passed, $stress_fail failed" >&2

# ---------------------------------------------------------------- riscv64
# The userspace under qemu-riscv64 (mk/riscv64.mk). A target that fails without a FAIL line (say, the cross
# build) counts one failure.
r_pass=0
r_fail=0
echo "==== riscv64" >&2
log=$out/riscv64.log
rc=0
"$MAKE" --no-print-directory check-riscv64 >"$log" 2>&1 || rc=$?
grep -E '^(chan_stress|check_orders|riscv64): ' "$log" >&2 || true
r_pass=$(grep -cE '^(chan_stress|check_orders|riscv64): ok' "$log" || true)
r_fail=$(grep -cE '^(chan_stress|check_orders|riscv64): FAIL' "$log" || true)
if [ "$rc" != 0 ] && [ "$r_fail" = 0 ]; then
	tail -20 "$log" >&2
	echo "check: FAIL: make check-riscv64 exited $rc" >&2
	r_fail=1
fi
echo "check: riscv64: $r_pass passed, $r_fail failed" >&2

passed=$((unit_pass + h_pass + sc_pass + vm_pass + stress_pass + r_pass))
failed=$((unit_fail + h_fail + sc_fail + vm_fail + stress_fail + r_fail))
skipped=$((unit_skip + h_skip))
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
