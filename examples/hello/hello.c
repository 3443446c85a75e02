// SPDX-License-Identifier: GPL-2.0
/*
 * The smallest shard program: attach to the shard named by $VANITY_SHARD
 * (or argv[1]), report what it owns, touch its memory and channels, detach.
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
	size_t len;
	void *mem;
	int ret, i;

	ret = vanity_attach(name, &v);
	if (ret) {
		fprintf(stderr, "hello: attach %s: %s\n",
			name ? name : "$VANITY_SHARD", strerror(-ret));
		return 1;
	}
	printf("hello: shard %s (index %d) on cpu %d, owns cpus",
	       vanity_shard_name(v), vanity_shard_index(v), sched_getcpu());
	cpus = vanity_cpus(v);
	for (cpu = 0; cpu < VANITY_MAX_CPUS; cpu++)
		if (cpus[cpu / 64] & (1ULL << (cpu % 64)))
			printf(" %u", cpu);
	vanity_memory(v, &mem, &len);
	printf(", %zu bytes of memory\n", len);
	if (mem)
		snprintf(mem, len, "%s was here", vanity_shard_name(v));

	/* Channels are named on the command line after the shard name. */
	for (i = 2; i < argc; i++) {
		ret = vanity_channel_get(v, argv[i], &ch);
		if (ret) {
			printf("hello: channel %s: %s\n", argv[i], strerror(-ret));
			continue;
		}
		printf("hello: channel %s: %s end, %u slots of %u bytes, %zu bytes mapped\n",
		       ch->name, ch->role == VANITY_ROLE_FROM ? "sending" : "receiving",
		       ch->slots, ch->slot_size, ch->size);
	}
	vanity_detach(v);
	return 0;
}
