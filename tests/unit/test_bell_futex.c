// SPDX-License-Identifier: GPL-2.0
/*
 * The hosted doorbell (lib/bell_futex.c) when the kernel refuses the
 * membarrier that stands in for the module's barrier IPI: it sleeps in
 * bounded naps, so a ring it raced with and lost costs a nap, not the
 * wait, and a nap's end is not the caller's timeout.
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/membarrier.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <vanity.h>
#include "hosted.h"

#if defined(__x86_64__)
#define THIS_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define THIS_AUDIT_ARCH AUDIT_ARCH_AARCH64
#elif defined(__riscv) && __riscv_xlen == 64
#define THIS_AUDIT_ARCH AUDIT_ARCH_RISCV64
#endif

/* From here on this process's membarrier(2) fails with EPERM. */
static void deny_membarrier(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, THIS_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_membarrier, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	cr_assert_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
	cr_assert_eq(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog), 0);
	cr_assert_eq(syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0), -1);
	cr_assert_eq(errno, EPERM);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct chan_pair {
	void *region;
	size_t bytes;
	struct vanity_channel p, c;
};

static int no_wait(struct vanity_channel *ch, uint32_t expect, int64_t ns)
{
	(void)ch;
	(void)expect;
	(void)ns;
	return -EIO;
}

static int no_ring(struct vanity_channel *ch)
{
	(void)ch;
	return 0;
}

/* A producer whose rings are lost, whatever the consumer's flag says. */
static const struct vanity_bell_ops lost_rings = {
	.wait = no_wait,
	.wake = no_ring,
};

static void pair_open(struct chan_pair *cp)
{
	cp->bytes = vanity_channel_region_bytes(64, 8);
	cp->region = calloc(1, cp->bytes);
	cr_assert_not_null(cp->region);
	vanity_channel_format(cp->region, 64, 8, 0);
	cr_assert_eq(vanity_channel_bind(&cp->p, cp->region, cp->bytes,
					 VANITY_ROLE_FROM, &lost_rings, NULL), 0);
	cr_assert_eq(vanity_channel_bind(&cp->c, cp->region, cp->bytes,
					 VANITY_ROLE_TO, &vanity__futex_bell, NULL), 0);
	vanity_channel_set_spin(&cp->c, 0);
}

/* With no barrier a wait with no limit naps: 0 (look again), not -ETIME. */
Test(bell_futex, without_membarrier_a_wait_naps_and_says_look_again)
{
	struct chan_pair cp;
	double t0;
	int ret;

	deny_membarrier();
	pair_open(&cp);
	t0 = now_s();
	ret = cp.c.bell->wait(&cp.c, 0, -1);
	cr_assert_eq(ret, 0, "a nap ended with %d", ret);
	cr_assert_lt(now_s() - t0, 5.0, "the nap was not bounded");
	/* A caller's own short limit still ends as its timeout. */
	cr_assert_eq(cp.c.bell->wait(&cp.c, 0, 100000), -ETIME);
	free(cp.region);
}

struct receiver {
	struct vanity_channel *ch;
	char buf[64];
	int ret;
};

static void *receive(void *arg)
{
	struct receiver *rx = arg;

	rx->ret = vanity_recv_wait(rx->ch, rx->buf, -1);
	return NULL;
}

/* A message published with its ring lost is found on the next look. */
Test(bell_futex, without_membarrier_a_lost_ring_costs_a_nap_not_the_wait)
{
	struct receiver rx = { .ret = 1 };
	struct timespec until;
	struct chan_pair cp;
	char msg[64] = "lost ring";
	pthread_t t;

	deny_membarrier();
	pair_open(&cp);
	rx.ch = &cp.c;
	cr_assert_eq(pthread_create(&t, NULL, receive, &rx), 0);
	usleep(20000);
	cr_assert_eq(vanity_send(&cp.p, msg), 0);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	cr_assert_eq(pthread_timedjoin_np(t, NULL, &until), 0,
		     "the receiver never woke: its sleep was not bounded");
	cr_assert_eq(rx.ret, 0);
	cr_assert_str_eq(rx.buf, "lost ring");
	free(cp.region);
}
