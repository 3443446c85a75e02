#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Summarise a storage run: reads the JSON lines `vanityctl run -j` printed
# (the shards' final stats arrive as log records:
# {"event":"log","shard":"c0",...,"json":{"shard":"c0",...}}) and writes
# IOPS, latency percentiles and what the client verified.
set -eu
awk '
function num(line, key,    m) {
	if (match(line, "\"" key "\":[-0-9.]+")) {
		m = substr(line, RSTART, RLENGTH); sub(/.*:/, "", m); return m
	}
	return ""
}
function str(line, key,    m) {
	if (match(line, "\"" key "\":\"[^\"]*\"")) {
		m = substr(line, RSTART, RLENGTH); sub(/^[^:]*:"/, "", m); sub(/"$/, "", m); return m
	}
	return ""
}
/"event":"log",.*"json":[{]"shard":"[^"]*","backend"/ { stor = $0 }
/"event":"log",.*"json":[{]"shard":"[^"]*","capacity"/ { cl = $0 }
/"event":"summary"/ { summary = $0 }
END {
	if (cl == "") { print "demo-storage: the client printed nothing"; exit 1 }
	printf "storage: %s backend, %s s: %d IOPS at queue depth %s (%s reads, %s writes of 4 KiB)\n", \
		str(stor, "backend"), num(cl, "seconds"), num(cl, "iops"), num(cl, "qd"), \
		num(cl, "reads"), num(cl, "writes")
	printf "  latency: p50 %s us, p99 %s us, p99.9 %s us, max %s us\n", \
		num(cl, "p50_us"), num(cl, "p99_us"), num(cl, "p999_us"), num(cl, "max_us")
	printf "  verified: %s blocks intact, %s mismatches, %s errors, %s duplicate completions\n", \
		num(cl, "verified"), num(cl, "mismatches"), num(cl, "errors"), num(cl, "dup_cpl")
	printf "  storage shard: %s requests served, %s refused, %s sent to the %s, %s resets, %s starts\n", \
		num(stor, "served"), num(stor, "refused"), num(stor, "backend_cmds"), \
		str(stor, "backend"), num(stor, "resets"), num(stor, "starts")
	if (summary !~ /"ok":true/) { print "demo-storage: a shard failed"; exit 1 }
}'
