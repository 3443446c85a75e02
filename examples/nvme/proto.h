/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The storage service's wire protocol: what a client shard and the
 * storage shard exchange over their three channels, and how the client's
 * data channel is laid out as a buffer arena. Header only: the client,
 * the storage shard and the tests include it.
 *
 * A client NAME has, in the manifest:
 *   NAME_req   client -> storage, 32-byte slots: struct stor_req
 *   NAME_cpl   storage -> client, 32-byte slots: struct stor_cpl
 *   NAME_data  client -> storage, 4096-byte slots: never used as a queue;
 *              its slot area is the client's buffer arena
 * and the storage shard's [device] lists NAME_data in its dma, so the
 * controller reads and writes the client's buffers in place (zero copy):
 * the IOMMU lets it reach exactly those pages and the storage shard's
 * private region. Buffers are named by index, never by address, so a
 * client can only name its own pages; it must not touch a buffer while a
 * request on it is in flight.
 */
#ifndef STOR_PROTO_H
#define STOR_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define STOR_BLOCK	4096u		/* the service's block: bytes */
#define STOR_MAX_BLOCKS	32u		/* blocks per request at most */
#define STOR_SLOT	32u		/* req and cpl slot size */

enum stor_op {
	STOR_OP_READ = 1,		/* nblocks at lba into buf.. */
	STOR_OP_WRITE = 2,		/* nblocks from buf.. at lba */
	STOR_OP_FLUSH = 3,		/* make completed writes durable */
	STOR_OP_INFO = 4,		/* value: capacity in blocks */
	STOR_OP_CLOSE = 5,		/* the client is done (after its flush) */
};

/*
 * The storage shard checks every request before the backend sees it and
 * answers a bad one with: -EOPNOTSUPP an unknown op; -EINVAL flags or
 * resv not 0, nblocks outside 1..STOR_MAX_BLOCKS for READ/WRITE, a buffer
 * range past the arena, or FLUSH/INFO/CLOSE with lba, buf or nblocks not
 * 0; -ERANGE blocks past the capacity.
 */
struct stor_req {
	uint64_t tag;			/* opaque to the storage shard; echoed */
	uint64_t lba;			/* in STOR_BLOCK blocks */
	uint32_t buf;			/* first buffer of the arena */
	uint16_t nblocks;		/* READ/WRITE: 1..STOR_MAX_BLOCKS, else 0 */
	uint8_t op;			/* enum stor_op */
	uint8_t flags;			/* 0 */
	uint64_t resv;			/* 0 */
};

struct stor_cpl {
	uint64_t tag;
	int32_t status;			/* 0 or -errno */
	uint32_t resv0;
	uint64_t value;			/* INFO: capacity in blocks */
	uint64_t resv1;
};

_Static_assert(sizeof(struct stor_req) == STOR_SLOT, "stor_req size");
_Static_assert(sizeof(struct stor_cpl) == STOR_SLOT, "stor_cpl size");

/*
 * The arena of a data channel mapped at @region, @size bytes, whose slot
 * area starts at @data_off (page aligned: the channel header is one page):
 * whole STOR_BLOCK buffers from there to the end. Both ends compute it
 * from the same geometry.
 */
static inline unsigned int stor_arena_bufs(size_t size, size_t data_off)
{
	return size > data_off ? (unsigned int)((size - data_off) / STOR_BLOCK) : 0;
}

#endif /* STOR_PROTO_H */
