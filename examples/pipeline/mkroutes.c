// SPDX-License-Identifier: GPL-2.0
/*
 * mkroutes: write a prefix file for route: N random prefixes of lengths
 * 8..32 ("a.b.c.d/len nexthop", next hops 1..K) and a default route
 * 0.0.0.0/0 so that every destination matches something. With no options
 * it writes the table route builds when given no file (routes.h).
 *
 * mkroutes [-n N] [-k NEXTHOPS] [--seed S] [--no-default] [-o FILE]
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routes.h"

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "no-default", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	unsigned long n = ROUTES_COUNT, k = ROUTES_NEXTHOPS, i;
	uint64_t state = ROUTES_SEED;
	const char *path = NULL;
	int c, def = 1;
	FILE *f = stdout;

	while ((c = getopt_long(argc, argv, "n:k:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n': n = strtoul(optarg, NULL, 0); break;
		case 'k': k = strtoul(optarg, NULL, 0); break;
		case 'o': path = optarg; break;
		case 's': state = strtoull(optarg, NULL, 0) | 1; break;
		case 'D': def = 0; break;
		case 'h':
			printf("usage: mkroutes [-n N] [-k NEXTHOPS] [--seed S] [--no-default] [-o FILE]\n");
			return 0;
		default:
			fprintf(stderr, "usage: mkroutes [-n N] [-k NEXTHOPS] [--seed S] [--no-default] [-o FILE]\n");
			return 1;
		}
	}
	if (!k || k > 0x7fff) {
		fprintf(stderr, "mkroutes: -k wants 1..32767\n");
		return 1;
	}
	if (path && !(f = fopen(path, "w"))) {
		perror(path);
		return 1;
	}
	if (def)
		fprintf(f, "0.0.0.0/0 1\n");
	for (i = 0; i < n; i++) {
		struct lpm_prefix p = routes_next(&state, k);
		uint32_t a = p.addr;

		fprintf(f, "%u.%u.%u.%u/%u %u\n", a >> 24, (a >> 16) & 255,
			(a >> 8) & 255, a & 255, p.len, p.nh);
	}
	if (path && fclose(f)) {
		perror(path);
		return 1;
	}
	return 0;
}
