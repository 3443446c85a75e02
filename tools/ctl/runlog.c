// SPDX-License-Identifier: GPL-2.0
/*
 * vanityctl run's side of the run page: create it, drain the shard's log
 * ring without trusting a byte of it, read its counters, and make its text
 * safe for a terminal or a JSON line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "runlog.h"

_Static_assert(sizeof(struct vanity_runpage_hdr) <= VANITY_RUNPAGE_HDR_SIZE,
	       "the header fits its page");

static struct vanity_runpage_hdr *hdr(const struct vanity_runpage *p)
{
	return p->map;
}

int vanity_runpage_create(struct vanity_runpage *p, const char *name,
			  uint32_t ring_size)
{
	char mname[64];
	size_t size = (size_t)VANITY_RUNPAGE_HDR_SIZE + ring_size;
	int fd, err;
	void *m;

	memset(p, 0, sizeof(*p));
	p->fd = -1;
	if (ring_size < VANITY_LOG_RING_MIN || ring_size > VANITY_LOG_RING_MAX ||
	    (ring_size & (ring_size - 1)))
		return -EINVAL;
	snprintf(mname, sizeof(mname), "vanity-run-%s", name);
	fd = memfd_create(mname, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	/* Sealed: neither side can shrink it under the other's mapping. */
	if (ftruncate(fd, (off_t)size) ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL))
		goto err;
	m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		goto err;
	p->fd = fd;
	p->map = m;
	p->size = size;
	p->ring_size = ring_size;
	p->msg_max = VANITY_LOG_MSG_MAX;
	vanity_runpage_restart(p);
	return 0;
err:
	err = -errno;
	close(fd);
	return err;
}

void vanity_runpage_destroy(struct vanity_runpage *p)
{
	if (p->map)
		munmap(p->map, p->size);
	if (p->fd >= 0)
		close(p->fd);
	p->map = NULL;
	p->fd = -1;
}

void vanity_runpage_restart(struct vanity_runpage *p)
{
	struct vanity_runpage_hdr *h = hdr(p);

	if (!h)
		return;
	h->magic = VANITY_RUNPAGE_MAGIC;
	h->version = VANITY_RUNPAGE_VERSION;
	h->hdr_size = VANITY_RUNPAGE_HDR_SIZE;
	h->ring_size = p->ring_size;
	h->size = (uint32_t)p->size;
	h->msg_max = p->msg_max;
	memset(h->resv0, 0, sizeof(h->resv0));
	__atomic_store_n(&h->head, p->tail, __ATOMIC_RELAXED);
	__atomic_store_n(&h->tail, p->tail, __ATOMIC_RELEASE);
}

/* @n (<= ring_size) bytes at free-running position @pos, through the mask. */
static void ring_get(const struct vanity_runpage *p, uint32_t pos, void *dst,
		     uint32_t n)
{
	const uint8_t *ring = (const uint8_t *)p->map + VANITY_RUNPAGE_HDR_SIZE;
	uint32_t off = pos & (p->ring_size - 1);
	uint32_t first = p->ring_size - off < n ? p->ring_size - off : n;

	memcpy(dst, ring + off, first);
	memcpy((uint8_t *)dst + first, ring, n - first);
}

int vanity_runpage_drain(struct vanity_runpage *p,
			 void (*fn)(void *ctx, const struct vanity_logline *l),
			 void *ctx)
{
	struct vanity_runpage_hdr *h = hdr(p);
	struct vanity_logline l;
	uint32_t head, avail;
	int n = 0;

	if (!h)
		return 0;
	/* Acquire pairs with the producer's release: its bytes are there. */
	head = __atomic_load_n(&h->head, __ATOMIC_ACQUIRE);
	avail = head - p->tail;
	if (avail > p->ring_size || avail % 8)
		goto bad;
	while (avail) {
		struct vanity_log_rec r;
		uint32_t need;

		if (avail < sizeof(r))
			goto bad;
		ring_get(p, p->tail, &r, sizeof(r));
		if (r.magic != VANITY_LOG_REC_MAGIC || r.len > p->msg_max ||
		    r.level > 7 || (r.flags & ~VANITY_LOG_F_TRUNC))
			goto bad;
		need = VANITY_LOG_REC_BYTES(r.len);
		if (need > avail)
			goto bad;
		l.level = r.level;
		l.flags = r.flags;
		l.ts_ns = r.ts_ns;
		l.len = r.len;
		ring_get(p, p->tail + (uint32_t)sizeof(r), l.text, r.len);
		l.text[r.len] = '\0';
		p->tail += need;
		avail -= need;
		fn(ctx, &l);
		n++;
	}
	/* Release: our reads of the space are done before it is reused. */
	__atomic_store_n(&h->tail, p->tail, __ATOMIC_RELEASE);
	return n;
bad:
	/* Nothing after this point can be framed: skip to the head. */
	p->corrupt++;
	p->tail = head;
	__atomic_store_n(&h->tail, p->tail, __ATOMIC_RELEASE);
	return -EPROTO;
}

void vanity_runpage_ctrs(const struct vanity_runpage *p,
			 struct vanity_runctrs *c)
{
	const struct vanity_runpage_hdr *h = hdr(p);

	memset(c, 0, sizeof(*c));
	if (!h)
		return;
	c->loops = __atomic_load_n(&h->loop.loops, __ATOMIC_RELAXED);
	c->idle = __atomic_load_n(&h->loop.idle, __ATOMIC_RELAXED);
	c->dropped = __atomic_load_n(&h->dropped, __ATOMIC_RELAXED);
}

const char *vanity_log_level_name(int level)
{
	if (level <= VANITY_LOG_ERR)
		return "error";
	switch (level) {
	case VANITY_LOG_WARN:
		return "warning";
	case 5:
		return "notice";
	case VANITY_LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

/* Bytes of the well-formed UTF-8 sequence at @s (of @n), or 0. */
static size_t utf8_seq(const uint8_t *s, size_t n)
{
	uint8_t c = s[0], lo = 0x80, hi = 0xbf;
	size_t k, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		k = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		k = 3;
		if (c == 0xe0)
			lo = 0xa0;	/* no overlong forms */
		if (c == 0xed)
			hi = 0x9f;	/* no surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		k = 4;
		if (c == 0xf0)
			lo = 0x90;
		if (c == 0xf4)
			hi = 0x8f;	/* nothing past U+10FFFF */
	} else {
		return 0;
	}
	if (n < k || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < k; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return k;
}

/* U+0080..U+009F: C1 controls, which some terminals obey. */
static bool c1(const uint8_t *s, size_t k)
{
	return k == 2 && s[0] == 0xc2 && s[1] < 0xa0;
}

size_t vanity_log_sanitize(char *dst, size_t len, const char *src, size_t n)
{
	const uint8_t *s = (const uint8_t *)src;
	size_t i = 0, o = 0, k;

	if (!len)
		return 0;
	while (i < n) {
		k = utf8_seq(s + i, n - i);
		if (o + (k ? k : 1) >= len)
			break;
		if (!k || c1(s + i, k) ||
		    (k == 1 && ((s[i] < 0x20 && s[i] != '\t' && s[i] != '\n') ||
				s[i] == 0x7f))) {
			dst[o++] = '?';
			i += k ? k : 1;
			continue;
		}
		memcpy(dst + o, s + i, k);
		o += k;
		i += k;
	}
	dst[o] = '\0';
	return o;
}

size_t vanity_json_escape(char *dst, size_t len, const char *src, size_t n)
{
	const uint8_t *s = (const uint8_t *)src;
	size_t i = 0, o = 0, k;
	char esc[8];
	const char *out;
	size_t olen;

	if (!len)
		return 0;
	while (i < n) {
		k = utf8_seq(s + i, n - i);
		out = esc;
		if (!k) {
			out = "\\ufffd";
			olen = 6;
			k = 1;
		} else if (k == 1 && (s[i] == '"' || s[i] == '\\')) {
			esc[0] = '\\';
			esc[1] = (char)s[i];
			olen = 2;
		} else if (k == 1 && s[i] == '\n') {
			out = "\\n";
			olen = 2;
		} else if (k == 1 && s[i] == '\t') {
			out = "\\t";
			olen = 2;
		} else if ((k == 1 && (s[i] < 0x20 || s[i] == 0x7f)) ||
			   c1(s + i, k)) {
			unsigned int cp = k == 1 ? s[i] : s[i + 1];

			olen = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", cp);
		} else {
			out = (const char *)s + i;
			olen = k;
		}
		if (o + olen >= len)
			break;
		memcpy(dst + o, out, olen);
		o += olen;
		i += k;
	}
	dst[o] = '\0';
	return o;
}

/* ------------------------------------------------ a strict JSON checker */
#define JSON_DEPTH_MAX 32

struct jp {
	const uint8_t *s;
	size_t n, i;
	unsigned int depth;
};

static void jp_ws(struct jp *p)
{
	while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' ||
			       p->s[p->i] == '\n' || p->s[p->i] == '\r'))
		p->i++;
}

static bool jp_is(const struct jp *p, char c)
{
	return p->i < p->n && p->s[p->i] == (uint8_t)c;
}

static bool jp_digit(const struct jp *p)
{
	return p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9';
}

static bool jp_digits(struct jp *p)
{
	if (!jp_digit(p))
		return false;
	while (jp_digit(p))
		p->i++;
	return true;
}

static bool jp_string(struct jp *p)
{
	size_t k, h;

	if (!jp_is(p, '"'))
		return false;
	p->i++;
	while (p->i < p->n) {
		uint8_t c = p->s[p->i];

		if (c == '"') {
			p->i++;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c == '\\') {
			if (++p->i >= p->n)
				return false;
			c = p->s[p->i++];
			if (c == 'u') {
				for (h = 0; h < 4; h++, p->i++)
					if (p->i >= p->n ||
					    !strchr("0123456789abcdefABCDEF",
						    p->s[p->i]) || !p->s[p->i])
						return false;
			} else if (!c || !strchr("\"\\/bfnrt", c)) {
				return false;
			}
			continue;
		}
		k = utf8_seq(p->s + p->i, p->n - p->i);
		if (!k)
			return false;
		p->i += k;
	}
	return false;
}

static bool jp_number(struct jp *p)
{
	if (jp_is(p, '-'))
		p->i++;
	if (jp_is(p, '0'))
		p->i++;
	else if (!jp_digits(p))
		return false;
	if (jp_is(p, '.')) {
		p->i++;
		if (!jp_digits(p))
			return false;
	}
	if (jp_is(p, 'e') || jp_is(p, 'E')) {
		p->i++;
		if (jp_is(p, '+') || jp_is(p, '-'))
			p->i++;
		if (!jp_digits(p))
			return false;
	}
	return true;
}

static bool jp_word(struct jp *p, const char *w)
{
	size_t l = strlen(w);

	if (p->n - p->i < l || memcmp(p->s + p->i, w, l))
		return false;
	p->i += l;
	return true;
}

static bool jp_value(struct jp *p);

/* Object or array: @close ends it; objects have "key": before each value. */
static bool jp_container(struct jp *p, char close, bool keys)
{
	if (++p->depth > JSON_DEPTH_MAX)
		return false;
	p->i++;
	jp_ws(p);
	if (jp_is(p, close)) {
		p->i++;
		p->depth--;
		return true;
	}
	for (;;) {
		if (keys) {
			if (!jp_string(p))
				return false;
			jp_ws(p);
			if (!jp_is(p, ':'))
				return false;
			p->i++;
		}
		if (!jp_value(p))
			return false;
		if (jp_is(p, ',')) {
			p->i++;
			jp_ws(p);
			continue;
		}
		if (!jp_is(p, close))
			return false;
		p->i++;
		p->depth--;
		return true;
	}
}

static bool jp_value(struct jp *p)
{
	bool ok;

	jp_ws(p);
	if (p->i >= p->n)
		return false;
	switch (p->s[p->i]) {
	case '{':
		ok = jp_container(p, '}', true);
		break;
	case '[':
		ok = jp_container(p, ']', false);
		break;
	case '"':
		ok = jp_string(p);
		break;
	case 't':
		ok = jp_word(p, "true");
		break;
	case 'f':
		ok = jp_word(p, "false");
		break;
	case 'n':
		ok = jp_word(p, "null");
		break;
	default:
		ok = jp_number(p);
		break;
	}
	jp_ws(p);
	return ok;
}

bool vanity_json_is_object(const char *s, size_t n)
{
	struct jp p = { .s = (const uint8_t *)s, .n = n };

	jp_ws(&p);
	if (!jp_is(&p, '{') || !jp_value(&p))
		return false;
	return p.i == p.n;
}
