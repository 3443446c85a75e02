/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * Shard logging and loop counters, and the per-shard "run page" that
 * carries them to `vanityctl run`: a versioned shared-memory layout (a
 * header page, then a single-producer byte ring of log records) that run
 * creates as a memfd for each shard it starts and hands over as an
 * inherited fd named by $VANITY_RUN_FD. The same on both backends: neither
 * the module nor the simulator takes part.
 *
 * Each side treats the other as hostile. The shard checks the memfd's seals
 * and the header once when it maps the page, copies the geometry and never
 * reads it again; run never reads the header back at all (it knows what it
 * created) and bounds every index and length the shard publishes.
 */
#ifndef VANITY_LOG_H
#define VANITY_LOG_H

#include <stdarg.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vanity;

/* ------------------------------------------------------------------ */
/* The run page: the contract between libvanity and `vanityctl run`.  */

#define VANITY_RUN_FD_ENV	"VANITY_RUN_FD"
#define VANITY_RUNPAGE_MAGIC	0x3150474e52594e56ULL	/* "VNYRNGP1" */
#define VANITY_RUNPAGE_VERSION	1
#define VANITY_RUNPAGE_HDR_SIZE	4096	/* the header page; the ring follows */
#define VANITY_LOG_RING_MIN	4096	/* ring bytes: a power of two */
#define VANITY_LOG_RING_MAX	(1u << 20)
#define VANITY_LOG_RING_DEFAULT	16384
#define VANITY_LOG_MSG_MAX	1024	/* bytes of text per record */

/*
 * Counters the shard's main loop bumps: loops run, and how many of them
 * found no work. Single writer (the shard's loop thread), read by run.
 */
struct vanity_loop_ctrs {
	uint64_t loops;
	uint64_t idle;
};

struct vanity_runpage_hdr {
	/* Written by run before the program starts; the shard reads it once. */
	uint64_t magic;			/* VANITY_RUNPAGE_MAGIC */
	uint32_t version;		/* VANITY_RUNPAGE_VERSION */
	uint32_t hdr_size;		/* bytes before the ring */
	uint32_t ring_size;		/* ring bytes, power of two */
	uint32_t size;			/* the whole mapping: hdr_size + ring_size */
	uint32_t msg_max;		/* VANITY_LOG_MSG_MAX */
	uint32_t resv0[9];		/* zero */
	/* 64: written by the shard only. */
	struct vanity_loop_ctrs loop;
	uint8_t pad1[48];
	/* 128: the ring's producer (the shard). */
	uint32_t head;			/* bytes published, free running */
	uint32_t resv1;
	uint64_t dropped;		/* records not written: the ring was full */
	uint8_t pad2[48];
	/* 192: the ring's consumer (run). */
	uint32_t tail;			/* bytes consumed, free running */
	uint32_t resv2;
	uint8_t pad3[56];
};

/*
 * A record in the ring: this header, then @len bytes of text (no NUL, no
 * trailing newline), padded to 8 bytes. A record may wrap around the end
 * of the ring; both sides copy through the mask.
 */
#define VANITY_LOG_REC_MAGIC	0x4c47	/* "GL" */
#define VANITY_LOG_F_TRUNC	(1u << 0)	/* text was cut at msg_max */

struct vanity_log_rec {
	uint16_t magic;			/* VANITY_LOG_REC_MAGIC */
	uint8_t level;			/* VANITY_LOG_* */
	uint8_t flags;			/* VANITY_LOG_F_* */
	uint32_t len;			/* text bytes, at most msg_max */
	uint64_t ts_ns;			/* CLOCK_MONOTONIC when logged */
};

#define VANITY_LOG_REC_BYTES(len) \
	((uint32_t)sizeof(struct vanity_log_rec) + (((uint32_t)(len) + 7u) & ~7u))

/* ------------------------------------------------------------------ */
/* The shard's side.                                                  */

/* Levels, syslog's numbers. */
enum vanity_log_level {
	VANITY_LOG_ERR = 3,
	VANITY_LOG_WARN = 4,
	VANITY_LOG_INFO = 6,
	VANITY_LOG_DEBUG = 7,
};

/*
 * Log one line (printf-style; a trailing newline is dropped, text beyond
 * VANITY_LOG_MSG_MAX bytes is cut). Under `vanityctl run` the record goes
 * into the shard's log ring and run prints it; it never blocks: a full
 * ring drops the record and counts it (-ENOBUFS). Otherwise (no
 * $VANITY_RUN_FD, or a forked child of the process that mapped the page)
 * it is written to stderr as "[shard] text", the shard being @v's name,
 * else $VANITY_SHARD, else the program's name. Thread-safe; not for
 * signal handlers. 0, -ENOBUFS, or -EINVAL for a level outside 0..7.
 * The one libvanity call that may print.
 */
int vanity_log(struct vanity *v, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int vanity_vlog(struct vanity *v, int level, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* Whether log records reach `vanityctl run` (1) or stderr (0). */
int vanity_log_to_run(void);

/* Internal: the page's loop counters, or a process-local pair. */
extern struct vanity_loop_ctrs *vanity__loop;

/*
 * Count @n turns of the shard's main loop: one relaxed load and store on
 * a line only this shard writes, no system call, no atomic
 * read-modify-write (so: from one thread, the loop's). Run reads the
 * counter once per status tick for the loop rate.
 */
static inline void vanity_loop_add(uint64_t n)
{
	struct vanity_loop_ctrs *c = vanity__loop;

	__atomic_store_n(&c->loops,
			 __atomic_load_n(&c->loops, __ATOMIC_RELAXED) + n,
			 __ATOMIC_RELAXED);
}

/* One turn of the main loop. */
static inline void vanity_loop_tick(void)
{
	vanity_loop_add(1);
}

/* A turn that found no work (call it as well as the tick): run shows idle %. */
static inline void vanity_loop_idle(void)
{
	struct vanity_loop_ctrs *c = vanity__loop;

	__atomic_store_n(&c->idle,
			 __atomic_load_n(&c->idle, __ATOMIC_RELAXED) + 1,
			 __ATOMIC_RELAXED);
}

/* The loop count so far (of the page: it carries over restarts under run). */
static inline uint64_t vanity_loop_count(void)
{
	return __atomic_load_n(&vanity__loop->loops, __ATOMIC_RELAXED);
}

#ifdef __cplusplus
}
#endif

#endif /* VANITY_LOG_H */
