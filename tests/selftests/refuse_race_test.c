// SPDX-License-Identifier: GPL-2.0
/*
 * Refusal messages under concurrency: every caller of UP gets its own
 * refusal's message, exactly, however many others are refused meanwhile.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "common.h"

/*
 * Child: @arg's shard on a housekeeping CPU, refused again and again. The
 * racers' messages differ in name and length, so a reply carrying another
 * caller's message, or a mix of two, is caught.
 */
struct racer {
	const char *shard;
	unsigned int cpu;
};

#define RACERS 4
#define RACE_ROUNDS 5000

static int race_refusals(void *arg)
{
	const struct racer *r = arg;
	uint64_t cpus[VANITY_CPU_WORDS];
	struct vanity_imgw w;
	struct vanity_nl *nl;
	int i, bad = 0, ret;
	char want[128];
	size_t len;
	void *img;

	vt_cpus1(cpus, r->cpu);
	vanity_imgw_init(&w, "racing");
	vanity_imgw_shard(&w, r->shard, 4096, cpus, 0, NULL);
	if (vanity_imgw_finish(&w, &img, &len) || vanity_nl_open(&nl))
		return 255;
	snprintf(want, sizeof(want),
		 "shard '%s': cpu %u is not isolated (boot with isolcpus=%u)",
		 r->shard, r->cpu, r->cpu);
	for (i = 0; i < RACE_ROUNDS; i++) {
		ret = vanity_nl_up(nl, img, len);
		if (ret != -EINVAL || strcmp(vanity_nl_msg(nl), want)) {
			if (!bad)
				fprintf(stderr, "# %s round %d: %d '%s'\n", r->shard,
					i, ret, vanity_nl_msg(nl));
			bad++;
		}
	}
	vanity_nl_close(nl);
	free(img);
	return bad > 254 ? 254 : bad;
}

FIXTURE(race) {
	int unused;
};

FIXTURE_SETUP(race)
{
	vt_reset();
}

FIXTURE_TEARDOWN(race)
{
	vt_reset();
}

TEST_F_TIMEOUT(race, concurrent_refusals_each_carry_their_own_message, 600)
{
	static const struct racer racers[RACERS] = {
		{ "alpha", 0 }, { "beta-beta", 1 },
		{ "gamma-gamma-gamma", 0 }, { "d", 1 },
	};
	struct vanity_status *st;
	struct vanity_imgw w;
	pid_t pid[RACERS];
	unsigned int i;

	for (i = 0; i < RACERS; i++) {
		pid[i] = vt_spawn(race_refusals, (void *)&racers[i]);
		ASSERT_LT(0, pid[i]);
	}
	/* Exit status: how many of RACE_ROUNDS replies were wrong. */
	for (i = 0; i < RACERS; i++)
		EXPECT_EQ(0, vt_wait(pid[i], 540000))
			TH_LOG("racer %u of %u", i + 1, RACERS);
	/* Nothing came up, and a good UP works right after. */
	EXPECT_EQ(-ENOENT, vt_get(&st));
	vt_pair(&w, 4096, 64, 16);
	EXPECT_EQ(0, vt_up(&w, NULL, 0));
}

TEST_HARNESS_MAIN
