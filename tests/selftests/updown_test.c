// SPDX-License-Identifier: GPL-2.0
/*
 * UP, DOWN and GET over generic netlink: what GET reports for an image,
 * who may bring a system up or down, and that cycling it leaks nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "common.h"

#define KIB 1024ULL
#define MIB (1024ULL * 1024)

/*
 * Bytes of a channel region by the UAPI layout, computed here independently
 * of the module: the header, then @slots slots each of a sequence word
 * (VANITY_CHAN_SEQ_SIZE) and the 8-byte aligned payload, page-rounded.
 */
static uint64_t chan_region(uint32_t slot_size, uint32_t slots)
{
	uint64_t stride = VANITY_CHAN_SEQ_SIZE + (slot_size + 7) / 8 * 8;
	uint64_t b = VANITY_CHANNEL_HDR_SIZE + stride * slots;

	return (b + VANITY_PAGE_SIZE - 1) / VANITY_PAGE_SIZE * VANITY_PAGE_SIZE;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The name of the system that is up, or "" with the GET errno in *err. */
static void up_name(char name[VANITY_NAME_MAX], int *err)
{
	struct vanity_status *st;

	*err = vt_get(&st);
	name[0] = '\0';
	if (!*err)
		snprintf(name, VANITY_NAME_MAX, "%s", st->name);
	free(st);
}

FIXTURE(updown) {
	char msg[256];
};

FIXTURE_SETUP(updown)
{
	vt_reset();
	self->msg[0] = '\0';
}

FIXTURE_TEARDOWN(updown)
{
	vt_reset();
}

TEST_F(updown, up_pair_is_reported_by_get)
{
	const uint64_t mem = 64 * KIB;
	struct vanity_status *st;
	struct vanity_imgw w;
	unsigned int i, wd;

	vt_pair(&w, mem, 64, 16);
	ASSERT_EQ(0, vt_up(&w, self->msg, sizeof(self->msg)))
		TH_LOG("up: %s", self->msg);
	ASSERT_EQ(0, vt_get(&st));
	EXPECT_STREQ("selftest", st->name);
	ASSERT_EQ(2, st->nshards);
	ASSERT_EQ(2, st->nchannels);

	for (i = 0; i < 2; i++) {
		const struct vanity_status_shard *s = &st->shards[i];
		unsigned int cpu = i == 0 ? VT_CPU_A : VT_CPU_B;

		EXPECT_EQ(i, s->index);
		EXPECT_STREQ(i == 0 ? "producer" : "consumer", s->name);
		for (wd = 0; wd < VANITY_CPU_WORDS; wd++)
			EXPECT_EQ(wd == cpu / 64 ? 1ULL << (cpu % 64) : 0,
				  s->cpus[wd]) TH_LOG("shard %u word %u", i, wd);
		EXPECT_EQ(mem, s->memory);
		EXPECT_EQ(0, s->uid);
		EXPECT_EQ(0, s->pid) TH_LOG("shard %u attached at UP", i);
		EXPECT_STREQ("", s->program);
	}
	for (i = 0; i < 2; i++) {
		const struct vanity_status_channel *c = &st->channels[i];

		EXPECT_EQ(i, c->index);
		EXPECT_STREQ(i == 0 ? "data" : "back", c->name);
		EXPECT_EQ(i == 0 ? 0 : 1, c->from);
		EXPECT_EQ(i == 0 ? 1 : 0, c->to);
		EXPECT_EQ(64, c->slot_size);
		EXPECT_EQ(16, c->slots);
		/* 4096 header + 16 slots of 8 + 64 bytes, page-rounded. */
		EXPECT_EQ(8192, c->size);
	}
	free(st);
}

TEST_F(updown, channel_size_is_header_plus_slots_page_rounded)
{
	static const struct { uint32_t slot_size, slots; } geo[] = {
		/* 4096 + slots * (8 + slot_size), then page-rounded */
		{ 8, 2 },		/* 4128 -> 8192 */
		{ 8, 8 },		/* 4224 -> 8192 */
		{ 64, 2 },		/* 4240 -> 8192 */
		{ 1024, 2 },		/* 6160 -> 8192 */
		{ 32, 128 },		/* 9216 -> 12288 */
		{ 16, 256 },		/* 10240 -> 12288 */
		{ 4096, 2 },		/* 12304 -> 16384 */
		{ 128, 64 },		/* 12800 -> 16384 */
		{ 8, 1024 },		/* 20480 exactly */
		{ 8, 4096 },		/* 69632 exactly */
		{ 65536, 2 },		/* 135184 -> 139264 */
		{ 65536, 4 },		/* 266272 -> 270336 */
	};
	const unsigned int n = sizeof(geo) / sizeof(geo[0]);
	struct vanity_status *st;
	struct vanity_imgw w;
	uint64_t a[VANITY_CPU_WORDS], b[VANITY_CPU_WORDS];
	char name[16];
	unsigned int i;

	vt_cpus1(a, VT_CPU_A);
	vt_cpus1(b, VT_CPU_B);
	vanity_imgw_init(&w, "sizes");
	ASSERT_EQ(0, vanity_imgw_shard(&w, "left", 0, a, 0, NULL));
	ASSERT_EQ(1, vanity_imgw_shard(&w, "right", 4096, b, 0, NULL));
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "ch%u", i);
		ASSERT_EQ((int)i, vanity_imgw_channel(&w, name, i % 2, 1 - i % 2,
						      geo[i].slot_size,
						      geo[i].slots));
	}
	ASSERT_EQ(0, vt_up(&w, self->msg, sizeof(self->msg)))
		TH_LOG("up: %s", self->msg);
	ASSERT_EQ(0, vt_get(&st));
	ASSERT_EQ(n, st->nchannels);
	EXPECT_EQ(0, st->shards[0].memory);
	EXPECT_EQ(4096, st->shards[1].memory);
	for (i = 0; i < n; i++) {
		EXPECT_EQ(geo[i].slot_size, st->channels[i].slot_size);
		EXPECT_EQ(geo[i].slots, st->channels[i].slots);
		EXPECT_EQ(chan_region(geo[i].slot_size, geo[i].slots),
			  st->channels[i].size)
			TH_LOG("channel %u: %u x %u", i, geo[i].slot_size,
			       geo[i].slots);
		EXPECT_EQ(0, st->channels[i].size % VANITY_PAGE_SIZE);
	}
	/* Spot-check the helper itself against hand-computed values. */
	EXPECT_EQ(8192, chan_region(8, 2));
	EXPECT_EQ(12288, chan_region(32, 128));
	EXPECT_EQ(20480, chan_region(8, 1024));
	EXPECT_EQ(270336, chan_region(65536, 4));
	free(st);
}

TEST_F(updown, get_reports_uids_programs_and_shared_cpus)
{
	uint64_t a[VANITY_CPU_WORDS], both[VANITY_CPU_WORDS];
	struct vanity_status *st;
	struct vanity_imgw w;

	vt_cpus1(a, VT_CPU_A);
	vt_cpus1(both, VT_CPU_B);
	both[0] |= 1ULL << VT_CPU_A;
	vanity_imgw_init(&w, "details");
	ASSERT_EQ(0, vanity_imgw_shard(&w, "first", 0, a, 1000,
				       "/usr/bin/first --mode=fast"));
	ASSERT_EQ(1, vanity_imgw_shard(&w, "second", 12288, both, 65534, NULL));
	ASSERT_EQ(2, vanity_imgw_shard(&w, "third", 4096, a, 0, "third"));
	ASSERT_EQ(0, vt_up(&w, self->msg, sizeof(self->msg)))
		TH_LOG("up: %s", self->msg);
	ASSERT_EQ(0, vt_get(&st));
	EXPECT_STREQ("details", st->name);
	ASSERT_EQ(3, st->nshards);
	EXPECT_EQ(0, st->nchannels);
	EXPECT_EQ(1000, st->shards[0].uid);
	EXPECT_EQ(65534, st->shards[1].uid);
	EXPECT_EQ(0, st->shards[2].uid);
	EXPECT_STREQ("/usr/bin/first --mode=fast", st->shards[0].program);
	EXPECT_STREQ("", st->shards[1].program);
	EXPECT_STREQ("third", st->shards[2].program);
	EXPECT_EQ(0, st->shards[0].memory);
	EXPECT_EQ(12288, st->shards[1].memory);
	/* Two shards may share a CPU; one shard may have several. */
	EXPECT_EQ(1ULL << VT_CPU_A, st->shards[0].cpus[0]);
	EXPECT_EQ(1ULL << VT_CPU_A | 1ULL << VT_CPU_B, st->shards[1].cpus[0]);
	EXPECT_EQ(1ULL << VT_CPU_A, st->shards[2].cpus[0]);
	free(st);
}

TEST_F(updown, get_reports_a_system_at_every_limit)
{
	static char prog[VANITY_PROGRAM_MAX];
	uint64_t cpus[VANITY_CPU_WORDS];
	struct vanity_status *st;
	struct vanity_imgw w;
	char name[VANITY_NAME_MAX];
	unsigned int i;

	vanity_imgw_init(&w, "abcdefghijklmnopqrstuvwxyz-_789");
	for (i = 0; i < VANITY_MAX_SHARDS; i++) {
		vt_cpus1(cpus, i % 2 ? VT_CPU_B : VT_CPU_A);
		snprintf(name, sizeof(name), "shard-%02u-abcdefghijklmnopqrst", i);
		/* Programs of the longest legal length on a few shards. */
		memset(prog, 'a' + i % 26, sizeof(prog) - 1);
		ASSERT_EQ((int)i, vanity_imgw_shard(&w, name, 4096, cpus, i,
						    i % 8 == 0 ? prog : NULL));
	}
	for (i = 0; i < VANITY_MAX_CHANNELS; i++) {
		snprintf(name, sizeof(name), "channel-%03u-abcdefghijklmnopq", i);
		ASSERT_EQ((int)i, vanity_imgw_channel(&w, name, i % 64,
						      (i + 1 + i / 64) % 64, 8, 2));
	}
	ASSERT_EQ(0, vt_up(&w, self->msg, sizeof(self->msg)))
		TH_LOG("up: %s", self->msg);
	ASSERT_EQ(0, vt_get(&st));
	EXPECT_STREQ("abcdefghijklmnopqrstuvwxyz-_789", st->name);
	ASSERT_EQ(VANITY_MAX_SHARDS, st->nshards);
	ASSERT_EQ(VANITY_MAX_CHANNELS, st->nchannels);
	for (i = 0; i < VANITY_MAX_SHARDS; i++) {
		snprintf(name, sizeof(name), "shard-%02u-abcdefghijklmnopqrst", i);
		EXPECT_EQ(i, st->shards[i].index);
		EXPECT_STREQ(name, st->shards[i].name);
		EXPECT_EQ(i, st->shards[i].uid);
		EXPECT_EQ(i % 8 == 0 ? VANITY_PROGRAM_MAX - 1 : 0,
			  strlen(st->shards[i].program)) TH_LOG("shard %u", i);
	}
	for (i = 0; i < VANITY_MAX_CHANNELS; i++) {
		snprintf(name, sizeof(name), "channel-%03u-abcdefghijklmnopq", i);
		EXPECT_EQ(i, st->channels[i].index);
		EXPECT_STREQ(name, st->channels[i].name);
		EXPECT_EQ(i % 64, st->channels[i].from);
		EXPECT_EQ((i + 1 + i / 64) % 64, st->channels[i].to);
		EXPECT_EQ(8192, st->channels[i].size);
	}
	free(st);
}

TEST_F(updown, up_while_up_is_ebusy_naming_the_system_up)
{
	struct vanity_imgw w, other;
	uint64_t a[VANITY_CPU_WORDS];
	char name[VANITY_NAME_MAX];
	int err;

	vt_pair(&w, 4096, 64, 16);
	ASSERT_EQ(0, vt_up(&w, self->msg, sizeof(self->msg)))
		TH_LOG("up: %s", self->msg);

	vt_cpus1(a, VT_CPU_A);
	vanity_imgw_init(&other, "intruder");
	ASSERT_EQ(0, vanity_imgw_shard(&other, "solo", 4096, a, 0, NULL));
	EXPECT_EQ(-EBUSY, vt_up(&other, self->msg, sizeof(self->msg)));
	EXPECT_NE(NULL, strstr(self->msg, "'selftest'")) TH_LOG("msg: %s", self->msg);
	EXPECT_NE(NULL, strstr(self->msg, "already up")) TH_LOG("msg: %s", self->msg);
	EXPECT_EQ(NULL, strstr(self->msg, "intruder")) TH_LOG("msg: %s", self->msg);

	/* The same image again is refused just the same. */
	EXPECT_EQ(-EBUSY, vt_up(&w, self->msg, sizeof(self->msg)));

	up_name(name, &err);
	ASSERT_EQ(0, err);
	EXPECT_STREQ("selftest", name);
}

TEST_F(updown, down_when_none_up_is_enoent)
{
	EXPECT_EQ(-ENOENT, vt_down(false, self->msg, sizeof(self->msg)));
	EXPECT_STREQ("no system is up", self->msg);
	EXPECT_EQ(-ENOENT, vt_down(true, self->msg, sizeof(self->msg)));
	EXPECT_STREQ("no system is up", self->msg);
}

TEST_F(updown, get_when_down_is_enoent)
{
	struct vanity_status *st;
	struct vanity_imgw w;

	EXPECT_EQ(-ENOENT, vt_get(&st));
	free(st);

	/* Also after a system has been up and gone down again. */
	vt_pair(&w, 4096, 64, 16);
	ASSERT_EQ(0, vt_up(&w, self->msg, sizeof(self->msg)))
		TH_LOG("up: %s", self->msg);
	ASSERT_EQ(0, vt_get(&st));
	free(st);
	ASSERT_EQ(0, vt_down(false, self->msg, sizeof(self->msg)))
		TH_LOG("down: %s", self->msg);
	EXPECT_EQ(-ENOENT, vt_get(&st));
	free(st);
}

/*
 * The leak image: 8 shards alternating between the two isolated CPUs
 * (the last one on both), 256 KiB each, 16 channels of 64 x 64 bytes.
 */
#define LEAK_SHARDS	8
#define LEAK_CHANNELS	16
#define LEAK_MEM	(256 * KIB)
#define LEAK_SLOT	64
#define LEAK_SLOTS	64

static void leak_image(struct vanity_imgw *w)
{
	uint64_t cpus[VANITY_CPU_WORDS];
	char name[16];
	unsigned int i;

	vanity_imgw_init(w, "leaky");
	for (i = 0; i < LEAK_SHARDS; i++) {
		vt_cpus1(cpus, i % 2 ? VT_CPU_B : VT_CPU_A);
		if (i == LEAK_SHARDS - 1)
			cpus[0] |= 1ULL << VT_CPU_A | 1ULL << VT_CPU_B;
		snprintf(name, sizeof(name), "s%u", i);
		vanity_imgw_shard(w, name, LEAK_MEM, cpus, 0, NULL);
	}
	for (i = 0; i < LEAK_CHANNELS; i++) {
		snprintf(name, sizeof(name), "c%u", i);
		vanity_imgw_channel(w, name, i % LEAK_SHARDS,
				    (i % LEAK_SHARDS + 1 + i / LEAK_SHARDS) %
				    LEAK_SHARDS, LEAK_SLOT, LEAK_SLOTS);
	}
}

TEST_F_TIMEOUT(updown, cycle_1000_times_does_not_leak, 900)
{
	const unsigned int warmup = 10, cycles = 1000;
	/* Pages one cycle allocates: private regions and channel regions. */
	const long cycle_kb = (LEAK_SHARDS * LEAK_MEM +
			       LEAK_CHANNELS * chan_region(LEAK_SLOT, LEAK_SLOTS)) / KIB;
	/* Kernel heap one cycle allocates, at least: the image copy. */
	long image_kb;
	const long free_tol_kb = 4 * 1024, slab_tol_kb = 1024;
	long free0, free1, slab0, slab1;
	struct vanity_status *st;
	struct vanity_imgw w;
	unsigned int i;
	double t0;
	size_t len;
	void *img;

	leak_image(&w);
	ASSERT_EQ(0, vanity_imgw_finish(&w, &img, &len));
	image_kb = (long)((len + 4095) / 4096 * 4);

	/* The image is what we think it is. */
	ASSERT_EQ(0, vt_up_raw(img, len, self->msg, sizeof(self->msg)))
		TH_LOG("up: %s", self->msg);
	ASSERT_EQ(0, vt_get(&st));
	EXPECT_EQ(LEAK_SHARDS, st->nshards);
	EXPECT_EQ(LEAK_CHANNELS, st->nchannels);
	EXPECT_EQ(LEAK_MEM, st->shards[LEAK_SHARDS - 1].memory);
	EXPECT_EQ(3ULL << VT_CPU_A, st->shards[LEAK_SHARDS - 1].cpus[0]);
	free(st);
	ASSERT_EQ(0, vt_down(false, self->msg, sizeof(self->msg)));

	for (i = 0; i < warmup; i++) {
		ASSERT_EQ(0, vt_up_raw(img, len, self->msg, sizeof(self->msg)))
			TH_LOG("warm-up %u: %s", i, self->msg);
		ASSERT_EQ(0, vt_down(false, self->msg, sizeof(self->msg)))
			TH_LOG("warm-up %u: %s", i, self->msg);
	}
	vt_settle(500);
	free0 = vt_free_kb();
	slab0 = vt_meminfo("Slab");
	ASSERT_LT(0, free0);
	ASSERT_LT(0, slab0);

	t0 = now_s();
	for (i = 0; i < cycles; i++) {
		ASSERT_EQ(0, vt_up_raw(img, len, self->msg, sizeof(self->msg)))
			TH_LOG("cycle %u up: %s", i, self->msg);
		ASSERT_EQ(0, vt_down(false, self->msg, sizeof(self->msg)))
			TH_LOG("cycle %u down: %s", i, self->msg);
	}
	TH_LOG("%u cycles in %.1f s", cycles, now_s() - t0);
	free(img);

	vt_settle(500);
	free1 = vt_free_kb();
	slab1 = vt_meminfo("Slab");
	TH_LOG("free (MemFree + per-CPU lists) %ld -> %ld kB (%+ld), Slab %ld -> %ld kB (%+ld)",
	       free0, free1, free1 - free0, slab0, slab1, slab1 - slab0);
	TH_LOG("a leak of every cycle would cost %ld kB of pages and >= %ld kB of heap; tolerances %ld / %ld kB",
	       cycle_kb * cycles, image_kb * cycles, free_tol_kb, slab_tol_kb);

	/* The tolerances must be far below what a leak would cost. */
	ASSERT_LT(free_tol_kb * 100, cycle_kb * (long)cycles);
	ASSERT_LT(slab_tol_kb * 3, image_kb * (long)cycles);

	EXPECT_LE(free0 - free1, free_tol_kb);
	EXPECT_LE(slab1 - slab0, slab_tol_kb);
}

TEST_F_TIMEOUT(updown, large_region_cycles_return_memory, 600)
{
	const uint64_t big = 64 * MIB;
	const unsigned int cycles = 20;
	const long tol_kb = 4 * 1024;
	long free0, free_up = 0, free1;
	uint64_t cpus[VANITY_CPU_WORDS];
	struct vanity_imgw w;
	unsigned int i;
	double t0;
	size_t len;
	void *img;

	vt_cpus1(cpus, VT_CPU_A);
	vanity_imgw_init(&w, "bigmem");
	ASSERT_EQ(0, vanity_imgw_shard(&w, "hog", big, cpus, 0, NULL));
	ASSERT_EQ(0, vanity_imgw_finish(&w, &img, &len));

	/* Warm-up cycle. */
	ASSERT_EQ(0, vt_up_raw(img, len, self->msg, sizeof(self->msg)))
		TH_LOG("up: %s", self->msg);
	ASSERT_EQ(0, vt_down(false, self->msg, sizeof(self->msg)));

	vt_settle(500);
	free0 = vt_free_kb();
	ASSERT_LT(0, free0);
	t0 = now_s();
	for (i = 0; i < cycles; i++) {
		ASSERT_EQ(0, vt_up_raw(img, len, self->msg, sizeof(self->msg)))
			TH_LOG("cycle %u up: %s", i, self->msg);
		if (i == 0)
			free_up = vt_free_kb();
		ASSERT_EQ(0, vt_down(false, self->msg, sizeof(self->msg)))
			TH_LOG("cycle %u down: %s", i, self->msg);
	}
	TH_LOG("%u cycles of %llu MiB in %.1f s", cycles,
	       (unsigned long long)(big / MIB), now_s() - t0);
	free(img);
	vt_settle(500);
	free1 = vt_free_kb();
	TH_LOG("free (MemFree + per-CPU lists) %ld kB before, %ld kB while up, %ld kB after (%+ld); one leaked cycle = %llu kB",
	       free0, free_up, free1, free1 - free0,
	       (unsigned long long)(big / KIB));

	/* The measurement sees the region, or a leak could pass unnoticed. */
	EXPECT_GE(free0 - free_up, (long)(big / KIB) - tol_kb);
	ASSERT_LT(tol_kb, (long)(big / KIB));
	EXPECT_LE(free0 - free1, tol_kb);
}

/* ------------------------------------------------------------ IRQs */

#define MAX_IRQS 8

struct irq_save {
	unsigned int irq;
	char old[64];
};

/* Low 64 CPUs of a cpulist ("0-1,3"), or ~0 when unparsable. */
static uint64_t parse_cpulist(const char *s)
{
	uint64_t m = 0;
	unsigned long a, b;
	char *end;

	while (*s && *s != '\n') {
		a = strtoul(s, &end, 10);
		if (end == s)
			return ~0ULL;
		b = a;
		if (*end == '-') {
			s = end + 1;
			b = strtoul(s, &end, 10);
			if (end == s)
				return ~0ULL;
		}
		for (; a <= b && a < 64; a++)
			m |= 1ULL << a;
		s = *end == ',' ? end + 1 : end;
		if (*end != ',' && *end != '\n' && *end)
			return ~0ULL;
	}
	return m;
}

static int irq_read(unsigned int irq, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/irq/%u/smp_affinity_list", irq);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	if (buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 0;
}

static int irq_write(unsigned int irq, const char *list)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/irq/%u/smp_affinity_list", irq);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, list, strlen(list));
	close(fd);
	return n == (ssize_t)strlen(list) ? 0 : -EIO;
}

/*
 * Aim up to MAX_IRQS movable IRQs at every CPU (0-3), recording their old
 * masks in @save; returns how many. The kernel refuses user affinity for
 * per-CPU and managed IRQs, which are exactly the ones UP must not touch.
 */
static unsigned int irqs_spread(struct irq_save *save)
{
	unsigned int n = 0;
	struct dirent *de;
	char buf[64];
	DIR *d = opendir("/proc/irq");

	if (!d)
		return 0;
	while (n < MAX_IRQS && (de = readdir(d))) {
		char *end;
		unsigned long irq = strtoul(de->d_name, &end, 10);

		if (end == de->d_name || *end)
			continue;
		if (irq_read(irq, save[n].old, sizeof(save[n].old)))
			continue;
		if (irq_write(irq, "0-3"))
			continue;
		if (irq_read(irq, buf, sizeof(buf)) || strcmp(buf, "0-3")) {
			irq_write(irq, save[n].old);
			continue;
		}
		save[n++].irq = irq;
	}
	closedir(d);
	return n;
}

static void irqs_restore(const struct irq_save *save, unsigned int n)
{
	while (n--)
		irq_write(save[n].irq, save[n].old);
}

TEST_F(updown, up_steers_irqs_off_its_cpus_and_down_restores_them)
{
	const uint64_t shard_cpus = 1ULL << VT_CPU_A | 1ULL << VT_CPU_B;
	struct irq_save save[MAX_IRQS];
	struct vanity_imgw w;
	unsigned int n, i;
	char buf[64];

	n = irqs_spread(save);
	if (!n)
		SKIP(return, "no IRQ accepts a user affinity here");
	TH_LOG("%u IRQs aimed at 0-3, first %u (was %s)", n, save[0].irq,
	       save[0].old);

	vt_pair(&w, 4096, 64, 16);
	EXPECT_EQ(0, vt_up(&w, self->msg, sizeof(self->msg)))
		TH_LOG("up: %s", self->msg);
	for (i = 0; i < n; i++) {
		EXPECT_EQ(0, irq_read(save[i].irq, buf, sizeof(buf)));
		EXPECT_EQ(0, parse_cpulist(buf) & shard_cpus)
			TH_LOG("irq %u still on %s while up", save[i].irq, buf);
		EXPECT_NE(0, parse_cpulist(buf))
			TH_LOG("irq %u has no cpu", save[i].irq);
	}
	EXPECT_EQ(0, vt_down(false, self->msg, sizeof(self->msg)))
		TH_LOG("down: %s", self->msg);
	for (i = 0; i < n; i++) {
		EXPECT_EQ(0, irq_read(save[i].irq, buf, sizeof(buf)));
		EXPECT_STREQ("0-3", buf) TH_LOG("irq %u", save[i].irq);
	}
	irqs_restore(save, n);
}

/* Child: drop root (and with it CAP_NET_ADMIN), then try @arg's command. */
enum { TRY_UP, TRY_DOWN, TRY_GET };

static int unprivileged(void *arg)
{
	int what = *(int *)arg;
	struct vanity_status *st;
	struct vanity_imgw w;
	char msg[256];
	int ret;

	if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
		return 10;
	if (geteuid() != 65534)
		return 11;
	switch (what) {
	case TRY_UP:
		vt_pair(&w, 4096, 64, 16);
		ret = vt_up(&w, msg, sizeof(msg));
		break;
	case TRY_DOWN:
		ret = vt_down(false, msg, sizeof(msg));
		if (ret == -EPERM)
			ret = vt_down(true, msg, sizeof(msg));
		break;
	default:
		ret = vt_get(&st);
		free(st);
		return ret == 0 ? 0 : 20;
	}
	/* 0: refused with EPERM; 1: it worked; 2: another error. */
	return ret == -EPERM ? 0 : ret == 0 ? 1 : 2;
}

TEST_F(updown, unprivileged_up_is_eperm)
{
	int what = TRY_UP;
	struct vanity_status *st;

	EXPECT_EQ(0, vt_wait(vt_spawn(unprivileged, &what), 20000))
		TH_LOG("1 = UP succeeded without CAP_NET_ADMIN, 2 = other error");
	/* Nothing came up. */
	EXPECT_EQ(-ENOENT, vt_get(&st));
	free(st);
}

TEST_F(updown, unprivileged_down_is_eperm)
{
	int what = TRY_DOWN;
	struct vanity_status *st;
	struct vanity_imgw w;

	vt_pair(&w, 4096, 64, 16);
	ASSERT_EQ(0, vt_up(&w, self->msg, sizeof(self->msg)))
		TH_LOG("up: %s", self->msg);
	EXPECT_EQ(0, vt_wait(vt_spawn(unprivileged, &what), 20000))
		TH_LOG("1 = DOWN succeeded without CAP_NET_ADMIN, 2 = other error");
	/* Still up, unchanged. */
	ASSERT_EQ(0, vt_get(&st));
	EXPECT_STREQ("selftest", st->name);
	EXPECT_EQ(2, st->nshards);
	EXPECT_EQ(2, st->nchannels);
	free(st);
	EXPECT_EQ(0, vt_down(false, self->msg, sizeof(self->msg)))
		TH_LOG("down: %s", self->msg);
}

TEST_F(updown, unprivileged_get_is_allowed)
{
	int what = TRY_GET;
	struct vanity_imgw w;

	vt_pair(&w, 4096, 64, 16);
	ASSERT_EQ(0, vt_up(&w, self->msg, sizeof(self->msg)))
		TH_LOG("up: %s", self->msg);
	EXPECT_EQ(0, vt_wait(vt_spawn(unprivileged, &what), 20000));
}

static int userns_root_up(void *arg)
{
	struct vanity_imgw w;
	char msg[256];
	int ret;

	(void)arg;
	/* Root of a fresh user namespace: every capability, but only there. */
	if (unshare(CLONE_NEWUSER))
		return 10;
	vt_pair(&w, 4096, 64, 16);
	ret = vt_up(&w, msg, sizeof(msg));
	if (ret == 0)
		return 1;
	if (ret != -EPERM)
		return 2;
	ret = vt_down(true, msg, sizeof(msg));
	return ret == -EPERM ? 0 : 3;
}

TEST_F(updown, user_namespace_root_up_and_down_are_eperm)
{
	struct vanity_status *st;

	EXPECT_EQ(0, vt_wait(vt_spawn(userns_root_up, NULL), 20000))
		TH_LOG("1 = UP worked, 2 = UP other error, 3 = DOWN not EPERM, 10 = unshare failed");
	EXPECT_EQ(-ENOENT, vt_get(&st));
	free(st);
}

TEST_HARNESS_MAIN
