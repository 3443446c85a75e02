// SPDX-License-Identifier: GPL-2.0
/*
 * The hosted simulator's submission ring (tools/ctl/sim_ring.c and
 * lib/hosted_ring.c) through libvanity, as a shard uses it: every op and
 * its CQE, every malformed-SQE class, ENTER's errors and -EINTR, CQ full
 * and recovery, SQPOLL and its idle/wake edge under stress, WAIT woken by
 * a peer, WAIT and TIMEOUT armed while the ring goes on (out-of-order
 * CQEs, reserved CQ slots, cancelled by detach), hostile indices, a
 * killed shard's poller, the counters of the simulator's status. The server runs in a thread of the test; shards are
 * attachments of the test process (or of a forked child).
 *
 * The image: "p" (index 0), "c" (1), "third" (2), on every CPU; channels
 * "data" 0: p -> c, "back" 1: c -> p, "side" 2: c -> third (foreign to p).
 * Nothing asserts on speed; waits are bounded (20 s) and say what hung.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../include/ring_util.h"
#include "helpers.h"
#include "sim.h"
#include "sim_ring.h"
#include "hosted.h"
#include "opdef.h"
#include "bell.h"
#include "vanity.h"

#define CH_DATA 0
#define CH_BACK 1
#define CH_SIDE 2
#define NCHANNELS 3
#define SLOTS 16
#define BOUND_S 20.0

static struct vanity_sim *sim;
static pthread_t server;
static atomic_int server_stop;
/* The server thread and status readers: drop() frees what status reads. */
static pthread_mutex_t sim_lock = PTHREAD_MUTEX_INITIALIZER;

/* A lost wakeup hangs an ENTER, as it would in the module: fail, not hang. */
TestSuite(sim_ring, .timeout = 90);

/* ------------------------------------------------------------ fixture */

static void *serve(void *arg)
{
	(void)arg;
	while (!atomic_load(&server_stop)) {
		pthread_mutex_lock(&sim_lock);
		vanity_sim_poll(sim, 1);
		pthread_mutex_unlock(&sim_lock);
		usleep(100);
	}
	return NULL;
}

static void ring_image(uint8_t **img, size_t *len, uint32_t p_entries)
{
	uint64_t cpus[VANITY_CPU_WORDS] = { 0 };
	long n = sysconf(_SC_NPROCESSORS_ONLN), i;
	struct vanity_imgw *w = calloc(1, sizeof(*w));
	void *out;

	/* Every CPU: attaching pins the test's thread, and it may go anywhere. */
	for (i = 0; i < n && i < 64; i++)
		cpus[0] |= 1ULL << i;
	cr_assert_not_null(w);
	vanity_imgw_init(w, "rings");
	cr_assert_eq(vanity_imgw_shard(w, "p", 0, cpus, getuid(), NULL), 0);
	cr_assert_eq(vanity_imgw_shard(w, "c", 0, cpus, getuid(), NULL), 1);
	cr_assert_eq(vanity_imgw_shard(w, "third", 0, cpus, getuid(), NULL), 2);
	w->shards[0].ring_entries = p_entries;
	cr_assert_eq(vanity_imgw_channel(w, "data", 0, 1, 64, SLOTS), CH_DATA);
	cr_assert_eq(vanity_imgw_channel(w, "back", 1, 0, 64, SLOTS), CH_BACK);
	cr_assert_eq(vanity_imgw_channel(w, "side", 1, 2, 64, SLOTS), CH_SIDE);
	cr_assert_eq(vanity_imgw_finish(w, &out, len), 0);
	free(w);
	*img = out;
}

static void start_with(uint32_t p_entries)
{
	uint8_t *img;
	size_t len;
	char msg[256];

	ring_image(&img, &len, p_entries);
	cr_assert_eq(vanity_sim_start(&sim, img, len, msg, sizeof(msg)), 0, "%s", msg);
	free(img);
	setenv("VANITY_BACKEND", "hosted", 1);
	setenv(VANITY_SOCKET_ENV, vanity_sim_socket(sim), 1);
	atomic_store(&server_stop, 0);
	cr_assert_eq(pthread_create(&server, NULL, serve, NULL), 0);
}

static void start(void)
{
	start_with(0);
}

static void start256(void)
{
	start_with(256);
}

static void stop_server(void)
{
	if (!sim)
		return;
	atomic_store(&server_stop, 1);
	pthread_join(server, NULL);
	vanity_sim_stop(sim);
	sim = NULL;
}

static void finish(void)
{
	stop_server();
}

/* ------------------------------------------------------------ helpers */

static struct vanity *attach(const char *name, uint32_t flags, uint32_t idle_us)
{
	struct vanity *v;
	int ret = vanity_attach_flags(name, flags, idle_us, &v);

	cr_assert_eq(ret, 0, "attach %s: %s", name, strerror(-ret));
	cr_assert_not_null(vanity_ring(v), "attach %s: no ring", name);
	return v;
}

/* The simulator's view of shard @i (copied out under the server's lock). */
static struct vanity_status_shard shard_status(unsigned int i)
{
	struct vanity_status *st = calloc(1, sizeof(*st));
	struct vanity_status_shard out;

	cr_assert_not_null(st);
	pthread_mutex_lock(&sim_lock);
	cr_assert_eq(vanity_sim_status(sim, st), 0);
	pthread_mutex_unlock(&sim_lock);
	out = st->shards[i];
	free(st);
	return out;
}

static struct vanity_status_channel chan_status(unsigned int i)
{
	struct vanity_status *st = calloc(1, sizeof(*st));
	struct vanity_status_channel out;

	cr_assert_not_null(st);
	pthread_mutex_lock(&sim_lock);
	cr_assert_eq(vanity_sim_status(sim, st), 0);
	pthread_mutex_unlock(&sim_lock);
	out = st->channels[i];
	free(st);
	return out;
}

static struct vanity_sqe *next_sqe(struct vanity_ring *r)
{
	struct vanity_sqe *sqe = get_sqe_expecting_room(r);

	cr_assert_not_null(sqe, "the SQ is unexpectedly full");
	return sqe;
}

static int nop_ok(struct vanity_ring *r, uint64_t ud)
{
	struct vanity_sqe s = sqe_of(VANITY_OP_NOP, 0, 0, 0, ud);

	return ring_res_of(r, &s);
}

/* Threads of this process (each poller is one). */
static int threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Mappings of ring memfds in this process (ours and the simulator's). */
static int ring_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, "memfd:vanity-ring") != NULL;
	fclose(f);
	return n;
}

/* Armed ops alive in the simulator (it runs in this process). */
static int armed_live(void)
{
	return (int)vanity_sim_ring_armed_live();
}

static bool becomes(int (*fn)(void), int want, double secs)
{
	double end = now() + secs;

	while (fn() != want) {
		if (now() > end)
			return false;
		usleep(2000);
	}
	return true;
}

/* ------------------------------------------------------ layout, attach */

Test(sim_ring, the_ring_is_the_modules_layout, .init = start256, .fini = finish)
{
	struct vanity_ring_offsets o;
	struct vanity *v = attach("p", 0, 0), *w = attach("c", 0, 0);
	struct vanity_ring *r = vanity_ring(v);
	uint8_t *m = r->mem;

	vanity_ring_layout(256, &o);
	cr_expect_eq(r->sq_entries, 256, "ring_entries from the image");
	cr_expect_eq(r->cq_mask + 1, 512);
	cr_expect_eq((uint8_t *)r->sq_head - m, o.sq_head);
	cr_expect_eq((uint8_t *)r->sq_tail - m, o.sq_tail);
	cr_expect_eq((uint8_t *)r->sq_flags - m, o.sq_flags);
	cr_expect_eq((uint8_t *)r->cq_head - m, o.cq_head);
	cr_expect_eq((uint8_t *)r->cq_tail - m, o.cq_tail);
	cr_expect_eq((uint8_t *)r->cq_overflow - m, o.cq_overflow);
	cr_expect_eq((uint8_t *)r->sqes - m, o.sqes);
	cr_expect_eq((uint8_t *)r->cqes - m, o.cqes);
	cr_expect_eq(r->size, o.size + VH_CTL_SIZE);
	cr_expect_eq(*r->sq_head | *r->sq_tail | *r->cq_head | *r->cq_tail |
		     *r->cq_overflow | *r->sq_flags, 0);
	cr_expect_eq(vanity_ring(w)->sq_entries, VANITY_RING_ENTRIES_DEFAULT);
	cr_expect_eq(shard_status(0).ring_entries, 256);
	cr_expect_eq(shard_status(1).ring_entries, VANITY_RING_ENTRIES_DEFAULT);
	cr_expect_eq(shard_status(0).sqpoll, false);
	vanity_detach(w);
	vanity_detach(v);
}

/*
 * The client checks the simulator's ring offsets before mapping: each
 * malformed reply is -EPROTO, and the fd it came with is closed.
 */
Test(sim_ring, client_refuses_malformed_ring_offsets)
{
	struct vanity_ring_offsets good, o;
	struct vanity_ring r;
	unsigned int i;
	int fd;

	vanity_ring_layout(128, &good);
	for (i = 0; i < 9; i++) {
		o = good;
		switch (i) {
		case 0: o.sq_entries = 100; break;		/* not a power of two */
		case 1: o.sq_entries = VANITY_RING_ENTRIES_MAX * 2; break;
		case 2: o.cq_entries = 64; break;		/* smaller than the SQ */
		case 3: o.size = good.size + 1; break;		/* not pages */
		case 4: o.cq_tail = (uint32_t)good.size; break;	/* outside */
		case 5: o.sq_head = 2; break;			/* misaligned */
		case 6: o.sqes = (uint32_t)good.size - 64; break; /* overruns */
		case 7: o.cqes = 0xfffffff8u; break;
		case 8: o.features = 0; break;			/* no stamps */
		}
		fd = memfd_create("bad-ring", MFD_CLOEXEC);
		cr_assert_geq(fd, 0);
		memset(&r, 0, sizeof(r));
		cr_expect_eq(vanity__hosted_map_ring(&r, fd, &o, -1, 0), -EPROTO,
			     "case %u", i);
		cr_expect_eq(fcntl(fd, F_GETFD), -1, "case %u: fd left open", i);
		cr_expect_null(r.mem, "case %u", i);
	}
	memset(&r, 0, sizeof(r));
	cr_expect_eq(vanity__hosted_map_ring(&r, -1, &good, -1, 0), -EPROTO);
}

/* A PROBE reply whose words run past the ops array is refused. */
Test(sim_ring, client_refuses_a_malformed_probe_reply)
{
	struct vanity_probe p;
	struct vh_rep rep;

	memset(&rep, 0, sizeof(rep));
	rep.index = VANITY_OP_LAST - 1;
	rep.nchannels = VANITY_OP_LAST;
	rep.map_size = (1ULL << VANITY_OP_LAST) - 1;
	cr_assert_eq(vanity__hosted_probe_decode(&rep, &p), 0);
	cr_expect(vanity_op_supported(&p, VANITY_OP_LAST - 1));
	cr_expect(!vanity_op_supported(&p, VANITY_OP_LAST));
	rep.nchannels = VANITY_PROBE_OPS_MAX + 1;
	cr_expect_eq(vanity__hosted_probe_decode(&rep, &p), -EPROTO);
	rep.nchannels = VANITY_OP_LAST;
	rep.index = 256;
	cr_expect_eq(vanity__hosted_probe_decode(&rep, &p), -EPROTO);
}

/* The public calls refuse what they cannot use, before any request. */
Test(sim_ring, probe_and_lookup_refuse_bad_arguments, .init = start,
     .fini = finish)
{
	char longname[VANITY_NAME_MAX + 1];
	struct vanity_channel_info ci;
	struct vanity_probe p;
	struct vanity *v = attach("p", 0, 0);

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	cr_expect_eq(vanity_probe(NULL, &p), -EINVAL);
	cr_expect_eq(vanity_probe(v, NULL), -EINVAL);
	cr_expect_eq(vanity_channel_lookup(v, longname, &ci), -EINVAL);
	cr_expect_eq(vanity_channel_lookup(v, NULL, &ci), -EINVAL);
	cr_expect_eq(vanity_channel_lookup(v, "data", NULL), -EINVAL);
	cr_expect_eq(vanity_channel_lookup(v, "nosuch", &ci), -ENOENT);
	vanity_detach(v);
}

Test(sim_ring, attach_refuses_unknown_flags, .init = start, .fini = finish)
{
	struct vanity *v = NULL;

	cr_expect_eq(vanity_attach_flags("p", 1U << 1, 0, &v), -EINVAL);
	cr_expect_eq(vanity_attach_flags("p", 1U << 31, 0, &v), -EINVAL);
	cr_expect_null(v);
	/* Nothing was attached by those. */
	v = attach("p", VANITY_ATTACH_SQPOLL, 0);
	cr_expect_eq(shard_status(0).sqpoll, true);
	vanity_detach(v);
}

/* --------------------------------------------------------------- ops */

Test(sim_ring, nop_completes_with_zero, .init = start, .fini = finish)
{
	struct vanity *v = attach("p", 0, 0);
	struct vanity_ring *r = vanity_ring(v);
	struct vanity_cqe c;

	vanity_prep_nop(next_sqe(r), 0x1122334455667788ULL);
	cr_assert_eq(vanity_submit_and_wait(r, 1), 1);
	cr_assert_eq(cq_ready(r), 1);
	cr_assert_eq(pop(r, &c), 0);
	cr_expect_eq(c.user_data, 0x1122334455667788ULL);
	cr_expect_eq(c.res, 0);
	cr_expect_eq(c.flags, 0);
	cr_expect_eq(pop(r, &c), -EAGAIN);
	cr_expect_eq(*r->sq_head, 1);
	vanity_detach(v);
}

Test(sim_ring, every_op_completes_with_the_modules_result, .init = start,
     .fini = finish)
{
	struct vanity *v = attach("p", 0, 0);
	struct vanity_ring *r = vanity_ring(v);
	struct vanity_sqe s;

	s = sqe_of(VANITY_OP_NOTIFY, CH_DATA, 0, 0, 1);
	cr_expect_eq(ring_res_of(r, &s), 0, "notify, producer end");
	s = sqe_of(VANITY_OP_NOTIFY, CH_BACK, 0, 0, 2);
	cr_expect_eq(ring_res_of(r, &s), 0, "notify, consumer end");
	/* data has room for its producer: bit 0; back is empty. */
	s = sqe_of(VANITY_OP_WAIT, CH_DATA, 0x3, -1, 3);
	cr_expect_eq(ring_res_of(r, &s), 0);
	s = sqe_of(VANITY_OP_WAIT, CH_BACK, 0x1, 0, 4);
	cr_expect_eq(ring_res_of(r, &s), -ETIME);
	s = sqe_of(VANITY_OP_WAIT, CH_BACK, 0x1, 2000000, 5);
	cr_expect_eq(ring_res_of(r, &s), -ETIME);
	s = sqe_of(VANITY_OP_YIELD, 0, 0, 0, 6);
	cr_expect_eq(ring_res_of(r, &s), 0);
	s = sqe_of(VANITY_OP_TIMEOUT, 0, 0, 5000000, 7);
	cr_expect_eq(ring_res_of(r, &s), -ETIME);
	s = sqe_of(VANITY_OP_TIMEOUT, 0, 0, 0, 8);
	cr_expect_eq(ring_res_of(r, &s), -ETIME);
	cr_expect_eq(nop_ok(r, 9), 0);
	/* The NOTIFYs are the channels' doorbells, as GET counts them. */
	cr_expect_eq(chan_status(CH_DATA).wakeups, 1);
	cr_expect_eq(chan_status(CH_BACK).wakeups, 1);
	cr_expect_eq(chan_status(CH_SIDE).wakeups, 0);
	vanity_detach(v);
}

Test(sim_ring, wait_fills_in_the_bit_of_the_ready_channel, .init = start,
     .fini = finish)
{
	struct vanity *v = attach("p", 0, 0), *w = attach("c", 0, 0);
	struct vanity_ring *r = vanity_ring(v);
	struct vanity_channel *data, *back;
	char buf[64] = "x";
	struct vanity_sqe s;
	unsigned int i;

	cr_assert_eq(vanity_channel_get(v, "data", &data), 0);
	cr_assert_eq(vanity_channel_get(w, "back", &back), 0);
	for (i = 0; i < SLOTS; i++)
		cr_assert_eq(vanity_send(data, buf), 0);
	/* data full: not ready for its producer; back empty. */
	s = sqe_of(VANITY_OP_WAIT, CH_DATA, 0x3, 0, 1);
	cr_expect_eq(ring_res_of(r, &s), -ETIME);
	cr_assert_eq(vanity_send(back, buf), 0);
	s = sqe_of(VANITY_OP_WAIT, CH_DATA, 0x3, -1, 2);
	cr_expect_eq(ring_res_of(r, &s), 1, "only back (bit 1) is ready");
	s = sqe_of(VANITY_OP_WAIT, CH_BACK, 0x1, -1, 3);
	cr_expect_eq(ring_res_of(r, &s), 0);
	vanity_detach(w);
	vanity_detach(v);
}

/* ------------------------------------------------------ bad SQEs */

struct bad_sqe {
	const char *what;
	struct vanity_sqe sqe;
	int res;
};

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
	BAD("nop with timeout", VANITY_OP_NOP, 0, 0, -1, -EINVAL);
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

Test(sim_ring, each_malformed_sqe_fails_in_its_cqe_and_the_ring_goes_on,
     .init = start, .fini = finish)
{
	struct vanity *v = attach("p", 0, 0);
	struct vanity_ring *r = vanity_ring(v);
	struct vanity_status_shard st;
	struct bad_sqe b[40];
	unsigned int n = bad_sqes(b), i, op;

	for (i = 0; i < n; i++) {
		cr_expect_eq(ring_res_of(r, &b[i].sqe), b[i].res, "case %u: %s", i, b[i].what);
		cr_expect_eq(nop_ok(r, 0x900d00 + i), 0, "NOP after %s", b[i].what);
	}
	/* Malformed SQEs count as submitted and completed, not as an op. */
	st = shard_status(0);
	cr_expect_eq(st.submitted, 2 * n);
	cr_expect_eq(st.completed, 2 * n);
	cr_expect_eq(st.ops[VANITY_OP_NOP], n);
	for (op = 1; op < VANITY_OP_LAST; op++)
		cr_expect_eq(st.ops[op], 0, "op %u", op);
	vanity_detach(v);
}

Test(sim_ring, malformed_sqes_in_one_batch_each_get_their_cqe, .init = start,
     .fini = finish)
{
	struct vanity *v = attach("p", 0, 0);
	struct vanity_ring *r = vanity_ring(v);
	struct bad_sqe b[40];
	unsigned int n = bad_sqes(b), i;
	struct vanity_cqe c;

	for (i = 0; i < n; i++) {
		*next_sqe(r) = b[i].sqe;
		vanity_prep_nop(next_sqe(r), 0x900d00 + i);
	}
	cr_assert_eq(vanity_submit_and_wait(r, 2 * n), (int)(2 * n));
	cr_assert_eq(cq_ready(r), 2 * n);
	for (i = 0; i < n; i++) {
		cr_assert_eq(pop(r, &c), 0);
		cr_expect_eq(c.user_data, b[i].sqe.user_data);
		cr_expect_eq(c.res, b[i].res, "case %u: %s", i, b[i].what);
		cr_assert_eq(pop(r, &c), 0);
		cr_expect_eq(c.user_data, 0x900d00 + i);
		cr_expect_eq(c.res, 0);
	}
	vanity_detach(v);
}

/* ----------------------------------------------------------- ENTER */

Test(sim_ring, enter_rejects_bad_arguments, .init = start, .fini = finish)
{
	struct vanity *v = attach("p", 0, 0);
	struct vanity_ring *r = vanity_ring(v);
	uint32_t cqn = r->cq_mask + 1;

	cr_expect_eq(vanity__enter(r, 0, 0, 1U << 2), -EINVAL);
	cr_expect_eq(vanity__enter(r, 0, 0, 1U << 31), -EINVAL);
	cr_expect_eq(vanity__enter(r, 0, cqn + 1, 0), -EINVAL);
	cr_expect_eq(vanity__enter(r, 0, cqn + 1, VANITY_ENTER_GETEVENTS), -EINVAL);
	cr_expect_eq(vanity__enter(r, 0, ~0U, 0), -EINVAL);
	/* The limits themselves are fine. */
	cr_expect_eq(vanity__enter(r, 0, cqn, 0), 0);
	cr_expect_eq(vanity__enter(r, 0, 0, VANITY_ENTER_GETEVENTS), 0);
	cr_expect_eq(nop_ok(r, 1), 0);
	vanity_detach(v);
}

Test(sim_ring, enter_consumes_no_more_than_was_published, .init = start,
     .fini = finish)
{
	struct vanity *v = attach("p", 0, 0);
	struct vanity_ring *r = vanity_ring(v);
	struct vanity_cqe c;
	unsigned int i;

	for (i = 0; i < 3; i++)
		vanity_prep_nop(next_sqe(r), 40 + i);
	__atomic_store_n(r->sq_tail, r->sqe_tail, __ATOMIC_RELEASE);
	cr_expect_eq(vanity__enter(r, 1000, 0, 0), 3);
	cr_expect_eq(cq_ready(r), 3);
	for (i = 0; i < 3; i++) {
		cr_assert_eq(pop(r, &c), 0);
		cr_expect_eq(c.user_data, 40 + i);
	}
	cr_expect_eq(vanity__enter(r, 1000, 0, 0), 0);
	/* to_submit bounds a batch too. */
	for (i = 0; i < 5; i++)
		vanity_prep_nop(next_sqe(r), 50 + i);
	__atomic_store_n(r->sq_tail, r->sqe_tail, __ATOMIC_RELEASE);
	cr_expect_eq(vanity__enter(r, 2, 0, 0), 2);
	cr_expect_eq(vanity__enter(r, 10, 0, 0), 3);
	vanity_detach(v);
}

Test(sim_ring, batches_complete_in_order_and_are_counted, .init = start,
     .fini = finish)
{
	static const unsigned int sizes[] = { 1, 8, 32, 128 };
	struct vanity *v = attach("p", 0, 0), *w = attach("c", 0, 0);
	struct vanity_ring *r = vanity_ring(v);
	struct vanity_status_shard st;
	unsigned int s, round, i, total = 0;
	struct vanity_cqe c;

	for (s = 0; s < 4; s++) {
		for (round = 0; round < 5; round++) {
			uint64_t base = ((uint64_t)sizes[s] << 40) | ((uint64_t)round << 20);

			for (i = 0; i < sizes[s]; i++)
				vanity_prep_nop(next_sqe(r), base + i);
			cr_assert_eq(vanity_submit_and_wait(r, sizes[s]), (int)sizes[s]);
			cr_assert_eq(cq_ready(r), sizes[s]);
			for (i = 0; i < sizes[s]; i++) {
				cr_assert_eq(pop(r, &c), 0);
				cr_assert_eq(c.user_data, base + i);
				cr_assert_eq(c.res, 0);
			}
			total += sizes[s];
		}
	}
	st = shard_status(0);
	cr_expect_eq(st.submitted, total);
	cr_expect_eq(st.completed, total);
	cr_expect_eq(st.ops[VANITY_OP_NOP], total);
	cr_expect_eq(st.overflows, 0);
	/* Nothing leaks into another shard's counters. */
	st = shard_status(1);
	cr_expect_eq(st.submitted, 0);
	cr_expect_eq(st.ops[VANITY_OP_NOP], 0);
	vanity_detach(w);
	vanity_detach(v);
}

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

Test(sim_ring, cq_full_is_ebusy_counted_and_loses_nothing, .init = start,
     .fini = finish)
{
	struct vanity *v = attach("p", 0, 0);
	struct vanity_ring *r = vanity_ring(v);
	uint32_t sqn = r->sq_entries, cqn = r->cq_mask + 1, ov;
	uint64_t next = 0, want = 0;
	struct vanity_status_shard st;
	struct vanity_cqe c;

	cr_assert_eq(fill_to_ebusy(r, &next), -EBUSY);
	cr_expect_eq(cq_ready(r), cqn);
	cr_expect_eq(*r->sq_tail - *r->sq_head, sqn, "published, not consumed");
	ov = *r->cq_overflow;
	cr_expect_geq(ov, 1);
	st = shard_status(0);
	cr_expect_eq(st.overflows, ov);
	cr_expect_eq(st.submitted, cqn);
	/* Still full: -EBUSY again, counted again (each refused ENTER). */
	cr_expect_eq(vanity__enter(r, sqn, 0, 0), -EBUSY);
	cr_expect_eq(*r->cq_overflow, ov + 1);
	cr_expect_eq(shard_status(0).overflows, ov + 1);
	/* The word is the simulator's count, written, never read back. */
	*r->cq_overflow = 1000;
	cr_expect_eq(vanity__enter(r, sqn, 0, 0), -EBUSY);
	cr_expect_eq(*r->cq_overflow, ov + 2, "a scribbled count was believed");
	/* Reap, submit again (the library's documented recovery), reap. */
	while (!pop(r, &c)) {
		cr_assert_eq(c.user_data, want++);
		cr_assert_eq(c.res, 0);
	}
	cr_expect_eq(vanity_submit(r), (int)sqn);
	cr_expect_eq(*r->sq_tail, *r->sq_head);
	while (!pop(r, &c)) {
		cr_assert_eq(c.user_data, want++);
		cr_assert_eq(c.res, 0);
	}
	cr_expect_eq(want, next);
	cr_expect_eq(nop_ok(r, 1000), 0);
	st = shard_status(0);
	cr_expect_eq(st.submitted, next + 1);
	cr_expect_eq(st.completed, next + 1);
	vanity_detach(v);
}

/* ------------------------------------------- blocking ops, two shards */

struct waiter {
	struct vanity_ring *r;
	struct vanity_sqe sqe;
	int res;		/* the op's result, or -1000 + ENTER's error */
	atomic_int done;
	pthread_t t;
};

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;

	w->res = ring_res_of(w->r, &w->sqe);
	atomic_store(&w->done, 1);
	return NULL;
}

static void start_waiter(struct waiter *w, struct vanity_ring *r,
			 struct vanity_sqe s)
{
	w->r = r;
	w->sqe = s;
	w->res = -3000;
	atomic_store(&w->done, 0);
	cr_assert_eq(pthread_create(&w->t, NULL, wait_thread, w), 0);
}

/* Until @flag reads non-zero: false after the bound. */
static bool flag_raised(const uint32_t *flag)
{
	double end = now() + BOUND_S;

	while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE)) {
		if (now() > end)
			return false;
		usleep(1000);
	}
	return true;
}

Test(sim_ring, wait_sleeps_until_a_peers_send, .init = start, .fini = finish)
{
	struct vanity *v = attach("p", 0, 0), *c = attach("c", 0, 0);
	struct vanity_channel *back_rx, *back_tx;
	char buf[64] = "b";
	struct waiter w;

	cr_assert_eq(vanity_channel_get(v, "back", &back_rx), 0);
	cr_assert_eq(vanity_channel_get(c, "back", &back_tx), 0);
	start_waiter(&w, vanity_ring(v),
		     sqe_of(VANITY_OP_WAIT, CH_DATA, 0x2, 20000000000LL, 7));
	/* The WAIT raised p's flag in back's header: it is (about to be) asleep. */
	cr_assert(flag_raised(&back_rx->hdr->cons_waiting));
	usleep(50000);
	cr_expect_eq(atomic_load(&w.done), 0, "WAIT ended with nothing ready");
	/* The fast path rings because the flag is up; the WAIT wakes. */
	cr_assert_eq(vanity_send(back_tx, buf), 0);
	pthread_join(w.t, NULL);
	cr_expect_eq(w.res, 1, "the bit of back in the mask");
	cr_expect_eq(back_rx->hdr->cons_waiting, 0, "the WAIT lowers its flag");
	vanity_detach(c);
	vanity_detach(v);
}

Test(sim_ring, wait_for_room_sleeps_until_the_peer_reads, .init = start,
     .fini = finish)
{
	struct vanity *v = attach("p", 0, 0), *c = attach("c", 0, 0);
	struct vanity_channel *tx, *rx;
	char buf[64] = "d";
	struct waiter w;
	unsigned int i;

	cr_assert_eq(vanity_channel_get(v, "data", &tx), 0);
	cr_assert_eq(vanity_channel_get(c, "data", &rx), 0);
	for (i = 0; i < SLOTS; i++)
		cr_assert_eq(vanity_send(tx, buf), 0);
	start_waiter(&w, vanity_ring(v),
		     sqe_of(VANITY_OP_WAIT, CH_DATA, 0x1, 20000000000LL, 8));
	cr_assert(flag_raised(&tx->hdr->prod_waiting));
	usleep(50000);
	cr_expect_eq(atomic_load(&w.done), 0);
	cr_assert_eq(vanity_recv(rx, buf), 0);
	pthread_join(w.t, NULL);
	cr_expect_eq(w.res, 0);
	vanity_detach(c);
	vanity_detach(v);
}

struct bell_sleeper {
	struct vanity_channel *ch;
	int ret;
	atomic_int done;
};

static void *bell_thread(void *arg)
{
	struct bell_sleeper *b = arg;
	uint32_t head = __atomic_load_n(&b->ch->hdr->head, __ATOMIC_ACQUIRE);

	/* Only a doorbell ends this: nobody sends. */
	b->ret = b->ch->bell->wait(b->ch, head, 20000000000LL);
	atomic_store(&b->done, 1);
	return NULL;
}

Test(sim_ring, notify_wakes_a_peer_sleeping_in_its_doorbell, .init = start,
     .fini = finish)
{
	struct vanity *v = attach("p", 0, 0), *c = attach("c", 0, 0);
	struct vanity_ring *r = vanity_ring(v);
	struct bell_sleeper b = { .ret = 1 };
	struct vanity_sqe s;
	unsigned int rung = 0;
	double end;
	pthread_t t;

	cr_assert_eq(vanity_channel_get(c, "data", &b.ch), 0);
	cr_assert_eq(pthread_create(&t, NULL, bell_thread, &b), 0);
	/* Ring until it wakes: one NOTIFY may come before it sleeps. */
	for (end = now() + BOUND_S; !atomic_load(&b.done); usleep(20000)) {
		cr_assert_lt(now(), end, "the doorbell sleeper never woke");
		s = sqe_of(VANITY_OP_NOTIFY, CH_DATA, 0, 0, rung++);
		cr_assert_eq(ring_res_of(r, &s), 0);
	}
	pthread_join(t, NULL);
	cr_expect_eq(b.ret, 0, "woken by the doorbell, not %d", b.ret);
	cr_expect_eq(chan_status(CH_DATA).wakeups, rung);
	vanity_detach(c);
	vanity_detach(v);
}

struct ringer {
	struct vanity_ring *r;
	atomic_int stop;
	atomic_int rung;
	int bad;
	pthread_t t;
};

static void *ring_thread(void *arg)
{
	struct ringer *g = arg;
	struct vanity_sqe s;
	int i;

	/* NOTIFYs on back without data: wakeups that make nothing ready. */
	for (i = 0; i < 400 && !atomic_load(&g->stop); i++) {
		s = sqe_of(VANITY_OP_NOTIFY, CH_BACK, 0, 0, i);
		if (ring_res_of(g->r, &s))
			g->bad++;
		atomic_fetch_add(&g->rung, 1);
		usleep(20000);
	}
	return NULL;
}

/*
 * The deadline is fixed at issue: doorbells that wake the WAIT without
 * making a channel ready must not restart it. The 0.3 s WAIT must end
 * while the peer still rings every 20 ms (for 8 s in all).
 */
Test(sim_ring, wait_deadline_is_not_restarted_by_doorbells, .init = start,
     .fini = finish)
{
	struct vanity *v = attach("p", 0, 0), *c = attach("c", 0, 0);
	struct ringer g = { .r = vanity_ring(c) };
	struct vanity_sqe s = sqe_of(VANITY_OP_WAIT, CH_BACK, 0x1, 300000000, 9);
	int res, rung;

	cr_assert_eq(pthread_create(&g.t, NULL, ring_thread, &g), 0);
	while (!atomic_load(&g.rung))
		usleep(1000);
	res = ring_res_of(vanity_ring(v), &s);
	rung = atomic_load(&g.rung);
	atomic_store(&g.stop, 1);
	pthread_join(g.t, NULL);
	cr_expect_eq(res, -ETIME);
	cr_expect_lt(rung, 400, "the WAIT outlived every doorbell");
	cr_expect_eq(g.bad, 0);
	vanity_detach(c);
	vanity_detach(v);
}

/* ------------------------------------------------------------ signals */

static void on_usr1(int sig)
{
	(void)sig;
}

static struct vanity_status_shard wait_op_count(unsigned int shard, unsigned int op,
						uint64_t want)
{
	double end = now() + BOUND_S;
	struct vanity_status_shard st;

	for (;;) {
		st = shard_status(shard);
		if (st.ops[op] >= want)
			return st;
		cr_assert_lt(now(), end, "op %u never issued", op);
		usleep(2000);
	}
}

struct enterer {
	struct vanity_ring *r;
	uint32_t to_submit, min_complete, flags;
	int ret;
	atomic_int done;
	pthread_t t;
};

static void *enter_thread(void *arg)
{
	struct enterer *e = arg;

	e->ret = vanity__enter(e->r, e->to_submit, e->min_complete, e->flags);
	atomic_store(&e->done, 1);
	return NULL;
}

static void interrupt(struct enterer *e)
{
	double end = now() + BOUND_S;

	while (!atomic_load(&e->done)) {
		cr_assert_lt(now(), end, "a signal did not end ENTER");
		pthread_kill(e->t, SIGUSR1);
		usleep(20000);
	}
	pthread_join(e->t, NULL);
}

Test(sim_ring, a_signal_ends_enter_with_eintr_as_the_modules, .init = start,
     .fini = finish)
{
	struct sigaction sa = { .sa_handler = on_usr1 };	/* no SA_RESTART */
	struct vanity *v = attach("p", 0, 0);
	struct vanity_ring *r = vanity_ring(v);
	struct enterer e = { .r = r };
	struct vanity_cqe c;

	cr_assert_eq(sigaction(SIGUSR1, &sa, NULL), 0);
	/* An armed TIMEOUT and a NOP behind it, waiting for both CQEs. */
	vanity_prep_timeout(next_sqe(r), 20000000000LL, 1);
	vanity_prep_nop(next_sqe(r), 2);
	__atomic_store_n(r->sq_tail, r->sqe_tail, __ATOMIC_RELEASE);
	e.to_submit = 2;
	e.min_complete = 2;
	e.flags = VANITY_ENTER_GETEVENTS;
	cr_assert_eq(pthread_create(&e.t, NULL, enter_thread, &e), 0);
	wait_op_count(0, VANITY_OP_TIMEOUT, 1);
	usleep(20000);
	cr_expect_eq(atomic_load(&e.done), 0);
	interrupt(&e);
	/*
	 * Both were consumed; the wait for the second CQE ends with the
	 * signal, as the module's: the NOP's CQE is there, the TIMEOUT
	 * stays armed (a signal is no cancellation) until detach.
	 */
	cr_expect_eq(e.ret, 2);
	cr_assert_eq(pop(r, &c), 0);
	cr_expect_eq(c.user_data, 2);
	cr_expect_eq(c.res, 0);
	cr_expect_eq(pop(r, &c), -EAGAIN);
	cr_expect_eq(vanity_sim_ring_armed_live(), 1);

	/* Waiting for CQEs that never come: a signal ends it with -EINTR. */
	e.to_submit = 0;
	e.min_complete = 1;
	atomic_store(&e.done, 0);
	cr_assert_eq(pthread_create(&e.t, NULL, enter_thread, &e), 0);
	usleep(50000);
	cr_expect_eq(atomic_load(&e.done), 0);
	interrupt(&e);
	cr_expect_eq(e.ret, -EINTR);
	/* The ring goes on. */
	cr_expect_eq(nop_ok(r, 3), 0);
	vanity_detach(v);
	cr_expect(becomes(armed_live, 0, BOUND_S), "detach left the TIMEOUT armed");
}

Test(sim_ring, enter_after_the_simulator_stopped_is_enodev, .init = start,
     .fini = finish)
{
	struct vanity *v = attach("p", 0, 0);
	struct vanity_ring *r = vanity_ring(v);
	struct enterer e = { .r = r, .min_complete = 1,
			     .flags = VANITY_ENTER_GETEVENTS };

	cr_assert_eq(nop_ok(r, 1), 0);
	/* A shard waiting for CQEs when the system goes away is not left hanging. */
	cr_assert_eq(pthread_create(&e.t, NULL, enter_thread, &e), 0);
	usleep(50000);
	stop_server();
	pthread_join(e.t, NULL);
	cr_expect_eq(e.ret, -ENODEV);
	vanity_prep_nop(next_sqe(r), 2);
	cr_expect_eq(vanity_submit(r), -ENODEV);
	cr_expect_eq(vanity__enter(r, 0, 0, 0), -ENODEV);
	vanity_detach(v);
}

/* ------------------------------------------------------------- SQPOLL */

Test(sim_ring, sqpoll_consumes_without_enter, .init = start, .fini = finish)
{
	/* Idle 5 s: the poller stays awake through the test. */
	struct vanity *v = attach("p", VANITY_ATTACH_SQPOLL, 5000000);
	struct vanity_ring *r = vanity_ring(v);
	struct vanity_status_shard st;
	unsigned int i, round;
	struct vanity_cqe c;

	cr_expect_eq(shard_status(0).sqpoll, true);
	for (round = 0; round < 20; round++) {
		/* Plain stores and loads only: no system call at all. */
		for (i = 0; i < 32; i++)
			vanity_prep_nop(next_sqe(r), round * 100 + i);
		__atomic_store_n(r->sq_tail, r->sqe_tail, __ATOMIC_RELEASE);
		cr_assert(spin_cqes(r, 32, BOUND_S), "round %u: %u of 32", round,
			  cq_ready(r));
		for (i = 0; i < 32; i++) {
			cr_assert_eq(pop(r, &c), 0);
			cr_assert_eq(c.user_data, round * 100 + i);
			cr_assert_eq(c.res, 0);
		}
	}
	cr_expect_eq(*r->sq_flags & VANITY_SQ_NEED_WAKEUP, 0);
	st = shard_status(0);
	cr_expect_eq(st.submitted, 640);
	cr_expect_eq(st.ops[VANITY_OP_NOP], 640);
	/* ENTER submits nothing under SQPOLL; GETEVENTS still waits. */
	vanity_prep_nop(next_sqe(r), 7);
	cr_expect_eq(vanity_submit_and_wait(r, 1), 1);
	cr_assert_eq(pop(r, &c), 0);
	cr_expect_eq(c.user_data, 7);
	vanity_detach(v);
}

Test(sim_ring, enter_takes_only_what_the_tail_publishes, .init = start,
     .fini = finish)
{
	struct vanity *v = attach("p", 0, 0);
	const char *why = check_enter_ignores_stamps(vanity_ring(v));

	cr_assert_null(why, "%s", why);
	vanity_detach(v);
}

Test(sim_ring, deadlines_past_the_clocks_end_never_fire, .init = start,
     .fini = finish)
{
	struct vanity *v = attach("p", 0, 0);
	const char *why = check_never_deadlines(vanity_ring(v), CH_BACK);

	cr_assert_null(why, "%s", why);
	vanity_detach(v);
}

Test(sim_ring, cqes_carry_the_stamps_of_their_indices, .init = start,
     .fini = finish)
{
	struct vanity *v = attach("p", 0, 0);
	const char *why = check_cqe_stamps(vanity_ring(v));

	cr_assert_null(why, "%s", why);
	vanity_detach(v);
}

Test(sim_ring, sqpoll_takes_a_stamped_sqe_before_the_tail_moves,
     .init = start, .fini = finish)
{
	struct vanity *v = attach("p", VANITY_ATTACH_SQPOLL, 5000000);
	const char *why = check_stamp_publishes(vanity_ring(v));

	cr_assert_null(why, "%s", why);
	/* Two SQEs, each run once. */
	cr_expect_eq(shard_status(0).submitted, 2);
	cr_expect_eq(shard_status(0).ops[VANITY_OP_NOP], 2);
	vanity_detach(v);
}

Test(sim_ring, sqpoll_leaves_unstamped_or_misstamped_sqes_to_the_tail,
     .init = start, .fini = finish)
{
	struct vanity *v = attach("p", VANITY_ATTACH_SQPOLL, 5000000);
	const char *why = check_unstamped_waits_for_the_tail(vanity_ring(v));

	cr_assert_null(why, "%s", why);
	cr_expect_eq(shard_status(0).submitted, 1);
	vanity_detach(v);
}

/* A new attachment's ring has no stamp of the last one's (slot 0, 32768). */
Test(sim_ring, a_new_attachment_takes_no_stale_stamp, .init = start,
     .fini = finish, .timeout = 120)
{
	struct vanity *v = attach("p", VANITY_ATTACH_SQPOLL, 5000000);
	struct vanity_ring *r = vanity_ring(v);
	const char *why = run_nops(r, 32769);
	struct vanity_cqe c;

	cr_assert_null(why, "%s", why);
	cr_assert_eq(r->sqes[0].stamp, VANITY_STAMP(0));
	cr_assert_eq(r->cqes[0].stamp, VANITY_STAMP(0));
	vanity_detach(v);
	v = attach("p", VANITY_ATTACH_SQPOLL, 5000000);
	r = vanity_ring(v);
	spin_us(200000);
	cr_expect_eq(ld(r->sq_head), 0, "the poller ran an old SQE");
	cr_expect_eq(pop(r, &c), -EAGAIN, "an old CQE was taken as new");
	cr_expect_eq(nop_ok(r, 1), 0);
	vanity_detach(v);
}

Test(sim_ring, sqpoll_need_wakeup_after_idle_and_submit_wakes, .init = start,
     .fini = finish)
{
	struct vanity *v = attach("p", VANITY_ATTACH_SQPOLL, 1000);
	struct vanity_ring *r = vanity_ring(v);
	struct vanity_status_shard g0, g1;
	struct vanity_cqe c;
	unsigned int k;
	uint32_t head;
	double end;

	for (k = 0; k < 3; k++) {
		vanity_prep_nop(next_sqe(r), 10 + k);
		cr_assert_eq(vanity_submit_and_wait(r, 1), 1);
		cr_assert_eq(pop(r, &c), 0);
		/* Idle: the flag appears and stays, the poller asleep. */
		for (end = now() + BOUND_S;; usleep(1000)) {
			cr_assert_lt(now(), end, "no lasting NEED_WAKEUP");
			if (!(ld(r->sq_flags) & VANITY_SQ_NEED_WAKEUP))
				continue;
			g0 = shard_status(0);
			usleep(50000);
			g1 = shard_status(0);
			if (g0.poller_wakeups == g1.poller_wakeups &&
			    ld(r->sq_flags) & VANITY_SQ_NEED_WAKEUP)
				break;
		}
		/* A bare tail store is not consumed while the flag is up... */
		head = ld(r->sq_head);
		vanity_prep_nop(next_sqe(r), 20 + k);
		__atomic_store_n(r->sq_tail, r->sqe_tail, __ATOMIC_RELEASE);
		usleep(200000);
		cr_expect_eq(ld(r->sq_head), head, "the poller ran while flagged asleep");
		/* ...until a submit sees the flag and wakes the poller. */
		vanity_prep_nop(next_sqe(r), 30 + k);
		cr_assert_eq(vanity_submit(r), 1);
		cr_assert(spin_cqes(r, 2, BOUND_S), "the wakeup was lost");
		cr_assert_eq(pop(r, &c), 0);
		cr_expect_eq(c.user_data, 20 + k);
		cr_assert_eq(pop(r, &c), 0);
		cr_expect_eq(c.user_data, 30 + k);
		g1 = shard_status(0);
		cr_expect_lt(g0.poller_wakeups, g1.poller_wakeups);
	}
	vanity_detach(v);
}

Test(sim_ring, sqpoll_full_cq_stalls_the_poller_and_loses_nothing,
     .init = start, .fini = finish)
{
	struct vanity *v = attach("p", VANITY_ATTACH_SQPOLL, 1000);
	struct vanity_ring *r = vanity_ring(v);
	uint32_t sqn = r->sq_entries, cqn = r->cq_mask + 1, i;
	uint64_t next = 0, want = 0;
	struct vanity_status_shard st;
	struct vanity_cqe c;

	for (; next < cqn;) {
		for (i = 0; i < sqn; i++)
			vanity_prep_nop(next_sqe(r), next++);
		cr_assert_eq(vanity_submit(r), (int)sqn);
		cr_assert(spin_cqes(r, (uint32_t)next, BOUND_S));
	}
	/* One more SQ's worth: it must wait, not overwrite a CQE. */
	for (i = 0; i < sqn; i++)
		vanity_prep_nop(next_sqe(r), next++);
	cr_assert_eq(vanity_submit(r), (int)sqn);
	usleep(300000);
	cr_expect_eq(ld(r->sq_head), cqn);
	cr_expect_eq(cq_ready(r), cqn);
	cr_expect_geq(ld(r->cq_overflow), 1);
	st = shard_status(0);
	cr_expect_eq(st.overflows, ld(r->cq_overflow), "one per episode");
	/* Reap: the poller resumes by itself, no call needed. */
	for (i = 0; i < cqn; i++) {
		cr_assert_eq(pop(r, &c), 0);
		cr_assert_eq(c.user_data, want++);
	}
	cr_assert(spin_cqes(r, sqn, BOUND_S), "the poller did not resume");
	while (!pop(r, &c))
		cr_assert_eq(c.user_data, want++);
	cr_expect_eq(want, next);
	st = shard_status(0);
	cr_expect_eq(st.submitted, next);
	cr_expect_eq(st.completed, next);
	vanity_detach(v);
}

/*
 * The idle/wake edge: NOPs in random batches with random pauses (none, a
 * few µs, past sq_idle), now and then a wait for every completion with
 * no further submission (where a stranded SQE stays stranded). Each
 * user_data completes exactly once, in order. RING_STRESS_OPS (1,000,000)
 * or RING_STRESS_SECS (60), whichever comes first.
 */
Test(sim_ring, sqpoll_idle_wake_edge_stress, .init = start, .fini = finish,
     .timeout = 240)
{
	const char *e_ops = getenv("RING_STRESS_OPS"), *e_secs = getenv("RING_STRESS_SECS");
	uint64_t target = e_ops ? strtoull(e_ops, NULL, 0) : 1000000;
	double secs = e_secs ? strtod(e_secs, NULL) : 60;
	const uint32_t idle_us = 20;
	const uint64_t tag = 0x5a11ULL << 48;
	uint64_t seed = 0x9e3779b97f4a7c15ULL, sub = 0, done = 0, x;
	struct vanity *v = attach("p", VANITY_ATTACH_SQPOLL, idle_us);
	struct vanity_ring *r = vanity_ring(v);
	struct vanity_status_shard g0 = shard_status(0), g1;
	struct vanity_sqe *sqe;
	struct vanity_cqe c;
	double t0 = now(), end = t0 + secs, stall;
	unsigned int b, i, iter;

	for (iter = 0; sub < target && (iter++ % 16 || now() < end);) {
		x = xorshift(&seed);
		b = 1 + x % 16;
		if (b > target - sub)
			b = (unsigned int)(target - sub);
		for (i = 0; i < b && (sqe = vanity_get_sqe(r)); i++)
			vanity_prep_nop(sqe, tag | sub++);
		if (i)
			cr_assert_eq(vanity_submit(r), (int)i);
		switch ((x >> 32) % 1000) {
		case 0 ... 849:
			break;
		case 850 ... 939:
			spin_us(1 + (x >> 48) % 5);
			break;
		case 940 ... 949:	/* past sq_idle: the poller goes to sleep */
			usleep(idle_us * 2 + (x >> 48) % (idle_us * 4));
			break;
		default:
			for (stall = now() + BOUND_S; done < sub;) {
				if (!pop(r, &c)) {
					cr_assert_eq(c.user_data, tag | done);
					done++;
					continue;
				}
				cr_assert_lt(now(), stall,
					     "lost: submitted %llu, completed %llu, sq %u/%u, flags %#x",
					     (unsigned long long)sub, (unsigned long long)done,
					     *r->sq_head, *r->sq_tail, ld(r->sq_flags));
				vanity_cpu_relax();
			}
		}
		for (stall = 0;;) {
			while (!pop(r, &c)) {
				cr_assert_eq(c.user_data, tag | done, "after %llu",
					     (unsigned long long)done);
				cr_assert_eq(c.res, 0);
				done++;
			}
			if (sub - done < r->sq_entries)
				break;
			if (!stall)
				stall = now() + BOUND_S;
			cr_assert_lt(now(), stall, "stuck at %llu of %llu",
				     (unsigned long long)done, (unsigned long long)sub);
			vanity_cpu_relax();
		}
	}
	for (stall = now() + BOUND_S; done < sub;) {
		if (!pop(r, &c)) {
			cr_assert_eq(c.user_data, tag | done);
			done++;
			continue;
		}
		cr_assert_lt(now(), stall, "lost: %llu of %llu",
			     (unsigned long long)done, (unsigned long long)sub);
		vanity_cpu_relax();
	}
	usleep(20000);
	cr_expect_eq(pop(r, &c), -EAGAIN, "a completion ran twice");
	g1 = shard_status(0);
	cr_expect_eq(g1.submitted - g0.submitted, sub);
	cr_expect_eq(g1.completed - g0.completed, sub);
	cr_expect_gt(g1.poller_wakeups - g0.poller_wakeups, 100);
	cr_log_info("%llu NOPs in %.1f s, %llu poller wakeups",
		    (unsigned long long)sub, now() - t0,
		    (unsigned long long)(g1.poller_wakeups - g0.poller_wakeups));
	vanity_detach(v);
}

/* ------------------------------------------------------ armed ops */

/* Until @e's ENTER returned: false after the bound. */
static bool entered(struct enterer *e)
{
	double end = now() + BOUND_S;

	while (!atomic_load(&e->done)) {
		if (now() > end)
			return false;
		usleep(1000);
	}
	pthread_join(e->t, NULL);
	return true;
}

/*
 * A TIMEOUT no longer blocks the ring: the NOP behind it completes in the
 * same ENTER, the TIMEOUT later (out of submission order) with -ETIME,
 * waking a GETEVENTS wait; meanwhile it holds one CQE slot.
 */
Test(sim_ring, timeout_does_not_hold_back_later_sqes, .init = start,
     .fini = finish)
{
	struct vanity *v = attach("p", 0, 0);
	struct vanity_ring *r = vanity_ring(v);
	struct enterer e = { .r = r, .min_complete = 1,
			     .flags = VANITY_ENTER_GETEVENTS };
	struct vanity_status_shard st;
	struct vanity_cqe c;

	vanity_prep_timeout(next_sqe(r), 2000000000LL, 1);
	vanity_prep_nop(next_sqe(r), 2);
	cr_assert_eq(vanity_submit(r), 2);
	/* The NOP's CQE came with the answer; the TIMEOUT is armed. */
	cr_assert_eq(cq_ready(r), 1);
	cr_assert_eq(pop(r, &c), 0);
	cr_expect_eq(c.user_data, 2);
	cr_expect_eq(c.res, 0);
	cr_expect_eq(vanity_sim_ring_armed_live(), 1);
	st = shard_status(0);
	cr_expect_eq(st.submitted, 2);
	cr_expect_eq(st.completed, 1);
	/* GETEVENTS is woken by the CQE the poller posts later. */
	cr_assert_eq(pthread_create(&e.t, NULL, enter_thread, &e), 0);
	cr_assert(entered(&e), "GETEVENTS missed the TIMEOUT's CQE");
	cr_expect_eq(e.ret, 0);
	cr_assert_eq(pop(r, &c), 0);
	cr_expect_eq(c.user_data, 1);
	cr_expect_eq(c.res, -ETIME);
	cr_expect_eq(pop(r, &c), -EAGAIN);
	cr_expect_eq(vanity_sim_ring_armed_live(), 0);
	st = shard_status(0);
	cr_expect_eq(st.completed, 2);
	/* TIMEOUT 0 is not armed: -ETIME at once, in order. */
	vanity_prep_timeout(next_sqe(r), 0, 3);
	vanity_prep_nop(next_sqe(r), 4);
	cr_assert_eq(vanity_submit(r), 2);
	cr_assert_eq(cq_ready(r), 2);
	cr_assert_eq(pop(r, &c), 0);
	cr_expect(c.user_data == 3 && c.res == -ETIME);
	cr_assert_eq(pop(r, &c), 0);
	cr_expect(c.user_data == 4 && c.res == 0);
	cr_expect_eq(vanity_sim_ring_armed_live(), 0);
	vanity_detach(v);
}

static int send_on(void *ctx)
{
	char buf[64] = "b";

	return vanity_send(ctx, buf);
}

Test(sim_ring, a_timed_out_blocking_call_leaves_an_armed_waits_flag_up,
     .init = start, .fini = finish)
{
	struct vanity *v = attach("p", 0, 0), *w = attach("c", 0, 0);
	struct vanity_channel *back_rx, *back_tx;
	const char *why;

	cr_assert_eq(vanity_channel_get(v, "back", &back_rx), 0);
	cr_assert_eq(vanity_channel_get(w, "back", &back_tx), 0);
	why = check_waiting_bits_are_owned(vanity_ring(v), back_rx, CH_BACK,
					   send_on, back_tx);
	cr_assert_null(why, "%s", why);
	vanity_detach(w);
	vanity_detach(v);
}

static int sim_counts(void *ctx, uint32_t ch, uint64_t *sleeps,
		      uint64_t *wakeups)
{
	struct vanity_status_channel c = chan_status(ch);

	(void)ctx;
	*sleeps = c.sleeps;
	*wakeups = c.wakeups;
	return 0;
}

Test(sim_ring, status_counts_sleeps_and_wakeups_as_the_module_does,
     .init = start, .fini = finish)
{
	struct vanity *v = attach("p", 0, 0);
	struct vanity_channel *tx;
	const char *why;

	cr_assert_eq(vanity_channel_get(v, "data", &tx), 0);
	why = check_status_bell_counts(vanity_ring(v), tx, CH_DATA,
				       sim_counts, NULL);
	cr_assert_null(why, "%s", why);
	vanity_detach(v);
}

Test(sim_ring, an_armed_wait_lets_the_ring_go_on_and_completes_on_data,
     .init = start, .fini = finish)
{
	struct vanity *v = attach("p", 0, 0), *w = attach("c", 0, 0);
	struct vanity_ring *r = vanity_ring(v);
	struct enterer e = { .r = r, .min_complete = 1,
			     .flags = VANITY_ENTER_GETEVENTS };
	struct vanity_channel *back_rx, *back_tx;
	char buf[64] = "b";
	struct vanity_cqe c;
	unsigned int i;

	cr_assert_eq(vanity_channel_get(v, "back", &back_rx), 0);
	cr_assert_eq(vanity_channel_get(w, "back", &back_tx), 0);
	/* back (p consumes) is empty: the WAIT is armed, no deadline. */
	vanity_prep_wait(next_sqe(r), CH_BACK, 0x1, -1, 10);
	for (i = 0; i < 3; i++)
		vanity_prep_nop(next_sqe(r), 11 + i);
	cr_assert_eq(vanity_submit(r), 4);
	cr_assert_eq(cq_ready(r), 3);
	for (i = 0; i < 3; i++) {
		cr_assert_eq(pop(r, &c), 0);
		cr_expect_eq(c.user_data, 11 + i);
		cr_expect_eq(c.res, 0);
	}
	cr_expect_eq(vanity_sim_ring_armed_live(), 1);
	cr_expect_eq(ld(&back_rx->hdr->cons_waiting), VANITY_WAITING_RING,
		     "the armed WAIT's bit, the only one up");
	/* More ops go on past it. */
	cr_expect_eq(nop_ok(r, 14), 0);
	/* A GETEVENTS wait, then the peer's send: the WAIT completes. */
	cr_assert_eq(pthread_create(&e.t, NULL, enter_thread, &e), 0);
	usleep(50000);
	cr_expect_eq(atomic_load(&e.done), 0, "GETEVENTS ended with nothing ready");
	cr_assert_eq(vanity_send(back_tx, buf), 0);
	cr_assert(entered(&e), "the WAIT never completed on the peer's send");
	cr_expect_eq(e.ret, 0);
	cr_assert_eq(pop(r, &c), 0);
	cr_expect_eq(c.user_data, 10);
	cr_expect_eq(c.res, 0, "the bit of back");
	cr_expect_eq(ld(&back_rx->hdr->cons_waiting), 0, "the flag came down");
	cr_expect_eq(vanity_sim_ring_armed_live(), 0);
	cr_expect_eq(shard_status(0).completed, 5);
	vanity_detach(w);
	vanity_detach(v);
}

/*
 * Armed ops hold their CQE slots: a CQ full of them refuses more
 * (-EBUSY, counted). Detach cancels them: the flags come down, the next
 * attachment's ring sees none of their CQEs, and cycles leak nothing.
 */
Test(sim_ring, armed_ops_hold_cq_slots_and_die_with_the_attachment,
     .init = start, .fini = finish, .timeout = 120)
{
	struct vanity *v = attach("p", 0, 0), *w = attach("c", 0, 0);
	struct vanity_ring *r = vanity_ring(v);
	uint32_t sqn = r->sq_entries, cqn = r->cq_mask + 1, i, k;
	struct vanity_channel *back_tx;
	struct vanity_status_shard st;
	struct vanity_cqe c;
	int cycle;

	cr_assert_eq(vanity_channel_get(w, "back", &back_tx), 0);
	for (cycle = 0; cycle < 20; cycle++) {
		for (k = 0; k < cqn / sqn; k++) {
			for (i = 0; i < sqn; i++)
				vanity_prep(next_sqe(r), i % 2 ? VANITY_OP_TIMEOUT :
					    VANITY_OP_WAIT, i % 2 ? 0 : CH_BACK,
					    i % 2 ? 0 : 1, 60000000000LL,
					    k * sqn + i);
			cr_assert_eq(vanity_submit(r), (int)sqn, "cycle %d", cycle);
		}
		cr_assert_eq(cq_ready(r), 0);
		cr_assert_eq(vanity_sim_ring_armed_live(), cqn);
		cr_assert_eq(ld(&back_tx->hdr->cons_waiting), VANITY_WAITING_RING);
		if (!cycle) {
			/* Every slot is held: a NOP meets a full CQ. */
			vanity_prep_nop(next_sqe(r), 999);
			cr_expect_eq(vanity_submit(r), -EBUSY);
			cr_expect_geq(*r->cq_overflow, 1);
			st = shard_status(0);
			cr_expect_eq(st.overflows, *r->cq_overflow);
			cr_expect_eq(st.submitted, cqn);
			cr_expect_eq(st.completed, 0);
			r->sqe_tail--;		/* take the NOP back */
			__atomic_store_n(r->sq_tail, r->sqe_tail, __ATOMIC_RELEASE);
		}
		vanity_detach(v);
		/* The simulator sees the hangup: nothing left, every flag down. */
		cr_assert(becomes(armed_live, 0, BOUND_S), "cycle %d", cycle);
		cr_assert_eq(ld(&back_tx->hdr->cons_waiting), 0, "cycle %d", cycle);
		v = attach("p", 0, 0);
		r = vanity_ring(v);
		cr_assert_eq(cq_ready(r), 0);
	}
	cr_expect_eq(nop_ok(r, 7), 0);
	usleep(100000);
	cr_expect_eq(pop(r, &c), -EAGAIN, "a cancelled op posted a CQE");
	/* A cancelled op completes nothing: counted submitted, never completed. */
	st = shard_status(0);
	cr_expect_eq(st.submitted, 20 * cqn + 1);
	cr_expect_eq(st.completed, 1);
	vanity_detach(w);
	vanity_detach(v);
}

Test(sim_ring, an_armed_wait_does_not_stall_the_poller, .init = start,
     .fini = finish)
{
	struct vanity *v = attach("p", VANITY_ATTACH_SQPOLL, 5000000);
	struct vanity *w = attach("c", 0, 0);
	struct vanity_ring *r = vanity_ring(v);
	struct vanity_channel *back_tx;
	char buf[64] = "b";
	struct vanity_cqe c;
	unsigned int i;

	cr_assert_eq(vanity_channel_get(w, "back", &back_tx), 0);
	vanity_prep_wait(next_sqe(r), CH_BACK, 0x1, -1, 1);
	cr_assert_eq(vanity_submit(r), 1);
	for (i = 0; i < 100; i++)
		vanity_prep_nop(next_sqe(r), 2 + i);
	cr_assert_eq(vanity_submit(r), 100);
	cr_assert(spin_cqes(r, 100, BOUND_S), "the poller is stuck in WAIT");
	for (i = 0; i < 100; i++) {
		cr_assert_eq(pop(r, &c), 0);
		cr_expect_eq(c.user_data, 2 + i);
	}
	cr_expect_eq(vanity_sim_ring_armed_live(), 1);
	cr_assert_eq(vanity_send(back_tx, buf), 0);
	cr_assert(spin_cqes(r, 1, BOUND_S), "the WAIT never completed");
	cr_assert_eq(pop(r, &c), 0);
	cr_expect_eq(c.user_data, 1);
	cr_expect_eq(c.res, 0);
	cr_expect_eq(vanity_sim_ring_armed_live(), 0);
	vanity_detach(w);
	vanity_detach(v);
}

/*
 * A poller asleep past sq_idle (NEED_WAKEUP up) still completes an armed
 * WAIT when the peer sends, with no call from the shard: its sleep
 * watches the channel; and an armed WAIT's deadline wakes it too.
 */
Test(sim_ring, a_sleeping_poller_completes_armed_ops_without_a_call,
     .init = start, .fini = finish)
{
	struct vanity *v = attach("p", VANITY_ATTACH_SQPOLL, 1000);
	struct vanity *w = attach("c", 0, 0);
	struct vanity_ring *r = vanity_ring(v);
	struct vanity_channel *back_tx, *back_rx;
	char buf[64] = "b";
	struct vanity_cqe c;
	double end;

	cr_assert_eq(vanity_channel_get(w, "back", &back_tx), 0);
	cr_assert_eq(vanity_channel_get(v, "back", &back_rx), 0);
	vanity_prep_wait(next_sqe(r), CH_BACK, 0x1, -1, 1);
	vanity_prep_wait(next_sqe(r), CH_DATA, 0x2, 300000000, 2);
	cr_assert_eq(vanity_submit(r), 2);
	/* The second WAIT's deadline: -ETIME, while the first stays armed. */
	cr_assert(spin_cqes(r, 1, BOUND_S), "the deadline never woke the poller");
	cr_assert_eq(pop(r, &c), 0);
	cr_expect_eq(c.user_data, 2);
	cr_expect_eq(c.res, -ETIME);
	for (end = now() + BOUND_S; !(ld(r->sq_flags) & VANITY_SQ_NEED_WAKEUP);
	     usleep(1000))
		cr_assert_lt(now(), end, "the poller never went to sleep");
	usleep(50000);
	cr_expect_eq(cq_ready(r), 0);
	cr_assert_eq(vanity_send(back_tx, buf), 0);
	cr_assert(spin_cqes(r, 1, BOUND_S), "the send did not wake the poller");
	cr_assert_eq(pop(r, &c), 0);
	cr_expect_eq(c.user_data, 1);
	cr_expect_eq(c.res, 0);
	cr_expect_eq(ld(&back_rx->hdr->cons_waiting), 0);
	vanity_detach(w);
	vanity_detach(v);
}

/* ------------------------------------------------- hostile, lifetime */

Test(sim_ring, hostile_indices_hurt_nobody_but_the_shard, .init = start,
     .fini = finish, .timeout = 120)
{
	struct vanity *v = attach("p", 0, 0), *q = attach("c", VANITY_ATTACH_SQPOLL, 100);
	struct vanity_ring *r = vanity_ring(v), *rq = vanity_ring(q);
	struct vh_ring_ctl *ctl = (void *)((uint8_t *)r->mem + r->size - VH_CTL_SIZE);
	uint64_t seed = 42;
	unsigned int i, k;
	uint8_t *b;
	int ret;

	for (k = 0; k < 50; k++) {
		/* Garbage SQEs (opcode >= LAST: never a blocking op)... */
		for (i = 0; i < r->sq_entries; i++) {
			b = (uint8_t *)&r->sqes[i];
			for (unsigned int j = 0; j < sizeof(struct vanity_sqe); j++)
				b[j] = (uint8_t)xorshift(&seed);
			b[0] |= 0x80;
		}
		/* ...and wild indices and control words, ours and the simulator's. */
		*r->sq_tail = (uint32_t)xorshift(&seed);
		*r->sq_head = (uint32_t)xorshift(&seed);
		*r->cq_head = k % 2 ? *r->cq_tail : (uint32_t)xorshift(&seed);
		*r->cq_tail = (uint32_t)xorshift(&seed);
		*r->sq_flags = ~0U;
		ctl->done_seq = (uint32_t)xorshift(&seed);
		ctl->req_cancel = (uint32_t)xorshift(&seed);
		ctl->kick = (uint32_t)xorshift(&seed);
		ret = vanity__enter(r, ~0U >> 1, 0, 0);
		cr_assert(ret == -EBUSY || (ret >= 0 && ret <= (int)r->sq_entries),
			  "round %u: %d", k, ret);
		/* The same on the SQPOLL shard, with no call at all. */
		for (i = 0; i < rq->sq_entries; i++)
			memset(&rq->sqes[i], 0xff, sizeof(struct vanity_sqe));
		*rq->sq_tail = (uint32_t)xorshift(&seed);
		*rq->cq_head = (uint32_t)xorshift(&seed);
	}
	/* The simulator still answers; a third shard's ring is untouched. */
	{
		struct vanity *t = attach("third", 0, 0);

		for (i = 0; i < 100; i++)
			cr_assert_eq(nop_ok(vanity_ring(t), i), 0);
		vanity_detach(t);
	}
	cr_expect_eq(shard_status(2).submitted, 100);
	/* Detach and attach again: a fresh ring, all indices zero, working. */
	vanity_detach(q);
	vanity_detach(v);
	v = attach("p", 0, 0);
	r = vanity_ring(v);
	cr_expect_eq(*r->sq_head | *r->sq_tail | *r->cq_head | *r->cq_tail |
		     *r->sq_flags | *r->cq_overflow, 0);
	for (i = 0; i < 100; i++)
		cr_assert_eq(nop_ok(r, i), 0);
	vanity_detach(v);
}

/* A child shard: SQPOLL, an armed op and a full SQ's worth behind it. */
static int inflight_child(int pipe_w, int kind)
{
	struct vanity_ring *r;
	struct vanity *v;
	unsigned int i;
	char ok = 'r';

	if (vanity_attach_flags("c", VANITY_ATTACH_SQPOLL, 1000, &v))
		return 10;
	r = vanity_ring(v);
	if (kind == 0)
		vanity_prep_timeout(vanity_get_sqe(r), 60000000000LL, 1);
	else	/* consumer of data, which stays empty: forever */
		vanity_prep_wait(vanity_get_sqe(r), CH_DATA, 1, -1, 1);
	for (i = 1; i < r->sq_entries; i++)
		vanity_prep_nop(vanity_get_sqe(r), 1 + i);
	if (vanity_submit(r) != (int)r->sq_entries)
		return 11;
	if (write(pipe_w, &ok, 1) != 1)
		return 12;
	for (;;)
		pause();
}

Test(sim_ring, a_killed_shard_stops_its_poller_and_frees_its_ring,
     .init = start, .fini = finish, .timeout = 120)
{
	int base_threads = threads(), base_maps = ring_maps(), cycle, fds[2], st;
	struct vanity_status_shard g;
	struct vanity *v;
	char ch;
	pid_t pid;

	for (cycle = 0; cycle < 6; cycle++) {
		g = shard_status(1);
		cr_assert_eq(pipe(fds), 0);
		pid = fork();
		cr_assert_geq(pid, 0);
		if (!pid) {
			close(fds[0]);
			_exit(inflight_child(fds[1], cycle % 2));
		}
		close(fds[1]);
		cr_assert_eq(read(fds[0], &ch, 1), 1, "the child failed to set up");
		close(fds[0]);
		/* Until the poller armed the op. */
		wait_op_count(1, cycle % 2 ? VANITY_OP_WAIT : VANITY_OP_TIMEOUT,
			      g.ops[cycle % 2 ? VANITY_OP_WAIT : VANITY_OP_TIMEOUT] + 1);
		cr_expect(becomes(armed_live, 1, BOUND_S), "the op is not armed");
		cr_expect_eq(threads(), base_threads + 1, "one poller");
		cr_expect_eq(ring_maps(), base_maps + 1, "the simulator's view");
		cr_assert_eq(kill(pid, SIGKILL), 0);
		cr_assert_eq(waitpid(pid, &st, 0), pid);
		/* Detached: the poller and its armed op go, the ring is unmapped. */
		cr_expect(becomes(threads, base_threads, BOUND_S), "the poller lives on");
		cr_expect(becomes(ring_maps, base_maps, BOUND_S), "the ring stays mapped");
		cr_expect(becomes(armed_live, 0, BOUND_S), "the armed op lives on");
		g = shard_status(1);
		cr_expect_eq(g.pid, 0);
		cr_expect_eq(g.sqpoll, false);
	}
	/* The shard attaches again: a fresh ring that works. */
	v = attach("c", VANITY_ATTACH_SQPOLL, 1000);
	cr_expect_eq(*vanity_ring(v)->sq_tail | *vanity_ring(v)->cq_tail, 0);
	cr_expect_eq(nop_ok(vanity_ring(v), 5), 0);
	vanity_detach(v);
	cr_expect(becomes(threads, base_threads, BOUND_S));
}

struct hammer {
	const char *shard;
	uint64_t tag;
	int sqpoll;
	uint64_t max;
	uint64_t sub, done;
	int fail;
	pthread_t t;
};

static void *hammer_thread(void *p)
{
	struct hammer *h = p;
	uint64_t seed = h->tag | 1, sub = 0, done = 0, x;
	struct vanity *v;
	struct vanity_ring *r;
	struct vanity_cqe c;
	double stall = 0, end = now() + 30;
	unsigned int b, i;

	if (vanity_attach_flags(h->shard, h->sqpoll ? VANITY_ATTACH_SQPOLL : 0,
				h->sqpoll ? 100000 : 0, &v)) {
		h->fail = 10;
		return NULL;
	}
	r = vanity_ring(v);
	while (sub < h->max && now() < end) {
		struct vanity_sqe *sqe;

		x = xorshift(&seed);
		b = 1 + x % 32;
		for (i = 0; i < b && sub < h->max && (sqe = vanity_get_sqe(r)); i++)
			vanity_prep_nop(sqe, h->tag | sub++);
		if (h->sqpoll ? i && vanity_submit(r) != (int)i :
				vanity_submit_and_wait(r, i) != (int)i) {
			h->fail = 11;
			break;
		}
		while (!pop(r, &c)) {
			if (c.user_data != (h->tag | done) || c.res) {
				h->fail = 12;
				goto out;
			}
			done++;
			stall = 0;
		}
		if (sub - done >= r->sq_entries) {
			if (!stall)
				stall = now() + BOUND_S;
			else if (now() > stall) {
				h->fail = 13;
				break;
			}
		}
	}
	for (stall = now() + BOUND_S; !h->fail && done < sub;) {
		if (!pop(r, &c)) {
			if (c.user_data != (h->tag | done)) {
				h->fail = 12;
				break;
			}
			done++;
		} else if (now() > stall) {
			h->fail = 14;
		}
	}
out:
	h->sub = sub;
	h->done = done;
	vanity_detach(v);
	return NULL;
}

Test(sim_ring, two_shards_never_see_each_others_completions, .init = start,
     .fini = finish, .timeout = 180)
{
	struct hammer h[2] = {
		{ .shard = "p", .tag = 0xa1ULL << 56, .sqpoll = 0, .max = 200000 },
		{ .shard = "c", .tag = 0xa2ULL << 56, .sqpoll = 1, .max = 200000 },
	};
	unsigned int i;

	for (i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&h[i].t, NULL, hammer_thread, &h[i]), 0);
	for (i = 0; i < 2; i++) {
		pthread_join(h[i].t, NULL);
		cr_expect_eq(h[i].fail, 0, "%s failed at step %d after %llu", h[i].shard,
			     h[i].fail, (unsigned long long)h[i].done);
		/* Everything submitted came back to its own ring, in order. */
		cr_expect_eq(h[i].done, h[i].sub);
		cr_expect_eq(shard_status(i).completed, h[i].done);
		cr_expect_gt(h[i].done, 0);
	}
}
