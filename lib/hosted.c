// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * libvanity's hosted backend: attach and channel lookup as requests to
 * the simulator, regions (and the ring) received as memfds. The connection
 * is the attachment: closing it (or dying) detaches, as closing
 * /dev/vanity does.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <linux/membarrier.h>
#include <sys/mman.h>
#include <sys/stat.h>
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

/*
 * One request, one reply with up to two fds (*fd, then *fd2). The reply
 * is the server's words: its size must be its length, its version ours;
 * a success must carry everything up to the ring's offsets, whose size
 * says how much of them the server filled (the rest reads as zero).
 */
static int call2(int sock, struct vh_req *req, struct vh_rep *rep, int *fd,
		 int *fd2)
{
	char cbuf[CMSG_SPACE(2 * sizeof(int))];
	uint8_t msg[VH_MSG_MAX];
	struct iovec iov = { .iov_base = msg, .iov_len = sizeof(msg) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	int fds[2] = { -1, -1 }, got, ret;
	unsigned int i, n, k = 0;
	ssize_t r;

	*fd = *fd2 = -1;
	req->size = sizeof(*req);
	req->version = VH_VERSION;
	if (send(sock, req, sizeof(*req), MSG_NOSIGNAL) != sizeof(*req))
		return -ECONNRESET;
	r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	for (cm = CMSG_FIRSTHDR(&mh); r >= 0 && cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&got, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (k < 2)
				fds[k++] = got;
			else
				close(got);	/* more than any reply carries */
		}
	}
	ret = vanity__hosted_reply(msg, r < 0 ? 0 : (size_t)r,
				   mh.msg_flags & MSG_TRUNC, req->op, rep);
	if (ret) {
		for (i = 0; i < 2; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		return ret;
	}
	*fd = fds[0];
	*fd2 = fds[1];
	return 0;
}

bool vanity__fd_holds(int fd, uint64_t len)
{
	struct stat st;

	return !fstat(fd, &st) && st.st_size >= 0 &&
	       (uint64_t)st.st_size >= len;
}

int vanity__hosted_reply(const void *msg, size_t len, bool truncated,
			 uint16_t op, struct vh_rep *rep)
{
	const struct vh_rep *in = msg;
	uint32_t ring_size;

	if (!len)
		return -ECONNRESET;	/* the simulator hung up */
	if (truncated || len < VH_REP_SIZE_MIN || in->size != len ||
	    in->version != VH_VERSION || in->op != op)
		return -EPROTO;
	if (in->err > 0 || in->err < -4095)
		return -EPROTO;
	if (in->err)
		return in->err;
	if (vh_read(rep, sizeof(*rep), msg, len,
		    offsetof(struct vh_rep, ring) +
		    sizeof(struct vanity_ring_offsets), 0))
		return -EPROTO;
	/* Offsets the server did not fill read as zero (an older server). */
	ring_size = rep->ring_size;
	if (op == VH_ATTACH && ring_size < sizeof(rep->ring)) {
		if (ring_size < offsetof(struct vanity_ring_offsets, features) +
				sizeof(uint32_t))
			return -EPROTO;
		memset((uint8_t *)&rep->ring + ring_size, 0,
		       sizeof(rep->ring) - ring_size);
	}
	return 0;
}

static int call(int sock, uint32_t op, const char *name, struct vh_rep *rep,
		int *fd)
{
	struct vh_req req = { .op = (uint16_t)op };
	int fd2, ret;

	strncpy(req.name, name, sizeof(req.name) - 1);
	ret = call2(sock, &req, rep, fd, &fd2);
	if (!ret && fd2 >= 0)
		close(fd2);
	return ret;
}

int vanity__hosted_attach(struct vanity *v, const char *name)
{
	return vanity__hosted_attach_flags(v, name, 0, 0);
}

int vanity__hosted_attach_flags(struct vanity *v, const char *name,
				uint32_t flags, uint32_t sq_idle_us)
{
	const char *path = getenv(VANITY_SOCKET_ENV);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vh_req req = {
		.op = VH_ATTACH, .flags = flags, .sq_idle_us = sq_idle_us,
	};
	struct vh_rep rep;
	cpu_set_t set;
	unsigned int cpu;
	int ring_fd, fd, ret;

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
	strncpy(req.name, name, sizeof(req.name) - 1);
	ret = call2(v->fd, &req, &rep, &ring_fd, &fd);
	if (ret)
		goto err;
	v->hosted = 1;
	v->index = rep.index;
	v->nchannels = rep.nchannels;
	memcpy(v->cpus, rep.cpus, sizeof(v->cpus));
	strncpy(v->name, name, sizeof(v->name) - 1);
	if (rep.map_size && fd >= 0 && !vanity__fd_holds(fd, rep.map_size)) {
		ret = -EPROTO;		/* a touch past its end would SIGBUS */
		close(fd);
		close(ring_fd);
		goto err;
	} else if (rep.map_size && fd >= 0) {
		v->mem = mmap(NULL, rep.map_size, PROT_READ | PROT_WRITE,
			      MAP_SHARED, fd, 0);
		close(fd);
		if (v->mem == MAP_FAILED) {
			ret = -errno;
			v->mem = NULL;
			close(ring_fd);
			goto err;
		}
		v->mem_len = rep.map_size;
	} else if (rep.map_size) {
		ret = -EPROTO;
		close(ring_fd);
		goto err;
	} else if (fd >= 0) {
		close(fd);
	}
	/* The ring, as the module's map_ring; closes ring_fd. */
	ret = vanity__hosted_map_ring(&v->ring, ring_fd, &rep.ring, v->fd,
				      flags);
	if (ret)
		goto err_mem;
	/* The doorbell's handshake interrupts registered processes only. */
	syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0);
	/* Pin to the shard's CPUs this machine has; the simulator says if none. */
	CPU_ZERO(&set);
	for (cpu = 0; cpu < CPU_SETSIZE && cpu < VANITY_MAX_CPUS; cpu++)
		if (v->cpus[cpu / 64] & (1ULL << (cpu % 64)))
			CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
	return 0;
err_mem:
	if (v->mem)
		munmap(v->mem, v->mem_len);
	v->mem = NULL;
	v->mem_len = 0;
err:
	close(v->fd);
	v->fd = -1;
	return ret;
}

int vanity__hosted_probe_decode(const struct vh_rep *rep,
				struct vanity_probe *out)
{
	unsigned int i;

	/* The server's words, as hostile as any: a length past the array. */
	if (rep->nchannels > VANITY_PROBE_OPS_MAX || rep->index > 255)
		return -EPROTO;
	out->last_op = (uint8_t)rep->index;
	out->ops_len = (uint8_t)rep->nchannels;
	for (i = 0; i < VANITY_PROBE_OPS_MAX; i++) {
		out->ops[i].op = (uint8_t)i;
		out->ops[i].flags = i < out->ops_len && (rep->map_size >> i & 1) ?
				    VANITY_PROBE_OP_SUPPORTED : 0;
	}
	return 0;
}

int vanity__hosted_probe(struct vanity *v, struct vanity_probe *out)
{
	struct vh_rep rep;
	int fd, ret;

	ret = call(v->fd, VH_PROBE, "", &rep, &fd);
	if (fd >= 0)
		close(fd);
	return ret ?: vanity__hosted_probe_decode(&rep, out);
}

int vanity__hosted_lookup(struct vanity *v, const char *name,
			  struct vanity_channel_info *out)
{
	struct vh_rep rep;
	int fd, ret;

	ret = call(v->fd, VH_CHANNEL, name, &rep, &fd);
	if (fd >= 0)
		close(fd);
	if (ret)
		return ret;
	memset(out, 0, sizeof(*out));
	out->size = sizeof(*out);
	strncpy(out->name, name, sizeof(out->name) - 1);
	out->index = rep.index;
	out->role = rep.role;
	out->slot_size = rep.slot_size;
	out->slots = rep.slots;
	out->region_size = rep.map_size;
	out->from = rep.from;
	out->to = rep.to;
	return 0;
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
	if (rep.role == VANITY_ROLE_NONE) {
		if (fd >= 0)
			close(fd);
		return -EACCES;		/* known, not ours to map */
	}
	if (fd < 0 || !vanity__fd_holds(fd, rep.map_size)) {
		if (fd >= 0)
			close(fd);
		return -EPROTO;
	}
	p = mmap(NULL, rep.map_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -errno;
	ret = vanity_channel_bind(&m->ch, p, rep.map_size, rep.role,
				  &vanity__futex_bell, v);
	if (ret) {
		munmap(p, rep.map_size);
		return ret;
	}
	m->ch.index = rep.index;
	m->ch.peer = rep.role == VANITY_ROLE_FROM ? rep.to : rep.from;
	strncpy(m->ch.name, name, sizeof(m->ch.name) - 1);
	return 0;
}
