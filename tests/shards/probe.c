// SPDX-License-Identifier: GPL-2.0
/*
 * A test shard program checking the attach rules on either backend:
 * prints one line per check, "probe: <check> <errno name>", and exits 0.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <vanity.h>

static const char *name_of(int err)
{
	switch (err) {
	case 0: return "ok";
	case -ENOENT: return "ENOENT";
	case -EBUSY: return "EBUSY";
	case -EACCES: return "EACCES";
	case -EPERM: return "EPERM";
	default: return strerror(-err);
	}
}

int main(void)
{
	struct vanity_channel_info ci = { 0 };
	struct vanity_probe pr = { 0 };
	unsigned long long ops = 0;
	unsigned int i;
	struct vanity_channel *ch;
	struct vanity *v, *v2 = NULL;
	int ret;
	size_t len;
	void *mem;

	printf("probe: unknown %s\n", name_of(vanity_attach("nosuch", &v2)));
	printf("probe: attach %s\n", name_of(vanity_attach(NULL, &v)));
	printf("probe: again %s\n", name_of(vanity_attach(NULL, &v2)));
	printf("probe: foreign %s\n", name_of(vanity_channel_get(v, "other", &ch)));
	/* Known to anyone, mapped by its ends only: the same on both backends. */
	ret = vanity_channel_lookup(v, "other", &ci);
	printf("probe: lookup foreign %s role %u index %u from %u to %u slots %u\n",
	       name_of(ret), ci.role, ci.index, ci.from, ci.to, ci.slots);
	ret = vanity_channel_lookup(v, "data", &ci);
	printf("probe: lookup own %s role %u index %u\n", name_of(ret), ci.role,
	       ci.index);
	printf("probe: lookup unknown %s\n",
	       name_of(vanity_channel_lookup(v, "nosuch", &ci)));
	/* The ops the backend issues: the core's table on both. */
	ret = vanity_probe(v, &pr);
	for (i = 0; !ret && i < VANITY_PROBE_OPS_MAX; i++)
		ops |= (unsigned long long)vanity_op_supported(&pr, i) << i;
	printf("probe: ops %s last %u len %u mask 0x%llx\n", name_of(ret),
	       pr.last_op, pr.ops_len, ops);
	printf("probe: nochan %s\n", name_of(vanity_channel_get(v, "nosuch", &ch)));
	printf("probe: own %s\n", name_of(vanity_channel_get(v, "data", &ch)));
	vanity_memory(v, &mem, &len);
	printf("probe: memory %zu\n", len);
	vanity_detach(v);
	return 0;
}
