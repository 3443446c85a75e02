/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * ENTER's rules, once for the module's ioctl and libvanity's hosted
 * ENTER: which arguments are refused, whether the SQPOLL thread is woken,
 * how many SQEs are submitted, whether and for how many CQEs the caller
 * waits, and what the call returns.
 */
#ifndef VANITY_CORE_ENTER_H
#define VANITY_CORE_ENTER_H

#include "shim.h"

struct vanity_enter_plan {
	bool kick;		/* wake the SQPOLL thread */
	u32 submit;		/* SQEs to consume now (never under SQPOLL) */
	bool getevents;		/* then wait ... */
	u32 min_complete;	/* ... until this many CQEs are unseen */
};

/*
 * Plan ENTER @en on a ring of @cq_entries CQEs whose SQ flags read
 * @sq_flags: 0, or -EINVAL for unknown flags, reserved words or more CQEs
 * than the ring holds.
 */
static inline int vanity_enter_plan(const struct vanity_enter *en,
				    u32 cq_entries, bool sqpoll, u32 sq_flags,
				    struct vanity_enter_plan *p)
{
	if (en->flags & ~(VANITY_ENTER_GETEVENTS | VANITY_ENTER_SQ_WAKEUP) ||
	    en->resv[0] || en->resv[1] || en->min_complete > cq_entries)
		return -EINVAL;
	p->getevents = en->flags & VANITY_ENTER_GETEVENTS;
	p->min_complete = en->min_complete;
	p->kick = sqpoll && (en->flags & VANITY_ENTER_SQ_WAKEUP ||
			     (p->getevents && sq_flags & VANITY_SQ_NEED_WAKEUP));
	p->submit = sqpoll ? 0 : en->to_submit;
	return 0;
}

/*
 * What ENTER returns: how many it submitted; the wait's error (-EINTR,
 * -ENODEV) only when it submitted none.
 */
static inline long vanity_enter_result(long submitted, int wait_err)
{
	return wait_err && !submitted ? wait_err : submitted;
}

#endif /* VANITY_CORE_ENTER_H */
