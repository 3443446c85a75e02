// SPDX-License-Identifier: GPL-2.0
/*
 * The submission ring's module-only side, next to ring_test.c (which runs
 * on both backends): ENTER's struct sizes and reserved words, the fsync
 * doorbell, the ring's mmap of /dev/vanity, debugfs vanity/rings against
 * GET, the tracepoints, and what killed pollers and cancelled ops leave in
 * kernel memory. Run as root in the VM; the image is ring_backend.h's.
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
#include "ring_backend.h"

/* ------------------------------------------------------------ helpers */

/* The standard image on the module, whatever VANITY_BACKEND says. */
static int up_std(uint32_t ring_entries, char *msg, size_t len)
{
	struct vanity_imgw w;

	vt_reset();
	vtb_std_image(&w, ring_entries);
	return vt_up(&w, msg, len);
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

/* fsync(2) on the shard's fd, raw: the count it returns, or -errno. */
static int raw_fsync(int fd)
{
	long ret = syscall(SYS_fsync, fd);

	return ret < 0 ? -errno : (int)ret;
}

/* Fill SQ and CQ until a submit says -EBUSY; *next is the next user_data. */
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
	if (self->v)
		vanity_detach(self->v);
	vt_reset();
}

/* ---------------------------------------------------- ENTER's struct */

/*
 * The struct's own rules (the library's calls are ring_test.c's): reserved
 * words must be zero, a size too small to hold min_complete is refused, a
 * larger struct must have a zero tail.
 */
TEST_F(ring, enter_refuses_bad_struct_sizes_and_reserved_words)
{
	int fd = vanity_fd(self->v);

	EXPECT_EQ(-EINVAL, raw_enter(fd, sizeof(struct vanity_enter), 0, 0, 0, 1, 0));
	EXPECT_EQ(-EINVAL, raw_enter(fd, sizeof(struct vanity_enter), 0, 0, 0, 0, 1ULL << 63));
	EXPECT_EQ(-EINVAL, raw_enter(fd, 8, 0, 0, 0, 0, 0));
	EXPECT_EQ(-EINVAL, raw_enter(fd, 0, 0, 0, 0, 0, 0));
	EXPECT_EQ(-E2BIG, enter_dirty_tail(fd));
	/* A larger struct with a zero tail, an older shorter one: fine. */
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

/* ------------------------------------------------ the fsync doorbell */

TEST_F(ring, fsync_consumes_every_published_sqe_and_returns_how_many)
{
	struct vanity_ring *r = self->r;
	int fd = vanity_fd(self->v);
	struct vanity_sqe *sqe;
	struct vanity_cqe c;
	struct vtb_ring_row row;
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
	ASSERT_EQ(0, vtb_ring_row("producer", &row));
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
	struct vtb_ring_row row;
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
	ASSERT_EQ(0, vtb_ring_row("producer", &row));
	EXPECT_EQ(4, row.submitted);
	EXPECT_EQ(4, row.completed);
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


/* A full CQ refuses the fsync doorbell as it refuses ENTER, counting each. */
TEST_F(ring, fsync_on_a_full_cq_is_ebusy_and_counted)
{
	struct vanity_ring *r = self->r;
	uint32_t sqn = r->sq_entries, cqn = r->cq_mask + 1, ov;
	int fd = vanity_fd(self->v);
	struct vanity_status_shard gs;
	struct vtb_ring_row row;
	uint64_t next = 0, want = 0;
	struct vanity_cqe c;

	ASSERT_EQ(-EBUSY, fill_to_ebusy(r, &next));
	ov = *r->cq_overflow;
	ASSERT_LE(1, ov);
	EXPECT_EQ(-EBUSY, raw_fsync(fd));
	EXPECT_EQ(ov + 1, *r->cq_overflow);
	/* The word is the module's count, written, never read back. */
	*r->cq_overflow = 1000;
	EXPECT_EQ(-EBUSY, raw_fsync(fd));
	EXPECT_EQ(ov + 2, *r->cq_overflow) TH_LOG("a scribbled count was believed");
	ASSERT_EQ(0, vtb_ring_row("producer", &row));
	EXPECT_EQ(ov + 2, row.overflows);
	ASSERT_EQ(0, get_shard(0, &gs));
	EXPECT_EQ(ov + 2, gs.overflows);
	/* Reaped, the SQEs that met -EBUSY go through fsync. */
	for (; want < cqn; want++) {
		ASSERT_EQ(0, pop(r, &c));
		ASSERT_EQ(want, c.user_data);
	}
	EXPECT_EQ((int)sqn, raw_fsync(fd));
	while (!pop(r, &c))
		ASSERT_EQ(want++, c.user_data);
	EXPECT_EQ(next, want);
}

/* ---------------------------------------------------------- debugfs */

/*
 * debugfs vanity/rings says what GET says of every shard (and what only
 * it says: the ops in flight), an SQPOLL attachment included.
 */
TEST_F(ring, debugfs_rings_rows_agree_with_get)
{
	struct vanity_ring *r = self->r;
	struct vanity_status_shard gs;
	struct vtb_ring_row row;
	uint64_t next = 0;
	struct vanity_cqe c;
	struct vanity_sqe s;
	unsigned int op, i;

	/* Every op, a malformed SQE, an overflow, an armed TIMEOUT. */
	for (op = 0; op < VANITY_OP_LAST; op++) {
		s = sqe_of(op, 0, op == VANITY_OP_WAIT ? 1ULL << CH_BACK : 0, 0, op);
		ASSERT_LT(-1000, ring_res_of(r, &s)) TH_LOG("op %u", op);
	}
	s = sqe_of(200, 0, 0, 0, 99);
	ASSERT_EQ(-EINVAL, ring_res_of(r, &s));
	ASSERT_EQ(-EBUSY, fill_to_ebusy(r, &next));
	while (!pop(r, &c))
		;
	ASSERT_LE(0, vanity_submit_and_wait(r, r->sq_entries));
	while (!pop(r, &c))
		;
	vanity_prep_timeout(next_sqe(r), 60000000000LL, 100);
	ASSERT_EQ(1, vanity_submit(r));

	ASSERT_EQ(0, vtb_ring_row("producer", &row));
	ASSERT_EQ(0, get_shard(0, &gs));
	EXPECT_EQ(gs.ring_entries, row.entries);
	EXPECT_EQ(VANITY_RING_ENTRIES_DEFAULT, row.entries);
	EXPECT_STREQ("no", row.sqpoll);
	EXPECT_EQ(gs.submitted, row.submitted);
	EXPECT_EQ(VANITY_OP_LAST + 1 + next + 1, row.submitted);
	EXPECT_EQ(gs.completed, row.completed);
	EXPECT_EQ(row.submitted - 1, row.completed);
	EXPECT_EQ(gs.overflows, row.overflows);
	EXPECT_LE(1, row.overflows);
	EXPECT_EQ(gs.poller_wakeups, row.wakeups);
	EXPECT_EQ(1, row.inflight);
	for (op = 0; op < VANITY_OP_LAST; op++)
		EXPECT_EQ(gs.ops[op], row.ops[op]) TH_LOG("op %u", op);
	EXPECT_EQ(1 + next, row.ops[VANITY_OP_NOP]);
	EXPECT_EQ(2, row.ops[VANITY_OP_TIMEOUT]);
	/* The other shards' rows: nothing. */
	ASSERT_EQ(0, vtb_ring_row("consumer", &row));
	EXPECT_EQ(0, row.submitted);
	for (i = 0; i < VANITY_OP_LAST; i++)
		EXPECT_EQ(0, row.ops[i]);
	EXPECT_EQ(-ENOENT, vtb_ring_row("nosuch", &row));

	/* Detach cancels the TIMEOUT; an SQPOLL attachment says so. */
	vanity_detach(self->v);
	self->v = NULL;
	ASSERT_EQ(0, vtb_ring_row("producer", &row));
	EXPECT_EQ(0, row.inflight);
	ASSERT_EQ(0, vanity_attach_flags("producer", VANITY_ATTACH_SQPOLL, 5000000,
					 &self->v));
	EXPECT_EQ(0, nop_ok(vanity_ring(self->v), 1));
	ASSERT_EQ(0, vtb_ring_row("producer", &row));
	ASSERT_EQ(0, get_shard(0, &gs));
	EXPECT_STREQ("yes", row.sqpoll);
	EXPECT_TRUE(gs.sqpoll);
	EXPECT_EQ(gs.poller_wakeups, row.wakeups);
	EXPECT_EQ(gs.submitted, row.submitted);
}

/*
 * Armed ops cancelled by detach leave nothing: 40 cycles of a CQ full of
 * them (>= 256-byte allocations each) leave Slab where it was.
 */
TEST_F_TIMEOUT(ring, cancelled_armed_ops_leak_no_kernel_memory, 240)
{
	struct vanity_ring *r = self->r;
	uint32_t sqn = r->sq_entries, cqn = r->cq_mask + 1, i, k;
	struct vtb_ring_row row;
	long slab0 = 0, slab1;
	int cycle;

	for (cycle = 0; cycle < 41; cycle++) {
		for (k = 0; k < cqn / sqn; k++) {
			for (i = 0; i < sqn; i++)
				vanity_prep(next_sqe(r), i % 2 ? VANITY_OP_TIMEOUT :
					    VANITY_OP_WAIT, i % 2 ? 0 : CH_BACK,
					    i % 2 ? 0 : 1, 60000000000LL, k * sqn + i);
			ASSERT_EQ((int)sqn, vanity_submit(r));
		}
		ASSERT_EQ(0, vtb_ring_row("producer", &row));
		ASSERT_EQ(cqn, row.inflight);
		vanity_detach(self->v);
		self->v = NULL;
		ASSERT_EQ(0, vanity_attach("producer", &self->v));
		r = self->r = vanity_ring(self->v);
		ASSERT_EQ(0, vtb_ring_row("producer", &row));
		ASSERT_EQ(0, row.inflight);
		if (!cycle) {
			vt_settle(200);
			slab0 = vt_meminfo("Slab");
		}
	}
	vt_settle(200);
	slab1 = vt_meminfo("Slab");
	TH_LOG("40 cycles of %u armed ops: Slab %ld -> %ld kB", cqn, slab0, slab1);
	/* Leaked ops would be 40 x 256 allocations of >= 256 bytes. */
	EXPECT_GT(1024, slab1 - slab0);
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
	/*
	 * No command-line recording: enabling the first event would hook
	 * sched_switch and sched_wakeup, patching the scheduler's hottest
	 * code while the other vCPUs run it, and QEMU's multi-threaded TCG
	 * then now and then runs a stale int3 of that patch ("Oops: int3"
	 * in ttwu_do_activate, seen once in a 6.12 boot). Our events'
	 * sites are idle here.
	 */
	ASSERT_EQ(0, write_str(TRACING "/options/record-cmd", "0"));
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
	EXPECT_EQ(0, write_str(TRACING "/options/record-cmd", "1"));
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
	if (self->v)
		vanity_detach(self->v);
	vt_reset();
}

/* A poller asleep (NEED_WAKEUP) is woken by the fsync doorbell, which returns 0. */
TEST_F(sq, fsync_wakes_a_sleeping_poller)
{
	struct vanity_status_shard g0, g1;
	struct vanity_ring *r;
	struct vanity_cqe c;
	double end;

	ASSERT_EQ(0, vanity_attach_flags("producer", VANITY_ATTACH_SQPOLL, 1000,
					 &self->v));
	r = self->r = vanity_ring(self->v);
	ASSERT_EQ(0, nop_ok(r, 1));
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
	vanity_prep_nop(next_sqe(r), 2);
	__atomic_store_n(r->sq_tail, r->sqe_tail, __ATOMIC_RELEASE);
	usleep(200000);
	EXPECT_EQ(1, ld(r->sq_head)) TH_LOG("the poller ran while flagged asleep");
	ASSERT_EQ(0, raw_fsync(vanity_fd(self->v)));
	ASSERT_TRUE(spin_cqes(r, 1, 20)) TH_LOG("the wakeup was lost");
	ASSERT_EQ(0, pop(r, &c));
	EXPECT_EQ(2, c.user_data);
	ASSERT_EQ(0, get_shard(0, &g1));
	EXPECT_LT(g0.poller_wakeups, g1.poller_wakeups);
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
	struct vtb_ring_row row;
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
		if (vtb_ring_row("consumer", &row))
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
	struct vtb_ring_row row;
	long free0, free1, slab0, slab1, stack0, stack1;
	char comm[64];
	const char *e_cycles = getenv("RING_KILL_CYCLES");
	int i, ret, cycles = e_cycles ? atoi(e_cycles) : 20;
	pid_t pid;

	poller_comm("consumer", comm);
	ASSERT_EQ(0, count_comm(comm));
	/* One round first, so that caches are warm before we measure. */
	ASSERT_EQ(0, vtb_ring_row("consumer", &row));
	ASSERT_EQ(0, kill_cycle(0, comm, row.ops[VANITY_OP_TIMEOUT],
				row.ops[VANITY_OP_WAIT]));
	vt_settle(200);
	free0 = vt_free_kb();
	slab0 = vt_meminfo("Slab");
	stack0 = vt_meminfo("KernelStack");
	for (i = 0; i < cycles; i++) {
		ASSERT_EQ(0, vtb_ring_row("consumer", &row));
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


TEST_HARNESS_MAIN
