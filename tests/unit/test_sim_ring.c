// SPDX-License-Identifier: GPL-2.0
/*
 * The hosted ring's own side, what the module has no counterpart of: the
 * memfd layout with its control page, the client's checks of the
 * simulator's replies (ring offsets, PROBE), hostile control-page words
 * and indices, a killed shard's poller thread and ring mapping. Every
 * behaviour the module shares is tests/selftests/ring_test.c's, run on the
 * simulator by tools/check.sh. The server runs in a thread of the test.
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
	for (i = 0; i < 10; i++) {
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
		/* Good offsets, but no control page behind them: SIGBUS. */
		if (i == 9)
			cr_assert_eq(ftruncate(fd, (off_t)good.size), 0);
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
/* ------------------------------------------------- hostile, lifetime */

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
