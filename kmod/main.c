// SPDX-License-Identifier: GPL-2.0
/*
 * Module entry: registers debugfs, the PCI driver of passed devices,
 * /dev/vanity and the netlink family in that order, and unwinds in the mirror order, taking a system down first.
 */
#include <linux/module.h>

#include "system.h"
#include "dev.h"
#include "netlink.h"
#include "debugfs.h"
#include "ring.h"
#include "device.h"

static int __init vanity_init(void)
{
	int ret;

	ret = vanity_ring_ops_check();
	if (ret) {
		pr_err("vanity: an opcode has no entry in an op table\n");
		return ret;
	}
	ret = vanity_async_init();
	if (ret)
		return ret;
	vanity_debugfs_init();
	ret = vanity_device_init();
	if (ret)
		goto err_debugfs;
	ret = vanity_dev_init();
	if (ret)
		goto err_device;
	ret = vanity_nl_init();
	if (ret)
		goto err_dev;
	pr_info("vanity: loaded\n");
	return 0;

err_dev:
	vanity_dev_exit();
err_device:
	vanity_device_exit();
err_debugfs:
	vanity_debugfs_exit();
	vanity_async_exit();
	return ret;
}

static void __exit vanity_exit(void)
{
	char msg[VANITY_MSG_LEN];

	/* No new UP; then no fd can be open (each pins the module). */
	vanity_nl_exit();
	if (vanity_system_down(true, msg) && msg[0] && vanity_sys)
		pr_warn("vanity: down at unload: %s\n", msg);
	vanity_dev_exit();
	vanity_device_exit();
	vanity_debugfs_exit();
	vanity_async_exit();
	pr_info("vanity: unloaded\n");
}

module_init(vanity_init);
module_exit(vanity_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Vanity: partitions isolated CPUs among shards");
MODULE_AUTHOR("The Vanity developers");
