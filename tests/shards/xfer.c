// SPDX-License-Identifier: GPL-2.0
/*
 * A test shard program for both backends: as "producer" it sends --count
 * numbered messages on "data"; as "consumer" it receives and checks them,
 * resuming where the channel says after a restart. --die-at K makes the
 * first run of the consumer kill itself after K messages (marker file).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vanity.h>

int main(int argc, char **argv)
{
	unsigned long long count = 100000, die_at = 0, k;
	const char *shard = getenv("VANITY_SHARD"), *marker = NULL;
	struct vanity_channel *ch;
	uint64_t msg[8];
	struct vanity *v;
	int i, ret;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--count") && i + 1 < argc)
			count = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--die-at") && i + 2 < argc) {
			die_at = strtoull(argv[++i], NULL, 0);
			marker = argv[++i];
		}
	}
	ret = vanity_attach(NULL, &v);
	if (ret) {
		fprintf(stderr, "xfer: attach %s: %s\n", shard, strerror(-ret));
		return 2;
	}
	ret = vanity_channel_get(v, "data", &ch);
	if (ret) {
		fprintf(stderr, "xfer: channel: %s\n", strerror(-ret));
		return 3;
	}
	vanity_channel_set_spin(ch, 20000);
	if (ch->role == VANITY_ROLE_FROM) {
		for (k = ch->pos; k < count; k++) {
			msg[0] = k;
			msg[7] = ~k;
			ret = vanity_send_wait(ch, msg, 30000000000LL);
			if (ret) {
				fprintf(stderr, "xfer: send %llu: %s\n", k, strerror(-ret));
				return 4;
			}
		}
	} else {
		/* A restarted consumer resumes at the channel's tail. */
		for (k = ch->pos; k < count; k++) {
			if (marker && k == die_at && access(marker, F_OK)) {
				close(open(marker, O_CREAT | O_WRONLY, 0644));
				raise(SIGKILL);
			}
			ret = vanity_recv_wait(ch, msg, 30000000000LL);
			if (ret) {
				fprintf(stderr, "xfer: recv %llu: %s\n", k, strerror(-ret));
				return 5;
			}
			if (msg[0] != k || msg[7] != ~k) {
				fprintf(stderr, "xfer: message %llu is %llu\n", k,
					(unsigned long long)msg[0]);
				return 6;
			}
		}
		printf("xfer: consumer received all %llu\n", count);
	}
	vanity_detach(v);
	return 0;
}
