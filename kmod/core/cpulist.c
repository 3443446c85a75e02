// SPDX-License-Identifier: GPL-2.0
/*
 * CPU list parsing and formatting over the fixed VANITY_MAX_CPUS bitmap,
 * written against the shim only so module, tools and tests share it.
 */
#include "cpulist.h"

#define CPU_ID_MAX	(VANITY_MAX_CPUS - 1)
#define ECHO_MAX	24	/* bytes of offending input quoted in a reason */

/* The reason is optional: callers that only want a yes/no pass NULL. */
#define reason(err, errlen, ...) do {					\
	if ((err) && (errlen))						\
		snprintf((err), (errlen), __VA_ARGS__);			\
} while (0)

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static const char *skip_blanks(const char *p)
{
	while (is_blank(*p))
		p++;
	return p;
}

static bool cpu_test(const u64 cpus[VANITY_CPU_WORDS], unsigned int cpu)
{
	return cpus[cpu / 64] & (1ULL << (cpu % 64));
}

static void cpu_set(u64 cpus[VANITY_CPU_WORDS], unsigned int cpu)
{
	cpus[cpu / 64] |= 1ULL << (cpu % 64);
}

static size_t echo_len(const char *p)
{
	size_t n = 0;

	while (p[n] && n < ECHO_MAX)
		n++;
	return n;
}

/*
 * One decimal id. Accumulation stops growing once the value is out of
 * range, so arbitrarily long digit strings cannot overflow; the reason
 * then quotes the digits as written.
 */
static int parse_id(const char **pp, unsigned int *out, char *err,
		    size_t errlen)
{
	const char *p = *pp, *start = *pp;
	unsigned int v = 0;
	bool big = false;
	size_t n;

	if (!is_digit(*p)) {
		if (!*p)
			reason(err, errlen, "expected a cpu number at end of list");
		else
			reason(err, errlen, "expected a cpu number at '%.*s'",
			       (int)echo_len(p), p);
		return -EINVAL;
	}
	for (; is_digit(*p); p++) {
		if (big)
			continue;
		v = v * 10 + (unsigned int)(*p - '0');
		big = v > CPU_ID_MAX;
	}
	if (big) {
		n = (size_t)(p - start);
		reason(err, errlen, "cpu %.*s%s out of range (max %u)",
		       (int)(n < ECHO_MAX ? n : ECHO_MAX), start,
		       n > ECHO_MAX ? "..." : "", CPU_ID_MAX);
		return -EINVAL;
	}
	*pp = p;
	*out = v;
	return 0;
}

static int parse_entries(const char *p, u64 cpus[VANITY_CPU_WORDS],
			 char *err, size_t errlen)
{
	unsigned int first, last, cpu;
	int ret;

	for (;;) {
		p = skip_blanks(p);
		if (*p == ',') {
			reason(err, errlen, "empty entry in cpu list");
			return -EINVAL;
		}
		ret = parse_id(&p, &first, err, errlen);
		if (ret)
			return ret;
		last = first;
		p = skip_blanks(p);
		if (*p == '-') {
			p = skip_blanks(p + 1);
			ret = parse_id(&p, &last, err, errlen);
			if (ret)
				return ret;
			if (last < first) {
				reason(err, errlen, "bad range %u-%u", first, last);
				return -EINVAL;
			}
			p = skip_blanks(p);
		}
		for (cpu = first; cpu <= last; cpu++) {
			if (cpu_test(cpus, cpu)) {
				reason(err, errlen, "duplicate cpu %u", cpu);
				return -EINVAL;
			}
			cpu_set(cpus, cpu);
		}
		if (!*p)
			return 0;
		if (*p != ',') {
			if (*p > ' ' && *p < 0x7f)
				reason(err, errlen, "unexpected '%c' in cpu list", *p);
			else
				reason(err, errlen,
				       "unexpected byte 0x%02x in cpu list",
				       (unsigned int)(u8)*p);
			return -EINVAL;
		}
		if (!*skip_blanks(p + 1)) {
			reason(err, errlen, "trailing ',' in cpu list");
			return -EINVAL;
		}
		p++;
	}
}

int vanity_cpulist_parse(const char *s, u64 cpus[VANITY_CPU_WORDS],
			 char *err, size_t errlen)
{
	int ret;

	memset(cpus, 0, VANITY_CPU_WORDS * sizeof(cpus[0]));
	if (err && errlen)
		err[0] = '\0';
	if (!s || !*skip_blanks(s)) {
		reason(err, errlen, "empty cpu list");
		return -EINVAL;
	}
	ret = parse_entries(s, cpus, err, errlen);
	/* Never hand back a half-parsed set that a caller might still use. */
	if (ret)
		memset(cpus, 0, VANITY_CPU_WORDS * sizeof(cpus[0]));
	return ret;
}

int vanity_cpulist_format(const u64 cpus[VANITY_CPU_WORDS], char *buf,
			  size_t len)
{
	unsigned int cpu, end;
	size_t pos = 0;
	int n;

	if (!len)
		return -ENOSPC;
	buf[0] = '\0';
	for (cpu = 0; cpu < VANITY_MAX_CPUS; cpu++) {
		if (!cpus[cpu / 64] && cpu % 64 == 0) {
			cpu += 63;
			continue;
		}
		if (!cpu_test(cpus, cpu))
			continue;
		for (end = cpu; end < CPU_ID_MAX && cpu_test(cpus, end + 1); end++)
			;
		if (end == cpu)
			n = snprintf(buf + pos, len - pos, "%s%u",
				     pos ? "," : "", cpu);
		else
			n = snprintf(buf + pos, len - pos, "%s%u-%u",
				     pos ? "," : "", cpu, end);
		if (n < 0 || (size_t)n >= len - pos) {
			/* A cut-off list reads as a different set: show none. */
			buf[0] = '\0';
			return -ENOSPC;
		}
		pos += (size_t)n;
		cpu = end;
	}
	return (int)pos;
}

unsigned int vanity_cpulist_count(const u64 cpus[VANITY_CPU_WORDS])
{
	unsigned int w, n = 0;
	u64 v;

	/* Not __builtin_popcountll: it becomes a libgcc call in the kernel. */
	for (w = 0; w < VANITY_CPU_WORDS; w++)
		for (v = cpus[w]; v; v &= v - 1)
			n++;
	return n;
}
