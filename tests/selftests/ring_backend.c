// SPDX-License-Identifier: GPL-2.0
/*
 * The ring tests' two backends behind ring_backend.h: the module through
 * the CLI's netlink client and debugfs, the hosted simulator served from a
 * thread of the test process (each kselftest test is a fresh process).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ring_backend.h"
#include "hosted.h"
#include "sim.h"
#include "sim_ring.h"

#define RINGS_FILE "/sys/kernel/debug/vanity/rings"

bool vtb_hosted(void)
{
	const char *b = getenv("VANITY_BACKEND");

	if (b && !strcmp(b, "hosted"))
		return true;
	if (b && !strcmp(b, "module"))
		return false;
	return access("/dev/vanity", F_OK) != 0;
}

void vtb_std_image(struct vanity_imgw *w, uint32_t ring_entries)
{
	uint64_t a[VANITY_CPU_WORDS], b[VANITY_CPU_WORDS];
	uid_t me = geteuid();

	vt_cpus1(a, VT_CPU_A);
	vt_cpus1(b, VT_CPU_B);
	vanity_imgw_init(w, "selftest");
	vanity_imgw_shard(w, "producer", 4096, a, me, NULL);
	vanity_imgw_shard(w, "consumer", 4096, b, me, NULL);
	vanity_imgw_shard(w, "third", 0, b, me, NULL);
	vanity_imgw_channel(w, "data", 0, 1, SLOT_SIZE, SLOTS);
	vanity_imgw_channel(w, "back", 1, 0, SLOT_SIZE, SLOTS);
	vanity_imgw_channel(w, "side", 1, 2, SLOT_SIZE, SLOTS);
	w->shards[0].ring_entries = ring_entries;
}

/* ----------------------------------------------------------- hosted */

static struct vanity_sim *sim;
static pthread_t server;
static atomic_int server_stop;
/* The server thread and status readers: a detach frees what status reads. */
static pthread_mutex_t sim_lock = PTHREAD_MUTEX_INITIALIZER;

static void *serve(void *arg)
{
	(void)arg;
	while (!atomic_load(&server_stop)) {
		pthread_mutex_lock(&sim_lock);
		vanity_sim_poll(sim, 1);
		pthread_mutex_unlock(&sim_lock);
		usleep(100);
	}
	return NULL;
}

static void sim_down(void)
{
	if (!sim)
		return;
	atomic_store(&server_stop, 1);
	pthread_join(server, NULL);
	vanity_sim_stop(sim);
	sim = NULL;
}

static int sim_up(const void *img, size_t n, char *msg, size_t len)
{
	int err_fd = dup(STDERR_FILENO), null_fd, ret;

	/*
	 * The simulator tells `vanityctl run`'s user when a shard's CPUs are
	 * not on this machine (the VM's 2 and 3 here): not for the TAP.
	 */
	null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (err_fd >= 0 && null_fd >= 0)
		dup2(null_fd, STDERR_FILENO);
	ret = vanity_sim_start(&sim, img, n, msg, len);
	if (err_fd >= 0) {
		dup2(err_fd, STDERR_FILENO);
		close(err_fd);
	}
	if (null_fd >= 0)
		close(null_fd);
	if (ret) {
		sim = NULL;
		return ret;
	}
	setenv("VANITY_BACKEND", "hosted", 1);
	setenv(VANITY_SOCKET_ENV, vanity_sim_socket(sim), 1);
	atomic_store(&server_stop, 0);
	ret = -pthread_create(&server, NULL, serve, NULL);
	if (ret) {
		vanity_sim_stop(sim);
		sim = NULL;
	}
	return ret;
}

/* ------------------------------------------------------------ both */

int vtb_up(const struct vanity_imgw *w, char *msg, size_t len)
{
	void *img;
	size_t n;
	int ret;

	vtb_reset();
	if (msg && len)
		msg[0] = '\0';
	if (!vtb_hosted())
		return vt_up(w, msg, len);
	ret = vanity_imgw_finish(w, &img, &n);
	if (ret)
		return ret;
	ret = sim_up(img, n, msg, len);
	free(img);
	return ret;
}

int vtb_up_std(uint32_t ring_entries, char *msg, size_t len)
{
	struct vanity_imgw *w = calloc(1, sizeof(*w));
	int ret;

	if (!w)
		return -ENOMEM;
	vtb_std_image(w, ring_entries);
	ret = vtb_up(w, msg, len);
	free(w);
	return ret;
}

int vtb_force_down(void)
{
	char msg[256];

	if (!vtb_hosted())
		return vt_down(true, msg, sizeof(msg));
	if (!sim)
		return -ENOENT;
	sim_down();
	return 0;
}

void vtb_reset(void)
{
	if (vtb_hosted())
		sim_down();
	else
		vt_reset();
}

int vtb_status(struct vanity_status **st)
{
	int ret;

	if (!vtb_hosted())
		return vt_get(st);
	*st = calloc(1, sizeof(**st));
	if (!*st)
		return -ENOMEM;
	pthread_mutex_lock(&sim_lock);
	ret = sim ? vanity_sim_status(sim, *st) : -ENOENT;
	pthread_mutex_unlock(&sim_lock);
	return ret;
}

int vtb_shard(unsigned int idx, struct vanity_status_shard *out)
{
	struct vanity_status *st;
	int ret = vtb_status(&st);

	if (!ret && idx >= st->nshards)
		ret = -ENOENT;
	if (!ret)
		*out = st->shards[idx];
	free(st);
	return ret;
}

int vtb_channel(unsigned int idx, struct vanity_status_channel *out)
{
	struct vanity_status *st;
	int ret = vtb_status(&st);

	if (!ret && idx >= st->nchannels)
		ret = -ENOENT;
	if (!ret)
		*out = st->channels[idx];
	free(st);
	return ret;
}

long vtb_inflight(const char *shard)
{
	struct vtb_ring_row row;
	int ret;

	if (vtb_hosted())
		return (long)vanity_sim_ring_armed_live();
	ret = vtb_ring_row(shard, &row);
	return ret ? ret : (long)row.inflight;
}

bool vtb_sleeps_in_doorbell(pid_t pid)
{
	return vt_sleeps_in(pid, vtb_hosted() ? SYS_futex : SYS_ioctl);
}

/* ------------------------------------------------------ module only */

int vtb_ring_row(const char *shard, struct vtb_ring_row *o)
{
	char line[1024], *tok, *save;
	unsigned long long v[5 + VANITY_OP_LAST];
	FILE *f = fopen(RINGS_FILE, "r");
	unsigned int n;

	if (!f)
		return -errno;
	if (!fgets(line, sizeof(line), f)) {	/* the header */
		fclose(f);
		return -EIO;
	}
	while (fgets(line, sizeof(line), f)) {
		memset(o, 0, sizeof(*o));
		tok = strtok_r(line, " \n", &save);
		if (!tok || strcmp(tok, shard))
			continue;
		snprintf(o->name, sizeof(o->name), "%s", tok);
		tok = strtok_r(NULL, " \n", &save);
		o->entries = tok ? strtoul(tok, NULL, 10) : 0;
		tok = strtok_r(NULL, " \n", &save);
		snprintf(o->sqpoll, sizeof(o->sqpoll), "%s", tok ? tok : "");
		for (n = 0; n < 5 + VANITY_OP_LAST; n++) {
			tok = strtok_r(NULL, " \n", &save);
			if (!tok)
				break;
			v[n] = strtoull(tok, NULL, 10);
		}
		fclose(f);
		if (n != 5 + VANITY_OP_LAST || strtok_r(NULL, " \n", &save))
			return -EPROTO;
		o->submitted = v[0];
		o->completed = v[1];
		o->overflows = v[2];
		o->wakeups = v[3];
		o->inflight = v[4];
		memcpy(o->ops, v + 5, sizeof(o->ops));
		return 0;
	}
	fclose(f);
	return -ENOENT;
}
