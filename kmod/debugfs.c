// SPDX-License-Identifier: GPL-2.0
/*
 * debugfs vanity/{system,shards,channels,rings,devices}: a readable view
 * of what is up, taken under vanity_lock so each file is one consistent
 * snapshot.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/pid.h>

#include "debugfs.h"
#include "system.h"
#include "device.h"
#include "image.h"
#include "chan.h"
#include "ring.h"

static struct dentry *vanity_dir;

static int system_show(struct seq_file *m, void *v)
{
	struct vanity_system *sys;

	mutex_lock(&vanity_lock);
	sys = vanity_sys;
	if (!sys) {
		seq_puts(m, "state: down\n");
	} else {
		seq_printf(m, "state: up\nname: %s\nshards: %u\nchannels: %u\n",
			   vanity_image_hdr(sys->image)->name, sys->nshards,
			   sys->nchannels);
		seq_printf(m, "cpus: %*pbl\nmemory: %llu\nirqs_moved: %u\n",
			   cpumask_pr_args(sys->cpus.mask), sys->memory_bytes,
			   sys->cpus.nirqs);
	}
	mutex_unlock(&vanity_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(system);

static int shards_show(struct seq_file *m, void *v)
{
	struct vanity_system *sys;
	unsigned int i;

	seq_printf(m, "%-4s %-31s %12s %6s %8s %s\n", "idx", "name", "memory",
		   "uid", "pid", "cpus");
	mutex_lock(&vanity_lock);
	sys = vanity_sys;
	for (i = 0; sys && i < sys->nshards; i++) {
		const struct vanity_shard *s = &sys->shards[i];

		seq_printf(m, "%-4u %-31s %12llu %6u %8d %*pbl\n", i,
			   s->desc->name, s->desc->memory_size, s->desc->uid,
			   s->attached ? pid_nr(s->pid) : 0,
			   cpumask_pr_args(s->cpus));
	}
	mutex_unlock(&vanity_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(shards);

static int channels_show(struct seq_file *m, void *v)
{
	struct vanity_system *sys;
	unsigned int i;

	seq_printf(m, "%-4s %-31s %-31s %-31s %9s %8s %10s %8s %12s %12s %10s %10s %10s %10s %11s %11s\n",
		   "idx", "name", "from", "to", "slot_size", "slots", "bytes",
		   "used", "sent", "received", "full", "empty", "sleeps",
		   "wakeups", "ioctl_waits", "ioctl_wakes");
	mutex_lock(&vanity_lock);
	sys = vanity_sys;
	for (i = 0; sys && i < sys->nchannels; i++) {
		struct vanity_channel *c = &sys->channels[i];
		const struct vanity_image_channel *d = c->desc;
		struct vanity_chan_hdr h;
		u64 sleeps, wakeups;

		if (vanity_region_peek(c->region, 0, &h, sizeof(h)))
			memset(&h, 0, sizeof(h));
		vanity_chan_bell_counts(&h, READ_ONCE(c->eng.notifies),
					&sleeps, &wakeups);
		seq_printf(m, "%-4u %-31s %-31s %-31s %9u %8u %10llu %8u %12llu %12llu %10llu %10llu %10llu %10llu %11lld %11lld\n",
			   i, d->name, sys->shards[d->from].desc->name,
			   sys->shards[d->to].desc->name, d->slot_size,
			   d->slots, vanity_channel_region_size(d),
			   h.head - h.tail, h.prod.msgs, h.cons.msgs,
			   h.prod.stalls, h.cons.stalls, sleeps, wakeups,
			   atomic64_read(&c->waits), atomic64_read(&c->wakes));
	}
	mutex_unlock(&vanity_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(channels);

static int rings_show(struct seq_file *m, void *v)
{
	struct vanity_system *sys;
	unsigned int i, op;

	seq_printf(m, "%-31s %7s %6s %12s %12s %9s %9s %8s", "shard", "entries",
		   "sqpoll", "submitted", "completed", "overflows", "wakeups",
		   "inflight");
	for (op = 0; op < VANITY_OP_LAST; op++)
		seq_printf(m, " %10s", vanity_opdefs[op].name);
	seq_putc(m, '\n');
	mutex_lock(&vanity_lock);
	sys = vanity_sys;
	for (i = 0; sys && i < sys->nshards; i++) {
		const struct vanity_ring *r = sys->shards[i].ring;

		seq_printf(m, "%-31s %7u %6s %12llu %12llu %9llu %9llu %8u",
			   sys->shards[i].desc->name, r->eng.sq_entries,
			   r->poller ? "yes" : "no",
			   READ_ONCE(r->ctr.submitted),
			   READ_ONCE(r->ctr.completed),
			   READ_ONCE(r->ctr.overflows),
			   READ_ONCE(r->ctr.poller_wakeups),
			   READ_ONCE(r->eng.reserved));
		for (op = 0; op < VANITY_OP_LAST; op++)
			seq_printf(m, " %10llu", READ_ONCE(r->ctr.ops[op]));
		seq_putc(m, '\n');
	}
	mutex_unlock(&vanity_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(rings);

/* One block per passed device: who owns it, what it reaches. */
static int devices_show(struct seq_file *m, void *v)
{
	const struct vanity_dma_window *w;
	struct vanity_system *sys;
	unsigned int i, j;

	mutex_lock(&vanity_lock);
	sys = vanity_sys;
	for (i = 0; sys && i < sys->ndevices; i++) {
		const struct vanity_pdev *d = &sys->devices[i];

		seq_printf(m, "device %s %s owner %s host_driver %s bus_master %s\n",
			   d->desc->name, d->addr, d->owner->desc->name,
			   d->host_driver[0] ? d->host_driver : "-",
			   d->master ? "on" : "off");
		for (j = 0; j < VANITY_DEVICE_BARS; j++) {
			const struct vanity_bar *b = &d->bars[j];

			if (!b->size)
				continue;
			seq_printf(m, "  bar %u size %#llx flags %#x hole %#llx+%#llx\n",
				   j, b->size, b->flags, b->hole_off,
				   b->hole_size);
		}
		for (j = 0; j < d->nwin; j++) {
			w = &d->win[j];
			seq_printf(m, "  dma %s iova %#llx size %#llx%s\n",
				   w->kind == VANITY_MMAP_K_PRIVATE ? "private" :
				   sys->channels[w->index].desc->name,
				   w->iova, w->size,
				   j < d->nmapped ? "" : " (unmapped)");
		}
		for (j = 0; j < READ_ONCE(d->irqs.nvec); j++)
			seq_printf(m, "  irq %s vector %u count %llu pending %u\n",
				   d->irqs.msix ? "msix" : "msi", j,
				   READ_ONCE(d->irqs.count[j]),
				   READ_ONCE(d->irqs.pending[j]));
	}
	mutex_unlock(&vanity_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(devices);

void vanity_debugfs_init(void)
{
	/* debugfs failures are not fatal: the module works without it. */
	vanity_dir = debugfs_create_dir("vanity", NULL);
	debugfs_create_file("system", 0444, vanity_dir, NULL, &system_fops);
	debugfs_create_file("shards", 0444, vanity_dir, NULL, &shards_fops);
	debugfs_create_file("channels", 0444, vanity_dir, NULL, &channels_fops);
	debugfs_create_file("rings", 0444, vanity_dir, NULL, &rings_fops);
	debugfs_create_file("devices", 0444, vanity_dir, NULL, &devices_fops);
}

void vanity_debugfs_exit(void)
{
	debugfs_remove_recursive(vanity_dir);
}
