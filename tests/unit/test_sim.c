// SPDX-License-Identifier: GPL-2.0
/*
 * The hosted simulator's server (tools/ctl/sim.c) against raw requests:
 * each refusal carries the module's errno, and a refused request changes
 * nothing (EACCES for a foreign channel is in integration_test, on both
 * backends). The server is polled from a thread of the test.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "sim.h"
#include "hosted.h"
#include "opdef.h"

static struct vanity_sim *sim;
static pthread_t server;
static atomic_int stop;

static void *serve(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop))
		vanity_sim_poll(sim, 10);
	return NULL;
}

/*
 * Serve the reference image with shard i the system owner's (uid 0 and
 * the flag, as a manifest without 'user') for each bit i of @owned: 0, or
 * why not in @msg. No cr_assert: forked children use it too.
 */
static int serve_image(unsigned int owned, char *msg, size_t msglen)
{
	uint8_t *img;
	size_t len;
	unsigned int i;
	int ret;

	good_image(&img, &len);
	for (i = 0; i < 2; i++) {
		if (!(owned & 1U << i))
			continue;
		shard_of(img, i)->uid = 0;
		shard_of(img, i)->flags |= VANITY_SHARD_F_SYSTEM_OWNER;
	}
	vanity_imgw_seal(img, len);
	ret = vanity_sim_start(&sim, img, len, msg, msglen);
	free(img);
	if (ret)
		return ret;
	atomic_store(&stop, 0);
	ret = -pthread_create(&server, NULL, serve, NULL);
	if (ret)
		vanity_sim_stop(sim);
	return ret;
}

static void start_image(unsigned int owned)
{
	char msg[256] = "";

	cr_assert_eq(serve_image(owned, msg, sizeof(msg)), 0, "%s", msg);
}

/* "a" is uid 0's, "b" uid 1000's. */
static void start(void)
{
	start_image(0);
}

/* "a" belongs to whoever runs the simulator: the manifest named no user. */
static void start_a_owned(void)
{
	start_image(1);
}

/* Both shards are, so a test runs as any user. */
static void start_owned(void)
{
	start_image(3);
}

static void finish(void)
{
	atomic_store(&stop, 1);
	pthread_join(server, NULL);
	vanity_sim_stop(sim);
}

static int dial(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	strcpy(sa.sun_path, vanity_sim_socket(sim));
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/*
 * One request of @len bytes (a whole struct vh_req, or an older client's
 * shorter one): the reply's errno; *@rep and the fds received (up to 2,
 * then closed) for the caller to look at.
 */
static int ask_raw(int fd, const struct vh_req *req, size_t len,
		   struct vh_rep *rep, int *nfds)
{
	char cbuf[CMSG_SPACE(4 * sizeof(int))];
	struct iovec iov = { .iov_base = rep, .iov_len = sizeof(*rep) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	unsigned int i, n = 0;
	int got;

	cr_assert_eq(send(fd, req, len, 0), (ssize_t)len);
	cr_assert_eq(recvmsg(fd, &mh, 0), (ssize_t)sizeof(*rep));
	cr_assert_eq(mh.msg_flags & MSG_CTRUNC, 0);
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		for (i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			memcpy(&got, CMSG_DATA(cm) + i * sizeof(int), sizeof(got));
			close(got);
			n++;
		}
	}
	if (nfds)
		*nfds = (int)n;
	return rep->err;
}

/* One request; the reply's errno, any fd closed. */
static int ask(int fd, uint32_t op, uint32_t flags, const char *name)
{
	struct vh_req req = { .op = op, .flags = flags };
	struct vh_rep rep;

	memcpy(req.name, name, strnlen(name, sizeof(req.name)));
	return ask_raw(fd, &req, sizeof(req), &rep, NULL);
}

/* The shards are the owner's, this test's user, so these run as anyone. */
Test(sim, refusals_carry_the_modules_errnos, .init = start_owned, .fini = finish)
{
	int a = dial(), b = dial();
	char noterm[VANITY_NAME_MAX];

	cr_expect_eq(ask(a, VH_CHANNEL, 0, "ab"), -ENOTCONN);
	/* PROBE needs no attachment, and takes no flags. */
	cr_expect_eq(ask(a, VH_PROBE, 0, ""), 0);
	cr_expect_eq(ask(a, VH_PROBE, 1, ""), -EINVAL);
	cr_expect_eq(ask(a, VH_ATTACH, 0, "nosuch"), -ENOENT);
	cr_expect_eq(ask(a, 99, 0, "a"), -EINVAL);
	cr_expect_eq(ask(a, VH_ATTACH, 1U << 1, "a"), -EINVAL, "not an attach flag");
	cr_expect_eq(ask(a, VH_CHANNEL, VANITY_ATTACH_SQPOLL, "ab"), -EINVAL);
	memset(noterm, 'a', sizeof(noterm));
	cr_expect_eq(ask(a, VH_ATTACH, 0, noterm), -EINVAL);
	/* None of that attached anything. */
	cr_expect_eq(ask(a, VH_ATTACH, 0, "a"), 0);
	cr_expect_eq(ask(a, VH_ATTACH, 0, "b"), -EBUSY, "one shard per connection");
	cr_expect_eq(ask(b, VH_ATTACH, 0, "a"), -EBUSY, "one connection per shard");
	cr_expect_eq(ask(a, VH_CHANNEL, 0, "ab"), 0);
	cr_expect_eq(ask(a, VH_CHANNEL, 0, "nosuch"), -ENOENT);
	close(a);
	/* Closing detaches: the shard is free again. */
	usleep(50000);
	cr_expect_eq(ask(b, VH_ATTACH, 0, "a"), 0);
	close(b);
}

Test(sim, attach_reply_carries_the_ring_then_the_memory, .init = start_owned,
     .fini = finish)
{
	struct vh_req req = { .op = VH_ATTACH };
	struct vanity_ring_offsets o;
	int a = dial(), b = dial(), c = dial(), nfds;
	struct vh_rep rep;

	/* "a" has 1 MiB of memory: two fds; "b" has none: the ring's only. */
	strcpy(req.name, "a");
	cr_assert_eq(ask_raw(a, &req, sizeof(req), &rep, &nfds), 0);
	cr_expect_eq(nfds, 2);
	cr_expect_eq(rep.size, 1 << 20);
	vanity_ring_layout(VANITY_RING_ENTRIES_DEFAULT, &o);
	cr_expect_eq(memcmp(&rep.ring, &o, sizeof(o)), 0, "the module's offsets");
	/* An older client's request, without sq_idle_us: read as zero. */
	strcpy(req.name, "b");
	cr_assert_eq(ask_raw(b, &req, VH_REQ_SIZE_V0, &rep, &nfds), 0);
	cr_expect_eq(nfds, 1);
	/* Reserved and misplaced fields are refused. */
	req.resv = 1;
	cr_expect_eq(ask_raw(c, &req, sizeof(req), &rep, &nfds), -EINVAL);
	cr_expect_eq(nfds, 0);
	req.resv = 0;
	req.op = VH_CHANNEL;
	req.sq_idle_us = 5;
	cr_expect_eq(ask_raw(a, &req, sizeof(req), &rep, &nfds), -EINVAL);
	close(a);
	close(b);
	close(c);
}

Test(sim, attach_by_another_uid_is_eperm, .init = start, .fini = finish)
{
	pid_t pid;
	int st;

	if (geteuid() != 0)
		cr_skip_test("needs root to switch uid");
	pid = fork();
	if (pid == 0) {
		int fd;

		if (setuid(65534))
			_exit(10);
		fd = dial();
		/* "a" belongs to uid 0, "b" to uid 1000: 65534 owns neither. */
		_exit(ask(fd, VH_ATTACH, 0, "a") == -EPERM &&
		      ask(fd, VH_ATTACH, 0, "b") == -EPERM ? 0 : 11);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
}

/* Child side: 0 when attaching @name gives @want; no cr_assert out of the test's process. */
static int attach_is(const char *name, int want)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vh_req req = { .op = VH_ATTACH };
	struct vh_rep rep;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), ret = 1;

	strcpy(sa.sun_path, vanity_sim_socket(sim));
	strcpy(req.name, name);
	if (fd >= 0 && !connect(fd, (struct sockaddr *)&sa, sizeof(sa)) &&
	    send(fd, &req, sizeof(req), 0) == sizeof(req) &&
	    recv(fd, &rep, sizeof(rep), 0) == sizeof(rep))
		ret = rep.err != want;
	if (fd >= 0)
		close(fd);
	return ret;
}

/*
 * A shard whose manifest names no user is the system owner's: the user the
 * simulator runs as (here nobody, when the test may switch), not root.
 */
Test(sim, system_owner_shard_is_the_simulators_users)
{
	struct vanity_status *st;
	pid_t pid;
	int ret, status;

	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char msg[256] = "";
		uid_t me;

		if (geteuid() == 0 &&
		    (setgroups(0, NULL) || setgid(65534) || setuid(65534)))
			_exit(10);
		me = geteuid();
		if (serve_image(1, msg, sizeof(msg))) {
			fprintf(stderr, "sim: %s\n", msg);
			_exit(17);
		}
		st = calloc(1, sizeof(*st));
		/* "b" belongs to uid 1000, whoever runs the simulator. */
		ret = !st ? 11 : attach_is("a", 0) ? 12 :
		      me != 1000 && attach_is("b", -EPERM) ? 13 :
		      vanity_sim_status(sim, st) ? 14 :
		      st->shards[0].uid != me ? 15 :
		      st->shards[1].uid != 1000 ? 16 : 0;
		free(st);
		atomic_store(&stop, 1);
		pthread_join(server, NULL);
		vanity_sim_stop(sim);
		_exit(ret);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "status 0x%x (12: owner could not attach, 13: anyone could attach 'b', 15: status uid, 17: image refused)",
		  status);
}

/* Not anyone's: another user than the simulator's is refused. */
Test(sim, system_owner_shard_refuses_other_users, .init = start_a_owned,
     .fini = finish)
{
	pid_t pid;
	int st, fd;

	if (geteuid() != 0)
		cr_skip_test("needs root to switch uid");
	pid = fork();
	if (pid == 0) {
		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(10);
		/* The simulator runs as root: "a" is root's, so not 65534's. */
		_exit(attach_is("a", -EPERM) ? 11 : 0);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
	/* Root, the owner here, still attaches it. */
	fd = dial();
	cr_expect_eq(ask(fd, VH_ATTACH, 0, "a"), 0);
	close(fd);
}

Test(sim, bad_image_is_refused_with_a_message)
{
	struct vanity_sim *s = NULL;
	uint8_t *img;
	size_t len;
	char msg[256] = "";

	good_image(&img, &len);
	hdr_of(img)->magic = 0;
	cr_expect_eq(vanity_sim_start(&s, img, len, msg, sizeof(msg)), -EINVAL);
	cr_expect_null(s);
	cr_expect(strstr(msg, "bad magic") != NULL, "%s", msg);
	free(img);
}
