# shellcheck shell=sh disable=SC2034 # vm_timed_out is for callers
# SPDX-License-Identifier: GPL-2.0
# tools/vm/guest-lib.sh: shell helpers for scripts that run INSIDE the
# Vanity test VM (busybox ash): /init and tools/vm/selftests-guest.sh.
# Sourced, not executed.

# vm_run_timeout SECS CMD...: runs CMD in its own session (so the whole
# process group can be killed), stdin from /dev/null, and returns its exit
# status. After SECS seconds (0 = never) it dumps the blocked tasks into the
# kernel log, kills the whole group with SIGKILL, and returns 124.
# Sets vm_timed_out to 1 if it had to kill, else 0.
vm_run_timeout() {
	_vt_secs=$1
	shift
	_vt_n=$((${_vt_n:-0} + 1))
	_vt_flag=/tmp/.vm-timeout.$$.$_vt_n
	rm -f "$_vt_flag"
	setsid "$@" </dev/null &
	_vt_pid=$!
	_vt_wpid=""
	if [ "$_vt_secs" -gt 0 ]; then
		(
			# The watcher's own sleep must die with the watcher.
			trap 'kill $_vt_spid 2>/dev/null; exit 0' TERM
			sleep "$_vt_secs" &
			_vt_spid=$!
			wait $_vt_spid
			: >"$_vt_flag"
			echo w >/proc/sysrq-trigger 2>/dev/null
			kill -KILL -"$_vt_pid" 2>/dev/null || kill -KILL "$_vt_pid" 2>/dev/null
		) &
		_vt_wpid=$!
	fi
	_vt_rc=0
	wait "$_vt_pid" || _vt_rc=$?
	if [ -n "$_vt_wpid" ]; then
		kill -TERM "$_vt_wpid" 2>/dev/null || :
		wait "$_vt_wpid" 2>/dev/null || :
	fi
	# Whatever the command left behind in its session goes too.
	kill -KILL -"$_vt_pid" 2>/dev/null || :
	vm_timed_out=0
	if [ -e "$_vt_flag" ]; then
		rm -f "$_vt_flag"
		vm_timed_out=1
		return 124
	fi
	return "$_vt_rc"
}
