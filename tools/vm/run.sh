#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tools/vm/run.sh: boots the Vanity test VM once and runs one command in it.
#
# Owns the host side of the VM: builds the initramfs (tools/vm/mkinitramfs.sh)
# plus a per-run archive holding the command and the module to load, boots
# the distribution kernel under QEMU (TCG) with /init from tools/vm/init,
# streams the serial console to the terminal and to $VM_OUT/console.log,
# enforces the timeout, extracts the guest's kernel log and judges the run.
#
# usage: tools/vm/run.sh [--] COMMAND...   (words joined into one sh command)
#        VM_CMD='COMMAND' tools/vm/run.sh
# The command runs as root under `sh` in the guest, in the project tree at
# the same absolute path as on the host, with the module already loaded.
#
# Exit status: the command's, except
#   124  hung: no result before VM_TIMEOUT (qemu killed) or the command ran
#        past VM_GUEST_TIMEOUT (killed inside the guest)
#   125  the VM failed: qemu did not start, the guest crashed or panicked
#        (no result marker), insmod or rmmod failed
#   126  kernel splat (Oops, BUG, WARNING, lockups, ...; see below) or a
#        WARN/die/lockup/bad-page taint, even if the command succeeded
# The verdict is also written to $VM_OUT/run.result (key=value lines).
#
# Environment:
#   KVER              kernel release to boot (/boot/vmlinuz-$KVER); default
#                     the newest installed *-amd64
#   VANITY_KO         module to insmod (default TREE/kmod/vanity.ko); any
#                     path on the host, or "none" to load nothing
#   VANITY_KO_ARGS    module parameters for insmod
#   VM_RMMOD          1 (default): rmmod the module after the command, a
#                     failure to unload fails the run; 0: leave it loaded
#   VM_TIMEOUT        host-side limit in seconds for the whole boot (1200);
#                     qemu is killed after it
#   VM_BOOT_TIMEOUT   seconds the guest may take to reach /init (120; 0:
#                     no limit); a guest that has not is killed and booted
#                     again, up to VM_BOOT_TRIES times in all (2): under
#                     TCG a vCPU now and then never comes up (an RCU stall
#                     report, then nothing), and no test has run yet
#   VM_GUEST_TIMEOUT  guest-side limit for the command (default VM_TIMEOUT-60
#                     when VM_TIMEOUT > 120, else 0 = none); on expiry the
#                     guest dumps blocked tasks, kills the command and still
#                     reports its kernel log
#   VM_OUT            output directory (default TREE/build/vm): console.log,
#                     dmesg.log, cmd.log (the command's output), run.result
#   VM_MEM, VM_SMP    guest memory in MiB (1024) and CPUs (4)
#   VM_PCI            1 (default): q35 + intel-iommu with edu, nvme and
#                     e1000e devices for passthrough; 0: plain pc machine
#   VM_CMDLINE        extra kernel command line
#   VM_QEMU_ARGS      extra qemu arguments (word-split)
#   VM_SPLAT_IGNORE   extended regex: kernel lines matching it are not splats
#   VM_TAINT_CHECK    1 (default): also fail on taint flags M, B, D, W, L
#   VM_INTERACTIVE    1: console input goes to the guest (no timeouts);
#                     quit qemu with Ctrl-A x
#   VM_LOCK           lock file serialising VMs on this machine
#                     (default /tmp/vanity-vm.lock; "none": no locking);
#                     not taken again if the caller holds it already
#   VM_ARCH, VM_ACCEL, VM_COMPRESS, VM_MODULES, VM_EXTRA_FILES
#                     see tools/vm/arch.sh and tools/vm/mkinitramfs.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tree=$(cd "$here/../.." && pwd)
# shellcheck source=tools/vm/arch.sh
. "$here/arch.sh"

if [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
	sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
	exit 0
fi
[ "${1:-}" != -- ] || shift
if [ $# -gt 0 ]; then
	cmd="$*"
else
	cmd=${VM_CMD:-}
fi
[ -n "$cmd" ] || vm_die "no command: tools/vm/run.sh [--] COMMAND... (or VM_CMD=...)"

vm_arch_setup
command -v "$VM_A_QEMU" >/dev/null || vm_die "no $VM_A_QEMU: apt-get install qemu-system-x86"

VM_OUT=${VM_OUT:-$tree/build/vm}
mkdir -p "$VM_OUT"
VM_OUT=$(cd "$VM_OUT" && pwd)
export VM_OUT
VM_TIMEOUT=${VM_TIMEOUT:-1200}
if [ -z "${VM_GUEST_TIMEOUT:-}" ]; then
	if [ "$VM_TIMEOUT" -gt 120 ]; then
		VM_GUEST_TIMEOUT=$((VM_TIMEOUT - 60))
	else
		VM_GUEST_TIMEOUT=0
	fi
fi
VM_INTERACTIVE=${VM_INTERACTIVE:-0}
[ "$VM_INTERACTIVE" = 0 ] || VM_GUEST_TIMEOUT=0

ko=${VANITY_KO:-$tree/kmod/vanity.ko}
if [ "$ko" != none ]; then
	[ -f "$ko" ] || vm_die "module $ko not found (build it with 'make kmod', or set VANITY_KO)"
	ko=$(cd "$(dirname "$ko")" && pwd)/$(basename "$ko")
	magic=$(modinfo -F vermagic "$ko" 2>/dev/null || :)
	if [ -n "$magic" ] && [ "${magic%% *}" != "$KVER" ]; then
		echo "vm: warning: $ko was built for ${magic%% *}, booting $KVER: insmod will fail" >&2
	fi
fi

console=$VM_OUT/console.log
dmesg_log=$VM_OUT/dmesg.log
cmd_log=$VM_OUT/cmd.log
result=$VM_OUT/run.result

# One VM at a time on this machine (tools/vm/lock.sh).
# shellcheck source=tools/vm/lock.sh
. "$here/lock.sh"
vm_lock 9 vm

rm -f "$console" "$dmesg_log" "$cmd_log" "$result"

# ---------------------------------------------------------------- initramfs
t_build=$(date +%s.%N)
base=$VM_OUT/initramfs.cpio
[ "${VM_COMPRESS:-none}" = none ] || base=$VM_OUT/initramfs.cpio.gz
"$here/mkinitramfs.sh" -t "$tree" -o "$base"

nonce=$(od -An -tx4 -N4 /dev/urandom | tr -d ' \n')
shq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
run_stage=$VM_OUT/run.d
rm -rf "$run_stage"
mkdir -p "$run_stage"
{
	echo "VANITY_TREE=$(shq "$tree")"
	echo "VANITY_KO=$(shq "$ko")"
	echo "VANITY_KO_ARGS=$(shq "${VANITY_KO_ARGS:-}")"
	echo "VANITY_NONCE=$nonce"
	echo "VANITY_TIMEOUT=$VM_GUEST_TIMEOUT"
	echo "VANITY_RMMOD=${VM_RMMOD:-1}"
	echo "VANITY_INTERACTIVE=$VM_INTERACTIVE"
} >"$run_stage/vanity-env"
printf '%s\n' "$cmd" >"$run_stage/vanity-cmd"
run_list=(vanity-env vanity-cmd)
if [ "$ko" != none ]; then
	# The module goes in at its host path, whether or not it is in the tree.
	p=$(dirname "${ko#/}")
	mkdir -p "$run_stage/$p"
	cp "$ko" "$run_stage/${ko#/}"
	anc=()
	while [ "$p" != . ]; do
		anc=("$p" "${anc[@]}")
		p=$(dirname "$p")
	done
	run_list+=("${anc[@]}" "${ko#/}")
fi
initrd=$VM_OUT/initramfs-run.cpio
{
	cat "$base"
	(cd "$run_stage" && printf '%s\n' "${run_list[@]}" | cpio --quiet -o -H newc -R 0:0)
} >"$initrd"
t_built=$(date +%s.%N)

# ---------------------------------------------------------------- qemu
cmdline="console=$VM_A_CONSOLE isolcpus=2,3 nohz_full=2,3 irqaffinity=0,1"
cmdline+=" panic=-1 loglevel=4 log_buf_len=8M rdinit=/init"
cmdline+="${VM_A_CMDLINE_ARCH:+ $VM_A_CMDLINE_ARCH}${VM_CMDLINE:+ $VM_CMDLINE}"

devices=()
if [ "${VM_PCI:-1}" = 1 ]; then
	# A fresh, all-zero namespace each boot: the storage tests read
	# blocks nobody wrote and expect zeros.
	nvme_img=$VM_OUT/nvme.img
	rm -f "$nvme_img" && truncate -s 64M "$nvme_img"
	# edu with a 48-bit DMA mask (its default, 28 bits, silently clips
	# addresses): a test can aim it at any guest physical page.
	# shellcheck disable=SC2054 # commas are qemu syntax
	devices+=(-device edu,dma_mask=0xffffffffffff
		-drive "if=none,id=vnvme0,file=$nvme_img,format=raw"
		-device nvme,serial=vanity0,drive=vnvme0
		-netdev user,id=vnet0,restrict=on -device e1000e,netdev=vnet0,romfile=)
fi

if [ "$VM_INTERACTIVE" = 1 ]; then
	sig=off
	qemu_stdin=/dev/stdin
else
	sig=on
	qemu_stdin=/dev/null
fi
# shellcheck disable=SC2206,SC2054 # VM_QEMU_ARGS is word-split on purpose
qemu=("$VM_A_QEMU" "${VM_A_MACHINE[@]}" "${VM_A_CPU[@]}"
	-m "${VM_MEM:-1024}" -smp "${VM_SMP:-4}"
	-nographic -no-reboot -vga none -nic none
	-chardev "stdio,id=con0,mux=on,signal=$sig,logfile=$console"
	-serial chardev:con0 -mon chardev=con0,mode=readline
	-kernel "$VM_A_KERNEL" -initrd "$initrd" -append "$cmdline"
	"${devices[@]}" ${VM_QEMU_ARGS:-})

echo "vm: booting $VM_A_KERNEL ($VM_ARCH, ${VM_SMP:-4} CPUs, ${VM_MEM:-1024} MiB, timeout ${VM_TIMEOUT}s)" >&2
echo "vm: command: $cmd" >&2
qpid=""
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	if [ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null; then
		kill -TERM "$qpid" 2>/dev/null || :
		sleep 2
		kill -KILL "$qpid" 2>/dev/null || :
	fi
}
trap cleanup EXIT
trap 'echo "vm: interrupted" >&2; exit 130' INT TERM HUP
# Whether this boot's guest has reached /init (its ready marker).
guest_ready() {
	tr -d '\r' <"$console" 2>/dev/null | grep -F "nonce=$nonce" |
		grep -q 'VANITY-VM-READY '
}
boot_limit=${VM_BOOT_TIMEOUT:-120}
boot_tries=${VM_BOOT_TRIES:-2}
[ "$VM_INTERACTIVE" = 0 ] || boot_limit=0
hung_flag=$VM_OUT/boot-hung
try=1
while :; do
	rm -f "$hung_flag"
	t_start=$(date +%s.%N)
	timeout --foreground -k 10 "$VM_TIMEOUT" "${qemu[@]}" <"$qemu_stdin" &
	qpid=$!
	if [ "$boot_limit" != 0 ]; then
		# Watchdog: a guest that never reaches /init is killed.
		(
			waited=0
			while [ "$waited" -lt "$boot_limit" ]; do
				sleep 1
				waited=$((waited + 1))
				kill -0 "$qpid" 2>/dev/null || exit 0
				! guest_ready || exit 0
			done
			guest_ready || { : >"$hung_flag"; kill -TERM "$qpid" 2>/dev/null; }
		) &
		wpid=$!
	fi
	qrc=0
	wait "$qpid" || qrc=$?
	qpid=""
	[ "$boot_limit" = 0 ] || { kill "$wpid" 2>/dev/null || :; wait "$wpid" 2>/dev/null || :; }
	t_end=$(date +%s.%N)
	if [ ! -e "$hung_flag" ] || [ "$try" -ge "$boot_tries" ]; then
		break
	fi
	cp "$console" "$VM_OUT/console.boot-hung.$try.log"
	echo "vm: the guest did not reach /init in ${boot_limit}s (console kept in console.boot-hung.$try.log): booting again" >&2
	try=$((try + 1))
done
[ "$VM_INTERACTIVE" = 0 ] || stty sane 2>/dev/null || :
echo >&2

# ---------------------------------------------------------------- verdict
touch "$console"
# Markers of this run only (nonce), \r stripped, anywhere in a line (a
# kernel message may have been printed in front of one).
eval "$(tr -d '\r' <"$console" | awk -v n="nonce=$nonce" '
	function val(tag,   s) {
		s = substr($0, index($0, tag) + length(tag))
		sub(/[ \t].*/, "", s)
		return s
	}
	index($0, n) == 0 { next }
	/VANITY-VM-READY /   { s = substr($0, index($0, "VANITY-VM-READY ") + 16); split(s, a, " ")
			       print "m_ready=1; m_uptime=" a[1] }
	/VANITY-VM-INSMOD=/  { print "m_insmod=" val("VANITY-VM-INSMOD=") + 0 }
	/VANITY-VM-TIMEOUT=/ { print "m_timeout=" val("VANITY-VM-TIMEOUT=") + 0 }
	/VANITY-VM-RMMOD=/   { print "m_rmmod=" val("VANITY-VM-RMMOD=") + 0 }
	/VANITY-VM-TAINT=/   { print "m_taint=" val("VANITY-VM-TAINT=") + 0 }
	/VANITY-VM-EXIT=/    { print "m_exit=" val("VANITY-VM-EXIT=") + 0 }
	/VANITY-VM-DMESG-END / { print "m_dmesg=1" }
')"
m_ready=${m_ready:-0} m_uptime=${m_uptime:-} m_insmod=${m_insmod:-}
m_timeout=${m_timeout:-} m_rmmod=${m_rmmod:-} m_taint=${m_taint:-}
m_exit=${m_exit:-} m_dmesg=${m_dmesg:-0}

# The command's output, and the kernel log: the guest's dump when there is
# one, else the kernel's lines from the console (best effort).
tr -d '\r' <"$console" | awk -v n="nonce=$nonce" '
	index($0, n) && /VANITY-VM-CMD-BEGIN / { on = 1; next }
	index($0, n) && /VANITY-VM-CMD-END /   { on = 0; next }
	on' >"$cmd_log"
if [ "$m_dmesg" = 1 ]; then
	tr -d '\r' <"$console" | awk -v n="nonce=$nonce" '
		index($0, n) && /VANITY-VM-DMESG-BEGIN / { on = 1; next }
		index($0, n) && /VANITY-VM-DMESG-END /   { on = 0; next }
		on' >"$dmesg_log"
else
	tr -d '\r' <"$console" | grep -E '^\[ *[0-9]+\.[0-9]+\]' >"$dmesg_log" || :
fi

# Kernel splats: anything in the kernel log, plus kernel-looking lines on
# the console (the command's own output is not judged).
splat_re='Oops|BUG:|WARNING:|refcount_t:|list_add corruption|list_del corruption|general protection fault|Kernel panic|kernel BUG at|UBSAN:|KASAN|stack-protector|INFO: task .* blocked|soft lockup|hard LOCKUP|rcu: INFO'
# Known harmless lines of the stock kernel under TCG.
ignore_re='Spectre V2 : WARNING: Unprivileged eBPF is enabled'
[ -z "${VM_SPLAT_IGNORE:-}" ] || ignore_re+="|$VM_SPLAT_IGNORE"
splats=$(
	{
		cat "$dmesg_log"
		tr -d '\r' <"$console" | awk -v n="nonce=$nonce" '
			index($0, n) && /VANITY-VM-CMD-BEGIN / { on = 1 }
			index($0, n) && /VANITY-VM-CMD-END /   { on = 0 }
			index($0, n) && /VANITY-VM-DMESG-BEGIN / { exit }
			!on || /^\[ *[0-9]+\.[0-9]+\]/'
	} | grep -E -- "$splat_re" | grep -Ev -- "$ignore_re" | awk '!seen[$0]++' || :
)

reasons=()
status=ok
code=${m_exit:-125}
failed_why() { reasons+=("$1"); }

if [ -n "$splats" ]; then
	failed_why "kernel splat"
	code=126
fi
# Taint: M(4) machine check, B(5) bad page, D(7) oops, W(9) warning,
# L(14) soft lockup.
taint_bad=0
if [ -n "$m_taint" ] && [ "${VM_TAINT_CHECK:-1}" = 1 ]; then
	taint_bad=$((m_taint & (1 << 4 | 1 << 5 | 1 << 7 | 1 << 9 | 1 << 14)))
	if [ "$taint_bad" != 0 ]; then
		failed_why "kernel tainted (0x$(printf %x "$m_taint"))"
		code=126
	fi
fi
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	failed_why "hung: no result after ${VM_TIMEOUT}s, qemu killed"
	[ "$code" = 126 ] || code=124
	status=hung
elif [ -e "$hung_flag" ]; then
	failed_why "hung at boot: no /init within ${boot_limit}s in $try boots"
	[ "$code" = 126 ] || code=124
	status=hung
elif [ -n "$m_timeout" ]; then
	failed_why "hung: the command ran past ${m_timeout}s and was killed in the guest"
	[ "$code" = 126 ] || code=124
	status=hung
elif [ -z "$m_exit" ]; then
	if [ "$m_ready" = 1 ]; then
		failed_why "the guest died before reporting a result (kernel panic or crash?), qemu status $qrc"
	else
		failed_why "the guest never reached /init (qemu status $qrc)"
	fi
	[ "$code" = 126 ] || code=125
	status=crashed
elif [ "$m_dmesg" != 1 ]; then
	failed_why "the guest died while dumping its kernel log"
	[ "$code" = 126 ] || code=125
	status=crashed
fi
if [ -n "$m_insmod" ] && [ "$m_insmod" != 0 ]; then
	failed_why "insmod $ko failed (status $m_insmod)"
	[ "$code" = 126 ] || code=125
	status=insmod-failed
fi
if [ -n "$m_rmmod" ] && [ "$m_rmmod" != 0 ]; then
	failed_why "rmmod failed (status $m_rmmod): the module could not be unloaded"
	[ "$code" != 0 ] || code=125
	[ "$status" != ok ] || status=rmmod-failed
fi
if [ -n "$splats" ] || [ "$taint_bad" != 0 ]; then
	status=splat
fi
if [ "$status" = ok ] && [ "$code" != 0 ]; then
	status=failed
fi

boot=""
if [ -n "$m_uptime" ]; then boot=$m_uptime; fi
wall=$(awk "BEGIN{printf \"%.1f\", $t_end - $t_start}")
build=$(awk "BEGIN{printf \"%.1f\", $t_built - $t_build}")
{
	echo "status=$status"
	echo "exit=$code"
	echo "cmd_exit=${m_exit}"
	echo "insmod=${m_insmod}"
	echo "rmmod=${m_rmmod}"
	echo "taint=${m_taint}"
	echo "qemu_exit=$qrc"
	echo "boot_seconds=$boot"
	echo "wall_seconds=$wall"
	echo "initramfs_seconds=$build"
	echo "kver=$KVER"
	echo "nonce=$nonce"
} >"$result"

echo "vm: initramfs ${build}s, guest /init at ${boot:-?}s after kernel start, qemu ran ${wall}s" >&2
if [ -n "$splats" ]; then
	echo "vm: KERNEL SPLAT: offending lines:" >&2
	printf '%s\n' "$splats" | head -n 40 | sed 's/^/vm:   /' >&2
	first=$(printf '%s\n' "$splats" | head -n 1)
	if grep -nF -- "$first" "$dmesg_log" >/dev/null 2>&1; then
		ln=$(grep -nF -- "$first" "$dmesg_log" | head -n 1 | cut -d: -f1)
		echo "vm: context of the first one ($dmesg_log:$ln):" >&2
		sed -n "${ln},$((ln + 30))p" "$dmesg_log" | sed 's/^/vm: | /' >&2
	fi
fi
if [ ${#reasons[@]} -gt 0 ]; then
	for r in "${reasons[@]}"; do echo "vm: FAIL: $r" >&2; done
	echo "vm: console: $console, kernel log: $dmesg_log" >&2
fi
echo "vm: command exit status ${m_exit:-none}; run.sh exits $code ($status)" >&2
exit "$code"
