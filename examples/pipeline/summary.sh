#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Summarise a pipeline run: reads the JSON lines `vanityctl run -j` printed
# (the four stages' final stats arrive as log records run drained from
# their log rings: {"event":"log","shard":"gen",...,"json":{"shard":"gen",...}}),
# writes Mpps end to end and per stage, drops by reason and the sink's
# one-way latency percentiles.
set -eu
awk '
function num(line, key,    m) {
	if (match(line, "\"" key "\":[-0-9.]+")) {
		m = substr(line, RSTART, RLENGTH); sub(/.*:/, "", m); return m
	}
	return ""
}
/^[{]"event":"log","shard":"gen",.*"json":[{]"shard":"gen"/     { gen = $0 }
/^[{]"event":"log","shard":"parse",.*"json":[{]"shard":"parse"/ { parse = $0 }
/^[{]"event":"log","shard":"route",.*"json":[{]"shard":"route"/ { route = $0 }
/^[{]"event":"log","shard":"sink",.*"json":[{]"shard":"sink"/   { sink = $0 }
/"event":"summary"/ { summary = $0 }
END {
	if (sink == "") { print "demo: the sink printed nothing"; exit 1 }
	printf "pipeline: %s frames generated, %s delivered, end to end %.2f Mpps\n", \
		num(gen, "tx"), num(sink, "delivered"), num(sink, "mpps")
	printf "  stage   Mpps\n  gen    %6.2f\n  parse  %6.2f\n  route  %6.2f\n  sink   %6.2f\n", \
		num(gen, "mpps"), num(parse, "mpps"), num(route, "mpps"), num(sink, "mpps")
	printf "  drops: checksum %s, length %s, ttl %s (parse); unroutable %s (route); lost %s, duplicated %s (sink)\n", \
		num(parse, "checksum"), num(parse, "length"), num(parse, "ttl"), \
		num(route, "unroutable"), num(sink, "lost"), num(sink, "dup")
	printf "  latency: p50 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f us\n", \
		num(sink, "p50") / 1000, num(sink, "p99") / 1000, num(sink, "p999") / 1000, num(sink, "max") / 1000
	if (summary !~ /"ok":true/) { print "demo: a stage failed"; exit 1 }
}'
