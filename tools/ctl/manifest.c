// SPDX-License-Identifier: GPL-2.0
/*
 * Manifest to image writer: a line reader that owns comments, section
 * headers and line numbers, libinih for key = value pairs, then checks.
 */
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <ini.h>

/*
 * Debian's libinih sizes its line buffer from this variable at run time;
 * upstream's fixes it at build time and has no such symbol, hence weak.
 */
extern int ini_max_line __attribute__((weak));

#include "manifest.h"
#include "image.h"
#include "cpulist.h"
#include "pci.h"

/* Room for "program = " and a VANITY_PROGRAM_MAX string with blanks. */
#define LINE_BYTES	4096
#define ECHO_MAX	64	/* bytes of user text quoted in a message */

#define container_of(p, type, member) \
	((type *)((char *)(p) - offsetof(type, member)))

enum kind { K_SYSTEM, K_SHARD, K_CHANNEL, K_DEVICE, K_LAST = K_DEVICE };

static const char *const kind_names[] = {
	[K_SYSTEM] = "system",
	[K_SHARD] = "shard",
	[K_CHANNEL] = "channel",
	[K_DEVICE] = "device",
};

enum key {
	KEY_NAME,
	KEY_CPUS, KEY_MEMORY, KEY_USER, KEY_PROGRAM, KEY_RING_ENTRIES,
	KEY_RESTART,
	KEY_FROM, KEY_TO, KEY_SLOT_SIZE, KEY_SLOTS,
	KEY_PCI, KEY_OWNER, KEY_DMA,
	KEY_COUNT
};

static const struct {
	const char *name;
	enum kind kind;
	bool required;
} keys[KEY_COUNT] = {
	[KEY_NAME]	= { "name",	 K_SYSTEM,  true },
	[KEY_CPUS]	= { "cpus",	 K_SHARD,   true },
	[KEY_MEMORY]	= { "memory",	 K_SHARD,   false },
	[KEY_USER]	= { "user",	 K_SHARD,   false },
	[KEY_PROGRAM]	= { "program",	 K_SHARD,   false },
	[KEY_RING_ENTRIES] = { "ring_entries", K_SHARD, false },
	[KEY_RESTART]	= { "restart",	 K_SHARD,   false },
	[KEY_FROM]	= { "from",	 K_CHANNEL, true },
	[KEY_TO]	= { "to",	 K_CHANNEL, true },
	[KEY_SLOT_SIZE]	= { "slot_size", K_CHANNEL, true },
	[KEY_SLOTS]	= { "slots",	 K_CHANNEL, true },
	[KEY_PCI]	= { "pci",	 K_DEVICE,  true },
	[KEY_OWNER]	= { "shard",	 K_DEVICE,  true },
	[KEY_DMA]	= { "dma",	 K_DEVICE,  false },
};

struct section {
	enum kind kind;
	char name[VANITY_NAME_MAX];	/* "" for [system] */
	int line;			/* of the header */
	int key_line[KEY_COUNT];	/* 0 = not given */
	bool key_ok[KEY_COUNT];		/* given and valid */
};

struct mf_shard {
	struct section sec;
	uint64_t cpus[VANITY_CPU_WORDS];
	uint64_t memory;
	uint32_t uid;
	bool user_is_uid;		/* given as a number, not a name */
	char user[ECHO_MAX + 1];	/* as given, for messages */
	char program[VANITY_PROGRAM_MAX];
	uint32_t ring_entries;		/* 0: the module's default */
	bool restart;			/* restart = on-failure */
};

struct mf_channel {
	struct section sec;
	char from[VANITY_NAME_MAX];
	char to[VANITY_NAME_MAX];
	uint32_t slot_size;
	uint32_t slots;
};

/*
 * What a device may DMA into, as written: names are resolved at the end,
 * since channels may be declared after the devices that use them.
 */
struct mf_device {
	struct section sec;
	struct vanity_pci_addr addr;
	char owner[VANITY_NAME_MAX];
	bool dma_private;		/* 'private' listed, or no 'dma' key */
	unsigned int ndma;		/* channel names in dma[] */
	char dma[VANITY_MAX_CHANNELS][VANITY_NAME_MAX];
};

/* Problems are found out of line order (references resolve at the end). */
struct diag {
	int line;
	int seq;
	char *msg;
};

struct mf {
	const char *path;
	uint32_t runner;		/* euid of `vanityctl run`, or VANITY_RUNNER_ANY */
	FILE *in;
	int lineno;
	bool read_failed;		/* the rest of the file is unknown */
	int errors;
	struct diag *diags;		/* NULL msg: out of memory, count only */
	size_t diag_cap;
	char *line;			/* getline buffer */
	size_t line_cap;

	/* Section that receives keys; NULL before the first or after a bad one. */
	struct section *cur;
	bool in_bad_section;

	bool have_system;
	struct section system;
	char system_name[VANITY_NAME_MAX];
	struct mf_shard shards[VANITY_MAX_SHARDS];
	unsigned int nshards;
	struct mf_channel channels[VANITY_MAX_CHANNELS];
	unsigned int nchannels;
	struct mf_device devices[VANITY_MAX_DEVICES];
	unsigned int ndevices;
};

static void report(struct mf *m, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report(struct mf *m, int line, const char *fmt, ...)
{
	struct diag *nd;
	size_t cap;
	va_list ap;
	char *msg;

	if ((size_t)m->errors == m->diag_cap) {
		cap = m->diag_cap ? 2 * m->diag_cap : 16;
		nd = realloc(m->diags, cap * sizeof(*nd));
		if (!nd) {
			m->errors++;	/* still fails the load, unexplained */
			return;
		}
		m->diags = nd;
		m->diag_cap = cap;
	}
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	m->diags[m->errors].line = line;
	m->diags[m->errors].seq = m->errors;
	m->diags[m->errors].msg = msg;
	m->errors++;
}

static int diag_cmp(const void *a, const void *b)
{
	const struct diag *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Print in line order, whole-file problems (line 0) first. */
static void flush_diags(struct mf *m, FILE *errs)
{
	size_t i, n = m->diags ? (size_t)m->errors : 0;

	if (n > m->diag_cap)
		n = m->diag_cap;
	qsort(m->diags, n, sizeof(*m->diags), diag_cmp);
	for (i = 0; i < n; i++) {
		fprintf(errs, "%s:%d: %s\n", m->path, m->diags[i].line,
			m->diags[i].msg ? m->diags[i].msg : "out of memory");
		free(m->diags[i].msg);
	}
	if ((size_t)m->errors > n)
		fprintf(errs, "%s:0: out of memory reporting %zu more problems\n",
			m->path, (size_t)m->errors - n);
	free(m->diags);
	m->diags = NULL;
	fflush(errs);
}

/* Like report(), prefixed with the section the problem belongs to. */
static void report_in(struct mf *m, const struct section *s, int line,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void report_in(struct mf *m, const struct section *s, int line,
		      const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s->kind == K_SYSTEM)
		report(m, line, "system: %s", msg);
	else
		report(m, line, "%s '%s': %s", kind_names[s->kind], s->name,
		       msg);
}

/* Precision for "%.*s" quoting at most ECHO_MAX bytes of @s. */
static int echo_len(const char *s, size_t n)
{
	size_t len = strnlen(s, n);

	return (int)(len < ECHO_MAX ? len : ECHO_MAX);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
	       c == '\v' || c == '\f';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char *trim(char *s)
{
	char *end;

	while (is_blank(*s))
		s++;
	end = s + strlen(s);
	while (end > s && is_blank(end[-1]))
		*--end = '\0';
	return s;
}

/*
 * libinih's own rule for inline comments (';' at the start or after a
 * blank), applied here so it holds whatever the library was built with.
 */
static void strip_comment(char *s)
{
	char *p;

	for (p = s; *p; p++) {
		if (*p == ';' && (p == s || is_blank(p[-1]))) {
			*p = '\0';
			return;
		}
	}
}

/* ------------------------------------------------------------ sections */

static struct section *find_section(struct mf *m, enum kind kind,
				    const char *name, size_t len)
{
	unsigned int i;

	if (kind == K_SYSTEM)
		return m->have_system ? &m->system : NULL;
	if (len >= VANITY_NAME_MAX)
		return NULL;
	if (kind == K_SHARD) {
		for (i = 0; i < m->nshards; i++)
			if (!strncmp(m->shards[i].sec.name, name, len) &&
			    !m->shards[i].sec.name[len])
				return &m->shards[i].sec;
	} else if (kind == K_CHANNEL) {
		for (i = 0; i < m->nchannels; i++)
			if (!strncmp(m->channels[i].sec.name, name, len) &&
			    !m->channels[i].sec.name[len])
				return &m->channels[i].sec;
	} else {
		for (i = 0; i < m->ndevices; i++)
			if (!strncmp(m->devices[i].sec.name, name, len) &&
			    !m->devices[i].sec.name[len])
				return &m->devices[i].sec;
	}
	return NULL;
}

static bool name_ok(const char *name, size_t len)
{
	char buf[VANITY_NAME_MAX];

	if (len == 0 || len >= VANITY_NAME_MAX)
		return false;
	memcpy(buf, name, len);
	buf[len] = '\0';
	return vanity_name_valid(buf, VANITY_NAME_MAX);
}

static struct section *new_section(struct mf *m, enum kind kind,
				   const char *name, size_t len)
{
	struct section *s;

	if (kind == K_SYSTEM) {
		m->have_system = true;
		s = &m->system;
	} else if (kind == K_SHARD) {
		if (m->nshards >= VANITY_MAX_SHARDS) {
			report(m, m->lineno, "too many shards (max %u)",
			       VANITY_MAX_SHARDS);
			return NULL;
		}
		s = &m->shards[m->nshards++].sec;
	} else if (kind == K_CHANNEL) {
		if (m->nchannels >= VANITY_MAX_CHANNELS) {
			report(m, m->lineno, "too many channels (max %u)",
			       VANITY_MAX_CHANNELS);
			return NULL;
		}
		s = &m->channels[m->nchannels++].sec;
	} else {
		if (m->ndevices >= VANITY_MAX_DEVICES) {
			report(m, m->lineno, "too many devices (max %u)",
			       VANITY_MAX_DEVICES);
			return NULL;
		}
		s = &m->devices[m->ndevices++].sec;
		/* Unless 'dma' says otherwise: what a driver's buffers need. */
		container_of(s, struct mf_device, sec)->dma_private = true;
	}
	s->kind = kind;
	memcpy(s->name, name, len);
	s->name[len] = '\0';
	s->line = m->lineno;
	return s;
}

/* @hdr is a trimmed line starting with '['. False when it is unusable. */
static bool section_header(struct mf *m, const char *hdr)
{
	const char *p = hdr + 1, *word, *name, *end;
	size_t wlen, nlen, len = strlen(hdr);
	struct section *dup;
	enum kind kind;

	m->cur = NULL;
	m->in_bad_section = true;
	if (hdr[len - 1] != ']') {
		if (strchr(hdr, ']'))
			report(m, m->lineno, "text after ']' in section header");
		else
			report(m, m->lineno, "missing ']' in section header");
		return false;
	}
	end = hdr + len - 1;
	while (p < end && is_blank(*p))
		p++;
	word = p;
	while (p < end && !is_blank(*p))
		p++;
	wlen = (size_t)(p - word);
	while (p < end && is_blank(*p))
		p++;
	name = p;
	while (end > name && is_blank(end[-1]))
		end--;
	nlen = (size_t)(end - name);

	if (!wlen) {
		report(m, m->lineno, "empty section header");
		return false;
	}
	for (kind = K_SYSTEM; kind <= K_LAST; kind++)
		if (strlen(kind_names[kind]) == wlen &&
		    !strncmp(kind_names[kind], word, wlen))
			break;
	if (kind > K_LAST) {
		report(m, m->lineno,
		       "unknown section '%.*s' (want system, shard, channel or device)",
		       echo_len(word, wlen), word);
		return false;
	}
	if (kind == K_SYSTEM && nlen) {
		report(m, m->lineno,
		       "[system] takes no name: set 'name = ...' inside it");
		return false;
	}
	if (kind != K_SYSTEM && !nlen) {
		report(m, m->lineno, "%s section needs a name: [%s NAME]",
		       kind_names[kind], kind_names[kind]);
		return false;
	}
	if (kind != K_SYSTEM && !name_ok(name, nlen)) {
		report(m, m->lineno,
		       "bad %s name '%.*s': want 1-%u of [a-z0-9_-]",
		       kind_names[kind], echo_len(name, nlen), name,
		       VANITY_NAME_MAX - 1);
		return false;
	}
	dup = find_section(m, kind, name, nlen);
	if (dup) {
		if (kind == K_SYSTEM)
			report(m, m->lineno,
			       "duplicate [system] section (first at line %d)",
			       dup->line);
		else
			report(m, m->lineno, "duplicate %s '%s' (first at line %d)",
			       kind_names[kind], dup->name, dup->line);
		return false;
	}
	m->cur = new_section(m, kind, name, nlen);
	m->in_bad_section = m->cur == NULL;
	return m->cur != NULL;
}

/* A key is what libinih will split off before the first '='. */
static bool key_value_ok(const char *s)
{
	const char *eq = strchr(s, '=');
	const char *p;

	if (!eq || eq == s)
		return false;
	for (p = s; p < eq; p++)
		if (!(is_blank(*p) || is_digit(*p) || *p == '_' || *p == '-' ||
		      (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
			return false;
	for (p = s; p < eq && is_blank(*p); p++)
		;
	return p < eq;
}

static char *blank_line(char *str, int num)
{
	if (num >= 2) {
		str[0] = '\n';
		str[1] = '\0';
	} else if (num == 1) {
		str[0] = '\0';
	}
	return str;
}

/*
 * libinih's reader: one physical line per call, so m->lineno is the line
 * the handler is being called for. Lines libinih would misread (too long,
 * NUL bytes, no '=', indented continuations, bad headers) are reported
 * here and handed on as blank lines, so every line gets its own message.
 */
static char *mf_read(char *str, int num, void *stream)
{
	struct mf *m = stream;
	ssize_t n;
	char *p;

	errno = 0;
	n = getline(&m->line, &m->line_cap, m->in);
	if (n < 0) {
		if (ferror(m->in)) {
			report(m, m->lineno, "read error: %s",
			       strerror(errno ? errno : EIO));
			m->read_failed = true;
		}
		return NULL;
	}
	m->lineno++;
	if ((size_t)n != strlen(m->line)) {
		report(m, m->lineno, "line contains a NUL byte");
		m->cur = NULL;
		m->in_bad_section = true;
		return blank_line(str, num);
	}
	p = m->line;
	if (m->lineno == 1 && !strncmp(p, "\xef\xbb\xbf", 3))
		p += 3;
	strip_comment(p);
	p = trim(p);
	if (*p == '#' || !*p)
		return blank_line(str, num);
	if (strlen(p) + 3 > (size_t)num) {
		report(m, m->lineno, "line too long (max %d bytes)", num - 3);
		if (*p == '[') {
			m->cur = NULL;
			m->in_bad_section = true;
		}
		return blank_line(str, num);
	}
	if (*p == '[') {
		if (!section_header(m, p))
			return blank_line(str, num);
	} else if (!key_value_ok(p)) {
		report(m, m->lineno, "expected 'key = value' or '[section]'");
		return blank_line(str, num);
	}
	snprintf(str, (size_t)num, "%s\n", p);
	return str;
}

/* -------------------------------------------------------------- values */

/* Leading decimal digits of @s; -EINVAL without any, -ERANGE past 2^64. */
static int parse_u64(const char *s, uint64_t *out, const char **end)
{
	uint64_t v = 0;
	int ret = 0;

	if (!is_digit(*s))
		return -EINVAL;
	for (; is_digit(*s); s++) {
		if (check_mul_overflow(v, (uint64_t)10, &v) ||
		    check_add_overflow(v, (uint64_t)(*s - '0'), &v))
			ret = -ERANGE;
	}
	*end = s;
	if (!ret)
		*out = v;
	return ret;
}

static int parse_number(const char *s, uint64_t *out)
{
	const char *end;
	int ret = parse_u64(s, out, &end);

	if (!ret && *end)
		return -EINVAL;
	return ret;
}

static bool set_memory(struct mf *m, struct mf_shard *sh, const char *v)
{
	static const struct { const char *sfx; unsigned int shift; } units[] = {
		{ "", 0 }, { "K", 10 }, { "M", 20 }, { "G", 30 },
	};
	const char *end;
	uint64_t n = 0, bytes;
	unsigned int i;
	int ret;

	ret = parse_u64(v, &n, &end);
	for (i = 0; ret != -EINVAL && i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(end, units[i].sfx))
			break;
	if (ret == -EINVAL || i == sizeof(units) / sizeof(units[0])) {
		report_in(m, &sh->sec, m->lineno,
			  "memory '%.*s': want bytes or a K, M or G suffix",
			  echo_len(v, ECHO_MAX), v);
		return false;
	}
	if (ret == -ERANGE || n > (UINT64_MAX >> units[i].shift)) {
		report_in(m, &sh->sec, m->lineno, "memory %.*s is too large",
			  echo_len(v, ECHO_MAX), v);
		return false;
	}
	bytes = n << units[i].shift;
	if (bytes % VANITY_PAGE_SIZE) {
		report_in(m, &sh->sec, m->lineno,
			  "memory %s is not a multiple of %u bytes", v,
			  VANITY_PAGE_SIZE);
		return false;
	}
	if (bytes > VANITY_MEMORY_MAX) {
		report_in(m, &sh->sec, m->lineno,
			  "memory %s exceeds the %lluM per-shard limit", v,
			  VANITY_MEMORY_MAX >> 20);
		return false;
	}
	sh->memory = bytes;
	return true;
}

static bool set_user(struct mf *m, struct mf_shard *sh, const char *v)
{
	struct passwd pw, *res = NULL;
	size_t cap = 1024;
	char *buf = NULL, *nbuf;
	uint64_t uid = 0;
	int ret;

	if (!*v) {
		report_in(m, &sh->sec, m->lineno, "user is empty");
		return false;
	}
	snprintf(sh->user, sizeof(sh->user), "%.*s", echo_len(v, ECHO_MAX), v);
	ret = parse_number(v, &uid);
	if (ret != -EINVAL) {
		/* (uid_t)-1 means "no change" to chown(): never an owner. */
		if (ret || uid >= UINT32_MAX) {
			report_in(m, &sh->sec, m->lineno,
				  "uid %.*s out of range (max %u)",
				  echo_len(v, ECHO_MAX), v, UINT32_MAX - 1);
			return false;
		}
		sh->uid = (uint32_t)uid;
		sh->user_is_uid = true;
		return true;
	}
	do {
		cap *= 2;
		nbuf = realloc(buf, cap);
		if (!nbuf) {
			ret = ENOMEM;
			break;
		}
		buf = nbuf;
		ret = getpwnam_r(v, &pw, buf, cap, &res);
	} while (ret == ERANGE && cap < (1U << 20));
	if (!ret && res && res->pw_uid != (uid_t)-1)
		sh->uid = (uint32_t)res->pw_uid;
	free(buf);
	if (ret) {
		report_in(m, &sh->sec, m->lineno, "cannot look up user '%.*s': %s",
			  echo_len(v, ECHO_MAX), v, strerror(ret));
		return false;
	}
	if (!res) {
		report_in(m, &sh->sec, m->lineno, "unknown user '%.*s'",
			  echo_len(v, ECHO_MAX), v);
		return false;
	}
	if (res->pw_uid == (uid_t)-1) {
		report_in(m, &sh->sec, m->lineno, "user '%s' has an invalid uid",
			  v);
		return false;
	}
	return true;
}

static bool set_pow2(struct mf *m, struct section *s, const char *key,
		     const char *v, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t n = 0;
	int ret = parse_number(v, &n);

	if (ret == -EINVAL) {
		report_in(m, s, m->lineno, "%s '%.*s' is not a number", key,
			  echo_len(v, ECHO_MAX), v);
		return false;
	}
	if (ret || n > max) {
		report_in(m, s, m->lineno, "%s %.*s exceeds the maximum %u", key,
			  echo_len(v, ECHO_MAX), v, max);
		return false;
	}
	if (!n || (n & (n - 1))) {
		report_in(m, s, m->lineno, "%s %s is not a power of two", key, v);
		return false;
	}
	if (n < min) {
		report_in(m, s, m->lineno, "%s %s is below the minimum %u", key,
			  v, min);
		return false;
	}
	*out = (uint32_t)n;
	return true;
}

static bool set_endpoint(struct mf *m, struct section *s, const char *key,
			 const char *v, char out[VANITY_NAME_MAX])
{
	if (!name_ok(v, strlen(v))) {
		report_in(m, s, m->lineno, "%s '%.*s' is not a valid shard name",
			  key, echo_len(v, ECHO_MAX), v);
		return false;
	}
	strcpy(out, v);
	return true;
}

/* One item of a dma list: @len bytes at @item, blanks trimmed. */
static bool add_dma_item(struct mf *m, struct mf_device *dv,
			 const char *item, size_t len, bool *none)
{
	struct section *s = &dv->sec;
	unsigned int i;

	if (!len) {
		report_in(m, s, m->lineno,
			  "dma: empty item (want private, channel names, or none alone)");
		return false;
	}
	if (len == 4 && !strncmp(item, "none", 4)) {
		*none = true;
		return true;
	}
	if (len == 7 && !strncmp(item, "private", 7)) {
		if (dv->dma_private) {
			report_in(m, s, m->lineno, "dma: 'private' is listed twice");
			return false;
		}
		dv->dma_private = true;
		return true;
	}
	if (!name_ok(item, len)) {
		report_in(m, s, m->lineno, "dma: '%.*s' is not a valid channel name",
			  echo_len(item, len), item);
		return false;
	}
	for (i = 0; i < dv->ndma; i++) {
		if (!strncmp(dv->dma[i], item, len) && !dv->dma[i][len]) {
			report_in(m, s, m->lineno,
				  "dma: channel '%s' is listed twice", dv->dma[i]);
			return false;
		}
	}
	if (dv->ndma == VANITY_MAX_CHANNELS) {
		report_in(m, s, m->lineno, "dma lists more than %u channels",
			  VANITY_MAX_CHANNELS);
		return false;
	}
	memcpy(dv->dma[dv->ndma], item, len);
	dv->dma[dv->ndma++][len] = '\0';
	return true;
}

/*
 * "private" and channel names, comma-separated, blanks allowed around
 * each; "none" alone for no DMA at all. Names resolve in check_device().
 */
static bool set_dma(struct mf *m, struct mf_device *dv, const char *v)
{
	const char *p = v, *item, *end;
	unsigned int items = 0;
	bool none = false, ok = true;

	dv->dma_private = false;
	dv->ndma = 0;
	while (is_blank(*p))
		p++;
	if (!*p) {
		report_in(m, &dv->sec, m->lineno,
			  "dma is empty: want private, channel names, or none");
		return false;
	}
	for (;;) {
		while (is_blank(*p))
			p++;
		item = p;
		while (*p && *p != ',')
			p++;
		end = p;
		while (end > item && is_blank(end[-1]))
			end--;
		items++;
		ok = add_dma_item(m, dv, item, (size_t)(end - item), &none);
		if (!ok || !*p)
			break;
		p++;
	}
	if (ok && none && items > 1) {
		report_in(m, &dv->sec, m->lineno,
			  "dma: 'none' must stand alone");
		ok = false;
	}
	if (!ok) {
		dv->dma_private = false;
		dv->ndma = 0;
	}
	return ok;
}

static bool set_value(struct mf *m, struct section *s, enum key k,
		      const char *v)
{
	struct mf_shard *sh = NULL;
	struct mf_channel *ch = NULL;
	struct mf_device *dv = NULL;
	char err[96];
	size_t n;

	if (s->kind == K_SHARD)
		sh = container_of(s, struct mf_shard, sec);
	else if (s->kind == K_CHANNEL)
		ch = container_of(s, struct mf_channel, sec);
	else if (s->kind == K_DEVICE)
		dv = container_of(s, struct mf_device, sec);
	switch (k) {
	case KEY_NAME:
		if (!name_ok(v, strlen(v))) {
			report_in(m, s, m->lineno,
				  "bad system name '%.*s': want 1-%u of [a-z0-9_-]",
				  echo_len(v, ECHO_MAX), v, VANITY_NAME_MAX - 1);
			return false;
		}
		strcpy(m->system_name, v);
		return true;
	case KEY_CPUS:
		if (vanity_cpulist_parse(v, sh->cpus, err, sizeof(err))) {
			report_in(m, s, m->lineno, "cpus: %s", err);
			return false;
		}
		return true;
	case KEY_MEMORY:
		return set_memory(m, sh, v);
	case KEY_USER:
		return set_user(m, sh, v);
	case KEY_PROGRAM:
		n = strlen(v);
		if (!n) {
			report_in(m, s, m->lineno, "program is empty");
			return false;
		}
		if (n >= VANITY_PROGRAM_MAX) {
			report_in(m, s, m->lineno,
				  "program is %zu bytes, over the %u-byte limit",
				  n, VANITY_PROGRAM_MAX - 1);
			return false;
		}
		memcpy(sh->program, v, n + 1);
		return true;
	case KEY_RESTART:
		if (!strcmp(v, "on-failure")) {
			sh->restart = true;
			return true;
		}
		if (!strcmp(v, "never")) {
			sh->restart = false;
			return true;
		}
		report_in(m, s, m->lineno,
			  "restart '%.*s': want never or on-failure",
			  echo_len(v, ECHO_MAX), v);
		return false;
	case KEY_RING_ENTRIES:
		return set_pow2(m, s, "ring_entries", v, 2,
				VANITY_RING_ENTRIES_MAX, &sh->ring_entries);
	case KEY_FROM:
		return set_endpoint(m, s, "from", v, ch->from);
	case KEY_TO:
		return set_endpoint(m, s, "to", v, ch->to);
	case KEY_SLOT_SIZE:
		return set_pow2(m, s, "slot_size", v, VANITY_SLOT_SIZE_MIN,
				VANITY_SLOT_SIZE_MAX, &ch->slot_size);
	case KEY_SLOTS:
		return set_pow2(m, s, "slots", v, VANITY_SLOTS_MIN,
				VANITY_SLOTS_MAX, &ch->slots);
	case KEY_PCI:
		if (vanity_pci_addr_parse(v, &dv->addr, err, sizeof(err))) {
			report_in(m, s, m->lineno, "pci: %s", err);
			return false;
		}
		return true;
	case KEY_OWNER:
		return set_endpoint(m, s, "shard", v, dv->owner);
	case KEY_DMA:
		return set_dma(m, dv, v);
	case KEY_COUNT:
		break;
	}
	return false;
}

/* Errors are collected, not returned: libinih would only keep the first. */
static int mf_handler(void *user, const char *section, const char *name,
		      const char *value)
{
	struct mf *m = user;
	struct section *s = m->cur;
	enum key k;

	(void)section;	/* m->cur is ours, and holds names libinih truncates */
	if (!s) {
		if (!m->in_bad_section)
			report(m, m->lineno, "key '%s' outside any section",
			       name);
		return 1;
	}
	for (k = 0; k < KEY_COUNT; k++)
		if (keys[k].kind == s->kind && !strcmp(keys[k].name, name))
			break;
	if (k == KEY_COUNT) {
		report_in(m, s, m->lineno, "unknown key '%s'", name);
		return 1;
	}
	if (s->key_line[k]) {
		report_in(m, s, m->lineno, "duplicate key '%s' (first at line %d)",
			  name, s->key_line[k]);
		return 1;
	}
	s->key_line[k] = m->lineno;
	s->key_ok[k] = set_value(m, s, k, value);
	return 1;
}

/* ------------------------------------------------------------- checks */

static void check_required(struct mf *m, const struct section *s)
{
	enum key k;

	for (k = 0; k < KEY_COUNT; k++)
		if (keys[k].kind == s->kind && keys[k].required &&
		    !s->key_line[k])
			report_in(m, s, s->line, "missing key '%s'",
				  keys[k].name);
}

static int shard_index(const struct mf *m, const char *name)
{
	unsigned int i;

	for (i = 0; i < m->nshards; i++)
		if (!strcmp(m->shards[i].sec.name, name))
			return (int)i;
	return -1;
}

/*
 * Names to shard indices; everything else about a channel and its ends is
 * the image validator's to refuse, at the channel's header (emit()).
 */
static void check_endpoints(struct mf *m, const struct mf_channel *ch)
{
	const struct section *s = &ch->sec;

	if (s->key_ok[KEY_FROM] && shard_index(m, ch->from) < 0)
		report_in(m, s, s->key_line[KEY_FROM], "from: no shard '%s'",
			  ch->from);
	if (s->key_ok[KEY_TO] && shard_index(m, ch->to) < 0)
		report_in(m, s, s->key_line[KEY_TO], "to: no shard '%s'", ch->to);
}

static int channel_index(const struct mf *m, const char *name)
{
	unsigned int i;

	for (i = 0; i < m->nchannels; i++)
		if (!strcmp(m->channels[i].sec.name, name))
			return (int)i;
	return -1;
}

static bool same_addr(const struct vanity_pci_addr *a,
		      const struct vanity_pci_addr *b)
{
	return a->domain == b->domain && a->bus == b->bus &&
	       a->devfn == b->devfn;
}

/*
 * A device's references, resolved once every section is read: its
 * address against earlier devices', its owner, and what it may DMA into
 * (the owner's memory, channels the owner is an end of). The image
 * validator checks the same again, as the module does.
 */
static void check_device(struct mf *m, unsigned int i)
{
	const struct mf_device *dv = &m->devices[i], *o;
	const struct section *s = &dv->sec;
	const struct mf_shard *owner = NULL;
	const struct mf_channel *ch;
	char addr[VANITY_PCI_ADDR_LEN];
	unsigned int j;
	int k;

	for (j = 0; s->key_ok[KEY_PCI] && j < i; j++) {
		o = &m->devices[j];
		if (o->sec.key_ok[KEY_PCI] && same_addr(&o->addr, &dv->addr)) {
			vanity_pci_addr_format(&dv->addr, addr);
			report_in(m, s, s->key_line[KEY_PCI],
				  "pci %s is also device '%s' (line %d)", addr,
				  o->sec.name, o->sec.key_line[KEY_PCI]);
			break;
		}
	}
	if (s->key_ok[KEY_OWNER]) {
		k = shard_index(m, dv->owner);
		if (k < 0)
			report_in(m, s, s->key_line[KEY_OWNER],
				  "shard: no shard '%s'", dv->owner);
		else
			owner = &m->shards[k];
	}
	if (s->key_line[KEY_DMA] && !s->key_ok[KEY_DMA])
		return;
	for (j = 0; j < dv->ndma; j++) {
		k = channel_index(m, dv->dma[j]);
		if (k < 0) {
			report_in(m, s, s->key_line[KEY_DMA], "dma: no channel '%s'",
				  dv->dma[j]);
			continue;
		}
		ch = &m->channels[k];
		if (owner && ch->sec.key_ok[KEY_FROM] && ch->sec.key_ok[KEY_TO] &&
		    strcmp(ch->from, owner->sec.name) &&
		    strcmp(ch->to, owner->sec.name))
			report_in(m, s, s->key_line[KEY_DMA],
				  "dma: shard '%s' is not an endpoint of channel '%s'",
				  owner->sec.name, ch->sec.name);
	}
	/* A memory key that was refused has been reported already. */
	if (!owner || !dv->dma_private || owner->memory ||
	    (owner->sec.key_line[KEY_MEMORY] && !owner->sec.key_ok[KEY_MEMORY]))
		return;
	if (s->key_line[KEY_DMA])
		report_in(m, s, s->key_line[KEY_DMA],
			  "dma: private, but shard '%s' has no memory",
			  owner->sec.name);
	else
		report_in(m, s, s->line,
			  "dma defaults to private, but shard '%s' has no memory: give it memory, or set dma (none or channel names)",
			  owner->sec.name);
}

/*
 * Only root starts a program as another user: a shard whose program
 * `vanityctl run` would have to start as a user its runner is not is
 * refused here, at the user's line, before anything runs. A shard
 * without a program is attached by whoever owns it: nothing to start.
 */
static void check_runner(struct mf *m, const struct mf_shard *sh)
{
	const struct section *s = &sh->sec;
	char who[ECHO_MAX + 32];

	if (m->runner == VANITY_RUNNER_ANY || m->runner == 0 ||
	    !s->key_ok[KEY_USER] || !s->key_ok[KEY_PROGRAM] ||
	    sh->uid == m->runner)
		return;
	if (sh->user_is_uid)
		snprintf(who, sizeof(who), "uid %u", sh->uid);
	else
		snprintf(who, sizeof(who), "user '%s' (uid %u)", sh->user,
			 sh->uid);
	report_in(m, s, s->key_line[KEY_USER],
		  "cannot start its program as %s: vanityctl runs as uid %u, not as root or that user",
		  who, m->runner);
}

static void check_all(struct mf *m)
{
	unsigned int i;

	if (!m->have_system)
		report(m, 0, "no [system] section");
	else
		check_required(m, &m->system);
	if (!m->nshards)
		report(m, 0, "no shards: declare at least one [shard NAME]");
	for (i = 0; i < m->nshards; i++) {
		check_required(m, &m->shards[i].sec);
		check_runner(m, &m->shards[i]);
	}
	for (i = 0; i < m->nchannels; i++) {
		check_required(m, &m->channels[i].sec);
		check_endpoints(m, &m->channels[i]);
	}
	for (i = 0; i < m->ndevices; i++) {
		check_required(m, &m->devices[i].sec);
		check_device(m, i);
	}
}

/*
 * The line of the section an image refusal names: a shard's, a channel's
 * and a device's index in the image are their order in the manifest.
 */
static int diag_line(const struct mf *m, const struct vanity_diag *d)
{
	if (d->shard >= 0 && (unsigned int)d->shard < m->nshards)
		return m->shards[d->shard].sec.line;
	if (d->channel >= 0 && (unsigned int)d->channel < m->nchannels)
		return m->channels[d->channel].sec.line;
	if (d->device >= 0 && (unsigned int)d->device < m->ndevices)
		return m->devices[d->device].sec.line;
	return 0;
}

/*
 * Only called on a manifest without errors: every value is valid. What
 * relates entries to each other (a channel's ends, its slots, the totals)
 * the image validator checks, one truth with the module's.
 */
static void emit(struct mf *m, struct vanity_imgw *w)
{
	struct vanity_diag d;
	struct mf_shard *sh;
	struct mf_channel *ch;
	struct mf_device *dv;
	unsigned int i, j;
	size_t len;
	void *img;
	int ret, c;

	vanity_imgw_init(w, m->system_name);
	for (i = 0; i < m->nshards; i++) {
		sh = &m->shards[i];
		ret = vanity_imgw_shard(w, sh->sec.name, sh->memory, sh->cpus,
					sh->uid, sh->program);
		if (ret < 0) {
			report_in(m, &sh->sec, sh->sec.key_line[KEY_PROGRAM],
				  "program strings overflow the %u-byte string table",
				  VANITY_STRTAB_MAX);
			return;
		}
		w->shards[ret].ring_entries = sh->ring_entries;
		if (sh->restart)
			w->shards[ret].flags |= VANITY_SHARD_F_RESTART;
		/* No user named: whoever runs the system (uid stays 0). */
		if (!sh->sec.key_line[KEY_USER])
			w->shards[ret].flags |= VANITY_SHARD_F_SYSTEM_OWNER;
	}
	for (i = 0; i < m->nchannels; i++) {
		ch = &m->channels[i];
		vanity_imgw_channel(w, ch->sec.name, (unsigned int)shard_index(m, ch->from),
				    (unsigned int)shard_index(m, ch->to),
				    ch->slot_size, ch->slots);
	}
	for (i = 0; i < m->ndevices; i++) {
		dv = &m->devices[i];
		ret = vanity_imgw_device(w, dv->sec.name, &dv->addr,
					 (unsigned int)shard_index(m, dv->owner),
					 dv->dma_private ? VANITY_DEVICE_F_DMA_PRIVATE : 0);
		for (j = 0; j < dv->ndma; j++) {
			c = channel_index(m, dv->dma[j]);
			w->devices[ret].dma_channels[c / 64] |= 1ULL << (c % 64);
		}
	}
	ret = vanity_imgw_finish(w, &img, &len);
	if (ret) {
		report(m, 0, "cannot write the image: %s", strerror(-ret));
		return;
	}
	ret = vanity_image_check(img, len, &d);
	if (ret)
		report(m, diag_line(m, &d), "%s", d.msg);
	free(img);
}

int vanity_manifest_load(const char *path, struct vanity_imgw *w, FILE *errs)
{
	return vanity_manifest_load_run(path, w, errs, VANITY_RUNNER_ANY);
}

int vanity_manifest_load_run(const char *path, struct vanity_imgw *w,
			     FILE *errs, uint32_t runner)
{
	int saved_max_line = &ini_max_line ? ini_max_line : 0;
	struct mf *m;
	int ret;

	vanity_imgw_init(w, "");
	m = calloc(1, sizeof(*m));
	if (!m) {
		fprintf(errs, "%s:0: out of memory\n", path);
		return -1;
	}
	m->path = path;
	m->runner = runner;
	m->in = fopen(path, "r");
	if (!m->in) {
		report(m, 0, "cannot open: %s", strerror(errno));
		flush_diags(m, errs);
		free(m);
		return -1;
	}
	/* The default of 200 bytes cannot hold a long program path. */
	if (&ini_max_line)
		ini_max_line = LINE_BYTES;
	ret = ini_parse_stream(mf_read, m, mf_handler, m);
	if (&ini_max_line)
		ini_max_line = saved_max_line;
	if (ret == -2)
		report(m, 0, "out of memory");
	else if (ret && !m->errors)
		report(m, ret > 0 ? ret : 0, "syntax error");
	fclose(m->in);
	free(m->line);

	if (!m->read_failed)
		check_all(m);
	if (!m->errors)
		emit(m, w);
	ret = m->errors ? -1 : 0;
	flush_diags(m, errs);
	free(m);
	return ret;
}
