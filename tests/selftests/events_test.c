// SPDX-License-Identifier: GPL-2.0
/*
 * The events group: every UP and DOWN that happened is announced, once,
 * in order, with its attributes; refusals announce nothing; anyone may
 * listen; a listener that falls behind is told; unload announces its
 * DOWN; `vanityctl events` prints them.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <netlink/netlink.h>
#include <netlink/genl/genl.h>
#include <netlink/genl/ctrl.h>

#include "kselftest_harness.h"
#include "common.h"

#define CTL "tools/vanityctl"
#define MAX_EVENTS 128
/*
 * A notification is queued on every listener before the request that
 * caused it is answered, so "nothing more" needs no long wait.
 */
#define QUIET_MS 200

struct got {
	struct vanity_event ev[MAX_EVENTS];
	unsigned int n, want;
};

static int on_event(const struct vanity_event *ev, void *arg)
{
	struct got *g = arg;

	if (g->n < MAX_EVENTS)
		g->ev[g->n++] = *ev;
	return g->n >= g->want;
}

/* Up to @want events within @ms: how many, or -errno. */
static int collect(struct vanity_nl *nl, struct got *g, unsigned int want,
		   int ms)
{
	int ret;

	g->n = 0;
	g->want = want;
	ret = vanity_nl_events(nl, ms, on_event, g);
	return ret < 0 ? ret : (int)g->n;
}

/* 0 when @ev is SYSTEM_UP_NTF of @name with these counts, else a line. */
static int is_up(const struct vanity_event *ev, const char *name,
		 uint32_t shards, uint32_t channels)
{
	if (ev->cmd == VANITY_CMD_SYSTEM_UP_NTF && !strcmp(ev->name, name) &&
	    ev->nshards == shards && ev->nchannels == channels)
		return 0;
	fprintf(stderr, "# want up %s %u/%u, got cmd %u name '%s' %u/%u\n",
		name, shards, channels, ev->cmd, ev->name, ev->nshards,
		ev->nchannels);
	return -1;
}

static int is_down(const struct vanity_event *ev, const char *name,
		   bool forced)
{
	if (ev->cmd == VANITY_CMD_SYSTEM_DOWN_NTF && !strcmp(ev->name, name) &&
	    ev->forced == forced)
		return 0;
	fprintf(stderr, "# want down %s%s, got cmd %u name '%s'%s\n", name,
		forced ? " forced" : "", ev->cmd, ev->name,
		ev->forced ? " forced" : "");
	return -1;
}

static int listen_open(struct vanity_nl **nl)
{
	int ret = vanity_nl_open(nl);

	if (ret)
		return ret;
	ret = vanity_nl_subscribe(*nl);
	if (ret)
		vanity_nl_close(*nl);
	return ret;
}

FIXTURE(events) {
	struct vanity_nl *nl;
	struct got got, more;
	char msg[256];
};

FIXTURE_SETUP(events)
{
	vt_reset();	/* before joining: its DOWN is not this test's */
	self->nl = NULL;
	ASSERT_EQ(0, listen_open(&self->nl));
}

FIXTURE_TEARDOWN(events)
{
	struct vanity_nl *nl;
	int ret;

	vanity_nl_close(self->nl);
	/* Whatever a test did, leave the module loaded for the next one. */
	ret = vanity_nl_open(&nl);
	if (!ret)
		vanity_nl_close(nl);
	else if (ret == -ENODEV)
		vt_load_module();
	vt_reset();
}

TEST_F(events, up_then_down_announce_both_in_order)
{
	struct vanity_status *st;
	struct vanity_imgw w;

	vt_pair(&w, 4096, 64, 16);
	ASSERT_EQ(0, vt_up(&w, self->msg, sizeof(self->msg)))
		TH_LOG("up: %s", self->msg);
	ASSERT_EQ(1, collect(self->nl, &self->got, 1, 10000));
	EXPECT_EQ(0, is_up(&self->got.ev[0], "selftest", 2, 2));
	/* Announced after the change: GET already shows it. */
	ASSERT_EQ(0, vt_get(&st));
	EXPECT_STREQ("selftest", st->name);
	free(st);

	ASSERT_EQ(0, vt_down(false, self->msg, sizeof(self->msg)))
		TH_LOG("down: %s", self->msg);
	ASSERT_EQ(1, collect(self->nl, &self->got, 1, 10000));
	EXPECT_EQ(0, is_down(&self->got.ev[0], "selftest", false));
	EXPECT_EQ(-ENOENT, vt_get(&st));
	free(st);
	EXPECT_EQ(0, collect(self->nl, &self->more, 1, QUIET_MS));
}

TEST_F(events, counts_are_the_images)
{
	uint64_t a[VANITY_CPU_WORDS];
	struct vanity_imgw w;

	vt_cpus1(a, VT_CPU_A);
	vanity_imgw_init(&w, "three-solo");
	ASSERT_EQ(0, vanity_imgw_shard(&w, "one", 0, a, 0, NULL));
	ASSERT_EQ(1, vanity_imgw_shard(&w, "two", 4096, a, 0, NULL));
	ASSERT_EQ(2, vanity_imgw_shard(&w, "three", 0, a, 0, NULL));
	ASSERT_EQ(0, vt_up(&w, self->msg, sizeof(self->msg)))
		TH_LOG("up: %s", self->msg);
	ASSERT_EQ(0, vt_down(true, self->msg, sizeof(self->msg)));
	ASSERT_EQ(2, collect(self->nl, &self->got, 2, 10000));
	EXPECT_EQ(0, is_up(&self->got.ev[0], "three-solo", 3, 0));
	/* Forced as asked, though nothing was attached. */
	EXPECT_EQ(0, is_down(&self->got.ev[1], "three-solo", true));
}

TEST_F(events, refused_down_announces_nothing_forced_down_says_forced)
{
	struct vanity_imgw w;
	struct vanity *v;

	vt_pair(&w, 4096, 64, 16);
	ASSERT_EQ(0, vt_up(&w, self->msg, sizeof(self->msg)));
	ASSERT_EQ(0, vanity_attach("consumer", &v));
	EXPECT_EQ(-EBUSY, vt_down(false, self->msg, sizeof(self->msg)));
	EXPECT_EQ(0, vt_down(true, self->msg, sizeof(self->msg)))
		TH_LOG("down --force: %s", self->msg);
	vanity_detach(v);
	EXPECT_EQ(-ENOENT, vt_down(true, self->msg, sizeof(self->msg)));

	ASSERT_EQ(2, collect(self->nl, &self->got, 2, 10000));
	EXPECT_EQ(0, is_up(&self->got.ev[0], "selftest", 2, 2));
	EXPECT_EQ(0, is_down(&self->got.ev[1], "selftest", true));
	EXPECT_EQ(0, collect(self->nl, &self->more, 1, QUIET_MS));
}

TEST_F(events, refused_ups_announce_nothing)
{
	static const char garbage[] = "not an image at all";
	uint64_t cpu0[VANITY_CPU_WORDS];
	struct vanity_imgw w, bad;

	EXPECT_EQ(-EINVAL, vt_up_raw(garbage, sizeof(garbage), self->msg,
				     sizeof(self->msg)));
	vt_cpus1(cpu0, 0);
	vanity_imgw_init(&bad, "housekeeping");
	ASSERT_EQ(0, vanity_imgw_shard(&bad, "victim", 0, cpu0, 0, NULL));
	EXPECT_EQ(-EINVAL, vt_up(&bad, self->msg, sizeof(self->msg)));
	EXPECT_NE(NULL, strstr(self->msg, "not isolated")) TH_LOG("%s", self->msg);
	EXPECT_EQ(0, collect(self->nl, &self->got, 1, QUIET_MS));

	/* One UP that happens, then one refused while it is up. */
	vt_pair(&w, 4096, 64, 16);
	ASSERT_EQ(0, vt_up(&w, self->msg, sizeof(self->msg)));
	EXPECT_EQ(-EBUSY, vt_up(&w, self->msg, sizeof(self->msg)));
	ASSERT_EQ(1, collect(self->nl, &self->got, 1, 10000));
	EXPECT_EQ(0, is_up(&self->got.ev[0], "selftest", 2, 2));
	EXPECT_EQ(0, collect(self->nl, &self->more, 1, QUIET_MS));
}

static int drop_root(void)
{
	if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
		return -1;
	return geteuid() == 65534 ? 0 : -1;
}

static int unprivileged_up(void *arg)
{
	struct vanity_imgw w;
	char msg[256];

	(void)arg;
	if (drop_root())
		return 10;
	vt_pair(&w, 4096, 64, 16);
	return vt_up(&w, msg, sizeof(msg)) == -EPERM ? 0 : 1;
}

TEST_F(events, unprivileged_up_announces_nothing)
{
	EXPECT_EQ(0, vt_wait(vt_spawn(unprivileged_up, NULL), 20000));
	EXPECT_EQ(0, collect(self->nl, &self->got, 1, QUIET_MS));
}

struct listener {
	int ready[2];
};

/*
 * The group has no GENL_MCAST_CAP_* flag (Debian's 6.1 has them, from
 * 6.7 through stable; upstream 6.1.0 has none): what it tells, GET tells
 * anyone, so anyone may listen.
 */
static int unprivileged_listener(void *arg)
{
	struct listener *l = arg;
	struct vanity_nl *nl;
	struct got *g;
	char b = 1;

	if (drop_root())
		return 10;
	if (listen_open(&nl))
		return 11;
	if (write(l->ready[1], &b, 1) != 1)
		return 12;
	g = calloc(1, sizeof(*g));
	if (!g || collect(nl, g, 2, 20000) != 2)
		return 13;
	if (is_up(&g->ev[0], "selftest", 2, 2) ||
	    is_down(&g->ev[1], "selftest", false))
		return 14;
	free(g);
	vanity_nl_close(nl);
	return 0;
}

TEST_F(events, anyone_may_listen)
{
	struct listener l;
	struct vanity_imgw w;
	pid_t pid;
	char b;

	ASSERT_EQ(0, pipe(l.ready));
	pid = vt_spawn(unprivileged_listener, &l);
	ASSERT_LT(0, pid);
	ASSERT_EQ(1, read(l.ready[0], &b, 1)) TH_LOG("listener never joined");
	vt_pair(&w, 4096, 64, 16);
	ASSERT_EQ(0, vt_up(&w, self->msg, sizeof(self->msg)));
	ASSERT_EQ(0, vt_down(false, self->msg, sizeof(self->msg)));
	EXPECT_EQ(0, vt_wait(pid, 30000))
		TH_LOG("10 setuid, 11 cannot join, 13 not two events, 14 wrong ones");
	close(l.ready[0]);
	close(l.ready[1]);
}

TEST_F_TIMEOUT(events, many_cycles_arrive_in_order, 300)
{
	const unsigned int cycles = 50;
	uint64_t a[VANITY_CPU_WORDS];
	struct vanity_imgw w;
	char name[VANITY_NAME_MAX];
	unsigned int i;

	vt_cpus1(a, VT_CPU_A);
	for (i = 0; i < cycles; i++) {
		snprintf(name, sizeof(name), "cycle-%u", i);
		vanity_imgw_init(&w, name);
		ASSERT_EQ(0, vanity_imgw_shard(&w, "s", 0, a, 0, NULL));
		ASSERT_EQ(0, vt_up(&w, self->msg, sizeof(self->msg)))
			TH_LOG("cycle %u: %s", i, self->msg);
		ASSERT_EQ(0, vt_down(false, self->msg, sizeof(self->msg)));
	}
	ASSERT_EQ(2 * cycles, collect(self->nl, &self->got, 2 * cycles, 30000));
	for (i = 0; i < cycles; i++) {
		snprintf(name, sizeof(name), "cycle-%u", i);
		EXPECT_EQ(0, is_up(&self->got.ev[2 * i], name, 1, 0));
		EXPECT_EQ(0, is_down(&self->got.ev[2 * i + 1], name, false));
	}
	EXPECT_EQ(0, collect(self->nl, &self->more, 1, QUIET_MS));
}

/* The fixture's listening socket: the test's only netlink socket. */
static int listener_fd(void)
{
	int fd, found = -1, domain;
	socklen_t len;

	for (fd = 3; fd < 1024; fd++) {
		len = sizeof(domain);
		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 &&
		    domain == AF_NETLINK) {
			if (found >= 0)
				return -1;
			found = fd;
		}
	}
	return found;
}

TEST_F_TIMEOUT(events, a_listener_that_falls_behind_is_told, 120)
{
	const unsigned int cycles = 20;
	uint64_t a[VANITY_CPU_WORDS];
	struct vanity_imgw w;
	char name[VANITY_NAME_MAX];
	unsigned int i, real;
	int fd = listener_fd(), tiny = 1;

	ASSERT_LE(0, fd);
	/* The kernel's minimum: a few notifications, not forty. */
	ASSERT_EQ(0, setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &tiny, sizeof(tiny)));
	vt_cpus1(a, VT_CPU_A);
	for (i = 0; i < cycles; i++) {
		snprintf(name, sizeof(name), "cycle-%u", i);
		vanity_imgw_init(&w, name);
		ASSERT_EQ(0, vanity_imgw_shard(&w, "s", 0, a, 0, NULL));
		ASSERT_EQ(0, vt_up(&w, self->msg, sizeof(self->msg)));
		ASSERT_EQ(0, vt_down(false, self->msg, sizeof(self->msg)));
	}
	ASSERT_LT(0, collect(self->nl, &self->got, MAX_EVENTS, 2000));
	/* Told first (the socket's error comes before its queue), once. */
	EXPECT_EQ(0, self->got.ev[0].cmd);
	real = self->got.n - 1;
	EXPECT_LT(0, real);
	EXPECT_GT(2 * cycles, real);
	/* What did arrive is the start of what happened, in order. */
	for (i = 0; i < real; i++) {
		snprintf(name, sizeof(name), "cycle-%u", i / 2);
		EXPECT_EQ(0, i % 2 ? is_down(&self->got.ev[i + 1], name, false) :
				     is_up(&self->got.ev[i + 1], name, 1, 0));
	}
	TH_LOG("%u of %u events queued, then one 'lost'", real, 2 * cycles);
	/* Drained, the listener hears the next one, with nothing lost. */
	vt_pair(&w, 4096, 64, 16);
	ASSERT_EQ(0, vt_up(&w, self->msg, sizeof(self->msg)));
	ASSERT_EQ(1, collect(self->nl, &self->more, 1, 10000));
	EXPECT_EQ(0, is_up(&self->more.ev[0], "selftest", 2, 2));
}

/* A notification's command sent as a request: 0 or the libnl error. */
static int send_cmd(uint8_t cmd)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct nl_msg *msg = nlmsg_alloc();
	int family, ret = -NLE_NOMEM;

	if (!sk || !msg)
		goto out;
	ret = genl_connect(sk);
	if (ret)
		goto out;
	family = genl_ctrl_resolve(sk, VANITY_GENL_NAME);
	ret = family;
	if (family < 0)
		goto out;
	ret = -NLE_NOMEM;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0, cmd,
			 VANITY_GENL_VERSION))
		goto out;
	ret = nl_send_sync(sk, msg);	/* frees msg */
	msg = NULL;
out:
	nlmsg_free(msg);
	nl_socket_free(sk);
	return ret;
}

TEST_F(events, notification_commands_are_not_requests)
{
	EXPECT_EQ(-NLE_OPNOTSUPP, send_cmd(VANITY_CMD_SYSTEM_UP_NTF));
	EXPECT_EQ(-NLE_OPNOTSUPP, send_cmd(VANITY_CMD_SYSTEM_DOWN_NTF));
	/* The requests are still answered: GET with nothing up. */
	EXPECT_EQ(-NLE_OBJ_NOTFOUND, send_cmd(VANITY_CMD_GET));
	EXPECT_EQ(0, collect(self->nl, &self->got, 1, QUIET_MS));
}

TEST_F(events, unload_announces_a_forced_down_then_ends)
{
	struct vanity_imgw w;
	int unloaded, ended = 0;

	vt_pair(&w, 4096, 64, 16);
	ASSERT_EQ(0, vt_up(&w, self->msg, sizeof(self->msg)));
	ASSERT_EQ(1, collect(self->nl, &self->got, 1, 10000));
	unloaded = vt_unload_module();
	if (unloaded == 0) {
		ended = collect(self->nl, &self->got, 2, 10000);
		ASSERT_EQ(0, vt_load_module());	/* before any verdict: later tests need it */
	}
	ASSERT_EQ(0, unloaded);
	/* The DOWN first, then the family's end: no waiting for more. */
	EXPECT_EQ(-ENODEV, ended);
	ASSERT_EQ(1, self->got.n);
	EXPECT_EQ(0, is_down(&self->got.ev[0], "selftest", true));
	/* A listener of the old module hears nothing of the new one. */
	vt_pair(&w, 4096, 64, 16);
	ASSERT_EQ(0, vt_up(&w, self->msg, sizeof(self->msg)));
	EXPECT_EQ(0, collect(self->nl, &self->more, 1, QUIET_MS));
}

/* ------------------------------------------------------------ vanityctl */

/* Start vanityctl with @args; its stdout and stderr on *fd. */
static pid_t ctl_start(const char *const *args, int *fd)
{
	const char *argv[8] = { CTL };
	int p[2];
	pid_t pid;
	int i;

	for (i = 0; args[i] && i < 6; i++)
		argv[i + 1] = args[i];
	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		execv(CTL, (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	*fd = p[0];
	return pid;
}

/*
 * True once @pid sleeps in poll(): vanityctl polls only after joining
 * the group, so events from then on reach it.
 */
static bool in_poll(pid_t pid)
{
	char path[64], buf[64];
	long nr;
	int fd, n, tries;

	snprintf(path, sizeof(path), "/proc/%d/syscall", pid);
	for (tries = 0; tries < 2000; tries++) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return false;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = '\0';
		nr = strtol(buf, NULL, 10);
#ifdef SYS_poll
		if (nr == SYS_poll)
			return true;
#endif
		if (nr == SYS_ppoll)
			return true;
		usleep(10000);
	}
	return false;
}

static int read_all(int fd, char *out, size_t len)
{
	size_t n = 0;
	ssize_t r;

	while (n < len - 1 && (r = read(fd, out + n, len - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(fd);
	return (int)n;
}

TEST_F(events, vanityctl_events_count_2_prints_up_then_down)
{
	static const char *const text[] = { "events", "--count", "2", NULL };
	static const char *const json[] = { "events", "-j", "--count", "2",
					    "--timeout", "60", NULL };
	char out_t[1024], out_j[1024];
	struct vanity_imgw w;
	int fd_t, fd_j;
	pid_t pt, pj;

	pt = ctl_start(text, &fd_t);
	pj = ctl_start(json, &fd_j);
	ASSERT_LT(0, pt);
	ASSERT_LT(0, pj);
	ASSERT_TRUE(in_poll(pt));
	ASSERT_TRUE(in_poll(pj));
	vt_pair(&w, 4096, 64, 16);
	ASSERT_EQ(0, vt_up(&w, self->msg, sizeof(self->msg)));
	ASSERT_EQ(0, vt_down(false, self->msg, sizeof(self->msg)));
	EXPECT_EQ(0, vt_wait(pt, 30000));
	EXPECT_EQ(0, vt_wait(pj, 30000));
	read_all(fd_t, out_t, sizeof(out_t));
	read_all(fd_j, out_j, sizeof(out_j));
	EXPECT_STREQ("up selftest shards=2 channels=2\ndown selftest\n", out_t);
	EXPECT_STREQ("{\"event\":\"up\",\"name\":\"selftest\",\"shards\":2,\"channels\":2}\n"
		     "{\"event\":\"down\",\"name\":\"selftest\",\"forced\":false}\n",
		     out_j);
}

TEST_F(events, vanityctl_events_timeout)
{
	char out[1024];

	/* Nothing happens: a plain timeout is the end asked for. */
	EXPECT_EQ(0, vt_sh(CTL " events --timeout 0.3", out, sizeof(out)));
	EXPECT_STREQ("", out);
	/* A count not reached in time is a failure, said so. */
	EXPECT_EQ(1, vt_sh(CTL " events --count 1 --timeout 0.3", out, sizeof(out)));
	EXPECT_STREQ("vanityctl events: timed out after 0.3 s with 0 of 1 events\n", out);
	EXPECT_EQ(1, vt_sh(CTL " events --count 0", out, sizeof(out)));
	EXPECT_STREQ("vanityctl events: bad --count '0'\n", out);
	EXPECT_EQ(1, vt_sh(CTL " events extra", out, sizeof(out)));
	EXPECT_EQ(0, vt_sh(CTL " events --help", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "--count N")) TH_LOG("%s", out);
}

TEST_HARNESS_MAIN
