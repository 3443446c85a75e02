// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers shared by the selftests; they wrap the same netlink client and
 * image writer as vanityctl so the tests drive exactly what users drive.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

void vt_cpus1(uint64_t cpus[VANITY_CPU_WORDS], unsigned int cpu)
{
	memset(cpus, 0, VANITY_CPU_WORDS * sizeof(uint64_t));
	cpus[cpu / 64] |= 1ULL << (cpu % 64);
}

void vt_pair(struct vanity_imgw *w, uint64_t mem, uint32_t slot_size,
	     uint32_t slots)
{
	uint64_t a[VANITY_CPU_WORDS], b[VANITY_CPU_WORDS];

	vt_cpus1(a, VT_CPU_A);
	vt_cpus1(b, VT_CPU_B);
	vanity_imgw_init(w, "selftest");
	vanity_imgw_shard(w, "producer", mem, a, 0, NULL);
	vanity_imgw_shard(w, "consumer", mem, b, 0, NULL);
	vanity_imgw_channel(w, "data", 0, 1, slot_size, slots);
	vanity_imgw_channel(w, "back", 1, 0, slot_size, slots);
}

int vt_up_raw(const void *img, size_t len, char *msg, size_t msglen)
{
	struct vanity_nl *nl;
	int ret = vanity_nl_open(&nl);

	if (msg && msglen)
		msg[0] = '\0';
	if (ret)
		return ret;
	ret = vanity_nl_up(nl, img, len);
	if (msg && msglen)
		snprintf(msg, msglen, "%s", vanity_nl_msg(nl));
	vanity_nl_close(nl);
	return ret;
}

int vt_up(const struct vanity_imgw *w, char *msg, size_t len)
{
	size_t n;
	void *img;
	int ret = vanity_imgw_finish(w, &img, &n);

	if (ret)
		return ret;
	ret = vt_up_raw(img, n, msg, len);
	free(img);
	return ret;
}

int vt_down(bool force, char *msg, size_t len)
{
	struct vanity_nl *nl;
	int ret = vanity_nl_open(&nl);

	if (msg && len)
		msg[0] = '\0';
	if (ret)
		return ret;
	ret = vanity_nl_down(nl, force);
	if (msg && len)
		snprintf(msg, len, "%s", vanity_nl_msg(nl));
	vanity_nl_close(nl);
	return ret;
}

int vt_get(struct vanity_status **st)
{
	struct vanity_nl *nl;
	int ret;

	*st = calloc(1, sizeof(**st));
	if (!*st)
		return -ENOMEM;
	ret = vanity_nl_open(&nl);
	if (!ret) {
		ret = vanity_nl_get(nl, *st);
		vanity_nl_close(nl);
	}
	return ret;
}

void vt_reset(void)
{
	vt_down(true, NULL, 0);
}

long vt_meminfo(const char *key)
{
	char line[256];
	size_t klen = strlen(key);
	long val = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			val = strtol(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

void vt_settle(unsigned int ms)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);

	sync();
	if (fd >= 0) {
		/* Best effort: without it the readings are only noisier. */
		ssize_t n = write(fd, "3\n", 2);

		(void)n;
		close(fd);
	}
	usleep(ms * 1000);
}

/*
 * A reading depends on which CPU freed pages last unless the pages parked
 * on the per-CPU lists (the "count:" lines of /proc/zoneinfo) are added.
 */
long vt_free_kb(void)
{
	long free = vt_meminfo("MemFree"), pcp = 0;
	char line[256];
	FILE *f;

	if (free < 0)
		return -1;
	f = fopen("/proc/zoneinfo", "r");
	if (!f)
		return free;
	while (fgets(line, sizeof(line), f)) {
		const char *p = line + strspn(line, " \t");

		if (!strncmp(p, "count:", 6))
			pcp += strtol(p + 6, NULL, 10);
	}
	fclose(f);
	return free + pcp * (sysconf(_SC_PAGESIZE) / 1024);
}

unsigned int vt_dir_entries(const char *dir)
{
	unsigned int n = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return 0;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

int vt_sh(const char *cmd, char *out, size_t len)
{
	char full[1024];
	size_t n;
	FILE *p;
	int st;

	snprintf(full, sizeof(full), "%s 2>&1", cmd);
	p = popen(full, "r");
	if (!p)
		return -1;
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void vt_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

long long vt_field(const char *line, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(line, pat);
	return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

bool vt_logged_json(const char *line, const char *shard)
{
	char pat[96];

	snprintf(pat, sizeof(pat), "{\"event\":\"log\",\"shard\":\"%s\",", shard);
	if (strncmp(line, pat, strlen(pat)))
		return false;
	snprintf(pat, sizeof(pat), "\"json\":{\"shard\":\"%s\"", shard);
	return strstr(line, pat) != NULL;
}

bool vt_dir_entry(const char *path, const char *prefix, char *out, size_t len)
{
	bool found = false;
	struct dirent *de;
	DIR *d = opendir(path);

	if (!d)
		return false;
	while (!found && (de = readdir(d)))
		if (de->d_name[0] != '.' &&
		    !strncmp(de->d_name, prefix, strlen(prefix)))
			found = snprintf(out, len, "%s", de->d_name) < (int)len;
	closedir(d);
	return found;
}

int vt_nvme_namespace(const char *fn, char *dev, size_t len)
{
	char path[600], ctrl[64], ns[64];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/nvme", fn);
	if (!vt_dir_entry(path, "nvme", ctrl, sizeof(ctrl)))
		return -ENOENT;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/nvme/%s", fn, ctrl);
	if (!vt_dir_entry(path, ctrl, ns, sizeof(ns)) || !strchr(ns + strlen(ctrl), 'n'))
		return -ENOENT;
	snprintf(dev, len, "/dev/%s", ns);
	return 0;
}

int vt_pci_find_class(uint32_t class, char *fn, size_t len)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *de;
	int ret = -ENOENT;

	if (!d)
		return -ENOENT;
	while (ret && (de = readdir(d))) {
		char path[512], buf[32] = "";
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/class", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f) && strtoul(buf, NULL, 16) == class &&
		    snprintf(fn, len, "%s", de->d_name) < (int)len)
			ret = 0;
		fclose(f);
	}
	closedir(d);
	return ret;
}

pid_t vt_spawn(int (*fn)(void *arg), void *arg)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(fn(arg));
	return pid;
}

int vt_wait(pid_t pid, int timeout_ms)
{
	int status, waited = 0;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		if (r < 0)
			return -1;
		if (waited >= timeout_ms) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		usleep(10000);
		waited += 10;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

/* Whether @pid sleeps interruptibly inside system call @nr. */
bool vt_sleeps_in(pid_t pid, long want)
{
	char path[64], buf[512], *p;
	long nr = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	if (!p || p[1] != ' ' || p[2] != 'S')
		return false;
	snprintf(path, sizeof(path), "/proc/%d/syscall", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (fscanf(f, "%ld", &nr) != 1)
		nr = -1;
	fclose(f);
	return nr == want;
}

bool vt_sleeps_in_ioctl(pid_t pid)
{
	return vt_sleeps_in(pid, SYS_ioctl);
}

/*
 * The module the VM booted with ($VANITY_KO, exported by tools/vm/init:
 * another kernel's build when the VM boots another kernel), else the
 * tree's.
 */
const char *vt_module_path(void)
{
	const char *ko = getenv("VANITY_KO");

	return ko && *ko && strcmp(ko, "none") ? ko : VT_MODULE;
}

int vt_load_module(void)
{
	int fd = open(vt_module_path(), O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, "", 0) ? -errno : 0;
	close(fd);
	return ret;
}

int vt_unload_module(void)
{
	return syscall(SYS_delete_module, "vanity", O_NONBLOCK) ? -errno : 0;
}

int vt_map_err(int fd, size_t len, int prot, int flags, uint64_t off)
{
	void *p = mmap(NULL, len, prot, flags, fd, (off_t)off);

	if (p == MAP_FAILED)
		return -errno;
	munmap(p, len);
	return 0;
}
