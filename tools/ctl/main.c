// SPDX-License-Identifier: GPL-2.0
/*
 * vanityctl: build a manifest into an image, bring it up or down, show
 * status, follow events (-j for JSON). Prints the kernel's own refusal;
 * exits 0 or 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "cmd.h"
#include "json.h"
#include "nl.h"
#include "cpulist.h"
#include "opdef.h"
#include "imgwrite.h"
#include "manifest.h"

static const char *prog = "vanityctl";

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s COMMAND [ARGS]\n"
		"\n"
		"commands:\n"
		"  build MANIFEST [-o IMAGE]   compile and check a manifest into an image\n"
		"  up IMAGE|MANIFEST           bring a system up from an image (or a manifest)\n"
		"  down [--force]              take the system down (--force revokes attached shards)\n"
		"  status [-j]                 show the system (-j: JSON)\n"
		"  run MANIFEST [--duration S] bring a system up, run and supervise its programs\n"
		"  events [-j] [--count N]     print ups and downs as they happen\n"
		"  devices [-j]                list PCI functions and whether each can be passed\n"
		"\n"
		"Run '%s COMMAND --help' for a command's options.\n", prog, prog);
}

/* Read an image file, or compile a manifest when it is not an image. */
static int load_image(const char *path, void **img, size_t *len)
{
	struct vanity_imgw *w;
	struct stat st;
	uint32_t magic = 0;
	ssize_t n;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "%s: up: %s: %s\n", prog, path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (pread(fd, &magic, sizeof(magic), 0) == sizeof(magic) &&
	    magic == VANITY_IMAGE_MAGIC) {
		if (st.st_size > VANITY_IMAGE_MAX_SIZE) {
			fprintf(stderr, "%s: up: %s: image of %lld bytes exceeds %u\n",
				prog, path, (long long)st.st_size,
				VANITY_IMAGE_MAX_SIZE);
			close(fd);
			return -1;
		}
		*img = malloc(st.st_size ? st.st_size : 1);
		n = *img ? pread(fd, *img, st.st_size, 0) : -1;
		close(fd);
		if (n != st.st_size) {
			fprintf(stderr, "%s: up: %s: short read\n", prog, path);
			free(*img);
			return -1;
		}
		*len = (size_t)n;
		return 0;
	}
	close(fd);
	w = malloc(sizeof(*w));
	if (!w)
		return -1;
	ret = vanity_manifest_load(path, w, stderr);
	if (!ret && vanity_imgw_finish(w, img, len)) {
		fprintf(stderr, "%s: up: %s: cannot serialise image\n", prog, path);
		ret = -1;
	}
	free(w);
	return ret;
}

static int cmd_up(int argc, char **argv)
{
	struct vanity_backend b;
	void *img;
	size_t len;
	int ret;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: %s up IMAGE|MANIFEST\n\n"
		       "Bring a system up. The kernel validates the image again and\n"
		       "claims its CPUs and memory, all or nothing.\n", prog);
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: %s up IMAGE|MANIFEST\n", prog);
		return 1;
	}
	if (load_image(argv[1], &img, &len))
		return 1;
	/* Only the module keeps a system up after this command exits. */
	if (vanity_backend_open(&b, &vanity_backends[VANITY_BACKEND_MODULE],
				"vanityctl: up")) {
		free(img);
		return 1;
	}
	ret = b.ops->up(&b, img, len);
	free(img);
	if (ret)
		ret = vanity_backend_fail(&b, NULL, ret);
	vanity_backend_close(&b);
	return ret;
}

static int cmd_down(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vanity_backend b;
	bool force = false;
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			force = true;
			break;
		case 'h':
			printf("usage: %s down [--force]\n\n"
			       "Take the system down. Refused while shards are attached,\n"
			       "unless --force: their mappings are revoked first.\n", prog);
			return 0;
		default:
			fprintf(stderr, "usage: %s down [--force]\n", prog);
			return 1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: %s down [--force]\n", prog);
		return 1;
	}
	if (vanity_backend_open(&b, &vanity_backends[VANITY_BACKEND_MODULE],
				"vanityctl: down"))
		return 1;
	ret = b.ops->down(&b, force);
	if (ret)
		ret = vanity_backend_fail(&b, NULL, ret);
	vanity_backend_close(&b);
	return ret;
}

static void json_cpus(const uint64_t *cpus)
{
	unsigned int cpu, n = 0;

	putchar('[');
	for (cpu = 0; cpu < VANITY_MAX_CPUS; cpu++)
		if (cpus[cpu / 64] & (1ULL << (cpu % 64)))
			printf("%s%u", n++ ? "," : "", cpu);
	putchar(']');
}

static const char *shard_name(const struct vanity_status *st, uint32_t i)
{
	return i < st->nshards ? st->shards[i].name : "?";
}

static const char *channel_name(const struct vanity_status *st, uint32_t i)
{
	return i < st->nchannels ? st->channels[i].name : "?";
}

static const char *window_kind(const struct vanity_status_window *w)
{
	return w->kind == VANITY_MMAP_K_PRIVATE ? "private" :
	       w->kind == VANITY_MMAP_K_CHANNEL ? "channel" : "unknown";
}

static void json_device(const struct vanity_status *st,
			const struct vanity_status_device *d)
{
	unsigned int j;

	printf("{\"index\":%u,\"name\":", d->index);
	vanity_json_string(stdout, d->name);
	printf(",\"pci\":");
	vanity_json_string(stdout, d->pci);
	printf(",\"owner\":");
	vanity_json_string(stdout, shard_name(st, d->owner));
	printf(",\"host_driver\":");
	vanity_json_string(stdout, d->host_driver);
	printf(",\"bus_master\":%s,\"bars\":[",
	       d->bus_master ? "true" : "false");
	for (j = 0; j < d->nbars; j++)
		printf("%s{\"index\":%u,\"size\":%llu,\"flags\":%u}",
		       j ? "," : "", d->bars[j].index,
		       (unsigned long long)d->bars[j].size, d->bars[j].flags);
	printf("],\"windows\":[");
	for (j = 0; j < d->nwindows; j++) {
		const struct vanity_status_window *w = &d->windows[j];

		printf("%s{\"kind\":\"%s\"", j ? "," : "", window_kind(w));
		if (w->kind == VANITY_MMAP_K_CHANNEL) {
			printf(",\"channel\":");
			vanity_json_string(stdout, channel_name(st, w->index));
		}
		printf(",\"iova\":%llu,\"size\":%llu,\"mapped\":%s}",
		       (unsigned long long)w->iova, (unsigned long long)w->size,
		       w->mapped ? "true" : "false");
	}
	printf("],\"irq\":{\"type\":\"%s\",\"counts\":[",
	       !d->nvec ? "none" : d->msix ? "msix" : "msi");
	for (j = 0; j < d->nvec; j++)
		printf("%s%llu", j ? "," : "",
		       (unsigned long long)d->irq_counts[j]);
	printf("]}}");
}

static void status_json(const struct vanity_status *st)
{
	unsigned int i;

	printf("{\"system\":{\"name\":");
	vanity_json_string(stdout, st->name);
	printf(",\"shards\":[");
	for (i = 0; i < st->nshards; i++) {
		const struct vanity_status_shard *s = &st->shards[i];

		printf("%s{\"index\":%u,\"name\":", i ? "," : "", s->index);
		vanity_json_string(stdout, s->name);
		printf(",\"cpus\":");
		json_cpus(s->cpus);
		printf(",\"memory\":%llu,\"uid\":%u,\"attached\":%s,\"pid\":%u",
		       (unsigned long long)s->memory, s->uid,
		       s->pid ? "true" : "false", s->pid);
		if (s->program[0]) {
			printf(",\"program\":");
			vanity_json_string(stdout, s->program);
		}
		printf(",\"ring\":{\"entries\":%u,\"sqpoll\":%s,"
		       "\"submitted\":%llu,\"completed\":%llu,"
		       "\"overflows\":%llu,\"poller_wakeups\":%llu,\"ops\":{",
		       s->ring_entries, s->sqpoll ? "true" : "false",
		       (unsigned long long)s->submitted,
		       (unsigned long long)s->completed,
		       (unsigned long long)s->overflows,
		       (unsigned long long)s->poller_wakeups);
		for (unsigned int op = 0; op < VANITY_OP_LAST; op++)
			printf("%s\"%s\":%llu", op ? "," : "", vanity_opdefs[op].name,
			       (unsigned long long)s->ops[op]);
		printf("}}}");
	}
	printf("],\"channels\":[");
	for (i = 0; i < st->nchannels; i++) {
		const struct vanity_status_channel *c = &st->channels[i];
		const char *from = c->from < st->nshards ? st->shards[c->from].name : "?";
		const char *to = c->to < st->nshards ? st->shards[c->to].name : "?";

		printf("%s{\"index\":%u,\"name\":", i ? "," : "", c->index);
		vanity_json_string(stdout, c->name);
		printf(",\"from\":");
		vanity_json_string(stdout, from);
		printf(",\"to\":");
		vanity_json_string(stdout, to);
		printf(",\"slot_size\":%u,\"slots\":%u,\"bytes\":%llu,"
		       "\"used\":%u,\"head\":%u,\"tail\":%u,\"sent\":%llu,"
		       "\"received\":%llu,\"sleeps\":%llu,\"wakeups\":%llu}",
		       c->slot_size, c->slots, (unsigned long long)c->size,
		       c->head - c->tail, c->head, c->tail,
		       (unsigned long long)c->sent,
		       (unsigned long long)c->received,
		       (unsigned long long)c->sleeps,
		       (unsigned long long)c->wakeups);
	}
	printf("]");
	/* Only when there are some: the output of systems without is kept. */
	if (st->ndevices) {
		printf(",\"devices\":[");
		for (i = 0; i < st->ndevices; i++) {
			printf("%s", i ? "," : "");
			json_device(st, &st->devices[i]);
		}
		printf("]");
	}
	printf("}}\n");
}

static void text_device(const struct vanity_status *st,
			const struct vanity_status_device *d)
{
	unsigned int j;

	printf("device %s %s owner %s host_driver %s bus_master %s\n",
	       d->name, d->pci, shard_name(st, d->owner),
	       d->host_driver[0] ? d->host_driver : "-",
	       d->bus_master ? "on" : "off");
	for (j = 0; j < d->nbars; j++)
		printf("  bar %u size %#llx flags %#x\n", d->bars[j].index,
		       (unsigned long long)d->bars[j].size, d->bars[j].flags);
	for (j = 0; j < d->nwindows; j++) {
		const struct vanity_status_window *w = &d->windows[j];

		printf("  dma %s", window_kind(w));
		if (w->kind == VANITY_MMAP_K_CHANNEL)
			printf(" %s", channel_name(st, w->index));
		printf(" iova %#llx size %#llx%s\n", (unsigned long long)w->iova,
		       (unsigned long long)w->size,
		       w->mapped ? "" : " (unmapped)");
	}
	if (!d->nvec)
		return;
	printf("  irq %s vectors %u counts ", d->msix ? "msix" : "msi", d->nvec);
	for (j = 0; j < d->nvec; j++)
		printf("%s%llu", j ? "," : "",
		       (unsigned long long)d->irq_counts[j]);
	putchar('\n');
}

static void text_channels(const struct vanity_status *st)
{
	unsigned int i;

	if (!st->nchannels)
		return;
	printf("\n%-20s %-16s %-16s %9s %8s %16s %12s %12s\n", "CHANNEL",
	       "FROM", "TO", "SLOT_SIZE", "SLOTS", "USED", "SENT", "RECEIVED");
	for (i = 0; i < st->nchannels; i++) {
		const struct vanity_status_channel *c = &st->channels[i];
		uint32_t used = c->head - c->tail;
		char occ[32];

		/* Shard-written positions: show nonsense as such, not as a %. */
		if (used <= c->slots && c->slots)
			snprintf(occ, sizeof(occ), "%u (%u%%)", used,
				 (unsigned int)((uint64_t)used * 100 / c->slots));
		else
			snprintf(occ, sizeof(occ), "corrupt");
		printf("%-20s %-16s %-16s %9u %8u %16s %12llu %12llu\n", c->name,
		       c->from < st->nshards ? st->shards[c->from].name : "?",
		       c->to < st->nshards ? st->shards[c->to].name : "?",
		       c->slot_size, c->slots, occ,
		       (unsigned long long)c->sent,
		       (unsigned long long)c->received);
	}
}

static void status_text(const struct vanity_status *st)
{
	char cpus[256];
	unsigned int i;

	printf("system %s: %u shards, %u channels\n\n", st->name, st->nshards,
	       st->nchannels);
	printf("%-20s %-10s %12s %6s %-10s\n", "SHARD", "CPUS", "MEMORY", "UID",
	       "ATTACHED");
	for (i = 0; i < st->nshards; i++) {
		const struct vanity_status_shard *s = &st->shards[i];
		char pid[16] = "-";

		if (vanity_cpulist_format(s->cpus, cpus, sizeof(cpus)) < 0)
			snprintf(cpus, sizeof(cpus), "...");
		if (s->pid)
			snprintf(pid, sizeof(pid), "pid %u", s->pid);
		printf("%-20s %-10s %12llu %6u %-10s\n", s->name, cpus,
		       (unsigned long long)s->memory, s->uid, pid);
	}
	text_channels(st);
	/* A section of its own, after a blank line, only when there are some. */
	if (st->ndevices)
		putchar('\n');
	for (i = 0; i < st->ndevices; i++)
		text_device(st, &st->devices[i]);
}

static int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct vanity_backend_ops *ops;
	struct vanity_status *st;
	struct vanity_backend b;
	bool json = false;
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			printf("usage: %s status [-j]\n\n"
			       "Show the system that is up: shards (cpus, memory, attached\n"
			       "pid), channels and passed devices. -j prints one JSON\n"
			       "object. The backend is run's: $VANITY_BACKEND, else the\n"
			       "module when /dev/vanity exists; a hosted system is seen\n"
			       "only by its vanityctl run.\n", prog);
			return 0;
		default:
			fprintf(stderr, "usage: %s status [-j]\n", prog);
			return 1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: %s status [-j]\n", prog);
		return 1;
	}
	ops = vanity_backend_choose(NULL, "vanityctl: status");
	if (!ops || vanity_backend_open(&b, ops, "vanityctl: status"))
		return 1;
	st = malloc(sizeof(*st));
	if (!st) {
		vanity_backend_close(&b);
		return 1;
	}
	ret = b.ops->get(&b, st);
	if (ret == -ENOENT) {
		if (json)
			printf("{\"system\":null}\n");
		else
			printf("no system is up\n");
		ret = 0;
	} else if (ret) {
		ret = vanity_backend_fail(&b, NULL, ret);
	} else if (json) {
		status_json(st);
	} else {
		status_text(st);
	}
	free(st);
	vanity_backend_close(&b);
	return ret;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} cmds[] = {
	{ "build", vanity_cmd_build },
	{ "up", cmd_up },
	{ "down", cmd_down },
	{ "status", cmd_status },
	{ "run", vanity_cmd_run },
	{ "events", vanity_cmd_events },
	{ "devices", vanity_cmd_devices },
};

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "%s: unknown command '%s'\n", prog, argv[1]);
	usage(stderr);
	return 1;
}
