// SPDX-License-Identifier: GPL-2.0
/*
 * storage: the storage service shard. It serves 4 KiB block requests from
 * client shards over channels (proto.h) on one of two backends, chosen by
 * what the manifest gives it:
 *   --device NAME  a passed NVMe controller, driven by the polled driver
 *                  (nvme.h) with one I/O queue pair; the controller moves
 *                  the data straight to and from the clients' arenas
 *   --file PATH    a file, through io_uring (the hosted simulator passes
 *                  no device); reads and writes land in the same arenas
 * Every request is checked before anything is sent to the backend; a bad
 * one completes with an error. Completions go out as they finish, with the
 * request's tag.
 *
 * Restart safety: each request taken is journalled in the private region
 * (which outlives the process) with its position in its request channel,
 * and each completion with its position in the completion channel before
 * it is published. A storage shard killed anywhere and started again
 * drops journal entries whose request was never released (it reads them
 * again), resubmits the ones in flight, and re-posts completions that were
 * not published, so every request completes exactly once.
 *
 * storage (--device NAME | --file PATH [--size BYTES]) --client NAME...
 *         [--qd N] [--io-timeout-ms N] [--die-after N MARKER]
 *
 * --die-after (for tests): unless file MARKER exists, create it and
 * SIGKILL this process right after the Nth request went to the backend,
 * so that requests are surely in flight at the kill.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <liburing.h>
#include <vanity.h>

#include "nvme.h"
#include "proto.h"

#define MAX_CLIENTS	8
#define NSLOTS		256		/* requests in flight, all clients */
#define STATE_MAGIC	0x53544f5256303031ULL	/* "STORV001" */
#define BURST		32

enum { S_FREE, S_TAKEN, S_POSTING };

/* One request from its taking to its completion's publication. */
struct jslot {
	uint32_t state;
	uint16_t client;
	uint16_t resv;
	uint32_t req_pos;		/* its position in the request channel */
	uint32_t cpl_pos;		/* S_POSTING: its completion's position */
	struct stor_req req;
	struct stor_cpl cpl;
};

struct ctrs {
	uint64_t served, refused, reads, writes, flushes, backend_cmds;
	uint64_t backend_errors, resubmitted, reposted, dropped;
};

/* In the private region, at offset 0: survives a killed process. */
struct journal {
	uint64_t magic;
	uint64_t starts;
	uint32_t nclients;
	uint32_t closed;		/* clients that sent CLOSE, a bit each */
	char clients[MAX_CLIENTS][VANITY_NAME_MAX];
	struct ctrs c;
	struct jslot slot[NSLOTS];
};

struct client {
	struct vanity_channel *req, *cpl, *data;
	uint8_t *arena;
	uint64_t arena_iova;
	uint32_t nbufs;
	uint32_t outstanding;		/* journal slots held */
	int closed;
	int broken;			/* it broke the completion credit: not served */
};

struct stor;

/* What a backend does; the service decides everything else. */
struct backend_ops {
	const char *name;
	/* Send request @j (checked) to the backend: 0, -EAGAIN (full), -errno. */
	int (*submit)(struct stor *s, uint32_t j);
	/* Hand what submit() queued to the backend now. */
	void (*kick)(struct stor *s);
	/* Reap finished requests: calls done() for each; how many. */
	int (*reap)(struct stor *s);
	/* At exit: flush and release. */
	int (*close)(struct stor *s);
};

struct stor {
	struct vanity *v;
	struct journal *jn;
	struct client cl[MAX_CLIENTS];
	unsigned int ncl;
	uint32_t free[NSLOTS], nfree;
	uint64_t capacity;		/* blocks */
	uint32_t max_blocks;		/* per request: the backend's limit */
	const struct backend_ops *ops;
	/* nvme */
	struct vanity_device *dev;
	struct nvme_ctrl nc;
	struct nvme_cmd *cmds;
	uint16_t *cids;
	/* file */
	int fd;
	struct io_uring ring;
	unsigned int ring_pending;
};

static volatile sig_atomic_t stopping;
static unsigned long long die_after;
static const char *die_marker;

/* --die-after: requests are in flight now; die once per marker. */
static void maybe_die(struct stor *s)
{
	int fd;

	if (!die_after || s->jn->c.backend_cmds != die_after)
		return;
	fd = open(die_marker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return;		/* died once already */
	close(fd);
	s->ops->kick(s);
	raise(SIGKILL);
}

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static int is_released(const struct vanity_channel *ch, uint32_t pos)
{
	/* Released by us: the consumer position has passed it. */
	return (int32_t)(pos - __atomic_load_n(&ch->hdr->tail, __ATOMIC_ACQUIRE)) < 0;
}

static int is_published(const struct vanity_channel *ch, uint32_t pos)
{
	return (int32_t)(pos - __atomic_load_n(&ch->hdr->head, __ATOMIC_ACQUIRE)) < 0;
}

/* ------------------------------------------------------------ completion */
/* Publish slot @j's completion (room was reserved when it was taken). */
static void post(struct stor *s, uint32_t j)
{
	struct jslot *sl = &s->jn->slot[j];
	struct client *c = &s->cl[sl->client];
	unsigned int room = vanity_reserve(c->cpl, 1);

	int closing = sl->req.op == STOR_OP_CLOSE && !sl->cpl.status;

	if (!room) {
		/*
		 * A request is taken only with room for its completion, so
		 * the client moved its consumer position back: it is not
		 * served any more, and the others go on.
		 */
		if (!c->broken)
			vanity_log(s->v, VANITY_LOG_ERR,
				   "storage: client %s: %s_cpl has no room for a completion it was promised; "
				   "it is not served any more", s->jn->clients[sl->client],
				   s->jn->clients[sl->client]);
		c->broken = 1;
	} else {
		memcpy(vanity_slot(c->cpl, 0), &sl->cpl, sizeof(sl->cpl));
		sl->cpl_pos = c->cpl->pos;
		__atomic_store_n(&sl->state, S_POSTING, __ATOMIC_RELEASE);
		/* Before the publication: a restart must know it closed. */
		if (closing)
			__atomic_fetch_or(&s->jn->closed, 1u << sl->client, __ATOMIC_RELEASE);
		vanity_commit(c->cpl, 1);
	}
	__atomic_store_n(&sl->state, S_FREE, __ATOMIC_RELEASE);
	c->outstanding--;
	s->free[s->nfree++] = j;
	if (closing)
		c->closed = 1;
}

static void complete(struct stor *s, uint32_t j, int status, uint64_t value)
{
	struct jslot *sl = &s->jn->slot[j];

	memset(&sl->cpl, 0, sizeof(sl->cpl));
	sl->cpl.tag = sl->req.tag;
	sl->cpl.status = status;
	sl->cpl.value = value;
	s->jn->c.served++;
	post(s, j);
}

/* A backend finished slot @j with @status. */
static void done(struct stor *s, uint32_t j, int status)
{
	if (status < 0)
		s->jn->c.backend_errors++;
	complete(s, j, status, 0);
}

/* ------------------------------------------------------------ checking */
/* Whether @r may go to the backend: 0, or the errno its completion says. */
static int check(const struct stor *s, const struct client *c,
		 const struct stor_req *r)
{
	switch (r->op) {
	case STOR_OP_READ:
	case STOR_OP_WRITE:
		if (r->flags || r->resv)
			return -EINVAL;
		if (!r->nblocks || r->nblocks > s->max_blocks)
			return -EINVAL;
		if (r->buf >= c->nbufs || r->nblocks > c->nbufs - r->buf)
			return -EINVAL;
		if (r->lba >= s->capacity || r->nblocks > s->capacity - r->lba)
			return -ERANGE;
		return 0;
	case STOR_OP_FLUSH:
	case STOR_OP_INFO:
	case STOR_OP_CLOSE:
		if (r->flags || r->resv || r->nblocks || r->buf || r->lba)
			return -EINVAL;
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

/*
 * Act on journalled request @j: refuse it, answer it, or send it to the
 * backend. -EAGAIN: the backend is full, try again later.
 */
static int start(struct stor *s, uint32_t j)
{
	struct jslot *sl = &s->jn->slot[j];
	const struct stor_req *r = &sl->req;
	int err = check(s, &s->cl[sl->client], r), ret;

	if (err) {
		s->jn->c.refused++;
		complete(s, j, err, 0);
		return 0;
	}
	if (r->op == STOR_OP_INFO || r->op == STOR_OP_CLOSE) {
		complete(s, j, 0, r->op == STOR_OP_INFO ? s->capacity : 0);
		return 0;
	}
	ret = s->ops->submit(s, j);
	if (ret == -EAGAIN)
		return ret;
	if (ret) {
		s->jn->c.backend_errors++;
		complete(s, j, ret, 0);
		return 0;
	}
	s->jn->c.backend_cmds++;
	if (r->op == STOR_OP_READ)
		s->jn->c.reads++;
	else if (r->op == STOR_OP_WRITE)
		s->jn->c.writes++;
	else
		s->jn->c.flushes++;
	maybe_die(s);
	return 0;
}

/* ------------------------------------------------------------ nvme */
static int nvme_submit_slot(struct stor *s, uint32_t j)
{
	const struct jslot *sl = &s->jn->slot[j];
	const struct stor_req *r = &sl->req;
	const struct client *c = &s->cl[sl->client];
	uint32_t per = STOR_BLOCK >> s->nc.lba_shift;	/* device blocks per block */

	if (r->op == STOR_OP_FLUSH) {
		if (!s->nc.vwc)		/* no volatile cache: nothing to flush */
			return -EALREADY;
		return nvme_submit(&s->nc, NVME_OPC_FLUSH, 0, 0, 0, j);
	}
	return nvme_submit(&s->nc, r->op == STOR_OP_READ ? NVME_OPC_READ : NVME_OPC_WRITE,
			   r->lba * per, (uint32_t)r->nblocks * per,
			   c->arena_iova + (uint64_t)r->buf * STOR_BLOCK, j);
}

static int nvme_submit_op(struct stor *s, uint32_t j)
{
	int ret = nvme_submit_slot(s, j);

	if (ret == -EALREADY) {
		done(s, j, 0);
		return 0;
	}
	return ret;
}

static void nvme_kick(struct stor *s)
{
	nvme_ring(&s->nc);
}

static int nvme_reap(struct stor *s)
{
	struct nvme_done d[BURST];
	int n = nvme_poll(&s->nc, d, BURST), i;

	for (i = 0; i < n; i++)
		done(s, (uint32_t)d[i].user, d[i].status);
	return n;
}

static int nvme_close_op(struct stor *s)
{
	int ret = nvme_shutdown(&s->nc);

	if (ret)
		vanity_log(s->v, VANITY_LOG_ERR, "storage: %s", s->nc.err);
	return ret;
}

static const struct backend_ops nvme_ops = {
	.name = "nvme",
	.submit = nvme_submit_op,
	.kick = nvme_kick,
	.reap = nvme_reap,
	.close = nvme_close_op,
};

static int nvme_open(struct stor *s, const char *name, void *priv, size_t plen,
		     size_t used, uint32_t qd, uint32_t timeout_ms)
{
	struct nvme_opts o = { .depth = qd + 1, .max_pages = STOR_MAX_BLOCKS,
			       .io_timeout_ms = timeout_ms };
	const struct vanity_device_info *info;
	struct nvme_dma mem;
	volatile void *bar;
	size_t bar_len, need = nvme_mem_need(&o);
	unsigned int i;
	int ret;

	ret = vanity_device_get(s->v, name, &s->dev);
	if (ret) {
		vanity_log(s->v, VANITY_LOG_ERR, "storage: device %s: %s", name, strerror(-ret));
		return ret;
	}
	info = vanity_device_info(s->dev);
	if (info->class >> 8 != 0x0108 || (info->class & 0xff) != 0x02) {
		vanity_log(s->v, VANITY_LOG_ERR,
			   "storage: device %s is class 0x%06x, not an NVMe controller (0x010802)",
			   name, info->class);
		return -EOPNOTSUPP;
	}
	ret = vanity_device_bar(s->dev, 0, &bar, &bar_len);
	if (ret) {
		vanity_log(s->v, VANITY_LOG_ERR, "storage: device %s: BAR 0: %s", name,
			   strerror(-ret));
		return ret;
	}
	used = (used + NVME_PAGE - 1) & ~(size_t)(NVME_PAGE - 1);
	if (plen < used || plen - used < need) {
		vanity_log(s->v, VANITY_LOG_ERR,
			   "storage: the private region has %zu bytes, %zu wanted (memory = in the manifest)",
			   plen, used + need);
		return -ENOSPC;
	}
	mem.va = (uint8_t *)priv + used;
	mem.len = need;
	ret = vanity_device_iova(s->dev, mem.va, need, &mem.iova);
	if (ret) {
		vanity_log(s->v, VANITY_LOG_ERR,
			   "storage: device %s may not DMA into the private region (dma = private): %s",
			   name, strerror(-ret));
		return ret;
	}
	for (i = 0; i < s->ncl; i++) {
		ret = vanity_device_iova(s->dev, s->cl[i].arena,
					 (size_t)s->cl[i].nbufs * STOR_BLOCK, &s->cl[i].arena_iova);
		if (ret) {
			vanity_log(s->v, VANITY_LOG_ERR,
				   "storage: device %s may not DMA into %s_data (add it to dma =): %s",
				   name, s->jn->clients[i], strerror(-ret));
			return ret;
		}
	}
	s->cmds = calloc(o.depth, sizeof(*s->cmds));
	s->cids = calloc(o.depth, sizeof(*s->cids));
	if (!s->cmds || !s->cids)
		return -ENOMEM;
	ret = nvme_init(&s->nc, bar, bar_len, info->bars[0].hole_offset, info->bars[0].hole_size,
			&mem, &o, s->cmds, s->cids);
	if (ret) {
		vanity_log(s->v, VANITY_LOG_ERR, "storage: device %s: %s", name, s->nc.err);
		return ret;
	}
	if (s->nc.lba_shift > 12) {
		vanity_log(s->v, VANITY_LOG_ERR, "storage: blocks of %u bytes", nvme_lba_size(&s->nc));
		return -EOPNOTSUPP;
	}
	s->capacity = s->nc.nsze >> (12 - s->nc.lba_shift);
	/* MDTS may allow less than the protocol's most. */
	s->max_blocks = s->nc.max_pages < STOR_MAX_BLOCKS ? s->nc.max_pages : STOR_MAX_BLOCKS;
	s->ops = &nvme_ops;
	vanity_log(s->v, VANITY_LOG_INFO,
		   "storage: %s: %s (sn %s, fw %s), namespace %u: %llu blocks of %u bytes, "
		   "queue depth %u, %u KiB per command, doorbell stride %u, write cache %s",
		   name, s->nc.mn, s->nc.sn, s->nc.fr, s->nc.nsid,
		   (unsigned long long)s->nc.nsze, nvme_lba_size(&s->nc), s->nc.depth - 1,
		   s->nc.max_pages * 4, s->nc.dstrd, s->nc.vwc ? "yes" : "no");
	return 0;
}

/* ------------------------------------------------------------ file */
static int file_submit(struct stor *s, uint32_t j)
{
	const struct jslot *sl = &s->jn->slot[j];
	const struct stor_req *r = &sl->req;
	const struct client *c = &s->cl[sl->client];
	struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);
	void *buf = c->arena + (size_t)r->buf * STOR_BLOCK;
	unsigned int len = (unsigned int)r->nblocks * STOR_BLOCK;

	if (!sqe)
		return -EAGAIN;
	if (r->op == STOR_OP_READ)
		io_uring_prep_read(sqe, s->fd, buf, len, r->lba * STOR_BLOCK);
	else if (r->op == STOR_OP_WRITE)
		io_uring_prep_write(sqe, s->fd, buf, len, r->lba * STOR_BLOCK);
	else
		io_uring_prep_fsync(sqe, s->fd, IORING_FSYNC_DATASYNC);
	io_uring_sqe_set_data64(sqe, j);
	s->ring_pending++;
	return 0;
}

static void file_kick(struct stor *s)
{
	if (s->ring_pending) {
		int ret = io_uring_submit(&s->ring);

		if (ret > 0)
			s->ring_pending -= (unsigned int)ret;
	}
}

static int file_reap(struct stor *s)
{
	struct io_uring_cqe *cqe;
	int n = 0;

	file_kick(s);
	while (n < BURST && !io_uring_peek_cqe(&s->ring, &cqe)) {
		uint32_t j = (uint32_t)io_uring_cqe_get_data64(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&s->ring, cqe);
		if (j >= NSLOTS || s->jn->slot[j].state != S_TAKEN)
			continue;
		if (res >= 0 && s->jn->slot[j].req.op != STOR_OP_FLUSH &&
		    (unsigned int)res != (unsigned int)s->jn->slot[j].req.nblocks * STOR_BLOCK)
			res = -EIO;	/* short: the file shrank under us */
		done(s, j, res < 0 ? res : 0);
		n++;
	}
	return n;
}

static int file_close(struct stor *s)
{
	int ret = fdatasync(s->fd) ? -errno : 0;

	io_uring_queue_exit(&s->ring);
	close(s->fd);
	return ret;
}

static const struct backend_ops file_ops = {
	.name = "file",
	.submit = file_submit,
	.kick = file_kick,
	.reap = file_reap,
	.close = file_close,
};

static int file_open(struct stor *s, const char *path, unsigned long long size)
{
	struct stat st;
	int ret;

	s->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->fd < 0 || fstat(s->fd, &st)) {
		ret = -errno;
		vanity_log(s->v, VANITY_LOG_ERR, "storage: %s: %s", path, strerror(errno));
		return ret;
	}
	if (size && (unsigned long long)st.st_size < size && ftruncate(s->fd, (off_t)size)) {
		ret = -errno;
		vanity_log(s->v, VANITY_LOG_ERR, "storage: %s: grow to %llu bytes: %s", path, size,
			   strerror(errno));
		return ret;
	}
	if (!size)
		size = (unsigned long long)st.st_size;
	else if ((unsigned long long)st.st_size > size)
		size = (unsigned long long)st.st_size;
	s->capacity = size / STOR_BLOCK;
	s->max_blocks = STOR_MAX_BLOCKS;
	if (!s->capacity) {
		vanity_log(s->v, VANITY_LOG_ERR, "storage: %s: empty (--size)", path);
		return -EINVAL;
	}
	ret = io_uring_queue_init(NSLOTS, &s->ring, 0);
	if (ret) {
		vanity_log(s->v, VANITY_LOG_ERR, "storage: io_uring: %s", strerror(-ret));
		return ret;
	}
	s->ops = &file_ops;
	vanity_log(s->v, VANITY_LOG_INFO, "storage: file %s: %llu blocks, io_uring", path,
		   (unsigned long long)s->capacity);
	return 0;
}

/* ------------------------------------------------------------ channels */
static int client_open(struct stor *s, unsigned int i, const char *name)
{
	struct client *c = &s->cl[i];
	char ch[VANITY_NAME_MAX + 8];
	struct vanity_channel **slots[3] = { &c->req, &c->cpl, &c->data };
	static const char *const sfx[3] = { "req", "cpl", "data" };
	static const uint32_t want[3] = { STOR_SLOT, STOR_SLOT, STOR_BLOCK };
	int k, ret;

	for (k = 0; k < 3; k++) {
		snprintf(ch, sizeof(ch), "%s_%s", name, sfx[k]);
		ret = vanity_channel_get(s->v, ch, slots[k]);
		if (ret) {
			vanity_log(s->v, VANITY_LOG_ERR, "storage: client %s: channel %s: %s",
				   name, ch, strerror(-ret));
			return ret;
		}
		if ((*slots[k])->slot_size != want[k] ||
		    (*slots[k])->role != (k == 1 ? VANITY_ROLE_FROM : VANITY_ROLE_TO)) {
			vanity_log(s->v, VANITY_LOG_ERR,
				   "storage: client %s: channel %s: want %u-byte slots from %s",
				   name, ch, want[k], k == 1 ? "storage" : "the client");
			return -EINVAL;
		}
	}
	/* From the library's checked geometry, never the peer's header. */
	c->arena = c->data->data;
	c->nbufs = stor_arena_bufs(c->data->size,
				   (size_t)(c->data->data - (uint8_t *)c->data->region));
	if (!c->nbufs) {
		vanity_log(s->v, VANITY_LOG_ERR, "storage: client %s: %s_data holds no buffer",
			   name, name);
		return -EINVAL;
	}
	return 0;
}

/* ------------------------------------------------------------ journal */
/*
 * A fresh journal, or the previous run's rolled forward: entries whose
 * request was never released are dropped (the request is read again),
 * completions not yet published are published, and what was in flight is
 * started again once the backend is up.
 */
static void journal_load(struct stor *s, char *const *names, unsigned int n, int *fresh)
{
	struct journal *jn = s->jn;
	unsigned int i;

	*fresh = jn->magic != STATE_MAGIC || jn->nclients != n;
	for (i = 0; !*fresh && i < n; i++)
		*fresh = strncmp(jn->clients[i], names[i], VANITY_NAME_MAX) != 0;
	if (*fresh) {
		memset(jn, 0, sizeof(*jn));
		jn->nclients = n;
		for (i = 0; i < n; i++)
			snprintf(jn->clients[i], VANITY_NAME_MAX, "%s", names[i]);
		jn->magic = STATE_MAGIC;
	}
	jn->starts++;
}

static void journal_roll(struct stor *s, uint32_t *restart, unsigned int *nrestart)
{
	struct journal *jn = s->jn;
	uint32_t j;

	*nrestart = 0;
	s->nfree = 0;
	for (j = NSLOTS; j-- > 0;) {
		struct jslot *sl = &jn->slot[j];
		struct client *c = sl->client < s->ncl ? &s->cl[sl->client] : NULL;

		if (sl->state != S_TAKEN && sl->state != S_POSTING)
			sl->state = S_FREE;
		if (sl->state != S_FREE && !c)
			sl->state = S_FREE;	/* not a slot we could have written */
		if (sl->state == S_TAKEN && !is_released(c->req, sl->req_pos)) {
			sl->state = S_FREE;	/* it is still in the channel */
			jn->c.dropped++;
		} else if (sl->state == S_POSTING && is_published(c->cpl, sl->cpl_pos)) {
			sl->state = S_FREE;	/* the client has it */
		}
		if (sl->state == S_FREE) {
			s->free[s->nfree++] = j;
			continue;
		}
		c->outstanding++;
		restart[(*nrestart)++] = j;
	}
}

/* ------------------------------------------------------------ serving */
/* Take what client @i sent and we have room to answer: how many. */
static unsigned int take(struct stor *s, unsigned int i)
{
	struct client *c = &s->cl[i];
	uint32_t taken[BURST];
	unsigned int room, n, k;

	if (c->closed || c->broken)
		return 0;
	room = vanity_reserve(c->cpl, c->outstanding + BURST);
	room = room > c->outstanding ? room - c->outstanding : 0;
	if (room > s->nfree)
		room = s->nfree;
	n = vanity_peek(c->req, room < BURST ? room : BURST);
	for (k = 0; k < n; k++) {
		uint32_t j = s->free[--s->nfree];
		struct jslot *sl = &s->jn->slot[j];

		taken[k] = j;
		memcpy(&sl->req, vanity_peek_slot(c->req, k), sizeof(sl->req));
		sl->client = (uint16_t)i;
		sl->req_pos = c->req->pos + k;
		__atomic_store_n(&sl->state, S_TAKEN, __ATOMIC_RELEASE);
		c->outstanding++;
	}
	vanity_release(c->req, n);
	/* Started after the release: the journal holds them now. */
	for (k = 0; k < n; k++)
		while (start(s, taken[k]) == -EAGAIN)
			s->ops->reap(s);
	return n;
}

/* Sleep until a request channel has something, when nothing is in flight. */
static void idle_wait(struct stor *s)
{
	struct vanity_ring *r = vanity_ring(s->v);
	struct vanity_sqe *sqe;
	struct vanity_cqe *cqe;
	uint32_t base = UINT32_MAX, top = 0;
	uint64_t mask = 0;
	unsigned int i;

	for (i = 0; i < s->ncl; i++) {
		if (s->cl[i].closed || s->cl[i].broken)
			continue;
		if (s->cl[i].req->index < base)
			base = s->cl[i].req->index;
		if (s->cl[i].req->index > top)
			top = s->cl[i].req->index;
	}
	if (base == UINT32_MAX)
		return;
	if (!r || top - base >= 64) {
		for (i = 0; i < s->ncl; i++)
			if (!s->cl[i].closed && !s->cl[i].broken) {
				vanity_wait_data(s->cl[i].req, 50 * 1000000LL);
				return;
			}
		return;
	}
	for (i = 0; i < s->ncl; i++)
		if (!s->cl[i].closed && !s->cl[i].broken)
			mask |= 1ULL << (s->cl[i].req->index - base);
	sqe = vanity_get_sqe(r);
	if (!sqe)
		return;
	vanity_prep_wait(sqe, base, mask, 50 * 1000000LL, 1);
	if (vanity_submit(r) < 0)
		return;
	if (!vanity_wait_cqe(r, &cqe))
		vanity_cqe_seen(r);
}

static int serve(struct stor *s)
{
	unsigned int i, open, got, inflight;
	int spins = 0;

	for (;;) {
		got = 0;
		open = 0;
		for (i = 0; i < s->ncl; i++) {
			got += take(s, i);
			open += !s->cl[i].closed && !s->cl[i].broken;
		}
		got += (unsigned int)s->ops->reap(s);
		inflight = NSLOTS - s->nfree;
		vanity_loop_tick();
		if (got) {
			spins = 0;
			continue;
		}
		vanity_loop_idle();
		if (!open && !inflight)
			return 0;
		if (stopping && !inflight)
			return 0;
		/* Nothing in flight: poll a while, then sleep on the channels. */
		if (!inflight && ++spins > 20000) {
			idle_wait(s);
			spins = 0;
		}
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: storage (--device NAME | --file PATH [--size BYTES]) --client NAME...\n"
		   "               [--qd N] [--io-timeout-ms N] [--die-after N MARKER]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "file", required_argument, NULL, 'f' },
		{ "size", required_argument, NULL, 's' },
		{ "client", required_argument, NULL, 'c' },
		{ "qd", required_argument, NULL, 'q' },
		{ "io-timeout-ms", required_argument, NULL, 't' },
		{ "die-after", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	static struct stor s;
	char *names[MAX_CLIENTS];
	const char *device = NULL, *file = NULL;
	unsigned long long size = 0;
	unsigned long qd = 64, tmo = 5000;
	uint32_t restart[NSLOTS];
	unsigned int nrestart, n = 0, k;
	struct sigaction sa = { .sa_handler = on_signal };
	size_t plen;
	void *priv;
	int opt, fresh, ret;
	char *end;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'd': device = optarg; break;
		case 'f': file = optarg; break;
		case 's':
			size = strtoull(optarg, &end, 0);
			if (*end == 'K' || *end == 'k')
				size <<= 10, end++;
			else if (*end == 'M' || *end == 'm')
				size <<= 20, end++;
			else if (*end == 'G' || *end == 'g')
				size <<= 30, end++;
			if (*end || !size) {
				fprintf(stderr, "storage: --size: bytes, with K, M or G\n");
				return 2;
			}
			break;
		case 'c':
			if (n == MAX_CLIENTS) {
				fprintf(stderr, "storage: %d clients at most\n", MAX_CLIENTS);
				return 2;
			}
			names[n++] = optarg;
			break;
		case 'q':
			qd = strtoul(optarg, &end, 0);
			if (*end || qd < 1 || qd > NSLOTS) {
				fprintf(stderr, "storage: --qd wants 1..%d\n", NSLOTS);
				return 2;
			}
			break;
		case 't':
			tmo = strtoul(optarg, &end, 0);
			if (*end || tmo < 1 || tmo > 600000) {
				fprintf(stderr, "storage: --io-timeout-ms wants 1..600000\n");
				return 2;
			}
			break;
		case 'k':
			die_after = strtoull(optarg, &end, 0);
			if (*end || !die_after || optind >= argc) {
				fprintf(stderr, "storage: --die-after N MARKER\n");
				return 2;
			}
			die_marker = argv[optind++];
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || !n || !device == !file) {
		usage(stderr);
		return 2;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	ret = vanity_attach(NULL, &s.v);
	if (ret) {
		vanity_log(NULL, VANITY_LOG_ERR, "storage: attach: %s", strerror(-ret));
		return 1;
	}
	vanity_memory(s.v, &priv, &plen);
	if (plen < sizeof(struct journal)) {
		vanity_log(s.v, VANITY_LOG_ERR,
			   "storage: the private region has %zu bytes, %zu wanted for the journal",
			   plen, sizeof(struct journal));
		return 1;
	}
	s.jn = priv;
	for (k = 0; k < n; k++)
		if (client_open(&s, k, names[k]))
			return 1;
	s.ncl = n;
	journal_load(&s, names, n, &fresh);
	ret = device ? nvme_open(&s, device, priv, plen, sizeof(struct journal),
				 (uint32_t)qd, (uint32_t)tmo) :
		       file_open(&s, file, size);
	if (ret)
		return 1;
	for (k = 0; k < n; k++)
		s.cl[k].closed = !!(s.jn->closed & (1u << k));
	journal_roll(&s, restart, &nrestart);
	if (!fresh)
		vanity_log(s.v, VANITY_LOG_INFO,
			   "storage: start %llu: %u requests of the last run to finish",
			   (unsigned long long)s.jn->starts, nrestart);
	/*
	 * Unpublished completions first, each at the position it was written
	 * at (its client may have read it already: the slot's seq is stored
	 * before head), then what was in flight, whose completions follow.
	 */
	for (k = 0; k < nrestart; k++)
		if (s.jn->slot[restart[k]].state == S_POSTING) {
			s.jn->c.reposted++;
			post(&s, restart[k]);
		}
	for (k = 0; k < nrestart; k++) {
		uint32_t j = restart[k];

		if (s.jn->slot[j].state != S_TAKEN)
			continue;
		s.jn->c.resubmitted++;
		while (start(&s, j) == -EAGAIN)
			s.ops->reap(&s);
	}

	ret = serve(&s);
	ret = s.ops->close(&s) ?: ret;
	vanity_log(s.v, VANITY_LOG_INFO,
		   "{\"shard\":\"%s\",\"backend\":\"%s\",\"capacity\":%llu,\"starts\":%llu,"
		   "\"served\":%llu,\"refused\":%llu,\"reads\":%llu,\"writes\":%llu,"
		   "\"flushes\":%llu,\"backend_cmds\":%llu,\"backend_errors\":%llu,"
		   "\"resubmitted\":%llu,\"reposted\":%llu,\"dropped\":%llu,\"resets\":%llu,"
		   "\"timeouts\":%llu,\"retried\":%llu}",
		   vanity_shard_name(s.v), s.ops->name, (unsigned long long)s.capacity,
		   (unsigned long long)s.jn->starts, (unsigned long long)s.jn->c.served,
		   (unsigned long long)s.jn->c.refused, (unsigned long long)s.jn->c.reads,
		   (unsigned long long)s.jn->c.writes, (unsigned long long)s.jn->c.flushes,
		   (unsigned long long)s.jn->c.backend_cmds,
		   (unsigned long long)s.jn->c.backend_errors,
		   (unsigned long long)s.jn->c.resubmitted, (unsigned long long)s.jn->c.reposted,
		   (unsigned long long)s.jn->c.dropped, (unsigned long long)s.nc.st.resets,
		   (unsigned long long)s.nc.st.timeouts, (unsigned long long)s.nc.st.retried);
	/* The next run starts with a fresh journal: nothing is owed. */
	s.jn->magic = 0;
	vanity_detach(s.v);
	return ret ? 1 : 0;
}
