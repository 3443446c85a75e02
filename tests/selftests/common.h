/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared helpers of the selftests: images built in memory, UP/DOWN/GET
 * through the CLI's netlink client, attach through libvanity, counters.
 */
#ifndef VANITY_SELFTEST_COMMON_H
#define VANITY_SELFTEST_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/vanity.h>
#include "imgwrite.h"
#include "nl.h"
#include "vanity.h"

/* The isolated CPUs of the test VM (isolcpus=2,3). */
#define VT_CPU_A 2
#define VT_CPU_B 3

/* A bitmap with one CPU set. */
void vt_cpus1(uint64_t cpus[VANITY_CPU_WORDS], unsigned int cpu);

/*
 * The standard two-shard image: "producer" on CPU 2 and "consumer" on
 * CPU 3 (uid 0, @mem bytes each), channel "data" producer -> consumer of
 * @slots slots of @slot_size bytes, and "back" consumer -> producer.
 */
void vt_pair(struct vanity_imgw *w, uint64_t mem, uint32_t slot_size,
	     uint32_t slots);

/* Serialise @w and bring it up: 0 or -errno; the message in @msg if any. */
int vt_up(const struct vanity_imgw *w, char *msg, size_t len);
/* Up raw image bytes. */
int vt_up_raw(const void *img, size_t len, char *msg, size_t msglen);
/* DOWN (force or not): 0 or -errno, message in @msg. */
int vt_down(bool force, char *msg, size_t len);
/* GET into a heap status (caller frees): 0, -ENOENT when down. */
int vt_get(struct vanity_status **st);
/* Take down whatever is up (forced); for teardown paths. */
void vt_reset(void);

/*
 * Let deferred frees happen and drop clean caches (best effort), then
 * sleep @ms, so that two memory readings differ only by what a test did.
 */
void vt_settle(unsigned int ms);
/* Free kB: MemFree plus the per-CPU free lists MemFree leaves out. */
long vt_free_kb(void);

/* mmap @len bytes of @fd at @off and unmap them: 0 or mmap's -errno. */
int vt_map_err(int fd, size_t len, int prot, int flags, uint64_t off);

/* kB values from /proc/meminfo ("MemFree", "Slab", ...), -1 when absent. */
long vt_meminfo(const char *key);

/* Fork a child running @fn(@arg); returns its pid. */
pid_t vt_spawn(int (*fn)(void *arg), void *arg);
/* Wait for @pid: exit status, or 128 + signal; -1 on timeout (child killed). */
int vt_wait(pid_t pid, int timeout_ms);
/* The module to load: the one the VM booted with, else the tree's. */
const char *vt_module_path(void);
/* Load the module (vt_module_path), or unload it: 0 or -errno. */
int vt_load_module(void);
int vt_unload_module(void);
/* Whether @pid sleeps interruptibly inside ioctl(2): in a doorbell WAIT. */
bool vt_sleeps_in_ioctl(pid_t pid);
/* Whether @pid sleeps interruptibly inside system call @nr (SYS_*). */
bool vt_sleeps_in(pid_t pid, long nr);

/* Run a shell command, its stdout+stderr into @out: exit status or -1. */
int vt_sh(const char *cmd, char *out, size_t len);
/* Entries of directory @dir other than . and .. (0 when it cannot be read). */
unsigned int vt_dir_entries(const char *dir);
/* Write @text to @path (tests' manifests). */
void vt_write_file(const char *path, const char *text);

/* The number at "@key": in a JSON line @line (the first one); -1 absent. */
long long vt_field(const char *line, const char *key);
/*
 * Whether @line is `vanityctl run -j`'s record of a JSON object @shard
 * logged: {"event":"log","shard":@shard,...,"json":{"shard":@shard,...}}.
 */
bool vt_logged_json(const char *line, const char *shard);
/* The first entry of directory @path starting with @prefix (not "."), into @out. */
bool vt_dir_entry(const char *path, const char *prefix, char *out, size_t len);
/*
 * The block device of the first namespace the kernel's nvme driver made of
 * PCI function @fn ("0000:00:02.0"), as "/dev/nvme0n1": 0, or -ENOENT
 * when the driver has none (yet).
 */
int vt_nvme_namespace(const char *fn, char *dev, size_t len);
/* The first PCI function of class @class (0x010802: NVMe), into @fn: 0 or -ENOENT. */
int vt_pci_find_class(uint32_t class, char *fn, size_t len);

/* The kernel module's path relative to the tree root (the cwd). */
#define VT_MODULE "kmod/vanity.ko"

#endif
