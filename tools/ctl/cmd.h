/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vanityctl's commands: each takes its own argv (argv[0] is the command's
 * name, options follow) and returns the process exit status, 0 or 1.
 */
#ifndef VANITY_CTL_CMD_H
#define VANITY_CTL_CMD_H

/* vanityctl build MANIFEST [-o IMAGE] [-j]: compile a manifest to an image. */
int vanity_cmd_build(int argc, char **argv);

/* vanityctl run MANIFEST [--duration S] [--backend B] [-j]: run a system. */
int vanity_cmd_run(int argc, char **argv);

/*
 * vanityctl events [-j] [--count N] [--timeout S]: print the module's
 * events as they happen.
 */
int vanity_cmd_events(int argc, char **argv);

/*
 * vanityctl devices [-j] [--sysfs DIR]: the machine's PCI functions and
 * whether each can be passed to a shard.
 */
int vanity_cmd_devices(int argc, char **argv);

#endif
