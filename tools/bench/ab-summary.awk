# SPDX-License-Identifier: GPL-2.0
# tools/bench/ab-summary.awk: the A/B summary of `make bench-ab`, one bench
# at a time, from the records tools/bench/ab.sh parsed out of its runs.
#
# Input: tab-separated records "side round figure better value [goal]":
# side A (BASE) or B (the working tree), better "hi" or "lo" (which
# direction is an improvement), goal only on `target` figures.
# Variables (-v): title (first line), show (regex: figures printed in the
# table; the full table is for everything), control (regex: figures whose
# code is the same on both sides, summarised on one line as the A/B's own
# noise), nrounds, full (where the full table is, to say so).
#
# Output, one line per figure, whitespace-separated (spaces inside figure
# names become '_'):
#   figure better A-med B-med B/A A-spread B-spread flag A-rounds B-rounds
# med: median over the rounds; spread: slowest/fastest round of that side
# (max/min, >= 1), the noise yardstick; flag '!' when B/A lies outside
# [1/noise, noise] with noise = the larger of the two spreads (the medians
# moved further apart than either side moved between its own rounds), '.'
# otherwise, '?' when a side has no value; rounds: each round's figure in
# run order, comma-separated ('-' where that run gave none). Then the
# controls line and the targets as the benches print them, per side, from
# the medians, with how many rounds met each.

BEGIN {
	FS = "\t"
	if (show == "")
		show = "."
}

function fmt(v) {
	if (v == "")
		return "-"
	v += 0
	if (v >= 1000 || v <= -1000)
		return sprintf("%.0f", v)
	if (v >= 100 || v <= -100)
		return sprintf("%.1f", v)
	return sprintf("%.2f", v)
}

# median of the n values in a[1..n] (sorted in place)
function median(a, n,    i, j, t) {
	for (i = 2; i <= n; i++) {
		t = a[i]
		for (j = i - 1; j >= 1 && a[j] > t; j--)
			a[j + 1] = a[j]
		a[j + 1] = t
	}
	if (n % 2)
		return a[(n + 1) / 2]
	return (a[n / 2] + a[n / 2 + 1]) / 2
}

# collects side s of figure f into tmp[1..], returns the count
function collect(f, s,    r, n) {
	n = 0
	for (r = 1; r <= maxround; r++)
		if ((f, s, r) in val)
			tmp[++n] = val[f, s, r] + 0
	return n
}

function spread(n,    i, lo, hi) {
	lo = hi = tmp[1]
	for (i = 2; i <= n; i++) {
		if (tmp[i] < lo) lo = tmp[i]
		if (tmp[i] > hi) hi = tmp[i]
	}
	return lo > 0 ? hi / lo : 1
}

function rounds(f, s,    r, out) {
	out = ""
	for (r = 1; r <= maxround; r++)
		out = out (r > 1 ? "," : "") (((f, s, r) in val) ? fmt(val[f, s, r]) : "-")
	return out
}

{
	f = $3
	if (!(f in seen)) {
		seen[f] = 1
		order[++nfig] = f
		better[f] = $4
	}
	val[f, $1, $2] = $5
	if ($2 + 0 > maxround)
		maxround = $2 + 0
	if ($6 != "") {
		goal[f] = $6
		if ($5 + 0 >= $6 + 0)
			met[f, $1]++
		ran[f, $1]++
	}
}

END {
	if (nrounds > maxround)
		maxround = nrounds
	printf "%s\n", title
	printf "%-48s %-3s %9s %9s %7s %6s %6s %-4s  %s  %s\n", "figure", "hi?",
	       "A-med", "B-med", "B/A", "A-spr", "B-spr", "flag", "A-rounds",
	       "B-rounds"
	for (i = 1; i <= nfig; i++) {
		f = order[i]
		na = collect(f, "A"); sa = na ? spread(na) : 0; ma = na ? median(tmp, na) : ""
		nb = collect(f, "B"); sb = nb ? spread(nb) : 0; mb = nb ? median(tmp, nb) : ""
		ratio = ""
		flag = "?"
		if (na && nb && ma == 0 && mb == 0) {
			ratio = 1
			flag = "."
		} else if (na && nb && ma > 0) {
			ratio = mb / ma
			noise = sa > sb ? sa : sb
			flag = (ratio > noise * 1.000001 || ratio * noise < 0.999999) ? "!" : "."
		}
		name = f
		gsub(/ /, "_", name)
		line = sprintf("%-48s %-3s %9s %9s %7s %6s %6s %-4s  %s  %s", name,
			       better[f], fmt(ma), fmt(mb),
			       ratio == "" ? "-" : sprintf("%.3f", ratio),
			       na ? sprintf("%.2f", sa) : "-",
			       nb ? sprintf("%.2f", sb) : "-", flag,
			       rounds(f, "A"), rounds(f, "B"))
		if (f ~ show) {
			print line
			nshown++
			if (flag == "!") nflag++
		} else {
			hidden++
		}
		if (control != "" && f ~ control && ratio != "") {
			nc++
			cr[nc] = ratio
			cs[nc] = sa > sb ? sa : sb
			if (flag == "!") cflag++
		}
	}
	if (hidden)
		printf "(%d more figures, in %s)\n", hidden, full
	printf "moved beyond the A/B's noise ('!'): %d of %d figures shown\n", nflag, nshown
	if (nc) {
		lo = hi = cr[1]
		for (k = 2; k <= nc; k++) {
			if (cr[k] < lo) lo = cr[k]
			if (cr[k] > hi) hi = cr[k]
		}
		for (k = 1; k <= nc; k++) tmp[k] = cr[k]
		mr = median(tmp, nc)
		for (k = 1; k <= nc; k++) tmp[k] = cs[k]
		ms = median(tmp, nc)
		printf "controls (%d figures, same code on both sides): B/A median %.3f, range %.3f..%.3f; spread median %.2f, max %.2f; '!' %d\n",
		       nc, mr, lo, hi, ms, tmp[nc], cflag
	}
	for (i = 1; i <= nfig; i++) {
		f = order[i]
		if (!(f in goal))
			continue
		for (s = 1; s <= 2; s++) {
			side = s == 1 ? "B" : "A"
			n = collect(f, side)
			if (!n)
				continue
			m = median(tmp, n)
			name = f
			sub(/^target\//, "", name)
			printf "%s target %s: %.2fx (goal %sx) %s (met in %d of %d rounds)\n",
			       side, name, m, goal[f], (m >= goal[f] + 0 ? "met" : "missed"),
			       met[f, side] + 0, ran[f, side] + 0
		}
	}
}
