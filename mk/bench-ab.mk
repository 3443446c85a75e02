# SPDX-License-Identifier: GPL-2.0
# `make bench-ab BASE=<commit>`: bench-ring and bench-channels A/B, BASE (A)
# against this working tree (B), the two sides taking turns so that the
# run shows its own noise next to any difference. A benchmark, not a test
# (not part of `make check`): nothing fails on a difference.
#
# A is exported (git archive) into build/ab/base/ and built there against
# the same KDIR: its module, its bench-channels, and its bench-ring if that
# is to run (by default only if include/uapi/linux/vanity.h differs; else
# B's binary drives both modules). Then, holding the VM lock throughout:
#   ring      ONE VM boot, per round: rmmod, insmod A's vanity.ko, run
#             bench-ring; rmmod, insmod B's, run bench-ring (A,B,A,B,...)
#   channels  natively, per round A's bench-channels then B's
# and per bench one table: every figure's median for A and for B, B/A,
# each side's spread over its rounds (max/min: the noise yardstick), a '!'
# where B/A is outside that noise, each round's value; a line for the
# figures whose code both sides share (their B/A is pure noise); then each
# side's `target` lines from the medians, with the rounds that met them.
# The printed tables are also in build/ab/summary.txt; the full tables,
# the runs' output and the parsed records are under build/ab/
# (tools/bench/ab.sh says which file is what). About 6 + 2.5 minutes with
# the defaults here (2 cores, TCG).
#
# Knobs: BASE (required: a commit, tag or branch), BENCH_AB_ROUNDS (3),
# BENCH_AB_BENCHES ("ring channels", or either alone), BENCH_AB_RING_BIN
# (auto; own: each side its own bench-ring; a or b: that side's for both,
# so that only the modules differ), BENCH_AB_RUN_TIMEOUT
# (300 s per bench run), BENCH_AB_VM_TIMEOUT (the ring boot's limit,
# default 240 + 2 x rounds x run timeout); the benches' own knobs apply to
# both sides alike: RING_BENCH_SECS, RING_BENCH_REPS, BENCH_REPS and
# BENCH_QUICK (1 here unless set: quick channel runs); the tools/vm/run.sh
# ones (VM_*) reach the VM.

BENCH_AB_ROUNDS ?= 3
BENCH_AB_BENCHES ?= ring channels
BENCH_AB_RING_BIN ?= auto
BENCH_AB_RUN_TIMEOUT ?= 300
BENCH_AB_VM_TIMEOUT ?=
BENCH_AB_QUICK = $(if $(BENCH_QUICK),$(BENCH_QUICK),1)

ifneq ($(filter bench-ab,$(MAKECMDGOALS)),)
ifeq ($(BASE),)
$(error usage: make bench-ab BASE=<commit> (see mk/bench-ab.mk))
endif
endif

.PHONY: bench-ab
# B's artifacts are built here, as `make bench-ring` and `make
# bench-channels` build them; A's by tools/bench/ab.sh in its own tree.
bench-ab: $(if $(filter ring,$(BENCH_AB_BENCHES)),kmod/vanity.ko $(RING_BENCH_BIN)) \
		$(if $(filter channels,$(BENCH_AB_BENCHES)),$(BENCH_BIN))
	AB_ROUNDS='$(BENCH_AB_ROUNDS)' AB_BENCHES='$(BENCH_AB_BENCHES)' AB_RING_BIN='$(BENCH_AB_RING_BIN)' \
		AB_RUN_TIMEOUT='$(BENCH_AB_RUN_TIMEOUT)' AB_VM_TIMEOUT='$(BENCH_AB_VM_TIMEOUT)' \
		RING_BENCH_SECS='$(RING_BENCH_SECS)' RING_BENCH_REPS='$(RING_BENCH_REPS)' \
		BENCH_QUICK='$(BENCH_AB_QUICK)' BENCH_REPS='$(BENCH_REPS)' \
		KDIR='$(KDIR)' B_KO=kmod/vanity.ko B_RING_BIN='$(RING_BENCH_BIN)' \
		B_CHAN_BIN='$(BENCH_BIN)' $(VM_ENV) tools/bench/ab.sh '$(BASE)'
