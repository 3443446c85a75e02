# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# tools/vm/lock.sh: the machine-wide "one VM at a time" lock of the test VM
# (TCG with 4 vCPUs already saturates a 2-core build machine). Sourced by
# tools/vm/run.sh and tools/vm/selftests.sh; not executable on its own.
#
# VM_LOCK: lock file (default /tmp/vanity-vm.lock), "none" for no locking.

# vm_lock_inherited: true if one of this shell's open descriptors is the
# lock file, i.e. a caller took the lock and passed it down
# (`flock /tmp/vanity-vm.lock tools/vm/run.sh ...`, or selftests.sh
# running run.sh): waiting for it again would wait for ourselves.
vm_lock_inherited() {
	local want fd
	want=$(stat -L -c %d:%i "$VM_LOCK" 2>/dev/null) || return 1
	for fd in "/proc/$$/fd/"*; do
		[ "$(stat -L -c %d:%i "$fd" 2>/dev/null)" != "$want" ] || return 0
	done
	return 1
}

# vm_lock FD WHO: take the lock on descriptor FD (held until exit),
# waiting with a message if another VM holds it.
vm_lock() {
	local fd=$1 who=$2
	VM_LOCK=${VM_LOCK:-/tmp/vanity-vm.lock}
	[ "$VM_LOCK" != none ] || return 0
	! vm_lock_inherited || return 0
	eval "exec $fd>>\"\$VM_LOCK\""
	if ! flock -n "$fd"; then
		echo "$who: another VM is running (lock $VM_LOCK); waiting" >&2
		flock "$fd"
	fi
}
