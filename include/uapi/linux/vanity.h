/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Vanity ABI: the binary system image, /dev/vanity ioctls and mmap offsets,
 * and the "vanity" generic netlink family. The only header shared by the
 * module and userspace; every size and offset is asserted on both sides.
 */
#ifndef _UAPI_LINUX_VANITY_H
#define _UAPI_LINUX_VANITY_H

#include <linux/types.h>
#include <linux/ioctl.h>

/*
 * Errors: -errno throughout. A timeout is -ETIME everywhere, as io_uring's
 * timeouts are: a TIMEOUT op, a WAIT op or doorbell WAIT whose limit
 * passed, libvanity's blocking calls. A limit that would pass S64_MAX ns
 * of the monotonic clock is none (it never passes).
 */

/* ------------------------------------------------------------------ */
/* Limits shared by the manifest compiler, the validator and the module. */

#define VANITY_NAME_MAX		32	/* bytes, including the NUL */
#define VANITY_MAX_SHARDS	64
#define VANITY_MAX_CHANNELS	256
#define VANITY_MAX_CPUS		1024
#define VANITY_CPU_WORDS	(VANITY_MAX_CPUS / 64)
#define VANITY_PAGE_SIZE	4096	/* granule of every region size */
#define VANITY_MEMORY_MAX	(1ULL << 30)	/* per shard private region */
#define VANITY_TOTAL_MAX	(4ULL << 30)	/* all regions of a system */
#define VANITY_SLOT_SIZE_MIN	8
#define VANITY_SLOT_SIZE_MAX	65536
#define VANITY_SLOTS_MIN	2
#define VANITY_SLOTS_MAX	(1U << 20)
#define VANITY_CHANNEL_DATA_MAX	(256ULL << 20)	/* slot_size * slots */
#define VANITY_CHANNEL_HDR_SIZE	4096	/* struct vanity_chan_hdr, padded */
#define VANITY_IMAGE_MAX_SIZE	61440	/* fits one netlink attribute */
#define VANITY_STRTAB_MAX	16384
#define VANITY_PROGRAM_MAX	1024	/* bytes of one program string */
#define VANITY_RING_ENTRIES_DEFAULT	128
#define VANITY_RING_ENTRIES_MAX		4096

/* ------------------------------------------------------------------ */
/*
 * The image: a header, a section directory, and the sections it lists (a
 * table of fixed-size entries each, or the string table), all at 8-byte
 * aligned offsets past the header, inside total_size bytes, none
 * overlapping another or the directory. Header and entry sizes are
 * recorded so that later versions can grow them: a reader accepts a
 * larger size only when the bytes it does not know are zero. crc32c
 * (Castagnoli) covers all total_size bytes with the crc32c field itself
 * read as zero. All integers are little-endian.
 *
 * Growth, ext4 style: a writer that adds something an older reader would
 * misread sets a bit in features_incompat, and a reader refuses every
 * incompatible bit it does not know; something an older reader may
 * safely skip sets a bit in features_compat, and a reader ignores those
 * it does not know. A new section type always comes with such a bit, so
 * a reader meeting a section type it does not know ignores it only when
 * the image sets a compatible bit the reader does not know, and refuses
 * it otherwise (it is corruption, or a writer that broke this rule). What
 * a compatible feature adds lives in sections of its own, never in a
 * header or entry tail, which an older reader refuses unless zero. Each
 * known type appears at most once; an absent CHANNELS or STRTAB section
 * is an empty one. shard_count and channel_count repeat the SHARDS and
 * CHANNELS counts (a reader checks that they agree), so a reader sizes
 * its tables from the header alone in every version.
 *
 * Version 1 (struct vanity_image_hdr_v1: fixed offset fields, no
 * directory, no features) is still read; writers write version 2.
 */
#define VANITY_IMAGE_MAGIC	0x594e4156U	/* "VANY" */
#define VANITY_IMAGE_VERSION	2
#define VANITY_IMAGE_SECTIONS_MAX	16	/* directory entries */

struct vanity_image_hdr {
	__u32 magic;
	__u16 version;
	__u16 hdr_size;
	__u32 total_size;
	__u32 crc32c;
	__u32 features_compat;		/* VANITY_IMAGE_COMPAT_*: unknown ignored */
	__u32 features_incompat;	/* VANITY_IMAGE_INCOMPAT_*: unknown refused */
	__u16 shard_count;		/* == the SHARDS section's count */
	__u16 channel_count;		/* == the CHANNELS section's count, or 0 */
	__u16 section_count;		/* directory entries, 1..SECTIONS_MAX */
	__u16 resv0;			/* must be 0 */
	__u32 section_off;		/* struct vanity_image_section[section_count] */
	__u32 resv1[3];			/* must be 0 */
	char name[VANITY_NAME_MAX];	/* system name, NUL-padded */
	__u32 resv[12];			/* must be 0 */
};

/* Section types. 0 is none (refused). */
#define VANITY_IMAGE_SEC_SHARDS		1	/* struct vanity_image_shard[count] */
#define VANITY_IMAGE_SEC_CHANNELS	2	/* struct vanity_image_channel[count] */
#define VANITY_IMAGE_SEC_STRTAB		3	/* count bytes, entry_size 1 */
#define VANITY_IMAGE_SEC_DEVICES	4	/* struct vanity_image_device[count], with INCOMPAT_DEVICES */

struct vanity_image_section {
	__u16 type;			/* VANITY_IMAGE_SEC_* */
	__u16 flags;			/* none defined: must be 0 */
	__u32 offset;			/* from the image start, 8-byte aligned */
	__u32 count;			/* entries */
	__u32 entry_size;		/* bytes per entry, >= the reader's struct */
	__u32 resv[2];			/* must be 0 */
};

/* features_incompat: the bits a reader must know, or refuse the image. */
#define VANITY_IMAGE_INCOMPAT_DEVICES	(1U << 0)	/* a DEVICES section */
/* features_compat: none defined yet. */

/* Version 1: the layout before the directory; read, no longer written. */
struct vanity_image_hdr_v1 {
	__u32 magic;
	__u16 version;			/* 1 */
	__u16 hdr_size;
	__u32 total_size;
	__u32 crc32c;
	__u32 flags;			/* none defined: must be 0 */
	__u32 strtab_size;
	__u16 shard_count;
	__u16 channel_count;
	__u16 shard_entry_size;
	__u16 channel_entry_size;
	__u32 shard_off;
	__u32 channel_off;
	__u32 strtab_off;
	__u32 resv0;			/* must be 0 */
	char name[VANITY_NAME_MAX];	/* system name, NUL-padded */
	__u32 resv[12];			/* must be 0 */
};

struct vanity_image_shard {
	char name[VANITY_NAME_MAX];	/* NUL-padded */
	__u64 memory_size;		/* private region, VANITY_PAGE_SIZE multiple */
	__u64 cpus[VANITY_CPU_WORDS];	/* CPU bitmap, at least one bit */
	__u32 uid;			/* owner allowed to attach */
	__u32 program;			/* strtab offset, 0 = none */
	__u32 flags;			/* VANITY_SHARD_F_* */
	__u32 ring_entries;		/* SQ entries, power of two; 0: default */
	__u32 resv[4];			/* must be 0 */
};

/* Restart the program when it fails (for `vanityctl run`; the module ignores it). */
#define VANITY_SHARD_F_RESTART	(1U << 0)
/*
 * The manifest names no user: the shard belongs to whoever runs the
 * system. uid must be 0, so the module, where that is root, reads the
 * entry as it always has; the hosted simulator gives the shard to the
 * user it runs as. A reader that does not know the flag refuses the
 * image (unknown flags are refused), rather than give the shard to root.
 */
#define VANITY_SHARD_F_SYSTEM_OWNER	(1U << 1)
/* The flags only the supervisor (`vanityctl run`) reads; the module ignores them. */
#define VANITY_SHARD_F_SUPERVISOR	VANITY_SHARD_F_RESTART

struct vanity_image_channel {
	char name[VANITY_NAME_MAX];	/* NUL-padded */
	__u16 from;			/* producer shard index */
	__u16 to;			/* consumer shard index */
	__u32 slot_size;		/* power of two */
	__u32 slots;			/* power of two */
	__u32 flags;			/* none defined: must be 0 */
	__u32 resv[4];			/* must be 0 */
};

/*
 * A passed PCI function (section VANITY_IMAGE_SEC_DEVICES, which comes
 * with VANITY_IMAGE_INCOMPAT_DEVICES): given whole to shard @shard from UP
 * to DOWN, its DMA confined by the IOMMU to the windows it is granted,
 * the owner's private region (VANITY_DEVICE_F_DMA_PRIVATE) and the
 * channels set in @dma_channels, each of which has the owner as an
 * endpoint. Where each window sits in the device's I/O address space is
 * the core's one layout (kmod/core/dma.h): the first at
 * VANITY_DMA_IOVA_BASE, each next one where the previous ends, in the
 * order private, then channels by index; a window that would meet a
 * range the device's IOMMU reserves (an SMMU's MSI doorbell window, a
 * firmware direct map) goes to the first page past it instead, so the
 * owner asks VANITY_IOC_DEVICE (VANITY_DEVICE_F_WINDOW) where each one
 * is. Addresses are unique across the image; names too, and in their
 * own namespace.
 */
struct vanity_image_device {
	char name[VANITY_NAME_MAX];	/* NUL-padded */
	__u16 pci_domain;
	__u8 pci_bus;
	__u8 pci_devfn;			/* device << 3 | function */
	__u16 shard;			/* owner's index */
	__u16 flags;			/* VANITY_DEVICE_F_* */
	__u64 dma_channels[VANITY_MAX_CHANNELS / 64];	/* bit i: channel i */
	__u32 resv[4];			/* must be 0 */
};

/* The device may DMA into its owner's private region. */
#define VANITY_DEVICE_F_DMA_PRIVATE	(1U << 0)
#define VANITY_DEVICE_F_KNOWN		VANITY_DEVICE_F_DMA_PRIVATE
/* Devices per image. */
#define VANITY_MAX_DEVICES		32
/*
 * The first DMA window's I/O virtual address: above the first MiB, which
 * some devices treat specially, and low, for devices with narrow masks.
 */
#define VANITY_DMA_IOVA_BASE		0x100000ULL

/* ------------------------------------------------------------------ */
/*
 * Channel region layout. The module writes the identity line at UP and
 * otherwise never reads the region except the one index word a doorbell
 * WAIT compares. Slot n (a free-running 32-bit position) lives at
 * data_off + (n & (slots - 1)) * stride: a 32-bit sequence word, 4 bytes
 * of padding, then slot_size bytes of payload. The producer publishes
 * slot n by storing seq = n + 1 with release order after the payload, so
 * a receiver polls the line it is about to read and nothing else. head and
 * tail (each on a line of its own, written only by its owner) record the
 * positions for a restarted endpoint, occupancy and the doorbell. Each
 * field group sits on its own 128-byte block so that adjacent-line
 * prefetch never couples the two sides.
 */
#define VANITY_CHAN_MAGIC	0x4e414843U	/* "CHAN" */
#define VANITY_CHAN_LAYOUT	1
#define VANITY_CHAN_SEQ_SIZE	8		/* seq word + pad before payload */

struct vanity_chan_ctr {
	__u64 msgs;		/* messages moved */
	__u64 bursts;		/* calls that moved at least one */
	__u64 stalls;		/* producer: found full; consumer: found empty */
	__u64 sleeps;		/* doorbell waits entered */
	__u64 wakeups;		/* doorbells rung for the peer */
	__u64 resv[3];
};

struct vanity_chan_hdr {
	/* 0: identity, written by the module at UP */
	__u32 magic;			/* VANITY_CHAN_MAGIC */
	__u16 layout;			/* VANITY_CHAN_LAYOUT */
	__u16 hdr_size;			/* == data_off */
	__u32 slot_size;		/* payload bytes per slot */
	__u32 slots;			/* power of two */
	__u32 stride;			/* bytes from one slot to the next */
	__u32 data_off;			/* offset of slot 0 */
	__u32 resv0[26];
	/* 128: producer position: next slot it will write */
	__u32 head;
	__u32 resv1[31];
	/* 256: consumer position: next slot it will read */
	__u32 tail;
	__u32 resv2[31];
	/*
	 * 384: consumer is (about to be) asleep waiting for data. One bit
	 * per kind of sleeper, each raised and lowered by its owner alone
	 * (atomically: they share the word): VANITY_WAITING_LIB (1 << 0)
	 * for libvanity's blocking calls, VANITY_WAITING_RING (1 << 1) for
	 * the end's armed ring WAITs. The peer rings when any bit is set.
	 */
	__u32 cons_waiting;
	__u32 resv3[31];
	/* 512: producer is (about to be) asleep waiting for space; bits as above */
	__u32 prod_waiting;
	__u32 resv4[31];
	/* 640: counters, each block written only by its own side */
	struct vanity_chan_ctr prod;
	__u64 resv5[8];
	struct vanity_chan_ctr cons;	/* 768 */
	__u64 resv6[8];
};

#define VANITY_CHAN_OFF_HEAD	128
#define VANITY_CHAN_OFF_TAIL	256

/* ------------------------------------------------------------------ */
/*
 * The submission ring: each attached shard's control path, io_uring
 * style. One mapping at VANITY_MMAP_RING holds the SQ and CQ indices (each
 * on its own cache line), the SQE array and the CQE array, at the offsets
 * attach returns in struct vanity_ring_offsets: sizes come from there,
 * never from constants. The shard fills SQEs and store-releases sq_tail;
 * the module (in ENTER, or its SQPOLL thread) reads each SQE once,
 * validates it, issues it and posts a CQE carrying user_data and a result
 * (>= 0 or -errno), then store-releases sq_head and cq_tail. The CQ has
 * twice the SQ's entries; when it is full the module stops consuming (the
 * op is not dropped) and counts an overflow. WAIT and TIMEOUT complete
 * asynchronously: they hold a CQE slot while armed and the ring goes on,
 * so CQEs can arrive out of submission order; detach cancels them and
 * posts nothing for them. An armed WAIT completes no later than the
 * first doorbell ring after one of its channels is ready (its result:
 * the lowest bit of @mask whose channel is ready then), or at its
 * deadline (-ETIME, or a bit if one turned ready as time ran out), or at
 * a forced DOWN (-ENODEV); a backend may complete it sooner, as soon as
 * it sees the channel ready without a ring. YIELD gives the CPU up once,
 * when the ENTER (or fsync) that issued it returns; from the SQPOLL
 * thread, which is not the shard, it does nothing. Timed ops answer
 * -ETIME; a timeout too large for the clock never fires.
 *
 * IRQ_WAIT arms on interrupt vectors of a passed device the shard owns
 * (vectors 0 .. irq_vectors - 1 of VANITY_IOC_DEVICE, MSI-X when the
 * device has it, else MSI; never INTx). Each interrupt of a vector counts
 * one pending event; an IRQ_WAIT completes with the lowest vector of its
 * @mask that has pending events, taking them all (interrupts that fired
 * before the op was armed are not lost, and several fold into one CQE),
 * or at its deadline (-ETIME; 0: a poll), or at DOWN (-ENODEV). Its CQE
 * is posted from the interrupt itself, so a shard polling its CQ sees
 * the interrupt with no system call. Attach clears the pending events.
 *
 * Stamps (VANITY_RING_F_STAMPS): the module stores VANITY_STAMP(index)
 * in each CQE it posts, and a shard under SQPOLL may do the same in each
 * SQE it publishes, last and with release order, so the other side can
 * poll the line it is about to read instead of an index on another line.
 * The SQPOLL thread takes the SQE at its head once its stamp matches,
 * before sq_tail covers it; ENTER and fsync take only what sq_tail
 * publishes, and so does the poller for shards that do not stamp. A shard
 * may take the CQE at its head once its stamp matches, before cq_tail
 * covers it. A stamp is never 0 and attach zeroes every slot, so neither
 * an unstamped SQE nor an old slot is taken for a new one. Counting by
 * the indices (cq_tail - cq_head) can then run briefly negative: read it
 * as signed; and sq_tail up to a ring behind sq_head publishes nothing.
 */
#define VANITY_STAMP(index)	((__u16)(((index) & 0x7fff) | 0x8000))

enum vanity_op {
	VANITY_OP_NOP,		/* completes with 0 */
	VANITY_OP_NOTIFY,	/* ring @channel's doorbell for the peer */
	VANITY_OP_WAIT,		/* until a channel of @mask is ready, or timeout */
	VANITY_OP_YIELD,	/* give the CPU to the next cooperative shard */
	VANITY_OP_TIMEOUT,	/* complete with -ETIME after @timeout_ns */
	VANITY_OP_IRQ_WAIT,	/* until a vector of @mask of @device fires, or timeout */
	VANITY_OP_LAST,
};

struct vanity_sqe {
	__u8 opcode;		/* enum vanity_op */
	__u8 flags;		/* none defined: must be 0 */
	__u16 stamp;		/* VANITY_STAMP(index), or 0: see above */
	/* NOTIFY: index; WAIT: bit 0 of @mask's; IRQ_WAIT: the device's */
	__u32 channel;
	/* WAIT: channels channel + i for each bit i; IRQ_WAIT: vectors i */
	__u64 mask;
	__s64 timeout_ns;	/* WAIT, IRQ_WAIT (< 0: none), TIMEOUT */
	__u64 user_data;	/* echoed in the CQE */
	__u64 resv[4];		/* must be 0 */
};

struct vanity_cqe {
	__u64 user_data;
	__s32 res;		/* >= 0, or -errno */
	__u16 flags;		/* none defined yet */
	__u16 stamp;		/* VANITY_STAMP(index) */
};

/* sq_flags bits, written by the module */
#define VANITY_SQ_NEED_WAKEUP	(1U << 0)	/* SQPOLL thread sleeps: ENTER wakes */

struct vanity_ring_offsets {
	__u32 sq_head;		/* module-written, never read back: consumed */
	__u32 sq_tail;		/* shard-written: SQEs submitted */
	__u32 sq_flags;		/* VANITY_SQ_* */
	__u32 sq_entries;
	__u32 sqes;		/* struct vanity_sqe[sq_entries] */
	__u32 cq_head;		/* shard-written: CQEs seen */
	__u32 cq_tail;		/* module-written, never read back: posted */
	__u32 cq_overflow;	/* module-written: times the CQ was full */
	__u32 cq_entries;
	__u32 cqes;		/* struct vanity_cqe[cq_entries] */
	__u64 size;		/* bytes to map at VANITY_MMAP_RING */
	__u32 features;		/* VANITY_RING_F_* */
	__u32 resv[3];
};

/* ring features */
#define VANITY_RING_F_STAMPS	(1U << 0)	/* SQEs and CQEs carry stamps */

/* ENTER flags */
#define VANITY_ENTER_GETEVENTS	(1U << 0)	/* wait for @min_complete CQEs */
#define VANITY_ENTER_SQ_WAKEUP	(1U << 1)	/* wake the SQPOLL thread */

/*
 * Submit up to @to_submit SQEs (none under SQPOLL) and, with GETEVENTS,
 * wait until @min_complete CQEs are unseen. Returns the number consumed,
 * or -EBUSY when the CQ is full before any could be, -ENOTCONN, -EINVAL.
 */
struct vanity_enter {
	__u32 size;			/* in */
	__u32 flags;			/* in: VANITY_ENTER_* */
	__u32 to_submit;		/* in */
	__u32 min_complete;		/* in */
	__u64 resv[2];			/* in: must be 0 */
};

/*
 * fsync(2) on an attached fd is the ring's lean doorbell: it consumes
 * every SQE published in the ring, as ENTER with to_submit = sq_entries
 * and no flags would, and returns the number consumed (or -EBUSY,
 * -ENOTCONN, -ENODEV as ENTER). Under SQPOLL it wakes a sleeping poller
 * and returns 0. It exists because it is the cheapest way into a file:
 * no ioctl security hook and nothing to copy from user memory.
 */

/* attach flags */
#define VANITY_ATTACH_SQPOLL	(1U << 0)	/* a module thread polls the SQ */

/* ------------------------------------------------------------------ */
/* /dev/vanity ioctls. 0xBA is unused in ioctl-number.rst. */

#define VANITY_IOC_MAGIC	0xBA

/*
 * Every ioctl's argument starts with its size, the caller's sizeof: the
 * kernel reads smaller (older) structs as zero-extended and larger
 * (newer) ones when their tail is zero, and matches a command by its
 * type, number and direction only, so a struct that grows keeps its
 * command.
 *
 * Attach the calling process to a shard by name. size is the caller's
 * sizeof(struct vanity_attach): the kernel accepts smaller (older) and
 * larger (newer, tail zero) structs. Errors: ENOENT unknown shard or no
 * system, EPERM not the shard's user, EBUSY already attached (this fd or
 * the shard), EINVAL malformed.
 */
struct vanity_attach {
	__u32 size;			/* in */
	__u32 flags;			/* in: VANITY_ATTACH_* */
	char shard[VANITY_NAME_MAX];	/* in */
	__u32 shard_index;		/* out */
	__u32 channel_count;		/* out: channels of the whole system */
	__u64 memory_size;		/* out: private region bytes, may be 0 */
	__u64 memory_offset;		/* out: mmap offset of the private region */
	__u64 cpus[VANITY_CPU_WORDS];	/* out: the shard's CPUs */
	struct vanity_ring_offsets ring;	/* out: the submission ring */
	__u32 sq_idle_us;		/* in, SQPOLL: idle time before sleeping */
	__u32 resv;			/* in: must be 0 */
	/*
	 * The ring's offsets as they grow past @ring (which keeps the first
	 * 64 bytes): in, a buffer of ring_off_size bytes (at most 4096) at
	 * ring_off, or 0 and 0 for none; out, ring_off_size is this
	 * backend's sizeof(struct vanity_ring_offsets), and the smaller of
	 * the two sizes was written there. Fields past what the backend
	 * wrote are unknown to it: the caller reads them as absent.
	 */
	__u64 ring_off;			/* in: user pointer */
	__u32 ring_off_size;		/* in: buffer bytes; out: the backend's */
	__u32 resv2;			/* in: must be 0 */
};

/* Look a channel up by name, or by index with VANITY_CHANNEL_F_INDEX. */
#define VANITY_CHANNEL_F_INDEX	(1U << 0)

#define VANITY_ROLE_NONE	0	/* not an endpoint: cannot map it */
#define VANITY_ROLE_FROM	1	/* producer end */
#define VANITY_ROLE_TO		2	/* consumer end */

struct vanity_channel_info {
	__u32 size;			/* in */
	__u32 flags;			/* in: VANITY_CHANNEL_F_* */
	char name[VANITY_NAME_MAX];	/* in (by name) / out */
	__u32 index;			/* in (by index) / out */
	__u32 role;			/* out: VANITY_ROLE_* for this shard */
	__u32 slot_size;		/* out */
	__u32 slots;			/* out */
	__u64 region_size;		/* out: bytes to mmap */
	__u64 mmap_offset;		/* out */
	__u32 from;			/* out: producer shard index */
	__u32 to;			/* out: consumer shard index */
	__u64 resv[4];			/* in: must be 0; out: 0 */
};

/*
 * Channel doorbells. WAIT sleeps until the peer moves the index the
 * caller waits on (consumer: head, for data; producer: tail, for space)
 * away from @expect, the peer rings, @timeout_ns passes (< 0: none) or a
 * signal arrives: 0, -ETIME or -EINTR. Before it sleeps, the module
 * makes the caller's *_waiting flag and the peer's earlier stores
 * mutually visible (a barrier IPI to the peer shard's CPUs), so a peer
 * that publishes without a fence either is seen here or sees the flag:
 * no wakeup is lost. WAKE wakes the peer's WAIT. Both: -EACCES unless
 * the caller is an endpoint of @channel.
 */
struct vanity_doorbell {
	__u32 size;			/* in */
	__u32 flags;			/* in: none defined, must be 0 */
	__u32 channel;			/* in: channel index */
	__u32 expect;			/* in, WAIT: index value to sleep on */
	__s64 timeout_ns;		/* in, WAIT: < 0 forever */
	__u64 resv[2];			/* in: must be 0 */
};

/*
 * Which ring ops this backend issues, as io_uring_get_probe tells: ask
 * instead of finding out by an -EINVAL per SQE. On any open fd, attached
 * or not. ops[op] describes opcode op for op < ops_len; last_op is the
 * highest opcode the backend knows.
 */
#define VANITY_PROBE_OP_SUPPORTED	(1U << 0)
#define VANITY_PROBE_OPS_MAX		64

struct vanity_probe_op {
	__u8 op;
	__u8 resv0;
	__u16 flags;			/* VANITY_PROBE_OP_* */
	__u32 resv;
};

struct vanity_probe {
	__u32 size;			/* in */
	__u32 flags;			/* in: none defined, must be 0 */
	__u8 last_op;			/* out */
	__u8 ops_len;			/* out */
	__u16 resv0;			/* in: must be 0 */
	__u32 resv1;			/* in: must be 0 */
	__u64 resv[2];			/* in: must be 0 */
	struct vanity_probe_op ops[VANITY_PROBE_OPS_MAX];	/* out */
};

/*
 * A passed device as its owner sees it, on an attached fd: by name, or by
 * index with VANITY_DEVICE_F_INDEX. What a driver needs and may not read
 * from the config space itself (which a shard never gets): IDs, class,
 * MSI and MSI-X vector counts, and each BAR with the mmap offset to map
 * it at (MAP_SHARED, the BAR's whole size, uncached). The pages of a
 * BAR's hole (the MSI-X table and PBA, owned by the module) are never
 * mapped: touching them is SIGBUS. With VANITY_DEVICE_F_WINDOW, also one
 * DMA window: in, win_kind (VANITY_MMAP_K_PRIVATE or _CHANNEL) and
 * win_index; out, the I/O virtual address the device reaches it at and
 * its size (-ENOENT when the device is not granted it). -ENOENT: no such
 * device; -EACCES: another shard's device.
 */
#define VANITY_DEVICE_F_INDEX	(1U << 0)
#define VANITY_DEVICE_F_WINDOW	(1U << 1)

#define VANITY_BAR_F_MEM	(1U << 0)	/* memory space; else I/O, not mappable */
#define VANITY_BAR_F_64		(1U << 1)	/* 64-bit (takes the next BAR's slot) */
#define VANITY_BAR_F_PREFETCH	(1U << 2)
#define VANITY_BAR_F_MAPPABLE	(1U << 3)	/* mmap at mmap_offset */
#define VANITY_DEVICE_BARS	6

struct vanity_device_bar {
	__u64 size;			/* 0: no BAR here */
	__u64 mmap_offset;		/* VANITY_MMAP_BAR(device, bar) when mappable */
	__u64 hole_offset;		/* never-mapped pages in the BAR, page aligned */
	__u64 hole_size;		/* 0: none */
	__u32 flags;			/* VANITY_BAR_F_* */
	__u32 resv;
};

struct vanity_device_info {
	__u32 size;			/* in */
	__u32 flags;			/* in: VANITY_DEVICE_F_* */
	char name[VANITY_NAME_MAX];	/* in (by name) / out */
	__u32 index;			/* in (by index) / out */
	__u16 vendor;			/* out: PCI IDs */
	__u16 device;
	__u16 subsystem_vendor;
	__u16 subsystem_device;
	__u32 class;			/* out: class, subclass, prog-if */
	__u16 pci_domain;		/* out: the function's address */
	__u8 pci_bus;
	__u8 pci_devfn;
	__u8 revision;			/* out */
	__u8 resv0;
	__u16 msi_vectors;		/* out: 0 without MSI */
	__u16 msix_vectors;		/* out: 0 without MSI-X */
	__u16 irq_vectors;		/* out: vectors IRQ_WAIT may name */
	__u32 win_kind;			/* in, F_WINDOW: VANITY_MMAP_K_* */
	__u32 win_index;		/* in, F_WINDOW */
	__u32 resv2;			/* in: must be 0 */
	__u64 win_iova;			/* out, F_WINDOW */
	__u64 win_size;			/* out, F_WINDOW */
	struct vanity_device_bar bars[VANITY_DEVICE_BARS];	/* out */
	__u64 resv[4];			/* in: must be 0; out: 0 */
};

#define VANITY_IOC_ATTACH	_IOWR(VANITY_IOC_MAGIC, 0x01, struct vanity_attach)
#define VANITY_IOC_CHANNEL	_IOWR(VANITY_IOC_MAGIC, 0x02, struct vanity_channel_info)
#define VANITY_IOC_WAIT		_IOW(VANITY_IOC_MAGIC, 0x03, struct vanity_doorbell)
#define VANITY_IOC_WAKE		_IOW(VANITY_IOC_MAGIC, 0x04, struct vanity_doorbell)
#define VANITY_IOC_ENTER	_IOW(VANITY_IOC_MAGIC, 0x05, struct vanity_enter)
#define VANITY_IOC_PROBE	_IOWR(VANITY_IOC_MAGIC, 0x06, struct vanity_probe)
#define VANITY_IOC_DEVICE	_IOWR(VANITY_IOC_MAGIC, 0x07, struct vanity_device_info)

/*
 * mmap offsets on an attached fd, one scheme for every region a shard
 * maps: VANITY_MMAP(kind, index). Bits 56..62 hold the kind, bits 32..55
 * the index within it, bits 0..31 must be 0: a mapping is MAP_SHARED,
 * starts at its region's offset and covers exactly the region's size.
 * Reserved kinds are refused with -EOPNOTSUPP by a module that does not
 * serve them yet, unknown ones with -EINVAL.
 */
#define VANITY_MMAP_KIND_SHIFT		56
#define VANITY_MMAP_INDEX_SHIFT		32
#define VANITY_MMAP_INDEX_MAX		0xffffffU
#define VANITY_MMAP(kind, index)	(((__u64)(kind) << VANITY_MMAP_KIND_SHIFT) | \
					 ((__u64)(index) << VANITY_MMAP_INDEX_SHIFT))

enum vanity_mmap_kind {
	VANITY_MMAP_K_PRIVATE = 0,	/* the shard's private region; index 0 */
	VANITY_MMAP_K_CHANNEL = 1,	/* channel @index, at either of its ends */
	VANITY_MMAP_K_RING = 2,		/* the shard's submission ring; index 0 */
	VANITY_MMAP_K_BAR = 3,		/* BAR index & 7 of device index >> 3 */
	VANITY_MMAP_K_SHARD_PAGE = 4,	/* reserved: per-shard pages (records) */
	VANITY_MMAP_K_LAST
};

#define VANITY_MMAP_PRIVATE		VANITY_MMAP(VANITY_MMAP_K_PRIVATE, 0)
#define VANITY_MMAP_CHANNEL(i)		VANITY_MMAP(VANITY_MMAP_K_CHANNEL, i)
#define VANITY_MMAP_RING		VANITY_MMAP(VANITY_MMAP_K_RING, 0)
#define VANITY_MMAP_BAR(dev, bar)	VANITY_MMAP(VANITY_MMAP_K_BAR, (dev) << 3 | (bar))

/* ------------------------------------------------------------------ */
/*
 * Generic netlink family "vanity", described in full (commands, attribute
 * sets, the events group) by include/uapi/linux/vanity.genl.yaml, a YNL
 * spec checked against this header by tests/build/ynl_test.sh. UP and DOWN
 * need CAP_NET_ADMIN; GET and the events group are open to anyone (a
 * notification tells nothing GET does not).
 *
 * Requests (UP, DOWN, GET) and notifications (*_NTF) are distinct
 * commands: a notification is never a reply, and a reply never arrives on
 * the group. Values only ever grow, so the version stays 1; a client
 * learns that a module has events by finding the group in the family's
 * CTRL_CMD_GETFAMILY reply (libnl: genl_ctrl_resolve_grp()), not by its
 * version.
 */

#define VANITY_GENL_NAME	"vanity"
#define VANITY_GENL_VERSION	1
/* Multicast group of the *_NTF notifications, in the order they happen. */
#define VANITY_GENL_MCGRP_EVENTS	"events"

enum vanity_cmd {
	VANITY_CMD_UNSPEC,
	VANITY_CMD_UP,		/* VANITY_A_IMAGE */
	VANITY_CMD_DOWN,	/* [VANITY_A_FORCE] */
	VANITY_CMD_GET,		/* reply: NAME, SHARD*, CHANNEL*, DEVICE* */
	/* notification: NAME, SHARD_COUNT, CHANNEL_COUNT; after each UP */
	VANITY_CMD_SYSTEM_UP_NTF,
	/* notification: NAME, [FORCE]; after each DOWN, also at unload */
	VANITY_CMD_SYSTEM_DOWN_NTF,
	__VANITY_CMD_MAX,
};
#define VANITY_CMD_MAX (__VANITY_CMD_MAX - 1)

enum vanity_attr {
	VANITY_A_UNSPEC,
	VANITY_A_IMAGE,		/* binary image */
	VANITY_A_FORCE,		/* flag: DOWN revokes attached shards; NTF: forced */
	VANITY_A_NAME,		/* string: system name */
	VANITY_A_SHARD,		/* nest of VANITY_SHARD_A_*, repeated */
	VANITY_A_CHANNEL,	/* nest of VANITY_CHANNEL_A_*, repeated */
	VANITY_A_PAD,
	VANITY_A_SHARD_COUNT,	/* u32, in SYSTEM_UP_NTF */
	VANITY_A_CHANNEL_COUNT,	/* u32, in SYSTEM_UP_NTF */
	VANITY_A_DEVICE,	/* nest of VANITY_DEVICE_A_*, repeated */
	__VANITY_A_MAX,
};
#define VANITY_A_MAX (__VANITY_A_MAX - 1)

enum vanity_shard_attr {
	VANITY_SHARD_A_UNSPEC,
	VANITY_SHARD_A_INDEX,	/* u32 */
	VANITY_SHARD_A_NAME,	/* string */
	VANITY_SHARD_A_CPUS,	/* binary: __u64 bitmap words */
	VANITY_SHARD_A_MEMORY,	/* u64 */
	VANITY_SHARD_A_UID,	/* u32 */
	VANITY_SHARD_A_PID,	/* u32, present while attached */
	VANITY_SHARD_A_PROGRAM,	/* string, when the image has one */
	VANITY_SHARD_A_PAD,
	VANITY_SHARD_A_RING_ENTRIES,	/* u32 SQ entries */
	VANITY_SHARD_A_SQPOLL,		/* u8: a poller thread serves the SQ */
	VANITY_SHARD_A_SUBMITTED,	/* u64 SQEs consumed */
	VANITY_SHARD_A_COMPLETED,	/* u64 CQEs posted */
	VANITY_SHARD_A_OVERFLOWS,	/* u64 times the CQ was full */
	VANITY_SHARD_A_POLLER_WAKEUPS,	/* u64 SQPOLL sleeps ended */
	VANITY_SHARD_A_OPS,		/* binary: __u64 per opcode */
	__VANITY_SHARD_A_MAX,
};
#define VANITY_SHARD_A_MAX (__VANITY_SHARD_A_MAX - 1)

enum vanity_channel_attr {
	VANITY_CHANNEL_A_UNSPEC,
	VANITY_CHANNEL_A_INDEX,		/* u32 */
	VANITY_CHANNEL_A_NAME,		/* string */
	VANITY_CHANNEL_A_FROM,		/* u32 shard index */
	VANITY_CHANNEL_A_TO,		/* u32 shard index */
	VANITY_CHANNEL_A_SLOT_SIZE,	/* u32 */
	VANITY_CHANNEL_A_SLOTS,		/* u32 */
	VANITY_CHANNEL_A_SIZE,		/* u64 region bytes */
	VANITY_CHANNEL_A_PAD,
	VANITY_CHANNEL_A_HEAD,		/* u32 producer position */
	VANITY_CHANNEL_A_TAIL,		/* u32 consumer position */
	VANITY_CHANNEL_A_SENT,		/* u64 messages the producer counted */
	VANITY_CHANNEL_A_RECEIVED,	/* u64 messages the consumer counted */
	VANITY_CHANNEL_A_WAKEUPS,	/* u64 WAKE doorbells rung */
	VANITY_CHANNEL_A_SLEEPS,	/* u64 WAIT doorbells entered */
	__VANITY_CHANNEL_A_MAX,
};
#define VANITY_CHANNEL_A_MAX (__VANITY_CHANNEL_A_MAX - 1)

/* A passed PCI function, as debugfs vanity/devices shows it. */
enum vanity_device_attr {
	VANITY_DEVICE_A_UNSPEC,
	VANITY_DEVICE_A_INDEX,		/* u32 */
	VANITY_DEVICE_A_NAME,		/* string */
	VANITY_DEVICE_A_PCI,		/* string: dddd:bb:dd.f */
	VANITY_DEVICE_A_OWNER,		/* u32 shard index */
	VANITY_DEVICE_A_HOST_DRIVER,	/* string: taken from; "" when none */
	VANITY_DEVICE_A_BUS_MASTER,	/* u8: bus mastering on */
	VANITY_DEVICE_A_BAR,		/* nest of VANITY_BAR_A_*, repeated */
	VANITY_DEVICE_A_WINDOW,		/* nest of VANITY_WINDOW_A_*, repeated */
	VANITY_DEVICE_A_IRQ_MSIX,	/* u8: MSI-X, else MSI; when it has vectors */
	VANITY_DEVICE_A_IRQ_COUNTS,	/* binary: __u64 interrupts per vector */
	VANITY_DEVICE_A_PAD,
	__VANITY_DEVICE_A_MAX,
};
#define VANITY_DEVICE_A_MAX (__VANITY_DEVICE_A_MAX - 1)

/* One BAR of a passed device; only those with a size are sent. */
enum vanity_bar_attr {
	VANITY_BAR_A_UNSPEC,
	VANITY_BAR_A_INDEX,		/* u32 */
	VANITY_BAR_A_SIZE,		/* u64 bytes */
	VANITY_BAR_A_FLAGS,		/* u32 VANITY_BAR_F_* */
	VANITY_BAR_A_PAD,
	__VANITY_BAR_A_MAX,
};
#define VANITY_BAR_A_MAX (__VANITY_BAR_A_MAX - 1)

/* One DMA window of a passed device, in I/O address order. */
enum vanity_window_attr {
	VANITY_WINDOW_A_UNSPEC,
	VANITY_WINDOW_A_KIND,		/* u32 VANITY_MMAP_K_PRIVATE or _CHANNEL */
	VANITY_WINDOW_A_INDEX,		/* u32 channel index; 0 for private */
	VANITY_WINDOW_A_IOVA,		/* u64 I/O virtual address */
	VANITY_WINDOW_A_SIZE,		/* u64 bytes */
	VANITY_WINDOW_A_MAPPED,		/* u8: in the IOMMU now */
	VANITY_WINDOW_A_PAD,
	__VANITY_WINDOW_A_MAX,
};
#define VANITY_WINDOW_A_MAX (__VANITY_WINDOW_A_MAX - 1)

/*
 * Every size and offset above is pinned by build-time asserts in
 * kmod/core/uapi_asserts.h, compiled into the module and into userspace.
 */

#endif /* _UAPI_LINUX_VANITY_H */
