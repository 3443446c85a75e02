// SPDX-License-Identifier: GPL-2.0
/*
 * The hosted simulator's server (tools/sim/server.c) against raw requests:
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
 * One raw message of @len bytes: the reply's length (0 when the simulator
 * hung up instead), *@rep (zeroed first) and the fds received (closed).
 */
static ssize_t send_raw(int fd, const void *msg, size_t len,
			struct vh_rep *rep, int *nfds)
{
	char cbuf[CMSG_SPACE(4 * sizeof(int))];
	struct iovec iov = { .iov_base = rep, .iov_len = sizeof(*rep) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	unsigned int i, n = 0;
	ssize_t r;
	int got;

	memset(rep, 0, sizeof(*rep));
	cr_assert_eq(send(fd, msg, len, 0), (ssize_t)len);
	r = recvmsg(fd, &mh, 0);
	cr_assert_geq(r, 0);
	cr_assert_eq(mh.msg_flags & (MSG_CTRUNC | MSG_TRUNC), 0);
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		for (i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			memcpy(&got, CMSG_DATA(cm) + i * sizeof(int), sizeof(got));
			close(got);
			n++;
		}
	}
	if (nfds)
		*nfds = (int)n;
	return r;
}

/*
 * One well-formed request (this protocol's size and version): the reply's
 * errno; *@rep and the fds received (closed) for the caller to look at.
 */
static int ask_raw(int fd, struct vh_req *req, struct vh_rep *rep, int *nfds)
{
	req->size = sizeof(*req);
	req->version = VH_VERSION;
	cr_assert_eq(send_raw(fd, req, sizeof(*req), rep, nfds),
		     (ssize_t)sizeof(*rep));
	cr_assert_eq(rep->size, sizeof(*rep));
	cr_assert_eq(rep->version, VH_VERSION);
	cr_assert_eq(rep->op, req->op);
	return rep->err;
}

/* One request; the reply's errno, any fd closed. */
static int ask(int fd, uint32_t op, uint32_t flags, const char *name)
{
	struct vh_req req = { .op = (uint16_t)op, .flags = flags };
	struct vh_rep rep;

	memcpy(req.name, name, strnlen(name, sizeof(req.name)));
	return ask_raw(fd, &req, &rep, NULL);
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
	cr_assert_eq(ask_raw(a, &req, &rep, &nfds), 0);
	cr_expect_eq(nfds, 2);
	cr_expect_eq(rep.map_size, 1 << 20);
	vanity_ring_layout(VANITY_RING_ENTRIES_DEFAULT, &o);
	cr_expect_eq(rep.ring_size, sizeof(o), "the server's offsets' size");
	cr_expect_eq(memcmp(&rep.ring, &o, sizeof(o)), 0, "the module's offsets");
	strcpy(req.name, "b");
	cr_assert_eq(ask_raw(b, &req, &rep, &nfds), 0);
	cr_expect_eq(nfds, 1);
	/* Reserved and misplaced fields are refused. */
	req.resv[1] = 1;
	cr_expect_eq(ask_raw(c, &req, &rep, &nfds), -EINVAL);
	cr_expect_eq(nfds, 0);
	req.resv[1] = 0;
	req.op = VH_CHANNEL;
	req.sq_idle_us = 5;
	cr_expect_eq(ask_raw(a, &req, &rep, &nfds), -EINVAL);
	close(a);
	close(b);
	close(c);
}

/*
 * The wire protocol is versioned and size-checked as the UAPI: a request
 * of another version gets this one's in the least reply; a size that is
 * not the message's length, or a message shorter than a request, is
 * hung up on; a newer (longer) request is served when its unknown tail
 * is zero and refused with -E2BIG when it is not; an older (shorter) one
 * down to its name reads as zero-extended.
 */
Test(sim, the_wire_protocol_is_versioned_and_size_checked,
     .init = start_owned, .fini = finish)
{
	uint8_t big[sizeof(struct vh_req) + 8] = { 0 };
	struct vh_req req = { .op = VH_PROBE };
	struct vh_rep rep;
	int fd = dial(), nfds;

	req.size = sizeof(req);
	req.version = VH_VERSION + 1;
	cr_assert_eq(send_raw(fd, &req, sizeof(req), &rep, &nfds),
		     (ssize_t)VH_REP_SIZE_MIN, "the least reply");
	cr_expect_eq(rep.size, VH_REP_SIZE_MIN);
	cr_expect_eq(rep.version, VH_VERSION, "says which version it speaks");
	cr_expect_eq(rep.op, VH_PROBE);
	cr_expect_eq(rep.err, -EPROTONOSUPPORT);
	/* Newer, longer, zero tail: served. */
	req.version = VH_VERSION;
	req.size = sizeof(big);
	memcpy(big, &req, sizeof(req));
	cr_assert_eq(send_raw(fd, big, sizeof(big), &rep, &nfds),
		     (ssize_t)sizeof(rep));
	cr_expect_eq(rep.err, 0);
	big[sizeof(req) + 3] = 1;
	cr_assert_eq(send_raw(fd, big, sizeof(big), &rep, &nfds),
		     (ssize_t)sizeof(rep));
	cr_expect_eq(rep.err, -E2BIG, "a tail this server does not know");
	/* Older, shorter: its name is the least a request carries. */
	req.size = VH_REQ_SIZE_MIN;
	cr_assert_eq(send_raw(fd, &req, VH_REQ_SIZE_MIN, &rep, &nfds),
		     (ssize_t)sizeof(rep));
	cr_expect_eq(rep.err, 0);
	/* A size that is not the length: hung up on. */
	req.size = sizeof(req) - 4;
	cr_expect_eq(send_raw(fd, &req, sizeof(req), &rep, &nfds), 0);
	close(fd);
	fd = dial();
	req.size = VH_REQ_SIZE_MIN - 4;
	cr_expect_eq(send_raw(fd, &req, VH_REQ_SIZE_MIN - 4, &rep, &nfds), 0,
		     "shorter than any request");
	close(fd);
	/* The unversioned protocol (its first word an op): hung up on too. */
	fd = dial();
	memset(big, 0, sizeof(big));
	big[0] = VH_ATTACH;
	cr_expect_eq(send_raw(fd, big, 48, &rep, &nfds), 0);
	close(fd);
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
	struct vh_req req = {
		.size = sizeof(req), .version = VH_VERSION, .op = VH_ATTACH,
	};
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

Test(sim, an_image_with_devices_is_refused_for_want_of_an_iommu)
{
	struct vanity_sim *s = NULL;
	uint8_t *img;
	size_t len;
	char msg[256] = "";

	good_image_devices(&img, &len);
	cr_assert_eq(vanity_image_check(img, len, NULL), 0);
	cr_expect_eq(vanity_sim_start(&s, img, len, msg, sizeof(msg)),
		     -EOPNOTSUPP);
	cr_expect_null(s);
	cr_expect_str_eq(msg, "the hosted simulator cannot pass devices: it has no IOMMU to confine their DMA");
	free(img);
}

/*
 * The client's side of the protocol (vanity__hosted_reply): the server's
 * words are checked as any reply: a size that is not the length, another
 * version, another op, an errno out of range or a truncated message is
 * -EPROTO; a refusal is its errno; a success shorter than the ring's
 * first offsets is -EPROTO; an older server's shorter ring offsets read
 * as zero past what it filled; a newer server's longer reply is read up
 * to what this side knows.
 */
Test(sim, the_client_checks_every_reply)
{
	uint8_t big[sizeof(struct vh_rep) + 16];
	struct vh_rep in, out;
	size_t n = sizeof(in);

	memset(&in, 0, sizeof(in));
	in.size = sizeof(in);
	in.version = VH_VERSION;
	in.op = VH_ATTACH;
	in.ring_size = sizeof(in.ring);
	vanity_ring_layout(VANITY_RING_ENTRIES_DEFAULT, &in.ring);
	cr_expect_eq(vanity__hosted_reply(&in, n, false, VH_ATTACH, &out), 0);
	cr_expect_eq(memcmp(&out.ring, &in.ring, sizeof(in.ring)), 0);
	cr_expect_eq(vanity__hosted_reply(&in, 0, false, VH_ATTACH, &out),
		     -ECONNRESET, "hung up");
	cr_expect_eq(vanity__hosted_reply(&in, n, true, VH_ATTACH, &out), -EPROTO);
	cr_expect_eq(vanity__hosted_reply(&in, n - 8, false, VH_ATTACH, &out),
		     -EPROTO, "size is not the length");
	cr_expect_eq(vanity__hosted_reply(&in, n, false, VH_PROBE, &out), -EPROTO,
		     "another op's reply");
	in.version = VH_VERSION + 1;
	cr_expect_eq(vanity__hosted_reply(&in, n, false, VH_ATTACH, &out), -EPROTO);
	in.version = VH_VERSION;
	in.err = -EPERM;
	cr_expect_eq(vanity__hosted_reply(&in, n, false, VH_ATTACH, &out), -EPERM);
	in.err = 5;
	cr_expect_eq(vanity__hosted_reply(&in, n, false, VH_ATTACH, &out), -EPROTO);
	in.err = -5000;
	cr_expect_eq(vanity__hosted_reply(&in, n, false, VH_ATTACH, &out), -EPROTO);
	in.err = 0;
	/* A refusal may be the least reply; a success may not. */
	in.size = VH_REP_SIZE_MIN;
	cr_expect_eq(vanity__hosted_reply(&in, VH_REP_SIZE_MIN, false, VH_ATTACH,
					  &out), -EPROTO);
	in.err = -ENOENT;
	cr_expect_eq(vanity__hosted_reply(&in, VH_REP_SIZE_MIN, false, VH_ATTACH,
					  &out), -ENOENT);
	in.err = 0;
	in.size = sizeof(in);
	/* An older server's offsets, 48 bytes of them: the rest reads as 0. */
	in.ring_size = 52;
	in.ring.resv[0] = 9;
	cr_expect_eq(vanity__hosted_reply(&in, n, false, VH_ATTACH, &out), 0);
	cr_expect_eq(out.ring.features, in.ring.features);
	cr_expect_eq(out.ring.resv[0], 0, "past what the server filled");
	in.ring_size = 40;
	cr_expect_eq(vanity__hosted_reply(&in, n, false, VH_ATTACH, &out), -EPROTO,
		     "not even the features word");
	in.ring_size = sizeof(in.ring);
	/* A newer server's longer reply: what this side knows of it. */
	memset(big, 0x5a, sizeof(big));
	in.size = sizeof(big);
	memcpy(big, &in, sizeof(in));
	cr_expect_eq(vanity__hosted_reply(big, sizeof(big), false, VH_ATTACH, &out),
		     0);
	cr_expect_eq(memcmp(&out.ring, &in.ring, sizeof(in.ring)), 0);
}

/*
 * A client that asks and never reads its replies is hung up on; the
 * server goes on answering everyone else (it never blocks on a reply).
 */
Test(sim, a_client_that_never_reads_stalls_nobody, .init = start_owned,
     .fini = finish)
{
	struct vh_req req = { .size = sizeof(req), .version = VH_VERSION,
			      .op = VH_PROBE };
	struct timeval tv = { .tv_sec = 10 };
	int greedy = dial(), b = dial(), i;

	for (i = 0; i < 20000; i++)
		if (send(greedy, &req, sizeof(req), MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
		    errno != EAGAIN)
			break;	/* hung up on already */
	/* A bounded wait: a wedged server fails the test, not hangs it. */
	cr_assert_eq(setsockopt(b, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	cr_expect_eq(ask(b, VH_PROBE, 0, ""), 0, "the server still answers");
	close(greedy);
	close(b);
}
