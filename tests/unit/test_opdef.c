// SPDX-License-Identifier: GPL-2.0
/*
 * The portable op table's validation, natively: what every backend must
 * accept and refuse, and the plain-NOP fast test the module's and the
 * simulator's hot loops make before it (it must never accept an SQE the
 * table would refuse), and the stamps that publish SQEs and CQEs.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "opdef.h"
#include "sim_ring.h"

static struct vanity_op_ctx ctx_of(uint32_t nchannels, uint64_t endpoints)
{
	struct vanity_op_ctx c = { .nchannels = nchannels };

	c.endpoint[0] = endpoints;
	return c;
}

/* The fast test on @sqe's words, as the backends read them. */
static bool plain(const struct vanity_sqe *sqe, u64 *ud)
{
	u64 w[VANITY_SQE_WORDS];

	memcpy(w, sqe, sizeof(w));
	return vanity_sqe_plain_nop(w, ud);
}

Test(opdef, each_op_accepts_its_well_formed_sqe)
{
	struct vanity_op_ctx c = ctx_of(4, 0x5);	/* ends of 0 and 2 */
	struct vanity_sqe s;

	memset(&s, 0, sizeof(s));
	s.opcode = VANITY_OP_NOP;
	cr_expect_eq(vanity_sqe_validate(&s, &c), 0);
	s.opcode = VANITY_OP_YIELD;
	cr_expect_eq(vanity_sqe_validate(&s, &c), 0);
	s.opcode = VANITY_OP_NOTIFY;
	s.channel = 2;
	cr_expect_eq(vanity_sqe_validate(&s, &c), 0);
	s.opcode = VANITY_OP_WAIT;
	s.channel = 0;
	s.mask = 0x5;
	s.timeout_ns = -1;
	cr_expect_eq(vanity_sqe_validate(&s, &c), 0);
	memset(&s, 0, sizeof(s));
	s.opcode = VANITY_OP_TIMEOUT;
	s.timeout_ns = 1000;
	cr_expect_eq(vanity_sqe_validate(&s, &c), 0);
}

Test(opdef, refusals_name_their_errno)
{
	struct vanity_op_ctx c = ctx_of(4, 0x5);
	struct vanity_sqe s;

	memset(&s, 0, sizeof(s));
	s.opcode = VANITY_OP_LAST;
	cr_expect_eq(vanity_sqe_validate(&s, &c), -EINVAL, "unknown opcode");
	s.opcode = 0xff;
	cr_expect_eq(vanity_sqe_validate(&s, &c), -EINVAL, "opcode 255");
	memset(&s, 0, sizeof(s));
	s.flags = 1;
	cr_expect_eq(vanity_sqe_validate(&s, &c), -EINVAL, "a flag");
	memset(&s, 0, sizeof(s));
	s.opcode = VANITY_OP_NOTIFY;
	s.channel = 1;
	cr_expect_eq(vanity_sqe_validate(&s, &c), -EACCES, "not its channel");
	s.channel = 4;
	cr_expect_eq(vanity_sqe_validate(&s, &c), -EINVAL, "no such channel");
	memset(&s, 0, sizeof(s));
	s.opcode = VANITY_OP_WAIT;
	cr_expect_eq(vanity_sqe_validate(&s, &c), -EINVAL, "empty mask");
	s.mask = 0x3;
	cr_expect_eq(vanity_sqe_validate(&s, &c), -EACCES, "mask over channel 1");
	s.mask = 0x11;
	cr_expect_eq(vanity_sqe_validate(&s, &c), -EINVAL, "mask past the last");
	memset(&s, 0, sizeof(s));
	s.opcode = VANITY_OP_TIMEOUT;
	s.timeout_ns = -1;
	cr_expect_eq(vanity_sqe_validate(&s, &c), -EINVAL, "negative timeout");
	for (unsigned int i = 0; i < ARRAY_SIZE(s.resv); i++) {
		memset(&s, 0, sizeof(s));
		s.resv[i] = 1ULL << 63;
		cr_expect_eq(vanity_sqe_validate(&s, &c), -EINVAL, "resv[%u]", i);
	}
}

/* The stamp publishes an SQE; it is no field of the op's. */
Test(opdef, any_stamp_is_valid_and_leaves_a_nop_plain)
{
	struct vanity_op_ctx c = ctx_of(4, 0x5);
	static const u16 stamps[] = { 1, 0x7fff, 0x8000, 0x8001, 0xffff };
	struct vanity_sqe s;
	u64 ud = 0;

	for (unsigned int i = 0; i < ARRAY_SIZE(stamps); i++) {
		memset(&s, 0, sizeof(s));
		s.stamp = stamps[i];
		s.user_data = 77;
		cr_expect(plain(&s, &ud), "stamp %#x", stamps[i]);
		cr_expect_eq(ud, 77);
		cr_expect_eq(vanity_sqe_validate(&s, &c), 0, "stamp %#x", stamps[i]);
		s.opcode = VANITY_OP_NOTIFY;
		s.channel = 2;
		cr_expect(!plain(&s, &ud), "a NOTIFY is not a NOP");
		cr_expect_eq(vanity_sqe_validate(&s, &c), 0, "stamp %#x", stamps[i]);
	}
}

/* What a tail publishes: behind the head by up to a ring, nothing. */
Test(opdef, a_tail_publishes_at_most_a_ring_and_nothing_behind_the_head)
{
	cr_expect_eq(vanity_sq_tail_avail(5, 5, 128), 0);
	cr_expect_eq(vanity_sq_tail_avail(6, 5, 128), 1);
	cr_expect_eq(vanity_sq_tail_avail(133, 5, 128), 128);
	cr_expect_eq(vanity_sq_tail_avail(134, 5, 128), 128, "wild: clipped");
	cr_expect_eq(vanity_sq_tail_avail(4, 5, 128), 0, "a stamp ran ahead");
	cr_expect_eq(vanity_sq_tail_avail(5 - 128, 5, 128), 0);
	cr_expect_eq(vanity_sq_tail_avail(5 - 129, 5, 128), 128, "wild: clipped");
	cr_expect_eq(vanity_sq_tail_avail(0x80000000u, 0, 128), 128);
	/* Across the 32-bit wrap. */
	cr_expect_eq(vanity_sq_tail_avail(3, 0xfffffffeu, 128), 5);
	cr_expect_eq(vanity_sq_tail_avail(0xfffffffeu, 3, 128), 0);
}

Test(opdef, a_stamp_matches_its_index_only)
{
	struct vanity_sqe s;

	memset(&s, 0, sizeof(s));
	/* Zero is no stamp: a zeroed or unstamped slot is never published. */
	for (u32 i = 0; i < 70000; i++)
		cr_assert(!vanity_sqe_stamped(&s, i), "index %u", i);
	s.stamp = VANITY_STAMP(5);
	cr_expect_eq(s.stamp, 0x8005);
	cr_expect(vanity_sqe_stamped(&s, 5));
	cr_expect(!vanity_sqe_stamped(&s, 4));
	cr_expect(!vanity_sqe_stamped(&s, 6));
	/* The same slot a lap earlier, for every ring size: never equal. */
	for (u32 n = 1; n <= VANITY_RING_ENTRIES_MAX * 2; n *= 2)
		cr_expect(!vanity_sqe_stamped(&s, 5 + n), "a lap of %u", n);
	/* 15 bits of index: it repeats every 32768, past any ring's lap. */
	cr_expect(vanity_sqe_stamped(&s, 5 + 32768));
	cr_expect(vanity_sqe_stamped(&s, 5 + 0xffff8000U));
}

Test(opdef, a_plain_nop_is_zero_but_for_user_data_and_stamp)
{
	struct vanity_op_ctx c = ctx_of(0, 0);
	struct vanity_sqe s;
	u64 ud = 0;

	memset(&s, 0, sizeof(s));
	s.user_data = 0x8000000000000001ULL;
	cr_expect(plain(&s, &ud));
	cr_expect_eq(vanity_sqe_validate(&s, &c), 0);
	cr_expect_eq(ud, s.user_data);

	/* Any one other byte non-zero: not plain, and the table refuses it. */
	for (size_t b = 0; b < sizeof(s); b++) {
		if (b >= offsetof(struct vanity_sqe, user_data) &&
		    b < offsetof(struct vanity_sqe, user_data) + 8)
			continue;
		if (b >= offsetof(struct vanity_sqe, stamp) &&
		    b < offsetof(struct vanity_sqe, stamp) + 2)
			continue;
		memset(&s, 0, sizeof(s));
		((uint8_t *)&s)[b] = 0x80;
		cr_expect(!plain(&s, &ud), "byte %zu", b);
		/* Byte 0: opcode 0x80, unknown; any other: a stray field. */
		cr_expect_eq(vanity_sqe_validate(&s, &c), -EINVAL, "byte %zu", b);
	}
}

/* Random SQEs: the fast test never accepts what the table refuses. */
Test(opdef, the_fast_test_agrees_with_the_table)
{
	struct vanity_op_ctx c = ctx_of(64, ~0ULL);
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	unsigned int nplain = 0;
	struct vanity_sqe s;
	u64 w[VANITY_SQE_WORDS], ud;

	for (int i = 0; i < 200000; i++) {
		memset(w, 0, sizeof(w));
		/* Sparse words, so plain NOPs and near misses both occur. */
		for (int k = 0; k < VANITY_SQE_WORDS; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			if (!(x & 7))
				w[k] = x >> 3 & (x & 8 ? 0xff : ~0ULL);
		}
		memcpy(&s, w, sizeof(s));
		s.stamp = 0;	/* the draw of a stamp adds nothing */
		memcpy(w, &s, sizeof(s));
		if (vanity_sqe_plain_nop(w, &ud)) {
			nplain++;
			cr_assert_eq(ud, s.user_data);
			cr_assert_eq(s.opcode, VANITY_OP_NOP);
			cr_assert_eq(vanity_sqe_validate(&s, &c), 0, "sqe %d", i);
		} else if (s.opcode == VANITY_OP_NOP) {
			cr_assert_eq(vanity_sqe_validate(&s, &c), -EINVAL,
				     "a NOP that is not plain is malformed (%d)", i);
		}
	}
	cr_expect_gt(nplain, 100, "the draw produced plain NOPs");
}

Test(opdef, a_cqe_is_two_words_the_stamp_in_the_second)
{
	struct vanity_cqe cqe;
	u64 w[2] = { 0x1122334455667788ULL,
		     vanity_cqe_word1(-EINVAL, 0x5a, 0x12345) };

	memcpy(&cqe, w, sizeof(cqe));
	cr_expect_eq(cqe.user_data, 0x1122334455667788ULL);
	cr_expect_eq(cqe.res, -EINVAL);
	cr_expect_eq(cqe.flags, 0x5a);
	cr_expect_eq(cqe.stamp, VANITY_STAMP(0x12345));
	cr_expect_eq(cqe.stamp, 0xa345);
	w[1] = vanity_cqe_word1(0x7fffffff, 0, 0);
	memcpy(&cqe, w, sizeof(cqe));
	cr_expect_eq(cqe.res, 0x7fffffff);
	cr_expect_eq(cqe.flags, 0);
	cr_expect_eq(cqe.stamp, 0x8000);
}

Test(opdef, posting_a_cqe_writes_both_words)
{
	struct vanity_cqe cqe;
	u64 w[2] = { ~0ULL, ~0ULL };

	vanity_cqe_post(w, 0xfffffffe, 42, -EACCES);
	memcpy(&cqe, w, sizeof(cqe));
	cr_expect_eq(cqe.user_data, 42);
	cr_expect_eq(cqe.res, -EACCES);
	cr_expect_eq(cqe.flags, 0);
	cr_expect_eq(cqe.stamp, VANITY_STAMP(0xfffffffe));
	cr_expect_eq(cqe.stamp, 0xfffe);
}

/* Every opcode has its name, validator and, on the simulator, its issue. */
Test(opdef, every_opcode_has_every_entry)
{
	unsigned int i;

	cr_assert_eq(vanity_opdefs_check(), 0);
	cr_assert_eq(vanity_sim_ring_ops_check(), 0);
	for (i = 0; i < VANITY_OP_LAST; i++) {
		cr_assert_not_null(vanity_opdefs[i].name, "opcode %u", i);
		cr_assert_not_null(vanity_opdefs[i].validate, "opcode %u", i);
	}
}
