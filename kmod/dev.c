// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/vanity: a shard program opens it, attaches by name (the fd becomes
 * the shard's handle and the calling thread is pinned to its CPUs), looks
 * channels up and maps its regions. Closing the last reference detaches.
 */
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/sched.h>

#include "dev.h"
#include "system.h"
#include "image.h"
#include "doorbell.h"
#include "ring.h"
#include "attach.h"
#include "mmap.h"
#include "device.h"
#include "opdef.h"

struct vanity_file {
	struct vanity_system *sys;	/* reference, set by attach */
	struct vanity_shard *shard;
	bool ready;			/* attach completed: sys and shard fixed */
};

static int dev_open(struct inode *inode, struct file *file)
{
	struct vanity_file *vf = kzalloc(sizeof(*vf), GFP_KERNEL);

	if (!vf)
		return -ENOMEM;
	file->private_data = vf;
	return 0;
}

static void detach_locked(struct file *file, struct vanity_file *vf)
{
	if (!vf->sys->dead && vf->shard->attached == file) {
		vanity_devices_detach(vf->sys, vf->shard);
		vanity_ring_detach(vf->shard);
		vf->shard->attached = NULL;
		put_pid(vf->shard->pid);
		vf->shard->pid = NULL;
	}
}

static int dev_release(struct inode *inode, struct file *file)
{
	struct vanity_file *vf = file->private_data;

	if (vf->sys) {
		mutex_lock(&vanity_lock);
		detach_locked(file, vf);
		mutex_unlock(&vanity_lock);
		vanity_system_put(vf->sys);
	}
	kfree(vf);
	return 0;
}

void vanity_dev_zap(struct file *file)
{
	unmap_mapping_range(file->f_mapping, 0, 0, 1);
}

/*
 * Copy a size-versioned struct in: @usize is what the caller compiled
 * against. Older (smaller) structs read as zero-extended; newer ones must
 * have a zero tail (copy_struct_from_user returns -E2BIG otherwise).
 */
static int copy_versioned(void *dst, size_t ksize, const void __user *src,
			  size_t min)
{
	u32 usize;

	if (get_user(usize, (const u32 __user *)src))
		return -EFAULT;
	if (usize < min || usize > PAGE_SIZE)
		return -EINVAL;
	return copy_struct_from_user(dst, ksize, src, usize) ?: (int)usize;
}

/* A command without its size bits: each struct says its size itself. */
#define IOC_NOSIZE(cmd)	((cmd) & ~(unsigned int)IOCSIZE_MASK)

/* The facts of vanity_attach_decide, under vanity_lock. */
static bool attach_owns(const void *ctx, unsigned int index)
{
	const struct vanity_system *sys = ctx;

	return uid_eq(current_euid(), sys->shards[index].uid);
}

static bool attach_taken(const void *ctx, unsigned int index)
{
	const struct vanity_system *sys = ctx;

	return sys->shards[index].attached;
}

static long dev_attach(struct file *file, struct vanity_file *vf,
		       struct vanity_attach __user *ua)
{
	struct vanity_system *sys;
	struct vanity_shard *s;
	struct vanity_attach a;
	struct vanity_attacher who = {
		.owns = attach_owns, .taken = attach_taken,
	};
	cpumask_var_t old;
	u32 ring_off_size;
	int usize, idx;
	long ret;

	usize = copy_versioned(&a, sizeof(a), ua,
			       offsetofend(struct vanity_attach, shard));
	if (usize < 0)
		return usize;
	if (vanity_attach_args(a.flags, a.shard, sizeof(a.shard)) ||
	    a.resv || a.resv2 || a.ring_off_size > PAGE_SIZE ||
	    !a.ring_off != !a.ring_off_size)
		return -EINVAL;
	ring_off_size = a.ring_off_size;
	if (!alloc_cpumask_var(&old, GFP_KERNEL))
		return -ENOMEM;
	cpumask_copy(old, current->cpus_ptr);

	mutex_lock(&vanity_lock);
	sys = vanity_sys;
	ret = -ENOENT;
	if (!sys)
		goto out;
	who.attached = vf->sys;
	who.ctx = sys;
	/* Asked only when the caller is not the owner (audit as EPERM's). */
	idx = vanity_attach_decide(sys->image, a.shard, &who);
	if (idx == -EPERM && capable(CAP_SYS_ADMIN)) {
		who.admin = true;
		idx = vanity_attach_decide(sys->image, a.shard, &who);
	}
	ret = idx;
	if (idx < 0)
		goto out;
	s = &sys->shards[idx];
	ret = set_cpus_allowed_ptr(current, s->cpus);
	if (ret)
		goto out;
	ret = vanity_ring_attach(s, a.flags & VANITY_ATTACH_SQPOLL,
				 a.sq_idle_us);
	if (ret) {
		set_cpus_allowed_ptr(current, old);
		goto out;
	}
	s->attached = file;
	s->pid = get_pid(task_tgid(current));
	vanity_devices_attach(sys, s);
	kref_get(&sys->ref);
	vf->sys = sys;
	vf->shard = s;

	a.shard_index = idx;
	a.channel_count = sys->nchannels;
	a.memory_size = s->desc->memory_size;
	a.memory_offset = VANITY_MMAP_PRIVATE;
	memcpy(a.cpus, s->desc->cpus, sizeof(a.cpus));
	a.ring = s->ring->off;
	a.ring_off_size = sizeof(a.ring);
	ret = 0;
out:
	mutex_unlock(&vanity_lock);
	if (!ret && !copy_to_user(ua, &a, min_t(size_t, usize, sizeof(a))) &&
	    !copy_to_user(u64_to_user_ptr(a.ring_off), &a.ring,
			  min_t(size_t, ring_off_size, sizeof(a.ring)))) {
		/* Release: vf->sys and vf->shard before the fast paths see them. */
		smp_store_release(&vf->ready, true);
	} else if (!ret) {
		/* Undo all of it: the caller never learnt it was attached. */
		mutex_lock(&vanity_lock);
		detach_locked(file, vf);
		sys = vf->sys;
		vf->sys = NULL;
		vf->shard = NULL;
		mutex_unlock(&vanity_lock);
		set_cpus_allowed_ptr(current, old);
		vanity_system_put(sys);
		ret = -EFAULT;
	}
	free_cpumask_var(old);
	return ret;
}

static long dev_channel(struct vanity_file *vf,
			struct vanity_channel_info __user *uc)
{
	struct vanity_channel_info ci;
	struct vanity_system *sys;
	long ret = 0;
	int usize;

	usize = copy_versioned(&ci, sizeof(ci), uc,
			       offsetofend(struct vanity_channel_info, index));
	if (usize < 0)
		return usize;
	if (ci.flags & ~VANITY_CHANNEL_F_INDEX ||
	    memchr_inv(ci.resv, 0, sizeof(ci.resv)))
		return -EINVAL;
	if (!(ci.flags & VANITY_CHANNEL_F_INDEX) &&
	    !memchr(ci.name, '\0', sizeof(ci.name)))
		return -EINVAL;

	mutex_lock(&vanity_lock);
	sys = vf->sys;
	/* Acquire: pairs with the attach's release of ready (see mmap). */
	if (!sys || !smp_load_acquire(&vf->ready)) {
		ret = -ENOTCONN;
		goto out;
	}
	if (sys->dead) {
		ret = -ENODEV;
		goto out;
	}
	/* The core's view, the simulator's too: role NONE for a foreign one. */
	ret = vanity_channel_view(sys->image,
				  ci.flags & VANITY_CHANNEL_F_INDEX ? NULL : ci.name,
				  ci.index, vf->shard->index, &ci);
out:
	mutex_unlock(&vanity_lock);
	if (!ret && copy_to_user(uc, &ci, min_t(size_t, usize, sizeof(ci))))
		ret = -EFAULT;
	return ret;
}

/*
 * The attached system, or NULL. Once an attach has completed, vf->sys and
 * vf->shard never change and the file holds a reference on the system for
 * as long as it lives, so the hot ioctls need neither lock nor reference.
 */
static struct vanity_system *attached_sys(struct vanity_file *vf,
					  struct vanity_shard **shard)
{
	/* Acquire: pairs with the release that completed the attach. */
	if (!smp_load_acquire(&vf->ready))
		return NULL;
	*shard = vf->shard;
	return vf->sys;
}

static long dev_doorbell(struct vanity_file *vf, unsigned int cmd,
			 const void __user *uarg)
{
	struct vanity_shard *shard;
	struct vanity_system *sys;
	struct vanity_doorbell db;
	long ret;
	int usize;

	usize = copy_versioned(&db, sizeof(db), uarg,
			       offsetofend(struct vanity_doorbell, timeout_ns));
	if (usize < 0)
		return usize;
	if (db.flags || memchr_inv(db.resv, 0, sizeof(db.resv)))
		return -EINVAL;
	sys = attached_sys(vf, &shard);
	if (!sys)
		return -ENOTCONN;
	if (cmd == IOC_NOSIZE(VANITY_IOC_WAIT))
		ret = vanity_doorbell_wait(sys, shard, &db);
	else
		ret = vanity_doorbell_wake(sys, shard, &db);
	return ret;
}

static long dev_enter(struct vanity_file *vf, const void __user *uarg)
{
	struct vanity_shard *shard;
	struct vanity_system *sys;
	struct vanity_enter e;
	long ret;
	int usize;

	/*
	 * The hot path: one copy when the caller's struct is ours. Anything
	 * else, including an older, shorter struct at the very end of a
	 * mapping (where our size would fault), goes through the size field.
	 */
	if (unlikely(copy_from_user(&e, uarg, sizeof(e)) ||
		     e.size != sizeof(e))) {
		usize = copy_versioned(&e, sizeof(e), uarg,
				       offsetofend(struct vanity_enter,
						   min_complete));
		if (usize < 0)
			return usize;
	}
	sys = attached_sys(vf, &shard);
	if (!sys)
		return -ENOTCONN;
	ret = vanity_ring_enter(sys, shard, &e);
	return ret;
}

/*
 * fsync(2): consume the SQEs the shard has published in its ring mapping,
 * as fbdev's deferred I/O flushes what was written to its mapping. The
 * leanest entry a file has: no ioctl security hook, no argument to copy.
 */
static int dev_fsync(struct file *file, loff_t start, loff_t end,
		     int datasync)
{
	struct vanity_shard *shard;
	struct vanity_system *sys;

	sys = attached_sys(file->private_data, &shard);
	if (!sys)
		return -ENOTCONN;
	return vanity_ring_flush(sys, shard);
}

/* PROBE: the ops this module issues (the core's table); any open fd. */
static long dev_probe(struct vanity_probe __user *up)
{
	struct vanity_probe *p = kzalloc(sizeof(*p), GFP_KERNEL);
	long ret;
	int usize;

	if (!p)
		return -ENOMEM;
	usize = copy_versioned(p, sizeof(*p), up,
			       offsetof(struct vanity_probe, ops));
	if (usize < 0) {
		ret = usize;
		goto out;
	}
	if (p->flags || p->resv0 || p->resv1 || p->resv[0] || p->resv[1]) {
		ret = -EINVAL;
		goto out;
	}
	vanity_probe_fill(p);
	ret = copy_to_user(up, p, min_t(size_t, usize, sizeof(*p))) ?
	      -EFAULT : 0;
out:
	kfree(p);
	return ret;
}

/* DEVICE: a passed device as its owner sees it. */
static long dev_device(struct vanity_file *vf, struct vanity_device_info __user *ui)
{
	struct vanity_device_info *info;
	struct vanity_shard *shard;
	struct vanity_system *sys;
	long ret;
	int usize;

	info = kzalloc(sizeof(*info), GFP_KERNEL);
	if (!info)
		return -ENOMEM;
	usize = copy_versioned(info, sizeof(*info), ui,
			       offsetof(struct vanity_device_info, bars));
	ret = usize;
	if (usize < 0)
		goto out;
	ret = -EINVAL;
	if (info->resv0 || info->resv2 ||
	    memchr_inv(info->resv, 0, sizeof(info->resv)))
		goto out;
	mutex_lock(&vanity_lock);
	sys = attached_sys(vf, &shard);
	ret = -ENOTCONN;
	if (sys)
		ret = sys->dead ? -ENODEV :
		      vanity_device_info_fill(sys, shard, info);
	mutex_unlock(&vanity_lock);
	if (!ret && copy_to_user(ui, info, min_t(size_t, usize, sizeof(*info))))
		ret = -EFAULT;
out:
	kfree(info);
	return ret;
}

static long dev_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct vanity_file *vf = file->private_data;
	void __user *uarg = (void __user *)arg;

	/* The size is the struct's own word (see the UAPI): not matched. */
	switch (IOC_NOSIZE(cmd)) {
	case IOC_NOSIZE(VANITY_IOC_ATTACH):
		return dev_attach(file, vf, uarg);
	case IOC_NOSIZE(VANITY_IOC_CHANNEL):
		return dev_channel(vf, uarg);
	case IOC_NOSIZE(VANITY_IOC_WAIT):
	case IOC_NOSIZE(VANITY_IOC_WAKE):
		return dev_doorbell(vf, IOC_NOSIZE(cmd), uarg);
	case IOC_NOSIZE(VANITY_IOC_ENTER):
		return dev_enter(vf, uarg);
	case IOC_NOSIZE(VANITY_IOC_PROBE):
		return dev_probe(uarg);
	case IOC_NOSIZE(VANITY_IOC_DEVICE):
		return dev_device(vf, uarg);
	default:
		return -ENOTTY;
	}
}

/*
 * Map what @vma asks for under vanity_lock: a region, installed by
 * region.c, or a passed device's BAR, by device.c. Rights before bounds.
 */
static int dev_mmap_locked(struct vanity_file *vf, struct vm_area_struct *vma)
{
	u64 off = (u64)vma->vm_pgoff << PAGE_SHIFT;
	u64 len = vma->vm_end - vma->vm_start;
	struct vanity_system *sys = vf->sys;
	struct vanity_region *r;
	u32 kind, idx;
	int ret;

	/*
	 * Only once the attach completed: an attach that fails at its last
	 * copy is undone, and a mapping made meanwhile would outlive it.
	 */
	if (!sys || !smp_load_acquire(&vf->ready))
		return -ENOTCONN;
	if (sys->dead)
		return -ENODEV;
	ret = vanity_mmap_decode(off, &kind, &idx);
	if (ret)
		return ret;
	switch (kind) {
	case VANITY_MMAP_K_BAR:
		return vanity_device_mmap(sys, vf->shard, idx, vma);
	case VANITY_MMAP_K_PRIVATE:
		r = vf->shard->mem;
		break;
	case VANITY_MMAP_K_RING:
		r = vf->shard->ring->region;
		break;
	default:
		if (idx >= sys->nchannels)
			return -EINVAL;
		if (vanity_channel_role(sys->channels[idx].desc,
					vf->shard->index) == VANITY_ROLE_NONE)
			return -EACCES;
		r = sys->channels[idx].region;
	}
	if (!r || len != r->size)
		return -EINVAL;
	vanity_region_mmap(r, vma);
	return 0;
}

static int dev_mmap(struct file *file, struct vm_area_struct *vma)
{
	int ret;

	/* A private writable map would copy-on-write away from the peer. */
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	mutex_lock(&vanity_lock);
	ret = dev_mmap_locked(file->private_data, vma);
	mutex_unlock(&vanity_lock);
	return ret;
}

static const struct file_operations dev_fops = {
	.owner = THIS_MODULE,
	.open = dev_open,
	.release = dev_release,
	.unlocked_ioctl = dev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = dev_mmap,
	.fsync = dev_fsync,
	.llseek = noop_llseek,
};

static struct miscdevice vanity_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "vanity",
	.fops = &dev_fops,
	.mode = 0666,	/* attach checks the shard's uid itself */
};

int vanity_dev_init(void)
{
	return misc_register(&vanity_misc);
}

void vanity_dev_exit(void)
{
	misc_deregister(&vanity_misc);
}
