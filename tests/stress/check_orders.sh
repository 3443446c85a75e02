#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# check_orders.sh OBJDUMP ORDERS.o CHANNEL.o: the aarch64 or riscv64
# instructions of the channel fast path carry the orders the protocol
# needs (see lib/include/vanity.h): acquire loads where a side reads the
# other's index or a slot's seq, release stores where it publishes, and a
# full barrier in the blocking path.
#   aarch64: ldar/ldapr, stlr, dmb ish.
#   riscv64 (RVWMO): a load then a fence ordering it before later loads
#   and stores (fence r,rw or stronger), or an .aq load/AMO; a fence
#   ordering earlier loads and stores before a store (fence rw,w or
#   stronger) then the store, or an .rl store/AMO; and in the blocking
#   path a store, a fence ordering it before later loads (w,r or
#   stronger), then a load.
# The architecture is the objects' own (objdump -f).
set -euo pipefail
objdump=$1 orders=$2 channel=$3
fail=0

# count FUNCTION REGEX FILE: instructions of FUNCTION matching REGEX
count() {
	"$objdump" -d --no-show-raw-insn "$3" |
		awk -v fn="<$1>:" -v re="$2" '
			/^[0-9a-f]+ </ { infn = ($2 == fn) ; next }
			infn && $2 ~ re { n++ }
			END { print n + 0 }'
}

need() {	# FUNCTION REGEX MIN WHY FILE
	local n
	n=$(count "$1" "$2" "$5")
	if [ "$n" -lt "$3" ]; then
		echo "check_orders: FAIL $1: $n x $2, want >= $3 ($4)" >&2
		fail=1
	else
		echo "check_orders: ok $1: $n x $2 ($4)"
	fi
}

# rv_count FUNCTION KIND FILE: riscv64 orderings of KIND (acquire,
# release or storeload) in FUNCTION (all of FILE when FUNCTION is "").
# Only memory accesses count as the neighbours of a fence; .L labels
# (kept for linker relaxation) do not end a function.
rv_count() {
	"$objdump" -d --no-show-raw-insn "$3" |
		awk -v fn="<$1>:" -v kind="$2" '
			function isload(m) { return m ~ /^l[bhwd]u?$/ || m ~ /^lr\./ }
			function isstore(m) { return m ~ /^s[bhwd]$/ || m ~ /^sc\./ || m ~ /^amo/ }
			function ismem(m) { return isload(m) || isstore(m) || m ~ /^fence/ }
			/^[0-9a-f]+ <\.L/ { next }
			/^[0-9a-f]+ </ { infn = (fn == "<>:" || $2 == fn); last = ""; pend = ""; next }
			!infn || !ismem($2) { next }
			$2 == "fence" {
				pred = "iorw"; succ = "iorw"
				if ($3 != "") { split($3, ps, ","); pred = ps[1]; succ = ps[2] }
				if (kind == "acquire" && isload(last) && pred ~ /r/ && succ ~ /r/ && succ ~ /w/)
					n++
				if (kind == "release" && pred ~ /r/ && pred ~ /w/ && succ ~ /w/)
					pend = "store"
				if (kind == "storeload" && isstore(last) && pred ~ /w/ && succ ~ /r/)
					pend = "load"
				last = "fence"
				next
			}
			{
				if ((pend == "store" && isstore($2)) || (pend == "load" && isload($2)))
					n++
				else if (kind == "acquire" && $2 ~ /\.aq(rl)?$/ && !($2 ~ /^s/))
					n++
				else if (kind == "release" && $2 ~ /\.(aq)?rl$/ && isstore($2))
					n++
				pend = ""
				last = $2
			}
			END { print n + 0 }'
}

rv_need() {	# FUNCTION KIND MIN WHY FILE
	local n
	n=$(rv_count "$1" "$2" "$5")
	if [ "$n" -lt "$3" ]; then
		echo "check_orders: FAIL ${1:-$(basename "$5")}: $n x $2, want >= $3 ($4)" >&2
		fail=1
	else
		echo "check_orders: ok ${1:-$(basename "$5")}: $n x $2 ($4)"
	fi
}

arch=$("$objdump" -f "$orders" | sed -n 's/.*file format //p')
case "$arch" in
*aarch64*)
	need orders_reserve '^(ldar|ldapr)$' 1 "acquire the consumer's tail" "$orders"
	need orders_commit '^stlr$' 2 "release each slot's seq, then head" "$orders"
	need orders_peek '^(ldar|ldapr)$' 1 "acquire each slot's seq" "$orders"
	need orders_release '^stlr$' 1 "release the tail" "$orders"
	# block() is static: look for its fence anywhere in the blocking calls.
	n=$("$objdump" -d --no-show-raw-insn "$channel" | grep -c $'\tdmb\tish$' || true)
	if [ "$n" -lt 1 ]; then
		echo "check_orders: FAIL channel.o: no dmb ish (the sleeper's fence)" >&2
		fail=1
	else
		echo "check_orders: ok channel.o: $n x dmb ish (the sleeper's fence)"
	fi
	;;
*riscv*)
	rv_need orders_reserve acquire 1 "acquire the consumer's tail" "$orders"
	rv_need orders_commit release 2 "release each slot's seq, then head" "$orders"
	rv_need orders_peek acquire 1 "acquire each slot's seq" "$orders"
	rv_need orders_release release 1 "release the tail" "$orders"
	rv_need "" storeload 1 "the sleeper's fence" "$channel"
	;;
*)
	echo "check_orders: FAIL $orders: no checks for '$arch'" >&2
	fail=1
	;;
esac
exit $fail
