// SPDX-License-Identifier: GPL-2.0
/*
 * The smallest shard program: attach to the shard named by $VANITY_SHARD
 * (or argv[1]), report what it owns, touch its memory and channels, detach.
 * It reports through vanity_log(): to `vanityctl run` when run started it,
 * else to stderr.
 */
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include <vanity.h>

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : NULL;
	struct vanity_channel *ch;
	struct vanity *v;
	const uint64_t *cpus;
	unsigned int cpu;
	char owns[256] = "";
	size_t len, o = 0;
	void *mem;
	int ret, i;

	ret = vanity_attach(name, &v);
	if (ret) {
		vanity_log(NULL, VANITY_LOG_ERR, "hello: attach %s: %s",
			   name ? name : "$VANITY_SHARD", strerror(-ret));
		return 1;
	}
	cpus = vanity_cpus(v);
	for (cpu = 0; cpu < VANITY_MAX_CPUS && o < sizeof(owns) - 12; cpu++)
		if (cpus[cpu / 64] & (1ULL << (cpu % 64)))
			o += (size_t)snprintf(owns + o, sizeof(owns) - o, " %u", cpu);
	vanity_memory(v, &mem, &len);
	vanity_log(v, VANITY_LOG_INFO,
		   "hello: shard %s (index %d) on cpu %d, owns cpus%s, %zu bytes of memory",
		   vanity_shard_name(v), vanity_shard_index(v), sched_getcpu(),
		   owns, len);
	if (mem)
		snprintf(mem, len, "%s was here", vanity_shard_name(v));

	/* Channels are named on the command line after the shard name. */
	for (i = 2; i < argc; i++) {
		vanity_loop_tick();	/* this program's main loop, such as it is */
		ret = vanity_channel_get(v, argv[i], &ch);
		if (ret) {
			vanity_log(v, VANITY_LOG_ERR, "hello: channel %s: %s",
				   argv[i], strerror(-ret));
			continue;
		}
		vanity_log(v, VANITY_LOG_INFO,
			   "hello: channel %s: %s end, %u slots of %u bytes, %zu bytes mapped",
			   ch->name, ch->role == VANITY_ROLE_FROM ? "sending" : "receiving",
			   ch->slots, ch->slot_size, ch->size);
	}
	vanity_detach(v);
	return 0;
}
