/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Layout pins of the UAPI: any change here is an ABI break, so bump the
 * version instead. Included by the core, hence checked on both sides.
 */
#ifndef VANITY_CORE_UAPI_ASSERTS_H
#define VANITY_CORE_UAPI_ASSERTS_H

#include "shim.h"

_Static_assert(sizeof(struct vanity_image_hdr) == 128, "hdr");
_Static_assert(sizeof(struct vanity_image_shard) == 200, "shard");
_Static_assert(sizeof(struct vanity_image_channel) == 64, "chan");
_Static_assert(sizeof(struct vanity_image_device) == 88, "dev");
_Static_assert(sizeof(struct vanity_device_bar) == 40, "bar");
_Static_assert(sizeof(struct vanity_device_info) == 368, "devinfo");
_Static_assert(__builtin_offsetof(struct vanity_device_info, win_iova) == 80, "deviova");
_Static_assert(sizeof(struct vanity_attach) == 280, "attach");
_Static_assert(sizeof(struct vanity_channel_info) == 112, "chinfo");
_Static_assert(sizeof(struct vanity_doorbell) == 40, "bell");
_Static_assert(sizeof(struct vanity_sqe) == 64, "sqe");
_Static_assert(sizeof(struct vanity_cqe) == 16, "cqe");
_Static_assert(sizeof(struct vanity_ring_offsets) == 64, "ringoff");
_Static_assert(sizeof(struct vanity_enter) == 32, "enter");
_Static_assert(sizeof(struct vanity_chan_ctr) == 64, "chctr");
_Static_assert(sizeof(struct vanity_chan_hdr) == 896, "chhdr");
_Static_assert(__builtin_offsetof(struct vanity_chan_hdr, head) == VANITY_CHAN_OFF_HEAD, "chhead");
_Static_assert(__builtin_offsetof(struct vanity_chan_hdr, tail) == VANITY_CHAN_OFF_TAIL, "chtail");
_Static_assert(__builtin_offsetof(struct vanity_chan_hdr, cons_waiting) == 384, "chcw");
_Static_assert(__builtin_offsetof(struct vanity_chan_hdr, prod_waiting) == 512, "chpw");
_Static_assert(__builtin_offsetof(struct vanity_chan_hdr, prod) == 640, "chprod");
_Static_assert(__builtin_offsetof(struct vanity_chan_hdr, cons) == 768, "chcons");
_Static_assert(__builtin_offsetof(struct vanity_image_hdr, name) == 48, "hdrname");
/* Version 1 and 2 headers agree where every reader looks: counts and name. */
_Static_assert(sizeof(struct vanity_image_hdr_v1) == 128, "hdr1");
_Static_assert(__builtin_offsetof(struct vanity_image_hdr_v1, name) == 48, "hdr1name");
_Static_assert(__builtin_offsetof(struct vanity_image_hdr, shard_count) == 24 &&
	       __builtin_offsetof(struct vanity_image_hdr_v1, shard_count) == 24,
	       "hdrshards");
_Static_assert(__builtin_offsetof(struct vanity_image_hdr, channel_count) == 26 &&
	       __builtin_offsetof(struct vanity_image_hdr_v1, channel_count) == 26,
	       "hdrchans");
_Static_assert(__builtin_offsetof(struct vanity_image_hdr, features_incompat) == 20,
	       "hdrincompat");
_Static_assert(__builtin_offsetof(struct vanity_image_hdr, section_off) == 32, "hdrsecoff");
_Static_assert(sizeof(struct vanity_image_section) == 24, "section");
_Static_assert(__builtin_offsetof(struct vanity_image_section, entry_size) == 12, "secesz");
_Static_assert(__builtin_offsetof(struct vanity_image_shard, cpus) == 40, "shcpus");
_Static_assert(__builtin_offsetof(struct vanity_image_channel, slot_size) == 36, "chslot");
_Static_assert(__builtin_offsetof(struct vanity_attach, ring) == 192, "attring");
_Static_assert(__builtin_offsetof(struct vanity_attach, ring_off) == 264,
	       "attringoff");
_Static_assert(__builtin_offsetof(struct vanity_channel_info, mmap_offset) == 64, "cimmap");
_Static_assert(__builtin_offsetof(struct vanity_sqe, user_data) == 24, "sqeud");
_Static_assert(__builtin_offsetof(struct vanity_cqe, res) == 8, "cqeres");
/* vanity_sqe_plain_nop: a NOP is all zero but for user_data and stamp. */
_Static_assert(VANITY_OP_NOP == 0, "nopzero");
_Static_assert(__builtin_offsetof(struct vanity_sqe, stamp) == 2, "sqestamp");
/* vanity_cqe_word1: res, flags, then the stamp, in the second word. */
_Static_assert(__builtin_offsetof(struct vanity_cqe, flags) == 12, "cqeflags");
_Static_assert(__builtin_offsetof(struct vanity_cqe, stamp) == 14, "cqestamp");
_Static_assert(VANITY_STAMP(0) == 0x8000 && VANITY_STAMP(0x8000) == 0x8000,
	       "stamp");
_Static_assert(__builtin_offsetof(struct vanity_ring_offsets, features) == 48,
	       "ringfeat");
_Static_assert(__builtin_offsetof(struct vanity_ring_offsets, size) == 40, "ringsize");
_Static_assert(sizeof(struct vanity_probe_op) == 8, "probeop");
_Static_assert(sizeof(struct vanity_probe) == 32 + 8 * VANITY_PROBE_OPS_MAX, "probe");
_Static_assert(__builtin_offsetof(struct vanity_probe, ops) == 32, "probeops");
_Static_assert(VANITY_OP_LAST <= VANITY_PROBE_OPS_MAX, "probelen");
/* The mmap scheme: kinds and their offsets never move. */
_Static_assert(VANITY_MMAP_PRIVATE == 0, "mmappriv");
_Static_assert(VANITY_MMAP_CHANNEL(3) == 0x0100000300000000ULL, "mmapchan");
_Static_assert(VANITY_MMAP_RING == 0x0200000000000000ULL, "mmapring");
_Static_assert(VANITY_MMAP(VANITY_MMAP_K_BAR, 0) == 0x0300000000000000ULL, "mmapbar");
_Static_assert(VANITY_MMAP_K_LAST == 5, "mmaplast");

#endif
