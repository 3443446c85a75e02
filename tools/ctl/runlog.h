/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vanityctl run's side of the run page (lib/include/vanity/log.h): one
 * sealed memfd per shard, the log ring's consumer, the shard's counters,
 * and turning the hostile text of a record into terminal or JSON output.
 */
#ifndef VANITY_CTL_RUNLOG_H
#define VANITY_CTL_RUNLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vanity/log.h>

/* A page as run created it: every field here is run's own copy. */
struct vanity_runpage {
	int fd;				/* memfd, close-on-exec, sealed */
	void *map;
	size_t size;
	uint32_t ring_size;
	uint32_t msg_max;
	uint32_t tail;			/* consumed so far: never read back */
	uint64_t corrupt;		/* times the ring made no sense */
};

/* One record, copied out of the ring: text NUL-terminated, raw bytes. */
struct vanity_logline {
	int level;
	unsigned int flags;		/* VANITY_LOG_F_* */
	uint64_t ts_ns;
	uint32_t len;
	char text[VANITY_LOG_MSG_MAX + 1];
};

/* Counters the shard bumps; plain numbers, whatever it wrote. */
struct vanity_runctrs {
	uint64_t loops, idle, dropped;
};

/*
 * A page with a ring of @ring_size bytes (a power of two within
 * VANITY_LOG_RING_MIN..MAX): a memfd sealed against shrinking and growing
 * (so neither side's mapping can fault), mapped, header written. 0 or
 * -errno; @p->fd is -1 when there is none.
 */
int vanity_runpage_create(struct vanity_runpage *p, const char *name,
			  uint32_t ring_size);
void vanity_runpage_destroy(struct vanity_runpage *p);

/*
 * Before (re)starting the shard's program: write the header again from
 * run's copy and set the ring's head and tail to what run has consumed,
 * so a new process starts from a clean ring whatever the last one left
 * (drain first: anything unread is dropped). Counters carry over.
 */
void vanity_runpage_restart(struct vanity_runpage *p);

/*
 * Deliver every published record to @fn, oldest first, then hand the
 * space back. Returns the number delivered, or -EPROTO when the ring was
 * inconsistent (a head beyond the ring, a bad record header or length):
 * the records before that were delivered, the rest skipped.
 */
int vanity_runpage_drain(struct vanity_runpage *p,
			 void (*fn)(void *ctx, const struct vanity_logline *l),
			 void *ctx);

void vanity_runpage_ctrs(const struct vanity_runpage *p,
			 struct vanity_runctrs *c);

/* "error", "warning", "notice", "info" or "debug". */
const char *vanity_log_level_name(int level);

/*
 * @n bytes of hostile text for a terminal: valid UTF-8 is kept, other
 * bytes and control characters (but tab and newline) become '?'. Writes
 * at most @len bytes with the NUL; returns the length.
 */
size_t vanity_log_sanitize(char *dst, size_t len, const char *src, size_t n);

/*
 * @n bytes as the inside of a JSON string: escapes for quote, backslash
 * and controls, U+FFFD for invalid UTF-8. Never cuts an escape; returns
 * the length written (NUL included in @len).
 */
size_t vanity_json_escape(char *dst, size_t len, const char *src, size_t n);

/* Whether @n bytes are exactly one JSON object (blanks around allowed). */
bool vanity_json_is_object(const char *s, size_t n);

#endif
