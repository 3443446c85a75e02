// SPDX-License-Identifier: GPL-2.0
/*
 * The simulator's server: validates the image with the portable core,
 * creates each region as a memfd, and answers attach and channel requests
 * with the module's errno rules (ENOENT, EPERM by peer uid, EBUSY,
 * ENOTCONN, EACCES). A connection is an attachment, with a fresh
 * submission ring served by its own poller (ring.c). A shard whose
 * manifest named no user belongs to the user the simulator runs as.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sim.h"
#include "sim_ring.h"
#include "image.h"
#include "chan.h"
#include "cpulist.h"
#include "wire.h"
#include "opdef.h"
#include "attach.h"

#define MAX_CONNS 256

struct conn {
	int fd;
	int shard;			/* attached shard, or -1 */
	pid_t pid;
};

struct vanity_sim {
	void *img;
	size_t len;
	uid_t owner;			/* ours: VANITY_SHARD_F_SYSTEM_OWNER shards' */
	char dir[64];
	char path[108];
	int lsock;
	int mem_fd[VANITY_MAX_SHARDS];
	int attached[VANITY_MAX_SHARDS];	/* conn index, or -1 */
	int chan_fd[VANITY_MAX_CHANNELS];
	void *chan_map[VANITY_MAX_CHANNELS];
	size_t chan_size[VANITY_MAX_CHANNELS];
	struct conn conns[MAX_CONNS];
	unsigned int nconns;
	/* rings: one per attached shard; counters and channels outlive them */
	struct vanity_sim_ring *ring[VANITY_MAX_SHARDS];
	struct vanity_ring_ctr ring_ctr[VANITY_MAX_SHARDS];
	struct vanity_sim_chan chans[VANITY_MAX_CHANNELS];
};

/*
 * A region the shards get an fd of: sealed against resizing, since a
 * shard that shrank it would fault the simulator's own mapping (SIGBUS).
 */
static int make_memfd(const char *name, size_t size)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

/* Say once, at start, when a shard's CPUs are not on this machine. */
static void note_cpus(const struct vanity_image_shard *d)
{
	long n = sysconf(_SC_NPROCESSORS_CONF);
	unsigned int cpu;
	char list[256];

	for (cpu = 0; cpu < VANITY_MAX_CPUS && cpu < (unsigned long)n; cpu++)
		if (d->cpus[cpu / 64] & (1ULL << (cpu % 64)))
			return;
	vanity_cpulist_format((const u64 *)d->cpus, list, sizeof(list));
	fprintf(stderr, "vanityctl: run: shard '%s': cpus %s are not on this machine (%ld cpus); it runs unpinned\n",
		d->name, list, n);
}

int vanity_sim_start(struct vanity_sim **out, const void *img, size_t len,
		     char *msg, size_t msglen)
{
	const struct vanity_image_hdr *h;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vanity_diag d;
	struct vanity_sim *s;
	unsigned int i;
	int ret;

	if (vanity_sim_ring_ops_check()) {
		snprintf(msg, msglen, "an opcode has no entry in an op table");
		return -EINVAL;
	}
	ret = vanity_image_check(img, len, &d);
	if (ret) {
		snprintf(msg, msglen, "%s", d.msg);
		return ret;
	}
	/* A device given a shard here would DMA wherever it liked. */
	if (vanity_image_device_count(img)) {
		snprintf(msg, msglen,
			 "the hosted simulator cannot pass devices: it has no IOMMU to confine their DMA");
		return -EOPNOTSUPP;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->lsock = -1;
	/* Whoever runs the system: what peer credentials carry is an euid. */
	s->owner = geteuid();
	for (i = 0; i < VANITY_MAX_SHARDS; i++) {
		s->mem_fd[i] = -1;
		s->attached[i] = -1;
	}
	for (i = 0; i < VANITY_MAX_CHANNELS; i++)
		s->chan_fd[i] = -1;
	s->img = malloc(len);
	if (!s->img) {
		ret = -ENOMEM;
		goto err;
	}
	memcpy(s->img, img, len);
	s->len = len;
	h = vanity_image_hdr(s->img);
	for (i = 0; i < h->shard_count; i++) {
		const struct vanity_image_shard *sh = vanity_image_shard(s->img, i);

		note_cpus(sh);
		if (!sh->memory_size)
			continue;
		s->mem_fd[i] = make_memfd(sh->name, sh->memory_size);
		if (s->mem_fd[i] < 0) {
			ret = s->mem_fd[i];
			snprintf(msg, msglen, "shard '%s': cannot create its memory",
				 sh->name);
			goto err;
		}
	}
	for (i = 0; i < h->channel_count; i++) {
		const struct vanity_image_channel *c = vanity_image_channel(s->img, i);

		s->chan_size[i] = vanity_channel_region_size(c);
		s->chan_fd[i] = make_memfd(c->name, s->chan_size[i]);
		if (s->chan_fd[i] < 0) {
			ret = s->chan_fd[i];
			snprintf(msg, msglen, "channel '%s': cannot create its region",
				 c->name);
			goto err;
		}
		s->chan_map[i] = mmap(NULL, s->chan_size[i],
				      PROT_READ | PROT_WRITE, MAP_SHARED,
				      s->chan_fd[i], 0);
		if (s->chan_map[i] == MAP_FAILED) {
			ret = -errno;
			s->chan_map[i] = NULL;
			goto err;
		}
		/* What the module writes at UP: identity and seq words. */
		vanity_chan_init(s->chan_map[i], c->slot_size, c->slots, 0);
		s->chans[i].hdr = s->chan_map[i];
	}
	snprintf(s->dir, sizeof(s->dir), "/tmp/vanity-XXXXXX");
	if (!mkdtemp(s->dir)) {
		ret = -errno;
		goto err;
	}
	/* Shards may run as other users; attach checks their uid itself. */
	chmod(s->dir, 0711);
	snprintf(s->path, sizeof(s->path), "%s/sock", s->dir);
	strcpy(sa.sun_path, s->path);
	s->lsock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->lsock < 0 || bind(s->lsock, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(s->lsock, 64)) {
		ret = -errno;
		snprintf(msg, msglen, "cannot listen on %s", s->path);
		goto err;
	}
	chmod(s->path, 0666);
	*out = s;
	return 0;
err:
	vanity_sim_stop(s);
	return ret;
}

const char *vanity_sim_socket(const struct vanity_sim *s)
{
	return s->path;
}

/* Who may attach @d; root may attach any shard, as CAP_SYS_ADMIN may the module's. */
static uid_t shard_owner(const struct vanity_sim *s,
			 const struct vanity_image_shard *d)
{
	return vanity_shard_owner(d, s->owner);
}

/* The facts of vanity_attach_decide for the peer of one connection. */
struct attacher {
	const struct vanity_sim *s;
	uid_t uid;
};

static bool attach_owns(const void *ctx, unsigned int index)
{
	const struct attacher *a = ctx;

	return a->uid == shard_owner(a->s, vanity_image_shard(a->s->img, index));
}

static bool attach_taken(const void *ctx, unsigned int index)
{
	const struct attacher *a = ctx;

	return a->s->attached[index] >= 0;
}

/*
 * The reply to @op with fds @pass[0..1] (those >= 0), in that order: the
 * whole struct, or its least (@len) for a refusal of the version.
 */
static bool reply(int fd, uint16_t op, struct vh_rep *rep, size_t len,
		  const int pass[2])
{
	char cbuf[CMSG_SPACE(2 * sizeof(int))];
	struct iovec iov = { .iov_base = rep, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	int fds[2];
	unsigned int n = 0, i;

	rep->size = (uint32_t)len;
	rep->version = VH_VERSION;
	rep->op = op;
	if (len == sizeof(*rep))
		rep->ring_size = sizeof(rep->ring);
	for (i = 0; i < 2; i++)
		if (pass[i] >= 0)
			fds[n++] = pass[i];
	if (n) {
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(n * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(n * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, n * sizeof(int));
	}
	/*
	 * Never blocking: a client that does not read its replies is hung
	 * up on (false), not waited for by every other one.
	 */
	return sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)len;
}

static bool serve(struct vanity_sim *s, unsigned int ci, const struct vh_req *req)
{
	const struct vanity_image_hdr *h = vanity_image_hdr(s->img);
	struct conn *c = &s->conns[ci];
	struct vh_rep rep = { 0 };
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	int idx, pass[2] = { -1, -1 }, ring_fd = -1, ret;
	bool sent;

	if (vanity_attach_args(req->op == VH_ATTACH ? req->flags : 0,
			       req->name, sizeof(req->name)) ||
	    (req->op != VH_ATTACH && (req->flags || req->sq_idle_us)) ||
	    req->resv[0] || req->resv[1]) {
		rep.err = -EINVAL;
	} else if (req->op == VH_ATTACH) {
		const struct vanity_image_shard *sh;
		struct attacher who = { .s = s };
		struct vanity_attacher facts = {
			.attached = c->shard >= 0,
			.owns = attach_owns, .taken = attach_taken, .ctx = &who,
		};

		/* Credentials we cannot read own nothing. */
		if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl))
			cred.uid = (uid_t)-1;
		who.uid = cred.uid;
		facts.admin = cred.uid == 0;
		idx = vanity_attach_decide(s->img, req->name, &facts);
		if (idx < 0) {
			rep.err = idx;
		} else if ((sh = vanity_image_shard(s->img, idx),
			    ret = vanity_sim_ring_start(&s->ring[idx], &ring_fd,
				&rep.ring, (unsigned int)idx, sh->name,
				vanity_ring_entries(sh->ring_entries),
				req->flags, req->sq_idle_us, s->img, s->chans,
				&s->ring_ctr[idx]))) {
			/* No ring (a fresh one per attachment): no attachment. */
			rep.err = ret;
		} else {
			c->shard = idx;
			c->pid = cred.pid;
			s->attached[idx] = (int)ci;
			rep.index = idx;
			rep.map_size = sh->memory_size;
			rep.nchannels = h->channel_count;
			memcpy(rep.cpus, sh->cpus, sizeof(rep.cpus));
			pass[0] = ring_fd;
			pass[1] = s->mem_fd[idx];
		}
	} else if (req->op == VH_PROBE) {
		/* The core's answer, the module's too; attached or not. */
		struct vanity_probe p;
		unsigned int i;

		vanity_probe_fill(&p);
		rep.index = p.last_op;
		rep.nchannels = p.ops_len;
		for (i = 0; i < p.ops_len; i++)
			if (p.ops[i].flags & VANITY_PROBE_OP_SUPPORTED)
				rep.map_size |= 1ULL << i;
	} else if (req->op == VH_CHANNEL) {
		struct vanity_channel_info ci;

		if (c->shard < 0) {
			rep.err = -ENOTCONN;
		} else {
			/* The module's view; a foreign channel: role NONE, no fd. */
			rep.err = vanity_channel_view(s->img, req->name, 0,
						      (unsigned int)c->shard, &ci);
			if (!rep.err) {
				rep.index = ci.index;
				rep.role = ci.role;
				rep.map_size = s->chan_size[ci.index];
				rep.from = ci.from;
				rep.to = ci.to;
				rep.slot_size = ci.slot_size;
				rep.slots = ci.slots;
				if (ci.role != VANITY_ROLE_NONE)
					pass[0] = s->chan_fd[ci.index];
			}
		}
	} else {
		rep.err = -EINVAL;
	}
	sent = reply(c->fd, req->op, &rep, sizeof(rep), pass);
	/* The shard has its own fd now; the ring lives in our mapping. */
	if (ring_fd >= 0)
		close(ring_fd);
	return sent;
}

static void drop(struct vanity_sim *s, unsigned int ci)
{
	struct conn *c = &s->conns[ci];

	if (c->shard >= 0) {
		/* Its poller stops touching the ring before anything else. */
		vanity_sim_ring_stop(s->ring[c->shard]);
		s->ring[c->shard] = NULL;
		s->attached[c->shard] = -1;
	}
	close(c->fd);
	/* Keep indices stable for attached[]: move the last one here. */
	if (ci != --s->nconns) {
		*c = s->conns[s->nconns];
		if (c->shard >= 0)
			s->attached[c->shard] = (int)ci;
	}
}

/*
 * One received message of @len bytes on connection @ci: served, refused
 * in a reply, or (malformed: no size, a size that is not its length, less
 * than a request) the connection hung up. Returns whether it stays.
 */
static bool receive(struct vanity_sim *s, unsigned int ci, const uint8_t *msg,
		    size_t len)
{
	static const int none[2] = { -1, -1 };
	struct vh_req req;
	struct vh_rep rep;
	uint32_t size;
	uint16_t version, op;
	int ret;

	if (len < offsetof(struct vh_req, flags))
		return false;
	memcpy(&size, msg, sizeof(size));
	memcpy(&version, msg + offsetof(struct vh_req, version),
	       sizeof(version));
	memcpy(&op, msg + offsetof(struct vh_req, op), sizeof(op));
	if (size != len)
		return false;
	memset(&rep, 0, sizeof(rep));
	if (version != VH_VERSION) {
		/* Another protocol: say which one we speak, in the least reply. */
		rep.err = -EPROTONOSUPPORT;
		return reply(s->conns[ci].fd, op, &rep, VH_REP_SIZE_MIN, none);
	}
	ret = vh_read(&req, sizeof(req), msg, len, VH_REQ_SIZE_MIN, 1);
	if (ret == -EINVAL)
		return false;
	if (ret) {
		rep.err = ret;		/* a newer client's tail we do not know */
		return reply(s->conns[ci].fd, op, &rep, sizeof(rep), none);
	}
	return serve(s, ci, &req);
}

void vanity_sim_poll(struct vanity_sim *s, int timeout_ms)
{
	struct pollfd pfd[MAX_CONNS + 1];
	uint8_t msg[VH_MSG_MAX];
	unsigned int i, n;
	ssize_t r;
	int fd;

	/* Full: the listener waits, rather than waking every poll. */
	pfd[0].fd = s->nconns < MAX_CONNS ? s->lsock : -1;
	pfd[0].events = POLLIN;
	for (i = 0; i < s->nconns; i++) {
		pfd[i + 1].fd = s->conns[i].fd;
		pfd[i + 1].events = POLLIN;
	}
	n = s->nconns;
	if (poll(pfd, n + 1, timeout_ms) <= 0)
		return;
	/* Back to front: drop() moves the last connection into the hole. */
	for (i = n; i-- > 0;) {
		if (!pfd[i + 1].revents)
			continue;
		/* MSG_TRUNC: the real length of a message longer than any. */
		r = recv(s->conns[i].fd, msg, sizeof(msg),
			 MSG_DONTWAIT | MSG_TRUNC);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		/* Closed or died (detached), or malformed: hang up. */
		if (r <= 0 || (size_t)r > sizeof(msg) ||
		    !receive(s, i, msg, (size_t)r))
			drop(s, i);
	}
	if (pfd[0].revents & POLLIN) {
		while (s->nconns < MAX_CONNS &&
		       (fd = accept4(s->lsock, NULL, NULL,
				      SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
			s->conns[s->nconns].fd = fd;
			s->conns[s->nconns].shard = -1;
			s->conns[s->nconns].pid = 0;
			s->nconns++;
		}
	}
}

/* The ring fields GET reports for the module's shard @i. */
static void status_ring(const struct vanity_sim *s, unsigned int i,
			struct vanity_status_shard *o)
{
	const struct vanity_image_shard *d = vanity_image_shard(s->img, i);
	const struct vanity_ring_ctr *c = &s->ring_ctr[i];
	unsigned int op;

	o->ring_entries = vanity_ring_entries(d->ring_entries);
	o->sqpoll = vanity_sim_ring_sqpoll(s->ring[i]);
	/* Each written by its poller alone: a racy snapshot, as GET's. */
	o->submitted = __atomic_load_n(&c->submitted, __ATOMIC_RELAXED);
	o->completed = __atomic_load_n(&c->completed, __ATOMIC_RELAXED);
	o->overflows = __atomic_load_n(&c->overflows, __ATOMIC_RELAXED);
	o->poller_wakeups = __atomic_load_n(&c->poller_wakeups, __ATOMIC_RELAXED);
	for (op = 0; op < VANITY_OP_LAST; op++)
		o->ops[op] = __atomic_load_n(&c->ops[op], __ATOMIC_RELAXED);
}

int vanity_sim_status(const struct vanity_sim *s, struct vanity_status *st)
{
	const struct vanity_image_hdr *h = vanity_image_hdr(s->img);
	unsigned int i;

	memset(st, 0, sizeof(*st));
	snprintf(st->name, sizeof(st->name), "%s", h->name);
	st->nshards = h->shard_count;
	st->nchannels = h->channel_count;
	for (i = 0; i < h->shard_count; i++) {
		const struct vanity_image_shard *d = vanity_image_shard(s->img, i);
		struct vanity_status_shard *o = &st->shards[i];
		const char *prog = vanity_image_str(s->img, d->program);

		o->index = i;
		snprintf(o->name, sizeof(o->name), "%s", d->name);
		memcpy(o->cpus, d->cpus, sizeof(o->cpus));
		o->memory = d->memory_size;
		o->uid = shard_owner(s, d);
		if (s->attached[i] >= 0)
			o->pid = (uint32_t)s->conns[s->attached[i]].pid;
		if (prog)
			snprintf(o->program, sizeof(o->program), "%s", prog);
		status_ring(s, i, o);
	}
	for (i = 0; i < h->channel_count; i++) {
		const struct vanity_image_channel *d = vanity_image_channel(s->img, i);
		const struct vanity_chan_hdr *ch = s->chan_map[i];
		struct vanity_status_channel *o = &st->channels[i];
		struct vanity_chan_hdr snap;

		o->index = i;
		snprintf(o->name, sizeof(o->name), "%s", d->name);
		o->from = d->from;
		o->to = d->to;
		o->slot_size = d->slot_size;
		o->slots = d->slots;
		o->size = s->chan_size[i];
		/* Shard-written words, read as they are, as GET does. */
		o->head = __atomic_load_n(&ch->head, __ATOMIC_RELAXED);
		o->tail = __atomic_load_n(&ch->tail, __ATOMIC_RELAXED);
		o->sent = __atomic_load_n(&ch->prod.msgs, __ATOMIC_RELAXED);
		o->received = __atomic_load_n(&ch->cons.msgs, __ATOMIC_RELAXED);
		/* The core's definition, the module's too. */
		snap.prod.sleeps = __atomic_load_n(&ch->prod.sleeps, __ATOMIC_RELAXED);
		snap.cons.sleeps = __atomic_load_n(&ch->cons.sleeps, __ATOMIC_RELAXED);
		snap.prod.wakeups = __atomic_load_n(&ch->prod.wakeups, __ATOMIC_RELAXED);
		snap.cons.wakeups = __atomic_load_n(&ch->cons.wakeups, __ATOMIC_RELAXED);
		vanity_chan_bell_counts(&snap,
					__atomic_load_n(&s->chans[i].eng.notifies,
							__ATOMIC_RELAXED),
					&o->sleeps, &o->wakeups);
	}
	return 0;
}

void vanity_sim_stop(struct vanity_sim *s)
{
	unsigned int i;

	if (!s)
		return;
	while (s->nconns)
		drop(s, s->nconns - 1);
	for (i = 0; i < VANITY_MAX_SHARDS; i++)
		if (s->mem_fd[i] >= 0)
			close(s->mem_fd[i]);
	for (i = 0; i < VANITY_MAX_CHANNELS; i++) {
		if (s->chan_map[i])
			munmap(s->chan_map[i], s->chan_size[i]);
		if (s->chan_fd[i] >= 0)
			close(s->chan_fd[i]);
	}
	if (s->lsock >= 0) {
		close(s->lsock);
		unlink(s->path);
	}
	if (s->dir[0] && strcmp(s->dir, "/tmp/vanity-XXXXXX"))
		rmdir(s->dir);
	free(s->img);
	free(s);
}
