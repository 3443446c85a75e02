#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# check_orders.sh OBJDUMP ORDERS.o CHANNEL.o: the aarch64 instructions of
# the channel fast path carry the orders the protocol needs (see
# lib/include/vanity.h): acquire loads (ldar/ldapr) where a side reads
# the other's index or a slot's seq, release stores (stlr) where it
# publishes, and a full barrier (dmb ish) in the blocking path.
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
exit $fail
