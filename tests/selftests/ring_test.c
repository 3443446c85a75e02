// SPDX-License-Identifier: GPL-2.0
/*
 * The submission ring against the module: every op and its CQE, every
 * malformed SQE class, ENTER's errors, batches, CQ overflow and recovery,
 * SQPOLL (no ENTER, NEED_WAKEUP, the idle/wake edge under stress, a shard
 * killed with SQEs in flight), two shards at once, the ring's mmap,
 * tracepoints and the per-op counters of debugfs and GET.
 *
 * The standard image: "producer" (index 0, CPU 2), "consumer" (1, CPU 3),
 * "third" (2, CPU 3); channels "data" 0: producer -> consumer, "back" 1:
 * consumer -> producer, "side" 2: consumer -> third (foreign to the
 * producer). Nothing here asserts on speed. One test orders events
 * with a clock in them (a 0.3 s WAIT must end while 8 s of doorbells are
 * still ringing): a 25x margin.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../include/ring_util.h"
#include "kselftest_harness.h"
#include "common.h"

#define CH_DATA 0
#define CH_BACK 1
#define CH_SIDE 2
#define NCHANNELS 3
#define SLOTS 16
#define SLOT_SIZE 64

#define RINGS_FILE "/sys/kernel/debug/vanity/rings"

/* ------------------------------------------------------------ helpers */

/* The standard image; @ring_entries for the producer (0: default). */
static int up_std(uint32_t ring_entries, char *msg, size_t len)
{
	uint64_t cpus[VANITY_CPU_WORDS];
	struct vanity_imgw w;

	vt_reset();
	vt_pair(&w, 4096, SLOT_SIZE, SLOTS);
	vt_cpus1(cpus, VT_CPU_B);
	vanity_imgw_shard(&w, "third", 0, cpus, 0, NULL);
	vanity_imgw_channel(&w, "side", 1, 2, SLOT_SIZE, SLOTS);
	w.shards[0].ring_entries = ring_entries;
	return vt_up(&w, msg, len);
}

/* The next SQE where the caller knows there is room (aborts if not). */
static struct vanity_sqe *next_sqe(struct vanity_ring *r)
{
	struct vanity_sqe *sqe = get_sqe_expecting_room(r);

	if (!sqe) {
		fprintf(stderr, "# the SQ is unexpectedly full\n");
		abort();
	}
	return sqe;
}

static int nop_ok(struct vanity_ring *r, uint64_t ud)
{
	struct vanity_sqe s = sqe_of(VANITY_OP_NOP, 0, 0, 0, ud);

	return ring_res_of(r, &s);
}

/* ENTER with every field chosen; @size may exceed the struct (zero tail). */
static int raw_enter(int fd, uint32_t size, uint32_t flags, uint32_t to_submit,
		     uint32_t min_complete, uint64_t r0, uint64_t r1)
{
	struct {
		struct vanity_enter e;
		uint64_t tail[2];
	} big;
	int ret;

	memset(&big, 0, sizeof(big));
	big.e.size = size;
	big.e.flags = flags;
	big.e.to_submit = to_submit;
	big.e.min_complete = min_complete;
	big.e.resv[0] = r0;
	big.e.resv[1] = r1;
	ret = ioctl(fd, VANITY_IOC_ENTER, &big);
	return ret < 0 ? -errno : ret;
}

/* ENTER with a struct larger than ours whose extra bytes are not zero. */
static int enter_dirty_tail(int fd)
{
	struct {
		struct vanity_enter e;
		uint64_t tail[2];
	} big;
	int ret;

	memset(&big, 0, sizeof(big));
	big.e.size = sizeof(big);
	big.tail[1] = 1;
	ret = ioctl(fd, VANITY_IOC_ENTER, &big);
	return ret < 0 ? -errno : ret;
}

static int bell(int fd, unsigned long cmd, uint32_t chan, uint32_t expect,
		int64_t timeout_ns)
{
	struct vanity_doorbell db = {
		.size = sizeof(db),
		.channel = chan,
		.expect = expect,
		.timeout_ns = timeout_ns,
	};

	return ioctl(fd, cmd, &db) < 0 ? -errno : 0;
}

/* One row of debugfs vanity/rings. */
struct ring_row {
	char name[64];
	unsigned int entries;
	char sqpoll[8];
	unsigned long long submitted, completed, overflows, wakeups, inflight;
	unsigned long long ops[VANITY_OP_LAST];
};

static int ring_row(const char *shard, struct ring_row *o)
{
	char line[1024], *tok, *save;
	unsigned long long v[5 + VANITY_OP_LAST];
	FILE *f = fopen(RINGS_FILE, "r");
	unsigned int n;

	if (!f)
		return -errno;
	if (!fgets(line, sizeof(line), f)) {	/* the header */
		fclose(f);
		return -EIO;
	}
	while (fgets(line, sizeof(line), f)) {
		memset(o, 0, sizeof(*o));
		tok = strtok_r(line, " \n", &save);
		if (!tok || strcmp(tok, shard))
			continue;
		snprintf(o->name, sizeof(o->name), "%s", tok);
		tok = strtok_r(NULL, " \n", &save);
		o->entries = tok ? strtoul(tok, NULL, 10) : 0;
		tok = strtok_r(NULL, " \n", &save);
		snprintf(o->sqpoll, sizeof(o->sqpoll), "%s", tok ? tok : "");
		for (n = 0; n < 5 + VANITY_OP_LAST; n++) {
			tok = strtok_r(NULL, " \n", &save);
			if (!tok)
				break;
			v[n] = strtoull(tok, NULL, 10);
		}
		fclose(f);
		if (n != 5 + VANITY_OP_LAST || strtok_r(NULL, " \n", &save))
			return -EPROTO;
		o->submitted = v[0];
		o->completed = v[1];
		o->overflows = v[2];
		o->wakeups = v[3];
		o->inflight = v[4];
		memcpy(o->ops, v + 5, sizeof(o->ops));
		return 0;
	}
	fclose(f);
	return -ENOENT;
}

/* GET's view of shard @idx (copied out), 0 or -errno. */
static int get_shard(unsigned int idx, struct vanity_status_shard *out)
{
	struct vanity_status *st;
	int ret = vt_get(&st);

	if (!ret && idx >= st->nshards)
		ret = -ENOENT;
	if (!ret)
		*out = st->shards[idx];
	free(st);
	return ret;
}

/* The name of shard @shard's poller thread. */
static void poller_comm(const char *shard, char out[64])
{
	snprintf(out, 64, "vanity-sq/%s", shard);
}

/*
 * Tasks named @comm in /proc/<pid>/comm: a kthread shows its full name
 * there, other tasks their 15-byte comm, so a truncated @comm counts too.
 */
static int count_comm(const char *comm)
{
	char path[300], buf[80];
	struct dirent *de;
	int n = 0, fd;
	ssize_t len;
	DIR *d = opendir("/proc");

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		if (!strcmp(buf, comm) ||
		    (strlen(buf) == 15 && !strncmp(buf, comm, 15)))
			n++;
	}
	closedir(d);
	return n;
}

/* Poll until count_comm(@comm) == @want: true, or false after @secs. */
static bool comm_becomes(const char *comm, int want, double secs)
{
	double end = now() + secs;

	for (;;) {
		if (count_comm(comm) == want)
			return true;
		if (now() > end)
			return false;
		usleep(5000);
	}
}

/* ------------------------------------------------------ the fixture */

FIXTURE(ring) {
	struct vanity *v;
	struct vanity_ring *r;
};

FIXTURE_SETUP(ring)
{
	char msg[256];

	ASSERT_EQ(0, up_std(0, msg, sizeof(msg))) TH_LOG("up: %s", msg);
	ASSERT_EQ(0, vanity_attach("producer", &self->v));
	self->r = vanity_ring(self->v);
	ASSERT_NE(NULL, self->r);
}

FIXTURE_TEARDOWN(ring)
{
	vanity_detach(self->v);
	vt_reset();
}

/* ------------------------------------------------------------- ops */

TEST_F(ring, nop_completes_with_zero)
{
	struct vanity_ring *r = self->r;
	struct vanity_sqe *sqe = vanity_get_sqe(r);
	struct vanity_cqe c;

	ASSERT_NE(NULL, sqe);
	vanity_prep_nop(sqe, 0x1122334455667788ULL);
	ASSERT_EQ(1, vanity_submit_and_wait(r, 1));
	ASSERT_EQ(1, cq_ready(r));
	ASSERT_EQ(0, pop(r, &c));
	EXPECT_EQ(0x1122334455667788ULL, c.user_data);
	EXPECT_EQ(0, c.res);
	EXPECT_EQ(0, c.flags);
	EXPECT_EQ(-EAGAIN, pop(r, &c));
	EXPECT_EQ(1, *r->sq_head);
}

TEST_F(ring, notify_own_channels_completes_with_zero)
{
	struct vanity_sqe s;

	s = sqe_of(VANITY_OP_NOTIFY, CH_DATA, 0, 0, 1);
	EXPECT_EQ(0, ring_res_of(self->r, &s));	/* producer end */
	s = sqe_of(VANITY_OP_NOTIFY, CH_BACK, 0, 0, 2);
	EXPECT_EQ(0, ring_res_of(self->r, &s));	/* consumer end */
}

struct sleeper_res {
	int wait_ret;
	int attach_ret;
};

static int consumer_sleeps_on_data(void *arg)
{
	struct sleeper_res *out = arg;
	struct vanity *v;

	out->attach_ret = vanity_attach("consumer", &v);
	if (out->attach_ret)
		return 10;
	/* head is 0 and nobody sends: only a doorbell ends this. */
	out->wait_ret = bell(vanity_fd(v), VANITY_IOC_WAIT, CH_DATA, 0,
			     20000000000LL);
	vanity_detach(v);
	return out->wait_ret ? 11 : 0;
}

TEST_F(ring, notify_wakes_a_peer_sleeping_in_ioc_wait)
{
	struct sleeper_res *res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE,
				       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct vanity_sqe s;
	bool asleep = false;
	double end;
	pid_t pid;

	ASSERT_NE(MAP_FAILED, res);
	res->wait_ret = 1;
	pid = vt_spawn(consumer_sleeps_on_data, res);
	ASSERT_LT(0, pid);
	/* Until the consumer sleeps in its WAIT ioctl. */
	for (end = now() + 20; !asleep && now() < end; usleep(10000))
		asleep = vt_sleeps_in_ioctl(pid);
	ASSERT_TRUE(asleep);
	usleep(300000);
	ASSERT_EQ(0, waitpid(pid, NULL, WNOHANG)) TH_LOG("the sleeper returned early");
	s = sqe_of(VANITY_OP_NOTIFY, CH_DATA, 0, 0, 0xbe11);
	EXPECT_EQ(0, ring_res_of(self->r, &s));
	EXPECT_EQ(0, vt_wait(pid, 15000));
	EXPECT_EQ(0, res->attach_ret);
	EXPECT_EQ(0, res->wait_ret) TH_LOG("WAIT ended with %d, not by the doorbell",
					   res->wait_ret);
	munmap(res, sizeof(*res));
}

static int consumer_sends_back(void *arg)
{
	struct vanity_channel *ch;
	struct vanity *v;
	char buf[SLOT_SIZE] = "b";
	useconds_t delay = (useconds_t)(uintptr_t)arg;

	if (vanity_attach("consumer", &v) || vanity_channel_get(v, "back", &ch))
		return 10;
	usleep(delay);
	/* The fast path rings because the ring WAIT raised cons_waiting. */
	if (vanity_send(ch, buf))
		return 11;
	vanity_detach(v);
	return 0;
}

TEST_F(ring, wait_returns_the_bit_of_a_ready_channel)
{
	struct vanity_ring *r = self->r;
	struct vanity_channel *data;
	char buf[SLOT_SIZE] = "d";
	struct vanity_sqe s;
	unsigned int i;
	pid_t pid;

	/* data (we produce) has room: bit 0 of base 0. */
	s = sqe_of(VANITY_OP_WAIT, CH_DATA, 0x3, -1, 1);
	EXPECT_EQ(0, ring_res_of(r, &s));
	/* back (we consume) is empty: nothing ready. */
	s = sqe_of(VANITY_OP_WAIT, CH_DATA, 0x2, 0, 2);
	EXPECT_EQ(-ETIME, ring_res_of(r, &s));

	/* Fill data: no longer ready for us. */
	ASSERT_EQ(0, vanity_channel_get(self->v, "data", &data));
	for (i = 0; i < SLOTS; i++)
		ASSERT_EQ(0, vanity_send(data, buf));
	ASSERT_EQ(-EAGAIN, vanity_send(data, buf));
	s = sqe_of(VANITY_OP_WAIT, CH_DATA, 0x1, 0, 3);
	EXPECT_EQ(-ETIME, ring_res_of(r, &s));

	/* A message on back: of data and back, only back (bit 1) is ready. */
	pid = vt_spawn(consumer_sends_back, (void *)(uintptr_t)0);
	ASSERT_EQ(0, vt_wait(pid, 20000));
	s = sqe_of(VANITY_OP_WAIT, CH_DATA, 0x3, -1, 4);
	EXPECT_EQ(1, ring_res_of(r, &s));
	s = sqe_of(VANITY_OP_WAIT, CH_BACK, 0x1, -1, 5);
	EXPECT_EQ(0, ring_res_of(r, &s));
	EXPECT_EQ(0, nop_ok(r, 6));
}

TEST_F(ring, wait_sleeps_until_a_channel_is_ready)
{
	struct vanity_sqe s = sqe_of(VANITY_OP_WAIT, CH_DATA, 0x2, 20000000000LL, 7);
	pid_t pid = vt_spawn(consumer_sends_back, (void *)(uintptr_t)300000);

	ASSERT_LT(0, pid);
	/* ENTER issues the WAIT here and returns when back has data. */
	EXPECT_EQ(1, ring_res_of(self->r, &s));
	EXPECT_EQ(0, vt_wait(pid, 20000));
}

TEST_F(ring, wait_times_out_with_etime)
{
	struct vanity_sqe s;

	s = sqe_of(VANITY_OP_WAIT, CH_BACK, 0x1, 0, 1);
	EXPECT_EQ(-ETIME, ring_res_of(self->r, &s));
	s = sqe_of(VANITY_OP_WAIT, CH_BACK, 0x1, 2000000, 2);
	EXPECT_EQ(-ETIME, ring_res_of(self->r, &s));
	EXPECT_EQ(0, nop_ok(self->r, 3));
}

/* Child: @arg[0] is the stop flag, @arg[1] counts the rings so far. */
static int consumer_rings_back(void *arg)
{
	volatile int *stop = arg;
	struct vanity *v;
	int i;

	if (vanity_attach("consumer", &v))
		return 10;
	/* Doorbells on back without data: wakeups that make nothing ready. */
	for (i = 0; i < 400 && !*stop; i++) {
		if (bell(vanity_fd(v), VANITY_IOC_WAKE, CH_BACK, 0, 0))
			return 11;
		__atomic_fetch_add(&stop[1], 1, __ATOMIC_RELAXED);
		usleep(20000);
	}
	vanity_detach(v);
	return *stop ? 0 : 12;
}

/*
 * A WAIT's timeout runs from its issue: doorbells that wake it without
 * making a channel ready must not restart it. The WAIT (0.3 s) must end
 * while the peer is still ringing every 20 ms (for 8 s in all).
 */
TEST_F_TIMEOUT(ring, wait_timeout_is_not_restarted_by_doorbells, 60)
{
	volatile int *stop = mmap(NULL, 2 * sizeof(int), PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct vanity_sqe s = sqe_of(VANITY_OP_WAIT, CH_BACK, 0x1, 300000000, 9);
	int res, running, i;
	pid_t pid;

	ASSERT_NE(MAP_FAILED, (void *)stop);
	stop[0] = stop[1] = 0;
	pid = vt_spawn(consumer_rings_back, (void *)stop);
	ASSERT_LT(0, pid);
	/* The bells have started (bounded: the child rings within 10 s). */
	for (i = 0; i < 2000 && !__atomic_load_n(&stop[1], __ATOMIC_RELAXED); i++)
		usleep(5000);
	ASSERT_NE(0, stop[1]) TH_LOG("the peer never rang");
	res = ring_res_of(self->r, &s);
	running = waitpid(pid, NULL, WNOHANG) == 0;
	*stop = 1;
	EXPECT_EQ(-ETIME, res);
	EXPECT_TRUE(running) TH_LOG("the WAIT outlived 8 s of doorbells: its "
				    "timeout restarts at every wakeup");
	if (running)
		EXPECT_EQ(0, vt_wait(pid, 20000));
	munmap((void *)stop, 2 * sizeof(int));
}

TEST_F(ring, yield_completes_with_zero)
{
	struct vanity_sqe s = sqe_of(VANITY_OP_YIELD, 0, 0, 0, 0x71e1d);

	EXPECT_EQ(0, ring_res_of(self->r, &s));
}

TEST_F(ring, deadlines_past_the_clocks_end_never_fire)
{
	const char *why = check_never_deadlines(self->r, CH_BACK);

	ASSERT_TRUE(!why) TH_LOG("%s", why);
}

TEST_F(ring, timeout_completes_with_etime)
{
	struct vanity_sqe s;

	s = sqe_of(VANITY_OP_TIMEOUT, 0, 0, 5000000, 1);	/* 5 ms */
	EXPECT_EQ(-ETIME, ring_res_of(self->r, &s));
	s = sqe_of(VANITY_OP_TIMEOUT, 0, 0, 0, 2);
	EXPECT_EQ(-ETIME, ring_res_of(self->r, &s));
	EXPECT_EQ(0, nop_ok(self->r, 3));
}

/* ------------------------------------------------------- bad SQEs */

struct bad_sqe {
	const char *what;
	struct vanity_sqe sqe;
	int res;
};

#define NBAD 30

/* Every malformed class, each with its expected CQE result. */
static unsigned int bad_sqes(struct bad_sqe *b)
{
	unsigned int n = 0, i;

#define BAD(w, op, ch, mask, tmo, err) do {				\
		b[n].what = (w);					\
		b[n].sqe = sqe_of((op), (ch), (mask), (tmo), 0xbad00 + n); \
		b[n].res = (err);					\
		n++;							\
	} while (0)
	BAD("opcode LAST", VANITY_OP_LAST, 0, 0, 0, -EINVAL);
	BAD("opcode LAST+1", VANITY_OP_LAST + 1, 0, 0, 0, -EINVAL);
	BAD("opcode 128", 128, 0, 0, 0, -EINVAL);
	BAD("opcode 255", 255, 0, 0, 0, -EINVAL);
	BAD("flags 1", VANITY_OP_NOP, 0, 0, 0, -EINVAL);
	b[n - 1].sqe.flags = 1;
	BAD("flags 0x80", VANITY_OP_NOTIFY, CH_DATA, 0, 0, -EINVAL);
	b[n - 1].sqe.flags = 0x80;
	for (i = 0; i < 4; i++) {
		BAD("resv[i]", VANITY_OP_NOP, 0, 0, 0, -EINVAL);
		b[n - 1].sqe.resv[i] = 1ULL << (i * 16 + 3);
	}
	BAD("nop with channel", VANITY_OP_NOP, 1, 0, 0, -EINVAL);
	BAD("nop with mask", VANITY_OP_NOP, 0, 1, 0, -EINVAL);
	BAD("nop with timeout", VANITY_OP_NOP, 0, 0, 1, -EINVAL);
	BAD("nop with negative timeout", VANITY_OP_NOP, 0, 0, -1, -EINVAL);
	BAD("yield with channel", VANITY_OP_YIELD, 1, 0, 0, -EINVAL);
	BAD("yield with mask", VANITY_OP_YIELD, 0, 4, 0, -EINVAL);
	BAD("notify foreign channel", VANITY_OP_NOTIFY, CH_SIDE, 0, 0, -EACCES);
	BAD("notify channel past the end", VANITY_OP_NOTIFY, NCHANNELS, 0, 0, -EINVAL);
	BAD("notify channel ~0", VANITY_OP_NOTIFY, 0xffffffffU, 0, 0, -EINVAL);
	BAD("notify with mask", VANITY_OP_NOTIFY, CH_DATA, 1, 0, -EINVAL);
	BAD("wait empty mask", VANITY_OP_WAIT, 0, 0, 0, -EINVAL);
	BAD("wait foreign bit", VANITY_OP_WAIT, 0, 1ULL << CH_SIDE, 0, -EACCES);
	BAD("wait own and foreign bits", VANITY_OP_WAIT, CH_BACK, 0x3, 0, -EACCES);
	BAD("wait bit past the end", VANITY_OP_WAIT, 0, 1ULL << NCHANNELS, 0, -EINVAL);
	BAD("wait bit 63", VANITY_OP_WAIT, 0, 1ULL << 63, 0, -EINVAL);
	BAD("wait base past the end", VANITY_OP_WAIT, NCHANNELS, 1, 0, -EINVAL);
	BAD("timeout negative", VANITY_OP_TIMEOUT, 0, 0, -1, -EINVAL);
	BAD("timeout INT64_MIN", VANITY_OP_TIMEOUT, 0, 0, INT64_MIN, -EINVAL);
#undef BAD
	return n;
}

TEST_F(ring, each_malformed_sqe_fails_in_its_cqe_and_the_ring_goes_on)
{
	struct bad_sqe b[NBAD + 4];
	unsigned int n = bad_sqes(b), i;

	ASSERT_LE(n, NBAD);
	for (i = 0; i < n; i++) {
		EXPECT_EQ(b[i].res, ring_res_of(self->r, &b[i].sqe))
			TH_LOG("case %u: %s", i, b[i].what);
		EXPECT_EQ(0, nop_ok(self->r, 0x900d00 + i))
			TH_LOG("NOP after case %u: %s", i, b[i].what);
	}
}

TEST_F(ring, malformed_sqes_in_one_batch_each_get_their_cqe)
{
	struct vanity_ring *r = self->r;
	struct bad_sqe b[NBAD + 4];
	unsigned int n = bad_sqes(b), i;
	struct vanity_sqe *sqe;
	struct vanity_cqe c;

	/* bad, NOP, bad, NOP, ...: 2n SQEs in one ENTER. */
	for (i = 0; i < n; i++) {
		sqe = vanity_get_sqe(r);
		ASSERT_NE(NULL, sqe);
		*sqe = b[i].sqe;
		sqe = vanity_get_sqe(r);
		ASSERT_NE(NULL, sqe);
		vanity_prep_nop(sqe, 0x900d00 + i);
	}
	ASSERT_EQ(2 * n, vanity_submit_and_wait(r, 2 * n));
	ASSERT_EQ(2 * n, cq_ready(r));
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, pop(r, &c));
		EXPECT_EQ(b[i].sqe.user_data, c.user_data);
		EXPECT_EQ(b[i].res, c.res) TH_LOG("case %u: %s", i, b[i].what);
		ASSERT_EQ(0, pop(r, &c));
		EXPECT_EQ(0x900d00 + i, c.user_data);
		EXPECT_EQ(0, c.res);
	}
	EXPECT_EQ(0, nop_ok(r, 1));
}

/* ---------------------------------------------------------- ENTER */

TEST_F(ring, enter_rejects_bad_arguments)
{
	int fd = vanity_fd(self->v);
	uint32_t cqn = self->r->cq_mask + 1;

	EXPECT_EQ(-EINVAL, raw_enter(fd, sizeof(struct vanity_enter), 1U << 2, 0, 0, 0, 0));
	EXPECT_EQ(-EINVAL, raw_enter(fd, sizeof(struct vanity_enter), 1U << 31, 0, 0, 0, 0));
	EXPECT_EQ(-EINVAL, raw_enter(fd, sizeof(struct vanity_enter), 0, 0, 0, 1, 0));
	EXPECT_EQ(-EINVAL, raw_enter(fd, sizeof(struct vanity_enter), 0, 0, 0, 0, 1ULL << 63));
	EXPECT_EQ(-EINVAL, raw_enter(fd, sizeof(struct vanity_enter), 0, 0, cqn + 1, 0, 0));
	EXPECT_EQ(-EINVAL, raw_enter(fd, sizeof(struct vanity_enter),
				     VANITY_ENTER_GETEVENTS, 0, cqn + 1, 0, 0));
	EXPECT_EQ(-EINVAL, raw_enter(fd, sizeof(struct vanity_enter), 0, 0, ~0U, 0, 0));
	/* Too small to hold min_complete; too large with a non-zero tail. */
	EXPECT_EQ(-EINVAL, raw_enter(fd, 8, 0, 0, 0, 0, 0));
	EXPECT_EQ(-EINVAL, raw_enter(fd, 0, 0, 0, 0, 0, 0));
	EXPECT_EQ(-E2BIG, enter_dirty_tail(fd));
	/* The limits themselves are fine. */
	EXPECT_EQ(0, raw_enter(fd, sizeof(struct vanity_enter), 0, 0, cqn, 0, 0));
	EXPECT_EQ(0, raw_enter(fd, sizeof(struct vanity_enter) + 16, 0, 0, 0, 0, 0));
	EXPECT_EQ(0, raw_enter(fd, offsetof(struct vanity_enter, resv), 0, 0, 0, 0, 0));
	EXPECT_EQ(0, nop_ok(self->r, 1));
}

/*
 * An older caller's shorter struct may end where its mapping ends: ENTER
 * reads only the bytes its size names and zero-extends the rest.
 */
TEST_F(ring, enter_reads_an_older_struct_at_the_end_of_a_mapping)
{
	static const size_t sizes[] = {
		offsetof(struct vanity_enter, resv),
		offsetof(struct vanity_enter, resv[1]),
	};
	long page = sysconf(_SC_PAGESIZE);
	struct vanity_enter *e;
	struct vanity_cqe c;
	unsigned int i;
	char *map;

	map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, munmap(map + page, page));
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		vanity_prep_nop(next_sqe(self->r), 70 + i);
		__atomic_store_n(self->r->sq_tail, self->r->sqe_tail,
				 __ATOMIC_RELEASE);
		e = (struct vanity_enter *)(map + page - sizes[i]);
		memset(e, 0, sizes[i]);
		e->size = sizes[i];
		e->to_submit = 1;
		EXPECT_EQ(1, ioctl(vanity_fd(self->v), VANITY_IOC_ENTER, e))
			TH_LOG("size %zu: %s", sizes[i], strerror(errno));
		EXPECT_EQ(1, cq_ready(self->r));
		ASSERT_EQ(0, pop(self->r, &c));
		EXPECT_EQ(70 + i, c.user_data);
	}
	/* A size that claims more than the mapping holds still faults. */
	e = (struct vanity_enter *)(map + page - sizes[0]);
	e->size = sizeof(*e);
	EXPECT_EQ(-1, ioctl(vanity_fd(self->v), VANITY_IOC_ENTER, e));
	EXPECT_EQ(EFAULT, errno);
	munmap(map, page);
}

TEST_F(ring, enter_consumes_no_more_than_was_published)
{
	struct vanity_ring *r = self->r;
	struct vanity_cqe c;
	unsigned int i;

	for (i = 0; i < 3; i++)
		vanity_prep_nop(next_sqe(r), 40 + i);
	__atomic_store_n(r->sq_tail, r->sqe_tail, __ATOMIC_RELEASE);
	EXPECT_EQ(3, raw_enter(vanity_fd(self->v), sizeof(struct vanity_enter),
			       0, 1000, 0, 0, 0));
	EXPECT_EQ(3, cq_ready(r));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, pop(r, &c));
		EXPECT_EQ(40 + i, c.user_data);
	}
	EXPECT_EQ(0, raw_enter(vanity_fd(self->v), sizeof(struct vanity_enter),
			       0, 1000, 0, 0, 0));
}

TEST(enter_on_an_unattached_fd_is_enotconn)
{
	char msg[256];
	int fd;

	ASSERT_EQ(0, up_std(0, msg, sizeof(msg))) TH_LOG("up: %s", msg);
	fd = open("/dev/vanity", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-ENOTCONN, raw_enter(fd, sizeof(struct vanity_enter), 0, 1, 0, 0, 0));
	EXPECT_EQ(-ENOTCONN, raw_enter(fd, sizeof(struct vanity_enter),
				       VANITY_ENTER_GETEVENTS, 0, 1, 0, 0));
	close(fd);
	vt_reset();
}

/* ------------------------------------------------ async WAIT and TIMEOUT */

/* Queue @s without waiting for it. */
static void put_sqe(struct vanity_ring *r, struct vanity_sqe s)
{
	*next_sqe(r) = s;
}

TEST_F(ring, timeout_does_not_hold_back_later_sqes)
{
	struct vanity_ring *r = self->r;
	struct vanity_cqe c, *cqe;
	struct ring_row row;

	put_sqe(r, sqe_of(VANITY_OP_TIMEOUT, 0, 0, 3000000000LL, 1));
	put_sqe(r, sqe_of(VANITY_OP_NOP, 0, 0, 0, 2));
	ASSERT_EQ(2, vanity_submit(r));
	/* The NOP completed behind the armed TIMEOUT, which holds a slot. */
	ASSERT_EQ(1, cq_ready(r));
	ASSERT_EQ(0, pop(r, &c));
	EXPECT_EQ(2, c.user_data);
	ASSERT_EQ(0, ring_row("producer", &row));
	EXPECT_EQ(1, row.inflight);
	EXPECT_EQ(2, row.submitted);
	EXPECT_EQ(1, row.completed);
	ASSERT_EQ(0, vanity_wait_cqe(r, &cqe));
	EXPECT_EQ(1, cqe->user_data);
	EXPECT_EQ(-ETIME, cqe->res);
	vanity_cqe_seen(r);
	ASSERT_EQ(0, ring_row("producer", &row));
	EXPECT_EQ(0, row.inflight);
	EXPECT_EQ(2, row.completed);
}

/* The peer's send, from another process attached as "consumer". */
static int send_back(void *ctx)
{
	(void)ctx;
	return vt_wait(vt_spawn(consumer_sends_back, (void *)(uintptr_t)0),
		       10000);
}

TEST_F(ring, a_timed_out_blocking_call_leaves_an_armed_waits_flag_up)
{
	struct vanity_channel *rx;
	const char *why;

	ASSERT_EQ(0, vanity_channel_get(self->v, "back", &rx));
	why = check_waiting_bits_are_owned(self->r, rx, CH_BACK, send_back,
					   NULL);
	ASSERT_TRUE(!why) TH_LOG("%s", why);
}

static int module_counts(void *ctx, uint32_t ch, uint64_t *sleeps,
			 uint64_t *wakeups)
{
	struct vanity_status *st;

	(void)ctx;
	if (vt_get(&st))
		return -1;
	*sleeps = st->channels[ch].sleeps;
	*wakeups = st->channels[ch].wakeups;
	free(st);
	return 0;
}

TEST_F(ring, status_counts_sleeps_and_wakeups_as_the_simulator_does)
{
	struct vanity_channel *tx;
	const char *why;

	ASSERT_EQ(0, vanity_channel_get(self->v, "data", &tx));
	why = check_status_bell_counts(self->r, tx, CH_DATA, module_counts,
				       NULL);
	ASSERT_TRUE(!why) TH_LOG("%s", why);
}

TEST_F(ring, an_armed_wait_lets_the_ring_go_on_and_completes_on_data)
{
	struct vanity_ring *r = self->r;
	struct vanity_cqe c, *cqe;
	struct ring_row row;
	unsigned int i;
	pid_t pid;

	/* back (we consume) is empty: the WAIT is armed, no deadline. */
	put_sqe(r, sqe_of(VANITY_OP_WAIT, CH_BACK, 0x1, -1, 10));
	for (i = 0; i < 3; i++)
		put_sqe(r, sqe_of(VANITY_OP_NOP, 0, 0, 0, 11 + i));
	ASSERT_EQ(4, vanity_submit(r));
	ASSERT_EQ(3, cq_ready(r));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, pop(r, &c));
		EXPECT_EQ(11 + i, c.user_data);
	}
	ASSERT_EQ(0, ring_row("producer", &row));
	EXPECT_EQ(1, row.inflight);
	/* The armed WAIT raised our flag: the peer's send rings for it. */
	pid = vt_spawn(consumer_sends_back, (void *)(uintptr_t)0);
	ASSERT_EQ(0, vanity_wait_cqe(r, &cqe));
	EXPECT_EQ(10, cqe->user_data);
	EXPECT_EQ(0, cqe->res);
	vanity_cqe_seen(r);
	EXPECT_EQ(0, vt_wait(pid, 20000));
	ASSERT_EQ(0, ring_row("producer", &row));
	EXPECT_EQ(0, row.inflight);
}

/* The peer: sends @arg messages on back, with short random-ish gaps. */
static int consumer_floods_back(void *arg)
{
	unsigned long n = (unsigned long)(uintptr_t)arg, i;
	struct vanity_channel *ch;
	char buf[SLOT_SIZE] = "f";
	struct vanity *v;

	if (vanity_attach("consumer", &v) || vanity_channel_get(v, "back", &ch))
		return 10;
	for (i = 0; i < n; i++) {
		if (vanity_send_wait(ch, buf, 20000000000LL))
			return 11;
		/* Often into an empty channel: the send races the arming. */
		spin_us(i % 7 * 3);
	}
	vanity_detach(v);
	return 0;
}

/*
 * WAITs armed while the peer sends: doorbells claim ops in the middle of
 * their arming. Every WAIT completes exactly once, with the bit or
 * -ETIME, and every message is received.
 */
TEST_F_TIMEOUT(ring, waits_armed_under_a_flood_complete_once, 240)
{
	const unsigned long msgs = 10000;
	struct vanity_ring *r = self->r;
	struct vanity_channel *back;
	unsigned long got = 0, waits = 0, timeouts = 0;
	char buf[SLOT_SIZE];
	struct vanity_cqe c;
	double end = now() + 120;
	pid_t pid;

	ASSERT_EQ(0, vanity_channel_get(self->v, "back", &back));
	pid = vt_spawn(consumer_floods_back, (void *)(uintptr_t)msgs);
	ASSERT_LT(0, pid);
	while (got < msgs) {
		ASSERT_GT(end, now()) TH_LOG("%lu of %lu received", got, msgs);
		put_sqe(r, sqe_of(VANITY_OP_WAIT, CH_BACK, 0x1, 50000000, waits));
		put_sqe(r, sqe_of(VANITY_OP_NOP, 0, 0, 0, 1ULL << 40));
		ASSERT_EQ(2, vanity_submit_and_wait(r, 2));
		ASSERT_EQ(2, cq_ready(r));
		while (!pop(r, &c)) {
			if (c.user_data == 1ULL << 40) {
				ASSERT_EQ(0, c.res);
				continue;
			}
			ASSERT_EQ(waits, c.user_data);
			ASSERT_TRUE(c.res == 0 || c.res == -ETIME)
				TH_LOG("WAIT %lu: res %d", waits, c.res);
			timeouts += c.res == -ETIME;
		}
		waits++;
		while (!vanity_recv(back, buf))
			got++;
	}
	EXPECT_EQ(0, vt_wait(pid, 20000));
	usleep(100000);
	EXPECT_EQ(-EAGAIN, pop(r, &c)) TH_LOG("a WAIT completed twice");
	TH_LOG("%lu messages, %lu WAITs, %lu timed out", got, waits, timeouts);
}

/*
 * Armed ops hold their CQE slots (a full CQ of them refuses more), and
 * detach cancels them: the next attachment sees none of their CQEs, and
 * cycles of it leak nothing.
 */
TEST_F_TIMEOUT(ring, armed_ops_hold_cq_slots_and_die_with_the_attachment, 240)
{
	struct vanity_ring *r = self->r;
	uint32_t sqn = r->sq_entries, cqn = r->cq_mask + 1, i, k;
	long slab0 = 0, slab1;
	struct ring_row row;
	struct vanity_cqe c;
	int cycle;

	for (cycle = 0; cycle < 41; cycle++) {
		for (k = 0; k < cqn / sqn; k++) {
			for (i = 0; i < sqn; i++)
				put_sqe(r, sqe_of(i % 2 ? VANITY_OP_TIMEOUT :
						  VANITY_OP_WAIT,
						  i % 2 ? 0 : CH_BACK,
						  i % 2 ? 0 : 1, 60000000000LL,
						  k * sqn + i));
			ASSERT_EQ((int)sqn, vanity_submit(r));
		}
		ASSERT_EQ(0, cq_ready(r));
		ASSERT_EQ(0, ring_row("producer", &row));
		ASSERT_EQ(cqn, row.inflight);
		if (!cycle) {
			/* Every slot is held: a NOP meets a full CQ. */
			put_sqe(r, sqe_of(VANITY_OP_NOP, 0, 0, 0, 999));
			EXPECT_EQ(-EBUSY, vanity_submit(r));
			EXPECT_LE(1, *r->cq_overflow);
			r->sqe_tail--;		/* take the NOP back */
			__atomic_store_n(r->sq_tail, r->sqe_tail,
					 __ATOMIC_RELEASE);
		}
		vanity_detach(self->v);
		ASSERT_EQ(0, vanity_attach("producer", &self->v));
		r = self->r = vanity_ring(self->v);
		ASSERT_EQ(0, ring_row("producer", &row));
		ASSERT_EQ(0, row.inflight);
		if (!cycle) {
			vt_settle(200);
			slab0 = vt_meminfo("Slab");
		}
	}
	EXPECT_EQ(0, nop_ok(r, 7));
	usleep(100000);
	EXPECT_EQ(-EAGAIN, pop(r, &c)) TH_LOG("a cancelled op posted a CQE");
	vt_settle(200);
	slab1 = vt_meminfo("Slab");
	TH_LOG("40 cycles of %u armed ops: Slab %ld -> %ld kB", cqn, slab0,
	       slab1);
	/* Leaked ops would be 40 x 256 allocations of >= 256 bytes. */
	EXPECT_GT(1024, slab1 - slab0);
}

/* ------------------------------------------------ the fsync doorbell */

/* fsync(2) on the shard's fd, raw: the count it returns, or -errno. */
static int raw_fsync(int fd)
{
	long ret = syscall(SYS_fsync, fd);

	return ret < 0 ? -errno : (int)ret;
}

TEST_F(ring, fsync_consumes_every_published_sqe_and_returns_how_many)
{
	struct vanity_ring *r = self->r;
	int fd = vanity_fd(self->v);
	struct vanity_sqe *sqe;
	struct vanity_cqe c;
	struct ring_row row;
	unsigned int i;

	EXPECT_EQ(0, raw_fsync(fd));
	for (i = 0; i < 5; i++)
		vanity_prep_nop(next_sqe(r), 100 + i);
	/* Prepared, not published: nothing to consume. */
	EXPECT_EQ(0, raw_fsync(fd));
	EXPECT_EQ(0, ld(r->sq_head));
	EXPECT_EQ(0, cq_ready(r));
	__atomic_store_n(r->sq_tail, r->sqe_tail, __ATOMIC_RELEASE);
	EXPECT_EQ(5, raw_fsync(fd));
	EXPECT_EQ(5, ld(r->sq_head));
	ASSERT_EQ(5, cq_ready(r));
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, pop(r, &c));
		EXPECT_EQ(100 + i, c.user_data);
		EXPECT_EQ(0, c.res);
	}
	EXPECT_EQ(0, raw_fsync(fd));
	/* A malformed SQE gets its CQE through fsync as through ENTER. */
	sqe = next_sqe(r);
	vanity_prep_nop(sqe, 200);
	sqe->resv[3] = 1;
	vanity_prep_nop(next_sqe(r), 201);
	__atomic_store_n(r->sq_tail, r->sqe_tail, __ATOMIC_RELEASE);
	EXPECT_EQ(2, raw_fsync(fd));
	ASSERT_EQ(0, pop(r, &c));
	EXPECT_EQ(200, c.user_data);
	EXPECT_EQ(-EINVAL, c.res);
	ASSERT_EQ(0, pop(r, &c));
	EXPECT_EQ(201, c.user_data);
	EXPECT_EQ(0, c.res);
	ASSERT_EQ(0, ring_row("producer", &row));
	EXPECT_EQ(7, row.submitted);
	EXPECT_EQ(7, row.completed);
	EXPECT_EQ(6, row.ops[VANITY_OP_NOP]);
}

/*
 * A tail the shard wrecked: up to a ring behind the head it says nothing
 * is published (stamps can take SQEs before the tail covers them);
 * anywhere else fsync consumes at most one SQ's worth.
 */
TEST_F(ring, fsync_with_a_wild_tail_consumes_at_most_the_sq)
{
	struct vanity_ring *r = self->r;
	int fd = vanity_fd(self->v);
	struct vanity_cqe c;
	unsigned int n = 0;

	ASSERT_EQ(0, nop_ok(r, 1));
	__atomic_store_n(r->sq_tail, 0, __ATOMIC_RELEASE);
	EXPECT_EQ(0, raw_fsync(fd));
	__atomic_store_n(r->sq_tail, 1 - r->sq_entries, __ATOMIC_RELEASE);
	EXPECT_EQ(0, raw_fsync(fd));
	EXPECT_EQ(1, ld(r->sq_head));
	EXPECT_EQ(-EAGAIN, pop(r, &c));
	__atomic_store_n(r->sq_tail, 0x80000000u, __ATOMIC_RELEASE);
	EXPECT_EQ((int)r->sq_entries, raw_fsync(fd));
	EXPECT_EQ(1 + r->sq_entries, ld(r->sq_head));
	while (!pop(r, &c))
		n++;
	EXPECT_EQ(r->sq_entries, n);
}

/*
 * sq_head and cq_tail are the module's to write: a shard scribbling on
 * them moves neither what the module consumes next nor where it posts
 * (it keeps its own), and the next submission rewrites both.
 */
TEST_F(ring, scribbled_module_indices_are_rewritten_not_believed)
{
	struct vanity_ring *r = self->r;
	int fd = vanity_fd(self->v);
	struct vanity_cqe c;
	struct ring_row row;
	unsigned int i;

	for (i = 0; i < 3; i++)
		vanity_prep_nop(next_sqe(r), 10 + i);
	__atomic_store_n(r->sq_tail, r->sqe_tail, __ATOMIC_RELEASE);
	ASSERT_EQ(3, raw_fsync(fd));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, pop(r, &c));
	/* Head back to 0 would re-run SQEs 0..2; tail 9 would skip CQEs. */
	__atomic_store_n(r->sq_head, 0, __ATOMIC_RELEASE);
	__atomic_store_n(r->cq_tail, 9, __ATOMIC_RELEASE);
	/* A stale NOP left where the scribbled cq_tail says to post. */
	r->cqes[9 & r->cq_mask].user_data = 0xdead;
	vanity_prep_nop(next_sqe(r), 13);
	__atomic_store_n(r->sq_tail, r->sqe_tail, __ATOMIC_RELEASE);
	EXPECT_EQ(1, raw_fsync(fd));
	EXPECT_EQ(4, ld(r->sq_head));
	EXPECT_EQ(4, ld(r->cq_tail));
	ASSERT_EQ(0, pop(r, &c));
	EXPECT_EQ(13, c.user_data);
	EXPECT_EQ(0, c.res);
	EXPECT_EQ(-EAGAIN, pop(r, &c));
	EXPECT_EQ(0xdead, r->cqes[9 & r->cq_mask].user_data);
	ASSERT_EQ(0, ring_row("producer", &row));
	EXPECT_EQ(4, row.submitted);
	EXPECT_EQ(4, row.completed);
}

TEST_F(ring, enter_takes_only_what_the_tail_publishes)
{
	const char *why = check_enter_ignores_stamps(self->r);

	ASSERT_TRUE(!why) TH_LOG("%s", why);
}

TEST_F(ring, cqes_carry_the_stamps_of_their_indices)
{
	const char *why = check_cqe_stamps(self->r);

	ASSERT_TRUE(!why) TH_LOG("%s", why);
}

TEST_F(ring, fsync_after_a_forced_down_is_enodev)
{
	char msg[256];

	vanity_prep_nop(next_sqe(self->r), 1);
	__atomic_store_n(self->r->sq_tail, self->r->sqe_tail, __ATOMIC_RELEASE);
	ASSERT_EQ(0, vt_down(true, msg, sizeof(msg))) TH_LOG("down: %s", msg);
	EXPECT_EQ(-ENODEV, raw_fsync(vanity_fd(self->v)));
	EXPECT_EQ(-ENODEV, raw_enter(vanity_fd(self->v),
				     sizeof(struct vanity_enter), 0, 1, 0, 0, 0));
}

TEST(fsync_on_an_unattached_fd_is_enotconn)
{
	char msg[256];
	int fd;

	ASSERT_EQ(0, up_std(0, msg, sizeof(msg))) TH_LOG("up: %s", msg);
	fd = open("/dev/vanity", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-ENOTCONN, raw_fsync(fd));
	close(fd);
	vt_reset();
}

/* ---------------------------------------------------------- batches */

TEST_F(ring, batches_complete_in_order_with_user_data)
{
	static const unsigned int sizes[] = { 1, 8, 32, 128 };
	struct vanity_ring *r = self->r;
	unsigned int s, round, i, total = 0;
	struct vanity_sqe *sqe;
	struct vanity_cqe c;
	struct ring_row row;

	for (s = 0; s < 4; s++) {
		for (round = 0; round < 5; round++) {
			uint64_t base = ((uint64_t)sizes[s] << 40) | ((uint64_t)round << 20);

			for (i = 0; i < sizes[s]; i++) {
				sqe = vanity_get_sqe(r);
				ASSERT_NE(NULL, sqe);
				vanity_prep_nop(sqe, base + i);
			}
			ASSERT_EQ(sizes[s], vanity_submit_and_wait(r, sizes[s]));
			ASSERT_EQ(sizes[s], cq_ready(r));
			for (i = 0; i < sizes[s]; i++) {
				ASSERT_EQ(0, pop(r, &c));
				ASSERT_EQ(base + i, c.user_data)
					TH_LOG("batch %u round %u cqe %u", sizes[s], round, i);
				ASSERT_EQ(0, c.res);
			}
			ASSERT_EQ(-EAGAIN, pop(r, &c));
			total += sizes[s];
		}
	}
	/* The SQ is full after 128 unsubmitted SQEs. */
	for (i = 0; i < r->sq_entries; i++)
		ASSERT_NE(NULL, vanity_get_sqe(r));
	EXPECT_EQ(NULL, vanity_get_sqe(r));
	r->sqe_tail -= r->sq_entries;	/* hand them back unsubmitted */
	ASSERT_EQ(0, ring_row("producer", &row));
	EXPECT_EQ(total, row.submitted);
	EXPECT_EQ(total, row.completed);
	EXPECT_EQ(total, row.ops[VANITY_OP_NOP]);
}

/* ------------------------------------------------ CQ overflow */

/* Fill SQ and CQ until ENTER says -EBUSY; *next is the next user_data. */
static int fill_to_ebusy(struct vanity_ring *r, uint64_t *next)
{
	uint32_t sqn = r->sq_entries, cqn = r->cq_mask + 1, i, k;
	int ret;

	for (k = 0; k < cqn / sqn; k++) {
		for (i = 0; i < sqn; i++)
			vanity_prep_nop(next_sqe(r), (*next)++);
		ret = vanity_submit(r);
		if (ret != (int)sqn)
			return ret < 0 ? ret : -EIO;
	}
	for (i = 0; i < sqn; i++)
		vanity_prep_nop(next_sqe(r), (*next)++);
	return vanity_submit(r);
}

TEST_F(ring, cq_overflow_is_ebusy_counted_and_loses_nothing)
{
	struct vanity_ring *r = self->r;
	uint32_t sqn = r->sq_entries, cqn = r->cq_mask + 1, i;
	struct vanity_status_shard gs;
	struct ring_row row;
	uint64_t next = 0, want = 0;
	uint8_t seen[1024];
	struct vanity_cqe c;
	uint32_t ov;

	ASSERT_EQ(128, sqn);
	ASSERT_EQ(256, cqn);
	EXPECT_EQ(0, *r->cq_overflow);
	ASSERT_EQ(-EBUSY, fill_to_ebusy(r, &next));
	ASSERT_EQ(384, next);
	EXPECT_EQ(cqn, cq_ready(r));
	/* The last batch is published, not consumed. */
	EXPECT_EQ(sqn, *r->sq_tail - *r->sq_head);
	ov = *r->cq_overflow;
	EXPECT_LE(1, ov);
	ASSERT_EQ(0, ring_row("producer", &row));
	EXPECT_EQ(ov, row.overflows);
	EXPECT_EQ(cqn, row.submitted);
	ASSERT_EQ(0, get_shard(0, &gs));
	EXPECT_EQ(ov, gs.overflows);
	EXPECT_EQ(cqn, gs.submitted);
	EXPECT_EQ(cqn, gs.completed);

	/* Still full: -EBUSY again, counted again. */
	EXPECT_EQ(-EBUSY, raw_enter(vanity_fd(self->v), sizeof(struct vanity_enter),
				    0, sqn, 0, 0, 0));
	EXPECT_LT(ov, *r->cq_overflow);
	ov = *r->cq_overflow;
	/* And through the fsync doorbell. */
	EXPECT_EQ(-EBUSY, raw_fsync(vanity_fd(self->v)));
	EXPECT_LT(ov, *r->cq_overflow);
	ov = *r->cq_overflow;
	/* The word is the module's count, written, never read back. */
	*r->cq_overflow = 1000;
	EXPECT_EQ(-EBUSY, raw_fsync(vanity_fd(self->v)));
	EXPECT_EQ(ov + 1, *r->cq_overflow) TH_LOG("a scribbled count was believed");
	ov = *r->cq_overflow;
	ASSERT_EQ(0, ring_row("producer", &row));
	EXPECT_EQ(ov, row.overflows);
	ASSERT_EQ(0, get_shard(0, &gs));
	EXPECT_EQ(ov, gs.overflows);

	/* Reap half, have the pending SQEs consumed, reap everything. */
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < sqn; i++) {
		ASSERT_EQ(0, pop(r, &c));
		ASSERT_EQ(want++, c.user_data);
		ASSERT_EQ(0, c.res);
		seen[c.user_data]++;
	}
	/* To the ABI: every published SQE (the library's own path: below). */
	EXPECT_EQ(sqn, raw_enter(vanity_fd(self->v), sizeof(struct vanity_enter),
				 0, *r->sq_tail - *r->sq_head, 0, 0, 0));
	EXPECT_EQ(*r->sq_tail, *r->sq_head);
	EXPECT_EQ(cqn, cq_ready(r));
	while (!pop(r, &c)) {
		ASSERT_GT(sizeof(seen), c.user_data);
		ASSERT_EQ(want++, c.user_data);
		ASSERT_EQ(0, c.res);
		seen[c.user_data]++;
	}
	ASSERT_EQ(384, want);
	for (i = 0; i < 384; i++)
		ASSERT_EQ(1, seen[i]) TH_LOG("user_data %u", i);
	EXPECT_EQ(0, nop_ok(r, 1000));
	ASSERT_EQ(0, ring_row("producer", &row));
	EXPECT_EQ(385, row.submitted);
	EXPECT_EQ(385, row.completed);
	EXPECT_EQ(ov, row.overflows);
}

/*
 * The library's documented recovery: "-EBUSY: the CQ is full, reap
 * first", then submit again. The SQEs that met -EBUSY must then go.
 */
TEST_F(ring, library_submits_again_after_ebusy)
{
	struct vanity_ring *r = self->r;
	uint64_t next = 0;
	struct vanity_cqe c;
	uint32_t n = 0;

	ASSERT_EQ(-EBUSY, fill_to_ebusy(r, &next));
	while (!pop(r, &c))
		n++;
	ASSERT_EQ(256, n);
	EXPECT_EQ(128, vanity_submit(r))
		TH_LOG("vanity_submit after reaping returned without consuming the "
		       "SQEs that met -EBUSY (sq_head %u, sq_tail %u)",
		       *r->sq_head, *r->sq_tail);
	EXPECT_EQ(*r->sq_tail, *r->sq_head);
}

/* ----------------------------------------------------------- mmap */

TEST(ring_mmap_takes_exactly_the_offsets_size)
{
	const size_t pg = 4096;
	struct vanity_ring_offsets *o;
	struct vanity_attach a;
	struct vanity_sqe *sqe;
	struct vanity_cqe *cqe;
	char msg[256];
	uint8_t *p, *q;
	int fd, fd2;

	ASSERT_EQ(0, up_std(0, msg, sizeof(msg))) TH_LOG("up: %s", msg);
	fd2 = open("/dev/vanity", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd2);
	/* Unattached: nothing to map. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, pg * 4, PROT_READ | PROT_WRITE, MAP_SHARED,
				   fd2, (off_t)VANITY_MMAP_RING));
	EXPECT_EQ(ENOTCONN, errno);
	close(fd2);

	fd = open("/dev/vanity", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	strcpy(a.shard, "producer");
	ASSERT_EQ(0, ioctl(fd, VANITY_IOC_ATTACH, &a));
	o = &a.ring;
	/* The geometry: the default SQ, a CQ twice that, page-rounded. */
	EXPECT_EQ(VANITY_RING_ENTRIES_DEFAULT, o->sq_entries);
	EXPECT_EQ(2 * VANITY_RING_ENTRIES_DEFAULT, o->cq_entries);
	EXPECT_EQ(0, o->size % pg);
	EXPECT_LE(o->sqes + o->sq_entries * sizeof(struct vanity_sqe), o->cqes);
	EXPECT_LE(o->cqes + o->cq_entries * sizeof(struct vanity_cqe), o->size);
	EXPECT_GT(o->cqes + o->cq_entries * sizeof(struct vanity_cqe) + pg, o->size);
	ASSERT_LT(pg, o->size);
	EXPECT_GT(o->size, o->sq_head);
	EXPECT_GT(o->size, o->sq_tail);
	EXPECT_GT(o->size, o->sq_flags);
	EXPECT_GT(o->size, o->cq_head);
	EXPECT_GT(o->size, o->cq_tail);
	EXPECT_GT(o->size, o->cq_overflow);
	EXPECT_NE(o->sq_head / 64, o->sq_tail / 64);
	EXPECT_NE(o->cq_head / 64, o->cq_tail / 64);
	EXPECT_EQ(VANITY_RING_F_STAMPS, o->features);
	EXPECT_EQ(0, o->resv[0] | o->resv[1] | o->resv[2]);

	/* Wrong sizes, offset and mapping type. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, o->size + pg, PROT_READ | PROT_WRITE,
				   MAP_SHARED, fd, (off_t)VANITY_MMAP_RING));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, o->size - pg, PROT_READ | PROT_WRITE,
				   MAP_SHARED, fd, (off_t)VANITY_MMAP_RING));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, pg, PROT_READ | PROT_WRITE,
				   MAP_SHARED, fd, (off_t)VANITY_MMAP_RING));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, o->size, PROT_READ | PROT_WRITE,
				   MAP_SHARED, fd, (off_t)VANITY_MMAP_RING + pg));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, o->size, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE, fd, (off_t)VANITY_MMAP_RING));
	EXPECT_EQ(EINVAL, errno);

	/* The right one, twice: both views are the same ring. */
	p = mmap(NULL, o->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 (off_t)VANITY_MMAP_RING);
	ASSERT_NE(MAP_FAILED, p);
	q = mmap(NULL, o->size, PROT_READ, MAP_SHARED, fd, (off_t)VANITY_MMAP_RING);
	ASSERT_NE(MAP_FAILED, q);
	EXPECT_EQ(0, *(uint32_t *)(p + o->sq_tail));
	EXPECT_EQ(0, *(uint32_t *)(p + o->cq_tail));
	sqe = (struct vanity_sqe *)(p + o->sqes);
	vanity_prep_nop(&sqe[0], 0xabc);
	__atomic_store_n((uint32_t *)(p + o->sq_tail), 1, __ATOMIC_RELEASE);
	EXPECT_EQ(1, raw_enter(fd, sizeof(struct vanity_enter), 0, 1, 0, 0, 0));
	EXPECT_EQ(1, *(uint32_t *)(q + o->sq_head));
	EXPECT_EQ(1, *(uint32_t *)(q + o->cq_tail));
	cqe = (struct vanity_cqe *)(q + o->cqes);
	EXPECT_EQ(0xabc, cqe[0].user_data);
	EXPECT_EQ(0, cqe[0].res);
	munmap(q, o->size);
	munmap(p, o->size);
	close(fd);
	vt_reset();
}

TEST(ring_entries_come_from_the_image)
{
	struct vanity_status_shard gs;
	struct vanity_ring *r;
	struct vanity *v;
	char msg[256];
	unsigned int i;

	/* Not a power of two, too small, too large: refused at UP. */
	EXPECT_EQ(-EINVAL, up_std(24, msg, sizeof(msg)));
	EXPECT_EQ(-EINVAL, up_std(1, msg, sizeof(msg)));
	EXPECT_EQ(-EINVAL, up_std(VANITY_RING_ENTRIES_MAX * 2, msg, sizeof(msg)));
	ASSERT_EQ(0, up_std(VANITY_RING_ENTRIES_MAX, msg, sizeof(msg))) TH_LOG("%s", msg);
	ASSERT_EQ(0, vanity_attach("producer", &v));
	r = vanity_ring(v);
	EXPECT_EQ(VANITY_RING_ENTRIES_MAX, r->sq_entries);
	EXPECT_EQ(2 * VANITY_RING_ENTRIES_MAX - 1, r->cq_mask);
	for (i = 0; i < VANITY_RING_ENTRIES_MAX; i++)
		vanity_prep_nop(next_sqe(r), i);
	EXPECT_EQ(NULL, vanity_get_sqe(r));
	EXPECT_EQ(VANITY_RING_ENTRIES_MAX, vanity_submit_and_wait(r, VANITY_RING_ENTRIES_MAX));
	EXPECT_EQ(VANITY_RING_ENTRIES_MAX, cq_ready(r));
	ASSERT_EQ(0, get_shard(0, &gs));
	EXPECT_EQ(VANITY_RING_ENTRIES_MAX, gs.ring_entries);
	ASSERT_EQ(0, get_shard(1, &gs));
	EXPECT_EQ(VANITY_RING_ENTRIES_DEFAULT, gs.ring_entries);
	vanity_detach(v);
	vt_reset();
}

/* ------------------------------------------------------- counters */

TEST_F(ring, per_op_counters_match_what_was_submitted)
{
	static const unsigned int want[VANITY_OP_LAST] = {
		[VANITY_OP_NOP] = 7, [VANITY_OP_NOTIFY] = 3, [VANITY_OP_WAIT] = 2,
		[VANITY_OP_YIELD] = 4, [VANITY_OP_TIMEOUT] = 5,
	};
	struct vanity_status_shard gs;
	struct bad_sqe b[NBAD + 4];
	unsigned int nbad = bad_sqes(b), i, op, total = 0;
	struct ring_row row;
	struct vanity_sqe s;

	for (op = 0; op < VANITY_OP_LAST; op++) {
		for (i = 0; i < want[op]; i++) {
			switch (op) {
			case VANITY_OP_NOTIFY:
				s = sqe_of(op, i % 2, 0, 0, i);
				break;
			case VANITY_OP_WAIT:
				s = sqe_of(op, CH_BACK, 1, 0, i);	/* -ETIME */
				break;
			default:
				s = sqe_of(op, 0, 0, 0, i);
			}
			ASSERT_LT(-1000, ring_res_of(self->r, &s));
			total++;
		}
	}
	/* Malformed SQEs count as submitted and completed, not as an op. */
	for (i = 0; i < nbad; i++)
		ASSERT_EQ(b[i].res, ring_res_of(self->r, &b[i].sqe));
	total += nbad;

	ASSERT_EQ(0, ring_row("producer", &row));
	EXPECT_EQ(128, row.entries);
	EXPECT_STREQ("no", row.sqpoll);
	EXPECT_EQ(total, row.submitted);
	EXPECT_EQ(total, row.completed);
	EXPECT_EQ(0, row.overflows);
	for (op = 0; op < VANITY_OP_LAST; op++)
		EXPECT_EQ(want[op], row.ops[op]) TH_LOG("debugfs op %u", op);
	ASSERT_EQ(0, get_shard(0, &gs));
	EXPECT_EQ(total, gs.submitted);
	EXPECT_EQ(total, gs.completed);
	EXPECT_EQ(0, gs.sqpoll);
	for (op = 0; op < VANITY_OP_LAST; op++)
		EXPECT_EQ(want[op], gs.ops[op]) TH_LOG("GET op %u", op);
	/* Nothing leaks into the other shards' rows. */
	ASSERT_EQ(0, ring_row("consumer", &row));
	EXPECT_EQ(0, row.submitted);
	for (op = 0; op < VANITY_OP_LAST; op++)
		EXPECT_EQ(0, row.ops[op]);
}

/* ---------------------------------------------------- tracepoints */

#define TRACING "/sys/kernel/tracing"

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -EIO;
}

static char *slurp_all(const char *path)
{
	size_t cap = 1 << 20, len = 0;
	char *buf = malloc(cap);
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || !buf) {
		if (fd >= 0)
			close(fd);
		free(buf);
		return NULL;
	}
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += n;
		if (cap - len < 4096) {
			char *nb = realloc(buf, cap * 2);

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

TEST(tracepoints_show_each_sqe_and_cqe)
{
	static const char *ev[] = {
		TRACING "/events/vanity/vanity_sqe_issue/enable",
		TRACING "/events/vanity/vanity_cqe/enable",
	};
	struct vanity_ring *r;
	struct vanity *v;
	struct vanity_sqe s;
	char msg[256], want[160], *trace, *p1, *p2;
	unsigned int i;

	ASSERT_EQ(0, up_std(0, msg, sizeof(msg))) TH_LOG("up: %s", msg);
	/* The consumer is shard 1, so shard= is not a default zero. */
	ASSERT_EQ(0, vanity_attach("consumer", &v));
	r = vanity_ring(v);
	ASSERT_EQ(0, write_str(TRACING "/trace", ""));
	ASSERT_EQ(0, write_str(TRACING "/tracing_on", "1"));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, write_str(ev[i], "1")) TH_LOG("%s", ev[i]);
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, nop_ok(r, 0x7a5e0000 + i));
	s = sqe_of(200, 0, 0, 0, 0x7a5e00ff);
	ASSERT_EQ(-EINVAL, ring_res_of(r, &s));
	s = sqe_of(VANITY_OP_TIMEOUT, 0, 0, 1000, 0x7a5e0100);
	ASSERT_EQ(-ETIME, ring_res_of(r, &s));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, write_str(ev[i], "0"));
	trace = slurp_all(TRACING "/trace");
	ASSERT_NE(NULL, trace);
	for (i = 0; i < 4; i++) {
		snprintf(want, sizeof(want),
			 "vanity_sqe_issue: shard=1 opcode=0 user_data=0x%x\n",
			 0x7a5e0000 + i);
		p1 = strstr(trace, want);
		EXPECT_NE(NULL, p1) TH_LOG("no '%s'", want);
		snprintf(want, sizeof(want),
			 "vanity_cqe: shard=1 user_data=0x%x res=0\n", 0x7a5e0000 + i);
		p2 = strstr(trace, want);
		EXPECT_NE(NULL, p2) TH_LOG("no '%s'", want);
		EXPECT_TRUE(p1 && p2 && p1 < p2) TH_LOG("issue before cqe");
	}
	EXPECT_NE(NULL, strstr(trace, "vanity_sqe_issue: shard=1 opcode=200 user_data=0x7a5e00ff\n"));
	EXPECT_NE(NULL, strstr(trace, "vanity_cqe: shard=1 user_data=0x7a5e00ff res=-22\n"));
	EXPECT_NE(NULL, strstr(trace, "vanity_sqe_issue: shard=1 opcode=4 user_data=0x7a5e0100\n"));
	EXPECT_NE(NULL, strstr(trace, "vanity_cqe: shard=1 user_data=0x7a5e0100 res=-62\n"));
	/* Only shard 1 submitted anything. */
	EXPECT_EQ(NULL, strstr(trace, "shard=0 "));
	if (!_metadata->passed)
		TH_LOG("trace:\n%.4000s", trace);
	free(trace);
	vanity_detach(v);
	vt_reset();
}

/* --------------------------------------------------------- SQPOLL */

FIXTURE(sq) {
	struct vanity *v;
	struct vanity_ring *r;
};

FIXTURE_SETUP(sq)
{
	char msg[256];

	ASSERT_EQ(0, up_std(0, msg, sizeof(msg))) TH_LOG("up: %s", msg);
}

FIXTURE_TEARDOWN(sq)
{
	vanity_detach(self->v);
	vt_reset();
}

TEST_F(sq, submissions_complete_without_enter)
{
	struct vanity_status_shard gs;
	struct vanity_ring *r;
	struct vanity_cqe c;
	struct ring_row row;
	char comm[64];
	unsigned int i, round;

	/* Idle 5 s: the poller stays awake through the test. */
	ASSERT_EQ(0, vanity_attach_flags("producer", VANITY_ATTACH_SQPOLL,
					 5000000, &self->v));
	r = self->r = vanity_ring(self->v);
	poller_comm("producer", comm);
	EXPECT_TRUE(comm_becomes(comm, 1, 10)) TH_LOG("no task '%s'", comm);
	ASSERT_EQ(0, ring_row("producer", &row));
	EXPECT_STREQ("yes", row.sqpoll);
	ASSERT_EQ(0, get_shard(0, &gs));
	EXPECT_EQ(1, gs.sqpoll);

	for (round = 0; round < 20; round++) {
		/* Plain stores and loads only: no system call at all. */
		for (i = 0; i < 32; i++)
			vanity_prep_nop(next_sqe(r), round * 100 + i);
		__atomic_store_n(r->sq_tail, r->sqe_tail, __ATOMIC_RELEASE);
		ASSERT_TRUE(spin_cqes(r, 32, 20))
			TH_LOG("round %u: %u of 32 CQEs, sq_flags %#x", round,
			       cq_ready(r), *r->sq_flags);
		for (i = 0; i < 32; i++) {
			ASSERT_EQ(0, pop(r, &c));
			ASSERT_EQ(round * 100 + i, c.user_data);
			ASSERT_EQ(0, c.res);
		}
	}
	EXPECT_EQ(0, *r->sq_flags & VANITY_SQ_NEED_WAKEUP);
	ASSERT_EQ(0, ring_row("producer", &row));
	EXPECT_EQ(640, row.submitted);
	EXPECT_EQ(640, row.ops[VANITY_OP_NOP]);
	/* ENTER submits nothing under SQPOLL; GETEVENTS still waits. */
	vanity_prep_nop(next_sqe(r), 7);
	EXPECT_EQ(1, vanity_submit_and_wait(r, 1));
	EXPECT_EQ(0, pop(r, &c));
	EXPECT_EQ(7, c.user_data);
}

TEST_F(sq, need_wakeup_after_idle_and_submit_wakes)
{
	struct vanity_status_shard g0, g1;
	struct vanity_ring *r;
	struct vanity_cqe c;
	uint32_t head;
	double end;
	unsigned int k;

	ASSERT_EQ(0, vanity_attach_flags("producer", VANITY_ATTACH_SQPOLL, 1000,
					 &self->v));
	r = self->r = vanity_ring(self->v);
	for (k = 0; k < 3; k++) {
		ASSERT_EQ(0, nop_ok(r, 10 + k));
		/*
		 * Idle: the flag must appear (1 ms idle; give it 20 s) and
		 * stay, the poller asleep (no wakeup counted for 50 ms).
		 */
		for (end = now() + 20;; usleep(1000)) {
			ASSERT_GT(end, now()) TH_LOG("no lasting NEED_WAKEUP");
			if (!(ld(r->sq_flags) & VANITY_SQ_NEED_WAKEUP))
				continue;
			ASSERT_EQ(0, get_shard(0, &g0));
			usleep(50000);
			ASSERT_EQ(0, get_shard(0, &g1));
			if (g0.poller_wakeups == g1.poller_wakeups &&
			    ld(r->sq_flags) & VANITY_SQ_NEED_WAKEUP)
				break;
		}

		/* The flag is true: a bare tail store is not consumed... */
		head = *r->sq_head;
		vanity_prep_nop(next_sqe(r), 20 + k);
		__atomic_store_n(r->sq_tail, r->sqe_tail, __ATOMIC_RELEASE);
		usleep(200000);
		EXPECT_EQ(head, ld(r->sq_head)) TH_LOG("the poller ran while flagged asleep");
		/*
		 * ...until a submit sees the flag and wakes the poller (the
		 * second time through the fsync doorbell, which returns 0).
		 */
		vanity_prep_nop(next_sqe(r), 30 + k);
		if (k == 1) {
			__atomic_store_n(r->sq_tail, r->sqe_tail, __ATOMIC_RELEASE);
			ASSERT_EQ(0, raw_fsync(vanity_fd(self->v)));
		} else {
			ASSERT_EQ(1, vanity_submit(r));
		}
		ASSERT_TRUE(spin_cqes(r, 2, 20)) TH_LOG("the wakeup was lost");
		ASSERT_EQ(0, pop(r, &c));
		EXPECT_EQ(20 + k, c.user_data);
		ASSERT_EQ(0, pop(r, &c));
		EXPECT_EQ(30 + k, c.user_data);
		ASSERT_EQ(0, get_shard(0, &g1));
		EXPECT_LT(g0.poller_wakeups, g1.poller_wakeups);
	}
}

/* Stamps: the poller takes an SQE by its stamp, and only by the right one. */
TEST_F(sq, a_stamped_sqe_is_taken_before_the_tail_moves)
{
	struct ring_row row;
	const char *why;

	ASSERT_EQ(0, vanity_attach_flags("producer", VANITY_ATTACH_SQPOLL,
					 5000000, &self->v));
	self->r = vanity_ring(self->v);
	why = check_stamp_publishes(self->r);
	ASSERT_TRUE(!why) TH_LOG("%s", why);
	/* Two SQEs, each run once. */
	ASSERT_EQ(0, ring_row("producer", &row));
	EXPECT_EQ(2, row.submitted);
	EXPECT_EQ(2, row.ops[VANITY_OP_NOP]);
}

TEST_F(sq, unstamped_or_misstamped_sqes_wait_for_the_tail)
{
	struct ring_row row;
	const char *why;

	ASSERT_EQ(0, vanity_attach_flags("producer", VANITY_ATTACH_SQPOLL,
					 5000000, &self->v));
	self->r = vanity_ring(self->v);
	why = check_unstamped_waits_for_the_tail(self->r);
	ASSERT_TRUE(!why) TH_LOG("%s", why);
	ASSERT_EQ(0, ring_row("producer", &row));
	EXPECT_EQ(1, row.submitted);
}

/*
 * Attach zeroes the ring: SQE and CQE 32768 of the last attachment sit in
 * slot 0 with the stamp index 0 has, and must not be taken for new ones.
 */
TEST_F_TIMEOUT(sq, a_new_attachment_takes_no_stale_stamp, 240)
{
	struct vanity_ring *r;
	struct vanity_cqe c;
	const char *why;

	ASSERT_EQ(0, vanity_attach_flags("producer", VANITY_ATTACH_SQPOLL,
					 5000000, &self->v));
	r = self->r = vanity_ring(self->v);
	why = run_nops(r, 32769);
	ASSERT_TRUE(!why) TH_LOG("%s", why);
	ASSERT_EQ(VANITY_STAMP(0), r->sqes[0].stamp);
	ASSERT_EQ(VANITY_STAMP(0), r->cqes[0].stamp);
	vanity_detach(self->v);
	ASSERT_EQ(0, vanity_attach_flags("producer", VANITY_ATTACH_SQPOLL,
					 5000000, &self->v));
	r = self->r = vanity_ring(self->v);
	spin_us(200000);
	EXPECT_EQ(0, ld(r->sq_head)) TH_LOG("the poller ran an old SQE");
	EXPECT_EQ(-EAGAIN, pop(r, &c)) TH_LOG("an old CQE was taken as new");
	EXPECT_EQ(0, r->sqes[0].stamp);
	EXPECT_EQ(0, r->cqes[0].stamp);
	EXPECT_EQ(0, nop_ok(r, 1));
}

/* An armed WAIT no longer occupies the poller: later SQEs go on. */
/*
 * The poller holds the ring's lock while it polls; an async op's
 * completion needs that lock. It must get it between batches, while the
 * shard keeps the poller busy, not only when the poller idles: a 1 ms
 * TIMEOUT completes in the middle of a stream of NOPs that runs far
 * longer (until the TIMEOUT's CQE shows up, or 100,000 batches).
 */
TEST_F_TIMEOUT(sq, a_timeout_completes_while_the_poller_is_kept_busy, 120)
{
	uint64_t ud = 100, nops_before = 0;
	struct vanity_ring *r;
	struct vanity_cqe c;
	unsigned int i, batch;
	bool fired = false;

	ASSERT_EQ(0, vanity_attach_flags("producer", VANITY_ATTACH_SQPOLL,
					 5000000, &self->v));
	r = self->r = vanity_ring(self->v);
	*next_sqe(r) = sqe_of(VANITY_OP_TIMEOUT, 0, 0, 1000000, 1);
	ASSERT_EQ(1, vanity_submit(r));
	for (batch = 0; batch < 100000 && !fired; batch++) {
		for (i = 0; i < 8; i++)
			vanity_prep_nop(next_sqe(r), ud++);
		ASSERT_EQ(8, vanity_submit(r));
		/* Reap as they come, keeping at most 16 NOPs in flight. */
		for (;;) {
			while (!pop(r, &c)) {
				if (c.user_data == 1) {
					EXPECT_EQ(-ETIME, c.res);
					fired = true;
					continue;
				}
				ASSERT_EQ(100 + nops_before, c.user_data);
				ASSERT_EQ(0, c.res);
				nops_before++;
			}
			if (ud - 100 - nops_before <= 16)
				break;
			ASSERT_TRUE(spin_cqes(r, 1, 20)) TH_LOG("the poller stopped");
		}
	}
	EXPECT_TRUE(fired) TH_LOG("no TIMEOUT CQE after %u busy batches", batch);
	EXPECT_LT(batch, 100000);
	/* Drain the rest; every NOP accounted for, in order. */
	ASSERT_TRUE(spin_cqes(r, (uint32_t)(ud - 100 - nops_before), 20));
	while (!pop(r, &c)) {
		ASSERT_EQ(100 + nops_before, c.user_data);
		nops_before++;
	}
	EXPECT_EQ(ud - 100, nops_before);
}

TEST_F(sq, an_armed_wait_does_not_stall_the_poller)
{
	struct vanity_ring *r;
	struct vanity_cqe c;
	unsigned int i;
	pid_t pid;

	ASSERT_EQ(0, vanity_attach_flags("producer", VANITY_ATTACH_SQPOLL,
					 5000000, &self->v));
	r = self->r = vanity_ring(self->v);
	*next_sqe(r) = sqe_of(VANITY_OP_WAIT, CH_BACK, 0x1, -1, 1);
	ASSERT_EQ(1, vanity_submit(r));
	for (i = 0; i < 100; i++)
		*next_sqe(r) = sqe_of(VANITY_OP_NOP, 0, 0, 0, 2 + i);
	ASSERT_EQ(100, vanity_submit(r));
	ASSERT_TRUE(spin_cqes(r, 100, 20)) TH_LOG("the poller is stuck in WAIT");
	for (i = 0; i < 100; i++) {
		ASSERT_EQ(0, pop(r, &c));
		EXPECT_EQ(2 + i, c.user_data);
	}
	pid = vt_spawn(consumer_sends_back, (void *)(uintptr_t)0);
	ASSERT_TRUE(spin_cqes(r, 1, 20)) TH_LOG("the WAIT never completed");
	ASSERT_EQ(0, pop(r, &c));
	EXPECT_EQ(1, c.user_data);
	EXPECT_EQ(0, c.res);
	EXPECT_EQ(0, vt_wait(pid, 20000));
}

/*
 * A full CQ under SQPOLL: the poller stops consuming (nothing is dropped
 * or overwritten), counts the overflow, and resumes once the shard reaps.
 */
TEST_F(sq, full_cq_stalls_the_poller_and_loses_nothing)
{
	struct vanity_status_shard g0, g1;
	struct vanity_ring *r;
	struct vanity_cqe c;
	uint32_t sqn, cqn, i, ov0;
	uint64_t next = 0, want = 0;

	ASSERT_EQ(0, vanity_attach_flags("producer", VANITY_ATTACH_SQPOLL, 5000000,
					 &self->v));
	r = self->r = vanity_ring(self->v);
	sqn = r->sq_entries;
	cqn = r->cq_mask + 1;
	ASSERT_EQ(0, get_shard(0, &g0));
	/* Fill the CQ: two SQs' worth, each consumed before the next. */
	for (; next < cqn;) {
		for (i = 0; i < sqn; i++)
			vanity_prep_nop(next_sqe(r), next++);
		ASSERT_EQ((int)sqn, vanity_submit(r));
		ASSERT_TRUE(spin_cqes(r, (uint32_t)next, 20));
	}
	/* One more SQ's worth: it must wait, not overwrite a CQE. */
	for (i = 0; i < sqn; i++)
		vanity_prep_nop(next_sqe(r), next++);
	ASSERT_EQ((int)sqn, vanity_submit(r));
	usleep(300000);
	EXPECT_EQ(cqn, ld(r->sq_head));
	EXPECT_EQ(cqn, cq_ready(r));
	ov0 = ld(r->cq_overflow);
	EXPECT_LE(1, ov0);
	ASSERT_EQ(0, get_shard(0, &g1));
	EXPECT_LE(1, g1.overflows - g0.overflows);
	TH_LOG("CQ full for 0.3 s under SQPOLL: overflow counted %u times, "
	       "sq_flags %#x", ov0, ld(r->sq_flags));
	/* Reap: the poller resumes by itself (a submit would wake it if asleep). */
	for (i = 0; i < cqn; i++) {
		ASSERT_EQ(0, pop(r, &c));
		ASSERT_EQ(want++, c.user_data);
		ASSERT_EQ(0, c.res);
	}
	ASSERT_LE(0, vanity_submit(r));
	ASSERT_TRUE(spin_cqes(r, (uint32_t)(next - want), 20))
		TH_LOG("the poller did not resume");
	while (!pop(r, &c)) {
		ASSERT_EQ(want++, c.user_data);
		ASSERT_EQ(0, c.res);
	}
	EXPECT_EQ(next, want);
	ASSERT_EQ(0, get_shard(0, &g1));
	EXPECT_EQ(next, g1.submitted - g0.submitted);
	EXPECT_EQ(next, g1.completed - g0.completed);
}

/*
 * The idle/wake edge: NOP submissions in random batches with random pauses
 * (none, a few µs, longer than sq_idle) so the poller is caught at every
 * stage of going to sleep, and now and then a wait for every outstanding
 * completion without submitting (where a stranded SQE stays stranded).
 * Every user_data must complete exactly once, in order. Runs to
 * RING_STRESS_OPS (1,000,000) or RING_STRESS_SECS (60 s).
 */
TEST_F_TIMEOUT(sq, idle_wake_edge_stress, 240)
{
	const char *e_ops = getenv("RING_STRESS_OPS"), *e_secs = getenv("RING_STRESS_SECS");
	uint64_t target = e_ops ? strtoull(e_ops, NULL, 0) : 1000000;
	double secs = e_secs ? strtod(e_secs, NULL) : 60;
	const uint32_t idle_us = 20;
	const uint64_t tag = 0x5a11ULL << 48;
	uint64_t seed = 0x9e3779b97f4a7c15ULL, sub = 0, done = 0, x;
	uint64_t pauses[4] = { 0 }, full = 0;
	struct vanity_status_shard g0, g1;
	struct vanity_ring *r;
	struct vanity_sqe *sqe;
	struct vanity_cqe c;
	double t0, end, stall;
	unsigned int b, i, iter;

	ASSERT_EQ(0, vanity_attach_flags("producer", VANITY_ATTACH_SQPOLL, idle_us,
					 &self->v));
	r = self->r = vanity_ring(self->v);
	ASSERT_EQ(0, get_shard(0, &g0));
	t0 = now();
	end = t0 + secs;
	for (iter = 0; sub < target && (iter++ % 16 || now() < end);) {
		x = xorshift(&seed);
		b = 1 + x % 16;
		if (b > target - sub)
			b = target - sub;
		for (i = 0; i < b; i++) {
			sqe = vanity_get_sqe(r);
			if (!sqe)
				break;
			vanity_prep_nop(sqe, tag | sub++);
		}
		if (!i)
			full++;
		else
			ASSERT_EQ((int)i, vanity_submit(r));
		switch ((x >> 32) % 1000) {
		case 0 ... 849:
			pauses[0]++;
			break;
		case 850 ... 939:
			pauses[1]++;
			spin_us(1 + (x >> 48) % 5);
			break;
		case 940 ... 949:	/* past sq_idle: the poller goes to sleep */
			pauses[2]++;
			usleep(idle_us * 2 + (x >> 48) % (idle_us * 4));
			break;
		default:
			/*
			 * Wait for everything submitted, submitting nothing:
			 * an SQE stranded by a lost wakeup is never rescued
			 * by a later submission here.
			 */
			pauses[3]++;
			for (stall = now() + 20; done < sub;) {
				if (!pop(r, &c)) {
					ASSERT_EQ(tag | done, c.user_data);
					ASSERT_EQ(0, c.res);
					done++;
					continue;
				}
				ASSERT_GT(stall, now())
					TH_LOG("lost: submitted %llu, completed %llu, sq %u/%u, flags %#x",
					       (unsigned long long)sub, (unsigned long long)done,
					       *r->sq_head, *r->sq_tail, ld(r->sq_flags));
				vanity_cpu_relax();
			}
		}
		/* Reap what is there; with a full SQ, spin until there is room. */
		for (stall = 0;;) {
			while (!pop(r, &c)) {
				ASSERT_EQ(tag | done, c.user_data)
					TH_LOG("after %llu completions", (unsigned long long)done);
				ASSERT_EQ(0, c.res);
				done++;
			}
			if (sub - done < r->sq_entries)
				break;
			if (!stall)
				stall = now() + 20;
			ASSERT_GT(stall, now())
				TH_LOG("stuck: submitted %llu, completed %llu, sq %u/%u, flags %#x",
				       (unsigned long long)sub, (unsigned long long)done,
				       *r->sq_head, *r->sq_tail, ld(r->sq_flags));
			vanity_cpu_relax();
		}
	}
	/* Drain: everything submitted completes, without any further call. */
	stall = now() + 20;
	while (done < sub) {
		if (!pop(r, &c)) {
			ASSERT_EQ(tag | done, c.user_data);
			ASSERT_EQ(0, c.res);
			done++;
			continue;
		}
		ASSERT_GT(stall, now())
			TH_LOG("lost: submitted %llu, completed %llu, sq %u/%u, flags %#x",
			       (unsigned long long)sub, (unsigned long long)done,
			       *r->sq_head, *r->sq_tail, ld(r->sq_flags));
		vanity_cpu_relax();
	}
	usleep(20000);
	EXPECT_EQ(-EAGAIN, pop(r, &c)) TH_LOG("a completion ran twice");
	ASSERT_EQ(0, get_shard(0, &g1));
	EXPECT_EQ(sub, g1.submitted - g0.submitted);
	EXPECT_EQ(sub, g1.completed - g0.completed);
	EXPECT_LT(100, g1.poller_wakeups - g0.poller_wakeups);
	TH_LOG("%llu NOPs in %.1f s (%.0f ns/op), %llu poller wakeups; pauses "
	       "none %llu, µs %llu, >idle %llu, drain %llu; SQ full %llu times",
	       (unsigned long long)sub, now() - t0, (now() - t0) * 1e9 / sub,
	       (unsigned long long)(g1.poller_wakeups - g0.poller_wakeups),
	       (unsigned long long)pauses[0], (unsigned long long)pauses[1],
	       (unsigned long long)pauses[2], (unsigned long long)pauses[3],
	       (unsigned long long)full);
	if (sub < 1000000)
		TH_LOG("note: %llu NOPs, fewer than 1,000,000 (time bound)",
		       (unsigned long long)sub);
}

/* A child: attach @shard with SQPOLL, leave SQEs in flight, report, hang. */
struct inflight_arg {
	const char *shard;
	int pipe_w;
	int kind;	/* 0: a TIMEOUT blocks the poller; 1: a WAIT does */
};

static int sqpoll_inflight(void *p)
{
	struct inflight_arg *a = p;
	struct vanity_ring *r;
	struct vanity *v;
	unsigned int i;
	char ok = 'r';

	if (vanity_attach_flags(a->shard, VANITY_ATTACH_SQPOLL, 1000, &v))
		return 10;
	r = vanity_ring(v);
	if (a->kind == 0)
		vanity_prep_timeout(next_sqe(r), 60000000000LL, 1);
	else	/* consumer of data, which stays empty: forever */
		vanity_prep_wait(next_sqe(r), CH_DATA, 1, -1, 1);
	for (i = 1; i < r->sq_entries; i++)
		vanity_prep_nop(next_sqe(r), 1 + i);
	if (vanity_submit(r) != (int)r->sq_entries)
		return 11;
	if (write(a->pipe_w, &ok, 1) != 1)
		return 12;
	for (;;)
		pause();
	return 0;
}

static int reattach_works(void *p)
{
	const char *shard = p;
	struct vanity_ring *r;
	struct vanity_cqe c;
	struct vanity *v;
	unsigned int i;

	if (vanity_attach_flags(shard, VANITY_ATTACH_SQPOLL, 1000, &v))
		return 10;
	r = vanity_ring(v);
	/* A fresh ring: nothing of the killed attachment's is left. */
	if (*r->sq_head || *r->sq_tail || *r->cq_head || *r->cq_tail ||
	    *r->cq_overflow)
		return 11;
	for (i = 0; i < 64; i++)
		vanity_prep_nop(next_sqe(r), 500 + i);
	if (vanity_submit(r) != 64)
		return 12;
	if (!spin_cqes(r, 64, 20))
		return 13;
	for (i = 0; i < 64; i++)
		if (pop(r, &c) || c.user_data != 500 + i || c.res)
			return 14;
	vanity_detach(v);
	return 0;
}

/* Attach with SQPOLL, get SQEs in flight, SIGKILL: 0 or a failing step. */
static int kill_cycle(int kind, const char *comm, unsigned long long timeouts0,
		      unsigned long long waits0)
{
	struct inflight_arg a = { .shard = "consumer", .kind = kind };
	struct vanity_status_shard gs;
	struct ring_row row;
	int fds[2], st;
	double end;
	char ch;
	pid_t pid;

	if (pipe(fds))
		return 1;
	a.pipe_w = fds[1];
	pid = vt_spawn(sqpoll_inflight, &a);
	close(fds[1]);
	if (pid < 0 || read(fds[0], &ch, 1) != 1) {
		close(fds[0]);
		return 2;
	}
	close(fds[0]);
	if (!comm_becomes(comm, 1, 10))
		return 3;
	/* Until the poller is inside the blocking op (its counter moved). */
	for (end = now() + 20;; usleep(2000)) {
		if (ring_row("consumer", &row))
			return 4;
		if (row.ops[VANITY_OP_TIMEOUT] > timeouts0 ||
		    row.ops[VANITY_OP_WAIT] > waits0)
			break;
		if (now() > end)
			return 5;
	}
	if (kill(pid, SIGKILL))
		return 6;
	st = vt_wait(pid, 20000);
	if (st != 128 + SIGKILL)
		return 7;
	if (!comm_becomes(comm, 0, 10))
		return 8;
	if (get_shard(1, &gs) || gs.pid || gs.sqpoll)
		return 9;
	return 0;
}

TEST_F_TIMEOUT(sq, killed_with_sqes_in_flight_stops_the_poller, 240)
{
	struct vanity_status_shard gs;
	struct ring_row row;
	long free0, free1, slab0, slab1, stack0, stack1;
	char comm[64];
	const char *e_cycles = getenv("RING_KILL_CYCLES");
	int i, ret, cycles = e_cycles ? atoi(e_cycles) : 20;
	pid_t pid;

	poller_comm("consumer", comm);
	ASSERT_EQ(0, count_comm(comm));
	/* One round first, so that caches are warm before we measure. */
	ASSERT_EQ(0, ring_row("consumer", &row));
	ASSERT_EQ(0, kill_cycle(0, comm, row.ops[VANITY_OP_TIMEOUT],
				row.ops[VANITY_OP_WAIT]));
	vt_settle(200);
	free0 = vt_free_kb();
	slab0 = vt_meminfo("Slab");
	stack0 = vt_meminfo("KernelStack");
	for (i = 0; i < cycles; i++) {
		ASSERT_EQ(0, ring_row("consumer", &row));
		ret = kill_cycle(i % 2, comm, row.ops[VANITY_OP_TIMEOUT],
				 row.ops[VANITY_OP_WAIT]);
		ASSERT_EQ(0, ret) TH_LOG("cycle %d (%s in flight) failed at step %d",
					 i, i % 2 ? "WAIT" : "TIMEOUT", ret);
		if (i % 10 == 9) {
			vt_settle(100);
			TH_LOG("after %d cycles: free %ld kB, Slab %ld kB, "
			       "KernelStack %ld kB", i + 1, vt_free_kb(),
			       vt_meminfo("Slab"), vt_meminfo("KernelStack"));
		}
	}
	/* The shard attaches again and its ring works. */
	pid = vt_spawn(reattach_works, "consumer");
	EXPECT_EQ(0, vt_wait(pid, 60000));
	EXPECT_TRUE(comm_becomes(comm, 0, 10));
	ASSERT_EQ(0, get_shard(1, &gs));
	EXPECT_EQ(0, gs.pid);
	vt_settle(200);
	free1 = vt_free_kb();
	slab1 = vt_meminfo("Slab");
	stack1 = vt_meminfo("KernelStack");
	TH_LOG("%d kill cycles: free %ld -> %ld kB, Slab %ld -> %ld kB, "
	       "KernelStack %ld -> %ld kB", cycles, free0, free1, slab0, slab1,
	       stack0, stack1);
	/*
	 * A leaked poller keeps its 16 kB stack (KernelStack) and its task
	 * (Slab; it moves by ~100-300 kB here on its own): small tolerances.
	 * Free memory (MemFree plus
	 * the per-CPU lists) gets a tolerance of 1 MiB for 20 cycles.
	 */
	EXPECT_GT(64, stack1 - stack0);
	EXPECT_GT(1024, slab1 - slab0);
	EXPECT_GT(1024, free0 - free1);
}

/* --------------------------------------------- two shards at once */

struct hammer {
	const char *shard;
	uint64_t tag;
	int sqpoll;
	int start_r;
	double secs;
	uint64_t max;
	uint64_t done;		/* out */
	uint64_t bad_ud;	/* out: first foreign or out-of-order user_data */
};

static int hammer(void *p)
{
	struct hammer *h = p;
	uint64_t seed = h->tag | 1, sub = 0, done = 0, x;
	struct vanity_ring *r;
	struct vanity_cqe c;
	struct vanity *v;
	double end, stall = 0;
	unsigned int b, i, iter;
	char ch;

	if (vanity_attach_flags(h->shard, h->sqpoll ? VANITY_ATTACH_SQPOLL : 0,
				h->sqpoll ? 100000 : 0, &v))
		return 10;
	r = vanity_ring(v);
	if (read(h->start_r, &ch, 1) != 1)
		return 11;
	end = now() + h->secs;
	for (iter = 0; sub < h->max && (iter++ % 16 || now() < end);) {
		x = xorshift(&seed);
		b = 1 + x % 32;
		for (i = 0; i < b && sub < h->max; i++) {
			struct vanity_sqe *sqe = vanity_get_sqe(r);

			if (!sqe)
				break;
			vanity_prep_nop(sqe, h->tag | sub++);
		}
		if (h->sqpoll) {
			if (i && vanity_submit(r) != (int)i)
				return 12;
		} else if (vanity_submit_and_wait(r, i) != (int)i) {
			return 13;
		}
		while (!pop(r, &c)) {
			if (c.user_data != (h->tag | done) || c.res) {
				h->bad_ud = c.user_data;
				return 14;
			}
			done++;
			stall = 0;
		}
		if (h->sqpoll && sub - done >= r->sq_entries) {
			if (!stall)
				stall = now() + 20;
			else if (now() > stall)
				return 15;
			vanity_cpu_relax();
		}
		h->done = done;
	}
	/* Drain. */
	for (stall = now() + 20; done < sub;) {
		if (!pop(r, &c)) {
			if (c.user_data != (h->tag | done) || c.res) {
				h->bad_ud = c.user_data;
				return 14;
			}
			done++;
		} else if (now() > stall) {
			return 16;
		}
	}
	h->done = done;
	vanity_detach(v);
	return 0;
}

static void two_shards(struct __test_metadata *_metadata, int sqpoll)
{
	static const char *names[2] = { "producer", "consumer" };
	struct hammer *h = mmap(NULL, 2 * sizeof(*h), PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct vanity_status_shard g0[2], g1[2];
	int fds[2], i, st[2];
	pid_t pid[2];
	char go[2] = "gg";

	ASSERT_NE(MAP_FAILED, h);
	ASSERT_EQ(0, pipe(fds));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, get_shard(i, &g0[i]));
		h[i] = (struct hammer){
			.shard = names[i], .tag = (uint64_t)(0xa1 + i) << 56,
			.sqpoll = sqpoll, .start_r = fds[0], .secs = 10,
			.max = 2000000,
		};
		pid[i] = vt_spawn(hammer, &h[i]);
		ASSERT_LT(0, pid[i]);
	}
	usleep(200000);
	ASSERT_EQ(2, write(fds[1], go, 2));
	for (i = 0; i < 2; i++)
		st[i] = vt_wait(pid[i], 120000);
	close(fds[0]);
	close(fds[1]);
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(0, st[i]) TH_LOG("%s: step %d after %llu, user_data %#llx",
					    names[i], st[i], (unsigned long long)h[i].done,
					    (unsigned long long)h[i].bad_ud);
		ASSERT_EQ(0, get_shard(i, &g1[i]));
		EXPECT_EQ(h[i].done, g1[i].completed - g0[i].completed);
		EXPECT_LT(1000, h[i].done);
	}
	TH_LOG("%s: producer %llu NOPs, consumer %llu NOPs", sqpoll ? "SQPOLL" : "ENTER",
	       (unsigned long long)h[0].done, (unsigned long long)h[1].done);
	munmap(h, 2 * sizeof(*h));
}

TEST_F_TIMEOUT(sq, two_shards_never_see_each_others_completions, 180)
{
	two_shards(_metadata, 0);
	two_shards(_metadata, 1);
}

TEST_HARNESS_MAIN
