// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The shard's side of the run page (vanity/log.h): mapping the page that
 * `vanityctl run` handed over in $VANITY_RUN_FD, the log ring's producer,
 * vanity_log() with its stderr fallback, and the loop counters' home.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vanity.h"
#include "lib.h"

_Static_assert(sizeof(struct vanity_runpage_hdr) == 256, "run page header");
_Static_assert(offsetof(struct vanity_runpage_hdr, loop) == 64, "loop line");
_Static_assert(offsetof(struct vanity_runpage_hdr, head) == 128, "producer line");
_Static_assert(offsetof(struct vanity_runpage_hdr, tail) == 192, "consumer line");
_Static_assert(sizeof(struct vanity_log_rec) == 16, "record header");
_Static_assert(VANITY_LOG_REC_BYTES(VANITY_LOG_MSG_MAX) <= VANITY_LOG_RING_MIN / 2,
	       "two records of the longest text fit the smallest ring");

/* Until a page is mapped (and in a forked child): counted here. */
static struct vanity_loop_ctrs local_loop __attribute__((aligned(64)));
struct vanity_loop_ctrs *vanity__loop = &local_loop;

/* The process's producer: one at a time, under the lock. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vanity__logprod prod;
static bool prod_bound;
static void *page_map;
static size_t page_len;

/* @n bytes from @src into the ring at free-running position @pos. */
static void ring_put(const struct vanity__logprod *p, uint32_t pos,
		     const void *src, uint32_t n)
{
	uint32_t off = pos & (p->ring_size - 1);
	uint32_t first = p->ring_size - off < n ? p->ring_size - off : n;

	memcpy(p->ring + off, src, first);
	memcpy(p->ring, (const uint8_t *)src + first, n - first);
}

int vanity__logprod_bind(struct vanity__logprod *p, void *page, size_t len)
{
	struct vanity_runpage_hdr h;

	if (!page || len < VANITY_RUNPAGE_HDR_SIZE + VANITY_LOG_RING_MIN)
		return -EINVAL;
	/* One read of the geometry; from here on only the copy counts. */
	memcpy(&h, page, offsetof(struct vanity_runpage_hdr, loop));
	if (h.magic != VANITY_RUNPAGE_MAGIC)
		return -EPROTO;
	if (h.version != VANITY_RUNPAGE_VERSION)
		return -EPROTONOSUPPORT;
	if (h.hdr_size != VANITY_RUNPAGE_HDR_SIZE ||
	    h.ring_size < VANITY_LOG_RING_MIN || h.ring_size > VANITY_LOG_RING_MAX ||
	    (h.ring_size & (h.ring_size - 1)) ||
	    h.size != h.hdr_size + h.ring_size || h.size > len ||
	    h.msg_max < 64 || h.msg_max > VANITY_LOG_MSG_MAX)
		return -EPROTO;
	p->hdr = page;
	p->ring = (uint8_t *)page + h.hdr_size;
	p->ring_size = h.ring_size;
	p->msg_max = h.msg_max;
	/* Continue after what an earlier process of this shard published. */
	p->head = __atomic_load_n(&p->hdr->head, __ATOMIC_RELAXED);
	return 0;
}

int vanity__logprod_put(struct vanity__logprod *p, int level, unsigned int flags,
			uint64_t ts_ns, const char *text, uint32_t len)
{
	struct vanity_log_rec rec = {
		.magic = VANITY_LOG_REC_MAGIC,
		.level = (uint8_t)level,
		.flags = (uint8_t)flags,
		.ts_ns = ts_ns,
	};
	static const uint8_t zero[8];
	uint32_t tail, used, need;

	if (len > p->msg_max) {
		len = p->msg_max;
		rec.flags |= VANITY_LOG_F_TRUNC;
	}
	rec.len = len;
	need = VANITY_LOG_REC_BYTES(len);
	/*
	 * Acquire pairs with run's release of tail: its reads of the bytes
	 * we are about to reuse are done. A tail that claims more than the
	 * ring holds (a confused consumer) reads as full: drop, never block.
	 */
	tail = __atomic_load_n(&p->hdr->tail, __ATOMIC_ACQUIRE);
	used = p->head - tail;
	if (used > p->ring_size || need > p->ring_size - used) {
		__atomic_store_n(&p->hdr->dropped,
				 __atomic_load_n(&p->hdr->dropped, __ATOMIC_RELAXED) + 1,
				 __ATOMIC_RELAXED);
		return -ENOBUFS;
	}
	ring_put(p, p->head, &rec, sizeof(rec));
	ring_put(p, p->head + sizeof(rec), text, len);
	ring_put(p, p->head + sizeof(rec) + len, zero,
		 need - (uint32_t)sizeof(rec) - len);
	p->head += need;
	/* Release: the record's bytes are visible before the new head. */
	__atomic_store_n(&p->hdr->head, p->head, __ATOMIC_RELEASE);
	return 0;
}

int vanity__log_bind_page(void *page, size_t len)
{
	struct vanity__logprod p;
	int ret = vanity__logprod_bind(&p, page, len);

	if (ret)
		return ret;
	pthread_mutex_lock(&log_lock);
	prod = p;
	prod_bound = true;
	__atomic_store_n(&vanity__loop, &prod.hdr->loop, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&log_lock);
	return 0;
}

void vanity__log_unbind(void)
{
	pthread_mutex_lock(&log_lock);
	prod_bound = false;
	__atomic_store_n(&vanity__loop, &local_loop, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&log_lock);
}

int vanity_log_to_run(void)
{
	int bound;

	pthread_mutex_lock(&log_lock);
	bound = prod_bound;
	pthread_mutex_unlock(&log_lock);
	return bound;
}

/* A forked child is a second producer: it falls back to stderr. */
static void fork_prepare(void)
{
	pthread_mutex_lock(&log_lock);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&log_lock);
}

static void fork_child(void)
{
	prod_bound = false;
	local_loop.loops = 0;
	local_loop.idle = 0;
	vanity__loop = &local_loop;
	pthread_mutex_unlock(&log_lock);
}

/* $VANITY_RUN_FD, strictly: a decimal fd of a sealed memfd; or -errno. */
static int env_fd(void)
{
	const char *s = getenv(VANITY_RUN_FD_ENV);
	char *end;
	long fd;
	int seals;

	if (!s)
		return -ENOENT;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	fd = strtol(s, &end, 10);
	if (errno || *end || fd > 65535)
		return -EINVAL;
	/* Sealed against shrinking: the mapping cannot turn into SIGBUS. */
	seals = fcntl((int)fd, F_GET_SEALS);
	if (seals < 0)
		return errno == EBADF ? -EBADF : -EINVAL;
	if ((seals & (F_SEAL_SHRINK | F_SEAL_GROW)) !=
	    (F_SEAL_SHRINK | F_SEAL_GROW))
		return -EPERM;
	return (int)fd;
}

int vanity__log_open_env(void)
{
	struct stat sb;
	int fd = env_fd(), ret;
	void *p;

	if (fd < 0)
		return fd;
	if (page_map)
		return -EBUSY;
	if (fstat(fd, &sb))
		return -errno;
	if (sb.st_size < VANITY_RUNPAGE_HDR_SIZE + VANITY_LOG_RING_MIN ||
	    sb.st_size > VANITY_RUNPAGE_HDR_SIZE + VANITY_LOG_RING_MAX)
		return -EPROTO;
	p = mmap(NULL, (size_t)sb.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	ret = vanity__log_bind_page(p, (size_t)sb.st_size);
	if (ret) {
		munmap(p, (size_t)sb.st_size);
		return ret;
	}
	page_map = p;
	page_len = (size_t)sb.st_size;
	/* Mapped: programs this one starts do not inherit the ring. */
	close(fd);
	return 0;
}

/*
 * At load: map the page run handed over, if any. A page that does not
 * check out leaves the fallback in place (and the fd alone: not ours).
 */
__attribute__((constructor)) static void log_init(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	vanity__log_open_env();
}

/*
 * For tests: no destructor calls this, since a thread still in its loop at
 * exit may hold the page's address; the exit unmaps it.
 */
void vanity__log_close(void)
{
	vanity__log_unbind();
	if (page_map) {
		munmap(page_map, page_len);
		page_map = NULL;
	}
}


extern char *program_invocation_short_name;

/* "[shard] text\n" (errors and warnings say so, as run does) in one write. */
static void to_stderr(const struct vanity *v, int level, const char *text,
		      size_t len)
{
	const char *name = v ? v->name : getenv("VANITY_SHARD");
	char line[VANITY_LOG_MSG_MAX + 64 + 8];
	size_t n;
	ssize_t w;
	int tries;

	if (!name || !*name)
		name = program_invocation_short_name;
	n = (size_t)snprintf(line, sizeof(line), "[%.63s] %s", name,
			     level <= VANITY_LOG_ERR ? "error: " :
			     level == VANITY_LOG_WARN ? "warning: " : "");
	if (len > sizeof(line) - n - 1)
		len = sizeof(line) - n - 1;
	memcpy(line + n, text, len);
	n += len;
	line[n++] = '\n';
	for (tries = 0; n && tries < 16; tries++) {
		w = write(STDERR_FILENO, line, n);
		if (w < 0 && errno != EINTR)
			break;
		if (w > 0) {
			memmove(line, line + w, n - (size_t)w);
			n -= (size_t)w;
		}
	}
}

int vanity_vlog(struct vanity *v, int level, const char *fmt, va_list ap)
{
	char text[VANITY_LOG_MSG_MAX + 1];
	unsigned int flags = 0;
	struct timespec ts;
	int n, ret = 0;
	size_t len;

	if (level < 0 || level > 7 || !fmt)
		return -EINVAL;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	if (n < 0)
		return -EINVAL;
	len = (size_t)n;
	if (len > VANITY_LOG_MSG_MAX) {
		len = VANITY_LOG_MSG_MAX;
		flags |= VANITY_LOG_F_TRUNC;
	}
	while (len && text[len - 1] == '\n')
		len--;
	pthread_mutex_lock(&log_lock);
	if (prod_bound)
		ret = vanity__logprod_put(&prod, level, flags,
					  (uint64_t)ts.tv_sec * 1000000000ULL +
					  (uint64_t)ts.tv_nsec, text,
					  (uint32_t)len);
	else
		to_stderr(v, level, text, len);
	pthread_mutex_unlock(&log_lock);
	return ret;
}

int vanity_log(struct vanity *v, int level, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vanity_vlog(v, level, fmt, ap);
	va_end(ap);
	return ret;
}
