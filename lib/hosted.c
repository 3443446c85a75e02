// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * libvanity's hosted backend: attach and channel lookup as requests to
 * the simulator, regions received as memfds. The connection is the
 * attachment: closing it (or dying) detaches, as closing /dev/vanity does.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <linux/membarrier.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "vanity.h"
#include "lib.h"
#include "hosted.h"

bool vanity__use_hosted(void)
{
	const char *b = getenv("VANITY_BACKEND");

	if (b && !strcmp(b, "hosted"))
		return true;
	if (b && !strcmp(b, "module"))
		return false;
	return access("/dev/vanity", F_OK) != 0 && getenv(VANITY_SOCKET_ENV);
}

/* One request, one reply with at most one fd. */
static int call(int sock, uint32_t op, const char *name, struct vh_rep *rep,
		int *fd)
{
	struct vh_req req = { .op = op };
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = rep, .iov_len = sizeof(*rep) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	ssize_t n;

	*fd = -1;
	strncpy(req.name, name, sizeof(req.name) - 1);
	if (send(sock, &req, sizeof(req), MSG_NOSIGNAL) != sizeof(req))
		return -ECONNRESET;
	n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	if (n != sizeof(*rep))
		return -ECONNRESET;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(cm), sizeof(int));
	if (rep->err && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	return rep->err;
}

int vanity__hosted_attach(struct vanity *v, const char *name)
{
	const char *path = getenv(VANITY_SOCKET_ENV);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vh_rep rep;
	cpu_set_t set;
	unsigned int cpu;
	int fd, ret;

	if (!path || strlen(path) >= sizeof(sa.sun_path))
		return -ENODEV;
	strcpy(sa.sun_path, path);
	v->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (v->fd < 0)
		return -errno;
	if (connect(v->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = errno == ENOENT || errno == ECONNREFUSED ? -ENODEV : -errno;
		goto err;
	}
	ret = call(v->fd, VH_ATTACH, name, &rep, &fd);
	if (ret)
		goto err;
	v->hosted = 1;
	v->index = rep.index;
	v->nchannels = rep.nchannels;
	memcpy(v->cpus, rep.cpus, sizeof(v->cpus));
	strncpy(v->name, name, sizeof(v->name) - 1);
	if (rep.size) {
		v->mem = mmap(NULL, rep.size, PROT_READ | PROT_WRITE,
			      MAP_SHARED, fd, 0);
		close(fd);
		if (v->mem == MAP_FAILED) {
			ret = -errno;
			v->mem = NULL;
			goto err;
		}
		v->mem_len = rep.size;
	} else if (fd >= 0) {
		close(fd);
	}
	/* The doorbell's handshake interrupts registered processes only. */
	syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0);
	/* Pin to the shard's CPUs this machine has; the simulator says if none. */
	CPU_ZERO(&set);
	for (cpu = 0; cpu < CPU_SETSIZE && cpu < VANITY_MAX_CPUS; cpu++)
		if (v->cpus[cpu / 64] & (1ULL << (cpu % 64)))
			CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
	return 0;
err:
	close(v->fd);
	v->fd = -1;
	return ret;
}

int vanity__hosted_channel(struct vanity *v, const char *name,
			   struct vanity_chan_map *m)
{
	struct vh_rep rep;
	void *p;
	int fd, ret;

	ret = call(v->fd, VH_CHANNEL, name, &rep, &fd);
	if (ret)
		return ret;
	if (fd < 0)
		return -EPROTO;
	p = mmap(NULL, rep.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -errno;
	ret = vanity_channel_bind(&m->ch, p, rep.size, rep.role,
				  &vanity__futex_bell, v);
	if (ret) {
		munmap(p, rep.size);
		return ret;
	}
	m->ch.index = rep.index;
	m->ch.peer = rep.role == VANITY_ROLE_FROM ? rep.to : rep.from;
	strncpy(m->ch.name, name, sizeof(m->ch.name) - 1);
	return 0;
}
