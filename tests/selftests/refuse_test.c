// SPDX-License-Identifier: GPL-2.0
/*
 * UP refusals: each bad CPU, memory request or malformed image is refused
 * with its exact errno and a message naming it, and nothing is left behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <netlink/netlink.h>
#include <netlink/genl/genl.h>
#include <netlink/genl/ctrl.h>

#include "kselftest_harness.h"
#include "common.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

#define KIB 1024ULL
#define MIB (1024ULL * 1024)
#define GIB (1024ULL * 1024 * 1024)

/* Free memory may drift this much between two readings; far below 64 MiB. */
#define FREE_TOL_KB (4 * 1024L)

/* ------------------------------------------------------------ images */

static struct vanity_image_hdr *H(void *img)
{
	return img;
}

/* Directory entry @k: the writer lists shards, channels, strings (0, 1, 2). */
static struct vanity_image_section *D(void *img, unsigned int k)
{
	return (void *)((char *)img + H(img)->section_off +
			(size_t)k * sizeof(struct vanity_image_section));
}

static struct vanity_image_shard *S(void *img, unsigned int i)
{
	return (void *)((char *)img + D(img, 0)->offset +
			(size_t)i * D(img, 0)->entry_size);
}

static struct vanity_image_channel *C(void *img, unsigned int i)
{
	return (void *)((char *)img + D(img, 1)->offset +
			(size_t)i * D(img, 1)->entry_size);
}

/*
 * The standard pair, 4 KiB per shard, 64 x 16 slots. Its layout is fixed:
 * header [0,128), directory [128,200), shards [200,600), channels
 * [600,728), strtab [728,736).
 */
#define PAIR_LEN 736

static void *pair_img(size_t *len)
{
	struct vanity_imgw w;
	void *img = NULL;

	vt_pair(&w, 4096, 64, 16);
	if (vanity_imgw_finish(&w, &img, len))
		abort();
	return img;
}

static void *finish(const struct vanity_imgw *w, size_t *len)
{
	void *img = NULL;

	if (vanity_imgw_finish(w, &img, len))
		abort();
	return img;
}

/*
 * A copy of writer image @src re-laid-out with larger header/entry sizes,
 * tails zero: header, directory, shards, channels, strings.
 */
static void *relayout(void *src, uint16_t hs, uint16_t ss, uint16_t cs,
		      size_t *len)
{
	const struct vanity_image_hdr *h = src;
	size_t dir = 3 * sizeof(struct vanity_image_section);
	size_t shards = (size_t)h->shard_count * ss;
	size_t chans = (size_t)h->channel_count * cs;
	size_t strs = D(src, 2)->count;
	size_t total = hs + dir + shards + chans + strs;
	uint8_t *out = calloc(1, total);
	unsigned int i;

	if (!out)
		abort();
	memcpy(out, h, sizeof(*h));
	H(out)->hdr_size = hs;
	H(out)->section_off = hs;
	H(out)->total_size = (uint32_t)total;
	memcpy(D(out, 0), D(src, 0), dir);
	D(out, 0)->offset = (uint32_t)(hs + dir);
	D(out, 0)->entry_size = ss;
	D(out, 1)->offset = (uint32_t)(hs + dir + shards);
	D(out, 1)->entry_size = cs;
	D(out, 2)->offset = (uint32_t)(hs + dir + shards + chans);
	for (i = 0; i < h->shard_count; i++)
		memcpy(S(out, i), S(src, i), sizeof(struct vanity_image_shard));
	for (i = 0; i < h->channel_count; i++)
		memcpy(C(out, i), C(src, i), sizeof(struct vanity_image_channel));
	memcpy(out + D(out, 2)->offset, (char *)src + D(src, 2)->offset, strs);
	vanity_imgw_seal(out, total);
	*len = total;
	return out;
}

/* ------------------------------------------------------------ raw netlink */

struct raw_res {
	int err;
	bool done;
	char msg[256];
};

static int raw_on_error(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
	struct raw_res *r = arg;
	size_t off = sizeof(*e);
	struct nlattr *a;
	int len, rem;

	(void)who;
	r->err = e->error;
	r->done = true;
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NL_STOP;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	len = (int)nlh->nlmsg_len - NLMSG_HDRLEN - (int)off;
	if (len <= 0)
		return NL_STOP;
	nla_for_each_attr(a, (struct nlattr *)((char *)e + off), len, rem)
		if (nla_type(a) == NLMSGERR_ATTR_MSG)
			snprintf(r->msg, sizeof(r->msg), "%.*s", nla_len(a),
				 (const char *)nla_data(a));
	return NL_STOP;
}

static int raw_on_ack(struct nl_msg *msg, void *arg)
{
	struct raw_res *r = arg;

	(void)msg;
	r->done = true;
	return NL_STOP;
}

/*
 * UP built by hand with libnl, bypassing the client's own size check:
 * @data/@len as VANITY_A_IMAGE, or no attribute at all when @data is NULL.
 */
static int raw_up(const void *data, size_t len, char *msg, size_t msglen)
{
	struct raw_res res = { .err = -EIO };
	struct nl_sock *sk = nl_socket_alloc();
	struct nl_msg *m = NULL;
	struct nl_cb *cb = NULL;
	int one = 1, fam, i;

	msg[0] = '\0';
	if (!sk)
		return -ENOMEM;
	if (genl_connect(sk))
		goto out;
	setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_EXT_ACK, &one,
		   sizeof(one));
	setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_CAP_ACK, &one,
		   sizeof(one));
	fam = genl_ctrl_resolve(sk, VANITY_GENL_NAME);
	if (fam < 0) {
		res.err = -ENODEV;
		goto out;
	}
	m = nlmsg_alloc_size(len + 4096);
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!m || !cb)
		goto out;
	if (!genlmsg_put(m, NL_AUTO_PORT, NL_AUTO_SEQ, fam, 0, NLM_F_ACK,
			 VANITY_CMD_UP, VANITY_GENL_VERSION))
		goto out;
	if (data && nla_put(m, VANITY_A_IMAGE, (int)len, data) < 0)
		goto out;
	nl_cb_err(cb, NL_CB_CUSTOM, raw_on_error, &res);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, raw_on_ack, &res);
	if (nl_send_auto(sk, m) < 0)
		goto out;
	res.err = 0;
	for (i = 0; i < 16 && !res.done; i++)
		if (nl_recvmsgs(sk, cb) < 0 && !res.done) {
			res.err = -EIO;
			break;
		}
	if (!res.done)
		res.err = -EIO;
	snprintf(msg, msglen, "%s", res.msg);
out:
	nlmsg_free(m);
	nl_cb_put(cb);
	nl_socket_free(sk);
	return res.err;
}

/* ------------------------------------------------------------ machine state */

FIXTURE(refuse) {
	long free0;
	char msg[256];
};

FIXTURE_SETUP(refuse)
{
	struct vanity_status *st;

	vt_reset();
	ASSERT_EQ(-ENOENT, vt_get(&st));
	free(st);
	vt_settle(200);
	self->free0 = vt_free_kb();
	ASSERT_LT(0, self->free0);
}

FIXTURE_TEARDOWN(refuse)
{
	vt_reset();
}

/* Nothing is up right now. */
static void assert_down(struct __test_metadata *_metadata)
{
	struct vanity_status *st;
	int ret = vt_get(&st);

	if (!ret)
		TH_LOG("system '%s' is up after a refused UP", st->name);
	free(st);
	ASSERT_EQ(-ENOENT, ret);
}

/*
 * The machine is as the fixture found it: nothing up, MemFree back within
 * tolerance, and a good UP and DOWN work right away.
 */
static void assert_unchanged(struct __test_metadata *_metadata,
			     FIXTURE_DATA(refuse) *self)
{
	struct vanity_status *st;
	struct vanity_imgw w;
	long free1;

	assert_down(_metadata);
	vt_settle(200);
	free1 = vt_free_kb();
	TH_LOG("free (MemFree + per-CPU lists) %ld -> %ld kB (%+ld)", self->free0, free1,
	       free1 - self->free0);
	EXPECT_LE(self->free0 - free1, FREE_TOL_KB);

	vt_pair(&w, 4096, 64, 16);
	ASSERT_EQ(0, vt_up(&w, self->msg, sizeof(self->msg)))
		TH_LOG("good UP after the refusal: %s", self->msg);
	ASSERT_EQ(0, vt_get(&st));
	EXPECT_STREQ("selftest", st->name);
	EXPECT_EQ(2, st->nshards);
	free(st);
	ASSERT_EQ(0, vt_down(false, self->msg, sizeof(self->msg)))
		TH_LOG("down: %s", self->msg);
}

/*
 * UP @img must fail with exactly @err, its message containing every one of
 * the NULL-terminated @subs; and nothing may be up afterwards.
 */
static void check_refused(struct __test_metadata *_metadata,
			  FIXTURE_DATA(refuse) *self, const void *img,
			  size_t len, int err, const char *const *subs)
{
	int ret = vt_up_raw(img, len, self->msg, sizeof(self->msg));

	if (ret == 0)
		vt_reset();
	EXPECT_EQ(err, ret) TH_LOG("message: '%s'", self->msg);
	for (; *subs; subs++)
		EXPECT_NE(NULL, strstr(self->msg, *subs))
			TH_LOG("'%s' is not in '%s'", *subs, self->msg);
	assert_down(_metadata);
}

#define REFUSED(img, len, err, ...) \
	check_refused(_metadata, self, img, len, err, \
		      (const char *const[]){ __VA_ARGS__, NULL })

/* Reseal @img (@len bytes) and expect the refusal. */
#define SEALED_REFUSED(img, len, err, ...) do { \
	vanity_imgw_seal(img, len); \
	REFUSED(img, len, err, __VA_ARGS__); \
} while (0)

/* The control case: @img (resealed) comes up; it is taken down again. */
#define SEALED_ACCEPTED(img, len) do { \
	vanity_imgw_seal(img, len); \
	check_refused(_metadata, self, img, len, 0, \
		      (const char *const[]){ NULL }); \
} while (0)

/* ------------------------------------------------------------ CPUs */

TEST_F(refuse, shard_on_housekeeping_cpu_is_einval)
{
	uint64_t good[VANITY_CPU_WORDS], bad[VANITY_CPU_WORDS];
	struct vanity_imgw w;
	unsigned int cpu;
	char want[32];
	size_t len;
	void *img;

	for (cpu = 0; cpu <= 1; cpu++) {
		vt_cpus1(good, VT_CPU_A);
		vt_cpus1(bad, cpu);
		vanity_imgw_init(&w, "cpus");
		vanity_imgw_shard(&w, "fine", 4096, good, 0, NULL);
		vanity_imgw_shard(&w, "victim", 4096, bad, 0, NULL);
		img = finish(&w, &len);
		snprintf(want, sizeof(want), "cpu %u ", cpu);
		REFUSED(img, len, -EINVAL, "'victim'", want, "not isolated");
		EXPECT_EQ(NULL, strstr(self->msg, "'fine'"));
		free(img);
	}
	assert_unchanged(_metadata, self);
}

TEST_F(refuse, shard_with_one_housekeeping_cpu_among_isolated_is_einval)
{
	uint64_t cpus[VANITY_CPU_WORDS];
	struct vanity_imgw w;
	size_t len;
	void *img;

	vt_cpus1(cpus, VT_CPU_A);
	cpus[0] |= 1ULL << VT_CPU_B | 1ULL << 1;
	vanity_imgw_init(&w, "cpus");
	vanity_imgw_shard(&w, "mixed", 4096, cpus, 0, NULL);
	img = finish(&w, &len);
	REFUSED(img, len, -EINVAL, "'mixed'", "cpu 1 ", "not isolated");
	free(img);
	assert_unchanged(_metadata, self);
}

TEST_F(refuse, shard_on_missing_cpu_is_einval)
{
	static const unsigned int cpus[] = { 1000, VANITY_MAX_CPUS - 1, 64 };
	uint64_t bad[VANITY_CPU_WORDS];
	struct vanity_imgw w;
	char want[48];
	unsigned int i;
	size_t len;
	void *img;

	for (i = 0; i < sizeof(cpus) / sizeof(cpus[0]); i++) {
		vt_cpus1(bad, cpus[i]);
		vanity_imgw_init(&w, "cpus");
		vanity_imgw_shard(&w, "ghost", 4096, bad, 0, NULL);
		img = finish(&w, &len);
		snprintf(want, sizeof(want), "cpu %u does not exist", cpus[i]);
		REFUSED(img, len, -EINVAL, "'ghost'", want);
		free(img);
	}
	assert_unchanged(_metadata, self);
}

/* ------------------------------------------------------------ memory */

TEST_F(refuse, failure_in_second_shard_frees_first_shard_memory)
{
	uint64_t a[VANITY_CPU_WORDS], bad[VANITY_CPU_WORDS];
	struct vanity_imgw w;
	unsigned int round;
	size_t len;
	void *img;

	/* A leak of the first region would be far outside the tolerance. */
	ASSERT_LT(FREE_TOL_KB * 4, (long)(64 * MIB / KIB));
	vt_cpus1(a, VT_CPU_A);
	vt_cpus1(bad, 0);
	vanity_imgw_init(&w, "unwind");
	vanity_imgw_shard(&w, "big", 64 * MIB, a, 0, NULL);
	vanity_imgw_shard(&w, "bad", 4096, bad, 0, NULL);
	vanity_imgw_channel(&w, "link", 0, 1, 64, 16);
	img = finish(&w, &len);
	/* Several rounds: one leaked region per round would add up. */
	for (round = 0; round < 3; round++)
		REFUSED(img, len, -EINVAL, "'bad'", "cpu 0 ", "not isolated");
	free(img);
	assert_unchanged(_metadata, self);
}

TEST_F(refuse, memory_beyond_ram_is_enomem)
{
	uint64_t a[VANITY_CPU_WORDS];
	struct vanity_imgw w;
	size_t len;
	void *img;

	/* The VM has 1 GiB: a 1 GiB region (the per-shard maximum) cannot fit. */
	ASSERT_LT(vt_meminfo("MemTotal"), (long)(GIB / KIB))
		TH_LOG("this test needs a machine with less than 1 GiB of RAM");
	vt_cpus1(a, VT_CPU_A);
	vanity_imgw_init(&w, "greedy");
	vanity_imgw_shard(&w, "huge", VANITY_MEMORY_MAX, a, 0, NULL);
	img = finish(&w, &len);
	REFUSED(img, len, -ENOMEM, "'huge'", "cannot allocate", "1073741824");
	free(img);
	assert_unchanged(_metadata, self);
}

TEST_F(refuse, enomem_after_big_shard_frees_big_shard_memory)
{
	uint64_t a[VANITY_CPU_WORDS], b[VANITY_CPU_WORDS];
	struct vanity_imgw w;
	unsigned int round;
	size_t len;
	void *img;

	ASSERT_LT(vt_meminfo("MemTotal"), (long)(GIB / KIB));
	vt_cpus1(a, VT_CPU_A);
	vt_cpus1(b, VT_CPU_B);
	vanity_imgw_init(&w, "greedy");
	vanity_imgw_shard(&w, "big", 64 * MIB, a, 0, NULL);
	vanity_imgw_shard(&w, "huge", VANITY_MEMORY_MAX, b, 0, NULL);
	img = finish(&w, &len);
	for (round = 0; round < 3; round++)
		REFUSED(img, len, -ENOMEM, "'huge'", "cannot allocate");
	free(img);
	assert_unchanged(_metadata, self);
}

TEST_F(refuse, memory_over_shard_limit_is_e2big)
{
	uint64_t a[VANITY_CPU_WORDS];
	struct vanity_imgw w;
	size_t len;
	void *img;

	vt_cpus1(a, VT_CPU_A);
	vanity_imgw_init(&w, "greedy");
	vanity_imgw_shard(&w, "small", 4096, a, 0, NULL);
	vanity_imgw_shard(&w, "huge", VANITY_MEMORY_MAX + 4096, a, 0, NULL);
	img = finish(&w, &len);
	REFUSED(img, len, -E2BIG, "'huge'", "exceeds");
	free(img);
	assert_unchanged(_metadata, self);
}

TEST_F(refuse, regions_over_total_limit_are_eoverflow)
{
	uint64_t a[VANITY_CPU_WORDS];
	struct vanity_imgw w;
	char name[16];
	unsigned int i;
	size_t len;
	void *img;

	vt_cpus1(a, VT_CPU_A);
	/* Five shards of 1 GiB: each legal, together over 4 GiB. */
	vanity_imgw_init(&w, "greedy");
	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "s%u", i);
		vanity_imgw_shard(&w, name, VANITY_MEMORY_MAX, a, 0, NULL);
	}
	img = finish(&w, &len);
	REFUSED(img, len, -EOVERFLOW, "over the", "limit");
	free(img);

	/* Exactly 4 GiB of shards plus one small channel: one page over. */
	vanity_imgw_init(&w, "greedy");
	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "s%u", i);
		vanity_imgw_shard(&w, name, VANITY_MEMORY_MAX, a, 0, NULL);
	}
	vanity_imgw_channel(&w, "c", 0, 1, 8, 2);
	img = finish(&w, &len);
	REFUSED(img, len, -EOVERFLOW, "over the", "limit");
	free(img);
	assert_unchanged(_metadata, self);
}

TEST_F(refuse, regions_at_total_limit_pass_validation_then_enomem)
{
	uint64_t a[VANITY_CPU_WORDS];
	struct vanity_imgw w;
	char name[16];
	unsigned int i;
	size_t len;
	void *img;

	ASSERT_LT(vt_meminfo("MemTotal"), (long)(GIB / KIB));
	vt_cpus1(a, VT_CPU_A);
	vanity_imgw_init(&w, "greedy");
	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "s%u", i);
		vanity_imgw_shard(&w, name, VANITY_MEMORY_MAX, a, 0, NULL);
	}
	img = finish(&w, &len);
	/* Exactly VANITY_TOTAL_MAX is legal: the allocation is what fails. */
	REFUSED(img, len, -ENOMEM, "'s0'", "cannot allocate");
	free(img);
	assert_unchanged(_metadata, self);
}

/* ------------------------------------------------------------ transport */

TEST_F(refuse, empty_image_attribute_is_einval)
{
	char dummy = 0;

	REFUSED(&dummy, 0, -EINVAL, "truncated", "0 bytes");
	assert_unchanged(_metadata, self);
}

TEST_F(refuse, missing_image_attribute_is_einval)
{
	EXPECT_EQ(-EINVAL, raw_up(NULL, 0, self->msg, sizeof(self->msg)))
		TH_LOG("message: '%s'", self->msg);
	assert_unchanged(_metadata, self);
}

TEST_F(refuse, image_over_max_size_is_refused)
{
	const size_t big = VANITY_IMAGE_MAX_SIZE + 1;
	uint8_t *img = calloc(1, big);
	size_t len;
	void *pair = pair_img(&len);
	int ret;

	ASSERT_NE(NULL, img);
	/* A valid image padded past the limit, total_size and CRC updated. */
	memcpy(img, pair, len);
	H(img)->total_size = (uint32_t)big;
	vanity_imgw_seal(img, big);

	/* The client refuses it before sending. */
	EXPECT_EQ(-E2BIG, vt_up_raw(img, big, self->msg, sizeof(self->msg)));
	assert_down(_metadata);

	/* Sent by hand: the attribute policy (or the module) refuses it. */
	ret = raw_up(img, big, self->msg, sizeof(self->msg));
	TH_LOG("kernel: %d '%s'", ret, self->msg);
	EXPECT_TRUE(ret == -ERANGE || ret == -E2BIG);
	assert_down(_metadata);
	free(pair);
	free(img);
	assert_unchanged(_metadata, self);
}

TEST_F(refuse, image_of_exactly_max_size_is_accepted)
{
	const size_t max = VANITY_IMAGE_MAX_SIZE;
	uint8_t *img = calloc(1, max);
	size_t len;
	void *pair = pair_img(&len);

	ASSERT_NE(NULL, img);
	memcpy(img, pair, len);
	H(img)->total_size = (uint32_t)max;
	vanity_imgw_seal(img, max);
	EXPECT_EQ(0, vt_up_raw(img, max, self->msg, sizeof(self->msg)))
		TH_LOG("message: '%s'", self->msg);
	EXPECT_EQ(0, vt_down(false, self->msg, sizeof(self->msg)));
	free(pair);
	free(img);
	assert_unchanged(_metadata, self);
}

/* ------------------------------------------------------------ header */

TEST_F(refuse, truncated_image_is_einval)
{
	static const size_t short_lens[] = { 1, 4, 7, 8, 16, 64, 120, 127 };
	static const size_t cut_lens[] = { 128, 136, 199, 200, 600,
					   PAIR_LEN - 8, PAIR_LEN - 1 };
	size_t len, i;
	void *img = pair_img(&len);

	ASSERT_EQ(PAIR_LEN, len);
	/* Shorter than the header. */
	for (i = 0; i < sizeof(short_lens) / sizeof(short_lens[0]); i++)
		REFUSED(img, short_lens[i], -EINVAL, "truncated");
	/* A whole header, but fewer bytes than its total_size. */
	for (i = 0; i < sizeof(cut_lens) / sizeof(cut_lens[0]); i++)
		REFUSED(img, cut_lens[i], -EINVAL, "total_size");
	free(img);
	assert_unchanged(_metadata, self);
}

TEST_F(refuse, wrong_magic_is_einval)
{
	static const uint32_t magics[] = {
		0, VANITY_IMAGE_MAGIC ^ 1, VANITY_IMAGE_MAGIC ^ 0x80000000u,
		0x56414e59u /* byte-swapped */, 0xffffffffu,
	};
	size_t len, i;
	void *img = pair_img(&len);

	for (i = 0; i < sizeof(magics) / sizeof(magics[0]); i++) {
		H(img)->magic = magics[i];
		SEALED_REFUSED(img, len, -EINVAL, "bad magic");
	}
	/* Checked before the size: 8 bytes are enough to be refused for it. */
	REFUSED(img, 8, -EINVAL, "bad magic");
	free(img);
	assert_unchanged(_metadata, self);
}

TEST_F(refuse, wrong_version_is_eprotonosupport)
{
	static const uint16_t versions[] = { 0, 3, 0x100, 0xffff };
	size_t len, i;
	void *img = pair_img(&len);
	char want[48];

	for (i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		H(img)->version = versions[i];
		snprintf(want, sizeof(want), "version %u unsupported",
			 versions[i]);
		SEALED_REFUSED(img, len, -EPROTONOSUPPORT, want);
	}
	/* Also on a bare 8 bytes of magic and version. */
	REFUSED(img, 8, -EPROTONOSUPPORT, "unsupported");
	free(img);
	assert_unchanged(_metadata, self);
}

TEST_F(refuse, bad_checksum_is_ebadmsg)
{
	size_t len;
	uint8_t *img = pair_img(&len);
	uint32_t good = H(img)->crc32c;

	/* The CRC field itself. */
	H(img)->crc32c = good ^ 1;
	REFUSED(img, len, -EBADMSG, "checksum mismatch");
	H(img)->crc32c = 0;
	REFUSED(img, len, -EBADMSG, "checksum mismatch");
	H(img)->crc32c = good;

	/* A byte in a shard name (still a valid name), not resealed. */
	S(img, 1)->name[0] = 'd';
	REFUSED(img, len, -EBADMSG, "checksum mismatch");
	S(img, 1)->name[0] = 'c';

	/* The last byte of the image: padding of the string table. */
	img[len - 1] = 0x5a;
	REFUSED(img, len, -EBADMSG, "checksum mismatch");
	img[len - 1] = 0;

	/* Restored: accepted again, so the refusals were about the CRC. */
	EXPECT_EQ(0, vt_up_raw(img, len, self->msg, sizeof(self->msg)))
		TH_LOG("message: '%s'", self->msg);
	EXPECT_EQ(0, vt_down(false, self->msg, sizeof(self->msg)));
	free(img);
	assert_unchanged(_metadata, self);
}

TEST_F(refuse, total_size_mismatch_is_einval)
{
	static const uint32_t sizes[] = { 0, 128, PAIR_LEN - 8, PAIR_LEN + 8,
					  VANITY_IMAGE_MAX_SIZE, 0xffffffffu };
	size_t len, i;
	uint8_t *img = pair_img(&len), *longer;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		H(img)->total_size = sizes[i];
		SEALED_REFUSED(img, len, -EINVAL, "total_size");
	}
	H(img)->total_size = (uint32_t)len;

	/* Trailing bytes that total_size does not cover. */
	longer = calloc(1, len + 64);
	ASSERT_NE(NULL, longer);
	memcpy(longer, img, len);
	vanity_imgw_seal(longer, len + 64);
	REFUSED(longer, len + 64, -EINVAL, "total_size");
	free(longer);
	free(img);
	assert_unchanged(_metadata, self);
}

TEST_F(refuse, bad_header_size_is_einval)
{
	static const uint16_t sizes[] = { 0, 8, 120, 127, 132, 1032, 2048,
					  0xfff8 };
	size_t len, i;
	void *img = pair_img(&len);

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		H(img)->hdr_size = sizes[i];
		SEALED_REFUSED(img, len, -EINVAL, "bad header size");
	}
	/* A header that runs past the image. */
	H(img)->hdr_size = 1024;
	SEALED_REFUSED(img, len, -EINVAL, "bad header size");
	free(img);
	assert_unchanged(_metadata, self);
}

TEST_F(refuse, nonzero_reserved_header_fields_are_einval)
{
	size_t len;
	void *img = pair_img(&len);
	unsigned int k;

	H(img)->resv0 = 1;
	SEALED_REFUSED(img, len, -EINVAL, "reserved header fields");
	H(img)->resv0 = 0;
	H(img)->resv1[2] = 0x80000000u;
	SEALED_REFUSED(img, len, -EINVAL, "reserved header fields");
	H(img)->resv1[2] = 0;
	for (k = 0; k < 12; k += 11) {
		H(img)->resv[k] = 1u << (k % 32);
		SEALED_REFUSED(img, len, -EINVAL, "reserved header fields");
		H(img)->resv[k] = 0;
	}
	free(img);
	assert_unchanged(_metadata, self);
}

TEST_F(refuse, nonzero_reserved_entry_fields_are_einval)
{
	size_t len;
	void *img = pair_img(&len);

	S(img, 1)->flags = 1U << 2;	/* the first unknown flag */
	SEALED_REFUSED(img, len, -EINVAL, "shard 'consumer'", "reserved");
	S(img, 1)->flags = 1U << 31;
	SEALED_REFUSED(img, len, -EINVAL, "shard 'consumer'", "reserved");
	/* The system owner's shard has root's uid, one encoding per meaning. */
	S(img, 1)->flags = VANITY_SHARD_F_SYSTEM_OWNER;
	S(img, 1)->uid = 1000;
	SEALED_REFUSED(img, len, -EINVAL, "shard 'consumer'",
		       "uid 1000 with the system-owner flag");
	S(img, 1)->uid = 0;
	S(img, 1)->flags = 0;
	S(img, 0)->resv[3] = 0x100;
	SEALED_REFUSED(img, len, -EINVAL, "shard 'producer'", "reserved");
	S(img, 0)->resv[3] = 0;
	C(img, 0)->flags = 2;
	SEALED_REFUSED(img, len, -EINVAL, "channel 'data'", "reserved");
	C(img, 0)->flags = 0;
	C(img, 1)->resv[3] = 1;
	SEALED_REFUSED(img, len, -EINVAL, "channel 'back'", "reserved");
	C(img, 1)->resv[3] = 0;
	free(img);
	assert_unchanged(_metadata, self);
}

TEST_F(refuse, larger_sizes_need_zero_tails)
{
	size_t plen, len;
	void *pair = pair_img(&plen);
	uint8_t *img = relayout(pair, 136, 208, 72, &len);

	/* Zero tails: a later version's image this version may accept. */
	EXPECT_EQ(0, vt_up_raw(img, len, self->msg, sizeof(self->msg)))
		TH_LOG("message: '%s'", self->msg);
	EXPECT_EQ(0, vt_down(false, self->msg, sizeof(self->msg)));

	img[130] = 1;	/* header extension */
	SEALED_REFUSED(img, len, -EINVAL, "unknown header extension");
	img[130] = 0;
	img[D(img, 0)->offset + 208 + 200] = 1;	/* shard 1's tail */
	SEALED_REFUSED(img, len, -EINVAL, "shard 'consumer'", "reserved");
	img[D(img, 0)->offset + 208 + 200] = 0;
	img[D(img, 1)->offset + 71] = 0x80;	/* channel 0's tail */
	SEALED_REFUSED(img, len, -EINVAL, "channel 'data'", "reserved");
	free(img);
	free(pair);
	assert_unchanged(_metadata, self);
}

/* ------------------------------------------------------------ versions */

/* The pair as version 1 wrote it: fixed offset fields, no directory. */
static void *pair_v1(size_t *len)
{
	size_t plen, dir = 3 * sizeof(struct vanity_image_section);
	uint8_t *pair = pair_img(&plen), *out;
	struct vanity_image_hdr_v1 *h;

	*len = plen - dir;
	out = calloc(1, *len);
	if (!out)
		abort();
	h = (void *)out;
	h->magic = VANITY_IMAGE_MAGIC;
	h->version = 1;
	h->hdr_size = sizeof(*h);
	h->total_size = (uint32_t)*len;
	memcpy(h->name, H(pair)->name, sizeof(h->name));
	h->shard_count = 2;
	h->channel_count = 2;
	h->shard_entry_size = sizeof(struct vanity_image_shard);
	h->channel_entry_size = sizeof(struct vanity_image_channel);
	h->shard_off = 128;
	h->channel_off = 128 + 400;
	h->strtab_off = 128 + 400 + 128;
	h->strtab_size = D(pair, 2)->count;
	/* Everything after the directory, as it is. */
	memcpy(out + 128, pair + 128 + dir, *len - 128);
	vanity_imgw_seal(out, *len);
	free(pair);
	return out;
}

TEST_F(refuse, version_1_image_still_comes_up)
{
	size_t len;
	uint8_t *img = pair_v1(&len);

	ASSERT_EQ(PAIR_LEN - 72, len);
	SEALED_ACCEPTED(img, len);
	/* ... and is still held to version 1's rules. */
	img[128 + 4] = 1;			/* into the shard table */
	SEALED_REFUSED(img, len, -EINVAL, "shard 0: bad name");
	free(img);
	assert_unchanged(_metadata, self);
}

TEST_F(refuse, unknown_incompatible_feature_is_eopnotsupp)
{
	size_t len;
	void *img = pair_img(&len);

	H(img)->features_incompat = 1U << 1;
	SEALED_REFUSED(img, len, -EOPNOTSUPP,
		       "unknown incompatible feature bit 1");
	/* A known one without what it announces is malformed. */
	H(img)->features_incompat = VANITY_IMAGE_INCOMPAT_DEVICES;
	SEALED_REFUSED(img, len, -EINVAL, "no section holds devices");
	H(img)->features_incompat = 1U << 17;
	SEALED_REFUSED(img, len, -EOPNOTSUPP,
		       "unknown incompatible feature bit 17");
	H(img)->features_incompat = 0;
	/* Compatible bits this module does not know are ignored. */
	H(img)->features_compat = 0xffffffffU;
	SEALED_ACCEPTED(img, len);
	free(img);
	assert_unchanged(_metadata, self);
}

TEST_F(refuse, unknown_section_needs_a_compatible_feature)
{
	size_t plen, len = PAIR_LEN + 16;
	uint8_t *pair = pair_img(&plen), *img = calloc(1, len);
	struct vanity_image_section *x;

	ASSERT_NE(NULL, img);
	/* Turn the 8-byte string table into a 24-byte unknown section... */
	memcpy(img, pair, plen);
	H(img)->total_size = (uint32_t)len;
	x = D(img, 2);
	x->type = 9;
	x->count = 3;
	x->entry_size = 8;
	/* ... after dropping the only program, so no string is needed. */
	S(img, 0)->program = 0;
	S(img, 1)->program = 0;
	SEALED_REFUSED(img, len, -EINVAL,
		       "section 2 (type 9) is unknown and no feature announces it");
	H(img)->features_compat = 1U << 4;
	SEALED_ACCEPTED(img, len);
	free(pair);
	free(img);
	assert_unchanged(_metadata, self);
}

TEST_F(refuse, bad_entry_size_is_einval)
{
	static const uint16_t ssizes[] = { 0, 192, 196, 204, 1032, 0xfff8 };
	static const uint16_t csizes[] = { 0, 56, 60, 68, 1032, 0xfff8 };
	size_t len, i;
	void *img = pair_img(&len);

	for (i = 0; i < sizeof(ssizes) / sizeof(ssizes[0]); i++) {
		D(img, 0)->entry_size = ssizes[i];
		SEALED_REFUSED(img, len, -EINVAL, "bad shard entry size");
	}
	D(img, 0)->entry_size = sizeof(struct vanity_image_shard);
	for (i = 0; i < sizeof(csizes) / sizeof(csizes[0]); i++) {
		D(img, 1)->entry_size = csizes[i];
		SEALED_REFUSED(img, len, -EINVAL, "bad channel entry size");
	}
	free(img);
	assert_unchanged(_metadata, self);
}

/* ------------------------------------------------------------ sections */

TEST_F(refuse, section_past_the_end_is_einval)
{
	size_t len;
	void *img = pair_img(&len);

	ASSERT_EQ(PAIR_LEN, len);
	D(img, 0)->offset = PAIR_LEN;
	SEALED_REFUSED(img, len, -EINVAL, "section 0 (type 1) at 736 runs past");
	D(img, 0)->offset = 0xfffffff8u;	/* off + size wraps in 32 bits */
	SEALED_REFUSED(img, len, -EINVAL, "section 0", "runs past");
	D(img, 0)->offset = 200;
	D(img, 0)->entry_size = 208;		/* [200, 616): into the channels */
	SEALED_REFUSED(img, len, -EINVAL, "sections 0 and 1 overlap");
	D(img, 0)->entry_size = 200;

	D(img, 1)->offset = PAIR_LEN - 64;	/* [672, 800) */
	SEALED_REFUSED(img, len, -EINVAL, "section 1", "runs past");
	D(img, 1)->offset = 0x80000000u;
	SEALED_REFUSED(img, len, -EINVAL, "section 1", "runs past");
	D(img, 1)->offset = 600;

	D(img, 2)->offset = PAIR_LEN;
	SEALED_REFUSED(img, len, -EINVAL, "section 2", "runs past");
	D(img, 2)->offset = 728;
	D(img, 2)->count = 16;			/* [728, 744) */
	SEALED_REFUSED(img, len, -EINVAL, "section 2", "runs past");
	D(img, 2)->count = 8;

	/* The directory itself, and the header's word for the counts. */
	H(img)->section_off = PAIR_LEN - 8;
	SEALED_REFUSED(img, len, -EINVAL, "section directory at 728");
	H(img)->section_off = 128;
	H(img)->shard_count = 3;
	SEALED_REFUSED(img, len, -EINVAL, "header counts 3 shards");
	H(img)->shard_count = 2;

	/* The restored image is fine. */
	SEALED_ACCEPTED(img, len);
	free(img);
	assert_unchanged(_metadata, self);
}

TEST_F(refuse, misaligned_or_in_header_section_is_einval)
{
	size_t len;
	void *img = pair_img(&len);

	D(img, 0)->offset = 204;
	SEALED_REFUSED(img, len, -EINVAL, "section 0", "misaligned");
	D(img, 0)->offset = 0;
	SEALED_REFUSED(img, len, -EINVAL, "section 0", "misaligned");
	D(img, 0)->offset = 120;
	SEALED_REFUSED(img, len, -EINVAL, "section 0", "misaligned");
	D(img, 0)->offset = 200;
	D(img, 1)->offset = 604;
	SEALED_REFUSED(img, len, -EINVAL, "section 1", "misaligned");
	D(img, 1)->offset = 64;
	SEALED_REFUSED(img, len, -EINVAL, "section 1", "misaligned");
	D(img, 1)->offset = 600;
	D(img, 2)->offset = 724;
	SEALED_REFUSED(img, len, -EINVAL, "section 2", "misaligned");
	D(img, 2)->offset = 8;
	SEALED_REFUSED(img, len, -EINVAL, "section 2", "misaligned");
	D(img, 2)->offset = 728;
	H(img)->section_off = 132;
	SEALED_REFUSED(img, len, -EINVAL, "section directory", "misaligned");
	H(img)->section_off = 120;
	SEALED_REFUSED(img, len, -EINVAL, "section directory", "misaligned");
	free(img);
	assert_unchanged(_metadata, self);
}

TEST_F(refuse, overlapping_sections_are_einval)
{
	size_t len;
	void *img = pair_img(&len);

	D(img, 1)->offset = 200 + 200;		/* inside the shard table */
	SEALED_REFUSED(img, len, -EINVAL, "sections 0 and 1 overlap");
	D(img, 1)->offset = 200;		/* on top of it */
	SEALED_REFUSED(img, len, -EINVAL, "sections 0 and 1 overlap");
	D(img, 1)->offset = 600;
	D(img, 2)->offset = 592;		/* last shard bytes */
	SEALED_REFUSED(img, len, -EINVAL, "sections 0 and 2 overlap");
	D(img, 2)->offset = 720;		/* last channel bytes */
	SEALED_REFUSED(img, len, -EINVAL, "sections 1 and 2 overlap");
	D(img, 2)->offset = 128;		/* the directory */
	SEALED_REFUSED(img, len, -EINVAL, "section 2 overlaps the section directory");
	free(img);
	assert_unchanged(_metadata, self);
}

TEST_F(refuse, too_many_entries_are_e2big)
{
	size_t len;
	void *img = pair_img(&len);

	D(img, 0)->count = VANITY_MAX_SHARDS + 1;
	SEALED_REFUSED(img, len, -E2BIG, "65 shards exceed 64");
	D(img, 0)->count = 0xffffffffu;
	SEALED_REFUSED(img, len, -E2BIG, "shards exceed");
	D(img, 0)->count = 2;
	D(img, 1)->count = VANITY_MAX_CHANNELS + 1;
	SEALED_REFUSED(img, len, -E2BIG, "257 channels exceed 256");
	D(img, 1)->count = 2;
	D(img, 2)->count = VANITY_STRTAB_MAX + 8;
	SEALED_REFUSED(img, len, -E2BIG, "string table", "exceeds");
	free(img);
	assert_unchanged(_metadata, self);
}

TEST_F(refuse, zero_shards_is_einval)
{
	struct vanity_imgw w;
	size_t len;
	void *img;

	vanity_imgw_init(&w, "empty");
	img = finish(&w, &len);
	REFUSED(img, len, -EINVAL, "no shards");
	free(img);

	img = pair_img(&len);
	H(img)->shard_count = 0;
	D(img, 0)->count = 0;
	SEALED_REFUSED(img, len, -EINVAL, "no shards");
	free(img);
	assert_unchanged(_metadata, self);
}

/* ------------------------------------------------------------ sizes */

TEST_F(refuse, size_overflows_are_refused)
{
	uint64_t a[VANITY_CPU_WORDS];
	struct vanity_imgw w;
	char name[16];
	unsigned int i;
	size_t len;
	void *img = pair_img(&len);

	/* 65536 x 65536 slots: 2^32 bytes, 0 if multiplied in 32 bits. */
	C(img, 0)->slot_size = 65536;
	C(img, 0)->slots = 65536;
	SEALED_REFUSED(img, len, -E2BIG, "channel 'data'", "4294967296");
	C(img, 0)->slot_size = VANITY_SLOT_SIZE_MAX;
	C(img, 0)->slots = VANITY_SLOTS_MAX;	/* 2^36 */
	SEALED_REFUSED(img, len, -E2BIG, "channel 'data'", "exceed");
	C(img, 0)->slot_size = 64;
	C(img, 0)->slots = 16;

	/* Page-aligned but absurd memory sizes. */
	S(img, 1)->memory_size = 0xfffffffffffff000ull;
	SEALED_REFUSED(img, len, -E2BIG, "shard 'consumer'", "exceeds");
	S(img, 1)->memory_size = 1ull << 63;
	SEALED_REFUSED(img, len, -E2BIG, "shard 'consumer'", "exceeds");
	S(img, 1)->memory_size = 1ull << 32;
	SEALED_REFUSED(img, len, -E2BIG, "shard 'consumer'", "exceeds");
	S(img, 1)->memory_size = 4096;

	D(img, 2)->count = 0xfffffff8u;
	SEALED_REFUSED(img, len, -E2BIG, "string table");
	free(img);

	/* 64 shards of 1 GiB: 2^36, 0 if summed in 32 bits. */
	vt_cpus1(a, VT_CPU_A);
	vanity_imgw_init(&w, "greedy");
	for (i = 0; i < VANITY_MAX_SHARDS; i++) {
		snprintf(name, sizeof(name), "s%u", i);
		vanity_imgw_shard(&w, name, VANITY_MEMORY_MAX, a, 0, NULL);
	}
	img = finish(&w, &len);
	REFUSED(img, len, -EOVERFLOW, "68719476736");
	free(img);

	/* 256 channels of 256 MiB: each at its limit, 64 GiB together. */
	vanity_imgw_init(&w, "greedy");
	vanity_imgw_shard(&w, "a", 0, a, 0, NULL);
	vanity_imgw_shard(&w, "b", 0, a, 0, NULL);
	for (i = 0; i < VANITY_MAX_CHANNELS; i++) {
		snprintf(name, sizeof(name), "c%u", i);
		vanity_imgw_channel(&w, name, i % 2, 1 - i % 2, 256,
				    VANITY_SLOTS_MAX);
	}
	img = finish(&w, &len);
	REFUSED(img, len, -EOVERFLOW, "over the", "limit");
	free(img);
	assert_unchanged(_metadata, self);
}

TEST_F(refuse, bad_shard_fields_are_einval)
{
	size_t len;
	void *img = pair_img(&len);

	memset(S(img, 1)->cpus, 0, sizeof(S(img, 1)->cpus));
	SEALED_REFUSED(img, len, -EINVAL, "shard 'consumer'", "no cpus");
	S(img, 1)->cpus[0] = 1ULL << VT_CPU_B;
	S(img, 0)->uid = 0xffffffffu;
	SEALED_REFUSED(img, len, -EINVAL, "shard 'producer'", "invalid uid");
	S(img, 0)->uid = 0;
	S(img, 0)->memory_size = 4097;
	SEALED_REFUSED(img, len, -EINVAL, "shard 'producer'",
		       "not a multiple of 4096");
	S(img, 0)->memory_size = 2048;
	SEALED_REFUSED(img, len, -EINVAL, "shard 'producer'", "not a multiple");
	free(img);
	assert_unchanged(_metadata, self);
}

TEST_F(refuse, bad_channel_geometry_is_einval)
{
	static const uint32_t slot_sizes[] = { 0, 1, 4, 48, 100, 131072,
					       0x80000000u };
	static const uint32_t slotss[] = { 0, 1, 3, 1000, 1u << 21,
					   0x80000000u };
	size_t len, i;
	void *img = pair_img(&len);

	for (i = 0; i < sizeof(slot_sizes) / sizeof(slot_sizes[0]); i++) {
		C(img, 1)->slot_size = slot_sizes[i];
		SEALED_REFUSED(img, len, -EINVAL, "channel 'back'", "slot_size");
	}
	C(img, 1)->slot_size = 64;
	for (i = 0; i < sizeof(slotss) / sizeof(slotss[0]); i++) {
		C(img, 1)->slots = slotss[i];
		SEALED_REFUSED(img, len, -EINVAL, "channel 'back'", "slots");
	}
	free(img);
	assert_unchanged(_metadata, self);
}

/* ------------------------------------------------------------ names */

static void set_name(char field[VANITY_NAME_MAX], const char *bytes, size_t n)
{
	memset(field, 0, VANITY_NAME_MAX);
	memcpy(field, bytes, n);
}

static const struct {
	const char *bytes;
	size_t n;
} bad_names[] = {
	{ "", 0 },
	{ "Upper", 5 },
	{ "has space", 9 },
	{ "dot.name", 8 },
	{ "slash/", 6 },
	{ "\xc3\xa9t\xc3\xa9", 6 },
	{ "ab\0cd", 5 },		/* garbage after the NUL */
	{ "abcdefghijklmnopqrstuvwxyz012345", 32 },	/* no NUL */
};

TEST_F(refuse, bad_names_are_einval)
{
	const unsigned int n = sizeof(bad_names) / sizeof(bad_names[0]);
	size_t len;
	void *img = pair_img(&len);
	char save[VANITY_NAME_MAX];
	unsigned int i;

	memcpy(save, H(img)->name, sizeof(save));
	for (i = 0; i < n; i++) {
		set_name(H(img)->name, bad_names[i].bytes, bad_names[i].n);
		SEALED_REFUSED(img, len, -EINVAL, "bad system name");
	}
	memcpy(H(img)->name, save, sizeof(save));

	memcpy(save, S(img, 1)->name, sizeof(save));
	for (i = 0; i < n; i++) {
		set_name(S(img, 1)->name, bad_names[i].bytes, bad_names[i].n);
		SEALED_REFUSED(img, len, -EINVAL, "shard 1: bad name");
	}
	memcpy(S(img, 1)->name, save, sizeof(save));

	memcpy(save, C(img, 0)->name, sizeof(save));
	for (i = 0; i < n; i++) {
		set_name(C(img, 0)->name, bad_names[i].bytes, bad_names[i].n);
		SEALED_REFUSED(img, len, -EINVAL, "channel 0: bad name");
	}
	memcpy(C(img, 0)->name, save, sizeof(save));

	/* The longest legal name (31 bytes) everywhere is fine. */
	set_name(H(img)->name, "abcdefghijklmnopqrstuvwxyz-_789", 31);
	set_name(S(img, 0)->name, "abcdefghijklmnopqrstuvwxyz-_789", 31);
	set_name(C(img, 0)->name, "abcdefghijklmnopqrstuvwxyz-_789", 31);
	SEALED_ACCEPTED(img, len);
	free(img);
	assert_unchanged(_metadata, self);
}

TEST_F(refuse, duplicate_names_are_einval)
{
	size_t len;
	void *img = pair_img(&len);

	set_name(S(img, 1)->name, "producer", 8);
	SEALED_REFUSED(img, len, -EINVAL, "shard 'producer': duplicate name");
	set_name(S(img, 1)->name, "consumer", 8);
	set_name(C(img, 1)->name, "data", 4);
	SEALED_REFUSED(img, len, -EINVAL, "channel 'data': duplicate name");
	free(img);
	assert_unchanged(_metadata, self);
}

TEST_F(refuse, channel_with_equal_endpoints_is_einval)
{
	size_t len;
	void *img = pair_img(&len);

	C(img, 0)->to = 0;
	SEALED_REFUSED(img, len, -EINVAL,
		       "channel 'data': both ends are shard 'producer'");
	C(img, 0)->to = 1;
	C(img, 1)->from = 1;
	C(img, 1)->to = 1;
	SEALED_REFUSED(img, len, -EINVAL,
		       "channel 'back': both ends are shard 'consumer'");
	free(img);
	assert_unchanged(_metadata, self);
}

TEST_F(refuse, channel_endpoint_out_of_range_is_einval)
{
	size_t len;
	void *img = pair_img(&len);

	C(img, 0)->to = 2;
	SEALED_REFUSED(img, len, -EINVAL, "channel 'data'", "out of range");
	C(img, 0)->to = 1;
	C(img, 1)->from = 0xffff;
	SEALED_REFUSED(img, len, -EINVAL, "channel 'back'", "out of range");
	free(img);
	assert_unchanged(_metadata, self);
}

/* ------------------------------------------------------------ strings */

TEST_F(refuse, bad_program_strings_are_refused)
{
	uint64_t a[VANITY_CPU_WORDS], b[VANITY_CPU_WORDS];
	static char longprog[VANITY_PROGRAM_MAX + 1];
	struct vanity_imgw w;
	size_t len;
	uint8_t *img;

	vt_cpus1(a, VT_CPU_A);
	vt_cpus1(b, VT_CPU_B);
	vanity_imgw_init(&w, "progs");
	vanity_imgw_shard(&w, "one", 4096, a, 0, "/bin/one");
	vanity_imgw_shard(&w, "two", 4096, b, 0, "/bin/two --flag");
	img = finish(&w, &len);
	/* strtab: "\0/bin/one\0/bin/two --flag\0" padded to 32. */
	ASSERT_EQ(1, S(img, 0)->program);
	ASSERT_EQ(10, S(img, 1)->program);

	S(img, 1)->program = D(img, 2)->count;
	SEALED_REFUSED(img, len, -EINVAL, "shard 'two'", "outside string table");
	S(img, 1)->program = 0xffffffffu;
	SEALED_REFUSED(img, len, -EINVAL, "shard 'two'", "outside string table");
	S(img, 1)->program = 12;			/* inside "/bin/two" */
	SEALED_REFUSED(img, len, -EINVAL, "shard 'two'", "not a string start");
	S(img, 1)->program = 27;			/* a padding NUL */
	SEALED_REFUSED(img, len, -EINVAL, "shard 'two'", "not a string start");
	S(img, 1)->program = 10;

	img[D(img, 2)->offset] = '/';			/* no leading NUL */
	SEALED_REFUSED(img, len, -EINVAL, "not NUL-delimited");
	img[D(img, 2)->offset] = 0;
	img[D(img, 2)->offset + D(img, 2)->count - 1] = 'x';
	SEALED_REFUSED(img, len, -EINVAL, "not NUL-delimited");
	free(img);

	/* A program of VANITY_PROGRAM_MAX bytes plus its NUL is too long. */
	memset(longprog, 'p', VANITY_PROGRAM_MAX);
	vanity_imgw_init(&w, "progs");
	vanity_imgw_shard(&w, "one", 4096, a, 0, longprog);
	img = finish(&w, &len);
	REFUSED(img, len, -E2BIG, "shard 'one'", "program too long");
	free(img);

	/* One byte shorter is fine. */
	longprog[VANITY_PROGRAM_MAX - 1] = '\0';
	vanity_imgw_init(&w, "progs");
	vanity_imgw_shard(&w, "one", 4096, a, 0, longprog);
	img = finish(&w, &len);
	SEALED_ACCEPTED(img, len);
	free(img);
	assert_unchanged(_metadata, self);
}

TEST_HARNESS_MAIN
